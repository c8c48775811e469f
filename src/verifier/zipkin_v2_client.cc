#include "verifier/zipkin_v2_client.h"

#include <fmt/format.h>

#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <utility>

#include "export/zipkin_codec.h"
#include "verifier/client_util.h"
#include "verifier/jaeger_v1_client.h"

namespace tracerig {
namespace {

// Traces per search: tracerig searches one request id, which is at most a few fragments.
constexpr int kSearchLimit = 100;
constexpr uint64_t kMicrosPerMilli = 1000;

struct TraceSpanKey {
  TraceId trace;
  uint64_t span = 0;
  auto operator<=>(const TraceSpanKey&) const = default;
};

// Zipkin prints a 128-bit id whose high half is zero as 16 hex digits and, depending on its
// strict-trace-id setting, may not find it under 32; the 16-digit form is found either way.
std::string ZipkinTraceIdHex(TraceId id) {
  std::string hex = id.ToHex();
  return id.high == 0 ? hex.substr(16) : hex;
}

class ZipkinV2Client final : public BackendClient {
 public:
  ZipkinV2Client(std::unique_ptr<HttpFetcher> fetcher, std::string base_description)
      : fetcher_(std::move(fetcher)), describe_("zipkin v2 at " + std::move(base_description)) {}

  std::string Describe() const override { return describe_; }
  // Zipkin v2's span model has no links (nor anything that stands for them), so its API can never
  // answer the links a batch consumer recorded: the verifier must not count them as missing.
  bool SupportsLinks() const override { return false; }

  Result<std::optional<std::vector<Span>>> GetTrace(TraceId id) override {
    const std::string target = "/api/v2/trace/" + ZipkinTraceIdHex(id);
    auto response = FetchFrom(*fetcher_, describe_, target);
    if (!response) return response.error();
    if (response->status == 404) {
      if (IsMissingEndpoint(*response)) {
        return MissingEndpoint(describe_, target, *response,
                               "no Zipkin v2 query API there (is it Zipkin, port 9411?)");
      }
      return std::optional<std::vector<Span>>{};  // Zipkin: "<id> not found"
    }
    if (response->status != 200) return UnexpectedStatus(describe_, target, *response);
    auto spans = DecodeZipkinTrace(response->body);
    if (!spans) return MalformedAnswer(describe_, target, spans.error().message);
    if (spans->empty()) return std::optional<std::vector<Span>>{};
    return std::optional<std::vector<Span>>{std::move(*spans)};
  }

  Result<std::vector<Span>> FindSpans(std::string_view service, std::string_view key,
                                      std::string_view value, uint64_t start_unix_micros,
                                      uint64_t end_unix_micros) override {
    // endTs and lookback are milliseconds: round the window outwards so no span falls off an edge.
    const uint64_t end_ms = (end_unix_micros + kMicrosPerMilli - 1) / kMicrosPerMilli;
    const uint64_t start_ms = start_unix_micros / kMicrosPerMilli;
    const uint64_t lookback_ms = end_ms > start_ms ? end_ms - start_ms : 1;
    const std::string target = fmt::format(
        "/api/v2/traces?serviceName={}&annotationQuery={}&endTs={}&lookback={}&limit={}",
        PercentEncode(service), PercentEncode(fmt::format("{}={}", key, value)), end_ms,
        lookback_ms, kSearchLimit);
    auto response = FetchFrom(*fetcher_, describe_, target);
    if (!response) return response.error();
    if (response->status == 404 && IsMissingEndpoint(*response)) {
      return MissingEndpoint(describe_, target, *response,
                             "no Zipkin v2 query API there (is it Zipkin, port 9411?)");
    }
    if (response->status != 200) return UnexpectedStatus(describe_, target, *response);
    auto spans = DecodeZipkinTraces(response->body);
    if (!spans) return MalformedAnswer(describe_, target, spans.error().message);
    return KeepSpansWithAttribute(std::move(*spans), key, value);
  }

