// Zipkin v2 JSON codec. The encoder writes text directly (it is on the exporter's hot path); the
// decoder parses with nlohmann's ordered_json so tags keep the order they arrived in.
#include "export/zipkin_codec.h"

#include "export/json_read.h"
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <iterator>
#include <nlohmann/json.hpp>
#include <optional>
#include <utility>

#include "export/json_text.h"

namespace tracerig {
namespace {

using Json = nlohmann::ordered_json;

constexpr std::string_view kStatusCodeTag = "otel.status_code";
constexpr std::string_view kErrorTag = "error";
constexpr std::string_view kPeerServiceAttribute = "peer.service";
// Real Zipkin spans nest four levels deep (list, span, annotations, annotation); anything much
// deeper is hostile, and nlohmann's recursive parser must not be handed it.
constexpr int kMaxJsonDepth = 32;

// ---------------------------------------------------------------------------------------------
// Encoding.

template <typename T>
void AppendNumber(std::string& out, T n) {
  fmt::format_to(std::back_inserter(out), "{}", n);
}

void AppendLowercase(std::string& out, std::string_view s, bool lowercase) {
  if (!lowercase) {
    AppendJsonString(out, s);
    return;
  }
  std::string lowered(s);
  for (char& c : lowered) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  AppendJsonString(out, lowered);
}

std::string_view ZipkinKind(SpanKind kind) {
  switch (kind) {
    case SpanKind::kServer:
      return "SERVER";
    case SpanKind::kClient:
      return "CLIENT";
    case SpanKind::kProducer:
      return "PRODUCER";
    case SpanKind::kConsumer:
      return "CONSUMER";
    case SpanKind::kInternal:
    case SpanKind::kUnspecified:
      break;
  }
  return {};
}

// Event attributes as the JSON object of an annotation value, keeping value types.
void AppendEventAttributes(std::string& out, const std::vector<Attribute>& attributes) {
  out += '{';
  for (size_t i = 0; i < attributes.size(); ++i) {
    if (i > 0) out += ',';
    AppendJsonString(out, attributes[i].key);
    out += ':';
    const AttributeValue& v = attributes[i].value;
    if (const auto* d = std::get_if<double>(&v); d != nullptr && !std::isfinite(*d)) {
      AppendJsonString(out, AttributeValueToString(v));  // JSON has no NaN or infinities
    } else if (std::holds_alternative<std::string>(v)) {
      AppendJsonString(out, std::get<std::string>(v));
    } else {
      out += AttributeValueToString(v);
    }
  }
  out += '}';
}

// span.links are not written: Zipkin v2 has no links (see EncodeZipkinJson).
void AppendSpan(std::string& out, const Span& span, ZipkinJsonStyle style) {
  const bool server = style == ZipkinJsonStyle::kServer;
  char hex[32];
  out += "{\"traceId\":\"";
  if (server && span.trace_id.high == 0) {
    WriteHex(span.trace_id.low, 16, hex);
    out.append(hex, 16);
  } else {
    WriteHex(span.trace_id.high, 16, hex);
    WriteHex(span.trace_id.low, 16, hex + 16);
    out.append(hex, 32);
  }
  out += '"';
  if (span.parent_span_id.IsValid()) {
    out += ",\"parentId\":\"";
    WriteHex(span.parent_span_id.value, 16, hex);
    out.append(hex, 16);
    out += '"';
  }
  out += ",\"id\":\"";
  WriteHex(span.span_id.value, 16, hex);
  out.append(hex, 16);
  out += '"';
  const std::string_view kind = ZipkinKind(span.kind);
  if (!kind.empty()) {
    out += ",\"kind\":\"";
    out += kind;
    out += '"';
  }
  out += ",\"name\":";
  AppendLowercase(out, span.name, server);
  const uint64_t timestamp = span.start_unix_nano / 1000;
  const uint64_t duration = span.end_unix_nano > span.start_unix_nano
                                ? (span.end_unix_nano - span.start_unix_nano) / 1000
                                : 0;
  if (timestamp != 0) {
    out += ",\"timestamp\":";
    AppendNumber(out, timestamp);
  }
  if (duration != 0) {
    out += ",\"duration\":";
    AppendNumber(out, duration);
  }
  if (!span.service_name.empty()) {
    out += ",\"localEndpoint\":{\"serviceName\":";
    AppendLowercase(out, span.service_name, server);
    out += '}';
  }
  if (span.kind == SpanKind::kClient || span.kind == SpanKind::kProducer) {
    if (const AttributeValue* peer = span.FindAttribute(kPeerServiceAttribute)) {
      out += ",\"remoteEndpoint\":{\"serviceName\":";
      AppendLowercase(out, AttributeValueToString(*peer), server);
      out += '}';
    }
  }
  if (!span.events.empty()) {
    out += ",\"annotations\":[";
    for (size_t i = 0; i < span.events.size(); ++i) {
      const SpanEvent& event = span.events[i];
      if (i > 0) out += ',';
      out += "{\"timestamp\":";
      AppendNumber(out, event.time_unix_nano / 1000);
      out += ",\"value\":";
      if (event.attributes.empty()) {
        AppendJsonString(out, event.name);
      } else {
        std::string value;
        AppendJsonString(value, event.name);
        value += ':';
        AppendEventAttributes(value, event.attributes);
        AppendJsonString(out, value);
      }
      out += '}';
    }
    out += ']';
  }

  // Tags form a JSON object, so each key is written once: span attributes first (the first of
  // repeated keys wins), then resource attributes not already written, then the status.
  const bool has_status = span.status_code != StatusCode::kUnset;
  std::vector<std::string_view> written;
  written.reserve(span.attributes.size() + span.resource_attributes.size());
  bool first_tag = true;
  auto add_tag = [&](std::string_view key, std::string_view value) {
    out += first_tag ? ",\"tags\":{" : ",";
    first_tag = false;
    AppendJsonString(out, key);
    out += ':';
    AppendJsonString(out, value);
  };
  auto add_attributes = [&](const std::vector<Attribute>& attributes) {
    for (const Attribute& a : attributes) {
      if (has_status && (a.key == kStatusCodeTag || a.key == kErrorTag)) continue;
      if (std::find(written.begin(), written.end(), a.key) != written.end()) continue;
      written.push_back(a.key);
      if (const auto* s = std::get_if<std::string>(&a.value)) {
        add_tag(a.key, *s);
      } else {
        add_tag(a.key, AttributeValueToString(a.value));
      }
    }
  };
  add_attributes(span.attributes);
  add_attributes(span.resource_attributes);
  if (has_status) {
    add_tag(kStatusCodeTag, StatusCodeName(span.status_code));
    if (span.status_code == StatusCode::kError) add_tag(kErrorTag, span.status_message);
  }
  if (!first_tag) out += '}';
  out += '}';
}

// ---------------------------------------------------------------------------------------------
// Decoding.

// Deepest nesting of arrays and objects in `text`, stopping early once over `limit`.
int NestingDepth(std::string_view text, int limit) {
  int depth = 0;
  int deepest = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      deepest = std::max(deepest, ++depth);
      if (deepest > limit) break;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return deepest;
}

// Text of a tag or event-attribute value: strings as they are, numbers and booleans as JSON.
std::optional<std::string> ScalarText(const Json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number() || v.is_boolean()) return v.dump();
  return std::nullopt;
}

// Microseconds as a JSON number (fractions rounded) to nanoseconds.
std::optional<uint64_t> MicrosToNanos(const Json& v) {
  constexpr uint64_t kMaxMicros = UINT64_MAX / 1000;
  if (v.is_number_unsigned()) {
    const auto micros = v.get<uint64_t>();
    if (micros > kMaxMicros) return std::nullopt;
    return micros * 1000;
  }
  if (v.is_number_integer()) {
    const auto micros = v.get<int64_t>();
    if (micros < 0) return std::nullopt;
    return static_cast<uint64_t>(micros) * 1000;
  }
  if (v.is_number_float()) {
    // Doubles hold whole µs exactly up to 2^53 (the year 2255), which is as far as we go.
    const double rounded = std::round(v.get<double>());
    if (!(rounded >= 0 && rounded <= 0x1p53)) return std::nullopt;
    return static_cast<uint64_t>(rounded) * 1000;
  }
  return std::nullopt;
}

Result<uint64_t> ReadMicros(const Json& object, const char* key) {
  const Json* v = JsonMember(object, key);
  if (v == nullptr) return uint64_t{0};
  auto nanos = MicrosToNanos(*v);
  if (!nanos) {
    return MakeError(
        fmt::format("{} must be a non-negative number of microseconds, got {}", key, JsonPreview(*v)));
  }
  return *nanos;
}

Result<std::string> ReadString(const Json& object, const char* key) {
  const Json* v = JsonMember(object, key);
  if (v == nullptr) return std::string();
  if (!v->is_string())
    return MakeError(fmt::format("{} must be a string, got {}", key, JsonPreview(*v)));
  return v->get<std::string>();
}

Result<std::string> ReadHexId(const Json& object, const char* key, size_t max_digits) {
  if (JsonMember(object, key) == nullptr) return MakeError(fmt::format("{} is required", key));
  auto text = ReadString(object, key);
  if (!text) return text;
  const bool hex = std::all_of(text->begin(), text->end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
  });
  if (text->empty() || text->size() > max_digits || !hex) {
    return MakeError(fmt::format("{} must be 1 to {} hex digits, got {}", key, max_digits,
                                 JsonPreview(*JsonMember(object, key))));
  }
  return text;
}

