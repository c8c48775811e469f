// `tracerig verify`: verify an earlier run's ledger against a running backend, without load.
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "cli/backend_plan.h"
#include "cli/command_failure.h"
#include "cli/commands.h"
#include "cli/flags.h"
#include "cli/scenario_overrides.h"
#include "cli/verify_flags.h"
#include "core/clock.h"
#include "driver/ledger_io.h"
#include "report/render.h"
#include "report/run_report.h"
#include "verifier/verify.h"

namespace tracerig {
namespace {

// The verification of the ledger, the flags parsed.
CommandOutcome VerifyRecordedRun(const ParsedFlags& flags) {
  if (flags.positional.size() != 1 || !flags.Has("ledger") || !flags.Has("backend")) {
    return UsageError(
        "give a scenario file, --ledger FILE and --backend URL (see 'tracerig verify --help')");
  }
  auto scenario = LoadScenario(flags.positional[0]);
  if (!scenario) return scenario.failure();
  const std::string ledger_path = *flags.Get("ledger");
  std::ifstream in(ledger_path, std::ios::binary);
  if (!in) return UsageError(fmt::format("{}: cannot read file", ledger_path));
  std::stringstream text;
  text << in.rdbuf();
  auto ledger = ParseLedger(ledger_path, text.str());
  if (!ledger) return UsageError(ledger.error());
  auto plan = PlanBackend({}, flags.Get("backend"), std::nullopt, [](const std::string&) {
    return std::optional<std::string>{};
  });
  if (!plan || plan->embedded) {
    return UsageError(plan ? fmt::format("--backend must name a running backend ({} with "
                                         "HOST:PORT)",
                                         QuerySchemeList())
                           : plan.error().message);
  }
  auto parsed_options = ParseRunVerifyOptions(flags);
  if (!parsed_options) return UsageError(parsed_options.error());
  VerifyOptions options = std::move(*parsed_options);
  auto clients = MakeQueryClients(*plan, flags);
  if (!clients) return UsageError(clients.error());
  ThreadSleeper sleeper;
  RunReport report;
  report.tracerig_version = TracerigVersion();
  report.scenario_name = scenario->name;
  report.scenario_file = flags.positional[0];
  report.seed = ledger->seed;
  report.backend = (*clients)()->Describe();
  report.expect = scenario->expect;
  report.expected_edges = ExpectedGraphEdges(*scenario);
  if (auto s = ApplyFailOn(flags, report); !s) return UsageError(s.error());
  report.load.ledger = ledger->entries;
  report.load.sent = ledger->entries.size();
  report.started_unix_nano = SystemClock::Instance().NowUnixNano();
  auto verified = VerifyLedger(*scenario, ledger->entries, *clients, options,
                               SystemClock::Instance(), sleeper);
  if (verified) {
    report.verification = std::move(*verified);
  } else {
    report.verification_error = verified.error().message;
  }
  report.finished_unix_nano = SystemClock::Instance().NowUnixNano();
  Judge(report);
  std::fputs(RenderTerminalSummary(report).c_str(), stdout);
  return report.exit_code;
}

}  // namespace

int VerifyCommand(const std::vector<std::string>& args) {
  static const std::vector<FlagSpec> specs = {
      {"ledger", "FILE", "the ledger.jsonl written by an earlier 'tracerig run' (required)"},
      {"backend", "URL",
       "where to read spans (required): " + QuerySchemeList() +
           " with HOST:PORT (+https for TLS: jaeger+https://; tracerig:// for a `tracerig "
           "backend`)"},
      {"verify-timeout", "DURATION", "overall deadline for verification (default 60s)"},
      kQueryTimeoutFlag,
      kPollIntervalFlag,
      kSettleTimeFlag,
      kFailOnFlag,
  };
  std::string help = CommandHelp(
      "tracerig verify SCENARIO.toml --ledger FILE --backend jaeger://HOST:PORT",
      "Verifies the traces of an earlier run (its ledger) against a backend, without generating\n"
      "load. The scenario gives the expected call trees; it must be the one the run used.",
      specs);
  ParsedFlags flags;
  if (auto code = ParseCommandFlags("verify", args, specs, help, flags)) return *code;
  return ExitCodeOf("verify", VerifyRecordedRun(flags));
}

}  // namespace tracerig
