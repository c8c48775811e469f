#include "backend/query_api.h"

#include <fmt/format.h>

#include <array>
#include <bit>
#include <charconv>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>
#include <unordered_set>
#include <variant>
#include <vector>

#include "backend/jaeger_json.h"
#include "backend/query_params.h"
#include "export/json_text.h"
#include "export/otlp_codec.h"

namespace tracerig {
namespace {

using ordered_json = nlohmann::ordered_json;

constexpr std::string_view kJsonType = "application/json";
constexpr std::string_view kV3Prefix = "/api/v3/";
constexpr std::string_view kStatsPath = "/api/tracerig/stats";
constexpr std::string_view kTracesPath = "/api/tracerig/traces";
// Our v1 search default; Jaeger leaves it to the storage backend.
constexpr size_t kV3DefaultNumTraces = 100;

HttpResponseData Json(unsigned status, std::string body) {
  return HttpResponseData{status, std::string(kJsonType), std::move(body)};
}

// Jaeger's GRPCGatewayError envelope.
HttpResponseData V3Error(unsigned status, std::string_view message) {
  ordered_json details;
  details["httpCode"] = status;
  details["message"] = message;
  ordered_json body;
  body["error"] = std::move(details);
  return Json(status, DumpJson(body));
}

// {"result": <ExportTraceServiceRequest JSON>}: TracesData and the export request share the
// resourceSpans field, so the OTLP encoder's output is the result as is.
HttpResponseData SpansResult(const std::vector<Span>& spans) {
  return Json(200, "{\"result\":" + EncodeOtlpJson(spans) + "}");
}

HttpResponseData GetTrace(const SpanStore& store, std::string_view raw_id) {
  auto decoded = PercentDecode(raw_id, false);
  if (!decoded) return V3Error(400, "malformed parameter trace_id: " + decoded.error().message);
  auto id = ParseJaegerTraceId(*decoded);
  if (!id) return V3Error(400, "malformed parameter trace_id: " + id.error().message);
  auto trace = store.GetTrace(*id);
  if (!trace) return V3Error(404, "trace not found");
  return SpansResult(trace->spans);
}

Result<std::map<std::string, std::string>> ParseAttributes(std::string_view text) {
  auto json = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.is_object()) {
    return MakeError(fmt::format("malformed parameter query.attributes: {} is not a JSON object",
                                 text));
  }
  std::map<std::string, std::string> tags;
  for (const auto& [key, value] : json.items()) {
    if (!value.is_string()) {
      return MakeError(fmt::format(
          "malformed parameter query.attributes: value of \"{}\" is not a string", key));
    }
    tags[key] = value.get<std::string>();
  }
  return tags;
}

// Jaeger's parseFindTracesQuery: the same checks in the same order.
Result<TraceQuery> ParseFindTraces(const QueryParams& params) {
  TraceQuery query;
  query.service = std::string(FirstParam(params, "query.service_name").value_or(""));
  query.operation = std::string(FirstParam(params, "query.operation_name").value_or(""));
  const std::string_view min = FirstParam(params, "query.start_time_min").value_or("");
  const std::string_view max = FirstParam(params, "query.start_time_max").value_or("");
  if (min.empty() || max.empty()) {
    return MakeError("query.start_time_min and query.start_time_max are required");
  }
  for (auto [name, text, field] :
       {std::tuple{"query.start_time_min", min, &query.start_min_unix_nano},
        std::tuple{"query.start_time_max", max, &query.start_max_unix_nano}}) {
    auto nanos = ParseRfc3339Nanos(text);
    if (!nanos) return MakeError(fmt::format("malformed parameter {}: {}", name, nanos.error().message));
    *field = *nanos;
  }
  query.limit = kV3DefaultNumTraces;
  if (std::string_view n = FirstParam(params, "query.num_traces").value_or(""); !n.empty()) {
    int64_t value = 0;
    auto [ptr, ec] = std::from_chars(n.data(), n.data() + n.size(), value);
    if (ec != std::errc() || ptr != n.data() + n.size()) {
      return MakeError(fmt::format("malformed parameter query.num_traces: \"{}\" is not an integer", n));
    }
    query.limit = value > 0 ? static_cast<size_t>(value) : 0;
  }
  for (auto [name, field] : {std::pair{"query.duration_min", &query.min_duration_nano},
                             std::pair{"query.duration_max", &query.max_duration_nano}}) {
    std::string_view text = FirstParam(params, name).value_or("");
    if (text.empty()) continue;
    auto nanos = ParseJaegerDuration(name, text);
    if (!nanos) return MakeError(fmt::format("malformed parameter {}: invalid duration \"{}\"", name, text));
    *field = *nanos;
  }
  if (auto text = FirstParam(params, "query.attributes"); text && !text->empty()) {
    auto tags = ParseAttributes(*text);
    if (!tags) return tags.error();
    query.tags = std::move(*tags);
  }
  return query;
}

HttpResponseData FindTraces(const SpanStore& store, std::string_view raw_query) {
  auto params = ParseQueryString(raw_query);
  if (!params) return V3Error(400, params.error().message);
  auto query = ParseFindTraces(*params);
  if (!query) return V3Error(400, query.error().message);
  std::vector<Span> spans;
  for (const TraceId& id : store.Search(*query)) {
    // A trace evicted between Search and GetTrace is simply left out.
    if (auto trace = store.GetTrace(id)) {
      spans.insert(spans.end(), std::make_move_iterator(trace->spans.begin()),
                   std::make_move_iterator(trace->spans.end()));
    }
  }
  return SpansResult(spans);
}

uint64_t Load(const std::atomic<uint64_t>& v) { return v.load(std::memory_order_relaxed); }

// Days from 1970-01-01 to the civil date (Howard Hinnant's algorithm).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

}  // namespace

