// tracerig spans to and from the generated OTLP protobuf messages, and the message-based protobuf
// decoder that the wire decoder (otlp_wire_decode.cc) is tested against.
#include "export/otlp_codec.h"

#include <fmt/format.h>
#include <google/protobuf/arena.h>
#include <google/protobuf/stubs/logging.h>

#include <climits>
#include <cmath>
#include <nlohmann/json.hpp>
#include <optional>

#include "export/json_text.h"
#include "export/otlp_internal.h"

namespace tracerig {
using namespace otlp_internal;  // export/otlp_internal.h

std::string otlp_internal::BytesToHex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string hex(bytes.size() * 2, '0');
  for (size_t i = 0; i < bytes.size(); ++i) {
    const auto b = static_cast<unsigned char>(bytes[i]);
    hex[2 * i] = kDigits[b >> 4];
    hex[2 * i + 1] = kDigits[b & 0xf];
  }
  return hex;
}

namespace {

using OrderedJson = nlohmann::ordered_json;

bool IsValidUtf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    if (static_cast<unsigned char>(s[i]) < 0x80) {
      ++i;
    } else if (size_t len = Utf8SequenceLength(s, i); len > 0) {
      i += len;
    } else {
      return false;
    }
  }
  return true;
}

// Protobuf string fields must be UTF-8: one bad attribute would make receivers (ours included)
// reject the whole request, so invalid bytes become U+FFFD, as in the JSON encoding.
void SetText(std::string* field, std::string_view s) {
  if (IsValidUtf8(s)) {
    field->assign(s.data(), s.size());
    return;
  }
  field->clear();
  for (size_t i = 0; i < s.size();) {
    const size_t len = static_cast<unsigned char>(s[i]) < 0x80 ? 1 : Utf8SequenceLength(s, i);
    if (len == 0) {
      field->append(kReplacementCharacter);
      ++i;
    } else {
      field->append(s.substr(i, len));
      i += len;
    }
  }
}

void SetAnyValue(const AttributeValue& value, common_pb::AnyValue* out) {
  std::visit(Overloaded{[out](const std::string& s) { SetText(out->mutable_string_value(), s); },
                        [out](bool b) { out->set_bool_value(b); },
                        [out](int64_t i) { out->set_int_value(i); },
                        [out](double d) { out->set_double_value(d); }},
             value);
}

}  // namespace

void otlp_internal::AddAttribute(std::string_view key, const AttributeValue& value,
                                 KeyValues* out) {
  common_pb::KeyValue* kv = out->Add();
  SetText(kv->mutable_key(), key);
  SetAnyValue(value, kv->mutable_value());
}

void otlp_internal::AddAttributes(const std::vector<Attribute>& attributes, KeyValues* out) {
  out->Reserve(out->size() + static_cast<int>(attributes.size()));
  for (const Attribute& a : attributes) AddAttribute(a.key, a.value, out);
}

void otlp_internal::SpanToProto(const Span& span, trace_pb::Span* out) {
  const auto trace_id = span.trace_id.ToBytes();
  out->set_trace_id(trace_id.data(), trace_id.size());
  const auto span_id = span.span_id.ToBytes();
  out->set_span_id(span_id.data(), span_id.size());
  if (span.parent_span_id.IsValid()) {
    const auto parent = span.parent_span_id.ToBytes();
    out->set_parent_span_id(parent.data(), parent.size());
  }
  if (!span.trace_state.empty()) SetText(out->mutable_trace_state(), span.trace_state);
  SetText(out->mutable_name(), span.name);
  out->set_kind(static_cast<trace_pb::Span_SpanKind>(span.kind));
  out->set_start_time_unix_nano(span.start_unix_nano);
  out->set_end_time_unix_nano(span.end_unix_nano);
  AddAttributes(span.attributes, out->mutable_attributes());
  for (const SpanEvent& event : span.events) {
    trace_pb::Span::Event* e = out->add_events();
    e->set_time_unix_nano(event.time_unix_nano);
    SetText(e->mutable_name(), event.name);
    AddAttributes(event.attributes, e->mutable_attributes());
  }
  for (const SpanLink& link : span.links) {
    trace_pb::Span::Link* l = out->add_links();
    const auto link_trace = link.trace_id.ToBytes();
    l->set_trace_id(link_trace.data(), link_trace.size());
    const auto link_span = link.span_id.ToBytes();
    l->set_span_id(link_span.data(), link_span.size());
    if (!link.trace_state.empty()) SetText(l->mutable_trace_state(), link.trace_state);
    AddAttributes(link.attributes, l->mutable_attributes());
    l->set_flags(link.flags);
  }
  if (span.status_code != StatusCode::kUnset || !span.status_message.empty()) {
    trace_pb::Status* status = out->mutable_status();
    status->set_code(static_cast<trace_pb::Status_StatusCode>(span.status_code));
    SetText(status->mutable_message(), span.status_message);
  }
  out->set_flags(span.flags);
}

