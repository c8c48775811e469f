#include "backend/zipkin_handlers.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "backend/ingest_body.h"
#include "backend/jaeger_json.h"
#include "backend/query_params.h"
#include "core/text.h"
#include "export/zipkin_codec.h"

namespace tracerig {
namespace {

constexpr std::string_view kSpansPath = "/api/v2/spans";
constexpr std::string_view kJsonType = "application/json";
constexpr std::string_view kTextType = "text/plain; charset=utf-8";
constexpr int64_t kDefaultSearchLimit = 10;  // Zipkin's default for /api/v2/traces
constexpr uint64_t kNanosPerMilli = 1'000'000;

HttpResponseData Text(unsigned status, std::string message) {
  return HttpResponseData{status, std::string(kTextType), std::move(message)};
}

// Zipkin echoes request values in plain double quotes, unescaped.
std::string QuotePlain(std::string_view s) { return fmt::format("\"{}\"", s); }

HttpResponseData JsonBody(std::string body) {
  return HttpResponseData{200, std::string(kJsonType), std::move(body)};
}

HttpResponseData Reject(IngestCounters& counters, std::atomic<uint64_t>& reason,
                        HttpResponseData response) {
  counters.requests_rejected.fetch_add(1, std::memory_order_relaxed);
  reason.fetch_add(1, std::memory_order_relaxed);
  return response;
}

// ---------------------------------------------------------------------------------------------
// Query parameters

// A whole non-negative decimal number, or an error naming the parameter and its unit.
Result<int64_t> ParseCount(std::string_view param, std::string_view text, std::string_view unit) {
  int64_t n = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (text.empty() || ec != std::errc() || ptr != text.data() + text.size() || n < 0) {
    return MakeError(
        fmt::format("{} must be a non-negative whole number{}, got \"{}\"", param, unit, text));
  }
  return n;
}

// The parameter as a number, nullopt when absent or empty.
Result<std::optional<int64_t>> OptionalCount(const QueryParams& params, std::string_view param,
                                             std::string_view unit) {
  std::string_view text = FirstParam(params, param).value_or("");
  if (text.empty()) return std::optional<int64_t>();
  auto n = ParseCount(param, text, unit);
  if (!n) return n.error();
  return std::optional<int64_t>(*n);
}

// [endTs - lookback, endTs] in nanoseconds since the epoch.
struct TimeWindow {
  uint64_t min_unix_nano = 0;
  uint64_t max_unix_nano = 0;
};

uint64_t MillisToNanos(int64_t millis) {
  const auto u = static_cast<uint64_t>(millis);
  if (u > UINT64_MAX / kNanosPerMilli) return UINT64_MAX;
  return u * kNanosPerMilli;
}

// endTs (defaults to now unless required) and lookback (defaults to one day), as Zipkin reads them.
Result<TimeWindow> ParseWindow(const QueryParams& params, uint64_t now_unix_nano,
                               bool end_required) {
  auto end = OptionalCount(params, "endTs", " of milliseconds since the epoch");
  if (!end) return end.error();
  if (!*end && end_required) return MakeError("endTs is required (milliseconds since the epoch)");
  if (*end && **end == 0) return MakeError("endTs must be greater than 0");
  auto lookback = OptionalCount(params, "lookback", " of milliseconds");
  if (!lookback) return lookback.error();
  if (*lookback && **lookback == 0) return MakeError("lookback must be greater than 0");
  TimeWindow window;
  window.max_unix_nano = *end ? MillisToNanos(**end) : now_unix_nano;
  const uint64_t span = MillisToNanos(lookback->value_or(kZipkinDefaultLookbackMs));
  window.min_unix_nano = window.max_unix_nano > span ? window.max_unix_nano - span : 0;
  return window;
}

struct ZipkinSearch {
  std::optional<std::string> service;  // lowercased, as every name compared below
  std::optional<std::string> remote_service;
  std::optional<std::string> span_name;
  std::map<std::string, std::string> annotation_query;  // key -> value ("" = any value)
  std::optional<uint64_t> min_duration_nano;
  std::optional<uint64_t> max_duration_nano;
  TimeWindow window;
  size_t limit = kDefaultSearchLimit;
};

std::optional<std::string> LowercaseParam(const QueryParams& params, std::string_view key) {
  std::string_view v = FirstParam(params, key).value_or("");
  if (v.empty()) return std::nullopt;
  return AsciiLowercase(v);
}

// "error and http.method=GET": terms joined by " and ", each a key or key=value.
std::map<std::string, std::string> ParseAnnotationQuery(std::string_view text) {
  std::map<std::string, std::string> terms;
  constexpr std::string_view kAnd = " and ";
  while (!text.empty()) {
    const size_t pos = text.find(kAnd);
    std::string_view term = TrimSpaceAndTab(text.substr(0, pos));
    text = pos == std::string_view::npos ? std::string_view() : text.substr(pos + kAnd.size());
    if (term.empty()) continue;
    const size_t eq = term.find('=');
    if (eq == std::string_view::npos) {
      terms[std::string(term)] = "";
    } else {
      terms[std::string(term.substr(0, eq))] = std::string(term.substr(eq + 1));
    }
  }
  return terms;
}

Result<ZipkinSearch> ParseSearch(const QueryParams& params, uint64_t now_unix_nano) {
  ZipkinSearch search;
  search.service = LowercaseParam(params, "serviceName");
  search.remote_service = LowercaseParam(params, "remoteServiceName");
  search.span_name = LowercaseParam(params, "spanName");
  if (search.span_name == "all") search.span_name.reset();  // the old UI's "any"
  search.annotation_query =
      ParseAnnotationQuery(FirstParam(params, "annotationQuery").value_or(""));
  auto min_duration = OptionalCount(params, "minDuration", " of microseconds");
  if (!min_duration) return min_duration.error();
  auto max_duration = OptionalCount(params, "maxDuration", " of microseconds");
  if (!max_duration) return max_duration.error();
  if (*max_duration && !*min_duration) {
    return MakeError("maxDuration is only valid with minDuration");
  }
  if (*max_duration && **max_duration < **min_duration) {
    return MakeError("maxDuration must be at least minDuration");
  }
  if (*min_duration) search.min_duration_nano = static_cast<uint64_t>(**min_duration) * 1000;
  if (*max_duration) search.max_duration_nano = static_cast<uint64_t>(**max_duration) * 1000;
  auto window = ParseWindow(params, now_unix_nano, /*end_required=*/false);
  if (!window) return window.error();
  search.window = *window;
  auto limit = OptionalCount(params, "limit", "");
  if (!limit) return limit.error();
  if (*limit && **limit == 0) return MakeError("limit must be greater than 0");
  search.limit = static_cast<size_t>(limit->value_or(kDefaultSearchLimit));
  return search;
}

// ---------------------------------------------------------------------------------------------
// Matching, as Zipkin's QueryRequest.test

// The trace's timestamp: its first root span's start, else its earliest start (0: none known).
uint64_t TraceTimestamp(const std::vector<Span>& spans) {
  uint64_t earliest = 0;
  for (const Span& span : spans) {
    if (span.start_unix_nano == 0) continue;
    if (!span.parent_span_id.IsValid()) return span.start_unix_nano;
    if (earliest == 0 || span.start_unix_nano < earliest) earliest = span.start_unix_nano;
  }
  return earliest;
}

bool InWindow(const std::vector<Span>& spans, const TimeWindow& window) {
  const uint64_t timestamp = TraceTimestamp(spans);
  return timestamp != 0 && timestamp >= window.min_unix_nano && timestamp <= window.max_unix_nano;
}

// The tag the Zipkin encoding gives the span for `key`, if any.
std::optional<std::string> ZipkinTag(const Span& span, const std::string& key) {
  if (span.status_code != StatusCode::kUnset) {
    if (key == "otel.status_code") return std::string(StatusCodeName(span.status_code));
    if (key == "error") {
      if (span.status_code == StatusCode::kError) return span.status_message;
      return std::nullopt;
    }
  }
  for (const auto* attributes : {&span.attributes, &span.resource_attributes}) {
    for (const Attribute& a : *attributes) {
      if (a.key == key) return AttributeValueToString(a.value);
    }
  }
  return std::nullopt;
}

bool HasAnnotation(const Span& span, const std::string& value) {
  return std::any_of(span.events.begin(), span.events.end(),
                     [&](const SpanEvent& e) { return e.name == value; });
}

bool TraceMatches(const std::vector<Span>& spans, const ZipkinSearch& search) {
  if (!InWindow(spans, search.window)) return false;
  bool service_seen = !search.service.has_value();
  bool remote_seen = !search.remote_service.has_value();
  bool name_seen = !search.span_name.has_value();
  bool duration_seen = !search.min_duration_nano.has_value();
  std::map<std::string, std::string> remaining = search.annotation_query;
  for (const Span& span : spans) {
    if (search.service && AsciiLowercase(span.service_name) != *search.service) continue;
    service_seen = true;
    if (!remote_seen) {
      const AttributeValue* peer = span.FindAttribute("peer.service");
      remote_seen = peer != nullptr &&
                    AsciiLowercase(AttributeValueToString(*peer)) == *search.remote_service;
    }
    if (!name_seen) name_seen = AsciiLowercase(span.name) == *search.span_name;
    for (auto it = remaining.begin(); it != remaining.end();) {
      auto tag = ZipkinTag(span, it->first);
      const bool matched = it->second.empty() ? tag.has_value() || HasAnnotation(span, it->first)
                                              : tag == it->second;
      it = matched ? remaining.erase(it) : std::next(it);
    }
    if (!duration_seen) {
      const uint64_t duration =
          span.end_unix_nano > span.start_unix_nano ? span.end_unix_nano - span.start_unix_nano : 0;
      duration_seen = duration >= *search.min_duration_nano &&
                      (!search.max_duration_nano || duration <= *search.max_duration_nano);
    }
  }
  return service_seen && remote_seen && name_seen && duration_seen && remaining.empty();
}

// ---------------------------------------------------------------------------------------------
// Routes

HttpResponseData GetTrace(const SpanStore& store, std::string_view raw_id) {
  auto id_text = PercentDecode(raw_id, false);
  if (!id_text) return Text(400, id_text.error().message);
  auto id = TraceId::FromHex(*id_text);
  if (!id) {
    return Text(400, fmt::format("traceId should be 1 to 32 hex characters, got \"{}\"", *id_text));
  }
  auto trace = store.GetTrace(*id);
  if (!trace) return Text(404, fmt::format("{} not found", *id_text));
  return JsonBody(EncodeZipkinJson(trace->spans, ZipkinJsonStyle::kServer));
}

HttpResponseData SearchTraces(const SpanStore& store, const QueryParams& params,
                              uint64_t now_unix_nano) {
  auto search = ParseSearch(params, now_unix_nano);
  if (!search) return Text(400, search.error().message);
  std::vector<std::pair<uint64_t, TraceId>> found;  // (timestamp, id)
  store.VisitTraces([&](TraceId id, const std::vector<Span>& spans) {
    if (TraceMatches(spans, *search)) found.emplace_back(TraceTimestamp(spans), id);
    return true;
  });
  std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first > b.first : a.second > b.second;
  });
  if (found.size() > search->limit) found.resize(search->limit);
  std::string body = "[";
  for (const auto& [timestamp, id] : found) {
    // A trace evicted since the search is simply left out.
    auto trace = store.GetTrace(id);
    if (!trace) continue;
    if (body.size() > 1) body += ',';
    body += EncodeZipkinJson(trace->spans, ZipkinJsonStyle::kServer);
  }
  body += ']';
  return JsonBody(std::move(body));
}

