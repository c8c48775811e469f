// The load driver: sends root requests to the entry services and measures them. Open loop (every
// model but closed): request n is sent at its intended start time whatever the system's speed, so
// a stall cannot hide, and latency is measured from that time (corrected) and from the actual send
// (uncorrected). Closed loop: virtual users each send, wait, think and repeat. Work is spread over
// event-loop threads (one io_context, connection pools and statistics each, merged at the end, as
// wrk does) and every request goes into a ledger. The driver is itself a traced client: it starts
// each trace and records the root CLIENT span.
//
// What each request carries follows its LoadEntry: the `inject` formats (unset: the entry
// service's extract formats; empty: no trace context header at all, only tracerig's ground-truth
// headers, so the entry starts the trace), the `sampled` flag (debug: B3 `-d` / X-B3-Flags: 1 /
// Jaeger flags 3, traceparent 01), and the `tracestate` and `baggage` it starts with (sent by the
// formats that carry them: tracecontext, baggage). LedgerEntry::sampled is the driver's decision
// (sampled or debug), and the root CLIENT span is exported only then, with no context sent too.
//
// Entries on a `protocol = "grpc"` service are called like a gRPC service calls another
// (topology/service_grpc.cc): SimService/Call with the route name, trace context and ground
// truth in lowercase metadata, a root CLIENT span with rpc.system/rpc.service/rpc.method and
// rpc.grpc.status_code. Each driver thread has one GrpcSimClient (one channel, one
// completion-queue thread that posts completions onto the thread's io_context) per gRPC entry.
//
// An entry may be an external (real) service (topology/service_target.h): its requests go to its URL,
// with its Host, over TLS for https://, and carry the ground truth as W3C baggage members and a
// tracestate member as well, which OpenTelemetry SDKs pass on to the services it calls. External
// gRPC entries call the route as a full method ("pkg.Service/Method", empty request message) or,
// for a plain route name, SimService/Call. Transport errors are counted by kind
// (DriverResult::transport_error_reasons).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/ledger.h"
#include "core/span_sink.h"
#include "driver/driver_result.h"
#include "driver/schedule.h"
#include "net/beast.h"
#include "net/http_client_options.h"
#include "topology/external_in_flight.h"
#include "topology/scenario.h"
#include "topology/service_target.h"

namespace tracerig {

// Threads chosen when neither the options nor the scenario say: hardware_concurrency, at most this.
inline constexpr uint32_t kMaxAutoDriverThreads = 16;

struct DriverOptions {
  uint64_t warmup_ns = 0;        // requests intended before this offset are left out of statistics
  uint64_t seed = 1;             // entry choice and call-tree decisions
  uint64_t id_seed = 0;          // trace and request ids; unique per run
  // The first request's sequence number: a run that drives load in rounds (`tracerig canary`)
  // gives each round the next numbers, so ids and per-request decisions never repeat.
  uint64_t first_sequence = 0;
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
  // Requests into external entries are registered here while in flight, so that a simulated
  // service the real one calls can tie what arrives to its root request when the real service
  // passed on neither baggage nor tracerig's headers (topology/external_in_flight.h). Null: not
  // registered (no simulated service could be called from one).
  ExternalInFlight* external_in_flight = nullptr;
};

class LoadDriver {
 public:
  // `entry_targets[i]` is where scenario.load.entries[i]'s service is (ResolveEntryTargets; a
  // tcp::endpoint converts to a simulated service's target); `schedule` gives the
  // intended start of every request (MakeSchedule(scenario.load, seed) in a run). For the closed
  // model (scenario.load.model == kClosed: virtual_users, think_time_ns, duration_ns) there is no
  // schedule: pass nullptr.
  LoadDriver(const Scenario& scenario, std::vector<ServiceTarget> entry_targets,
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
