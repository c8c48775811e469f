#include "backend/handlers.h"

#include <fmt/format.h>

#include <charconv>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "backend/ingest_body.h"
#include "backend/jaeger_json.h"
#include "backend/query_params.h"
#include "core/text.h"
#include "core/units.h"
#include "export/gzip.h"
#include "export/otlp_codec.h"

namespace tracerig {
namespace {

using ordered_json = nlohmann::ordered_json;

constexpr std::string_view kProtobufType = "application/x-protobuf";
constexpr std::string_view kJsonType = "application/json";

// google.rpc.Code values used in error bodies.
constexpr int kRpcInvalidArgument = 3;
constexpr int kRpcResourceExhausted = 8;

// ---------------------------------------------------------------------------------------------
// Shared helpers

// Escapes like Go's %q for the printable ASCII we echo back in error messages.
std::string Quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

// ---------------------------------------------------------------------------------------------
// OTLP/HTTP ingest

enum class BodyEncoding { kProtobuf, kJson };

void AppendVarint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

// google.rpc.Status { int32 code = 1; string message = 2; } in the request's encoding, which is
// what OTLP/HTTP receivers answer errors with.
HttpResponseData RpcStatusResponse(unsigned http_status, BodyEncoding encoding, int code,
                                   std::string_view message) {
  HttpResponseData response;
  response.status = http_status;
  if (encoding == BodyEncoding::kJson) {
    ordered_json status;
    status["code"] = code;
    status["message"] = message;
    response.content_type = std::string(kJsonType);
    response.body = DumpJson(status);
  } else {
    response.content_type = std::string(kProtobufType);
    response.body.push_back(0x08);  // field 1, varint
    AppendVarint(response.body, static_cast<uint64_t>(code));
    response.body.push_back(0x12);  // field 2, length-delimited
    AppendVarint(response.body, message.size());
    response.body.append(message);
  }
  return response;
}

HttpResponseData TextResponse(unsigned status, std::string message) {
  return HttpResponseData{status, "text/plain; charset=utf-8", std::move(message)};
}

HttpResponseData Reject(IngestCounters& counters, std::atomic<uint64_t>& reason,
                        HttpResponseData response) {
  counters.requests_rejected.fetch_add(1, std::memory_order_relaxed);
  reason.fetch_add(1, std::memory_order_relaxed);
  return response;
}

// ---------------------------------------------------------------------------------------------
// Jaeger query

// Jaeger answers search requests without `limit` with up to 100 traces.
constexpr int64_t kJaegerDefaultSearchLimit = 100;

HttpResponseData JaegerJson(unsigned status, std::string body) {
  return HttpResponseData{status, std::string(kJsonType), std::move(body)};
}

HttpResponseData JaegerError(unsigned status, std::string_view message) {
  return JaegerJson(status, JaegerErrorResponse(static_cast<int>(status), message));
}

// Go's strconv.ParseInt(s, 10, bits), with its error text.
Result<int64_t> ParseGoInt(std::string_view s, int bits) {
  std::string_view digits = s;
  bool negative = false;
  if (!digits.empty() && (digits.front() == '+' || digits.front() == '-')) {
    negative = digits.front() == '-';
    digits.remove_prefix(1);
  }
  uint64_t magnitude = 0;
  auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), magnitude);
  if (digits.empty() || ptr != digits.data() + digits.size() ||
      (ec != std::errc() && ec != std::errc::result_out_of_range)) {
    return MakeError(fmt::format("strconv.ParseInt: parsing {}: invalid syntax", Quote(s)));
  }
  const uint64_t max = (uint64_t{1} << (bits - 1)) - 1;
  if (ec == std::errc::result_out_of_range || magnitude > max + (negative ? 1 : 0)) {
    return MakeError(fmt::format("strconv.ParseInt: parsing {}: value out of range", Quote(s)));
  }
  if (negative) return static_cast<int64_t>(0 - magnitude);
  return static_cast<int64_t>(magnitude);
}

// Microseconds since the epoch (Jaeger's start/end) to nanoseconds, clamped to uint64.
uint64_t MicrosToNanos(int64_t micros) {
  if (micros <= 0) return 0;
  const auto u = static_cast<uint64_t>(micros);
  if (u > std::numeric_limits<uint64_t>::max() / 1000) return std::numeric_limits<uint64_t>::max();
  return u * 1000;
}

