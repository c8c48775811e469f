// The W3C trace-context test harness's service protocol, so anyone can run the official
// trace-context test suite against tracerig's propagator. The harness POSTs a JSON array of
// {"url": ..., "arguments": [...]} to /test with traceparent/tracestate headers; for each element,
// in order, the service POSTs `arguments` as JSON to `url` with the propagated context, and only
// then answers the harness. Everything is asynchronous: the harness may call back into the service
// while one of its requests is still open.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/result.h"
#include "core/rng.h"
#include "net/beast.h"
#include "net/http_client.h"
#include "net/http_server.h"
#include "propagation/w3c.h"

namespace tracerig {

struct HarnessCall {
  std::string url;             // "http://127.0.0.1:7777/test"
  std::string arguments_json;  // the value of "arguments", re-serialised ("[]" when absent)
};

// Pure: the harness request body. Errors name the element and the problem.
Result<std::vector<HarnessCall>> ParseHarnessRequest(std::string_view body);

struct ConformanceStats {
  uint64_t requests = 0;       // POST /test handled
  uint64_t bad_requests = 0;   // answered 400
  uint64_t callbacks = 0;      // outgoing POSTs made
  uint64_t callback_failures = 0;
  uint64_t restarted = 0;      // incoming context invalid: a new trace was started
};

class ConformanceService {
 public:
  ConformanceService(asio::io_context& ioc, uint64_t id_seed);
  Status Listen(const tcp::endpoint& endpoint);
  tcp::endpoint local_endpoint() const { return server_.local_endpoint(); }
  // Call on the io_context thread or after it stopped.
  ConformanceStats stats() const { return stats_; }

 private:
  struct Pending;
  void Handle(HttpRequest&& request, HttpResponder respond);
  void Next(const std::shared_ptr<Pending>& pending);
  HttpClientPool* PoolFor(const std::string& url, std::string& path, std::string& host_header,
                          std::string& error);

  asio::io_context& ioc_;
  Rng rng_;
  W3cTraceContextPropagator propagator_;
  HttpServer server_;
  std::map<std::string, std::unique_ptr<HttpClientPool>, std::less<>> pools_;
  ConformanceStats stats_;
};

}  // namespace tracerig
