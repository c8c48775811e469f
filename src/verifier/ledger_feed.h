// Ledger entries handed to the verifier while the load still runs. `tracerig run` adds each
// request's entry as soon as its answer arrives, so the verifier polls that trace within a poll
// interval of its end: time to queryable is then measured for every trace, not bounded from above
// by however long the run went on after it (as when verification starts after the load).
//
// Add is called from the driver's threads, Take from the verifier's workers. Sampled entries are
// dealt to `shards` workers in turn as they arrive, `deal` consecutive ones to each: at a low
// rate one worker has them all and asks for them in batches, at a high rate every worker has a
// share. Entries are stored in fixed-size chunks, so a
// pointer Take hands out stays valid as long as the feed.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include "core/ledger.h"

namespace tracerig {

class LedgerFeed {
 public:
  explicit LedgerFeed(size_t shards, size_t deal = 1);
  LedgerFeed(const LedgerFeed&) = delete;
  LedgerFeed& operator=(const LedgerFeed&) = delete;

  // A finished request's entry. Unsampled ones are only counted (nothing is expected of them),
  // unless their load entry is one VerifyUnsampled named. Thread-safe; ignored after Close().
  void Add(const LedgerEntry& entry);
  // Per load entry (LedgerEntry::entry), whether its unsampled requests are verified all the same:
  // the scenario says the driver sends them sampled=0 (LoadEntry::sampled), and services that
  // sample on their own still record parts of them. Call before the first Add.
  void VerifyUnsampled(std::vector<bool> per_load_entry) {
    verify_unsampled_ = std::move(per_load_entry);
  }
  // No more entries: the verifier's deadline starts counting, and workers finish once they have
  // settled what they took. Thread-safe, idempotent.
  void Close();

  // Appends the sampled entries dealt to `shard` since the last call to `out`. Returns false when
  // the feed is closed: everything for that shard has then been handed out.
  bool Take(size_t shard, std::vector<const LedgerEntry*>& out);

  size_t shards() const { return pending_.size(); }
  size_t sampled() const { return sampled_.load(std::memory_order_relaxed); }
  size_t skipped_unsampled() const { return skipped_.load(std::memory_order_relaxed); }
  bool closed() const { return closed_.load(std::memory_order_acquire); }
  // The earliest and latest request times of the entries added (0, 0 when none had any).
  std::pair<uint64_t, uint64_t> TimeSpan() const;

 private:
  static constexpr size_t kChunk = 4096;

  mutable std::mutex mu_;
  std::vector<std::unique_ptr<LedgerEntry[]>> chunks_;
  size_t used_in_last_ = kChunk;  // entries in chunks_.back(); kChunk: a new chunk is needed
  std::vector<std::vector<const LedgerEntry*>> pending_;  // per shard, not yet taken
  size_t next_shard_ = 0;
  const size_t deal_;
  size_t dealt_ = 0;  // to next_shard_ so far
  uint64_t first_ns_ = UINT64_MAX;
  uint64_t last_ns_ = 0;
  std::atomic<size_t> sampled_{0};
  std::atomic<size_t> skipped_{0};
  std::vector<bool> verify_unsampled_;
  std::atomic<bool> closed_{false};
};

}  // namespace tracerig
