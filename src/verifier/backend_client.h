// What the verifier needs from a tracing backend, independent of its query API: fetch one trace by
// id, search spans by a ground-truth attribute and, where served, read its dependency list. One
// implementation per backend (Jaeger v1, ...) over an HttpFetcher, so every client is tested
// against a fake fetcher without sockets.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/ids.h"
#include "core/result.h"
#include "core/span.h"
#include "verifier/graph.h"

namespace tracerig {

struct FetchResponse {
  unsigned status = 0;
  std::string body;
};

class HttpFetcher {
 public:
  virtual ~HttpFetcher() = default;
  // GET target (path + query) from the backend; Error only for transport failures (refused,
  // timeout, reset). Any HTTP answer, 4xx and 5xx included, is a FetchResponse.
  virtual Result<FetchResponse> Get(std::string_view target) = 0;
};

class BackendClient {
 public:
  virtual ~BackendClient() = default;
  // For messages and reports: "jaeger v1 at http://127.0.0.1:16686".
  virtual std::string Describe() const = 0;
  // nullopt: the backend says the trace does not exist. Error: unreachable, erroring or unparseable
  // answer — never confused with "not found".
  virtual Result<std::optional<std::vector<Span>>> GetTrace(TraceId id) = 0;
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
};

}  // namespace tracerig
