// `tracerig run`: start the rig, drive the scenario's load, flush, verify (alongside the load or
// after it), judge and write the reports. With --find-max-ingest it runs the saturation search.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "cli/command_failure.h"
#include "cli/commands.h"
#include "cli/export_figures.h"
#include "cli/flags.h"
#include "cli/interrupt.h"
#include "cli/own_service.h"
#include "cli/progress_printer.h"
#include "cli/rig.h"
#include "cli/run_files.h"
#include "cli/run_metrics.h"
#include "cli/saturation_command.h"
#include "cli/scenario_overrides.h"
#include "cli/verify_flags.h"
#include "core/rng.h"
#include "core/units.h"
#include "driver/ledger_io.h"
#include "driver/load_driver.h"
#include "driver/progress.h"
#include "driver/schedule.h"
#include "net/address.h"
#include "report/render.h"
#include "report/report_files.h"
#include "report/run_report.h"
#include "topology/topology_runtime.h"
#include "verifier/live_verification.h"
#include "verifier/verify.h"

namespace tracerig {
namespace {

// What the backend accepted from the start of the load to the end of the flush after it; the
// embedded backend also says what its receivers counted (its whole life: only this run's spans).
IngestFigures IngestDuringLoad(const ExporterStats& exporter, std::chrono::nanoseconds window,
                               const EmbeddedBackend* embedded) {
  IngestFigures f;
  f.spans_exported = exporter.exported;
  f.window_ns = static_cast<uint64_t>(std::max<int64_t>(0, window.count()));
  if (f.window_ns > 0) {
    f.spans_per_second = static_cast<double>(f.spans_exported) * 1e9 /
                         static_cast<double>(f.window_ns);
  }
  if (embedded != nullptr) {
    const IngestTotals totals = embedded->counters();
    f.backend_spans_accepted = totals.spans_accepted;
    f.backend_requests_rejected = totals.requests_rejected + embedded->http_rejections();
  }
  return f;
}

// The load is over, but messages may still be queued or being processed (a batch waiting to fill,
// a redelivery): their spans belong to the run. Waits until every consumer is done with them, at
// most kQueueDrainTimeout, polling; Ctrl-C ends the wait.
constexpr std::chrono::seconds kQueueDrainTimeout{30};

struct QueueDrain {
  uint64_t elapsed_ns = 0;
  uint64_t left = 0;  // messages still queued or in processing when it stopped waiting
};

QueueDrain WaitForQueuedMessages(const TopologyRuntime& topology, const std::atomic<bool>& stop,
                                 ProgressPrinter& progress) {
  const auto start = std::chrono::steady_clock::now();
  const auto deadline = start + kQueueDrainTimeout;
  uint64_t outstanding = topology.MessagesOutstanding();
  if (outstanding == 0) return {};
  while (outstanding > 0 && !stop.load() && std::chrono::steady_clock::now() < deadline) {
    progress.Line(fmt::format("waiting for consumers: {} message{} queued or in processing",
                              outstanding, outstanding == 1 ? "" : "s"));
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    outstanding = topology.MessagesOutstanding();
  }
  progress.Done();
  if (outstanding > 0 && !stop.load()) {
    std::fprintf(stderr,
                 "tracerig: %llu message%s still queued or in processing after %llds; their "
                 "consumers' spans may be missing from the traces\n",
                 static_cast<unsigned long long>(outstanding), outstanding == 1 ? "" : "s",
                 static_cast<long long>(kQueueDrainTimeout.count()));
  }
  return {static_cast<uint64_t>(std::chrono::nanoseconds(std::chrono::steady_clock::now() - start)
                                    .count()),
          outstanding};
}

std::vector<FlagSpec> RunFlags() {
  std::vector<FlagSpec> specs = kLoadFlags;
  specs.insert(specs.end(),
               {{"report", "FORMATS", "report formats, comma-separated: json (always), junit, "
                                      "markdown, html"},
                kFailOnFlag,
                {"report-dir", "DIR", "where the run's report folder is created (default reports/)"},
                {"quiet", "", "no progress and no summary on the terminal (the report is still written)"},
                {"no-progress", "", "for CI logs: the summary and the verdict only, without the "
                                    "start-up lines and progress on stderr (errors still show)"},
                {"no-verify", "", "drive load and write the ledger, but do not query the backend"},
                kUrlsEnvFlag,
                kVerifyAfterLoadFlag,
                {"verify-timeout", "DURATION", "overall deadline for verification, counted from "
                                               "the end of the load (default 60s)"},
                {"verify-concurrency", "N", "backend queries in flight while verifying (default 8)"},
                kQueryTimeoutFlag,
                kPollIntervalFlag,
                kSettleTimeFlag,
                kRunMetricsListenFlag,
                {"max-spans", "N", "embedded backend only: spans it keeps; the oldest whole traces "
                                   "are evicted beyond (default 1000000)"}});
  specs.insert(specs.end(), kSaturationFlags.begin(), kSaturationFlags.end());
  return specs;
}

constexpr const char* kRunUsage = "tracerig run SCENARIO.toml [flags]";
constexpr const char* kRunDescription =
    "Starts the scenario's services on loopback (and the embedded backend unless the scenario\n"
    "or --backend names another), drives open-loop load into the entry routes, flushes the\n"
    "exporter, then queries the backend for every request sent and checks that each trace is\n"
    "complete and unbroken. Writes reports/<scenario>-<UTC time>/report.json and ledger.jsonl.\n"
    "Ctrl-C stops the load and still verifies and reports what was sent; twice exits at once.\n"
    "A scenario that publishes or consumes messages runs on the embedded in-process broker\n"
    "unless [broker] url or --broker names a RabbitMQ one (amqp://HOST:PORT).\n\n"
    "Your own services: an external service with a `command` is started once tracerig's\n"
    "services are up (the --urls-env variables and OTEL_SERVICE_NAME in its environment, its\n"
    "output in the report folder as <service>.log), waited for until its URL accepts\n"
    "connections, and stopped (SIGTERM, SIGKILL after 5s) when the load ends.\n\n"
    "Environment (external backends only): OTEL_EXPORTER_OTLP_ENDPOINT,\n"
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, OTEL_EXPORTER_OTLP_HEADERS, OTEL_EXPORTER_OTLP_PROTOCOL\n"
    "set the export target when neither --export nor [backend] export does.\n\n"
    "Benchmarking a backend: --find-max-ingest runs steps of --step-duration at rising rates\n"
    "(--start-rate, x--rate-factor while a step passes, then bisection to --resolution) and\n"
    "verifies each one; a step passes when its traces are as complete as [expect] completeness\n"
    "asks, time to queryable p99 is within --ttq-p99 (if set) and tracerig kept up. It prints a\n"
    "line per step and the highest sustained rate in req/s and spans/s, and writes\n"
    "saturation.json; see docs/SATURATION.md. Exit 0 when a rate passed, 1 when none did, 3\n"
    "when the backend could not be queried.\n\n"
    "Exit codes: 0 pass · 1 conformance failures · 2 usage or scenario error ·\n"
    "3 backend unreachable, spans the exporter could not deliver, or another infrastructure\n"
    "failure · 130 interrupted before anything was verified.";

// One run of the scenario, its flags parsed.
CommandOutcome RunScenario(const ParsedFlags& flags) {
  if (flags.positional.size() != 1) {
    return UsageError("give exactly one scenario file (see 'tracerig run --help')");
  }
  if (!flags.Has("find-max-ingest")) {
    for (const auto& f : kSaturationFlags) {
      if (flags.Has(f.name)) {
        return UsageError(fmt::format("--{} applies only with --find-max-ingest", f.name));
      }
    }
  }
  auto scenario = LoadScenario(flags.positional[0]);
  if (!scenario) return scenario.failure();
  if (auto s = ApplyBrokerOverride(flags, *scenario); !s) return UsageError(s.error());
  if (flags.Has("find-max-ingest")) {
    // The search starts its rig itself (saturation_command.cc), with no service of the user's.
    if (flags.Has("urls-env")) return UsageError("--urls-env does not apply with --find-max-ingest");
    for (const Service& s : scenario->services) {
      if (!s.command.empty()) {
        return UsageError(fmt::format("--find-max-ingest does not start external services: "
                                      "service \"{}\" has a command",
                                      s.name));
      }
    }
    return RunSaturationSearch(flags, std::move(*scenario));
  }
  if (auto s = ApplyLoadOverrides(flags, *scenario); !s) return UsageError(s.error());
  if (auto s = ApplyDriverOverrides(flags, *scenario); !s) return UsageError(s.error());
  auto formats = ParseReportFormatList(flags.Get("report").value_or("json"));
  if (!formats) return UsageError(formats.error());
  const std::string report_root = flags.Get("report-dir").value_or("reports");
  if (auto s = CheckReportDir(report_root); !s) return UsageError(s.error());
  // A closed loop paces itself: no schedule is planned for it.
  std::unique_ptr<Schedule> schedule;
  if (scenario->load.model != LoadModel::kClosed) {
    auto planned = MakeSchedule(scenario->load, scenario->seed);
    if (!planned) return UsageError(planned.error());
    schedule = std::move(*planned);
  }
  auto parsed_verify_options = ParseRunVerifyOptions(flags);
  if (!parsed_verify_options) return UsageError(parsed_verify_options.error());
  VerifyOptions verify_options = std::move(*parsed_verify_options);
  auto service_threads = ParseServiceThreads(flags);
  if (!service_threads) return UsageError(service_threads.error());
  const size_t threads = *service_threads;
  const bool quiet = flags.Has("quiet");
  const bool no_progress = quiet || flags.Has("no-progress");
  const std::atomic<bool>& stop = InstallInterruptHandler(kRunInterruptMessage);
  const Clock& clock = SystemClock::Instance();

  RunReport report;
  report.tracerig_version = TracerigVersion();
  report.scenario_name = scenario->name;
  report.scenario_file = flags.positional[0];
  report.seed = scenario->seed;
  report.target_rate = scenario->load.rate;
  report.load_model = std::string(LoadModelName(scenario->load.model));
  report.target_duration_ns = scenario->load.duration_ns;
  report.expect = scenario->expect;
  report.expected_edges = ExpectedGraphEdges(*scenario);
  if (auto s = ApplyFailOn(flags, report); !s) return UsageError(s.error());
  report.started_unix_nano = clock.NowUnixNano();
  const std::string report_dir =
      (std::filesystem::path(report_root) / ReportDirName(report)).string();
  const bool verify = !flags.Has("no-verify");

  auto run_metrics = RunMetrics::Start(flags, *scenario, no_progress);
  if (!run_metrics) return run_metrics.failure();
  auto rig = StartRig(*scenario, flags, RigOptions{threads, /*query_clients=*/verify}, clock);
  if (!rig) return rig.failure();
  const StartedBackend& backend = rig->backend;
  const BackendClientFactory query_clients =
      *run_metrics ? (*run_metrics)->Timed(rig->query_clients) : rig->query_clients;
  BatchingExporter& exporter = *rig->exporter;
  TopologyRuntime& topology = *rig->topology;
  report.backend = backend.plan.Describe();
  const std::string export_url = ExportUrl(backend.plan);
  verify_options.export_loss = [&exporter, &export_url](const TraceId& trace) {
    return ExportLossOf(exporter, export_url, trace);
  };
  // What the simulated services received: explanations and the checks below real services.
  verify_options.wire_log = &topology.wire_log();
  report.services = topology.services();
  verify_options.wire_log = &topology.wire_log();  // explanations quote what services received
  verify_options.batch_log = &topology.batch_log();  // batch spans: which messages, which links
  verify_options.messages_outstanding = [&topology] { return topology.MessagesOutstanding(); };
  RunMetrics* metrics = run_metrics->get();
  if (metrics != nullptr) {
    verify_options.on_trace = [metrics, &exporter](const TraceOutcome& outcome) {
      metrics->Checked(outcome, exporter);
    };
  }

  // The user's own services: started from their `command` once tracerig's are up (their output
  // in the report folder), stopped when the load is over or on any way out of this function.
  OwnServices own_services(
      {report_dir, [no_progress](const std::string& line) {
         if (!no_progress) std::fprintf(stderr, "tracerig: %s\n", line.c_str());
       }});
  if (auto done = StartOwnServices(*scenario, flags, *rig, stop, own_services)) return *done;

  // Simulated entries at their bound address, external ones at their URL (resolved, TLS files
  // loaded: a bad one stops the run here, naming it).
  auto entry_targets = ResolveEntryTargets(
      *scenario, [&topology](std::string_view service) { return topology.EndpointOf(service); });
  if (!entry_targets) return FailureFrom(entry_targets.error());
  DriverOptions driver_options;
  driver_options.external_in_flight = &topology.external_in_flight();
  driver_options.warmup_ns = scenario->load.warmup_ns;
  driver_options.seed = scenario->seed;
  driver_options.id_seed = Rng::Mix(rig->id_seed, 0xd1);
  std::optional<LiveVerification> live;
  if (verify && !flags.Has("verify-after-load")) {
    live.emplace(*scenario, query_clients, verify_options, clock);
    driver_options.on_complete = [&live, metrics](const LedgerEntry& e) {
      if (metrics != nullptr) metrics->Written(e);
      live->Add(e);
    };
  } else if (metrics != nullptr) {
    driver_options.on_complete = [metrics](const LedgerEntry& e) { metrics->Written(e); };
  }
  LoadDriver driver(*scenario, *entry_targets, std::move(schedule), exporter, clock,
                    driver_options);

  ProgressPrinter progress(no_progress);
  if (!no_progress) {
    std::vector<std::string> real;
    for (const Service& service : scenario->services) {
      if (service.IsExternal()) real.push_back(service.name + " at " + service.external_url);
    }
    const std::string yours =
        real.empty() ? std::string()
                     : fmt::format(" (and {} of yours: {})", real.size(), fmt::join(real, ", "));
    std::fprintf(stderr, "tracerig: scenario \"%s\": %zu services up%s; backend: %s\n",
                 scenario->name.c_str(), report.services.size(), yours.c_str(),
                 report.backend.c_str());
    if (scenario->load.model == LoadModel::kClosed) {
      std::fprintf(stderr, "tracerig: load model closed (closed loop): %u virtual users for %s\n",
                   scenario->load.virtual_users, FormatDuration(scenario->load.duration_ns).c_str());
    } else {
      std::fprintf(stderr, "tracerig: load model %s: %s requests over %s\n",
                   std::string(LoadModelName(scenario->load.model)).c_str(),
                   FormatRequestCount(PlannedRequests(scenario->load)).c_str(),
                   FormatDuration(scenario->load.duration_ns).c_str());
    }
  }
  const auto load_start = std::chrono::steady_clock::now();
  report.load = driver.Run(
      stop,
      [&](const DriverProgress& p) {
        if (metrics != nullptr) metrics->CountExportLosses(exporter);
        auto ex = exporter.stats();
        progress.Line(FormatProgressLine(p, ex.exported, ex.dropped_queue_full + ex.dropped_failed) +
                      (live ? live->ProgressSuffix() : ""));
      },
      250'000'000ull);
  progress.Done();
  const QueueDrain drain = WaitForQueuedMessages(topology, stop, progress);
  // No request is left for them: stopped now, before their traces are judged. An SDK exports a
  // batch every OTEL_BSP_SCHEDULE_DELAY (200 ms in their environment): the last one goes out
  // during this wait even from a service that does not flush when it gets SIGTERM.
  if (!own_services.processes().empty()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  own_services.Stop();

  // What the run recorded so far goes to the backend before it is judged. The services stay up
  // while the traces are verified: spans they still hold (a delay-export fault) arrive during
  // verification, when they would arrive in a real system, so their lateness can be measured.
  bool flushed = exporter.Flush(std::chrono::seconds(30));
  report.ingest = IngestDuringLoad(exporter.stats(), std::chrono::steady_clock::now() - load_start,
                                   backend.embedded.get());

  // The ledger is written before verification, so a later `tracerig verify` can use it.
  std::error_code ec;
  std::filesystem::create_directories(report_dir, ec);
  {
    std::ofstream ledger_file(std::filesystem::path(report_dir) / "ledger.jsonl", std::ios::trunc);
    ledger_file << LedgerHeaderLine(scenario->name, scenario->seed,
                                    ScenarioFileHash(flags.positional[0]));
    for (const auto& e : report.load.ledger) ledger_file << LedgerEntryLine(e);
    if (!ledger_file) {
      PrintCommandError("run", fmt::format("cannot write the ledger in {}", report_dir));
    }
  }

  auto verify_progress = [&](size_t done, size_t total) {
    progress.Line(fmt::format("verifying {}/{} traces", done, total), done == total);
  };
  if (!verify) {
    report.verification_skipped = true;
  } else if (report.load.ledger.empty()) {
    // Nothing was sent (an interrupt before the first request): nothing to verify or to judge.
    if (live) (void)live->Finish({});
  } else {
    ThreadSleeper sleeper;
    auto verified = live ? live->Finish(verify_progress)
                         : VerifyLedger(*scenario, report.load.ledger, query_clients,
                                        verify_options, clock, sleeper, verify_progress);
    progress.Done();
    if (verified) {
      report.verification = std::move(*verified);
    } else {
      if (metrics != nullptr) metrics->VerificationFailed();
      report.verification_error = verified.error().message;
      report.verification_error_code = verified.error().code;
    }
  }
  // Stopping hands over whatever the services still hold; nothing recorded is lost.
  topology.Stop();
  report.topology = topology.stats();
  report.topology.queue_drain_ns = drain.elapsed_ns;
  report.topology.messages_left_queued = drain.left;
  flushed = exporter.Flush(std::chrono::seconds(30)) && flushed;
  if (metrics != nullptr) metrics->CountExportLosses(exporter);
  auto ex = exporter.stats();
  report.exporter = ExportFiguresOf(ex, flushed, export_url);
  exporter.Shutdown(std::chrono::seconds(5));
  if (backend.embedded) backend.embedded->Stop();

  report.finished_unix_nano = clock.NowUnixNano();
  Judge(report);
  std::vector<Result<std::string>> written = WriteReports(report, report_dir, *formats);
  if (!quiet) std::fputs(RenderTerminalSummary(report).c_str(), stdout);
  for (const auto& w : written) {
    if (w) {
      if (!quiet) std::printf("report: %s\n", w->c_str());
    } else {
      PrintCommandError("run", w.error().message);
      if (report.exit_code == kExitPass) report.exit_code = kExitInfrastructure;
    }
  }
  std::fflush(stdout);
  return report.exit_code;
}

}  // namespace

int RunCommand(const std::vector<std::string>& args) {
  const std::vector<FlagSpec> specs = RunFlags();
  std::string help = CommandHelp(kRunUsage, kRunDescription, specs);
  ParsedFlags flags;
  if (auto code = ParseCommandFlags("run", args, specs, help, flags)) return *code;
  return ExitCodeOf("run", RunScenario(flags));
}

}  // namespace tracerig
