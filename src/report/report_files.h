// Which report formats a run writes (--report json,junit,markdown,html) and writing them into the
// run's report folder, so `tracerig run` and `tracerig report merge/render` write the same files.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "report/run_report.h"

namespace tracerig {

// report.json is always written by WriteReports: it is the run's record and what `tracerig
// report` reads; `json` says whether it was listed (`tracerig report render` writes only those).
struct ReportFormatSet {
  bool json = false;      // report.json
  bool junit = false;     // report.xml
  bool markdown = false;  // report.md
  bool html = false;      // report.html
  bool operator==(const ReportFormatSet&) const = default;
};

// Parses "json,junit,markdown,html" (any subset, any order). Errors name the flag and the value:
// --report: unknown format "xml" (formats: json, junit, markdown, html)
Result<ReportFormatSet> ParseReportFormatList(std::string_view text);

// Writes report.json and the formats asked for into `dir` (created if needed), each atomically.
// One result per file, in the order json, xml, md, html: the path written or why not.
std::vector<Result<std::string>> WriteReports(const RunReport& report, const std::string& dir,
                                              const ReportFormatSet& formats);
// The same, but report.json only when formats.json is set.
std::vector<Result<std::string>> WriteListedReports(const RunReport& report,
                                                    const std::string& dir,
                                                    const ReportFormatSet& formats);

}  // namespace tracerig