Result<uint64_t> ParseRfc3339Nanos(std::string_view text) {
  auto bad = [&](std::string_view why) {
    return MakeError(fmt::format("\"{}\" is not an RFC 3339 time ({})", text, why));
  };
  size_t pos = 0;
  auto number = [&](size_t digits, int64_t& out) {
    if (pos + digits > text.size()) return false;
    int64_t v = 0;
    for (size_t i = 0; i < digits; ++i) {
      const char c = text[pos + i];
      if (c < '0' || c > '9') return false;
      v = v * 10 + (c - '0');
    }
    out = v;
    pos += digits;
    return true;
  };
  auto expect = [&](char c) {
    if (pos < text.size() && (text[pos] == c || (c == 'T' && text[pos] == 't'))) {
      ++pos;
      return true;
    }
    return false;
  };
  int64_t year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!number(4, year) || !expect('-') || !number(2, month) || !expect('-') || !number(2, day) ||
      !expect('T') || !number(2, hour) || !expect(':') || !number(2, minute) || !expect(':') ||
      !number(2, second)) {
    return bad("expected YYYY-MM-DDTHH:MM:SS");
  }
  static constexpr int kDaysInMonth[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (month < 1 || month > 12 || day < 1 || day > kDaysInMonth[month - 1] || hour > 23 ||
      minute > 59 || second > 59) {
    return bad("field out of range");
  }
  uint64_t fraction = 0;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    size_t digits = 0;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      if (digits < 9) fraction = fraction * 10 + static_cast<uint64_t>(text[pos] - '0');
      ++digits;
      ++pos;
    }
    if (digits == 0) return bad("empty fraction");
    for (size_t i = digits; i < 9; ++i) fraction *= 10;
  }
  int64_t offset_seconds = 0;
  if (pos < text.size() && (text[pos] == 'Z' || text[pos] == 'z')) {
    ++pos;
  } else if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
    const int sign = text[pos] == '-' ? -1 : 1;
    ++pos;
    int64_t oh = 0, om = 0;
    if (!number(2, oh) || !expect(':') || !number(2, om) || oh > 23 || om > 59) {
      return bad("bad time zone offset");
    }
    offset_seconds = sign * (oh * 3600 + om * 60);
  } else {
    return bad("missing time zone");
  }
  if (pos != text.size()) return bad("trailing characters");
  const int64_t seconds = DaysFromCivil(year, static_cast<unsigned>(month),
                                        static_cast<unsigned>(day)) * 86400 +
                          hour * 3600 + minute * 60 + second - offset_seconds;
  if (seconds < 0) return bad("before 1970");
  // Years up to 9999 fit: 253402300799 s * 1e9 < 2^64.
  return static_cast<uint64_t>(seconds) * 1'000'000'000ull + fraction;
}

