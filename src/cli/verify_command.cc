// `tracerig verify`: verify an earlier run's ledger against a running backend, without load.
#include <cstdio>
#include <filesystem>
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
#include "cli/run_files.h"
#include "cli/scenario_overrides.h"
#include "cli/verify_flags.h"
#include "core/clock.h"
#include "driver/ledger_io.h"
#include "report/render.h"
#include "report/report_files.h"
#include "report/run_report.h"
#include "verifier/verify.h"

namespace tracerig {
namespace {

// The ledger's scenario against the file given: another scenario's file, or an edited one, would
// fail every trace for a reason that is not the backend's. Ledgers without a hash are checked by
// name only.
Status CheckLedgerScenario(const std::string& ledger_path, const LedgerFile& ledger,
                           const std::string& scenario_path, const Scenario& scenario) {
  if (ledger.scenario != scenario.name) {
    return MakeError(fmt::format(
        "{} was written by a run of scenario \"{}\"; {} is scenario \"{}\" (give the scenario "
        "file that run used)",
        ledger_path, ledger.scenario, scenario_path, scenario.name));
  }
  if (!ledger.scenario_hash.empty()) {
    const std::string hash = ScenarioFileHash(scenario_path);
    if (hash != ledger.scenario_hash) {
      return MakeError(fmt::format(
          "{} was written by a run of scenario \"{}\"; {} is scenario \"{}\" but not the file "
          "the run used (content hash {}, the run's {}): give the file as it was for that run",
          ledger_path, ledger.scenario, scenario_path, scenario.name, hash, ledger.scenario_hash));
    }
  }
  return Ok{};
}

// What a verify-only run knows of the load: the requests the ledger holds and their outcomes as
// the run recorded them. Rates, latencies and spans were measured by that run, not this one.
void SetRecordedLoad(const Ledger& entries, RunReport& report) {
  report.load_measured = false;
  report.load_model = "";
  report.load.ledger = entries;
  report.load.sent = entries.size();
  for (const auto& e : entries) {
    switch (e.outcome) {
      case RequestOutcome::kOk:
        ++report.load.ok;
        break;
      case RequestOutcome::kHttpError:
        ++report.load.http_errors;
        break;
      case RequestOutcome::kTransportError:
        ++report.load.transport_errors;
        break;
    }
  }
}

// The verification of the ledger, the flags parsed.
CommandOutcome VerifyRecordedRun(const ParsedFlags& flags) {
  if (flags.positional.size() != 1 || !flags.Has("ledger") || !flags.Has("backend")) {
    return UsageError(
        "give a scenario file, --ledger FILE and --backend URL (see 'tracerig verify --help')");
  }
  auto formats = ParseReportFormatList(flags.Get("report").value_or("json"));
  if (!formats) return UsageError(formats.error());
  auto scenario = LoadScenario(flags.positional[0]);
  if (!scenario) return scenario.failure();
  const std::string ledger_path = *flags.Get("ledger");
  std::ifstream in(ledger_path, std::ios::binary);
  if (!in) return UsageError(fmt::format("{}: cannot read file", ledger_path));
  std::stringstream text;
  text << in.rdbuf();
  auto ledger = ParseLedger(ledger_path, text.str());
  if (!ledger) return UsageError(ledger.error());
  if (auto s = CheckLedgerScenario(ledger_path, *ledger, flags.positional[0], *scenario); !s) {
    return UsageError(s.error());
  }
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
  const std::string report_root = flags.Get("report-dir").value_or("reports");
  if (auto s = CheckReportDir(report_root); !s) return UsageError(s.error());
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
  SetRecordedLoad(ledger->entries, report);
  report.started_unix_nano = SystemClock::Instance().NowUnixNano();
  auto verified = VerifyLedger(*scenario, ledger->entries, *clients, options,
                               SystemClock::Instance(), sleeper);
  if (verified) {
    report.verification = std::move(*verified);
  } else {
    report.verification_error = verified.error().message;
    report.verification_error_code = verified.error().code;
  }
  report.finished_unix_nano = SystemClock::Instance().NowUnixNano();
  Judge(report);
  const std::string report_dir =
      (std::filesystem::path(report_root) / ("verify-" + ReportDirName(report))).string();
  std::vector<Result<std::string>> written = WriteReports(report, report_dir, *formats);
  std::fputs(RenderTerminalSummary(report).c_str(), stdout);
  for (const auto& w : written) {
    if (w) {
      std::printf("report: %s\n", w->c_str());
    } else {
      PrintCommandError("verify", w.error().message);
      if (report.exit_code == kExitPass) report.exit_code = kExitInfrastructure;
    }
  }
  std::fflush(stdout);
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
      {"report", "FORMATS",
       "report formats, comma-separated: json (always), junit, markdown, "
       "html"},
      {"report-dir", "DIR",
       "where the report folder verify-<scenario>-<UTC time>/ is created "
       "(default reports/)"},
  };
  std::string help = CommandHelp(
      "tracerig verify SCENARIO.toml --ledger FILE --backend jaeger://HOST:PORT",
      "Verifies the traces of an earlier run (its ledger) against a backend, without generating\n"
      "load, and writes a report as run does. The scenario gives the expected call trees; it must\n"
      "be the file the run used: the ledger names its scenario and the file's content hash, and\n"
      "another scenario's file or an edited one is refused (exit 2). The load figures (rates,\n"
      "latencies, spans exported) belong to the run and are not known here; the report gives the\n"
      "ledger's requests and their outcomes as the run recorded them.",
      specs);
  ParsedFlags flags;
  if (auto code = ParseCommandFlags("verify", args, specs, help, flags)) return *code;
  return ExitCodeOf("verify", VerifyRecordedRun(flags));
}

}  // namespace tracerig
