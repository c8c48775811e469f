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

SearchChecks::SearchChecks(BackendClient& client, SearchCheckOptions options, const Clock& clock)
    : client_(client), options_(options), clock_(clock) {}

void SearchChecks::Add(const LedgerEntry& entry) {
  std::lock_guard lock(mu_);
  pending_.push_back({entry, clock_.NowUnixNano(), 0});
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
      if (++p.errors >= options_.max_errors) {
        finished.push_back({p.entry, SearchResult::kRequestFailed});
        continue;
      }
      uint64_t backoff = options_.error_backoff_ns;
      for (int i = 1; i < p.errors && backoff < options_.error_backoff_max_ns; ++i) backoff *= 2;
      p.due_ns = after + std::min(backoff, options_.error_backoff_max_ns);
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