HttpResponseData HandleJaegerV3Query(const SpanStore& store, const HttpRequestView& request) {
  auto [path, query] = SplitTarget(request.target);
  enum class Route { kNone, kGetTrace, kFindTraces, kServices, kOperations } route = Route::kNone;
  std::string_view argument;
  constexpr std::string_view kTraces = "/api/v3/traces";
  if (path == kTraces) {
    route = Route::kFindTraces;
  } else if (path == "/api/v3/services") {
    route = Route::kServices;
  } else if (path == "/api/v3/operations") {
    route = Route::kOperations;
  } else if (path.starts_with(kTraces) && path.size() > kTraces.size() + 1 &&
             path[kTraces.size()] == '/' &&
             path.find('/', kTraces.size() + 1) == std::string_view::npos) {
    route = Route::kGetTrace;
    argument = path.substr(kTraces.size() + 1);
  }
  if (route == Route::kNone) return V3Error(404, "404 page not found");
  if (request.method != "GET") return V3Error(405, "method not allowed");

  switch (route) {
    case Route::kGetTrace:
      return GetTrace(store, argument);
    case Route::kFindTraces:
      return FindTraces(store, query);
    case Route::kServices: {
      ordered_json body;
      body["services"] = store.Services();
      return Json(200, DumpJson(body));
    }
    case Route::kOperations: {
      auto params = ParseQueryString(query);
      if (!params) return V3Error(400, params.error().message);
      ordered_json operations = ordered_json::array();
      for (const auto& name : store.Operations(FirstParam(*params, "service").value_or(""))) {
        ordered_json op;
        op["name"] = name;
        operations.push_back(std::move(op));
      }
      ordered_json body;
      body["operations"] = std::move(operations);
      return Json(200, DumpJson(body));
    }
    case Route::kNone:
      break;
  }
  return V3Error(404, "404 page not found");
}

HttpResponseData HandleTracerigStats(const SpanStore& store,
                                     const std::vector<NamedIngestCounters>& receivers) {
  const StoreStats s = store.stats();
  ordered_json body;
  body["store"] = {{"spans_stored", s.spans_stored},     {"traces_stored", s.traces_stored},
                   {"spans_received", s.spans_received}, {"spans_evicted", s.spans_evicted},
                   {"traces_evicted", s.traces_evicted}, {"max_spans", store.max_spans()},
                   {"bytes_stored", s.bytes_stored},     {"max_bytes", store.max_bytes()},
                   {"evicted_through_unix_nano", s.evicted_through_unix_nano}};
  ordered_json per_receiver = ordered_json::object();
  uint64_t accepted = 0;
  for (const auto& r : receivers) {
    if (r.counters == nullptr) continue;
    const IngestCounters& c = *r.counters;
    accepted += Load(c.spans_accepted);
    per_receiver[std::string(r.receiver)] = {
        {"requests", Load(c.requests)},
        {"requests_rejected", Load(c.requests_rejected)},
        {"spans_accepted", Load(c.spans_accepted)},
        {"body_bytes_received", Load(c.body_bytes_received)},
        {"rejected",
         {{"not_found", Load(c.rejected_not_found)},
          {"method", Load(c.rejected_method)},
          {"unsupported_media", Load(c.rejected_unsupported_media)},
          {"too_large", Load(c.rejected_too_large)},
          {"bad_data", Load(c.rejected_bad_data)}}}};
  }
  body["receivers"] = std::move(per_receiver);
  body["spans_accepted"] = accepted;
  return Json(200, DumpJson(body));
}

// ---------------------------------------------------------------------------------------------
// /api/tracerig/traces: OTLP protobuf written straight from the spans. EncodeOtlpProtobuf builds
// libprotobuf messages first, which made it most of this endpoint's cost (perf on verifier_bench);
// this writes the same fields (proto3 defaults left out, as libprotobuf does) and keeps the spans
// in the store's order: one ResourceSpans per run of spans with the same resource.

namespace {

template <class... Fs>
struct Overloaded : Fs... {
  using Fs::operator()...;
};
template <class... Fs>
Overloaded(Fs...) -> Overloaded<Fs...>;

enum WireType : uint32_t { kVarint = 0, kFixed64 = 1, kLen = 2, kFixed32 = 5 };

void PutVarint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

void PutTag(std::string& out, uint32_t field, WireType type) { PutVarint(out, field << 3 | type); }

void PutBytes(std::string& out, uint32_t field, std::string_view bytes) {
  PutTag(out, field, kLen);
  PutVarint(out, bytes.size());
  out.append(bytes);
}

// Protobuf strings must be UTF-8 (the decoder checks, as libprotobuf does): invalid bytes become
// U+FFFD, as EncodeOtlpProtobuf does.
void PutText(std::string& out, uint32_t field, std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    const size_t len =
        static_cast<unsigned char>(text[i]) < 0x80 ? 1 : Utf8SequenceLength(text, i);
    if (len == 0) break;
    i += len;
  }
  if (i == text.size()) {
    PutBytes(out, field, text);
    return;
  }
  std::string fixed;
  for (i = 0; i < text.size();) {
    const size_t len =
        static_cast<unsigned char>(text[i]) < 0x80 ? 1 : Utf8SequenceLength(text, i);
    if (len == 0) {
      fixed.append(kReplacementCharacter);
      ++i;
    } else {
      fixed.append(text.substr(i, len));
      i += len;
    }
  }
  PutBytes(out, field, fixed);
}

