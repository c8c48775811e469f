// `tracerig run --metrics-listen HOST:PORT`: the canary's tracerig_canary_* figures, live while a
// run's load goes on (traces written, trace checks at age 0s as each trace is verified, time to
// queryable, query durations), served on /metrics and /healthz until the run ends.
#pragma once

#include <memory>
#include <string>

#include "canary/canary_metrics.h"
#include "canary/canary_tally.h"
#include "canary/metrics_server.h"
#include "cli/command_failure.h"
#include "cli/flags.h"
#include "core/ledger.h"
#include "export/exporter.h"
#include "topology/scenario.h"
#include "verifier/verify.h"

namespace tracerig {

extern const FlagSpec kRunMetricsListenFlag;

class RunMetrics {
 public:
  // Serving from now on; nullptr without --metrics-listen. A bad address is a usage error, a port
  // in use an infrastructure failure. Prints where it serves unless `quiet`.
  static OrFailure<std::unique_ptr<RunMetrics>> Start(const ParsedFlags& flags,
                                                      const Scenario& scenario, bool quiet);
  ~RunMetrics();

  // A request's final ledger entry (DriverOptions::on_complete): thread-safe.
  void Written(const LedgerEntry& entry);
  // For VerifyOptions::on_trace: a trace check at age 0s per verified trace. `exporter` must
  // outlive the verification.
  void Checked(const TraceOutcome& outcome, const BatchingExporter& exporter);
  // Query clients whose requests are timed into query_duration_seconds.
  BackendClientFactory Timed(BackendClientFactory inner);
  // Verification ended with an error (the backend unreachable): every trace written and not yet
  // checked is a failed check with reason request_failed.
  void VerificationFailed();
  // Traces the exporter lost since the last call, as write_failures_total{reason="export"}.
  // Call from one thread (the run's progress callback, then once at the end).
  void CountExportLosses(const BatchingExporter& exporter);

  const MetricsRegistry& registry() const { return metrics_.registry(); }

 private:
  RunMetrics(const Scenario& scenario);

  CanaryMetrics metrics_;
  CanaryTally tally_;  // writes, checks and traces pending, as the canary counts them
  const bool errors_planned_;
  uint64_t lost_traces_seen_ = 0;  // CountExportLosses' caller's thread only
  std::unique_ptr<MetricsServer> server_;  // last: stopped first
};

}  // namespace tracerig
