// The files around a run that are checked before it starts: the report folder (a run must not
// drive its load only to fail writing the report) and the scenario file's content hash, which the
// ledger carries so `verify` can refuse a different or edited scenario.
#pragma once

#include <string>

#include "core/result.h"

namespace tracerig {

// Whether `dir` is, or can be created as, a directory tracerig may write in: its deepest existing
// part must be a writable directory. Nothing is created. Errors read `--report-dir "DIR": PROBLEM`.
Status CheckReportDir(const std::string& dir);

// ScenarioContentHash (driver/ledger_io.h) of the file at `path`; "" when it cannot be read.
std::string ScenarioFileHash(const std::string& path);

}  // namespace tracerig