namespace {

// proto3 JSON spells non-finite doubles as strings.
OrderedJson DoubleToJson(double d) {
  if (std::isnan(d)) return "NaN";
  if (std::isinf(d)) return d > 0 ? "Infinity" : "-Infinity";
  return d;
}

// Array and kvlist values as JSON text (keys in wire order), bytes as lowercase hex.
OrderedJson AnyValueToJson(const common_pb::AnyValue& v) {
  switch (v.value_case()) {
    case common_pb::AnyValue::kStringValue:
      return v.string_value();
    case common_pb::AnyValue::kBoolValue:
      return v.bool_value();
    case common_pb::AnyValue::kIntValue:
      return v.int_value();
    case common_pb::AnyValue::kDoubleValue:
      return DoubleToJson(v.double_value());
    case common_pb::AnyValue::kBytesValue:
      return BytesToHex(v.bytes_value());
    case common_pb::AnyValue::kArrayValue: {
      OrderedJson list = OrderedJson::array();
      for (const auto& item : v.array_value().values()) list.push_back(AnyValueToJson(item));
      return list;
    }
    case common_pb::AnyValue::kKvlistValue: {
      OrderedJson object = OrderedJson::object();
      for (const auto& kv : v.kvlist_value().values())
        object[kv.key()] = AnyValueToJson(kv.value());
      return object;
    }
    case common_pb::AnyValue::VALUE_NOT_SET:
      break;
  }
  return nullptr;
}

}  // namespace

AttributeValue otlp_internal::AttributeValueFromProto(const common_pb::AnyValue& v) {
  switch (v.value_case()) {
    case common_pb::AnyValue::kStringValue:
      return v.string_value();
    case common_pb::AnyValue::kBoolValue:
      return v.bool_value();
    case common_pb::AnyValue::kIntValue:
      return static_cast<int64_t>(v.int_value());
    case common_pb::AnyValue::kDoubleValue:
      return v.double_value();
    case common_pb::AnyValue::kBytesValue:
      return BytesToHex(v.bytes_value());
    case common_pb::AnyValue::kArrayValue:
    case common_pb::AnyValue::kKvlistValue:
      return AnyValueToJson(v).dump(-1, ' ', false, OrderedJson::error_handler_t::replace);
    case common_pb::AnyValue::VALUE_NOT_SET:
      break;
  }
  return std::string();
}

