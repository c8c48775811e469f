// `tracerig serve`: the scenario's services and backend up until Ctrl-C, for external load.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "cli/command_failure.h"
#include "cli/commands.h"
#include "cli/flags.h"
#include "cli/interrupt.h"
#include "cli/own_service.h"
#include "cli/rig.h"
#include "cli/scenario_overrides.h"
#include "core/clock.h"
#include "report/run_report.h"

namespace tracerig {
namespace {

// The services of the scenario, its flags parsed: up until Ctrl-C.
CommandOutcome ServeScenario(const ParsedFlags& flags) {
  if (flags.positional.size() != 1) {
    return UsageError("give exactly one scenario file (see 'tracerig serve --help')");
  }
  auto scenario = LoadScenario(flags.positional[0]);
  if (!scenario) return scenario.failure();
  if (auto s = ApplyBrokerOverride(flags, *scenario); !s) return UsageError(s.error());
  const std::atomic<bool>& stop = InstallInterruptHandler(kStopInterruptMessage);
  RigOptions options;
  options.service_threads = std::max(1u, std::thread::hardware_concurrency());
  auto rig = StartRig(*scenario, flags, options, SystemClock::Instance());
  if (!rig) return rig.failure();
  BatchingExporter& exporter = *rig->exporter;
  TopologyRuntime& topology = *rig->topology;
  std::printf("backend: %s\n", rig->backend.plan.Describe().c_str());
  for (const auto& s : topology.services()) std::printf("%-20s %s\n", s.name.c_str(), s.url.c_str());
  // The services started from a `command` log into a fresh folder, kept after serve ends.
  std::string log_dir;
  const bool commands = std::any_of(scenario->services.begin(), scenario->services.end(),
                                    [](const Service& s) { return !s.command.empty(); });
  if (commands) {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "tracerig-serve-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) {
      return InfrastructureError("cannot create a folder for the services' output in " +
                                 std::filesystem::temp_directory_path().string());
    }
    log_dir = pattern;
    std::printf("output of started services: %s\n", log_dir.c_str());
  }
  std::fflush(stdout);
  OwnServices own_services({log_dir, [](const std::string& line) {
                              std::printf("%s\n", line.c_str());
                              std::fflush(stdout);
                            }});
  if (auto done = StartOwnServices(*scenario, flags, *rig, stop, own_services)) return *done;
  std::printf("Ctrl-C to stop.\n");
  std::fflush(stdout);
  while (!stop.load()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  own_services.Stop();
  topology.Stop();
  exporter.Shutdown(std::chrono::seconds(10));
  auto stats = exporter.stats();
  std::printf("stopped: %llu spans exported, %llu dropped\n",
              static_cast<unsigned long long>(stats.exported),
              static_cast<unsigned long long>(stats.dropped_queue_full + stats.dropped_failed));
  return kExitPass;
}

}  // namespace

int ServeCommand(const std::vector<std::string>& args) {
  std::vector<FlagSpec> specs = {kLoadFlags[3], kLoadFlags[4], kLoadFlags[5],
                                 kLoadFlags[6], kBrokerFlag,   kUrlsEnvFlag};
  std::string help = CommandHelp(
      "tracerig serve SCENARIO.toml [flags]",
      "Starts the scenario's services (and the embedded backend unless another is named) and keeps\n"
      "them up until Ctrl-C, for external load or manual poking. Prints each service's URL.\n"
      "Requests may carry tracerig-request-id / tracerig-seq / tracerig-hop headers; without them\n"
      "the services still trace every request.\n\n"
      "External services with a `command` are started once these are up (OTEL_SERVICE_NAME and\n"
      "the --urls-env variables in their environment, output in a temporary folder it prints),\n"
      "waited for until their URL accepts connections, and stopped at Ctrl-C.",
      specs);
  ParsedFlags flags;
  if (auto code = ParseCommandFlags("serve", args, specs, help, flags)) return *code;
  return ExitCodeOf("serve", ServeScenario(flags));
}

}  // namespace tracerig
