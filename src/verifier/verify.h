// The verification loop: polls a backend for every trace in the ledger until each one has settled
// (ingestion is asynchronous), looks for fragments of the ones that are not complete, and
// classifies them. Synchronous; time and waiting are injected so tests run on a fake clock without
// sleeping.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/ledger.h"
#include "core/result.h"
#include "topology/scenario.h"
#include "verifier/backend_client.h"
#include "verifier/classify.h"

namespace tracerig {

class Sleeper {
 public:
  virtual ~Sleeper() = default;
  virtual void SleepFor(uint64_t nanos) = 0;
};

// Sleeps the calling thread.
class ThreadSleeper final : public Sleeper {
 public:
  void SleepFor(uint64_t nanos) override;
};

struct VerifyOptions {
  uint64_t poll_interval_ns = std::chrono::nanoseconds(std::chrono::milliseconds(100)).count();
  // A trace settles when its span count was the same in this many consecutive polls and either it
  // has all expected spans or it has not changed for settle_incomplete_ns.
  int stable_polls = 2;
  uint64_t settle_incomplete_ns = std::chrono::nanoseconds(std::chrono::seconds(2)).count();
  // Overall: when it passes, what is known is classified and deadline_hit is set.
  uint64_t deadline_ns = std::chrono::nanoseconds(std::chrono::seconds(60)).count();
  // Failed backend requests in a row before giving up with "backend unreachable".
  int max_backend_errors = 3;
  size_t max_examples = 5;  // per non-complete status
};

// How many traces broke at one edge of the call tree.
struct BreakEdgeCount {
  std::string hop;
  std::string caller;
  std::string callee;
  size_t traces = 0;
};

struct VerificationSummary {
  size_t checked = 0;  // sampled ledger entries, each classified once
  size_t complete = 0;
  size_t incomplete = 0;
  size_t broken = 0;
  size_t missing = 0;
  size_t skipped_unsampled = 0;  // entries the driver sent unsampled: nothing is expected of them
  std::vector<TraceVerdict> examples;  // up to max_examples per non-complete status, ledger order
  std::vector<BreakEdgeCount> break_edges;  // most frequent first, then by hop
  uint64_t polls = 0;                       // polling rounds over the pending traces
  uint64_t backend_requests = 0;            // GetTrace and FindSpans calls, retries included
  uint64_t elapsed_ns = 0;
  bool deadline_hit = false;
};

// Each entry's expected tree is BuildExpectedTree(scenario, scenario.load.entries[entry.entry]).
// Fragments are searched by tracerig.request_id for each service with missing spans, within the
// entry's times ± 1 minute. Errors: a ledger entry naming a load entry the scenario does not have,
// or "backend unreachable: <reason>" after max_backend_errors failed requests in a row — a backend
// failure is never counted as missing traces. `progress` is called as traces settle.
Result<VerificationSummary> VerifyLedger(
    const Scenario& scenario, const Ledger& ledger, BackendClient& backend,
    const VerifyOptions& options, const Clock& clock, Sleeper& sleeper,
    std::function<void(size_t done, size_t total)> progress = {});

}  // namespace tracerig
