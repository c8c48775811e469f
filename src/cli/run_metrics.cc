// The live figures of `tracerig run --metrics-listen` (run_metrics.h).
#include "cli/run_metrics.h"

#include <chrono>
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

namespace {

double NowUnixSeconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

RunMetrics::RunMetrics(const Scenario& scenario)
    : metrics_(TracerigVersion(), {}, /*search=*/false),
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
  metrics_.TraceWritten();
  if (auto failure = WriteFailureOf(entry, errors_planned_)) metrics_.WriteFailed(*failure);
  // Unsampled requests are not verified: nothing is pending for them.
  if (entry.sampled) written_.fetch_add(1, std::memory_order_relaxed);
  UpdatePending();
}

void RunMetrics::Checked(const TraceOutcome& outcome, const BatchingExporter& exporter) {
  const TraceLoss loss = exporter.LossOf(outcome.entry->trace_id);
  RecordTraceCheck(metrics_, kFirstCheckAge, outcome, loss.any(),
                   NowUnixSeconds());
  checked_.fetch_add(1, std::memory_order_relaxed);
  UpdatePending();
}

void RunMetrics::UpdatePending() {
  const uint64_t written = written_.load(std::memory_order_relaxed);
  const uint64_t checked = checked_.load(std::memory_order_relaxed);
  metrics_.SetPending(written > checked ? written - checked : 0);
}

void RunMetrics::VerificationFailed() {
  const uint64_t written = written_.load(std::memory_order_relaxed);
  uint64_t checked = checked_.load(std::memory_order_relaxed);
  for (; checked < written; ++checked) {
    metrics_.CheckFailed(kCheckTrace, kFirstCheckAge, CheckFailure::kRequestFailed);
  }
  checked_.store(checked, std::memory_order_relaxed);
  UpdatePending();
}

void RunMetrics::CountExportLosses(const BatchingExporter& exporter) {
  const uint64_t lost = exporter.stats().lost_traces;
  for (; lost_traces_seen_ < lost; ++lost_traces_seen_) metrics_.WriteFailed(WriteFailure::kExport);
}

BackendClientFactory RunMetrics::Timed(BackendClientFactory inner) {
  return TimedBackendClients(std::move(inner), metrics_);
}

}  // namespace tracerig
