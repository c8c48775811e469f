// `tracerig validate`: parse and validate scenario files without running them.
#include <fmt/format.h>

#include <cstdio>
#include <string>
#include <vector>

#include "cli/command_failure.h"
#include "cli/commands.h"
#include "cli/flags.h"
#include "cli/scenario_overrides.h"
#include "report/run_report.h"
#include "topology/parse_values.h"

namespace tracerig {

int ValidateCommand(const std::vector<std::string>& args) {
  static const std::vector<FlagSpec> specs = {};
  ParsedFlags flags;
  std::string help =
      CommandHelp("tracerig validate SCENARIO.toml...",
                  "Parses and validates scenario files without running them. Every problem\n"
                  "is printed as file:line:column: message; the exit code is 2 if any file\n"
                  "has a problem, 0 otherwise. Warnings (settings that have no effect) are\n"
                  "printed as file:line:column: warning: message and leave the exit code 0.",
                  specs);
  if (auto code = ParseCommandFlags("validate", args, specs, help, flags)) return *code;
  if (flags.positional.empty()) {
    return ReportFailure("validate", UsageError("give at least one scenario file (see 'tracerig "
                                                "validate --help')"));
  }
  int code = kExitPass;
  for (const auto& path : flags.positional) {
    auto scenario = LoadScenario(path);
    if (!scenario) {
      code = ReportFailure("validate", scenario.failure());
      continue;
    }
    size_t routes = 0;
    size_t consumers = 0;
    for (const auto& s : scenario->services) {
      routes += s.routes.size();
      consumers += s.consumers.size();
    }
    // Consumers (and where their messages go) only for scenarios that have them.
    const std::string messaging =
        consumers == 0
            ? std::string()
            : fmt::format(", {} consumer{}, broker {}", consumers, consumers == 1 ? "" : "s",
                          scenario->broker.IsEmbedded() ? "embedded"
                                                        : RedactedBrokerUrl(scenario->broker.url));
    const size_t services = scenario->services.size();
    std::printf("%s: ok (scenario \"%s\", %zu service%s, %zu route%s%s)\n", path.c_str(),
                scenario->name.c_str(), services, services == 1 ? "" : "s", routes,
                routes == 1 ? "" : "s", messaging.c_str());
  }
  return code;
}

}  // namespace tracerig
