// Simulated services: every service of a scenario as a real HTTP server on loopback. A request is
// handled without blocking a thread: the route's latency is a timer, downstream calls go out over
// keep-alive connection pools, and every hop records a SERVER span and a CLIENT span per call.
// Services are spread over one io_context per thread; a service and its pools live on one thread.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "core/result.h"
#include "core/span_sink.h"
#include "net/beast.h"
#include "net/http_client.h"
#include "topology/scenario.h"

namespace tracerig {

struct RunningService {
  std::string name;
  tcp::endpoint endpoint;
  std::string url;  // "http://127.0.0.1:40123"
};

struct TopologyOptions {
  size_t threads = 2;
  uint64_t id_seed = 0;  // seeds span ids; unique per run so reruns never reuse ids
  HttpClientOptions client;
};

struct TopologyStats {
  uint64_t requests = 0;       // requests handled by simulated routes
  uint64_t unknown_route = 0;  // answered 404
  uint64_t spans_recorded = 0;
  uint64_t spans_unsampled = 0;  // recorded but not exported (not sampled)
  uint64_t call_failures = 0;    // downstream calls that failed (transport or 5xx)
};

class TopologyRuntime {
 public:
  TopologyRuntime(const Scenario& scenario, SpanSink& sink, const Clock& clock,
                  TopologyOptions options);
  ~TopologyRuntime();
  TopologyRuntime(const TopologyRuntime&) = delete;
  TopologyRuntime& operator=(const TopologyRuntime&) = delete;

  // Binds every service (reporting the first address that cannot be bound), connects call edges
  // and starts the threads.
  Status Start();
  // Stops accepting, lets in-flight work end, joins the threads. Idempotent.
  void Stop();

  const std::vector<RunningService>& services() const { return running_; }
  std::optional<tcp::endpoint> EndpointOf(std::string_view service) const;
  TopologyStats stats() const;

  class SimulatedService;

 private:
  const Scenario& scenario_;
  SpanSink& sink_;
  const Clock& clock_;
  TopologyOptions options_;
  std::vector<std::unique_ptr<asio::io_context>> contexts_;
  std::vector<std::optional<asio::executor_work_guard<asio::io_context::executor_type>>> guards_;
  std::vector<std::unique_ptr<SimulatedService>> services_;
  std::vector<RunningService> running_;
  std::vector<std::thread> threads_;
  bool started_ = false;
};

}  // namespace tracerig
