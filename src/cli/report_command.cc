#include "cli/report_command.h"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string_view>

#include <fmt/format.h>

#include "cli/command_failure.h"
#include "cli/flags.h"
#include "core/text.h"
#include "report/diff.h"
#include "report/merge.h"
#include "report/read_report.h"
#include "report/render.h"
#include "report/report_files.h"
#include "report/run_report.h"

namespace tracerig {
namespace {

constexpr const char* kReportUsage = R"(Usage: tracerig report SUBCOMMAND [ARGS...]

Works with the report.json files that 'tracerig run' writes into its report folder
(reports/<scenario>-<UTC time>/). A RUN argument is such a folder or a report.json file.

Subcommands:
  merge RUN... [--out DIR]   merge runs or shards of one scenario: counts summed, histograms
                             merged, checks judged again, reports written to DIR
  diff A B [--threshold PCT] compare run B with run A (throughput, latency percentiles,
                             completeness); exit 1 when B regressed by more than PCT percent
  render RUN --report html   write other formats (html, junit, markdown, json) of a run

Run 'tracerig report SUBCOMMAND --help' for its flags.

Exit codes: merge and render: the report's own exit code (0 pass, 1 a check failed, 3
infrastructure failure) · diff: 0 no regression, 1 B regressed · 2 usage error or unreadable
report (missing file, malformed JSON, other schema version) · 3 a report file could not be written.
)";

// --fail-on, unset when not given.
OrFailure<std::optional<FailOn>> FailOnFlag(const ParsedFlags& flags) {
  auto text = flags.Get("fail-on");
  if (!text) return std::optional<FailOn>{};
  auto fail_on = ParseFailOn(*text);
  if (!fail_on) return UsageError(fail_on.error());
  return std::optional<FailOn>{*fail_on};
}

// Writes the formats and prints each path; exit code 3 when one could not be written.
int WriteAndPrint(const std::string& command, const RunReport& report, const std::string& dir,
                  const ReportFormatSet& formats, bool listed_only) {
  auto written = listed_only ? WriteListedReports(report, dir, formats)
                             : WriteReports(report, dir, formats);
  int code = report.exit_code;
  for (const auto& w : written) {
    if (w) {
      std::printf("report: %s\n", w->c_str());
    } else {
      PrintCommandError("report " + command, w.error().message);
      code = kExitInfrastructure;
    }
  }
  return code;
}

const FlagSpec kFailOnFlag{
    "fail-on", "KINDS",
    "judge again: check kinds that fail the run, comma-separated, or all/none (default: the "
    "report's own)"};

