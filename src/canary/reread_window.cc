// The re-read window: one trace per interval per age, kept until due.
#include "canary/reread_window.h"

#include <utility>

namespace tracerig {

RereadWindow::RereadWindow(std::vector<uint64_t> ages_ns, uint64_t every_ns, size_t max_entries)
    : ages_ns_(std::move(ages_ns)),
      every_ns_(every_ns),
      max_entries_(max_entries),
      last_accepted_ns_(ages_ns_.size(), 0),
      accepted_any_(ages_ns_.size(), false) {}

void RereadWindow::Offer(const LedgerEntry& entry, uint64_t now_ns) {
  std::lock_guard lock(mu_);
  for (size_t age = 0; age < ages_ns_.size(); ++age) {
    if (accepted_any_[age] && now_ns < last_accepted_ns_[age] + every_ns_) continue;
    if (due_.size() >= max_entries_) {
      ++refused_;
      continue;
    }
    accepted_any_[age] = true;
    last_accepted_ns_[age] = now_ns;
    due_.emplace(entry.end_unix_nano + ages_ns_[age], Due{age, entry});
  }
}

std::vector<RereadWindow::Due> RereadWindow::TakeDue(uint64_t now_ns) {
  std::lock_guard lock(mu_);
  std::vector<Due> out;
  auto end = due_.upper_bound(now_ns);
  for (auto it = due_.begin(); it != end; ++it) out.push_back(std::move(it->second));
  due_.erase(due_.begin(), end);
  return out;
}

uint64_t RereadWindow::NextDueNs() const {
  std::lock_guard lock(mu_);
  return due_.empty() ? 0 : due_.begin()->first;
}

size_t RereadWindow::size() const {
  std::lock_guard lock(mu_);
  return due_.size();
}

uint64_t RereadWindow::refused() const {
  std::lock_guard lock(mu_);
  return refused_;
}

}  // namespace tracerig