void PutFixed64(std::string& out, uint32_t field, uint64_t v) {
  PutTag(out, field, kFixed64);
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>(v >> (8 * i)));
}

void PutFixed32(std::string& out, uint32_t field, uint32_t v) {
  PutTag(out, field, kFixed32);
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>(v >> (8 * i)));
}

template <size_t N>
std::string_view AsBytes(const std::array<uint8_t, N>& bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), N};
}

// Reusable buffers for the nested messages (appended to their parent with their length).
struct ProtoScratch {
  std::string span;
  std::string nested;  // a KeyValue, Event or Status
  std::string value;   // an AnyValue
  std::string spans;   // the ScopeSpans of the current resource run
};

// KeyValue { string key = 1; AnyValue value = 2 } as field `field` of `out`.
void PutAttribute(std::string& out, uint32_t field, std::string_view key,
                  const AttributeValue& value, ProtoScratch& scratch) {
  std::string& any = scratch.value;
  any.clear();
  std::visit(Overloaded{[&](const std::string& text) { PutText(any, 1, text); },
                        [&](bool b) {
                          PutTag(any, 2, kVarint);
                          PutVarint(any, b ? 1 : 0);
                        },
                        [&](int64_t i) {
                          PutTag(any, 3, kVarint);
                          PutVarint(any, static_cast<uint64_t>(i));
                        },
                        [&](double d) { PutFixed64(any, 4, std::bit_cast<uint64_t>(d)); }},
             value);
  std::string kv;  // small: within the string's inline buffer for most keys
  PutText(kv, 1, key);
  PutBytes(kv, 2, any);
  PutBytes(out, field, kv);
}

void PutSpan(std::string& out, const Span& span, ProtoScratch& scratch) {
  std::string& s = scratch.span;
  s.clear();
  PutBytes(s, 1, AsBytes(span.trace_id.ToBytes()));
  PutBytes(s, 2, AsBytes(span.span_id.ToBytes()));
  if (!span.trace_state.empty()) PutText(s, 3, span.trace_state);
  if (span.parent_span_id.IsValid()) PutBytes(s, 4, AsBytes(span.parent_span_id.ToBytes()));
  if (!span.name.empty()) PutText(s, 5, span.name);
  if (span.kind != SpanKind::kUnspecified) {
    PutTag(s, 6, kVarint);
    PutVarint(s, static_cast<uint64_t>(span.kind));
  }
  if (span.start_unix_nano != 0) PutFixed64(s, 7, span.start_unix_nano);
  if (span.end_unix_nano != 0) PutFixed64(s, 8, span.end_unix_nano);
  for (const Attribute& a : span.attributes) PutAttribute(s, 9, a.key, a.value, scratch);
  for (const SpanEvent& event : span.events) {
    std::string e;
    if (event.time_unix_nano != 0) PutFixed64(e, 1, event.time_unix_nano);
    if (!event.name.empty()) PutText(e, 2, event.name);
    for (const Attribute& a : event.attributes) PutAttribute(e, 3, a.key, a.value, scratch);
    PutBytes(s, 11, e);
  }
  for (const SpanLink& link : span.links) {
    // Span.Link { trace_id = 1; span_id = 2; trace_state = 3; attributes = 4; flags = 6 }
    std::string l;
    PutBytes(l, 1, AsBytes(link.trace_id.ToBytes()));
    PutBytes(l, 2, AsBytes(link.span_id.ToBytes()));
    if (!link.trace_state.empty()) PutText(l, 3, link.trace_state);
    for (const Attribute& a : link.attributes) PutAttribute(l, 4, a.key, a.value, scratch);
    if (link.flags != 0) PutFixed32(l, 6, link.flags);
    PutBytes(s, 13, l);
  }
  if (span.status_code != StatusCode::kUnset || !span.status_message.empty()) {
    std::string& status = scratch.nested;
    status.clear();
    if (!span.status_message.empty()) PutText(status, 2, span.status_message);
    if (span.status_code != StatusCode::kUnset) {
      PutTag(status, 3, kVarint);
      PutVarint(status, static_cast<uint64_t>(span.status_code));
    }
    PutBytes(s, 15, status);
  }
  if (span.flags != 0) PutFixed32(s, 16, span.flags);
  PutBytes(out, 2, s);  // ScopeSpans.spans
}

