// Reads a report.json (schema version kReportSchemaVersion, written by ReportToJson) back into a
// RunReport, so `tracerig report merge/diff/render` can work from the files runs left behind.
//
// What comes back: every field ReportToJson writes. What cannot: the ledger and service endpoints
// (not in the file), times below the second (started_at/finished_at are whole seconds), the exact
// mean of histograms (rebuilt from their buckets: LatencyHistogram::FromBuckets; their exact
// min_ns and max_ns are put back), the variance of expected edge counts (not written) and a
// backend graph's raw links (rebuilt from its edges with calls). So
// ReportToJson(ReadReport(ReportToJson(r))) equals ReportToJson(r) except for those, and a second
// round trip changes nothing. Fields added to version 1 after it first shipped (`run_id`,
// `merged_from`, checks' `enforced`, `fail_on`, `expect` and its time-to-queryable bounds,
// `expected_edges`, the verification's `sampling`, `graph`, `backend_graph` and the late-span
// fields of `time_to_queryable`) are optional and default as Judge would; a report without a
// `run_id` gets one hashed from its content (ContentRunId).
#pragma once

#include <string>
#include <string_view>

#include "core/result.h"
#include "report/run_report.h"

namespace tracerig {

// `source_name` (usually the file's path) starts every error message:
//   runs/a/report.json: not a tracerig report: parse error at byte 17: ...
//   runs/a/report.json: schema_version 2 is not supported (this tracerig reads 1)
//   runs/a/report.json: load.sent: expected a non-negative integer, found "12"
Result<RunReport> ReadReport(std::string_view source_name, std::string_view json_text);

// Reads DIR/report.json, or the file itself when `path` names a file. Errors name the path.
Result<RunReport> ReadReportFile(const std::string& path);

// The path ReadReportFile reads for `path`: path/report.json for a directory, else path.
std::string ReportJsonPath(const std::string& path);

}  // namespace tracerig