// The service name of an endpoint object ("" when absent).
Result<std::string> EndpointService(const Json& span, const char* key) {
  const Json* endpoint = JsonMember(span, key);
  if (endpoint == nullptr) return std::string();
  if (!endpoint->is_object()) {
    return MakeError(fmt::format("{} must be an object, got {}", key, JsonPreview(*endpoint)));
  }
  auto service = ReadString(*endpoint, "serviceName");
  if (!service) return MakeError(fmt::format("{}.{}", key, service.error().message));
  return service;
}

// An annotation value: `"name":{...}` (how OpenTelemetry writes events with attributes) is split
// into name and attributes; anything else is the event name.
SpanEvent EventFromAnnotation(uint64_t time_unix_nano, const std::string& value) {
  SpanEvent event{time_unix_nano, value, {}};
  if (value.size() < 4 || value.front() != '"' || value.back() != '}') return event;
  if (NestingDepth(value, kMaxJsonDepth) > kMaxJsonDepth) return event;
  Json wrapped = Json::parse("{" + value + "}", nullptr, /*allow_exceptions=*/false);
  if (wrapped.is_discarded() || wrapped.size() != 1 || !wrapped.begin().value().is_object()) {
    return event;
  }
  SpanEvent split{time_unix_nano, wrapped.begin().key(), {}};
  for (const auto& [key, v] : wrapped.begin().value().items()) {
    auto text = ScalarText(v);
    split.attributes.push_back(Attribute{key, text ? *text : v.dump()});
  }
  return split;
}

