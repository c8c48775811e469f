// Renderers of a RunReport: the terminal summary people read and the versioned JSON report
// machines read (schema version kReportSchemaVersion; documented in docs/REPORT.md).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "core/result.h"
#include "report/run_report.h"

namespace tracerig {

inline constexpr int kReportSchemaVersion = 1;

std::string RenderTerminalSummary(const RunReport& report);
nlohmann::ordered_json ReportToJson(const RunReport& report);

// "reports/quickstart-20261125T120000Z": the scenario name made file-safe plus the UTC start time.
std::string ReportDirName(const RunReport& report);

// Creates `dir` (and parents) and writes `content` to dir/name through a temporary file and a
// rename, so a reader never sees half a report. Returns the file's path.
Result<std::string> WriteReportFile(const std::string& dir, const std::string& name,
                                    const std::string& content);
// report.json (always written: it is the run's record).
Result<std::string> WriteJsonReport(const RunReport& report, const std::string& dir);

}  // namespace tracerig
