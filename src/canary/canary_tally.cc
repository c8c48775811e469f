// Recording the canary's outcomes into the metrics and the totals.
#include "canary/canary_tally.h"

#include <algorithm>

namespace tracerig {

void CanaryTally::Written() {
  metrics_.TraceWritten();
  std::lock_guard lock(mu_);
  ++totals_.written;
}

void CanaryTally::WriteFailed(WriteFailure reason, uint64_t count) {
  for (uint64_t i = 0; i < count; ++i) metrics_.WriteFailed(reason);
  std::lock_guard lock(mu_);
  totals_.write_failures[static_cast<size_t>(reason)] += count;
}

CheckCounts& CanaryTally::CountsOf(std::string_view check, std::string_view age) {
  if (age != kFirstCheckAge) return totals_.rereads;
  return check == kCheckSearch ? totals_.search : totals_.trace;
}

void CanaryTally::Passed(std::string_view check, std::string_view age) {
  metrics_.CheckPassed(check, age, static_cast<double>(clock_.NowUnixNano()) / 1e9);
  std::lock_guard lock(mu_);
  ++CountsOf(check, age).total;
}

void CanaryTally::Failed(std::string_view check, std::string_view age, CheckFailure reason) {
  metrics_.CheckFailed(check, age, reason);
  std::lock_guard lock(mu_);
  CheckCounts& c = CountsOf(check, age);
  ++c.total;
  ++c.failed;
  ++c.by_reason[static_cast<size_t>(reason)];
}

void CanaryTally::TimeToQueryable(double seconds) {
  metrics_.TimeToQueryable(seconds);
  std::lock_guard lock(mu_);
  ++totals_.ttq_samples;
  totals_.ttq_max_seconds = std::max(totals_.ttq_max_seconds, seconds);
}

void CanaryTally::RoundDone() {
  std::lock_guard lock(mu_);
  ++totals_.rounds;
}

void CanaryTally::PendingAdd(int64_t delta) {
  std::lock_guard lock(mu_);
  pending_ = std::max<int64_t>(0, pending_ + delta);
  metrics_.SetPending(static_cast<size_t>(pending_));
}

uint64_t CanaryTally::pending() const {
  std::lock_guard lock(mu_);
  return static_cast<uint64_t>(pending_);
}

CanaryTotals CanaryTally::totals() const {
  std::lock_guard lock(mu_);
  return totals_;
}

void CanaryTally::MarkAbandoned() {
  std::lock_guard lock(mu_);
  totals_.abandoned = true;
}

}  // namespace tracerig