Result<std::map<std::string, std::string>> ParseTags(const QueryParams& params) {
  std::map<std::string, std::string> tags;
  for (std::string_view tag : AllParams(params, "tag")) {
    const size_t colon = tag.find(':');
    if (colon == std::string_view::npos) {
      return MakeError(
          fmt::format("malformed 'tag' parameter, expecting key:value, received: {}", tag));
    }
    tags[std::string(tag.substr(0, colon))] = std::string(tag.substr(colon + 1));
  }
  for (std::string_view text : AllParams(params, "tags")) {
    auto json = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (json.is_discarded()) {
      return MakeError(fmt::format(
          "malformed 'tags' parameter, cannot unmarshal JSON: {} is not valid JSON", text));
    }
    if (!json.is_object()) {
      return MakeError(fmt::format(
          "malformed 'tags' parameter, cannot unmarshal JSON: {} is not an object", text));
    }
    for (const auto& [key, value] : json.items()) {
      if (!value.is_string()) {
        return MakeError(fmt::format(
            "malformed 'tags' parameter, cannot unmarshal JSON: value of \"{}\" is not a string",
            key));
      }
      tags[key] = value.get<std::string>();
    }
  }
  return tags;
}

// Jaeger's parseTraceQueryParams: the same checks in the same order, the same messages. The
// traceID parameters go to `trace_ids` (with them, Jaeger needs no service).
Result<TraceQuery> ParseSearch(const QueryParams& params, std::vector<TraceId>& trace_ids) {
  TraceQuery query;
  query.service = std::string(FirstParam(params, "service").value_or(""));
  query.operation = std::string(FirstParam(params, "operation").value_or(""));
  for (auto [name, field] : {std::pair{"start", &query.start_min_unix_nano},
                             std::pair{"end", &query.start_max_unix_nano}}) {
    std::string_view text = FirstParam(params, name).value_or("");
    if (text.empty()) continue;
    auto micros = ParseGoInt(text, 64);
    if (!micros) {
      return MakeError(fmt::format("unable to parse param '{}': {}", name, micros.error().message));
    }
    *field = MicrosToNanos(*micros);
  }
  auto tags = ParseTags(params);
  if (!tags) return tags.error();
  query.tags = std::move(*tags);

  int64_t limit = kJaegerDefaultSearchLimit;
  if (std::string_view text = FirstParam(params, "limit").value_or(""); !text.empty()) {
    auto parsed = ParseGoInt(text, 32);
    if (!parsed) return parsed.error();
    limit = *parsed;
  }
  query.limit = limit > 0 ? static_cast<size_t>(limit) : 0;

  for (auto [name, field] : {std::pair{"minDuration", &query.min_duration_nano},
                             std::pair{"maxDuration", &query.max_duration_nano}}) {
    std::string_view text = FirstParam(params, name).value_or("");
    if (text.empty()) continue;
    auto nanos = ParseJaegerDuration(name, text);
    if (!nanos) return nanos.error();
    // Jaeger treats a zero duration as "not set".
    if (*nanos != 0) *field = *nanos;
  }

  for (std::string_view text : AllParams(params, "traceID")) {
    auto id = ParseJaegerTraceId(text);
    if (!id) return MakeError("cannot parse traceID param: " + id.error().message);
    trace_ids.push_back(*id);
  }

  if (query.service.empty() && trace_ids.empty()) {
    return MakeError("parameter 'service' is required");
  }
  if (query.min_duration_nano && query.max_duration_nano &&
      *query.max_duration_nano < *query.min_duration_nano) {
    return MakeError("'maxDuration' should be greater than 'minDuration'");
  }
  return query;
}

HttpResponseData HandleGetTrace(const SpanStore& store, std::string_view raw_id) {
  auto decoded = PercentDecode(raw_id, false);
  if (!decoded) return JaegerError(400, decoded.error().message);
  auto id = ParseJaegerTraceId(*decoded);
  if (!id) return JaegerError(400, id.error().message);
  auto trace = store.GetTrace(*id);
  if (!trace) return JaegerError(404, "trace not found");
  ordered_json data = ordered_json::array({EncodeJaegerTrace(trace->spans)});
  return JaegerJson(200, JaegerDataResponse(std::move(data), 0));
}

