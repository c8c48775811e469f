// `tracerig run --find-max-ingest`: parses the search's flags, starts the rig once and runs each
// step of the search (load, flush, verification) on it.
#include "cli/saturation_command.h"

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/interrupt.h"
#include "cli/progress_printer.h"
#include "cli/rig.h"
#include "cli/saturation.h"
#include "cli/scenario_overrides.h"
#include "cli/verify_flags.h"
#include "core/rng.h"
#include "core/units.h"
#include "driver/load_driver.h"
#include "driver/progress.h"
#include "driver/schedule.h"
#include "net/address.h"
#include "report/render.h"
#include "report/run_report.h"
#include "topology/expected_tree.h"
#include "verifier/live_verification.h"
#include "verifier/verify.h"

namespace tracerig {
namespace {

// "5%" or "0.05" as a fraction.
std::optional<double> ParseFraction(std::string_view text) {
  std::string s(text);
  const bool percent = !s.empty() && s.back() == '%';
  if (percent) s.pop_back();
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (s.empty() || *end != '\0' || !std::isfinite(v)) return std::nullopt;
  return percent ? v / 100 : v;
}

// The saturation options from the flags and the scenario, or a usage error naming the flag.
Result<SaturationOptions> ParseSaturationOptions(const ParsedFlags& flags,
                                                 const Scenario& scenario) {
  SaturationOptions options;
  options.start_rate = scenario.load.rate;
  auto number = [&](const char* name, double& field) -> Status {
    auto v = flags.Get(name);
    if (!v) return Ok{};
    char* end = nullptr;
    field = std::strtod(v->c_str(), &end);
    if (v->empty() || *end != '\0') {
      return MakeError(fmt::format("--{} \"{}\" is not a number", name, *v));
    }
    return Ok{};
  };
  if (auto s = number("start-rate", options.start_rate); !s) return s.error();
  if (auto s = number("rate-factor", options.rate_factor); !s) return s.error();
  if (auto v = flags.Get("max-steps")) {
    char* end = nullptr;
    options.max_steps = std::strtoul(v->c_str(), &end, 10);
    if (v->empty() || *end != '\0' || (*v)[0] == '-' || options.max_steps == 0 ||
        options.max_steps > 1000) {
      return MakeError(fmt::format("--max-steps \"{}\" must be an integer from 1 to 1000", *v));
    }
  }
  if (auto v = flags.Get("resolution")) {
    auto f = ParseFraction(*v);
    if (!f || !(*f > 0) || *f >= 1) {
      return MakeError(fmt::format(
          "--resolution \"{}\" must be a fraction like 5% or 0.05, above 0 and below 100%", *v));
    }
    options.resolution = *f;
  }
  // Verified alongside the load, every trace is polled within a poll interval of its end, so its
  // time to queryable is measured; after the load, the figures are mostly upper bounds.
  if (!flags.Has("verify-after-load")) options.max_ttq_p99_ns = kDefaultMaxTtqP99Ns;
  if (auto v = flags.Get("ttq-p99")) {
    if (*v == "off") {
      options.max_ttq_p99_ns.reset();
    } else {
      auto ns = ParseDuration(*v);
      if (!ns || *ns == 0) {
        return MakeError(
            fmt::format("--ttq-p99 \"{}\" is not a duration like 5s (or \"off\")", *v));
      }
      options.max_ttq_p99_ns = *ns;
    }
  }
  if (auto v = flags.Get("max-schedule-lag")) {
    auto ns = ParseDuration(*v);
    if (!ns || *ns == 0) {
      return MakeError(fmt::format("--max-schedule-lag \"{}\" is not a duration like 50ms", *v));
    }
    options.max_schedule_lag_p99_ns = *ns;
  }
  options.min_completeness = scenario.expect.completeness;
  if (!(options.min_completeness > 0)) {
    return MakeError(fmt::format("{}: [expect] completeness {} leaves nothing to search for: a "
                                 "saturation search needs a threshold above 0",
                                 scenario.source_name, options.min_completeness));
  }
  // Spans per root request, weighted over the load entries: turns req/s into spans/s.
  double weighted = 0;
  double weights = 0;
  for (const auto& entry : scenario.load.entries) {
    // Optional spans (retries only a timeout causes) are not counted: the rate is what is sure.
    weighted += entry.weight *
                static_cast<double>(RequiredSpanCount(BuildExpectedTree(scenario, entry)));
    weights += entry.weight;
  }
  options.spans_per_request = weights > 0 ? weighted / weights : 0;
  if (auto s = ValidateSaturationOptions(options); !s) return s.error();
  return options;
}

}  // namespace

const std::vector<FlagSpec> kSaturationFlags = {
    {"find-max-ingest", "",
     "search for the highest rate the backend sustains instead of one run: steps of rising rate "
     "until completeness or time to queryable breaks, then bisection (docs/SATURATION.md)"},
    {"start-rate", "N", "requests/s of the first step (default: the scenario's [load] rate)"},
    {"rate-factor", "F", "rate multiplier between steps while they pass (default 2)"},
    {"step-duration", "DURATION", "load per step (default 10s)"},
    {"max-steps", "N", "steps in all, ramp and bisection (default 12)"},
    {"resolution", "PCT", "stop bisecting when the failing rate is within PCT of the passing one "
                          "(default 5%)"},
    {"ttq-p99", "DURATION", "a step also fails when time to queryable p99 exceeds this, or \"off\" "
                            "(default 5s; off with --verify-after-load, whose samples overestimate "
                            "by up to --step-duration)"},
    {"max-schedule-lag", "DURATION", "a step whose driver ran further behind schedule (p99) is "
                                     "limited by tracerig, not the backend (default 50ms)"},
};

CommandOutcome RunSaturationSearch(const ParsedFlags& flags, Scenario scenario) {
  for (const char* name : {"rate", "duration", "no-verify", "report", "fail-on"}) {
    if (flags.Has(name)) {
      return UsageError(fmt::format("--{} does not apply with --find-max-ingest ({})", name,
                                    std::string_view(name) == "rate"       ? "use --start-rate"
                                    : std::string_view(name) == "duration" ? "use --step-duration"
                                    : std::string_view(name) == "report"
                                        ? "it writes saturation.json"
                                        : "every step is verified and judged by its thresholds"));
    }
  }
  const LoadModel model = scenario.load.model;
  if (model != LoadModel::kConstant && model != LoadModel::kPoisson) {
    return UsageError(fmt::format("--find-max-ingest needs an open-loop rate: [load] model "
                                  "\"constant\" or \"poisson\", not \"{}\"",
                                  LoadModelName(model)));
  }
  if (auto s = ApplyLoadOverrides(flags, scenario); !s) {  // only --seed is left to apply
    return UsageError(s.error());
  }
  if (auto s = ApplyDriverOverrides(flags, scenario); !s) return UsageError(s.error());
  auto parsed_options = ParseSaturationOptions(flags, scenario);
  if (!parsed_options) return UsageError(parsed_options.error());
  const SaturationOptions options = *parsed_options;
  uint64_t step_ns = 10'000'000'000ull;
  if (auto d = flags.Get("step-duration")) {
    auto ns = ParseDuration(*d);
    if (!ns || *ns == 0) {
      return UsageError(fmt::format("--step-duration \"{}\" is not a duration like 10s", *d));
    }
    step_ns = *ns;
  }
  if (scenario.load.warmup_ns >= step_ns) {
    return UsageError(fmt::format("--step-duration {} must be longer than the scenario's [load] "
                                  "warmup {}",
                                  FormatDuration(step_ns),
                                  FormatDuration(scenario.load.warmup_ns)));
  }
  auto verify_options = ParseRunVerifyOptions(flags);
  if (!verify_options) return UsageError(verify_options.error());
  auto threads = ParseServiceThreads(flags);
  if (!threads) return UsageError(threads.error());
  const bool quiet = flags.Has("quiet");
  const bool no_progress = quiet || flags.Has("no-progress");  // step lines and summary stay
  const std::atomic<bool>& stop = InstallInterruptHandler(kRunInterruptMessage);
  const Clock& clock = SystemClock::Instance();
  const uint64_t started_unix_nano = clock.NowUnixNano();
  RunReport naming;  // only for the report folder's name
  naming.scenario_name = scenario.name;
  naming.started_unix_nano = started_unix_nano;
  const std::string report_dir =
      (std::filesystem::path(flags.Get("report-dir").value_or("reports")) / ReportDirName(naming))
          .string();

  auto rig = StartRig(scenario, flags, RigOptions{*threads, /*query_clients=*/true}, clock);
  if (!rig) return rig.failure();
  const StartedBackend& backend = rig->backend;
  const BackendClientFactory& query_clients = rig->query_clients;
  BatchingExporter& exporter = *rig->exporter;
  TopologyRuntime& topology = *rig->topology;
  const uint64_t id_seed = rig->id_seed;
  // Simulated entries at their bound address, external ones at their URL (resolved, TLS files
  // loaded: a bad one stops the run here, naming it).
  auto entry_targets = ResolveEntryTargets(
      scenario, [&topology](std::string_view service) { return topology.EndpointOf(service); });
  if (!entry_targets) return FailureFrom(entry_targets.error());
  if (!no_progress) {
    std::fprintf(stderr,
                 "tracerig: scenario \"%s\": %zu services up; backend: %s\n"
                 "tracerig: saturation search: %s steps from %s req/s (%s spans per request), "
                 "x%g while passing, then bisection to %g%%, at most %zu steps\n",
                 scenario.name.c_str(), topology.services().size(),
                 backend.plan.Describe().c_str(), FormatDuration(step_ns).c_str(),
                 FormatRate(options.start_rate).c_str(),
                 FormatRate(options.spans_per_request).c_str(), options.rate_factor,
                 options.resolution * 100, options.max_steps);
  }

  ProgressPrinter progress(no_progress);
  auto run_step = [&](int number, double rate) {
    StepMeasurement m;
    m.rate = rate;
    m.duration_ns = step_ns;
    Scenario step = scenario;
    step.load.rate = rate;
    step.load.duration_ns = step_ns;
    auto schedule = MakeSchedule(step.load, Rng::Mix(scenario.seed, static_cast<uint64_t>(number)));
    if (!schedule) {
      m.error = "schedule: " + schedule.error().message;
      return m;
    }
    DriverOptions driver_options;
    driver_options.external_in_flight = &topology.external_in_flight();
    driver_options.warmup_ns = scenario.load.warmup_ns;
    driver_options.seed = scenario.seed;
    // Trace and request ids must not repeat across steps: the backend keeps earlier steps' traces.
    driver_options.id_seed = Rng::Mix(id_seed, 0xd1 + static_cast<uint64_t>(number));
    std::optional<LiveVerification> live;
    if (!flags.Has("verify-after-load")) {
      live.emplace(step, query_clients, *verify_options, clock);
      driver_options.on_complete = [&live](const LedgerEntry& e) { live->Add(e); };
    }
    const ExporterStats before = exporter.stats();
    const auto t0 = std::chrono::steady_clock::now();
    LoadDriver driver(step, *entry_targets, std::move(*schedule), exporter, clock, driver_options);
    DriverResult load = driver.Run(
        stop,
        [&](const DriverProgress& p) {
          auto ex = exporter.stats();
          progress.Line(fmt::format("step {}: {}", number,
                                    FormatProgressLine(p, ex.exported - before.exported,
                                                       ex.dropped_queue_full + ex.dropped_failed -
                                                           before.dropped_queue_full -
                                                           before.dropped_failed)) +
                      (live ? live->ProgressSuffix() : ""));
        },
        250'000'000ull);
    progress.Done();
    (void)exporter.Flush(std::chrono::seconds(30));  // what did not arrive shows as incomplete
    const auto t1 = std::chrono::steady_clock::now();
    const ExporterStats after = exporter.stats();
    m.requests_sent = load.sent;
    m.wall_ns = static_cast<uint64_t>(std::chrono::nanoseconds(t1 - t0).count());
    m.spans_exported = after.exported - before.exported;
    m.spans_dropped_queue_full = after.dropped_queue_full - before.dropped_queue_full;
    m.spans_dropped_failed = after.dropped_failed - before.dropped_failed;
    m.spans_rejected = after.rejected - before.rejected;
    m.schedule_lag_p99_ns = load.schedule_lag.Percentile(99);
    m.unsent = load.unsent;
    m.unfinished = load.unfinished;
    m.transport_errors = load.transport_errors;
    if (stop.load() || load.interrupted) {
      m.interrupted = true;
      return m;
    }
    if (load.ledger.empty()) return m;
    auto verify_progress = [&](size_t done, size_t total) {
      progress.Line(fmt::format("step {}: verifying {}/{} traces", number, done, total),
                    done == total);
    };
    ThreadSleeper sleeper;
    auto verified = live ? live->Finish(verify_progress)
                         : VerifyLedger(step, load.ledger, query_clients, *verify_options, clock,
                                        sleeper, verify_progress);
    progress.Done();
    if (!verified) {
      m.error = verified.error().message;
      return m;
    }
    m.checked = verified->checked;
    m.complete = verified->complete;
    m.deadline_hit = verified->deadline_hit;
    const TimeToQueryable& ttq = verified->time_to_queryable;
    if (ttq.traces > ttq.upper_bounds) m.ttq_p99_ns = ttq.p99_ns;
    return m;
  };
  SaturationResult result = FindMaxIngest(options, run_step, [&](const StepOutcome& s) {
    if (quiet) return;
    std::printf("%s\n", FormatStepLine(s, options).c_str());
    std::fflush(stdout);
  });
  topology.Stop();
  exporter.Shutdown(std::chrono::seconds(5));
  if (backend.embedded) backend.embedded->Stop();

  nlohmann::ordered_json json;
  json["tracerig_version"] = TracerigVersion();
  json["scenario"] = scenario.name;
  json["scenario_file"] = flags.positional[0];
  json["seed"] = scenario.seed;
  json["backend"] = backend.plan.Describe();
  json["step_duration_ns"] = step_ns;
  json["started_unix_nano"] = started_unix_nano;
  json["finished_unix_nano"] = clock.NowUnixNano();
  const nlohmann::ordered_json search = SaturationToJson(result, options);
  for (auto it = search.begin(); it != search.end(); ++it) json[it.key()] = it.value();
  int code = SaturationExitCode(result);
  auto written = WriteReportFile(report_dir, "saturation.json", json.dump(2) + "\n");
  if (!quiet) std::fputs(FormatSaturationSummary(result, options).c_str(), stdout);
  if (written) {
    if (!quiet) std::printf("report: %s\n", written->c_str());
  } else {
    PrintCommandError("run", written.error().message);
    if (code == kExitPass) code = kExitInfrastructure;
  }
  std::fflush(stdout);
  return code;
}

}  // namespace tracerig
