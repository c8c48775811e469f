// What the load driver reports, as plain values: progress snapshots while it runs and the
// result of a run (ledger, latency histograms, counts). Reports and renderers include this header,
// not driver/load_driver.h, so they compile without Asio or Beast.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/ledger.h"
#include "driver/histogram.h"

namespace tracerig {

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

// Transport errors of one kind, as wrk reports socket errors by kind. Kinds (`reason`):
// "connection refused", "connection reset", "timeout", "tls handshake", "name resolution",
// "protocol error", "unanswered at drain" (still in flight at the drain deadline), "other".
struct TransportErrorReason {
  std::string reason;
  uint64_t count = 0;
  std::string first_message;  // the first error of this kind, as the system said it
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
  // gRPC reports our own deadline (DEADLINE_EXCEEDED) as a status it does not tell apart from the
  // server's answers, so that counts here too; an UNAVAILABLE whose message gives a socket's
  // reason (a refused connection, a failed handshake) is a transport error instead. The
  // ledger then holds the status's HTTP equivalent (GrpcStatusToHttp: UNAVAILABLE 503, ...) and
  // the root span the gRPC code itself (rpc.grpc.status_code).
  uint64_t http_errors = 0;
  // Connect/write/read failed or timed out (HTTP entries; gRPC entries: an UNAVAILABLE that never
  // reached a server), or still unanswered at the drain
  // deadline (every entry; `unfinished` says how many of them).
  uint64_t transport_errors = 0;
  // transport_errors by kind, most frequent first; the counts sum to transport_errors.
  std::vector<TransportErrorReason> transport_error_reasons;
  uint64_t unfinished = 0;  // still in flight when the drain timeout ended
  // Root spans the driver recorded but did not export: requests a load entry sends unsampled
  // (`sampled = false`), which a sampling client does not export either.
  uint64_t root_spans_unsampled = 0;
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

}  // namespace tracerig
