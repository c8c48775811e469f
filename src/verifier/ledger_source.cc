// Where a poller's traces come from: a share of a ledger known up front, or one shard of a
// LedgerFeed while the load runs. Each also sets the pace of the poller's waits and requests.
#include "verifier/verify_internal.h"

#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

namespace tracerig::verify_internal {

bool WholeLedgerSource::Take(std::vector<const LedgerEntry*>& arrived) {
  arrived.insert(arrived.end(), entries_.begin(), entries_.end());
  entries_ = {};
  return false;
}

uint64_t WholeLedgerSource::FirstPollAt(uint64_t /*now*/) const { return 0; }

uint64_t WholeLedgerSource::DeadlineOnClose(uint64_t /*now*/) const { return deadline_ns_; }

// Closed from the first Take: the poller never idles with it open.
uint64_t WholeLedgerSource::IdleWakeAt(uint64_t now) const { return now; }

uint64_t WholeLedgerSource::WakeAt(uint64_t /*now*/, uint64_t due, uint64_t deadline) const {
  return std::min(due, deadline);
}

void WholeLedgerSource::Requested(uint64_t /*now*/, bool /*full*/) {}

bool FeedShardSource::Take(std::vector<const LedgerEntry*>& arrived) {
  open_ = feed_.Take(shard_, arrived);
  return open_;
}

uint64_t FeedShardSource::FirstPollAt(uint64_t now) const {
  return now + options_.stream_first_poll_delay_ns;
}

uint64_t FeedShardSource::DeadlineOnClose(uint64_t now) const {
  return now + std::min(options_.deadline_ns, UINT64_MAX - now);
}

uint64_t FeedShardSource::IdleWakeAt(uint64_t now) const { return NextTick(now); }

uint64_t FeedShardSource::WakeAt(uint64_t now, uint64_t due, uint64_t deadline) const {
  uint64_t wake = std::min(deadline, NextTick(due - 1));
  if (open_) wake = std::min(wake, NextTick(now));
  return wake;
}

// A full batch may leave more due at once (a backlog): those go without waiting.
void FeedShardSource::Requested(uint64_t now, bool full) {
  if (!full) next_request_ns_ = NextTick(now);
}

uint64_t FeedShardSource::NextTick(uint64_t t) const {
  const uint64_t tick = std::max<uint64_t>(1, options_.stream_wait_ns);
  return (t / tick + 1) * tick;
}

}  // namespace tracerig::verify_internal