// ResourceSpans { Resource resource = 1; ScopeSpans scope_spans = 2 } for a run of spans sharing
// `first`'s resource, whose encoded spans are in scratch.spans.
void PutResourceSpans(std::string& out, const Span& first, ProtoScratch& scratch) {
  std::string resource;
  PutAttribute(resource, 1, "service.name", first.service_name, scratch);
  for (const Attribute& a : first.resource_attributes) {
    PutAttribute(resource, 1, a.key, a.value, scratch);
  }
  std::string scope;
  PutText(scope, 1, kOtlpScopeName);
  std::string scope_spans;
  scope_spans.reserve(scope.size() + scratch.spans.size() + 8);
  PutBytes(scope_spans, 1, scope);
  scope_spans.append(scratch.spans);
  std::string resource_spans;
  resource_spans.reserve(resource.size() + scope_spans.size() + 16);
  PutBytes(resource_spans, 1, resource);
  PutBytes(resource_spans, 2, scope_spans);
  PutBytes(out, 1, resource_spans);  // ExportTraceServiceRequest.resource_spans
}

}  // namespace

std::string EncodeTracesProtobuf(const std::vector<Span>& spans) {
  std::string out;
  ProtoScratch scratch;
  const Span* run_first = nullptr;
  for (const Span& span : spans) {
    if (run_first != nullptr && (span.service_name != run_first->service_name ||
                                 span.resource_attributes != run_first->resource_attributes)) {
      PutResourceSpans(out, *run_first, scratch);
      scratch.spans.clear();
      run_first = nullptr;
    }
    if (run_first == nullptr) run_first = &span;
    PutSpan(scratch.spans, span, scratch);
  }
  if (run_first != nullptr) PutResourceSpans(out, *run_first, scratch);
  return out;
}

HttpResponseData HandleTracerigTraces(const SpanStore& store, const HttpRequestView& request) {
  auto text = [](unsigned status, std::string message) {
    return HttpResponseData{status, "text/plain; charset=utf-8", std::move(message)};
  };
  if (request.method != "GET") {
    return text(405, fmt::format("{} accepts GET, not \"{}\"", kTracesPath, request.method));
  }
  auto params = ParseQueryString(SplitTarget(request.target).second);
  if (!params) return text(400, params.error().message);
  std::vector<TraceId> ids;
  for (std::string_view list : AllParams(*params, "ids")) {
    for (size_t begin = 0; begin <= list.size();) {
      size_t end = list.find(',', begin);
      if (end == std::string_view::npos) end = list.size();
      const std::string_view item = list.substr(begin, end - begin);
      if (ids.size() == kMaxTracerigTraceIds) {
        return text(400, fmt::format("at most {} ids per request", kMaxTracerigTraceIds));
      }
      auto id = ParseJaegerTraceId(item);
      if (!id || item.empty()) {
        return text(400, fmt::format("ids[{}] \"{}\": {}", ids.size(), item,
                                     item.empty() ? "empty trace id" : id.error().message));
      }
      ids.push_back(*id);
      begin = end + 1;
    }
  }
  if (ids.empty()) {
    return text(400, "parameter 'ids' is required: trace ids in hex, separated by commas");
  }
  std::vector<Span> spans;
  std::unordered_set<TraceId, TraceIdHash> seen;  // an id listed twice is answered once
  for (TraceId id : ids) {
    if (!seen.insert(id).second) continue;
    if (auto trace = store.GetTrace(id)) {
      spans.insert(spans.end(), std::make_move_iterator(trace->spans.begin()),
                   std::make_move_iterator(trace->spans.end()));
    }
  }
  return HttpResponseData{200, "application/x-protobuf", EncodeTracesProtobuf(spans)};
}

HttpResponseData HandleQueryPort(const SpanStore& store,
                                 const std::vector<NamedIngestCounters>& receivers,
                                 const HttpRequestView& request) {
  const std::string_view path = SplitTarget(request.target).first;
  if (path.starts_with(kV3Prefix)) return HandleJaegerV3Query(store, request);
  if (path == kTracesPath) return HandleTracerigTraces(store, request);
  if (path == kStatsPath) {
    if (request.method != "GET") return Json(405, R"({"error":"method not allowed"})");
    return HandleTracerigStats(store, receivers);
  }
  return HandleJaegerQuery(store, request);
}

}  // namespace tracerig