Result<SpanKind> ParseKind(const Json& span) {
  auto text = ReadString(span, "kind");
  if (!text) return text.error();
  std::string upper = *text;
  for (char& c : upper) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  if (upper.empty()) return SpanKind::kInternal;
  if (upper == "SERVER") return SpanKind::kServer;
  if (upper == "CLIENT") return SpanKind::kClient;
  if (upper == "PRODUCER") return SpanKind::kProducer;
  if (upper == "CONSUMER") return SpanKind::kConsumer;
  return MakeError(fmt::format("kind must be CLIENT, SERVER, PRODUCER or CONSUMER, got {}",
                               JsonPreview(*JsonMember(span, "kind"))));
}

// One span; errors name the field, the caller adds which span.
Result<Span> SpanFromJson(const Json& v) {
  if (!v.is_object()) return MakeError(fmt::format("must be an object, got {}", JsonPreview(v)));
  Span span;
  auto trace_id = ReadHexId(v, "traceId", 32);
  if (!trace_id) return trace_id.error();
  span.trace_id = *TraceId::FromHex(*trace_id);  // ReadHexId checked the digits
  if (!span.trace_id.IsValid()) return MakeError("traceId must not be all zeros");
  auto id = ReadHexId(v, "id", 16);
  if (!id) return id.error();
  span.span_id = *SpanId::FromHex(*id);
  if (!span.span_id.IsValid()) return MakeError("id must not be all zeros");
  if (JsonMember(v, "parentId") != nullptr) {
    auto parent = ReadHexId(v, "parentId", 16);
    if (!parent) return parent.error();
    span.parent_span_id = *SpanId::FromHex(*parent);  // all zeros: stays a root
  }
  auto kind = ParseKind(v);
  if (!kind) return kind.error();
  span.kind = *kind;
  auto name = ReadString(v, "name");
  if (!name) return name.error();
  span.name = std::move(*name);
  auto timestamp = ReadMicros(v, "timestamp");
  if (!timestamp) return timestamp.error();
  auto duration = ReadMicros(v, "duration");
  if (!duration) return duration.error();
  span.start_unix_nano = *timestamp;
  if (*duration > UINT64_MAX - *timestamp) {
    return MakeError("timestamp + duration overflows 64-bit nanoseconds");
  }
  span.end_unix_nano = *timestamp + *duration;
  auto service = EndpointService(v, "localEndpoint");
  if (!service) return service.error();
  span.service_name = std::move(*service);
  auto remote = EndpointService(v, "remoteEndpoint");
  if (!remote) return remote.error();

  if (const Json* annotations = JsonMember(v, "annotations")) {
    if (!annotations->is_array()) {
      return MakeError(fmt::format("annotations must be an array, got {}", JsonPreview(*annotations)));
    }
    for (size_t i = 0; i < annotations->size(); ++i) {
      const Json& a = (*annotations)[i];
      if (!a.is_object()) {
        return MakeError(fmt::format("annotations[{}] must be an object, got {}", i, JsonPreview(a)));
      }
      auto time = ReadMicros(a, "timestamp");
      if (!time) return MakeError(fmt::format("annotations[{}].{}", i, time.error().message));
      auto value = ReadString(a, "value");
      if (!value) return MakeError(fmt::format("annotations[{}].{}", i, value.error().message));
      span.events.push_back(EventFromAnnotation(*time, *value));
    }
  }

  std::optional<std::string> status_code;
  std::optional<std::string> error;
  if (const Json* tags = JsonMember(v, "tags")) {
    if (!tags->is_object()) {
      return MakeError(fmt::format("tags must be an object, got {}", JsonPreview(*tags)));
    }
    span.attributes.reserve(tags->size());
    for (const auto& [key, value] : tags->items()) {
      auto text = ScalarText(value);
      if (!text) {
        if (value.is_null()) continue;
        return MakeError(fmt::format("tags.{} must be a string, got {}", key, JsonPreview(value)));
      }
      if (key == kStatusCodeTag) {
        status_code = std::move(*text);
      } else if (key == kErrorTag) {
        error = std::move(*text);
      } else {
        span.attributes.push_back(Attribute{key, std::move(*text)});
      }
    }
  }
  if (!remote->empty() && span.FindAttribute(kPeerServiceAttribute) == nullptr) {
    span.attributes.push_back(Attribute{std::string(kPeerServiceAttribute), std::move(*remote)});
  }
  // Status as the collector's Zipkin receiver reads it: any error tag but "false" is a failure.
  if (error && *error != "false") {
    span.status_code = StatusCode::kError;
    span.status_message = std::move(*error);
  } else if (status_code == "ERROR") {
    span.status_code = StatusCode::kError;
  } else if (status_code == "OK") {
    span.status_code = StatusCode::kOk;
  } else if (status_code) {
    span.attributes.push_back(Attribute{std::string(kStatusCodeTag), *status_code});
  }
  return span;
}

}  // namespace

