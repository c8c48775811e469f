// What tracerig's exporter did, in the words `run` and `canary` report it: where it exported,
// its figures for a report, and why it lost spans of a trace (VerifyOptions::export_loss).
#pragma once

#include <string>

#include "cli/backend_plan.h"
#include "core/ids.h"
#include "export/exporter.h"
#include "report/run_report.h"

namespace tracerig {

// Where spans are exported, for messages: "otlp-http://127.0.0.1:4318/v1/traces".
std::string ExportUrl(const BackendPlan& plan);

ExportFigures ExportFiguresOf(const ExporterStats& ex, bool flushed, const std::string& endpoint);

// Why the exporter lost spans of a trace, for VerifyOptions::export_loss ("" when it did not).
std::string ExportLossOf(const BatchingExporter& exporter, const std::string& endpoint,
                         const TraceId& trace);

}  // namespace tracerig
