// The open-loop load driver: sends root requests to the entry services at their intended start
// times (whatever the system's speed, so a stall cannot hide), measures latency from the intended
// time (corrected) and from the actual send (uncorrected), and writes a ledger of every request.
// The driver is itself a traced client: it starts each trace and records the root CLIENT span.
#pragma once

#include <atomic>
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

struct DriverOptions {
  uint64_t warmup_ns = 0;        // requests intended before this offset are left out of statistics
  uint64_t seed = 1;             // entry choice and call-tree decisions
  uint64_t id_seed = 0;          // trace and request ids; unique per run
  uint64_t drain_timeout_ns = 10'000'000'000ull;  // how long in-flight requests may finish after load
  HttpClientOptions client;
};

struct DriverProgress {
  uint64_t elapsed_ns = 0;
  uint64_t scheduled = 0;  // requests whose intended time has come
  uint64_t completed = 0;
  uint64_t errors = 0;
  uint64_t in_flight = 0;
};

struct DriverResult {
  Ledger ledger;                     // in sequence order; only requests that were sent
  LatencyHistogram corrected;        // response time from the intended start
  LatencyHistogram uncorrected;      // response time from the actual send
  LatencyHistogram schedule_lag;     // actual send minus intended start
  uint64_t sent = 0;
  uint64_t warmup = 0;  // sent during the warm-up: in the ledger, not in the latency statistics
  uint64_t ok = 0;
  uint64_t http_errors = 0;
  uint64_t transport_errors = 0;
  uint64_t unfinished = 0;  // still in flight when the drain timeout ended
  uint64_t elapsed_ns = 0;  // from the first intended start to the last response
  bool interrupted = false;
};

class LoadDriver {
 public:
  // `entry_endpoints[i]` is where scenario.load.entries[i]'s service listens; `schedule` gives the
  // intended start of every request (MakeSchedule(scenario.load, seed) in a run).
  LoadDriver(const Scenario& scenario, std::vector<tcp::endpoint> entry_endpoints,
             std::unique_ptr<Schedule> schedule, SpanSink& sink, const Clock& clock,
             DriverOptions options);
  ~LoadDriver();

  // Runs until the schedule ends (or `stop` becomes true), then drains. Blocks the calling thread.
  // `progress` is called about every `progress_interval_ns` from the driver thread.
  DriverResult Run(const std::atomic<bool>& stop,
                   const std::function<void(const DriverProgress&)>& progress = {},
                   uint64_t progress_interval_ns = 1'000'000'000ull);

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tracerig
