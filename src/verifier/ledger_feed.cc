#include "verifier/ledger_feed.h"

#include <algorithm>

namespace tracerig {

LedgerFeed::LedgerFeed(size_t shards, size_t deal)
    : pending_(std::max<size_t>(1, shards)), deal_(std::max<size_t>(1, deal)) {}

void LedgerFeed::Add(const LedgerEntry& entry) {
  std::lock_guard lock(mu_);
  if (closed_.load(std::memory_order_relaxed)) return;
  for (uint64_t t : {entry.intended_unix_nano, entry.start_unix_nano, entry.end_unix_nano}) {
    if (t == 0) continue;
    first_ns_ = std::min(first_ns_, t);
    last_ns_ = std::max(last_ns_, t);
  }
  if (!entry.sampled &&
      (entry.entry >= verify_unsampled_.size() || !verify_unsampled_[entry.entry])) {
    skipped_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  if (used_in_last_ == kChunk) {
    chunks_.push_back(std::make_unique<LedgerEntry[]>(kChunk));
    used_in_last_ = 0;
  }
  LedgerEntry* stored = &chunks_.back()[used_in_last_++];
  *stored = entry;
  pending_[next_shard_].push_back(stored);
  if (++dealt_ == deal_) {
    dealt_ = 0;
    next_shard_ = (next_shard_ + 1) % pending_.size();
  }
  sampled_.fetch_add(1, std::memory_order_relaxed);
}

void LedgerFeed::Close() {
  std::lock_guard lock(mu_);
  closed_.store(true, std::memory_order_release);
}

bool LedgerFeed::Take(size_t shard, std::vector<const LedgerEntry*>& out) {
  std::lock_guard lock(mu_);
  std::vector<const LedgerEntry*>& mine = pending_[shard % pending_.size()];
  out.insert(out.end(), mine.begin(), mine.end());
  mine.clear();
  return !closed_.load(std::memory_order_relaxed);
}

std::pair<uint64_t, uint64_t> LedgerFeed::TimeSpan() const {
  std::lock_guard lock(mu_);
  if (last_ns_ == 0) return {0, 0};
  return {first_ns_, last_ns_};
}

}  // namespace tracerig
