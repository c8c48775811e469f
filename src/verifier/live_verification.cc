// LiveVerification: VerifyLedgerFeed on its own thread, fed while the load runs.
#include "verifier/live_verification.h"

#include <algorithm>
#include <utility>

#include <fmt/format.h>

namespace tracerig {

LiveVerification::LiveVerification(const Scenario& scenario, const BackendClientFactory& clients,
                                   const VerifyOptions& options, const Clock& clock)
    : feed_(options.concurrency, std::max<size_t>(1, options.max_traces_per_request)),
      options_(options) {
  feed_.VerifyUnsampled(UnsampledEntriesVerified(scenario));
  thread_ = std::thread([this, &scenario, &clients, &clock] {
    result_ = VerifyLedgerFeed(scenario, feed_, clients, options_, clock, sleeper_,
                               [this](size_t done, size_t total) {
                                 settled_.store(done, std::memory_order_relaxed);
                                 std::lock_guard lock(mu_);
                                 if (after_load_) after_load_(done, total);
                               });
  });
}

LiveVerification::~LiveVerification() {
  if (thread_.joinable()) (void)Finish({});
}

std::string LiveVerification::ProgressSuffix() const {
  return fmt::format(", {} verified", FormatRequestCount(settled_.load(std::memory_order_relaxed)));
}

Result<VerificationSummary> LiveVerification::Finish(
    std::function<void(size_t done, size_t total)> progress) {
  {
    std::lock_guard lock(mu_);
    after_load_ = std::move(progress);
  }
  feed_.Close();
  thread_.join();
  return std::move(*result_);
}

}  // namespace tracerig
