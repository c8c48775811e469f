// /healthz for `tracerig canary`: whether the loop makes progress (rounds keep finishing), not
// whether the backend is healthy, so a backend outage never gets a liveness probe to restart it.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>

#include "core/clock.h"

namespace tracerig {

class ProgressWatch {
 public:
  // Unhealthy once no round has finished for longer than `limit_ns` (since the last one did,
  // or since the watch was made). Uses `clock`'s monotonic time.
  ProgressWatch(const Clock& clock, uint64_t limit_ns);

  // A round finished. Thread-safe.
  void RoundFinished();
  // "" while healthy; else the reason. Thread-safe.
  std::string UnhealthyReason() const;

  // The limit the canary uses: twice (a round + --queryable-within + 30 s of slack), the longest
  // a round's writes and checks take while the loop makes progress, plus 3 minutes for a stalled
  // pipeline (a hung collector's exports settling, queries that each take their timeout).
  static uint64_t LimitFor(uint64_t round_ns, uint64_t queryable_within_ns);

 private:
  const Clock& clock_;
  const uint64_t limit_ns_;
  mutable std::mutex mu_;
  uint64_t last_ns_;            // under mu_
  bool any_finished_ = false;   // under mu_
};

}  // namespace tracerig
