// `tracerig serve`: the scenario's services and backend up until Ctrl-C, for external load.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "cli/command_failure.h"
#include "cli/commands.h"
#include "cli/flags.h"
#include "cli/interrupt.h"
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
  const std::atomic<bool>& stop = InstallInterruptHandler(kStopInterruptMessage);
  RigOptions options;
  options.service_threads = std::max(1u, std::thread::hardware_concurrency());
  auto rig = StartRig(*scenario, flags, options, SystemClock::Instance());
  if (!rig) return rig.failure();
  BatchingExporter& exporter = *rig->exporter;
  TopologyRuntime& topology = *rig->topology;
  std::printf("backend: %s\n", rig->backend.plan.Describe().c_str());
  for (const auto& s : topology.services()) std::printf("%-20s %s\n", s.name.c_str(), s.url.c_str());
  std::printf("Ctrl-C to stop.\n");
  std::fflush(stdout);
  while (!stop.load()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
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
  std::vector<FlagSpec> specs = {kLoadFlags[3], kLoadFlags[4], kLoadFlags[5], kLoadFlags[6]};
  std::string help = CommandHelp(
      "tracerig serve SCENARIO.toml [flags]",
      "Starts the scenario's services (and the embedded backend unless another is named) and keeps\n"
      "them up until Ctrl-C, for external load or manual poking. Prints each service's URL.\n"
      "Requests may carry tracerig-request-id / tracerig-seq / tracerig-hop headers; without them\n"
      "the services still trace every request.",
      specs);
  ParsedFlags flags;
  if (auto code = ParseCommandFlags("serve", args, specs, help, flags)) return *code;
  return ExitCodeOf("serve", ServeScenario(flags));
}

}  // namespace tracerig