int Merge(const std::vector<std::string>& args) {
  const std::vector<FlagSpec> specs = {
      {"out", "DIR", "folder for the merged reports (default reports/merged-<scenario>-<time>)"},
      {"report", "FORMATS",
       "formats besides report.json: junit, markdown, html, comma-separated (default html)"},
      kFailOnFlag};
  const std::string help = CommandHelp(
      "tracerig report merge RUN... [flags]",
      "Merges the reports of several runs or shards of one scenario into one: request, span and\n"
      "trace counts are summed, latency histograms merged bucket by bucket (so percentiles are\n"
      "those of all requests together), break edges and example traces pooled, and the checks\n"
      "judged again against the scenario's [expect]. Elapsed time is the longest shard's (shards\n"
      "run side by side), target rates add up. RUN is a run's report folder or its report.json;\n"
      "all must be of the same scenario and [expect], and no run may be given twice (also not\n"
      "inside a merged report). Requests of runs made with --no-verify are named in the verdict\n"
      "as not verified.\n\n"
      "Example: tracerig report merge reports/shop-*/ --out reports/shop-all --report html,junit\n\n"
      "Exit codes: the merged report's (0 pass, 1 a check failed, 3 infrastructure failure) ·\n"
      "2 unreadable or incompatible reports.",
      specs);
  ParsedFlags flags;
  if (auto code = ParseCommandFlags("report merge", args, specs, help, flags)) return *code;
  if (flags.positional.empty()) {
    return ReportFailure(
        "report merge",
        UsageError(
            "give at least one run folder or report.json (see 'tracerig report merge --help')"));
  }
  auto formats = ParseReportFormatList(flags.Get("report").value_or("html"));
  if (!formats) {
    return ReportFailure("report merge", UsageError(formats.error().message));
  }
  auto fail_on = FailOnFlag(flags);
  if (!fail_on) return ReportFailure("report merge", fail_on.failure());
  std::vector<RunReport> reports;
  std::vector<std::string> files;
  for (const auto& path : flags.positional) {
    auto report = ReadReportFile(path);
    if (!report) {
      return ReportFailure("report merge", UsageError(report.error().message));
    }
    reports.push_back(std::move(*report));
    files.push_back(ReportJsonPath(path));
  }
  auto merged = MergeReports(reports, *fail_on, 5, files);
  if (!merged) {
    return ReportFailure("report merge",
                         UsageError(merged.error().message + " (reports in the order given: " +
                                    fmt::format("{}", fmt::join(flags.positional, ", ")) + ")"));
  }
  const std::string dir =
      flags.Get("out").value_or((std::filesystem::path("reports") /
                                 ("merged-" + ReportDirName(*merged))).string());
  std::fputs(RenderTerminalSummary(*merged).c_str(), stdout);
  return WriteAndPrint("merge", *merged, dir, *formats, false);
}

int Diff(const std::vector<std::string>& args) {
  const std::vector<FlagSpec> specs = {
      {"threshold", "PCT",
       "how much worse B may be than A, in percent of A, before it counts as a regression "
       "(default 10)"},
      {"force", "",
       "compare runs of different scenarios, target rates, durations or load models anyway (a "
       "warning line names what differs)"}};
  const std::string help = CommandHelp(
      "tracerig report diff A B [flags]",
      "Compares run B with run A, e.g. the same scenario against two backend versions, and prints\n"
      "a table: throughput (ok responses per second), corrected latency p50/p90/p99/p99.9/max,\n"
      "uncorrected p50/p99, completeness, broken traces and dropped spans (as fractions). B has\n"
      "regressed on a metric when it is worse than A by more than PCT percent of A's value:\n"
      "slower, less throughput, lower completeness; a rate that was 0 in A regresses at any\n"
      "value above 0. Metrics without data on either side are shown as — and never regress.\n"
      "Both runs must be of the same scenario, target rate, duration and load model (else exit\n"
      "2 naming what differs; --force compares them with a warning).\n\n"
      "Example: tracerig report diff reports/shop-jaeger-1.57 reports/shop-jaeger-1.60 "
      "--threshold 5\n\n"
      "Exit codes: 0 no regression beyond the threshold · 1 B regressed · 2 usage error,\n"
      "unreadable report or runs of different load without --force.",
      specs);
  ParsedFlags flags;
  if (auto code = ParseCommandFlags("report diff", args, specs, help, flags)) return *code;
  if (flags.positional.size() != 2) {
    return ReportFailure(
        "report diff",
        UsageError(
            "give exactly two runs, A (the baseline) and B (see 'tracerig report diff --help')"));
  }
  double threshold = 10;
  if (auto t = flags.Get("threshold")) {
    char* end = nullptr;
    threshold = std::strtod(t->c_str(), &end);
    if (t->empty() || *end != '\0' || !(threshold >= 0) || threshold > 1e6) {
      return ReportFailure("report diff",
                           UsageError(fmt::format(
                               "--threshold \"{}\" must be a percentage like 10 (0 or more)", *t)));
    }
  }
  std::vector<RunReport> reports;
  for (const auto& path : flags.positional) {
    auto report = ReadReportFile(path);
    if (!report) {
      return ReportFailure("report diff", UsageError(report.error().message));
    }
    reports.push_back(std::move(*report));
  }
  const ReportDiff diff = DiffReports(reports[0], reports[1], threshold);
  if (!diff.differences.empty() && !flags.Has("force")) {
    return ReportFailure(
        "report diff",
        UsageError(fmt::format("{} and {} are runs of different load: {}; give --force to "
                               "compare them anyway",
                               ReportJsonPath(flags.positional[0]),
                               ReportJsonPath(flags.positional[1]),
                               fmt::join(diff.differences, "; "))));
  }
  std::fputs(RenderDiff(diff, ReportJsonPath(flags.positional[0]),
                        ReportJsonPath(flags.positional[1]))
                 .c_str(),
             stdout);
  return diff.regressed ? kExitConformanceFailure : kExitPass;
}

