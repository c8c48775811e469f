// The rolling window of traces `tracerig canary` reads again at later ages (1m, 15m, 1h, 24h):
// of the traces that passed their first checks, at most one per interval per age is kept, until
// it is due. Bounded whatever the rate or uptime, and driven by the caller's clock (tests use a
// fake one).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <vector>

#include "core/ledger.h"

namespace tracerig {

class RereadWindow {
 public:
  // The default bound on traces kept: 24h at one per second for one age is 86,400.
  static constexpr size_t kDefaultMaxEntries = 100000;

  // A trace due for a re-read: `age` indexes the ages the window was made with.
  struct Due {
    size_t age = 0;
    LedgerEntry entry;
  };

  // `ages_ns`: the re-read ages (each counted from the request's end, entry.end_unix_nano);
  // `every_ns`: at most one trace accepted per this per age. `max_entries` is a hard bound on
  // what the window holds (offers beyond are refused and counted), a guard for a caller that
  // stops taking what is due.
  RereadWindow(std::vector<uint64_t> ages_ns, uint64_t every_ns,
               size_t max_entries = kDefaultMaxEntries);

  // A trace that passed its first checks, at `now_ns` (Unix ns, the clock TakeDue is called
  // with). For each age whose last accepted trace is at least every_ns old, it is kept until
  // its end + that age. Thread-safe.
  void Offer(const LedgerEntry& entry, uint64_t now_ns);

  // Every kept trace due by `now_ns`, earliest due first (ties in offer order), taken
  // out of the window. Thread-safe.
  std::vector<Due> TakeDue(uint64_t now_ns);

  // When the next kept trace is due; 0 when the window is empty.
  uint64_t NextDueNs() const;
  size_t size() const;
  uint64_t refused() const;  // offers refused by max_entries

 private:
  const std::vector<uint64_t> ages_ns_;
  const uint64_t every_ns_;
  const size_t max_entries_;
  mutable std::mutex mu_;
  std::vector<uint64_t> last_accepted_ns_;  // per age; 0 = none yet
  std::vector<bool> accepted_any_;
  std::multimap<uint64_t, Due> due_;  // by due time; equal keys keep insertion order
  uint64_t refused_ = 0;
};

}  // namespace tracerig
