#include "backend/jaeger_json.h"

#include <fmt/format.h>

#include <algorithm>
#include <utility>

namespace tracerig {
namespace {

using ordered_json = nlohmann::ordered_json;

// JavaScript's Number.MAX_SAFE_INTEGER: Jaeger writes larger int64 tag values as strings.
constexpr int64_t kJsMaxSafeInteger = (int64_t{1} << 53) - 1;

std::string_view JaegerSpanKind(SpanKind kind) {
  switch (kind) {
    case SpanKind::kInternal:
      return "internal";
    case SpanKind::kServer:
      return "server";
    case SpanKind::kClient:
      return "client";
    case SpanKind::kProducer:
      return "producer";
    case SpanKind::kConsumer:
      return "consumer";
    case SpanKind::kUnspecified:
      break;
  }
  return "";
}

ordered_json TagsJson(const std::vector<Attribute>& attributes) {
  ordered_json out = ordered_json::array();
  for (const auto& a : attributes) out.push_back(JaegerTagJson(a));
  return out;
}

// A Jaeger "process": the service plus the resource attributes other than service.name.
struct Process {
  std::string service_name;
  std::vector<Attribute> tags;
  bool operator==(const Process&) const = default;
};

Process ProcessOf(const Span& span) {
  Process p{span.service_name, {}};
  for (const auto& a : span.resource_attributes) {
    if (a.key != "service.name") p.tags.push_back(a);
  }
  return p;
}

ordered_json LogsJson(const std::vector<SpanEvent>& events) {
  ordered_json out = ordered_json::array();
  for (const auto& event : events) {
    ordered_json fields = ordered_json::array();
    const bool has_event_attribute =
        std::any_of(event.attributes.begin(), event.attributes.end(),
                    [](const Attribute& a) { return a.key == "event"; });
    if (!event.name.empty() && !has_event_attribute) {
      fields.push_back(JaegerTagJson(Attribute{"event", event.name}));
    }
    for (const auto& a : event.attributes) fields.push_back(JaegerTagJson(a));
    ordered_json log;
    log["timestamp"] = event.time_unix_nano / 1000;
    log["fields"] = std::move(fields);
    out.push_back(std::move(log));
  }
  return out;
}

// The id of the process at `index` of a trace's process list: "p1", "p2", ... (fmt rather than
// "p" + std::to_string, on which GCC 12 warns falsely with -Wrestrict).
std::string ProcessKey(size_t index) { return fmt::format("p{}", index + 1); }

ordered_json SpanJson(const Span& span, const std::string& process_id) {
  const std::string trace_id = JaegerTraceIdString(span.trace_id);
  ordered_json s;
  s["traceID"] = trace_id;
  s["spanID"] = span.span_id.ToHex();
  // Go's `omitempty`: Jaeger leaves flags out when they are zero.
  if (span.flags != 0) s["flags"] = span.flags;
  s["operationName"] = span.name;
  ordered_json references = ordered_json::array();
  if (span.parent_span_id.IsValid()) {
    ordered_json ref;
    ref["refType"] = "CHILD_OF";
    ref["traceID"] = trace_id;
    ref["spanID"] = span.parent_span_id.ToHex();
    references.push_back(std::move(ref));
  }
  // Links follow the parent as FOLLOWS_FROM, as the OpenTelemetry translator writes them (it
  // keeps CHILD_OF for the parent alone). Jaeger's references have no place for a link's trace
  // state, attributes or flags; API v3 keeps them.
  for (const SpanLink& link : span.links) {
    ordered_json ref;
    ref["refType"] = "FOLLOWS_FROM";
    ref["traceID"] = JaegerTraceIdString(link.trace_id);
    ref["spanID"] = link.span_id.ToHex();
    references.push_back(std::move(ref));
  }
  s["references"] = std::move(references);
  s["startTime"] = span.start_unix_nano / 1000;
  // Jaeger truncates the nanosecond duration, and clamps negative durations to zero.
  s["duration"] = span.end_unix_nano > span.start_unix_nano
                      ? (span.end_unix_nano - span.start_unix_nano) / 1000
                      : 0;
  std::vector<Attribute> tags = span.attributes;
  for (auto& derived : JaegerDerivedTags(span)) tags.push_back(std::move(derived));
  s["tags"] = TagsJson(tags);
  s["logs"] = LogsJson(span.events);
  s["processID"] = process_id;
  s["warnings"] = nullptr;
  return s;
}

}  // namespace

std::string JaegerTraceIdString(TraceId id) {
  std::string hex = id.ToHex();
  if (id.high == 0) return hex.substr(16);
  return hex;
}

std::vector<Attribute> JaegerDerivedTags(const Span& span) {
  std::vector<Attribute> tags;
  if (std::string_view kind = JaegerSpanKind(span.kind); !kind.empty()) {
    tags.push_back({"span.kind", std::string(kind)});
  }
  if (span.status_code != StatusCode::kUnset) {
    tags.push_back({"otel.status_code", std::string(StatusCodeName(span.status_code))});
  }
  if (span.status_code == StatusCode::kError) tags.push_back({"error", true});
  if (!span.status_message.empty()) {
    tags.push_back({"otel.status_description", span.status_message});
  }
  if (!span.trace_state.empty()) tags.push_back({"w3c.tracestate", span.trace_state});
  return tags;
}

ordered_json JaegerTagJson(const Attribute& attribute) {
  ordered_json tag;
  tag["key"] = attribute.key;
  struct Visitor {
    ordered_json& tag;
    void operator()(const std::string& v) const {
      tag["type"] = "string";
      tag["value"] = v;
    }
    void operator()(bool v) const {
      tag["type"] = "bool";
      tag["value"] = v;
    }
    void operator()(int64_t v) const {
      tag["type"] = "int64";
      if (v > kJsMaxSafeInteger || v < -kJsMaxSafeInteger) {
        tag["value"] = std::to_string(v);
      } else {
        tag["value"] = v;
      }
    }
    void operator()(double v) const {
      tag["type"] = "float64";
      tag["value"] = v;  // NaN and infinities serialise as null (Go's encoder would fail instead)
    }
  };
  std::visit(Visitor{tag}, attribute.value);
  return tag;
}

ordered_json EncodeJaegerTrace(const std::vector<Span>& spans) {
  std::vector<Process> processes;  // index i is "p{i+1}"
  ordered_json span_array = ordered_json::array();
  for (const auto& span : spans) {
    Process process = ProcessOf(span);
    auto it = std::find(processes.begin(), processes.end(), process);
    size_t index = static_cast<size_t>(it - processes.begin());
    if (it == processes.end()) processes.push_back(std::move(process));
    span_array.push_back(SpanJson(span, ProcessKey(index)));
  }

  // Jaeger builds processes as a Go map, which encoding/json writes with keys sorted as strings
  // ("p1", "p10", "p2", ...); reproduce that order.
  std::vector<std::pair<std::string, size_t>> keys;
  for (size_t i = 0; i < processes.size(); ++i) keys.emplace_back(ProcessKey(i), i);
  std::sort(keys.begin(), keys.end());
  ordered_json process_map = ordered_json::object();
  for (const auto& [key, i] : keys) {
    ordered_json p;
    p["serviceName"] = processes[i].service_name;
    p["tags"] = TagsJson(processes[i].tags);
    process_map[key] = std::move(p);
  }

  ordered_json trace;
  trace["traceID"] = spans.empty() ? std::string() : JaegerTraceIdString(spans.front().trace_id);
  trace["spans"] = std::move(span_array);
  trace["processes"] = std::move(process_map);
  trace["warnings"] = nullptr;
  return trace;
}

std::string JaegerDataResponse(ordered_json data, size_t total, ordered_json errors) {
  ordered_json response;
  response["data"] = std::move(data);
  response["total"] = total;
  response["limit"] = 0;
  response["offset"] = 0;
  if (errors.is_array() && errors.empty()) errors = nullptr;
  response["errors"] = std::move(errors);
  return DumpJson(response);
}

ordered_json JaegerTraceNotFoundError(TraceId id) {
  ordered_json error;
  error["msg"] = "trace not found";
  error["traceID"] = JaegerTraceIdString(id);
  return error;
}

std::string JaegerErrorResponse(int code, std::string_view message) {
  ordered_json error;
  error["code"] = code;
  error["msg"] = message;
  ordered_json response;
  response["data"] = nullptr;
  response["total"] = 0;
  response["limit"] = 0;
  response["offset"] = 0;
  response["errors"] = ordered_json::array({std::move(error)});
  return DumpJson(response);
}

std::string DumpJson(const ordered_json& json) {
  return json.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace tracerig
