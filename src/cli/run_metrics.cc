// The live figures of `tracerig run --metrics-listen` (run_metrics.h).
#include "cli/run_metrics.h"

#include <algorithm>
#include <cstdio>
#include <utility>

#include <fmt/format.h>

#include "canary/timed_backend_client.h"
#include "canary/trace_checks.h"
#include "cli/commands.h"
#include "cli/listen.h"

namespace tracerig {

const FlagSpec kRunMetricsListenFlag = {
    "metrics-listen", "HOST:PORT",
    "serve live figures during the run on http://HOST:PORT/metrics in the Prometheus text format "
    "(the tracerig_canary_* families of `tracerig canary`: traces written, trace checks and their "
    "failures by reason, time to queryable, query durations) and /healthz; port 0 picks a free "
    "one"};

RunMetrics::RunMetrics(const Scenario& scenario)
    : metrics_(TracerigVersion(), {}, /*search=*/false),
      tally_(metrics_, SystemClock::Instance()),
      errors_planned_(ScenarioPlansErrors(scenario)) {}

RunMetrics::~RunMetrics() {
  if (server_) server_->Stop();
}

OrFailure<std::unique_ptr<RunMetrics>> RunMetrics::Start(const ParsedFlags& flags,
                                                         const Scenario& scenario, bool quiet) {
  const std::optional<std::string> listen = flags.Get(kRunMetricsListenFlag.name);
  if (!listen) return std::unique_ptr<RunMetrics>();
  auto endpoint = ParseListenAddress(kRunMetricsListenFlag.name, *listen);
  if (!endpoint) return UsageError(endpoint.error());
  std::unique_ptr<RunMetrics> metrics(new RunMetrics(scenario));
  auto server = MetricsServer::Start(*endpoint, metrics->metrics_.registry());
  if (!server) {
    return FailureFrom(Error{fmt::format("--{}: {}", kRunMetricsListenFlag.name,
                                         server.error().message),
                             server.error().code});
  }
  metrics->server_ = std::move(*server);
  if (!quiet) {
    std::fprintf(stderr, "tracerig: metrics at %s/metrics\n", metrics->server_->Url().c_str());
  }
  return metrics;
}

void RunMetrics::Written(const LedgerEntry& entry) {
  tally_.Written();
  if (auto failure = WriteFailureOf(entry, errors_planned_)) tally_.WriteFailed(*failure);
  // Unsampled requests are not verified: nothing is pending for them.
  if (entry.sampled) tally_.PendingAdd(1);
}

void RunMetrics::Checked(const TraceOutcome& outcome, const BatchingExporter& exporter) {
  RecordTraceCheck(tally_, kFirstCheckAge, outcome,
                   exporter.LossOf(outcome.entry->trace_id).any());
  tally_.PendingAdd(-1);
}

void RunMetrics::VerificationFailed() {
  const uint64_t unchecked = tally_.pending();
  for (uint64_t i = 0; i < unchecked; ++i) {
    tally_.Failed(kCheckTrace, kFirstCheckAge, CheckFailure::kRequestFailed);
  }
  tally_.PendingAdd(-static_cast<int64_t>(unchecked));
}

void RunMetrics::CountExportLosses(const BatchingExporter& exporter) {
  const uint64_t lost = exporter.stats().lost_traces;
  if (lost > lost_traces_seen_) tally_.WriteFailed(WriteFailure::kExport, lost - lost_traces_seen_);
  lost_traces_seen_ = std::max(lost_traces_seen_, lost);
}

BackendClientFactory RunMetrics::Timed(BackendClientFactory inner) {
  return TimedBackendClients(std::move(inner), metrics_);
}

}  // namespace tracerig
