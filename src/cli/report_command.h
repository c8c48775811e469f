// `tracerig report merge|diff|render`: working with the report.json files runs leave behind.
#pragma once

#include <string>
#include <vector>

namespace tracerig {

// args are what follows "report" on the command line. Returns the exit code (docs/REPORT.md).
int ReportCommand(const std::vector<std::string>& args);

}  // namespace tracerig
