// Which run a report is of: the run id report.json carries, so `tracerig report merge` can refuse
// to count one run twice, and the notes a merged report makes about runs that were not verified.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "report/run_report.h"

namespace tracerig {

// report.run_id, or for a report made in this process (empty run_id) 16 hex digits hashed from
// what tells runs apart: the start time to the nanosecond, scenario, file, seed, backend and
// version. The same report value always gives the same id, so every file written for it agrees.
std::string RunIdOf(const RunReport& report);

// 16 hex digits of a 64-bit FNV-1a hash of `text`: the id of a report.json written before run
// ids existed (a hash of its whole content, so copies of one file are recognised).
std::string ContentRunId(std::string_view text);

// The runs a report holds: its merged_from, or the run itself.
std::vector<MergedRun> RunsOf(const RunReport& report, const std::string& file);

// "; 120 of 240 requests not verified (from b/report.json, run with --no-verify)" for a merged
// report some of whose runs were made with --no-verify and some not; "" otherwise.
std::string UnverifiedNote(const RunReport& report);

}  // namespace tracerig