namespace {

std::vector<Attribute> AttributesFromProto(const KeyValues& list) {
  std::vector<Attribute> out;
  out.reserve(static_cast<size_t>(list.size()));
  for (const auto& kv : list)
    out.push_back(Attribute{kv.key(), AttributeValueFromProto(kv.value())});
  return out;
}

// Checks and copies one span; returns the problem, naming the field, when it is invalid.
std::optional<std::string> SpanFromProto(const trace_pb::Span& in, Span& out) {
  if (in.trace_id().size() != 16) {
    return fmt::format("traceId must be 16 bytes, got {}", in.trace_id().size());
  }
  out.trace_id = TraceId::FromBytes(reinterpret_cast<const uint8_t*>(in.trace_id().data()));
  if (!out.trace_id.IsValid()) return "traceId must not be all zeros";
  if (in.span_id().size() != 8) {
    return fmt::format("spanId must be 8 bytes, got {}", in.span_id().size());
  }
  out.span_id = SpanId::FromBytes(reinterpret_cast<const uint8_t*>(in.span_id().data()));
  if (!out.span_id.IsValid()) return "spanId must not be all zeros";
  if (!in.parent_span_id().empty()) {
    if (in.parent_span_id().size() != 8) {
      return fmt::format("parentSpanId must be empty or 8 bytes, got {}",
                         in.parent_span_id().size());
    }
    // An all-zero parent is how some SDKs write "no parent": it stays a root span.
    out.parent_span_id =
        SpanId::FromBytes(reinterpret_cast<const uint8_t*>(in.parent_span_id().data()));
  }
  const int kind = in.kind();
  if (kind < 0 || kind > static_cast<int>(SpanKind::kConsumer)) {
    return fmt::format("kind {} is not a valid SpanKind (0-5)", kind);
  }
  const int code = in.status().code();
  if (code < 0 || code > static_cast<int>(StatusCode::kError)) {
    return fmt::format("status.code {} is not a valid StatusCode (0-2)", code);
  }
  out.trace_state = in.trace_state();
  out.name = in.name();
  out.kind = static_cast<SpanKind>(kind);
  out.start_unix_nano = in.start_time_unix_nano();
  out.end_unix_nano = in.end_time_unix_nano();
  out.attributes = AttributesFromProto(in.attributes());
  out.events.reserve(static_cast<size_t>(in.events_size()));
  for (const auto& e : in.events()) {
    out.events.push_back(
        SpanEvent{e.time_unix_nano(), e.name(), AttributesFromProto(e.attributes())});
  }
  out.status_code = static_cast<StatusCode>(code);
  out.status_message = in.status().message();
  out.flags = in.flags();
  out.links.resize(static_cast<size_t>(in.links_size()));
  for (int i = 0; i < in.links_size(); ++i) {
    if (auto problem =
            LinkFromProto(in.links(i), static_cast<size_t>(i), out.links[static_cast<size_t>(i)])) {
      return problem;
    }
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> otlp_internal::LinkFromProto(const trace_pb::Span::Link& in,
                                                        size_t index, SpanLink& out) {
  const std::string& trace_id = in.trace_id();
  if (!trace_id.empty() && trace_id.size() != 16) {
    return fmt::format("links[{}].traceId must be empty or 16 bytes, got {}", index,
                       trace_id.size());
  }
  const std::string& span_id = in.span_id();
  if (!span_id.empty() && span_id.size() != 8) {
    return fmt::format("links[{}].spanId must be empty or 8 bytes, got {}", index, span_id.size());
  }
  out.trace_id = trace_id.empty()
                     ? TraceId{}
                     : TraceId::FromBytes(reinterpret_cast<const uint8_t*>(trace_id.data()));
  out.span_id = span_id.empty()
                    ? SpanId{}
                    : SpanId::FromBytes(reinterpret_cast<const uint8_t*>(span_id.data()));
  out.trace_state = in.trace_state();
  out.attributes = AttributesFromProto(in.attributes());
  out.flags = in.flags();
  return std::nullopt;
}

Result<std::vector<Span>> otlp_internal::SpansFromProto(const ResourceSpansList& list,
                                                        std::string_view name) {
  size_t total = 0;
  for (const auto& rs : list) {
    for (const auto& ss : rs.scope_spans()) total += static_cast<size_t>(ss.spans_size());
  }
  std::vector<Span> spans;
  spans.reserve(total);
  for (int r = 0; r < list.size(); ++r) {
    const trace_pb::ResourceSpans& rs = list.Get(r);
    std::string service_name(kUnknownServiceName);
    std::vector<Attribute> resource_attributes;
    bool have_service = false;
    for (const auto& kv : rs.resource().attributes()) {
      if (!have_service && kv.key() == kServiceNameKey) {
        service_name = AttributeValueToString(AttributeValueFromProto(kv.value()));
        have_service = true;
      } else {
        resource_attributes.push_back(Attribute{kv.key(), AttributeValueFromProto(kv.value())});
      }
    }
    for (int s = 0; s < rs.scope_spans_size(); ++s) {
      const trace_pb::ScopeSpans& ss = rs.scope_spans(s);
      for (int i = 0; i < ss.spans_size(); ++i) {
        Span& span = spans.emplace_back();
        if (auto problem = SpanFromProto(ss.spans(i), span)) {
          return MakeError(
              fmt::format("{}[{}].scopeSpans[{}].spans[{}]: {}", name, r, s, i, *problem));
        }
        span.service_name = service_name;
        span.resource_attributes = resource_attributes;
      }
    }
  }
  return spans;
}

Result<std::vector<Span>> DecodeOtlpProtobufViaMessages(std::string_view body) {
  if (body.size() > static_cast<size_t>(INT_MAX)) {
    return MakeError(fmt::format("OTLP protobuf body too large ({} bytes)", body.size()));
  }
  google::protobuf::Arena arena;
  auto* request =
      google::protobuf::Arena::CreateMessage<collector_pb::ExportTraceServiceRequest>(&arena);
  bool parsed;
  {
    // protobuf logs every non-UTF-8 string it rejects to stderr; a bad client must not flood it.
    google::protobuf::LogSilencer quiet;
    parsed = request->ParseFromArray(body.data(), static_cast<int>(body.size()));
  }
  if (!parsed) {
    return MakeError(fmt::format(
        "body is not a valid ExportTraceServiceRequest protobuf ({} bytes): truncated, malformed, "
        "or a string field is not UTF-8",
        body.size()));
  }
  return SpansFromProto(request->resource_spans(), "resourceSpans");
}

}  // namespace tracerig
