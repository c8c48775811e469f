// The canary's search check: a trace found again by a search on its ground-truth request id
// (BackendClient::FindSpans on the driver's root CLIENT span: service "tracerig-driver", key
// tracerig.request_id), as a user finds a trace by an attribute. Searches are retried each poll
// interval until --queryable-within after the request's end; the clock is the caller's, so tests
// drive it with a fake one.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <vector>

#include "core/clock.h"
#include "core/ledger.h"
#include "verifier/backend_client.h"
#include "verifier/verify.h"

namespace tracerig {

enum class SearchResult {
  kFound,          // a returned span has the ledger's trace id
  kNotFound,       // not found by the deadline (or, for one search, not in the answer)
  kRequestFailed,  // the backend's last search by the deadline failed (unreachable throughout)
};

struct SearchCheckOptions {
  // A trace not found by its request's end + this is not found.
  uint64_t queryable_within_ns = 30'000'000'000ull;
  uint64_t poll_interval_ns = 100'000'000ull;        // between searches that did not find it
  // A failed search is retried (backoff) until the deadline, and at least this long after the
  // trace was added (a trace that passed late still rides out a blip): a backend down that long
  // is a request failed, a shorter blip costs nothing.
  uint64_t min_error_retry_ns = 10'000'000'000ull;
  uint64_t error_backoff_ns = 100'000'000ull;        // before retrying a failed search; doubles ...
  uint64_t error_backoff_max_ns = 2'000'000'000ull;  // ... up to this
  // The search window: the request's start and end, widened by this each side (clock skew
  // between tracerig and the backend, a backend's minute-granular index).
  uint64_t window_padding_ns = 60'000'000'000ull;
};

// One search for `entry`'s trace, no retry: found, not found, or the backend's error.
Result<bool> SearchOnce(BackendClient& client, const LedgerEntry& entry,
                        uint64_t window_padding_ns);

// One search (a re-read's), a failed one retried with backoff (options' error_backoff_ns doubling
// up to error_backoff_max_ns) for at most `retry_for_ns` of sleeping, or until `stop`: found, not
// found, or the backend's last error.
Result<bool> SearchRetryingErrors(BackendClient& client, const LedgerEntry& entry,
                                  const SearchCheckOptions& options, uint64_t retry_for_ns,
                                  Sleeper& sleeper, const std::atomic<bool>* stop);

// The searches of traces that passed their check by id, each retried until found or its deadline
// (a failed search retried with backoff until then). Add from any thread; Step from one.
class SearchChecks {
 public:
  struct Finished {
    LedgerEntry entry;
    SearchResult result = SearchResult::kNotFound;
  };

  SearchChecks(BackendClient& client, SearchCheckOptions options, const Clock& clock);

  // A trace to find; its first search is due at once. Thread-safe.
  void Add(const LedgerEntry& entry);
  // Makes every search due now once; returns the traces whose search is over (in the order
  // their last search was made).
  std::vector<Finished> Step();
  // When the earliest pending search is due (Unix ns); 0 when none is pending. Thread-safe.
  uint64_t NextDueNs() const;
  size_t pending() const;  // thread-safe
  // Ends every pending search now as not found (stopping): returned as Step's are.
  std::vector<Finished> Abandon();

 private:
  struct Pending {
    LedgerEntry entry;
    uint64_t due_ns = 0;
    uint64_t added_ns = 0;
    int errors = 0;  // in a row
  };

  BackendClient& client_;
  const SearchCheckOptions options_;
  const Clock& clock_;
  mutable std::mutex mu_;
  std::vector<Pending> pending_;  // under mu_
};

}  // namespace tracerig
