// The embedded backend as a running thing: an OTLP/HTTP receiver, a Jaeger-compatible query
// server, and optionally an OTLP/gRPC receiver and a Zipkin server (ingest and query API), over one
// SpanStore. The HTTP servers share one io_context thread; the gRPC receiver has its own
// completion-queue thread. `tracerig backend` runs it standalone;
// `tracerig run` starts it in-process when the scenario names no external backend.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "backend/handlers.h"
#include "backend/otlp_grpc_receiver.h"
#include "backend/query_api.h"
#include "backend/span_store.h"
#include "backend/zipkin_handlers.h"
#include "core/clock.h"
#include "core/result.h"
#include "net/beast.h"
#include "net/http_server.h"

namespace tracerig {

// Where real collectors take OTLP/gRPC; what `tracerig backend --otlp-grpc` should default to.
inline constexpr std::string_view kDefaultOtlpGrpcListen = "127.0.0.1:4317";

struct EmbeddedBackendOptions {
  std::string otlp_http = "127.0.0.1:4318";  // HOST:PORT, port 0 = any free port
  // OTLP/gRPC TraceService; empty = not started. Off by default (unlike the other receivers) so
  // that in-process backends, which set only the ports above to 0, never take the fixed port 4317;
  // standalone backends pass kDefaultOtlpGrpcListen.
  std::string otlp_grpc;
  std::string query = "127.0.0.1:16686";
  // Zipkin v2 ingest (POST /api/v2/spans) and query API on one port, as Zipkin serves them on
  // 9411; empty = not started.
  std::string zipkin;
  size_t max_spans = 1'000'000;
  // Bound on the store's estimate of its own memory (SpanStore, EstimateSpanBytes); 0 = none.
  // Whole oldest traces are evicted until both bounds hold.
  uint64_t max_bytes = 0;
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
  // The OTLP/gRPC receiver's address (bound port filled in); a default endpoint (port 0) when the
  // receiver is disabled.
  tcp::endpoint otlp_grpc_endpoint() const { return otlp_grpc_endpoint_; }
  const SpanStore& store() const { return store_; }
  // Every ingest server's requests: OTLP/HTTP, OTLP/gRPC and Zipkin, summed now.
  IngestTotals counters() const;
  // One receiver's requests alone; null when that receiver is disabled.
  const IngestCounters* otlp_http_counters() const { return &otlp_http_counters_; }
  const IngestCounters* zipkin_counters() const {
    return zipkin_server_ ? &zipkin_counters_ : nullptr;
  }
  const IngestCounters* otlp_grpc_counters() const {
    return otlp_grpc_ ? &otlp_grpc_->counters() : nullptr;
  }
  // Each enabled receiver's counters, named as /api/tracerig/stats names them.
  std::vector<NamedIngestCounters> receiver_counters() const;
  // Requests to an ingest server rejected by the HTTP layer itself (malformed HTTP, body over the
  // limit).
  uint64_t http_rejections() const;

 private:
  EmbeddedBackendOptions options_;
  const Clock& clock_;
  SpanStore store_;
  IngestCounters otlp_http_counters_;
  IngestCounters zipkin_counters_;
  IngestCounters grpc_total_;  // the gRPC receiver's "total": its own counters() are what we read
  asio::io_context ioc_{1};
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> guard_;
  std::unique_ptr<HttpServer> otlp_server_;
  std::unique_ptr<HttpServer> query_server_;
  std::unique_ptr<HttpServer> zipkin_server_;  // null when options_.zipkin is empty
  std::unique_ptr<OtlpGrpcReceiver> otlp_grpc_;  // null when options_.otlp_grpc is empty
  tcp::endpoint otlp_grpc_endpoint_;
  std::thread thread_;
};

}  // namespace tracerig