std::string JsonStringArray(const std::set<std::string>& names) {
  nlohmann::ordered_json array = nlohmann::ordered_json::array();
  for (const auto& name : names) array.push_back(name);
  return DumpJson(array);
}

HttpResponseData Services(const SpanStore& store) {
  std::set<std::string> names;
  for (const auto& service : store.Services()) {
    if (!service.empty()) names.insert(AsciiLowercase(service));
  }
  return JsonBody(JsonStringArray(names));
}

HttpResponseData SpanNames(const SpanStore& store, const QueryParams& params) {
  auto service = LowercaseParam(params, "serviceName");
  if (!service) return Text(400, "serviceName is required");
  std::set<std::string> names;
  for (const auto& stored : store.Services()) {
    if (AsciiLowercase(stored) != *service) continue;
    for (const auto& name : store.Operations(stored)) {
      if (!name.empty()) names.insert(AsciiLowercase(name));
    }
  }
  return JsonBody(JsonStringArray(names));
}

HttpResponseData Dependencies(const SpanStore& store, const QueryParams& params,
                              uint64_t now_unix_nano) {
  auto window = ParseWindow(params, now_unix_nano, /*end_required=*/true);
  if (!window) return Text(400, window.error().message);
  struct Counts {
    uint64_t calls = 0;
    uint64_t errors = 0;
  };
  std::map<std::pair<std::string, std::string>, Counts> links;
  store.VisitTraces([&](TraceId, const std::vector<Span>& spans) {
    if (!InWindow(spans, *window)) return true;
    // Children of a shared id belong to its SERVER half, so it wins over the CLIENT half.
    std::unordered_map<uint64_t, const Span*> by_id;
    for (const Span& span : spans) {
      auto [it, inserted] = by_id.emplace(span.span_id.value, &span);
      if (!inserted && span.kind == SpanKind::kServer) it->second = &span;
    }
    for (const Span& span : spans) {
      if (!span.parent_span_id.IsValid()) continue;
      auto parent = by_id.find(span.parent_span_id.value);
      if (parent == by_id.end() || parent->second == &span) continue;
      std::string from = AsciiLowercase(parent->second->service_name);
      std::string to = AsciiLowercase(span.service_name);
      if (from.empty() || to.empty() || from == to) continue;
      Counts& counts = links[{std::move(from), std::move(to)}];
      ++counts.calls;
      if (span.status_code == StatusCode::kError) ++counts.errors;
    }
    return true;
  });
  nlohmann::ordered_json array = nlohmann::ordered_json::array();
  for (const auto& [services, counts] : links) {
    nlohmann::ordered_json link;
    link["parent"] = services.first;
    link["child"] = services.second;
    link["callCount"] = counts.calls;
    if (counts.errors > 0) link["errorCount"] = counts.errors;  // Zipkin omits zero
    array.push_back(std::move(link));
  }
  return JsonBody(DumpJson(array));
}

}  // namespace

