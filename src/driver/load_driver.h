// The load driver: sends root requests to the entry services and measures them. Open loop (every
// model but closed): request n is sent at its intended start time whatever the system's speed, so
// a stall cannot hide, and latency is measured from that time (corrected) and from the actual send
// (uncorrected). Closed loop: virtual users each send, wait, think and repeat. Work is spread over
// event-loop threads (one io_context, connection pools and statistics each, merged at the end, as
// wrk does) and every request goes into a ledger. The driver is itself a traced client: it starts
// each trace and records the root CLIENT span.
//
// Entries on a `protocol = "grpc"` service are called like a gRPC service calls another
// (topology/service_grpc.cc): SimService/Call with the route name, trace context and ground
// truth in lowercase metadata, a root CLIENT span with rpc.system/rpc.service/rpc.method and
// rpc.grpc.status_code. Each driver thread has one GrpcSimClient (one channel, one
// completion-queue thread that posts completions onto the thread's io_context) per gRPC entry.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/ledger.h"
#include "core/result.h"
#include "core/span_sink.h"
#include "driver/histogram.h"
#include "driver/schedule.h"
#include "net/beast.h"
#include "net/http_client.h"
#include "topology/scenario.h"

namespace tracerig {

// Threads chosen when neither the options nor the scenario say: hardware_concurrency, at most this.
inline constexpr uint32_t kMaxAutoDriverThreads = 16;

struct DriverOptions {
  uint64_t warmup_ns = 0;        // requests intended before this offset are left out of statistics
  uint64_t seed = 1;             // entry choice and call-tree decisions
  uint64_t id_seed = 0;          // trace and request ids; unique per run
  uint64_t drain_timeout_ns = 10'000'000'000ull;  // how long in-flight requests may finish after load
  // Event-loop threads. 0 = scenario.load.threads; when that is 0 too, hardware_concurrency
  // clamped to [1, kMaxAutoDriverThreads]. Never more than there are requests (or users).
  uint32_t threads = 0;
  // Connections per entry service per thread. 0 = scenario.load.connections; 0 there = unbounded
  // (a connection per request in flight). With a bound, a request whose time has come waits in a
  // queue for a free connection: corrected latency includes the wait, uncorrected does not.
  // gRPC entries multiplex every call on one HTTP/2 channel, so for them the bound is on calls in
  // flight per entry per thread (the same queue and the same counters).
  uint32_t connections = 0;
  // false: no root spans, no trace context and no ground-truth headers, only plain HTTP requests
  // (raw benchmarking against wrk, bench/driver). The ledger is still kept.
  bool trace = true;
  // HTTP entries: connection pool settings. gRPC entries: request_timeout is each call's deadline.
  HttpClientOptions client;
  // Called with each request's final ledger entry as soon as it is known: from the driver threads
  // when the answer (or error) arrives, concurrently, so it must be thread-safe and quick; for
  // requests still unanswered at the drain deadline, from Run's thread before it returns (as
  // transport errors). This is how `tracerig run` verifies while the load runs.
  std::function<void(const LedgerEntry&)> on_complete;
};

// A snapshot of a run in progress, merged over the driver threads (each publishes its counters
// about every progress interval, so figures may trail by one tick).
struct DriverProgress {
  uint64_t elapsed_ns = 0;  // since the start of load
  uint64_t total_ns = 0;    // planned duration of load (scenario load.duration_ns)
  uint64_t scheduled = 0;   // open loop: requests whose intended time has come; closed: sent
  uint64_t sent = 0;        // on a connection (scheduled minus those queued for one)
  uint64_t completed = 0;   // answered or failed
  uint64_t errors = 0;      // HTTP (non-2xx), gRPC (non-OK) and transport errors
  uint64_t in_flight = 0;   // sent, not answered yet
  uint64_t queued = 0;      // due, waiting for a free connection (bounded connections only)
  // Requests sent per second over the last progress interval, and what the schedule planned over
  // the same interval (0 for the closed loop, which has no target).
  double current_rate = 0;
  double target_rate = 0;
  // p99 of the requests completed so far (after warm-up): corrected latency, or uncorrected for the
  // closed loop. 0 before the first completion.
  uint64_t p99_ns = 0;
  bool closed_loop = false;
  uint32_t virtual_users = 0;  // closed loop
  uint32_t threads = 0;
};

struct DriverResult {
  Ledger ledger;                     // in sequence order; only requests that were sent
  // Response time from the intended start. Closed loop: equal to `uncorrected` (a closed loop has
  // no intended start independent of the previous answer, so it cannot correct for omission).
  LatencyHistogram corrected;
  LatencyHistogram uncorrected;      // response time from the actual send
  // Dispatch time minus intended start: how far the driver itself ran behind the schedule. Time
  // spent queued for a bounded connection is not lag (it is the system under test). Empty for the
  // closed loop.
  LatencyHistogram schedule_lag;
  // Latency over time: every completed request in the interval of its intended start (closed
  // loop: of its send), counted with its errors; corrected latency of those after the warm-up.
  // The interval is LatencyTimeline::IntervalFor(the planned duration): 1 s up to 10 minutes.
  LatencyTimeline timeline;
  // Open loop: the requests the schedule held (what a run that was not interrupted sends). 0 for
  // the closed loop, which plans a duration, not a count.
  uint64_t planned = 0;
  uint64_t sent = 0;
  uint64_t warmup = 0;  // sent during the warm-up: in the ledger, not in the latency statistics
  uint64_t ok = 0;  // HTTP 2xx, gRPC OK
  // Requests the protocol answered with an error: HTTP non-2xx, and every non-OK gRPC status.
  // gRPC reports an unreachable server (UNAVAILABLE) and our own deadline (DEADLINE_EXCEEDED) as
  // statuses it does not tell apart from the server's answers, so those count here too. The
  // ledger then holds the status's HTTP equivalent (GrpcStatusToHttp: UNAVAILABLE 503, ...) and
  // the root span the gRPC code itself (rpc.grpc.status_code).
  uint64_t http_errors = 0;
  // Connect/write/read failed or timed out (HTTP entries), or still unanswered at the drain
  // deadline (every entry; `unfinished` says how many of them).
  uint64_t transport_errors = 0;
  uint64_t unfinished = 0;  // still in flight when the drain timeout ended
  // Due but never sent: still queued for a connection at an interrupt or the drain deadline. Not
  // in the ledger (no service saw them).
  uint64_t unsent = 0;
  uint64_t queued = 0;      // sent after waiting for a free connection
  uint64_t elapsed_ns = 0;  // from the first intended start to the last response
  bool interrupted = false;
  bool closed_loop = false;    // LoadModel::kClosed: latency is uncorrected only
  uint32_t virtual_users = 0;  // closed loop
  uint32_t threads = 0;        // event-loop threads used
  uint32_t connections = 0;    // bound per entry per thread; 0 = unbounded
};

class LoadDriver {
 public:
  // `entry_endpoints[i]` is where scenario.load.entries[i]'s service listens; `schedule` gives the
  // intended start of every request (MakeSchedule(scenario.load, seed) in a run). For the closed
  // model (scenario.load.model == kClosed: virtual_users, think_time_ns, duration_ns) there is no
  // schedule: pass nullptr.
  LoadDriver(const Scenario& scenario, std::vector<tcp::endpoint> entry_endpoints,
             std::unique_ptr<Schedule> schedule, SpanSink& sink, const Clock& clock,
             DriverOptions options);
  ~LoadDriver();

  // Runs until the schedule ends (closed loop: until load.duration_ns) or `stop` becomes true, then
  // drains. Blocks the calling thread, which calls `progress` about every `progress_interval_ns`
  // while the driver threads work.
  DriverResult Run(const std::atomic<bool>& stop,
                   const std::function<void(const DriverProgress&)>& progress = {},
                   uint64_t progress_interval_ns = 1'000'000'000ull);

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tracerig
