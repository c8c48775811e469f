// Spans to OTLP request bodies: protobuf through the generated messages, OTLP/JSON written as
// text directly (export/json_text.h), since building an nlohmann document first made encoding over
// twenty times slower than protobuf (see bench/export).
#include "export/otlp_codec.h"

#include <fmt/format.h>
#include <google/protobuf/arena.h>

#include <algorithm>
#include <cmath>
#include <iterator>

#include "core/ids.h"
#include "export/json_text.h"
#include "export/otlp_internal.h"

namespace tracerig {
using namespace otlp_internal;  // export/otlp_internal.h
namespace {

// The spans of one resource, in order of first appearance.
struct ResourceGroup {
  const Span* first;  // carries service_name and resource_attributes for the group
  std::vector<const Span*> spans;
};

std::vector<ResourceGroup> GroupByResource(const std::vector<Span>& spans) {
  std::vector<ResourceGroup> groups;
  size_t last = 0;
  for (const Span& span : spans) {
    auto same_resource = [&span](const ResourceGroup& g) {
      return g.first->service_name == span.service_name &&
             g.first->resource_attributes == span.resource_attributes;
    };
    // Spans usually come in runs from one service, so the last group is the likely match.
    if (!groups.empty() && same_resource(groups[last])) {
      groups[last].spans.push_back(&span);
      continue;
    }
    auto it = std::find_if(groups.begin(), groups.end(), same_resource);
    if (it == groups.end()) {
      groups.push_back(ResourceGroup{&span, {&span}});
      last = groups.size() - 1;
    } else {
      it->spans.push_back(&span);
      last = static_cast<size_t>(it - groups.begin());
    }
  }
  return groups;
}

template <typename T>
void AppendNumber(std::string& out, T n) {
  fmt::format_to(std::back_inserter(out), "{}", n);
}

// 64-bit integers go as decimal strings: JSON numbers lose precision above 2^53 in most parsers.
template <typename T>
void AppendQuotedNumber(std::string& out, T n) {
  fmt::format_to(std::back_inserter(out), "\"{}\"", n);
}

void AppendHexId(std::string& out, uint64_t high, uint64_t low, bool has_high) {
  char hex[34];
  hex[0] = '"';
  int n = 1;
  if (has_high) {
    WriteHex(high, 16, hex + n);
    n += 16;
  }
  WriteHex(low, 16, hex + n);
  n += 16;
  hex[n++] = '"';
  out.append(hex, static_cast<size_t>(n));
}

void AppendAttributes(std::string& out, const std::vector<Attribute>& attributes) {
  out += '[';
  for (size_t i = 0; i < attributes.size(); ++i) {
    if (i > 0) out += ',';
    out += "{\"key\":";
    AppendJsonString(out, attributes[i].key);
    out += ",\"value\":{";
    std::visit(
        Overloaded{[&](const std::string& s) {
                     out += "\"stringValue\":";
                     AppendJsonString(out, s);
                   },
                   [&](bool b) { out += b ? "\"boolValue\":true" : "\"boolValue\":false"; },
                   [&](int64_t n) {
                     out += "\"intValue\":";
                     AppendQuotedNumber(out, n);
                   },
                   [&](double d) {
                     out += "\"doubleValue\":";
                     if (std::isfinite(d)) {
                       AppendNumber(out, d);  // shortest text that reads back the same
                     } else {
                       out += std::isnan(d) ? "\"NaN\"" : d > 0 ? "\"Infinity\"" : "\"-Infinity\"";
                     }
                   }},
        attributes[i].value);
    out += "}}";
  }
  out += ']';
}

void AppendSpanJson(std::string& out, const Span& span) {
  out += "{\"traceId\":";
  AppendHexId(out, span.trace_id.high, span.trace_id.low, true);
  out += ",\"spanId\":";
  AppendHexId(out, 0, span.span_id.value, false);
  if (span.parent_span_id.IsValid()) {
    out += ",\"parentSpanId\":";
    AppendHexId(out, 0, span.parent_span_id.value, false);
  }
  if (!span.trace_state.empty()) {
    out += ",\"traceState\":";
    AppendJsonString(out, span.trace_state);
  }
  out += ",\"name\":";
  AppendJsonString(out, span.name);
  out += ",\"kind\":";
  AppendNumber(out, static_cast<int>(span.kind));
  out += ",\"startTimeUnixNano\":";
  AppendQuotedNumber(out, span.start_unix_nano);
  out += ",\"endTimeUnixNano\":";
  AppendQuotedNumber(out, span.end_unix_nano);
  if (!span.attributes.empty()) {
    out += ",\"attributes\":";
    AppendAttributes(out, span.attributes);
  }
  if (!span.events.empty()) {
    out += ",\"events\":[";
    for (size_t i = 0; i < span.events.size(); ++i) {
      const SpanEvent& event = span.events[i];
      if (i > 0) out += ',';
      out += "{\"timeUnixNano\":";
      AppendQuotedNumber(out, event.time_unix_nano);
      out += ",\"name\":";
      AppendJsonString(out, event.name);
      if (!event.attributes.empty()) {
        out += ",\"attributes\":";
        AppendAttributes(out, event.attributes);
      }
      out += '}';
    }
    out += ']';
  }
  if (!span.links.empty()) {
    out += ",\"links\":[";
    for (size_t i = 0; i < span.links.size(); ++i) {
      const SpanLink& link = span.links[i];
      if (i > 0) out += ',';
      out += "{\"traceId\":";
      AppendHexId(out, link.trace_id.high, link.trace_id.low, true);
      out += ",\"spanId\":";
      AppendHexId(out, 0, link.span_id.value, false);
      if (!link.trace_state.empty()) {
        out += ",\"traceState\":";
        AppendJsonString(out, link.trace_state);
      }
      if (!link.attributes.empty()) {
        out += ",\"attributes\":";
        AppendAttributes(out, link.attributes);
      }
      if (link.flags != 0) {
        out += ",\"flags\":";
        AppendNumber(out, link.flags);
      }
      out += '}';
    }
    out += ']';
  }
  if (span.status_code != StatusCode::kUnset || !span.status_message.empty()) {
    out += ",\"status\":{";
    if (!span.status_message.empty()) {
      out += "\"message\":";
      AppendJsonString(out, span.status_message);
    }
    if (span.status_code != StatusCode::kUnset) {
      if (!span.status_message.empty()) out += ',';
      out += "\"code\":";
      AppendNumber(out, static_cast<int>(span.status_code));
    }
    out += '}';
  }
  if (span.flags != 0) {
    out += ",\"flags\":";
    AppendNumber(out, span.flags);
  }
  out += '}';
}

}  // namespace

std::string EncodeOtlpProtobuf(const std::vector<Span>& spans) {
  google::protobuf::Arena arena;
  auto* request =
      google::protobuf::Arena::CreateMessage<collector_pb::ExportTraceServiceRequest>(&arena);
  for (const ResourceGroup& group : GroupByResource(spans)) {
    trace_pb::ResourceSpans* rs = request->add_resource_spans();
    KeyValues* resource = rs->mutable_resource()->mutable_attributes();
    AddAttribute(kServiceNameKey, group.first->service_name, resource);
    AddAttributes(group.first->resource_attributes, resource);
    trace_pb::ScopeSpans* ss = rs->add_scope_spans();
    ss->mutable_scope()->set_name(kOtlpScopeName.data(), kOtlpScopeName.size());
    ss->mutable_spans()->Reserve(static_cast<int>(group.spans.size()));
    for (const Span* span : group.spans) SpanToProto(*span, ss->add_spans());
  }
  return request->SerializeAsString();
}

std::string EncodeOtlpJson(const std::vector<Span>& spans) {
  std::string out;
  out.reserve(64 + spans.size() * 700);  // a typical span with ten attributes
  out += "{\"resourceSpans\":[";
  bool first_group = true;
  for (const ResourceGroup& group : GroupByResource(spans)) {
    if (!first_group) out += ',';
    first_group = false;
    std::vector<Attribute> resource;
    resource.reserve(group.first->resource_attributes.size() + 1);
    resource.push_back(Attribute{std::string(kServiceNameKey), group.first->service_name});
    resource.insert(resource.end(), group.first->resource_attributes.begin(),
                    group.first->resource_attributes.end());
    out += "{\"resource\":{\"attributes\":";
    AppendAttributes(out, resource);
    out += "},\"scopeSpans\":[{\"scope\":{\"name\":";
    AppendJsonString(out, kOtlpScopeName);
    out += "},\"spans\":[";
    for (size_t i = 0; i < group.spans.size(); ++i) {
      if (i > 0) out += ',';
      AppendSpanJson(out, *group.spans[i]);
    }
    out += "]}]}";
  }
  out += "]}";
  return out;
}

}  // namespace tracerig