std::string EncodeZipkinJson(const std::vector<Span>& spans, ZipkinJsonStyle style) {
  std::string out;
  out.reserve(2 + spans.size() * 600);  // a typical span with ten tags
  out += '[';
  for (size_t i = 0; i < spans.size(); ++i) {
    if (i > 0) out += ',';
    AppendSpan(out, spans[i], style);
  }
  out += ']';
  return out;
}

Result<std::vector<Span>> DecodeZipkinJson(std::string_view body) {
  if (NestingDepth(body, kMaxJsonDepth) > kMaxJsonDepth) {
    return MakeError(fmt::format("Zipkin JSON nests deeper than {} levels", kMaxJsonDepth));
  }
  try {
    const Json parsed = Json::parse(body.begin(), body.end());
    std::vector<Span> spans;
    if (parsed.is_object()) {
      auto span = SpanFromJson(parsed);
      if (!span) return MakeError("span: " + span.error().message);
      spans.push_back(std::move(*span));
      return spans;
    }
    if (!parsed.is_array()) {
      return MakeError(
          fmt::format("Zipkin v2 JSON must be an array of spans, got {}", JsonPreview(parsed)));
    }
    spans.reserve(parsed.size());
    for (size_t i = 0; i < parsed.size(); ++i) {
      auto span = SpanFromJson(parsed[i]);
      if (!span) return MakeError(fmt::format("spans[{}]: {}", i, span.error().message));
      spans.push_back(std::move(*span));
    }
    return spans;
  } catch (const Json::parse_error& e) {
    // e.what() starts with "[json.exception.parse_error.101] "; the rest says where and why.
    std::string_view what = e.what();
    if (auto pos = what.find("] "); pos != std::string_view::npos) what.remove_prefix(pos + 2);
    return MakeError(fmt::format("invalid JSON: {}", what));
  } catch (const Json::exception& e) {
    return MakeError(fmt::format("invalid Zipkin JSON: {}", e.what()));
  }
}

}  // namespace tracerig
