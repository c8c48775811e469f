// What the verifier needs from a tracing backend, independent of its query API: fetch one trace by
// id (or many in one request, where the API allows it), search spans by a ground-truth attribute and, where served, read its dependency list. One
// implementation per backend (Jaeger v1, ...) over an HttpFetcher, so every client is tested
// against a fake fetcher without sockets.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/ids.h"
#include "core/result.h"
#include "core/span.h"
#include "verifier/graph.h"
#include "verifier/http_fetcher.h"

namespace tracerig {

// One trace of a batch: nullopt when the backend says it does not exist.
using TraceFetch = std::optional<std::vector<Span>>;

// What a backend that keeps a bounded store says about what it dropped to stay within bounds
// (tracerig's embedded backend: GET /api/tracerig/stats).
struct BackendStoreStats {
  uint64_t traces_evicted = 0;
  uint64_t spans_evicted = 0;
  // Every trace that first arrived up to then has been evicted (0: none).
  uint64_t evicted_through_unix_nano = 0;
  uint64_t max_spans = 0;  // the store's bounds (0: none)
  uint64_t max_bytes = 0;
};

// Errors for an unreachable, erroring or unparseable backend carry ErrorCode::kUnavailable.
class BackendClient {
 public:
  virtual ~BackendClient() = default;
  // For messages and reports: "jaeger v1 at http://127.0.0.1:16686".
  virtual std::string Describe() const = 0;
  // nullopt: the backend says the trace does not exist. Error: unreachable, erroring or unparseable
  // answer — never confused with "not found".
  virtual Result<std::optional<std::vector<Span>>> GetTrace(TraceId id) = 0;
  // How many ids GetTraces asks for in one request. 1 (the default): GetTraces is GetTrace per id,
  // so the verifier calls GetTrace directly.
  virtual size_t MaxTracesPerRequest() const { return 1; }
  // The traces `ids` (distinct, at most MaxTracesPerRequest()), one answer per id in the same
  // order. Error: the request failed as a whole (unreachable, erroring or unparseable answer),
  // never a trace "not found". The default asks GetTrace per id and stops at the first error.
  virtual Result<std::vector<TraceFetch>> GetTraces(std::span<const TraceId> ids) {
    std::vector<TraceFetch> out;
    out.reserve(ids.size());
    for (TraceId id : ids) {
      auto trace = GetTrace(id);
      if (!trace) return trace.error();
      out.push_back(std::move(*trace));
    }
    return out;
  }
  // Spans whose attribute `key` renders as `value`, among traces of `service` that started in
  // [start_unix_micros, end_unix_micros].
  virtual Result<std::vector<Span>> FindSpans(std::string_view service, std::string_view key,
                                              std::string_view value, uint64_t start_unix_micros,
                                              uint64_t end_unix_micros) = 0;
  // The backend's own service dependency list for traces in [start_unix_micros, end_unix_micros]
  // (Jaeger /api/dependencies, Zipkin /api/v2/dependencies). nullopt: this backend's query API
  // serves none (the default). Error: unreachable, erroring or unparseable answer.
  virtual Result<std::optional<std::vector<DependencyLink>>> GetDependencies(
      uint64_t start_unix_micros, uint64_t end_unix_micros) {
    (void)start_unix_micros;
    (void)end_unix_micros;
    return std::optional<std::vector<DependencyLink>>{};
  }
  // Whether this backend's API can answer span links (OTLP links, Jaeger FOLLOWS_FROM
  // references). False: spans come back without links whatever was sent, so a missing link is not
  // evidence against the traced service, and a report says the backend cannot show links.
  virtual bool SupportsLinks() const { return true; }
  // What the backend evicted from its store. nullopt: not served (the default; backends that do
  // not say). Error: unreachable, erroring or unparseable answer.
  virtual Result<std::optional<BackendStoreStats>> GetStoreStats() {
    return std::optional<BackendStoreStats>{};
  }
};

// The spans of a batch answer sorted into one TraceFetch per requested id, in the order of `ids`
// (`ids` distinct, compared as 128-bit integers; an id without spans is nullopt). A span of a trace that was not asked for is an error naming
// `backend` and the trace id: the answer is not the one asked for.
Result<std::vector<TraceFetch>> GroupSpansByTrace(std::span<const TraceId> ids,
                                                  std::vector<Span> spans,
                                                  std::string_view backend);

}  // namespace tracerig
