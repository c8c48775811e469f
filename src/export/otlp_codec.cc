// OTLP codec. Both decoders end in one converter from the generated protobuf messages to tracerig
// spans, so id, enum and value rules (and their error messages) are the same for protobuf and JSON:
// the JSON decoder first builds an ExportTraceServiceRequest message, checking only JSON types.
#include "export/otlp_codec.h"

#include "export/json_read.h"
#include <fmt/format.h>
#include <google/protobuf/arena.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/stubs/common.h>
#include <google/protobuf/stubs/logging.h>
#include <zlib.h>

#include <algorithm>
#include <charconv>
#include <climits>
#include <cmath>
#include <cstring>
#include <iterator>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <utility>

#include "export/json_text.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"

namespace tracerig {
namespace {

namespace collector_pb = opentelemetry::proto::collector::trace::v1;
namespace common_pb = opentelemetry::proto::common::v1;
namespace trace_pb = opentelemetry::proto::trace::v1;
using KeyValues = google::protobuf::RepeatedPtrField<common_pb::KeyValue>;
using ResourceSpansList = google::protobuf::RepeatedPtrField<trace_pb::ResourceSpans>;
using Json = nlohmann::json;
using OrderedJson = nlohmann::ordered_json;

constexpr std::string_view kServiceNameKey = "service.name";
// Bounds recursion through arrayValue/kvlistValue; protobuf's own parser stops at 100 levels.
constexpr int kMaxValueDepth = 64;

template <class... Fs>
struct Overloaded : Fs... {
  using Fs::operator()...;
};
template <class... Fs>
Overloaded(Fs...) -> Overloaded<Fs...>;

std::string BytesToHex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string hex(bytes.size() * 2, '0');
  for (size_t i = 0; i < bytes.size(); ++i) {
    const auto b = static_cast<unsigned char>(bytes[i]);
    hex[2 * i] = kDigits[b >> 4];
    hex[2 * i + 1] = kDigits[b & 0xf];
  }
  return hex;
}

// ---------------------------------------------------------------------------------------------
// Encoding.

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

void SetAnyValue(const AttributeValue& value, common_pb::AnyValue* out) {
  std::visit(Overloaded{[out](const std::string& s) { SetText(out->mutable_string_value(), s); },
                        [out](bool b) { out->set_bool_value(b); },
                        [out](int64_t i) { out->set_int_value(i); },
                        [out](double d) { out->set_double_value(d); }},
             value);
}

void AddAttribute(std::string_view key, const AttributeValue& value, KeyValues* out) {
  common_pb::KeyValue* kv = out->Add();
  SetText(kv->mutable_key(), key);
  SetAnyValue(value, kv->mutable_value());
}

void AddAttributes(const std::vector<Attribute>& attributes, KeyValues* out) {
  out->Reserve(out->size() + static_cast<int>(attributes.size()));
  for (const Attribute& a : attributes) AddAttribute(a.key, a.value, out);
}

void SpanToProto(const Span& span, trace_pb::Span* out) {
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
  if (span.status_code != StatusCode::kUnset || !span.status_message.empty()) {
    trace_pb::Status* status = out->mutable_status();
    status->set_code(static_cast<trace_pb::Status_StatusCode>(span.status_code));
    SetText(status->mutable_message(), span.status_message);
  }
  out->set_flags(span.flags);
}

// OTLP/JSON is written as text directly (export/json_text.h): building an nlohmann document first made encoding over
// twenty times slower than protobuf (see bench/export).

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

// ---------------------------------------------------------------------------------------------
// Protobuf messages to spans (shared by both decoders).

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

AttributeValue AttributeValueFromProto(const common_pb::AnyValue& v) {
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
  return std::nullopt;
}

Result<std::vector<Span>> SpansFromProto(const ResourceSpansList& list, std::string_view name) {
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

// ---------------------------------------------------------------------------------------------
// OTLP/JSON to protobuf messages: checks JSON types and spellings only.

// What is wrong and where, relative to the object being decoded; callers prepend their own step
// as the problem travels up, so the final message holds the full path.
struct JsonProblem {
  std::string where;
  std::string what;
};
using JsonStatus = std::optional<JsonProblem>;

JsonProblem Fail(std::string what) { return JsonProblem{std::string(), std::move(what)}; }

JsonProblem Within(std::string_view step, JsonProblem problem) {
  problem.where =
      problem.where.empty() ? std::string(step) : fmt::format("{}.{}", step, problem.where);
  return problem;
}

std::string FormatProblem(const JsonProblem& p) {
  return p.where.empty() ? p.what : fmt::format("{}: {}", p.where, p.what);
}

std::optional<uint64_t> JsonToUint64(const Json& v) {
  if (v.is_number_unsigned()) return v.get<uint64_t>();
  if (v.is_number_integer()) {
    const auto i = v.get<int64_t>();
    if (i < 0) return std::nullopt;
    return static_cast<uint64_t>(i);
  }
  if (v.is_number_float()) {
    const double d = v.get<double>();
    if (!(d >= 0 && d < 0x1p64) || std::floor(d) != d) return std::nullopt;
    return static_cast<uint64_t>(d);
  }
  if (v.is_string()) {
    const auto& s = v.get_ref<const std::string&>();
    uint64_t out = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    if (s.empty() || ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
    return out;
  }
  return std::nullopt;
}

std::optional<int64_t> JsonToInt64(const Json& v) {
  if (v.is_number_integer() && !v.is_number_unsigned()) return v.get<int64_t>();
  if (v.is_number_unsigned()) {
    const auto u = v.get<uint64_t>();
    if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return std::nullopt;
    return static_cast<int64_t>(u);
  }
  if (v.is_number_float()) {
    const double d = v.get<double>();
    if (!(d >= -0x1p63 && d < 0x1p63) || std::floor(d) != d) return std::nullopt;
    return static_cast<int64_t>(d);
  }
  if (v.is_string()) {
    const auto& s = v.get_ref<const std::string&>();
    int64_t out = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    if (s.empty() || ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
    return out;
  }
  return std::nullopt;
}

JsonStatus ReadString(const Json& object, const char* key, std::string* out) {
  const Json* v = JsonMember(object, key);
  if (v == nullptr) return std::nullopt;
  if (!v->is_string()) return Fail(fmt::format("{} must be a string, got {}", key, JsonPreview(*v)));
  *out = v->get_ref<const std::string&>();
  return std::nullopt;
}

template <typename Setter>
JsonStatus ReadUint64(const Json& object, const char* key, Setter set) {
  const Json* v = JsonMember(object, key);
  if (v == nullptr) return std::nullopt;
  auto n = JsonToUint64(*v);
  if (!n) {
    return Fail(fmt::format("{} must be an unsigned 64-bit integer, got {}", key, JsonPreview(*v)));
  }
  set(*n);
  return std::nullopt;
}

// Enums as integers or by their protobuf names; the range is checked by SpanFromProto.
template <typename Parse, typename Setter>
JsonStatus ReadEnum(const Json& object, const char* key, Parse parse, Setter set) {
  const Json* v = JsonMember(object, key);
  if (v == nullptr) return std::nullopt;
  if (v->is_string()) {
    int value = 0;
    if (parse(v->get_ref<const std::string&>(), &value)) {
      set(value);
      return std::nullopt;
    }
  } else if (auto n = JsonToInt64(*v); n && *n >= INT32_MIN && *n <= INT32_MAX) {
    set(static_cast<int>(*n));
    return std::nullopt;
  }
  return Fail(fmt::format("{} must be an enum number or name, got {}", key, JsonPreview(*v)));
}

bool IsHex(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
  });
}

std::string HexToBytes(std::string_view hex) {  // hex: even length, all hex digits
  std::string bytes(hex.size() / 2, '\0');
  for (size_t i = 0; i < bytes.size(); ++i) {
    bytes[i] = static_cast<char>(*ParseHex64(hex.substr(2 * i, 2)));
  }
  return bytes;
}

// Standard or URL-safe alphabet, padding optional; nullopt when malformed.
std::optional<std::string> Base64ToBytes(std::string_view text) {
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  if (text.size() % 4 == 1) return std::nullopt;
  std::string out;
  out.reserve(text.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    int v;
    if (c >= 'A' && c <= 'Z')
      v = c - 'A';
    else if (c >= 'a' && c <= 'z')
      v = c - 'a' + 26;
    else if (c >= '0' && c <= '9')
      v = c - '0' + 52;
    else if (c == '+' || c == '-')
      v = 62;
    else if (c == '/' || c == '_')
      v = 63;
    else
      return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return out;
}

// An id as hex, or as base64 when it has exactly the base64 length of `id_bytes` and is not hex
// (protobuf-JSON encoders such as Tempo's write base64). The length is checked by SpanFromProto.
JsonStatus ReadId(const Json& object, const char* key, size_t id_bytes, std::string* out) {
  const Json* v = JsonMember(object, key);
  if (v == nullptr) return std::nullopt;
  if (!v->is_string()) return Fail(fmt::format("{} must be a string, got {}", key, JsonPreview(*v)));
  const auto& text = v->get_ref<const std::string&>();
  if (IsHex(text)) {
    if (text.size() % 2 != 0) {
      return Fail(fmt::format("{} has an odd number of hex digits ({})", key, text.size()));
    }
    *out = HexToBytes(text);
    return std::nullopt;
  }
  if (text.size() == (id_bytes + 2) / 3 * 4) {
    if (auto bytes = Base64ToBytes(text)) {
      *out = std::move(*bytes);
      return std::nullopt;
    }
  }
  return Fail(fmt::format("{} must be hex or base64, got {}", key, JsonPreview(*v)));
}

// The array member (nullptr when absent or null), or a problem when it is not an array.
JsonStatus ArrayMember(const Json& object, const char* key, const Json** out) {
  *out = JsonMember(object, key);
  if (*out != nullptr && !(*out)->is_array()) {
    return Fail(fmt::format("{} must be an array, got {}", key, JsonPreview(**out)));
  }
  return std::nullopt;
}

JsonStatus ExpectObject(const Json& v) {
  if (!v.is_object()) return Fail(fmt::format("must be an object, got {}", JsonPreview(v)));
  return std::nullopt;
}

JsonStatus KeyValuesFromJson(const Json& object, const char* key, int depth, KeyValues* out);

JsonStatus AnyValueFromJson(const Json& v, int depth, common_pb::AnyValue* out) {
  if (auto p = ExpectObject(v)) return p;
  if (depth > kMaxValueDepth)
    return Fail(fmt::format("nested deeper than {} levels", kMaxValueDepth));
  if (const Json* s = JsonMember(v, "stringValue")) {
    if (!s->is_string())
      return Fail(fmt::format("stringValue must be a string, got {}", JsonPreview(*s)));
    out->set_string_value(s->get_ref<const std::string&>());
  } else if (const Json* b = JsonMember(v, "boolValue")) {
    if (!b->is_boolean())
      return Fail(fmt::format("boolValue must be a boolean, got {}", JsonPreview(*b)));
    out->set_bool_value(b->get<bool>());
  } else if (const Json* i = JsonMember(v, "intValue")) {
    auto n = JsonToInt64(*i);
    if (!n) return Fail(fmt::format("intValue must be a 64-bit integer, got {}", JsonPreview(*i)));
    out->set_int_value(*n);
  } else if (const Json* d = JsonMember(v, "doubleValue")) {
    if (d->is_number()) {
      out->set_double_value(d->get<double>());
    } else if (d->is_string() && *d == "NaN") {
      out->set_double_value(std::numeric_limits<double>::quiet_NaN());
    } else if (d->is_string() && (*d == "Infinity" || *d == "-Infinity")) {
      out->set_double_value(*d == "Infinity" ? HUGE_VAL : -HUGE_VAL);
    } else {
      return Fail(fmt::format("doubleValue must be a number, got {}", JsonPreview(*d)));
    }
  } else if (const Json* bytes = JsonMember(v, "bytesValue")) {
    std::optional<std::string> decoded;
    if (bytes->is_string()) decoded = Base64ToBytes(bytes->get_ref<const std::string&>());
    if (!decoded) return Fail(fmt::format("bytesValue must be base64, got {}", JsonPreview(*bytes)));
    out->set_bytes_value(std::move(*decoded));
  } else if (const Json* array = JsonMember(v, "arrayValue")) {
    if (auto p = ExpectObject(*array)) return Within("arrayValue", *p);
    const Json* values = nullptr;
    if (auto p = ArrayMember(*array, "values", &values)) return Within("arrayValue", *p);
    common_pb::ArrayValue* list = out->mutable_array_value();
    if (values != nullptr) {
      for (size_t j = 0; j < values->size(); ++j) {
        if (auto p = AnyValueFromJson((*values)[j], depth + 1, list->add_values())) {
          return Within(fmt::format("arrayValue.values[{}]", j), *p);
        }
      }
    }
  } else if (const Json* kvlist = JsonMember(v, "kvlistValue")) {
    if (auto p = ExpectObject(*kvlist)) return Within("kvlistValue", *p);
    if (auto p = KeyValuesFromJson(*kvlist, "values", depth + 1,
                                   out->mutable_kvlist_value()->mutable_values())) {
      return Within("kvlistValue", *p);
    }
  }
  return std::nullopt;
}

JsonStatus KeyValuesFromJson(const Json& object, const char* key, int depth, KeyValues* out) {
  const Json* list = nullptr;
  if (auto p = ArrayMember(object, key, &list)) return p;
  if (list == nullptr) return std::nullopt;
  out->Reserve(static_cast<int>(list->size()));
  for (size_t i = 0; i < list->size(); ++i) {
    const Json& item = (*list)[i];
    common_pb::KeyValue* kv = out->Add();
    JsonStatus p = ExpectObject(item);
    if (!p) p = ReadString(item, "key", kv->mutable_key());
    if (!p) {
      if (const Json* value = JsonMember(item, "value")) {
        if (auto vp = AnyValueFromJson(*value, depth, kv->mutable_value())) {
          p = Within("value", *vp);
        }
      }
    }
    if (p) return Within(fmt::format("{}[{}]", key, i), *p);
  }
  return std::nullopt;
}

JsonStatus EventFromJson(const Json& v, trace_pb::Span::Event* out) {
  if (auto p = ExpectObject(v)) return p;
  if (auto p = ReadUint64(v, "timeUnixNano", [out](uint64_t n) { out->set_time_unix_nano(n); })) {
    return p;
  }
  if (auto p = ReadString(v, "name", out->mutable_name())) return p;
  return KeyValuesFromJson(v, "attributes", 0, out->mutable_attributes());
}

JsonStatus SpanFromJson(const Json& v, trace_pb::Span* out) {
  if (auto p = ExpectObject(v)) return p;
  if (auto p = ReadId(v, "traceId", 16, out->mutable_trace_id())) return p;
  if (auto p = ReadId(v, "spanId", 8, out->mutable_span_id())) return p;
  if (auto p = ReadId(v, "parentSpanId", 8, out->mutable_parent_span_id())) return p;
  if (auto p = ReadString(v, "traceState", out->mutable_trace_state())) return p;
  if (auto p = ReadString(v, "name", out->mutable_name())) return p;
  auto parse_kind = [](const std::string& name, int* value) {
    trace_pb::Span_SpanKind kind;
    if (!trace_pb::Span_SpanKind_Parse(name, &kind)) return false;
    *value = kind;
    return true;
  };
  if (auto p = ReadEnum(v, "kind", parse_kind,
                        [out](int k) { out->set_kind(static_cast<trace_pb::Span_SpanKind>(k)); })) {
    return p;
  }
  if (auto p = ReadUint64(v, "startTimeUnixNano",
                          [out](uint64_t n) { out->set_start_time_unix_nano(n); })) {
    return p;
  }
  if (auto p =
          ReadUint64(v, "endTimeUnixNano", [out](uint64_t n) { out->set_end_time_unix_nano(n); })) {
    return p;
  }
  if (auto p = KeyValuesFromJson(v, "attributes", 0, out->mutable_attributes())) return p;
  const Json* events = nullptr;
  if (auto p = ArrayMember(v, "events", &events)) return p;
  if (events != nullptr) {
    for (size_t i = 0; i < events->size(); ++i) {
      if (auto p = EventFromJson((*events)[i], out->add_events())) {
        return Within(fmt::format("events[{}]", i), *p);
      }
    }
  }
  if (const Json* status = JsonMember(v, "status")) {
    if (auto p = ExpectObject(*status)) return Within("status", *p);
    if (auto p = ReadString(*status, "message", out->mutable_status()->mutable_message())) {
      return Within("status", *p);
    }
    auto parse_code = [](const std::string& name, int* value) {
      trace_pb::Status_StatusCode code;
      if (!trace_pb::Status_StatusCode_Parse(name, &code)) return false;
      *value = code;
      return true;
    };
    if (auto p = ReadEnum(*status, "code", parse_code, [out](int c) {
          out->mutable_status()->set_code(static_cast<trace_pb::Status_StatusCode>(c));
        })) {
      return Within("status", *p);
    }
  }
  if (const Json* flags = JsonMember(v, "flags")) {
    auto n = JsonToUint64(*flags);
    if (!n || *n > UINT32_MAX) {
      return Fail(fmt::format("flags must be an unsigned 32-bit integer, got {}", JsonPreview(*flags)));
    }
    out->set_flags(static_cast<uint32_t>(*n));
  }
  return std::nullopt;
}

JsonStatus ResourceSpansFromJson(const Json& v, trace_pb::ResourceSpans* out) {
  if (auto p = ExpectObject(v)) return p;
  if (const Json* resource = JsonMember(v, "resource")) {
    if (auto p = ExpectObject(*resource)) return Within("resource", *p);
    if (auto p = KeyValuesFromJson(*resource, "attributes", 0,
                                   out->mutable_resource()->mutable_attributes())) {
      return Within("resource", *p);
    }
  }
  const Json* scope_spans = nullptr;
  if (auto p = ArrayMember(v, "scopeSpans", &scope_spans)) return p;
  if (scope_spans == nullptr) return std::nullopt;
  for (size_t s = 0; s < scope_spans->size(); ++s) {
    const Json& ss = (*scope_spans)[s];
    trace_pb::ScopeSpans* ss_out = out->add_scope_spans();
    const Json* spans = nullptr;
    JsonStatus p = ExpectObject(ss);
    if (!p) p = ArrayMember(ss, "spans", &spans);
    if (!p && spans != nullptr) {
      for (size_t i = 0; i < spans->size() && !p; ++i) {
        if (auto sp = SpanFromJson((*spans)[i], ss_out->add_spans())) {
          p = Within(fmt::format("spans[{}]", i), *sp);
        }
      }
    }
    if (p) return Within(fmt::format("scopeSpans[{}]", s), *p);
  }
  return std::nullopt;
}

Result<std::vector<Span>> DecodeResourceSpansJson(const Json& list, std::string_view name) {
  if (list.is_null()) return std::vector<Span>();
  if (!list.is_array()) {
    return MakeError(fmt::format("{} must be an array, got {}", name, JsonPreview(list)));
  }
  google::protobuf::Arena arena;
  auto* request =
      google::protobuf::Arena::CreateMessage<collector_pb::ExportTraceServiceRequest>(&arena);
  for (size_t r = 0; r < list.size(); ++r) {
    if (auto p = ResourceSpansFromJson(list[r], request->add_resource_spans())) {
      return MakeError(FormatProblem(Within(fmt::format("{}[{}]", name, r), *p)));
    }
  }
  return SpansFromProto(request->resource_spans(), name);
}

// ---------------------------------------------------------------------------------------------
// ExportTraceServiceRequest protobuf straight into spans: ingest's hot path.
//
// Parsing into the generated messages and then copying into spans allocated every string twice
// and built a message per span, attribute and value only to throw it away. This reader walks the
// wire format once and writes spans directly. It accepts and rejects exactly what the generated
// parser does (checked against it in otlp_codec_test): unknown fields and known fields with an
// unexpected wire type are skipped, the last value of a scalar wins, repeated occurrences of a
// sub-message merge, string fields must be UTF-8 (the same check libprotobuf runs), nesting stops
// at libprotobuf's default depth of 100. The parts tracerig does not keep or rarely sees (array
// and kvlist values, scopes, links) go through the generated messages themselves.

constexpr int kProtobufRecursionLimit = 100;  // libprotobuf's default

enum WireType : uint32_t {
  kWireVarint = 0,
  kWireFixed64 = 1,
  kWireLengthDelimited = 2,
  kWireStartGroup = 3,
  kWireEndGroup = 4,
  kWireFixed32 = 5,
};

// A cursor over one message's bytes. Every read checks bounds; false means malformed input.
class WireReader {
 public:
  explicit WireReader(std::string_view data) : p_(data.data()), end_(data.data() + data.size()) {}

  bool done() const { return p_ == end_; }

  bool ReadVarint(uint64_t* out) {
    uint64_t v = 0;
    for (int shift = 0; shift < 70 && p_ != end_; shift += 7) {
      const auto byte = static_cast<uint8_t>(*p_++);
      v |= static_cast<uint64_t>(byte & 0x7f) << shift;
      if (byte < 0x80) {
        *out = v;
        return true;
      }
    }
    return false;  // truncated, or longer than 10 bytes
  }

  // A field's number and wire type, read as libprotobuf reads tags: at most 5 bytes, bits past
  // 32 dropped. Field number 0 is malformed, and so is an end-group tag outside a group (Skip).
  bool ReadTag(uint32_t* field, WireType* type) {
    uint32_t tag = 0;
    for (int i = 0; i < 5; ++i) {
      if (p_ == end_) return false;
      const auto byte = static_cast<uint8_t>(*p_++);
      tag |= static_cast<uint32_t>(byte & 0x7f) << (7 * i);
      if (byte < 0x80) {
        *field = tag >> 3;
        *type = static_cast<WireType>(tag & 7);
        return *field != 0;
      }
    }
    return false;
  }

  // fixed64 / fixed32: little-endian, whatever the host's byte order.
  template <typename Unsigned>
  bool ReadFixed(Unsigned* out) {
    constexpr int kSize = sizeof(Unsigned);
    if (end_ - p_ < kSize) return false;
    Unsigned v = 0;
    for (int i = kSize - 1; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(p_[i]);
    p_ += kSize;
    *out = v;
    return true;
  }
  bool ReadFixed64(uint64_t* out) { return ReadFixed(out); }
  bool ReadFixed32(uint32_t* out) { return ReadFixed(out); }

  // A length prefix as libprotobuf reads it (at most 5 bytes, under 2 GiB), then that many bytes.
  bool ReadLengthDelimited(std::string_view* out) {
    uint64_t size = 0;
    for (int i = 0;; ++i) {
      if (i == 5 || p_ == end_) return false;
      const auto byte = static_cast<uint8_t>(*p_++);
      if (i == 4 && byte >= 8) return false;
      size |= static_cast<uint64_t>(byte & 0x7f) << (7 * i);
      if (byte < 0x80) break;
    }
    if (size > static_cast<uint64_t>(end_ - p_)) return false;
    *out = std::string_view(p_, size);
    p_ += size;
    return true;
  }

  // Skips a field we do not keep (its tag already read). Groups count against the depth limit.
  bool Skip(uint32_t field, WireType type, int depth) {
    uint64_t ignored64 = 0;
    uint32_t ignored32 = 0;
    std::string_view ignored;
    switch (type) {
      case kWireVarint:
        return ReadVarint(&ignored64);
      case kWireFixed64:
        return ReadFixed64(&ignored64);
      case kWireLengthDelimited:
        return ReadLengthDelimited(&ignored);
      case kWireFixed32:
        return ReadFixed32(&ignored32);
      case kWireStartGroup: {
        if (depth + 1 > kProtobufRecursionLimit) return false;
        uint32_t inner_field = 0;
        WireType inner_type = kWireVarint;
        while (ReadTag(&inner_field, &inner_type)) {
          if (inner_type == kWireEndGroup) return inner_field == field;
          if (!Skip(inner_field, inner_type, depth + 1)) return false;
        }
        return false;
      }
      case kWireEndGroup:
        break;
    }
    return false;  // end-group outside a group, or wire types 6 and 7
  }

 private:
  const char* p_;
  const char* end_;
};

bool ReadUtf8(WireReader& in, std::string_view* out) {
  return in.ReadLengthDelimited(out) && google::protobuf::internal::IsStructurallyValidUTF8(
                                            out->data(), static_cast<int>(out->size()));
}

// How many length-delimited fields numbered `a` and `b` a message holds at its top level, to size
// vectors once (growing attribute vectors one push at a time was a fifth of ingest's time). Stops
// quietly at malformed input: the real read reports it.
std::pair<size_t, size_t> CountFields(std::string_view bytes, uint32_t a, uint32_t b) {
  WireReader in(bytes);
  std::pair<size_t, size_t> counts;
  uint32_t field = 0;
  WireType type = kWireVarint;
  while (!in.done() && in.ReadTag(&field, &type)) {
    if (type == kWireLengthDelimited) {
      if (field == a) ++counts.first;
      if (field == b) ++counts.second;
    }
    if (!in.Skip(field, type, 0)) break;
  }
  return counts;
}

// Parses `bytes` as `message` with the depth already used by the messages around it, so deep
// nesting fails exactly where it fails for one whole-request parse.
template <class Message>
bool ParseNested(std::string_view bytes, int depth, Message* message) {
  google::protobuf::io::CodedInputStream in(reinterpret_cast<const uint8_t*>(bytes.data()),
                                            static_cast<int>(bytes.size()));
  in.SetRecursionLimit(kProtobufRecursionLimit - depth);
  return message->MergeFromCodedStream(&in) && in.ConsumedEntireMessage();
}

// AnyValue at nesting `depth`. Scalars are read in place; array and kvlist values are parsed
// into the generated message and converted as the message-based decoder converts them.
bool ReadAnyValue(std::string_view bytes, int depth, AttributeValue* out) {
  if (depth > kProtobufRecursionLimit) return false;
  {
    WireReader in(bytes);
    AttributeValue value = std::string();
    bool complex = false;
    uint32_t field = 0;
    WireType type = kWireVarint;
    while (!in.done()) {
      if (!in.ReadTag(&field, &type)) return false;
      uint64_t n = 0;
      std::string_view piece;
      if (field == 1 && type == kWireLengthDelimited) {
        if (!ReadUtf8(in, &piece)) return false;
        value = std::string(piece);
      } else if (field == 2 && type == kWireVarint) {
        if (!in.ReadVarint(&n)) return false;
        value = n != 0;
      } else if (field == 3 && type == kWireVarint) {
        if (!in.ReadVarint(&n)) return false;
        value = static_cast<int64_t>(n);
      } else if (field == 4 && type == kWireFixed64) {
        if (!in.ReadFixed64(&n)) return false;
        double d = 0;
        std::memcpy(&d, &n, sizeof d);
        value = d;
      } else if (field == 7 && type == kWireLengthDelimited) {
        if (!in.ReadLengthDelimited(&piece)) return false;
        value = BytesToHex(piece);
      } else if ((field == 5 || field == 6) && type == kWireLengthDelimited) {
        complex = true;
        if (!in.ReadLengthDelimited(&piece)) return false;
      } else if (!in.Skip(field, type, depth)) {
        return false;
      }
    }
    if (!complex) {
      *out = std::move(value);
      return true;
    }
  }
  common_pb::AnyValue message;
  google::protobuf::LogSilencer quiet;
  if (!ParseNested(bytes, depth, &message)) return false;
  *out = AttributeValueFromProto(message);
  return true;
}

// KeyValue at nesting `depth`, appended to `out`.
bool ReadKeyValue(std::string_view bytes, int depth, std::vector<Attribute>* out) {
  if (depth > kProtobufRecursionLimit) return false;
  WireReader in(bytes);
  std::string_view key;
  std::string_view value;
  // A value sent in several pieces is one message merged from them, which is what parsing the
  // pieces' concatenation gives. Rare: only then is anything copied.
  std::string merged;
  bool have_value = false;
  uint32_t field = 0;
  WireType type = kWireVarint;
  while (!in.done()) {
    if (!in.ReadTag(&field, &type)) return false;
    if (field == 1 && type == kWireLengthDelimited) {
      if (!ReadUtf8(in, &key)) return false;
    } else if (field == 2 && type == kWireLengthDelimited) {
      std::string_view piece;
      if (!in.ReadLengthDelimited(&piece)) return false;
      if (have_value) {
        if (merged.empty()) merged.assign(value);
        merged.append(piece);
        value = merged;
      } else {
        value = piece;
      }
      have_value = true;
    } else if (!in.Skip(field, type, depth)) {
      return false;
    }
  }
  Attribute& attribute = out->emplace_back(Attribute{std::string(key), std::string()});
  return !have_value || ReadAnyValue(value, depth + 1, &attribute.value);
}

// What a Span carries on the wire before the checks SpanFromProto makes.
struct WireSpan {
  std::string_view trace_id;
  std::string_view span_id;
  std::string_view parent_span_id;
  int32_t kind = 0;
  int32_t status_code = 0;
};

bool ReadStatus(std::string_view bytes, int depth, WireSpan* wire, Span* out) {
  if (depth > kProtobufRecursionLimit) return false;
  WireReader in(bytes);
  uint32_t field = 0;
  WireType type = kWireVarint;
  while (!in.done()) {
    if (!in.ReadTag(&field, &type)) return false;
    if (field == 2 && type == kWireLengthDelimited) {
      std::string_view message;
      if (!ReadUtf8(in, &message)) return false;
      out->status_message = std::string(message);
    } else if (field == 3 && type == kWireVarint) {
      uint64_t code = 0;
      if (!in.ReadVarint(&code)) return false;
      wire->status_code = static_cast<int32_t>(code);
    } else if (!in.Skip(field, type, depth)) {
      return false;
    }
  }
  return true;
}

bool ReadEvent(std::string_view bytes, int depth, Span* out) {
  if (depth > kProtobufRecursionLimit) return false;
  WireReader in(bytes);
  SpanEvent& event = out->events.emplace_back();
  event.attributes.reserve(CountFields(bytes, 3, 3).first);
  uint32_t field = 0;
  WireType type = kWireVarint;
  while (!in.done()) {
    if (!in.ReadTag(&field, &type)) return false;
    std::string_view piece;
    if (field == 1 && type == kWireFixed64) {
      if (!in.ReadFixed64(&event.time_unix_nano)) return false;
    } else if (field == 2 && type == kWireLengthDelimited) {
      if (!ReadUtf8(in, &piece)) return false;
      event.name = std::string(piece);
    } else if (field == 3 && type == kWireLengthDelimited) {
      if (!in.ReadLengthDelimited(&piece) || !ReadKeyValue(piece, depth + 1, &event.attributes)) {
        return false;
      }
    } else if (!in.Skip(field, type, depth)) {
      return false;
    }
  }
  return true;
}

// Reads one Span; `problem` gets SpanFromProto's complaint about its content, if any.
bool ReadSpan(std::string_view bytes, int depth, Span* out, std::optional<std::string>* problem) {
  if (depth > kProtobufRecursionLimit) return false;
  const auto [attributes, events] = CountFields(bytes, 9, 11);
  out->attributes.reserve(attributes);
  out->events.reserve(events);
  WireReader in(bytes);
  WireSpan wire;
  uint32_t field = 0;
  WireType type = kWireVarint;
  while (!in.done()) {
    if (!in.ReadTag(&field, &type)) return false;
    std::string_view piece;
    uint64_t n = 0;
    uint32_t n32 = 0;
    bool ok = true;
    if (field == 1 && type == kWireLengthDelimited) {
      ok = in.ReadLengthDelimited(&wire.trace_id);
    } else if (field == 2 && type == kWireLengthDelimited) {
      ok = in.ReadLengthDelimited(&wire.span_id);
    } else if (field == 3 && type == kWireLengthDelimited) {
      ok = ReadUtf8(in, &piece);
      out->trace_state = std::string(piece);
    } else if (field == 4 && type == kWireLengthDelimited) {
      ok = in.ReadLengthDelimited(&wire.parent_span_id);
    } else if (field == 5 && type == kWireLengthDelimited) {
      ok = ReadUtf8(in, &piece);
      out->name = std::string(piece);
    } else if (field == 6 && type == kWireVarint) {
      ok = in.ReadVarint(&n);
      wire.kind = static_cast<int32_t>(n);
    } else if (field == 7 && type == kWireFixed64) {
      ok = in.ReadFixed64(&out->start_unix_nano);
    } else if (field == 8 && type == kWireFixed64) {
      ok = in.ReadFixed64(&out->end_unix_nano);
    } else if (field == 9 && type == kWireLengthDelimited) {
      ok = in.ReadLengthDelimited(&piece) && ReadKeyValue(piece, depth + 1, &out->attributes);
    } else if (field == 11 && type == kWireLengthDelimited) {
      ok = in.ReadLengthDelimited(&piece) && ReadEvent(piece, depth + 1, out);
    } else if (field == 13 && type == kWireLengthDelimited) {
      // Links are not kept, but a malformed one fails the request as it does in libprotobuf.
      trace_pb::Span::Link link;
      google::protobuf::LogSilencer quiet;
      ok = in.ReadLengthDelimited(&piece) && ParseNested(piece, depth + 1, &link);
    } else if (field == 15 && type == kWireLengthDelimited) {
      ok = in.ReadLengthDelimited(&piece) && ReadStatus(piece, depth + 1, &wire, out);
    } else if (field == 16 && type == kWireFixed32) {
      ok = in.ReadFixed32(&n32);
      out->flags = n32;
    } else {
      ok = in.Skip(field, type, depth);
    }
    if (!ok) return false;
  }
  if (problem->has_value()) return true;  // only the first problem is reported
  // The same checks, in the same order and words, as SpanFromProto.
  const auto bytes_of = [](std::string_view s) {
    return reinterpret_cast<const uint8_t*>(s.data());
  };
  if (wire.trace_id.size() != 16) {
    *problem = fmt::format("traceId must be 16 bytes, got {}", wire.trace_id.size());
    return true;
  }
  out->trace_id = TraceId::FromBytes(bytes_of(wire.trace_id));
  if (!out->trace_id.IsValid()) {
    *problem = "traceId must not be all zeros";
    return true;
  }
  if (wire.span_id.size() != 8) {
    *problem = fmt::format("spanId must be 8 bytes, got {}", wire.span_id.size());
    return true;
  }
  out->span_id = SpanId::FromBytes(bytes_of(wire.span_id));
  if (!out->span_id.IsValid()) {
    *problem = "spanId must not be all zeros";
    return true;
  }
  if (!wire.parent_span_id.empty()) {
    if (wire.parent_span_id.size() != 8) {
      *problem =
          fmt::format("parentSpanId must be empty or 8 bytes, got {}", wire.parent_span_id.size());
      return true;
    }
    out->parent_span_id = SpanId::FromBytes(bytes_of(wire.parent_span_id));
  }
  if (wire.kind < 0 || wire.kind > static_cast<int>(SpanKind::kConsumer)) {
    *problem = fmt::format("kind {} is not a valid SpanKind (0-5)", wire.kind);
    return true;
  }
  if (wire.status_code < 0 || wire.status_code > static_cast<int>(StatusCode::kError)) {
    *problem = fmt::format("status.code {} is not a valid StatusCode (0-2)", wire.status_code);
    return true;
  }
  out->kind = static_cast<SpanKind>(wire.kind);
  out->status_code = static_cast<StatusCode>(wire.status_code);
  return true;
}

// Where decoding stands: the spans so far and the first problem with a span's content, named by
// its place ("resourceSpans[1].scopeSpans[0].spans[3]: ..."). A problem is reported only if the
// whole body is well-formed, as the message-based decoder parses everything before it checks.
struct WireDecode {
  std::vector<Span> spans;
  std::optional<std::string> problem;
};

bool ReadScopeSpans(std::string_view bytes, int depth, size_t r, size_t s, WireDecode* decode) {
  if (depth > kProtobufRecursionLimit) return false;
  WireReader in(bytes);
  size_t i = 0;
  uint32_t field = 0;
  WireType type = kWireVarint;
  while (!in.done()) {
    if (!in.ReadTag(&field, &type)) return false;
    std::string_view piece;
    if (field == 2 && type == kWireLengthDelimited) {
      std::optional<std::string> problem;
      if (!in.ReadLengthDelimited(&piece) ||
          !ReadSpan(piece, depth + 1, &decode->spans.emplace_back(),
                    decode->problem ? &decode->problem : &problem)) {
        return false;
      }
      if (problem) {
        decode->problem =
            fmt::format("resourceSpans[{}].scopeSpans[{}].spans[{}]: {}", r, s, i, *problem);
      }
      ++i;
    } else if (field == 1 && type == kWireLengthDelimited) {
      common_pb::InstrumentationScope scope;  // not kept; must still be well-formed
      google::protobuf::LogSilencer quiet;
      if (!in.ReadLengthDelimited(&piece) || !ParseNested(piece, depth + 1, &scope)) return false;
    } else if (field == 3 && type == kWireLengthDelimited) {
      if (!ReadUtf8(in, &piece)) return false;
    } else if (!in.Skip(field, type, depth)) {
      return false;
    }
  }
  return true;
}

bool ReadResource(std::string_view bytes, int depth, std::vector<Attribute>* attributes) {
  if (depth > kProtobufRecursionLimit) return false;
  WireReader in(bytes);
  uint32_t field = 0;
  WireType type = kWireVarint;
  while (!in.done()) {
    if (!in.ReadTag(&field, &type)) return false;
    std::string_view piece;
    if (field == 1 && type == kWireLengthDelimited) {
      if (!in.ReadLengthDelimited(&piece) || !ReadKeyValue(piece, depth + 1, attributes)) {
        return false;
      }
    } else if (!in.Skip(field, type, depth)) {
      return false;
    }
  }
  return true;
}

bool ReadResourceSpans(std::string_view bytes, int depth, size_t r, WireDecode* decode) {
  if (depth > kProtobufRecursionLimit) return false;
  WireReader in(bytes);
  const size_t first_span = decode->spans.size();
  std::vector<Attribute> resource;  // every occurrence of `resource` merges into one
  size_t s = 0;
  uint32_t field = 0;
  WireType type = kWireVarint;
  while (!in.done()) {
    if (!in.ReadTag(&field, &type)) return false;
    std::string_view piece;
    if (field == 2 && type == kWireLengthDelimited) {
      if (!in.ReadLengthDelimited(&piece) || !ReadScopeSpans(piece, depth + 1, r, s++, decode)) {
        return false;
      }
    } else if (field == 1 && type == kWireLengthDelimited) {
      if (!in.ReadLengthDelimited(&piece) || !ReadResource(piece, depth + 1, &resource)) {
        return false;
      }
    } else if (field == 3 && type == kWireLengthDelimited) {
      if (!ReadUtf8(in, &piece)) return false;
    } else if (!in.Skip(field, type, depth)) {
      return false;
    }
  }
  // As SpansFromProto: the first service.name names the service, everything else stays.
  std::string service_name(kUnknownServiceName);
  std::vector<Attribute> resource_attributes;
  bool have_service = false;
  for (Attribute& a : resource) {
    if (!have_service && a.key == kServiceNameKey) {
      service_name = AttributeValueToString(a.value);
      have_service = true;
    } else {
      resource_attributes.push_back(std::move(a));
    }
  }
  for (size_t k = first_span; k < decode->spans.size(); ++k) {
    decode->spans[k].service_name = service_name;
    decode->spans[k].resource_attributes = resource_attributes;
  }
  return true;
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

Result<std::vector<Span>> DecodeOtlpProtobuf(std::string_view body) {
  if (body.size() > static_cast<size_t>(INT_MAX)) {
    return MakeError(fmt::format("OTLP protobuf body too large ({} bytes)", body.size()));
  }
  WireDecode decode;
  // A 512-span batch of typical spans is ~300 bytes a span; reserving avoids most regrowth.
  decode.spans.reserve(body.size() / 256 + 1);
  WireReader in(body);
  bool parsed = true;
  size_t r = 0;
  while (parsed && !in.done()) {
    uint32_t field = 0;
    WireType type = kWireVarint;
    std::string_view piece;
    if (!in.ReadTag(&field, &type)) {
      parsed = false;
    } else if (field == 1 && type == kWireLengthDelimited) {
      parsed = in.ReadLengthDelimited(&piece) && ReadResourceSpans(piece, 1, r++, &decode);
    } else {
      parsed = in.Skip(field, type, 0);
    }
  }
  if (!parsed) {
    return MakeError(fmt::format(
        "body is not a valid ExportTraceServiceRequest protobuf ({} bytes): truncated, malformed, "
        "or a string field is not UTF-8",
        body.size()));
  }
  if (decode.problem) return MakeError(std::move(*decode.problem));
  return std::move(decode.spans);
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

Result<std::vector<Span>> DecodeOtlpJson(std::string_view body) {
  try {
    const Json request = Json::parse(body.begin(), body.end());
    if (!request.is_object()) {
      return MakeError(fmt::format("OTLP/JSON body must be an object, got {}", JsonPreview(request)));
    }
    auto it = request.find("resourceSpans");
    if (it == request.end()) return std::vector<Span>();
    return DecodeResourceSpansJson(*it, "resourceSpans");
  } catch (const Json::parse_error& e) {
    // e.what() starts with "[json.exception.parse_error.101] "; the rest says where and why.
    std::string_view what = e.what();
    if (auto pos = what.find("] "); pos != std::string_view::npos) what.remove_prefix(pos + 2);
    return MakeError(fmt::format("invalid JSON: {}", what));
  } catch (const Json::exception& e) {
    return MakeError(fmt::format("invalid OTLP/JSON: {}", e.what()));
  }
}

Result<std::vector<Span>> DecodeOtlpJsonResourceSpans(const nlohmann::json& resource_spans,
                                                      std::string_view path) {
  try {
    return DecodeResourceSpansJson(resource_spans, path);
  } catch (const Json::exception& e) {
    return MakeError(fmt::format("{}: invalid OTLP/JSON: {}", path, e.what()));
  }
}

// ---------------------------------------------------------------------------------------------
// gzip.

namespace {

constexpr int kGzipWindowBits = 15 + 16;  // 32 KiB window, gzip wrapper
constexpr size_t kMaxZlibChunk = std::numeric_limits<uInt>::max();

Bytef* ToBytef(const char* p) { return reinterpret_cast<Bytef*>(const_cast<char*>(p)); }

}  // namespace

std::string GzipCompress(std::string_view data) {
  z_stream zs{};
  if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, kGzipWindowBits, 8,
                   Z_DEFAULT_STRATEGY) != Z_OK) {
    throw std::bad_alloc();  // the only way deflateInit2 fails with valid parameters
  }
  std::string out(deflateBound(&zs, std::min<size_t>(data.size(), kMaxZlibChunk)), '\0');
  size_t produced = 0;
  size_t consumed = 0;
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    if (zs.avail_in == 0 && consumed < data.size()) {
      const size_t chunk = std::min(data.size() - consumed, kMaxZlibChunk);
      zs.next_in = ToBytef(data.data() + consumed);
      zs.avail_in = static_cast<uInt>(chunk);
      consumed += chunk;
    }
    if (produced == out.size()) out.resize(out.size() * 2);
    zs.next_out = ToBytef(out.data() + produced);
    zs.avail_out = static_cast<uInt>(std::min(out.size() - produced, kMaxZlibChunk));
    rc = deflate(&zs, consumed == data.size() ? Z_FINISH : Z_NO_FLUSH);
    produced = static_cast<size_t>(reinterpret_cast<char*>(zs.next_out) - out.data());
    if (rc == Z_STREAM_ERROR) break;  // cannot happen with a valid stream; avoid looping forever
  }
  deflateEnd(&zs);
  out.resize(produced);
  return out;
}

Result<std::string> GzipDecompress(std::string_view data, size_t max_size) {
  if (data.empty()) return MakeError("gzip: empty input");
  z_stream zs{};
  if (inflateInit2(&zs, kGzipWindowBits) != Z_OK) return MakeError("gzip: out of memory");
  struct End {
    z_stream* zs;
    ~End() { inflateEnd(zs); }
  } end{&zs};

  // One byte past the limit, so that exceeding it is detected rather than silently truncated.
  const size_t capacity_limit = max_size == SIZE_MAX ? SIZE_MAX : max_size + 1;
  std::string out(std::min(capacity_limit, std::max<size_t>(data.size() * 4, 4096)), '\0');
  size_t produced = 0;
  size_t consumed = 0;
  for (;;) {
    if (zs.avail_in == 0 && consumed < data.size()) {
      const size_t chunk = std::min(data.size() - consumed, kMaxZlibChunk);
      zs.next_in = ToBytef(data.data() + consumed);
      zs.avail_in = static_cast<uInt>(chunk);
      consumed += chunk;
    }
    if (produced == out.size()) {
      if (out.size() >= capacity_limit) {
        return MakeError(ErrorCode::kResourceExhausted,
                         fmt::format("decompressed body exceeds {} bytes", max_size));
      }
      out.resize(out.size() > capacity_limit / 2 ? capacity_limit : out.size() * 2);
    }
    zs.next_out = ToBytef(out.data() + produced);
    zs.avail_out = static_cast<uInt>(std::min(out.size() - produced, kMaxZlibChunk));
    const int rc = inflate(&zs, Z_NO_FLUSH);
    produced = static_cast<size_t>(reinterpret_cast<char*>(zs.next_out) - out.data());
    if (produced > max_size) {
      return MakeError(ErrorCode::kResourceExhausted,
                       fmt::format("decompressed body exceeds {} bytes", max_size));
    }
    switch (rc) {
      case Z_OK:
        break;
      case Z_STREAM_END:
        if (zs.avail_in == 0 && consumed == data.size()) {
          out.resize(produced);
          return out;
        }
        inflateReset(&zs);  // another gzip member follows
        break;
      case Z_BUF_ERROR:
        // No progress possible with output space left: the input ended inside the stream.
        if (zs.avail_out != 0) return MakeError("gzip: truncated input");
        break;
      case Z_MEM_ERROR:
        return MakeError("gzip: out of memory");
      default:
        return MakeError(
            fmt::format("gzip: corrupt input: {}", zs.msg != nullptr ? zs.msg : "invalid data"));
    }
  }
}

}  // namespace tracerig