  Result<std::optional<std::vector<DependencyLink>>> GetDependencies(
      uint64_t start_unix_micros, uint64_t end_unix_micros) override {
    const DependencyWindowMs window = DependencyWindow(start_unix_micros, end_unix_micros);
    const std::string target =
        fmt::format("/api/v2/dependencies?endTs={}&lookback={}", window.end_ts, window.lookback);
    auto response = FetchFrom(*fetcher_, describe_, target);
    if (!response) return response.error();
    // A window query has no "not found": any 404 is a server without the endpoint.
    if (response->status == 404) return std::optional<std::vector<DependencyLink>>{};
    if (response->status != 200) return UnexpectedStatus(describe_, target, *response);
    auto links = DecodeZipkinDependencies(response->body);
    if (!links) return MalformedAnswer(describe_, target, links.error().message);
    return std::optional<std::vector<DependencyLink>>{std::move(*links)};
  }

 private:
  std::unique_ptr<HttpFetcher> fetcher_;
  std::string describe_;
};

}  // namespace

void NormaliseSharedSpans(std::vector<Span>& spans) {
  std::map<TraceSpanKey, size_t> clients;
  std::map<TraceId, std::set<uint64_t>> used_ids;
  for (size_t i = 0; i < spans.size(); ++i) {
    used_ids[spans[i].trace_id].insert(spans[i].span_id.value);
    if (spans[i].kind == SpanKind::kClient) {
      clients.emplace(TraceSpanKey{spans[i].trace_id, spans[i].span_id.value}, i);
    }
  }
  // Shared id -> the SERVER half's new id; and which spans were renamed.
  std::map<TraceSpanKey, uint64_t> renamed;
  std::vector<std::pair<size_t, uint64_t>> servers;  // index, shared id
  for (size_t i = 0; i < spans.size(); ++i) {
    Span& span = spans[i];
    const TraceSpanKey key{span.trace_id, span.span_id.value};
    if (span.kind != SpanKind::kServer || !clients.contains(key) || renamed.contains(key)) continue;
    std::set<uint64_t>& used = used_ids[span.trace_id];
    uint64_t fresh = *used.rbegin() + 1;
    while (fresh == 0 || used.contains(fresh)) ++fresh;
    used.insert(fresh);
    renamed.emplace(key, fresh);
    servers.emplace_back(i, span.span_id.value);
    span.span_id = SpanId{fresh};
  }
  if (renamed.empty()) return;
  std::set<size_t> server_indexes;
  for (const auto& [index, shared] : servers) server_indexes.insert(index);
  for (size_t i = 0; i < spans.size(); ++i) {
    if (server_indexes.contains(i)) continue;
    auto it = renamed.find(TraceSpanKey{spans[i].trace_id, spans[i].parent_span_id.value});
    if (it != renamed.end()) spans[i].parent_span_id = SpanId{it->second};
  }
  for (const auto& [index, shared] : servers) spans[index].parent_span_id = SpanId{shared};
}

Result<std::vector<Span>> DecodeZipkinTrace(std::string_view json) {
  auto spans = DecodeZipkinJson(json);
  if (!spans) return spans.error();
  NormaliseSharedSpans(*spans);
  return spans;
}

Result<std::vector<Span>> DecodeZipkinTraces(std::string_view json) {
  auto doc = ParseJsonBody(json);
  if (!doc) return doc.error();
  if (!doc->is_array()) return MakeError("expected an array of traces");
  std::vector<Span> all;
  for (size_t i = 0; i < doc->size(); ++i) {
    const nlohmann::json& trace = (*doc)[i];
    if (!trace.is_array()) return MakeError(fmt::format("traces[{}]: must be an array of spans", i));
    // Re-serialising costs little next to the network and keeps one Zipkin decoder.
    auto spans = DecodeZipkinTrace(trace.dump());
    if (!spans) return MakeError(fmt::format("traces[{}]: {}", i, spans.error().message));
    for (Span& span : *spans) all.push_back(std::move(span));
  }
  return all;
}

Result<std::vector<DependencyLink>> DecodeZipkinDependencies(std::string_view json) {
  auto doc = ParseJsonBody(json);
  if (!doc) return doc.error();
  return DecodeDependencyArray(*doc);
}

std::unique_ptr<BackendClient> MakeZipkinV2Client(std::unique_ptr<HttpFetcher> fetcher,
                                                  std::string base_description) {
  return std::make_unique<ZipkinV2Client>(std::move(fetcher), std::move(base_description));
}

}  // namespace tracerig
