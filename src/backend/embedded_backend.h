// The embedded backend as a running thing: an OTLP/HTTP receiver and a Jaeger-compatible query
// server over one SpanStore, on their own thread. `tracerig backend` runs it standalone;
// `tracerig run` starts it in-process when the scenario names no external backend.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "backend/handlers.h"
#include "backend/span_store.h"
#include "core/clock.h"
#include "core/result.h"
#include "net/beast.h"
#include "net/http_server.h"

namespace tracerig {

struct EmbeddedBackendOptions {
  std::string otlp_http = "127.0.0.1:4318";  // HOST:PORT, port 0 = any free port
  std::string query = "127.0.0.1:16686";
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
  const SpanStore& store() const { return store_; }
  const IngestCounters& counters() const { return counters_; }
  // Requests rejected by the HTTP layer itself (malformed HTTP, body over the limit).
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
  std::thread thread_;
};

}  // namespace tracerig