int Render(const std::vector<std::string>& args) {
  const std::vector<FlagSpec> specs = {
      {"report", "FORMATS", "formats to write: html, junit, markdown, json, comma-separated "
                            "(default html)"},
      {"out", "DIR", "where to write them (default: the run's own folder)"},
      kFailOnFlag};
  const std::string help = CommandHelp(
      "tracerig report render RUN [flags]",
      "Writes other formats of a finished run from its report.json, e.g. the HTML report of a run\n"
      "made without --report html, or JUnit for a CI system. RUN is the run's report folder or its\n"
      "report.json. With --fail-on the checks are judged again first (e.g. --fail-on\n"
      "completeness,broken-propagation to see which failures were only warnings).\n\n"
      "Example: tracerig report render reports/shop-20261125T120000Z --report html,junit\n\n"
      "Exit codes: the report's (0 pass, 1 a check failed, 3 infrastructure failure) · 2 unreadable\n"
      "report · 3 a file could not be written.",
      specs);
  ParsedFlags flags;
  if (auto code = ParseCommandFlags("report render", args, specs, help, flags)) return *code;
  if (flags.positional.size() != 1) {
    return ReportFailure(
        "report render",
        UsageError(
            "give exactly one run folder or report.json (see 'tracerig report render --help')"));
  }
  auto formats = ParseReportFormatList(flags.Get("report").value_or("html"));
  if (!formats) {
    return ReportFailure("report render", UsageError(formats.error().message));
  }
  auto fail_on = FailOnFlag(flags);
  if (!fail_on) return ReportFailure("report render", fail_on.failure());
  const std::string& run = flags.positional[0];
  auto report = ReadReportFile(run);
  if (!report) {
    return ReportFailure("report render", UsageError(report.error().message));
  }
  if (*fail_on) {
    report->fail_on = **fail_on;
    Judge(*report);
  }
  const std::string dir = flags.Get("out").value_or(
      std::filesystem::path(ReportJsonPath(run)).parent_path().string());
  return WriteAndPrint("render", *report, dir.empty() ? "." : dir, *formats, true);
}

}  // namespace

int ReportCommand(const std::vector<std::string>& args) {
  if (args.empty()) {
    std::fputs(kReportUsage, stderr);
    return ReportFailure("report", UsageError(""));  // the usage says it all
  }
  const std::string& sub = args[0];
  const std::vector<std::string> rest(args.begin() + 1, args.end());
  if (sub == "--help" || sub == "-h" || sub == "help") {
    if (sub == "help" && !rest.empty()) return ReportCommand({rest[0], "--help"});
    std::fputs(kReportUsage, stdout);
    return kExitPass;
  }
  if (sub == "merge") return Merge(rest);
  if (sub == "diff") return Diff(rest);
  if (sub == "render") return Render(rest);
  constexpr std::string_view kSubcommands[] = {"merge", "diff", "render", "help"};
  std::string_view usage = kReportUsage;
  usage.remove_suffix(1);  // ReportFailure ends the line
  return ReportFailure("report", UsageError(fmt::format("unknown subcommand \"{}\"{}\n\n{}", sub,
                                                        DidYouMean(sub, kSubcommands, 2), usage)));
}

}  // namespace tracerig
