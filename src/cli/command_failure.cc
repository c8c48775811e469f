// Printing a command's failure and mapping it to its exit code.
#include "cli/command_failure.h"

#include <cstdio>
#include <string>

#include "report/run_report.h"

namespace tracerig {

void PrintCommandError(std::string_view command, std::string_view message) {
  std::fprintf(stderr, "tracerig %s: %s\n", std::string(command).c_str(),
               std::string(message).c_str());
}

int ReportFailure(std::string_view command, const CommandFailure& failure) {
  if (!failure.message.empty()) PrintCommandError(command, failure.message);
  switch (failure.kind) {
    case FailureKind::kUsage:
      return kExitUsage;
    case FailureKind::kInfrastructure:
      return kExitInfrastructure;
  }
  return kExitInfrastructure;
}

int ExitCodeOf(std::string_view command, const CommandOutcome& outcome) {
  return outcome ? *outcome : ReportFailure(command, outcome.failure());
}

}  // namespace tracerig
