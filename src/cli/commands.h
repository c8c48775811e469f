// The subcommands, one file each (run_command.cc, ...). Each takes its arguments (after the
// subcommand name) and returns the exit code.
#pragma once

#include <string>
#include <vector>

namespace tracerig {

int RunCommand(const std::vector<std::string>& args);
int ValidateCommand(const std::vector<std::string>& args);
int BackendCommand(const std::vector<std::string>& args);
int ServeCommand(const std::vector<std::string>& args);
int CanaryCommand(const std::vector<std::string>& args);
int VerifyCommand(const std::vector<std::string>& args);
int ConformanceServiceCommand(const std::vector<std::string>& args);

const char* TracerigVersion();

}  // namespace tracerig
