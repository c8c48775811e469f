// Serves a MetricsRegistry to Prometheus over HTTP on its own thread: GET /metrics (text/plain;
// version=0.0.4), GET /healthz (200 "ok" while healthy, 503 with the reason otherwise), 404 for
// any other path, 405 for any other method. `tracerig canary` and `tracerig run --metrics-listen`.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "canary/metrics.h"
#include "core/result.h"
#include "net/beast.h"

namespace tracerig {

struct MetricsServerOptions {
  // "" while healthy; otherwise why not (the /healthz body, with status 503). Empty function:
  // always healthy. Called on the server's thread: must be thread-safe.
  std::function<std::string()> unhealthy_reason;
};

class MetricsServer {
 public:
  // Listens on `endpoint` (port 0: a free one) and serves until Stop() or destruction. A port in
  // use is an error that says so (kUnavailable). `registry` must outlive the server.
  static Result<std::unique_ptr<MetricsServer>> Start(const tcp::endpoint& endpoint,
                                                      const MetricsRegistry& registry,
                                                      MetricsServerOptions options = {});
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  tcp::endpoint local_endpoint() const;
  // "http://127.0.0.1:PORT", for messages.
  std::string Url() const;
  // Stops listening and joins the thread. Idempotent.
  void Stop();

  class Impl;  // metrics_server.cc

 private:
  explicit MetricsServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace tracerig
