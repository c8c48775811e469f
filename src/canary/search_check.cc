// Searching for a trace by its ground-truth request id, retried until its deadline.
#include "canary/search_check.h"

#include <algorithm>
#include <string>
#include <utility>

#include "core/span.h"
#include "topology/expected_tree.h"

namespace tracerig {

Result<bool> SearchOnce(BackendClient& client, const LedgerEntry& entry,
                        uint64_t window_padding_ns) {
  const uint64_t start =
      entry.start_unix_nano > window_padding_ns ? entry.start_unix_nano - window_padding_ns : 0;
  const uint64_t end = std::max(entry.end_unix_nano, entry.start_unix_nano) + window_padding_ns;
  auto spans = client.FindSpans(kDriverServiceName, kRequestIdAttribute,
                                FormatRequestId(entry.request_id), start / 1000, end / 1000);
  if (!spans) return spans.error();
  return std::any_of(spans->begin(), spans->end(),
                     [&entry](const Span& s) { return s.trace_id == entry.trace_id; });
}

namespace {

// The wait before retrying after `errors` failed searches in a row (>= 1).
uint64_t ErrorBackoff(const SearchCheckOptions& o, int errors) {
  uint64_t backoff = o.error_backoff_ns;
  for (int i = 1; i < errors && backoff < o.error_backoff_max_ns; ++i) backoff *= 2;
  return std::min(backoff, o.error_backoff_max_ns);
}

}  // namespace

Result<bool> SearchRetryingErrors(BackendClient& client, const LedgerEntry& entry,
                                  const SearchCheckOptions& options, uint64_t retry_for_ns,
                                  Sleeper& sleeper, const std::atomic<bool>* stop) {
  uint64_t slept = 0;
  for (int errors = 1;; ++errors) {
    auto found = SearchOnce(client, entry, options.window_padding_ns);
    if (found || slept >= retry_for_ns || (stop != nullptr && stop->load())) return found;
    const uint64_t backoff = std::min(ErrorBackoff(options, errors), retry_for_ns - slept);
    sleeper.SleepFor(backoff);
    slept += backoff;
  }
}

SearchChecks::SearchChecks(BackendClient& client, SearchCheckOptions options, const Clock& clock)
    : client_(client), options_(options), clock_(clock) {}

void SearchChecks::Add(const LedgerEntry& entry) {
  std::lock_guard lock(mu_);
  const uint64_t now = clock_.NowUnixNano();
  pending_.push_back({entry, now, now, 0});
}

std::vector<SearchChecks::Finished> SearchChecks::Step() {
  std::vector<Pending> due;
  const uint64_t now = clock_.NowUnixNano();
  {
    std::lock_guard lock(mu_);
    auto split = std::stable_partition(pending_.begin(), pending_.end(),
                                       [now](const Pending& p) { return p.due_ns > now; });
    due.assign(std::make_move_iterator(split), std::make_move_iterator(pending_.end()));
    pending_.erase(split, pending_.end());
  }
  std::vector<Finished> finished;
  std::vector<Pending> again;
  for (Pending& p : due) {
    auto found = SearchOnce(client_, p.entry, options_.window_padding_ns);
    const uint64_t after = clock_.NowUnixNano();
    const uint64_t deadline = p.entry.end_unix_nano + options_.queryable_within_ns;
    if (!found) {
      const uint64_t retry_until = std::max(deadline, p.added_ns + options_.min_error_retry_ns);
      if (after >= retry_until) {
        finished.push_back({p.entry, SearchResult::kRequestFailed});
        continue;
      }
      ++p.errors;
      p.due_ns = std::min(after + ErrorBackoff(options_, p.errors), retry_until);
      again.push_back(std::move(p));
      continue;
    }
    p.errors = 0;
    if (*found) {
      finished.push_back({p.entry, SearchResult::kFound});
    } else if (after >= deadline) {
      finished.push_back({p.entry, SearchResult::kNotFound});
    } else {
      // The last search comes at the deadline, not a poll interval past it.
      p.due_ns = std::min(after + options_.poll_interval_ns, deadline);
      again.push_back(std::move(p));
    }
  }
  if (!again.empty()) {
    std::lock_guard lock(mu_);
    for (Pending& p : again) pending_.push_back(std::move(p));
  }
  return finished;
}

uint64_t SearchChecks::NextDueNs() const {
  std::lock_guard lock(mu_);
  uint64_t next = 0;
  for (const Pending& p : pending_) {
    if (next == 0 || p.due_ns < next) next = std::max<uint64_t>(p.due_ns, 1);
  }
  return next;
}

size_t SearchChecks::pending() const {
  std::lock_guard lock(mu_);
  return pending_.size();
}

std::vector<SearchChecks::Finished> SearchChecks::Abandon() {
  std::lock_guard lock(mu_);
  std::vector<Finished> out;
  for (Pending& p : pending_) out.push_back({std::move(p.entry), SearchResult::kNotFound});
  pending_.clear();
  return out;
}

}  // namespace tracerig
