// The canary loop (`tracerig canary`): writes traces at a low constant rate in rounds (one
// LoadDriver per round, sequence numbers continuing), verifies each round alongside the next
// one's writes, searches for the traces that passed, and re-reads a sample of them at later
// ages. Every outcome goes to CanaryMetrics. Memory is bounded: a round's state is freed when
// it is done, at most max_rounds_verifying rounds are in flight, the re-read window is bounded.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "canary/canary_metrics.h"
#include "canary/canary_round.h"
#include "canary/canary_tally.h"
#include "canary/progress_watch.h"
#include "canary/reread_window.h"
#include "core/clock.h"
#include "driver/load_driver.h"
#include "export/exporter.h"
#include "topology/scenario.h"
#include "topology/service_target.h"
#include "verifier/verify.h"

namespace tracerig {

struct RereadAge {
  std::string label;  // as given: "15m" (label `age`)
  uint64_t ns = 0;
};

struct CanaryOptions {
  double rate = 1;                                   // requests per second
  uint64_t round_ns = 10'000'000'000ull;             // one LoadDriver run
  uint64_t queryable_within_ns = 30'000'000'000ull;  // a trace must be whole by its end + this
  std::vector<RereadAge> reread;                     // ages, ascending; empty: none
  uint64_t reread_every_ns = 10'000'000'000ull;      // at most one trace per this per age
  bool search = true;
  bool once = false;
  // Rounds whose checks are still running before the next round's writes wait.
  size_t max_rounds_verifying = 8;
  // One line per round (and the waits) on stderr; empty: none.
  std::function<void(const std::string&)> note;
};

// What the loop drives, taken from the started rig. Everything must outlive the loop.
struct CanaryTarget {
  const Scenario* scenario = nullptr;
  std::vector<ServiceTarget> entry_targets;
  BatchingExporter* exporter = nullptr;
  BackendClientFactory clients;  // timed query clients
  // The first checks' options: poll interval, concurrency, export_loss, wire_log, batch_log,
  // messages_outstanding as a run sets them. The loop sets the settle time and the deadline from
  // queryable_within_ns and turns the backend's dependency list off.
  VerifyOptions verify;
  // seed, id_seed, external_in_flight, client options; the loop sets first_sequence and
  // on_complete per round.
  DriverOptions driver;
};

// A round's line: "round 12: 10 written, 10/10 trace checks passed, 10/10 search, 6/6 re-read
// checks passed, ttq p50 0.120s max 0.310s" (re-read checks: by id and by search, those finished
// since the previous line; failures and errors appended: "; failed: 2 missing, 1
// not_found_by_search; backend unreachable: ..."; write failures with the first transport error:
// ", 2 write failures (transport: connection refused)"), then one line per example the verifier
// gave: "\n  e.g. broken: <explanation>".
std::string FormatRoundLine(const RoundFigures& figures, uint64_t rereads_passed,
                            uint64_t rereads_total, bool search);

// Makes the verifier's failed backend requests retried (backoff up to 2 s) for about
// `queryable_within_ns` before it gives up with "backend unreachable": a shorter blip costs no
// check, a longer outage is still request_failed. max_backend_errors = ceil(queryable_within /
// 2 s) + 3.
void RetryThroughBlips(VerifyOptions& options, uint64_t queryable_within_ns);

class CanaryLoop {
 public:
  CanaryLoop(CanaryTarget target, CanaryOptions options, CanaryMetrics& metrics,
             const Clock& clock);
  ~CanaryLoop();
  CanaryLoop(const CanaryLoop&) = delete;
  CanaryLoop& operator=(const CanaryLoop&) = delete;

  // Runs until `stop` (or one round with --once), then waits for the checks in progress (at most
  // queryable_within after a stop) and returns the totals. totals.abandoned: some checks were
  // still running, and their threads with them: the caller must exit the process without
  // destroying the loop or the rig.
  CanaryTotals Run(const std::atomic<bool>& stop);

  // For /healthz: "" while the loop makes progress; the reason once no round has finished for
  // ProgressWatch::LimitFor(round, queryable_within) (a backend outage does not count: rounds
  // still finish, their checks request_failed). Thread-safe.
  std::string UnhealthyReason() const;

 private:
  void RunRound(uint64_t number, uint64_t first_sequence, const std::atomic<bool>& stop);
  void RoundDone(const RoundFigures& figures);
  // Reaps finished rounds; true when fewer than max_rounds_verifying remain.
  bool ReapRounds();
  bool WaitForRounds(const std::atomic<bool>* stop, uint64_t deadline_mono_ns);
  // Reads traces again as they come due, sleeping in between, until `stop` (or, `until_empty`,
  // until the window is empty: --once's explicit re-reads).
  void RereadAsDue(const std::atomic<bool>& stop, bool until_empty);
  // Reads `due` again, age by age; returns early (the rest uncounted) once `stop` is set.
  void Reread(std::vector<RereadWindow::Due> due, const std::atomic<bool>& stop);
  void CountExportLosses();

  CanaryTarget target_;
  CanaryOptions options_;
  const Clock& clock_;
  CanaryTally tally_;
  std::mutex clients_mu_;
  BackendClientFactory locked_clients_;  // target_.clients, one call at a time
  std::unique_ptr<RereadWindow> window_;
  RoundContext context_;
  VerifyOptions round_verify_;
  uint64_t lost_traces_seen_ = 0;

  mutable std::mutex mu_;
  std::condition_variable round_done_;
  std::vector<std::unique_ptr<CanaryRound>> rounds_;  // under mu_: closed, maybe not done
  std::atomic<bool> rereader_done_{false};
  std::atomic<uint64_t> rereads_passed_{0};           // since the last round line
  std::atomic<uint64_t> rereads_total_{0};
  ProgressWatch progress_;
  std::mutex print_mu_;
};

// Observations the topology's wire log needs to cover the traces a canary is still verifying:
// `window_ns` (a round and --queryable-within) of requests at `rate`, each with the inbound hops
// (SERVER and CONSUMER spans) of the largest expected tree, times 4: half the log keeps a run's
// first observations for good, so its ring half covers twice a round and --queryable-within,
// which also covers the verifier's 30 s deadline slack past --queryable-within at the defaults
// (a 10 s round, 30 s). Between 2,000 and WireLog::kDefaultCapacity.
size_t CanaryWireLogCapacity(const Scenario& scenario, double rate, uint64_t window_ns);

}  // namespace tracerig