HttpResponseData HandleSearch(const SpanStore& store, std::string_view raw_query) {
  auto params = ParseQueryString(raw_query);
  if (!params) return JaegerError(400, params.error().message);
  std::vector<TraceId> trace_ids;
  auto query = ParseSearch(*params, trace_ids);
  if (!query) return JaegerError(400, query.error().message);
  ordered_json data = ordered_json::array();
  if (!trace_ids.empty()) {
    // Jaeger's tracesByIDs: exactly the traces asked for, in that order, the other filters
    // ignored; each unknown id is an "errors" entry, not a failure.
    ordered_json errors = ordered_json::array();
    for (const TraceId& id : trace_ids) {
      if (auto trace = store.GetTrace(id)) {
        data.push_back(EncodeJaegerTrace(trace->spans));
      } else {
        errors.push_back(JaegerTraceNotFoundError(id));
      }
    }
    return JaegerJson(200, JaegerDataResponse(std::move(data), 0, std::move(errors)));
  }
  for (const TraceId& id : store.Search(*query)) {
    // A trace evicted between Search and GetTrace is simply left out.
    if (auto trace = store.GetTrace(id)) data.push_back(EncodeJaegerTrace(trace->spans));
  }
  // Jaeger's search responses carry total 0, whatever they hold.
  return JaegerJson(200, JaegerDataResponse(std::move(data), 0));
}

HttpResponseData NameListResponse(const std::vector<std::string>& names) {
  ordered_json data = ordered_json::array();
  for (const auto& name : names) data.push_back(name);
  return JaegerJson(200, JaegerDataResponse(std::move(data), names.size()));
}

}  // namespace

Result<TraceId> ParseJaegerTraceId(std::string_view s) {
  if (s.size() > 32) {
    return MakeError(fmt::format("TraceID cannot be longer than 32 hex characters: {}", s));
  }
  const size_t split = s.size() > 16 ? s.size() - 16 : 0;
  auto parse = [](std::string_view part) -> Result<uint64_t> {
    auto v = ParseHex64(part);
    if (!v) {
      return MakeError(fmt::format("strconv.ParseUint: parsing {}: invalid syntax", Quote(part)));
    }
    return *v;
  };
  TraceId id;
  if (split > 0) {
    auto high = parse(s.substr(0, split));
    if (!high) return high.error();
    id.high = *high;
  }
  auto low = parse(s.substr(split));
  if (!low) return low.error();
  id.low = *low;
  return id;
}

Result<uint64_t> ParseJaegerDuration(std::string_view param, std::string_view s) {
  if (s == "0") return uint64_t{0};
  if (auto nanos = ParseDuration(s)) return *nanos;
  return MakeError(
      fmt::format("unable to parse param '{}': time: invalid duration {}", param, Quote(s)));
}

IngestTotals IngestTotals::Of(const IngestCounters& c) {
  auto load = [](const std::atomic<uint64_t>& v) { return v.load(std::memory_order_relaxed); };
  return IngestTotals{load(c.requests),           load(c.requests_rejected),
                      load(c.spans_accepted),     load(c.body_bytes_received),
                      load(c.rejected_not_found), load(c.rejected_method),
                      load(c.rejected_unsupported_media), load(c.rejected_too_large),
                      load(c.rejected_bad_data)};
}

IngestTotals& IngestTotals::operator+=(const IngestTotals& o) {
  requests += o.requests;
  requests_rejected += o.requests_rejected;
  spans_accepted += o.spans_accepted;
  body_bytes_received += o.body_bytes_received;
  rejected_not_found += o.rejected_not_found;
  rejected_method += o.rejected_method;
  rejected_unsupported_media += o.rejected_unsupported_media;
  rejected_too_large += o.rejected_too_large;
  rejected_bad_data += o.rejected_bad_data;
  return *this;
}

