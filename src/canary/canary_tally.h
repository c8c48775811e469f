// Every outcome the canary records, in one place: into the tracerig_canary_* metrics and into
// the process's own totals (the --once summary, the exit code, the per-round lines). Fixed-size
// counters only: nothing here grows with the traces written.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string_view>

#include "canary/canary_metrics.h"
#include "core/clock.h"

namespace tracerig {

struct CheckCounts {
  uint64_t total = 0;
  uint64_t failed = 0;
  std::array<uint64_t, kCheckFailureCount> by_reason{};
};

struct CanaryTotals {
  uint64_t rounds = 0;
  uint64_t written = 0;
  std::array<uint64_t, kWriteFailureCount> write_failures{};
  CheckCounts trace;    // check "trace" at age 0s
  CheckCounts search;   // check "search" at age 0s
  CheckCounts rereads;  // both checks at every re-read age
  uint64_t ttq_samples = 0;
  double ttq_max_seconds = 0;
  // Checks still in progress when a stop's bounded wait ended; their threads still run, so the
  // process must exit without unwinding the rig.
  bool abandoned = false;

  uint64_t request_failed() const {
    return trace.by_reason[static_cast<size_t>(CheckFailure::kRequestFailed)] +
           search.by_reason[static_cast<size_t>(CheckFailure::kRequestFailed)] +
           rereads.by_reason[static_cast<size_t>(CheckFailure::kRequestFailed)];
  }
  uint64_t checks_failed() const { return trace.failed + search.failed + rereads.failed; }
};

// Thread-safe.
class CanaryTally {
 public:
  CanaryTally(CanaryMetrics& metrics, const Clock& clock) : metrics_(metrics), clock_(clock) {}

  void Written();
  void WriteFailed(WriteFailure reason, uint64_t count = 1);
  // `age` is kFirstCheckAge or a re-read age label.
  void Passed(std::string_view check, std::string_view age);
  void Failed(std::string_view check, std::string_view age, CheckFailure reason);
  void TimeToQueryable(double seconds);
  void Spans(size_t expected, size_t found) { metrics_.Spans(expected, found); }
  void RoundDone();
  // Traces written whose first checks are not all done: +1 / -1.
  void PendingAdd(int64_t delta);
  uint64_t pending() const;

  CanaryTotals totals() const;
  void MarkAbandoned();

 private:
  CheckCounts& CountsOf(std::string_view check, std::string_view age);

  CanaryMetrics& metrics_;
  const Clock& clock_;
  mutable std::mutex mu_;
  CanaryTotals totals_;  // under mu_
  int64_t pending_ = 0;  // under mu_
};

}  // namespace tracerig