HttpResponseData HandleZipkinIngest(SpanStore& store, IngestCounters& counters,
                                    const HttpRequestView& request, const IngestLimits& limits,
                                    uint64_t now_unix_nano) {
  counters.requests.fetch_add(1, std::memory_order_relaxed);
  counters.body_bytes_received.fetch_add(request.body.size(), std::memory_order_relaxed);

  auto [path, query] = SplitTarget(request.target);
  if (path != kSpansPath) {
    return Reject(
        counters, counters.rejected_not_found,
        Text(404, fmt::format("no Zipkin endpoint at \"{}\"; spans go to {}", path, kSpansPath)));
  }
  if (request.method != "POST") {
    return Reject(
        counters, counters.rejected_method,
        Text(405, fmt::format("{} accepts POST, not \"{}\"", kSpansPath, request.method)));
  }
  const std::string media_type = AsciiLowercase(
      TrimSpaceAndTab(request.content_type.substr(0, request.content_type.find(';'))));
  if (media_type != kJsonType) {
    return Reject(counters, counters.rejected_unsupported_media,
                  Text(415, media_type == "application/x-protobuf"
                                ? std::string("Zipkin's protobuf encoding is not supported; send "
                                              "Zipkin v2 JSON as application/json")
                                : fmt::format("unsupported content type \"{}\"; use {}",
                                              request.content_type, kJsonType)));
  }
  std::string inflated;
  const IngestBody body = ReadIngestBody(request, limits, QuotePlain, counters, inflated);
  if (body.rejected) return Text(body.rejected->http_status, body.rejected->error.message);
  auto spans = DecodeZipkinJson(body.bytes);
  if (!spans) {
    return Reject(counters, counters.rejected_bad_data,
                  Text(400, "cannot decode Zipkin v2 JSON: " + spans.error().message));
  }
  const size_t count = spans->size();
  store.Add(std::move(*spans), now_unix_nano);
  counters.spans_accepted.fetch_add(count, std::memory_order_relaxed);
  return HttpResponseData{202, "", ""};
}