HttpResponseData HandleOtlpHttpIngest(SpanStore& store, IngestCounters& counters,
                                      const HttpRequestView& request, const IngestLimits& limits,
                                      uint64_t now_unix_nano) {
  counters.requests.fetch_add(1, std::memory_order_relaxed);
  counters.body_bytes_received.fetch_add(request.body.size(), std::memory_order_relaxed);

  auto [path, query] = SplitTarget(request.target);
  if (path != "/v1/traces") {
    return Reject(counters, counters.rejected_not_found,
                  TextResponse(404, fmt::format("no OTLP endpoint at {}; traces go to /v1/traces",
                                                Quote(path))));
  }
  if (request.method != "POST") {
    return Reject(
        counters, counters.rejected_method,
        TextResponse(405, fmt::format("/v1/traces accepts POST, not {}", Quote(request.method))));
  }

  const std::string media_type = AsciiLowercase(
      TrimSpaceAndTab(request.content_type.substr(0, request.content_type.find(';'))));
  BodyEncoding encoding;
  if (media_type == kProtobufType) {
    encoding = BodyEncoding::kProtobuf;
  } else if (media_type == kJsonType) {
    encoding = BodyEncoding::kJson;
  } else {
    return Reject(
        counters, counters.rejected_unsupported_media,
        TextResponse(415, fmt::format("unsupported content type {}; use {} or {}",
                                      Quote(request.content_type), kProtobufType, kJsonType)));
  }

  std::string inflated;
  const IngestBody body = ReadIngestBody(request, limits, Quote, counters, inflated);
  if (body.rejected) {
    const BodyRejection& r = *body.rejected;
    if (r.http_status == 415) return TextResponse(415, r.error.message);
    return RpcStatusResponse(
        r.http_status, encoding,
        r.error.code == ErrorCode::kResourceExhausted ? kRpcResourceExhausted : kRpcInvalidArgument,
        r.error.message);
  }

  auto spans = encoding == BodyEncoding::kProtobuf ? DecodeOtlpProtobuf(body.bytes)
                                                   : DecodeOtlpJson(body.bytes);
  if (!spans) {
    return Reject(
        counters, counters.rejected_bad_data,
        RpcStatusResponse(400, encoding, kRpcInvalidArgument,
                          (encoding == BodyEncoding::kProtobuf ? "cannot decode OTLP protobuf: "
                                                               : "cannot decode OTLP JSON: ") +
                              spans.error().message));
  }

  const size_t count = spans->size();
  store.Add(std::move(*spans), now_unix_nano);
  counters.spans_accepted.fetch_add(count, std::memory_order_relaxed);
  if (encoding == BodyEncoding::kJson) return HttpResponseData{200, std::string(kJsonType), "{}"};
  // An empty ExportTraceServiceResponse encodes as zero bytes.
  return HttpResponseData{200, std::string(kProtobufType), ""};
}

HttpResponseData HandleJaegerQuery(const SpanStore& store, const HttpRequestView& request) {
  auto [path, query] = SplitTarget(request.target);
  constexpr std::string_view kTraces = "/api/traces";
  constexpr std::string_view kServices = "/api/services";
  constexpr std::string_view kOperations = "/operations";

  enum class Route { kNone, kGetTrace, kSearch, kServices, kOperations } route = Route::kNone;
  std::string_view argument;
  if (path == kTraces) {
    route = Route::kSearch;
  } else if (path == kServices) {
    route = Route::kServices;
  } else if (path.starts_with(kTraces) && path.size() > kTraces.size() + 1 &&
             path[kTraces.size()] == '/' &&
             path.find('/', kTraces.size() + 1) == std::string_view::npos) {
    route = Route::kGetTrace;
    argument = path.substr(kTraces.size() + 1);
  } else if (path.starts_with(kServices) && path.ends_with(kOperations) &&
             path.size() > kServices.size() + 1 + kOperations.size() &&
             path[kServices.size()] == '/') {
    argument =
        path.substr(kServices.size() + 1, path.size() - kServices.size() - 1 - kOperations.size());
    if (argument.find('/') == std::string_view::npos) route = Route::kOperations;
  }

  if (route == Route::kNone) return JaegerError(404, "404 page not found");
  if (request.method != "GET") return JaegerError(405, "method not allowed");

  switch (route) {
    case Route::kGetTrace:
      return HandleGetTrace(store, argument);
    case Route::kSearch:
      return HandleSearch(store, query);
    case Route::kServices:
      return NameListResponse(store.Services());
    case Route::kOperations: {
      // Jaeger unescapes the service with url.QueryUnescape, so '+' is a space here too.
      auto service = PercentDecode(argument, true);
      if (!service) return JaegerError(400, service.error().message);
      return NameListResponse(store.Operations(*service));
    }
    case Route::kNone:
      break;
  }
  return JaegerError(404, "404 page not found");
}

}  // namespace tracerig
