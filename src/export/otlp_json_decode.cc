// OTLP/JSON to spans: the JSON is first read into an ExportTraceServiceRequest message, checking
// only JSON types and spellings, then converted by SpansFromProto like a protobuf body.
#include "export/otlp_codec.h"

#include <fmt/format.h>
#include <google/protobuf/arena.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <utility>

#include "core/ids.h"
#include "export/json_read.h"
#include "export/otlp_internal.h"

namespace tracerig {
using namespace otlp_internal;  // export/otlp_internal.h
namespace {

using Json = nlohmann::json;

// Bounds recursion through arrayValue/kvlistValue; protobuf's own parser stops at 100 levels.
constexpr int kMaxValueDepth = 64;

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
  if (!v->is_string())
    return Fail(fmt::format("{} must be a string, got {}", key, JsonPreview(*v)));
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
  if (!v->is_string())
    return Fail(fmt::format("{} must be a string, got {}", key, JsonPreview(*v)));
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
    if (!decoded)
      return Fail(fmt::format("bytesValue must be base64, got {}", JsonPreview(*bytes)));
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

// flags: an unsigned 32-bit integer (Span.flags, Link.flags).
JsonStatus ReadFlags(const Json& object, const std::function<void(uint32_t)>& set) {
  const Json* flags = JsonMember(object, "flags");
  if (flags == nullptr) return std::nullopt;
  auto n = JsonToUint64(*flags);
  if (!n || *n > UINT32_MAX) {
    return Fail(
        fmt::format("flags must be an unsigned 32-bit integer, got {}", JsonPreview(*flags)));
  }
  set(static_cast<uint32_t>(*n));
  return std::nullopt;
}

// A link's ids as a span's (hex or base64); their lengths are checked by LinkFromProto.
JsonStatus LinkFromJson(const Json& v, trace_pb::Span::Link* out) {
  if (auto p = ExpectObject(v)) return p;
  if (auto p = ReadId(v, "traceId", 16, out->mutable_trace_id())) return p;
  if (auto p = ReadId(v, "spanId", 8, out->mutable_span_id())) return p;
  if (auto p = ReadString(v, "traceState", out->mutable_trace_state())) return p;
  if (auto p = KeyValuesFromJson(v, "attributes", 0, out->mutable_attributes())) return p;
  return ReadFlags(v, [out](uint32_t f) { out->set_flags(f); });
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
  const Json* links = nullptr;
  if (auto p = ArrayMember(v, "links", &links)) return p;
  if (links != nullptr) {
    for (size_t i = 0; i < links->size(); ++i) {
      if (auto p = LinkFromJson((*links)[i], out->add_links())) {
        return Within(fmt::format("links[{}]", i), *p);
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
  return ReadFlags(v, [out](uint32_t f) { out->set_flags(f); });
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

}  // namespace

Result<std::vector<Span>> DecodeOtlpJson(std::string_view body) {
  try {
    const Json request = Json::parse(body.begin(), body.end());
    if (!request.is_object()) {
      return MakeError(
          fmt::format("OTLP/JSON body must be an object, got {}", JsonPreview(request)));
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

}  // namespace tracerig
