// Simulated services: every service of a scenario as a real HTTP or gRPC server on loopback. A request is
// handled without blocking a thread: the route's latency is a timer, downstream calls go out over
// keep-alive connection pools, and every hop records a SERVER span and a CLIENT span per call
// attempt. Everything random (calls made, route errors, sampling, generated attributes, faults)
// is decided by decisions.h from the scenario seed, the request number and the hop, exactly as the
// per-request expected tree (expected_tree.h) decides it.
// Services are spread over one io_context per thread. An HTTP service runs as several replicas
// (TopologyOptions::replicas), each on its own thread with its own acceptor on the service's one
// port (SO_REUSEPORT: the kernel spreads connections among them), its own client pools and its
// own span-id stream; they share nothing on the request path but the SpanSink (thread-safe) and
// read-only scenario data. Replicas keep determinism: every decision (calls, errors, sampling,
// faults and their time windows) is a pure function of the request's number, hop and intended
// offset (decisions.h), never of which replica serves it or of earlier requests; the only state a
// service carries from one request to the next is its counters (summed over replicas), its span-id
// stream and delay-export's held-back spans (both per replica).
// Request handling is written against a transport seam (runtime_internal.h): an inbound request
// is a route, ground-truth values, a HeaderReader and a respond(status, body bytes) callback; an
// outbound attempt is a call whose headers are written through a HeaderWriter and whose outcome
// (status or error type) comes back through a callback. HTTP (Beast) and gRPC (net/grpc_sim.h)
// are the two transports; a call uses the callee's protocol, so mixed topologies work both ways.
#pragma once

#include <memory>
#include <optional>
#include <string_view>
#include <thread>
#include <vector>

#include "broker/broker.h"
#include "core/clock.h"
#include "core/result.h"
#include "core/span_sink.h"
#include "net/beast.h"
#include "net/http_client.h"
#include "topology/batch_log.h"
#include "topology/external_in_flight.h"
#include "topology/runtime_stats.h"
#include "topology/scenario.h"
#include "topology/wire_log.h"

namespace tracerig {

struct TopologyOptions {
  size_t threads = 2;
  // Replicas per simulated HTTP service, each on its own thread (at most `threads`; 1 = one thread
  // per service). 0 = enough that every thread serves some HTTP service: ceil(threads / HTTP
  // services), so a lone service uses every core while a topology with at least as many HTTP
  // services as threads keeps one replica each. More would add nothing but start-up time, memory
  // and connections: every replica has its own client pools, and its own gRPC client (one
  // completion-queue thread each) per gRPC callee; with 16 threads, 16 replicas of each of the 40
  // HTTP services of bench/topology/startup_bench took ~250 ms to start instead of ~40 ms. gRPC
  // services have one replica: their logic runs on one io_context too, but a replica would need
  // its own gRPC server and thread.
  size_t replicas = 0;
  uint64_t id_seed = 0;  // seeds span ids; unique per run so reruns never reuse ids
  HttpClientOptions client;
  // The broker publishes and consumers use (not owned; it must outlive the runtime). Null: the
  // runtime makes its own with MakeBroker(scenario.broker.url) when the scenario uses one.
  Broker* broker = nullptr;
  // Observations the wire log keeps (0: WireLog::kDefaultCapacity). A canary sizes it to the
  // traces it is still verifying, so its memory is flat within minutes, not hours.
  size_t wire_log_capacity = 0;
};

// How many replicas each simulated HTTP service gets (see TopologyOptions::replicas).
size_t ReplicasPerHttpService(const Scenario& scenario, size_t threads, size_t replicas);

class TopologyRuntime {
 public:
  TopologyRuntime(const Scenario& scenario, SpanSink& sink, const Clock& clock,
                  TopologyOptions options);
  ~TopologyRuntime();
  TopologyRuntime(const TopologyRuntime&) = delete;
  TopologyRuntime& operator=(const TopologyRuntime&) = delete;

  // Binds every simulated service (reporting the first address that cannot be bound), resolves
  // external services' URLs, connects call edges and starts the threads. A scenario that
  // publishes or consumes gets its broker first (its topology declared: an unreachable broker is
  // an ErrorCode::kUnavailable error naming it), and its consumers subscribe once the services
  // listen.
  Status Start();
  // Stops the consumers' subscriptions, stops accepting, stops the threads (abandoning in-flight
  // requests), submits the spans that delay-export still holds back and closes the broker.
  // Idempotent.
  void Stop();

  const std::vector<RunningService>& services() const { return running_; }
  std::optional<tcp::endpoint> EndpointOf(std::string_view service) const;
  TopologyStats stats() const;
  // Messages published (or republished for a redelivery or a dead letter) that no consumer has
  // finished with yet: queued, or being processed. A message the broker routed nowhere counts as
  // finished. 0 without a broker.
  uint64_t MessagesOutstanding() const;
  // What every simulated service received (wire_log.h).
  const WireLog& wire_log() const { return wire_log_; }
  WireLog& wire_log() { return wire_log_; }
  // Which messages each batch consumer's CONSUMER span processed (batch_log.h).
  const BatchLog& batch_log() const { return batch_log_; }
  // Requests in flight into external services: the simulated services register their calls into
  // one; the load driver registers each request it sends into an external entry (Register before
  // sending, with hop "0" and the trace id it sends; Unregister when the answer or error is in),
  // so a simulated service the real one calls can tie a request without tracerig's headers to
  // its root request.
  ExternalInFlight& external_in_flight() { return external_in_flight_; }
  // One entry per replica of `service` (in replica order; empty for an unknown or external one),
  // to see how the kernel spread connections among them.
  std::vector<TopologyStats> ReplicaStats(std::string_view service) const;

  class SimulatedService;

 private:
  // Makes (or takes options_.broker) and declares the broker, when the scenario uses one.
  Status StartBroker();
  const Scenario& scenario_;
  SpanSink& sink_;
  const Clock& clock_;
  TopologyOptions options_;
  // Before the services: they hold subscriptions of the broker and add to the batch log.
  BatchLog batch_log_;
  std::unique_ptr<Broker> owned_broker_;  // MakeBroker's, when options_.broker is null
  Broker* broker_ = nullptr;              // null: the scenario uses no broker
  std::vector<std::unique_ptr<asio::io_context>> contexts_;
  std::vector<std::optional<asio::executor_work_guard<asio::io_context::executor_type>>> guards_;
  std::vector<std::unique_ptr<SimulatedService>> services_;
  std::vector<RunningService> running_;
  std::vector<tcp::endpoint> endpoints_;  // running_[i]'s bound endpoint
  std::vector<std::thread> threads_;
  WireLog wire_log_;
  ExternalInFlight external_in_flight_;
  bool started_ = false;
};

}  // namespace tracerig