HttpResponseData HandleZipkinQuery(const SpanStore& store, const HttpRequestView& request,
                                   uint64_t now_unix_nano) {
  auto [path, raw_query] = SplitTarget(request.target);
  constexpr std::string_view kTracePrefix = "/api/v2/trace/";
  enum class Route { kNone, kTrace, kTraces, kServices, kSpans, kDependencies } route;
  if (path.starts_with(kTracePrefix) && path.size() > kTracePrefix.size() &&
      path.find('/', kTracePrefix.size()) == std::string_view::npos) {
    route = Route::kTrace;
  } else if (path == "/api/v2/traces") {
    route = Route::kTraces;
  } else if (path == "/api/v2/services") {
    route = Route::kServices;
  } else if (path == kSpansPath) {
    route = Route::kSpans;
  } else if (path == "/api/v2/dependencies") {
    route = Route::kDependencies;
  } else {
    return Text(404, fmt::format("no Zipkin query endpoint at \"{}\"", path));
  }
  if (request.method != "GET") {
    return Text(405, fmt::format("{} accepts GET, not \"{}\"", path, request.method));
  }
  auto params = ParseQueryString(raw_query);
  if (!params) return Text(400, params.error().message);
  switch (route) {
    case Route::kTrace:
      return GetTrace(store, path.substr(kTracePrefix.size()));
    case Route::kTraces:
      return SearchTraces(store, *params, now_unix_nano);
    case Route::kServices:
      return Services(store);
    case Route::kSpans:
      return SpanNames(store, *params);
    case Route::kDependencies:
      return Dependencies(store, *params, now_unix_nano);
    case Route::kNone:
      break;
  }
  return Text(404, fmt::format("no Zipkin query endpoint at \"{}\"", path));
}

}  // namespace tracerig
