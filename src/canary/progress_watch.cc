// Whether the canary's loop makes progress, for /healthz.
#include "canary/progress_watch.h"

#include <fmt/format.h>

#include "core/units.h"

namespace tracerig {

ProgressWatch::ProgressWatch(const Clock& clock, uint64_t limit_ns)
    : clock_(clock), limit_ns_(limit_ns), last_ns_(clock.NowMonotonicNano()) {}

void ProgressWatch::RoundFinished() {
  std::lock_guard lock(mu_);
  last_ns_ = clock_.NowMonotonicNano();
  any_finished_ = true;
}

std::string ProgressWatch::UnhealthyReason() const {
  const uint64_t now = clock_.NowMonotonicNano();
  std::lock_guard lock(mu_);
  const uint64_t since = now > last_ns_ ? now - last_ns_ : 0;
  if (since <= limit_ns_) return "";
  return fmt::format(
      "no round has finished for {} (since {}; limit {}): the canary's loop is not making progress",
      FormatDuration(since), any_finished_ ? "the last one finished" : "the start",
      FormatDuration(limit_ns_));
}

uint64_t ProgressWatch::LimitFor(uint64_t round_ns, uint64_t queryable_within_ns) {
  constexpr uint64_t kSlackNs = 30'000'000'000ull;
  // What a round may add while the loop is fine but the pipeline is not: the wait for the
  // exporter to settle a hung collector's batches (RoundContext::export_settle_max_ns, 2 min)
  // and a minute for queries that each take their whole timeout against a hung backend.
  constexpr uint64_t kStalledPipelineNs = 180'000'000'000ull;
  return 2 * (round_ns + queryable_within_ns + kSlackNs) + kStalledPipelineNs;
}

}  // namespace tracerig
