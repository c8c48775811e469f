// One round of the canary: the traces written during it, verified as they come in (a
// LiveVerification with the canary's on_trace), then searched for and offered to the re-read
// window. Its state (entries, verifier, searches) lives only until the round is done, so the
// process's memory does not grow with the rounds.
#pragma once

#include <array>
#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "canary/canary_tally.h"
#include "canary/reread_window.h"
#include "canary/search_check.h"
#include "core/clock.h"
#include "core/ledger.h"
#include "export/exporter.h"
#include "topology/scenario.h"
#include "verifier/live_verification.h"
#include "verifier/verify.h"

namespace tracerig {

// What a round's line on stderr says.
struct RoundFigures {
  uint64_t number = 0;
  uint64_t written = 0;       // requests sent
  uint64_t write_failed = 0;  // of those: transport errors, unplanned HTTP statuses (not verified)
  std::string write_error;    // the round's first transport error: "transport: <what it said>"
  uint64_t trace_total = 0;   // checks by id at 0s
  uint64_t trace_passed = 0;
  uint64_t search_total = 0;
  uint64_t search_passed = 0;
  std::array<uint64_t, kCheckFailureCount> failures{};  // both checks, by reason
  std::vector<double> ttq_seconds;                      // time to queryable samples
  std::string error;  // why verification failed as a whole ("backend unreachable: ...")
  // The verifier's first example explanation per failure reason of this round's checks by id
  // (at most one per reason): where the trace broke, what was missing.
  std::vector<std::pair<CheckFailure, std::string>> examples;
};

// Shared by every round; owned by the loop and borrowed.
struct RoundContext {
  const Scenario* scenario = nullptr;
  BatchingExporter* exporter = nullptr;
  // Makes query clients; may be called from several threads (the loop serializes it).
  BackendClientFactory clients;
  const Clock* clock = nullptr;
  CanaryTally* tally = nullptr;
  RereadWindow* reread = nullptr;  // null: no re-reads
  bool search = true;
  // ScenarioPlansErrors: an HTTP error answer is planned, so it is a trace written, not a write
  // failure.
  bool plans_http_errors = false;
  std::vector<bool> unsampled_verified;  // UnsampledEntriesVerified(scenario)
  SearchCheckOptions search_options;
  // --queryable-within: a complete trace whose time to queryable (the verifier's sample, from its
  // request's end) exceeds it fails its first check as late.
  uint64_t queryable_within_ns = 30'000'000'000ull;
  // Before missing/incomplete traces are classified, the round waits at most this long for the
  // exporter to settle (deliver or drop) every span submitted by the round's end, so a loss
  // found by its retries is not_exported, not missing.
  uint64_t export_settle_max_ns = 120'000'000'000ull;
  // Called once per round when it is done, from the round's thread.
  std::function<void(const RoundFigures&)> on_done;
};

class CanaryRound {
 public:
  // `verify`: the loop's verification options (the round adds its on_trace). Starts the round's
  // search thread.
  CanaryRound(const RoundContext& context, uint64_t number, VerifyOptions verify);
  ~CanaryRound();  // waits for the round's threads
  CanaryRound(const CanaryRound&) = delete;
  CanaryRound& operator=(const CanaryRound&) = delete;

  // DriverOptions::on_complete: thread-safe.
  void Written(const LedgerEntry& entry);
  // The round's load is over (`transport_error`: its first transport error's text, or ""):
  // verification finishes on the round's own thread.
  void Close(std::string transport_error = "");
  bool done() const { return done_.load(); }
  // Searches still pending end at once, uncounted (stopping).
  void Abandon();

 private:
  void OnTrace(const TraceOutcome& outcome);
  void SearchLoop();
  void FinishVerification();
  void Fail(CheckFailure reason, std::string_view check);  // under mu_
  // Waits (bounded, ends on Abandon) until the exporter settled submitted_at_close_ spans.
  // Whether the exporter settled every span submitted by Close() (false: the wait ended first).
  bool WaitForExporter();
  // The summary's first example per failing reason into figures_.examples. Under mu_.
  void KeepExamples(const VerificationSummary& summary);

  const RoundContext& context_;
  VerifyOptions verify_;
  std::unique_ptr<BackendClient> search_client_;
  std::optional<SearchChecks> searches_;
  std::optional<LiveVerification> live_;

  mutable std::mutex mu_;
  std::condition_variable wake_;
  RoundFigures figures_;                       // under mu_
  std::map<uint64_t, LedgerEntry> unchecked_;  // by sequence: written, not yet classified
  // Missing or incomplete traces, counted when the round's verification is over: tracerig's
  // exporter may still be retrying their spans when they are classified, and a trace it then
  // fails to deliver is not_exported, not lost by the backend.
  std::vector<std::pair<TraceId, CheckFailure>> undecided_;  // under mu_
  bool verification_over_ = false;                           // under mu_
  bool abandon_ = false;                                     // under mu_
  uint64_t submitted_at_close_ = 0;  // the exporter's submitted count at Close()
  std::atomic<bool> done_{false};
  std::thread search_thread_;
  std::thread finish_thread_;
};

}  // namespace tracerig
