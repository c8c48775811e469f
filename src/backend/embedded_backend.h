// The embedded backend as a running thing: an OTLP/HTTP receiver, a Jaeger-compatible query
// server and optionally a Zipkin server (ingest and query API) over one SpanStore, on their own
// thread. `tracerig backend` runs it standalone;
// `tracerig run` starts it in-process when the scenario names no external backend.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "backend/handlers.h"
#include "backend/span_store.h"
#include "backend/zipkin_handlers.h"
#include "core/clock.h"
#include "core/result.h"
#include "net/beast.h"
#include "net/http_server.h"

namespace tracerig {

struct EmbeddedBackendOptions {
  std::string otlp_http = "127.0.0.1:4318";  // HOST:PORT, port 0 = any free port
  std::string query = "127.0.0.1:16686";
  // Zipkin v2 ingest (POST /api/v2/spans) and query API on one port, as Zipkin serves them on
  // 9411; empty = not started.
  std::string zipkin;
  size_t max_spans = 1'000'000;
  uint64_t max_body_bytes = 16ull << 20;
};

class EmbeddedBackend {
 public:
  explicit EmbeddedBackend(EmbeddedBackendOptions options, const Clock& clock = SystemClock::Instance());
  ~EmbeddedBackend();
  EmbeddedBackend(const EmbeddedBackend&) = delete;
  EmbeddedBackend& operator=(const EmbeddedBackend&) = delete;

  Status Start();
  void Stop();

  tcp::endpoint otlp_http_endpoint() const { return otlp_server_->local_endpoint(); }
  tcp::endpoint query_endpoint() const { return query_server_->local_endpoint(); }
  // A default endpoint (port 0) when the Zipkin server is disabled.
  tcp::endpoint zipkin_endpoint() const {
    return zipkin_server_ ? zipkin_server_->local_endpoint() : tcp::endpoint();
  }
  const SpanStore& store() const { return store_; }
  // Every ingest server's requests: OTLP/HTTP and Zipkin.
  const IngestCounters& counters() const { return counters_; }
  // Requests to an ingest server rejected by the HTTP layer itself (malformed HTTP, body over the
  // limit).
  uint64_t http_rejections() const;

 private:
  EmbeddedBackendOptions options_;
  const Clock& clock_;
  SpanStore store_;
  IngestCounters counters_;
  asio::io_context ioc_{1};
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> guard_;
  std::unique_ptr<HttpServer> otlp_server_;
  std::unique_ptr<HttpServer> query_server_;
  std::unique_ptr<HttpServer> zipkin_server_;  // null when options_.zipkin is empty
  std::thread thread_;
};

}  // namespace tracerig
