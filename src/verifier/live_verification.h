// Verification alongside the load, what `tracerig run` does unless --verify-after-load: the driver
// hands each finished request to Add (DriverOptions::on_complete) and a verifier thread polls each
// trace within a poll interval of its end, so time to queryable is measured per trace, not bounded
// by how long the run went on after the request.
#pragma once

#include <atomic>
#include <cstddef>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "core/clock.h"
#include "core/ledger.h"
#include "core/result.h"
#include "topology/scenario.h"
#include "verifier/ledger_feed.h"
#include "verifier/verify.h"

namespace tracerig {

// Everything the constructor is given must outlive Finish(), as must the services and the exporter
// whose spans are verified.
class LiveVerification {
 public:
  LiveVerification(const Scenario& scenario, const BackendClientFactory& clients,
                   const VerifyOptions& options, const Clock& clock);
  LiveVerification(const LiveVerification&) = delete;
  LiveVerification& operator=(const LiveVerification&) = delete;
  ~LiveVerification();

  // For DriverOptions::on_complete: thread-safe.
  void Add(const LedgerEntry& entry) { feed_.Add(entry); }
  // ", 1234 verified" for the load's progress line.
  std::string ProgressSuffix() const;
  // No more entries: waits for the rest to settle, calling `progress` (from a verifier thread)
  // as they do. Call once.
  Result<VerificationSummary> Finish(std::function<void(size_t done, size_t total)> progress);

 private:
  LedgerFeed feed_;
  const VerifyOptions options_;
  ThreadSleeper sleeper_;
  std::atomic<size_t> settled_{0};
  std::mutex mu_;
  std::function<void(size_t, size_t)> after_load_;  // under mu_
  std::optional<Result<VerificationSummary>> result_;
  std::thread thread_;  // last: starts after every other member is ready
};

}  // namespace tracerig
