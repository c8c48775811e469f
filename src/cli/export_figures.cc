// What tracerig's exporter did, in report words (export_figures.h).
#include "cli/export_figures.h"

#include <vector>

#include <fmt/format.h>

namespace tracerig {

std::string ExportUrl(const BackendPlan& plan) {
  const Endpoint& e = plan.export_target;
  return fmt::format("{}://{}:{}{}{}", ExportProtocolName(plan.protocol), e.host, e.port, e.path,
                     plan.export_tls ? " (TLS)" : "");
}

ExportFigures ExportFiguresOf(const ExporterStats& ex, bool flushed, const std::string& endpoint) {
  ExportFigures f;
  f.submitted = ex.submitted;
  f.exported = ex.exported;
  f.dropped_queue_full = ex.dropped_queue_full;
  f.dropped_failed = ex.dropped_failed;
  f.rejected = ex.rejected;
  f.retries = ex.retries;
  f.batches = ex.batches;
  f.flushed = flushed;
  f.endpoint = endpoint;
  auto add = [&f](const char* reason, uint64_t spans, const std::string& first_error) {
    if (spans > 0) f.failures.push_back({reason, spans, first_error});
  };
  add("permanent", ex.dropped_permanent, ex.first_permanent_error);
  add("retries-exhausted", ex.dropped_retries_exhausted, ex.first_retries_exhausted_error);
  add("shutdown", ex.dropped_shutdown, ex.first_shutdown_error);
  f.lost_traces = ex.lost_traces;
  f.lost_untracked_spans = ex.lost_untracked_spans;
  return f;
}

std::string ExportLossOf(const BatchingExporter& exporter, const std::string& endpoint,
                         const TraceId& trace) {
  const TraceLoss loss = exporter.LossOf(trace);
  std::vector<std::string> why;
  if (loss.export_failed) {
    why.push_back(fmt::format("export to {} failed: {}", endpoint,
                              DescribeExportFailures(
                                  ExportFiguresOf(exporter.stats(), true, endpoint))));
  }
  if (loss.queue_full) why.push_back("the exporter's queue was full");
  return fmt::format("{}", fmt::join(why, "; "));
}

}  // namespace tracerig
