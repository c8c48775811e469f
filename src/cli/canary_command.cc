// `tracerig canary`: start the rig once, then write traces at a low constant rate in rounds and
// check each one (by id, by search, again at later ages) until SIGTERM, with Prometheus metrics;
// --once for one round and an exit code (CronJob, CI).
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "canary/canary_loop.h"
#include "canary/canary_metrics.h"
#include "canary/metrics_server.h"
#include "canary/timed_backend_client.h"
#include "cli/canary_flags.h"
#include "cli/command_failure.h"
#include "cli/commands.h"
#include "cli/export_figures.h"
#include "cli/flags.h"
#include "cli/interrupt.h"
#include "cli/listen.h"
#include "cli/own_service.h"
#include "cli/rig.h"
#include "cli/scenario_overrides.h"
#include "cli/verify_flags.h"
#include "core/rng.h"
#include "core/units.h"
#include "report/run_report.h"
#include "topology/service_target.h"

namespace tracerig {
namespace {

constexpr const char* kCanaryInterruptMessage =
    "\ntracerig: stopping: no more writes; finishing the checks in progress (Ctrl-C again to "
    "exit at once)\n";

// Backend queries in flight per round's verification unless --verify-concurrency says: a canary
// writes few traces, and up to 8 rounds verify at once.
constexpr size_t kCanaryVerifyConcurrency = 2;

const FlagSpec* FindFlag(const std::vector<FlagSpec>& specs, std::string_view name) {
  for (const FlagSpec& f : specs) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

std::vector<FlagSpec> CanaryFlags() {
  std::vector<FlagSpec> specs = {
      {"rate", "N",
       "requests per second, constant (default 1); the scenario's [load] rate, "
       "duration and model are not used, its entries and weights are"},
      {"round", "DURATION",
       "writes are grouped in rounds of this length, each verified while "
       "the next is written (default 10s)"},
      {"queryable-within", "DURATION",
       "a trace must be complete, and found by search, this long after its request ended "
       "(default 30s)"},
      {"reread", "AGES",
       std::string("ages at which a sample of the passing traces is read again "
                   "by id and by search, comma-separated (default ") +
           kDefaultRereadAges + "; none for none; with --once: none unless given)"},
      {"reread-every", "DURATION",
       "at most one trace per this per re-read age is kept for re-reading (default 10s)"},
      {"metrics-listen", "HOST:PORT",
       "serve /metrics (Prometheus text format) and /healthz there; port 0 picks a free one"},
      {"once", "",
       "one round: write, wait, check, print a summary and exit 0 (all passed), 1 (a "
       "check failed), 3 (backend unreachable) or 130 (interrupted by a signal)"},
      {"no-search", "", "check by id only, not by search"},
  };
  for (const char* name : {"backend", "export", "export-protocol", "threads", "broker", "seed"}) {
    if (const FlagSpec* f = FindFlag(kLoadFlags, name)) specs.push_back(*f);
  }
  specs.insert(specs.end(), {{"query-timeout", "DURATION",
                              "how long one backend query may take before it counts as failed "
                              "(default 10s); failed queries are retried for --queryable-within "
                              "before the checks count request_failed"},
                             kPollIntervalFlag,
                             {"verify-concurrency", "N",
                              "backend queries in flight per round being verified (default 2)"},
                             {"max-spans", "N",
                              "embedded backend only: spans it keeps; the oldest whole "
                              "traces are evicted beyond (default 1000000)"},
                             {"no-progress", "",
                              "no start-up lines and no per-round lines on stderr (the "
                              "metrics URL and errors still show)"},
                             {"quiet", "", "as --no-progress, and no summary at the end"}});
  return specs;
}

constexpr const char* kCanaryUsage = "tracerig canary SCENARIO.toml [flags]";
constexpr const char* kCanaryDescription =
    "Watches a live tracing pipeline: starts the scenario's rig once, as `tracerig run` does\n"
    "(the embedded backend unless --backend/--export or the scenario's [backend] name another;\n"
    "its simulated services; your services with a `command`), then writes traces at a low\n"
    "constant rate (--rate) in rounds (--round) until SIGTERM/SIGINT, and checks every one:\n\n"
    "  trace   read back by id and classified as `tracerig run` does: it passes when complete\n"
    "          with no structure violation within --queryable-within of its request's end;\n"
    "          failures: missing, incomplete, broken, structure, late (complete only after\n"
    "          --queryable-within), evicted, not_exported (tracerig's exporter could not\n"
    "          deliver it), request_failed (the backend could not be queried)\n"
    "  search  a passing trace found again by a search on its request id (Jaeger tags, Zipkin\n"
    "          annotationQuery, Tempo TraceQL) within --queryable-within: else "
    "not_found_by_search\n\n"
    "Both checks run at age 0s, and again by id and by search on a sample of the passing traces\n"
    "(one per --reread-every per age) at each --reread age, to catch loss at compaction or\n"
    "retention.\n\n"
    "Metrics (--metrics-listen; prefix tracerig_canary_): traces_written_total,\n"
    "write_failures_total{reason}, checks_total{check,age}, "
    "check_failures_total{check,age,reason},\n"
    "time_to_queryable_seconds, query_duration_seconds{query}, spans_expected_total,\n"
    "spans_found_total, last_success_timestamp_seconds, traces_pending, build_info{version}.\n"
    "/healthz (a liveness probe) answers 200 \"ok\" while the loop makes progress, also during a\n"
    "backend outage; 503 with the reason once no round has finished for 2 x (--round +\n"
    "--queryable-within + 30s) + 3 min (5m20s at the defaults). docs/CANARY.md has alerting\n"
    "rules.\n\n"
    "On stderr: the start-up lines, the metrics URL, then one line per round:\n"
    "  round 12: 10 written, 10/10 trace checks passed, 10/10 search, 6/6 re-read checks\n"
    "  passed, ttq p50 0.120s max 0.310s; failed: 2 missing (failures and errors, if any)\n"
    "  e.g. missing: <the verifier's explanation> (one example per failure reason)\n"
    "`written` counts every request sent; write failures (\"2 write failures (transport:\n"
    "connection refused)\") are among them and are not checked.\n"
    "The first SIGTERM/SIGINT stops writing, waits for the checks in progress (at most\n"
    "--queryable-within), prints the totals and exits 0; a second one exits at once.\n\n"
    "Exit codes (--once): 0 every check passed · 1 a check failed · 2 usage or scenario error ·\n"
    "3 backend unreachable (a request_failed check, or spans the exporter could not deliver) ·\n"
    "130 interrupted by a signal (\"verdict: INTERRUPTED\": no PASS/FAIL on a partial round).\n"
    "Without --once: 0 after a signal, 2 or 3 when it cannot start.\n\n"
    "Example: tracerig canary scenarios/quickstart.toml --backend jaeger://jaeger:16686 \\\n"
    "           --export otlp-grpc://collector:4317 --metrics-listen 0.0.0.0:9465";

std::string AgeList(const CanaryOptions& o) {
  std::vector<std::string> labels;
  for (const RereadAge& a : o.reread) labels.push_back(a.label);
  return fmt::format("{}", fmt::join(labels, ", "));
}

std::string FailureList(const CheckCounts& c) {
  std::vector<std::string> parts;
  for (size_t i = 0; i < kCheckFailureCount; ++i) {
    if (c.by_reason[i] > 0) {
      parts.push_back(
          fmt::format("{} {}", c.by_reason[i], CheckFailureName(static_cast<CheckFailure>(i))));
    }
  }
  return parts.empty() ? "" : fmt::format(" ({})", fmt::join(parts, ", "));
}

// The summary at the end, and the exit code --once gives it.
// tracerig's exit code for a command a signal interrupted (cli.cc's list).
constexpr int kExitInterrupted = 130;

int Summarize(const CanaryTotals& t, const CanaryOptions& o, const std::string& scenario,
              bool print, bool interrupted) {
  const uint64_t write_failures = t.write_failures[0] + t.write_failures[1] + t.write_failures[2];
  const uint64_t export_failures = t.write_failures[static_cast<size_t>(WriteFailure::kExport)];
  int code = kExitPass;
  std::string verdict = "PASS: every check passed";
  if (t.request_failed() > 0 || export_failures > 0) {
    code = kExitInfrastructure;
    verdict = t.request_failed() > 0
                  ? "BACKEND UNREACHABLE: checks could not query the backend"
                  : "BACKEND UNREACHABLE: tracerig's exporter could not deliver spans";
  } else if (t.checks_failed() > 0) {
    code = kExitConformanceFailure;
    verdict = "FAIL: a check failed";
  } else if (t.trace.total == 0) {
    code = kExitConformanceFailure;
    verdict = write_failures > 0 ? "FAIL: no trace was checked (every write failed)"
                                 : "FAIL: no trace was checked";
  }
  if (interrupted) {
    // --once stopped by a signal: the round's data is partial, so no PASS or FAIL on it.
    code = kExitInterrupted;
    verdict = "INTERRUPTED: the round was stopped by a signal; its checks are partial";
  }
  if (print) {
    std::string out =
        fmt::format("canary \"{}\": {} round{}, {} traces written, {} write failures", scenario,
                    t.rounds, t.rounds == 1 ? "" : "s", t.written, write_failures);
    if (write_failures > 0) {
      out += fmt::format(" ({} transport, {} http_status, {} export)", t.write_failures[0],
                         t.write_failures[1], t.write_failures[2]);
    }
    out += fmt::format("\n  trace checks (0s):  {}/{} passed{}\n", t.trace.total - t.trace.failed,
                       t.trace.total, FailureList(t.trace));
    if (o.search && t.search.total == 0) {
      out += "  search checks (0s): none (no trace passed its check by id)\n";
    } else if (o.search) {
      out += fmt::format("  search checks (0s): {}/{} passed{}\n", t.search.total - t.search.failed,
                         t.search.total, FailureList(t.search));
    }
    if (!o.reread.empty()) {
      out +=
          fmt::format("  re-reads ({}):  {}/{} passed{}\n", AgeList(o),
                      t.rereads.total - t.rereads.failed, t.rereads.total, FailureList(t.rereads));
    }
    if (t.ttq_samples > 0) {
      out += fmt::format("  time to queryable: max {:.3f}s over {} traces\n", t.ttq_max_seconds,
                         t.ttq_samples);
    }
    if (t.abandoned) out += "  (some checks were still in progress and are not counted)\n";
    out += "verdict: " + verdict + "\n";
    std::fputs(out.c_str(), stdout);
    std::fflush(stdout);
  }
  return code;
}

CommandOutcome RunCanary(const ParsedFlags& flags) {
  if (flags.positional.size() != 1) {
    return UsageError("give exactly one scenario file (see 'tracerig canary --help')");
  }
  auto parsed = ParseCanaryOptions(flags);
  if (!parsed) return UsageError(parsed.error());
  CanaryOptions options = std::move(*parsed);
  std::optional<tcp::endpoint> metrics_endpoint;
  if (auto m = flags.Get("metrics-listen")) {
    auto endpoint = ParseListenAddress("metrics-listen", *m);
    if (!endpoint) return UsageError(endpoint.error());
    if (auto s = CheckCanListen("metrics-listen", *endpoint); !s) return FailureFrom(s.error());
    metrics_endpoint = *endpoint;
  }
  auto scenario = LoadScenario(flags.positional[0]);
  if (!scenario) return scenario.failure();
  if (auto s = ApplyBrokerOverride(flags, *scenario); !s) return UsageError(s.error());
  if (auto s = ApplySeedOverride(flags, *scenario); !s) return UsageError(s.error());
  // The canary's own schedule (ConstantRateSchedule per round) drives the load: the scenario's
  // [load] model, rate and duration are not used, its entries and weights are.
  scenario->load.model = LoadModel::kConstant;
  scenario->load.rate = options.rate;
  scenario->load.duration_ns = options.round_ns;
  scenario->load.warmup_ns = 0;
  auto parsed_verify = ParseRunVerifyOptions(flags);
  if (!parsed_verify) return UsageError(parsed_verify.error());
  VerifyOptions verify = std::move(*parsed_verify);
  if (!flags.Has("verify-concurrency")) verify.concurrency = kCanaryVerifyConcurrency;
  auto threads = ParseServiceThreads(flags);
  if (!threads) return UsageError(threads.error());
  const bool quiet = flags.Has("quiet");
  const bool no_progress = quiet || flags.Has("no-progress");
  auto note = [no_progress](const std::string& line) {
    if (!no_progress) std::fprintf(stderr, "tracerig: %s\n", line.c_str());
  };
  const std::atomic<bool>& stop = InstallInterruptHandler(kCanaryInterruptMessage);
  const Clock& clock = SystemClock::Instance();

  RigOptions rig_options{*threads, /*query_clients=*/true};
  // Memory flat within minutes: the wire log holds what the rounds still being verified sent.
  rig_options.wire_log_capacity = CanaryWireLogCapacity(
      *scenario, options.rate, options.round_ns + options.queryable_within_ns);
  // Export losses stay counted for days: the exporter forgets its oldest lost traces, not new ones.
  rig_options.forget_oldest_losses = true;
  auto rig = StartRig(*scenario, flags, rig_options, clock);
  if (!rig) return rig.failure();
  BatchingExporter& exporter = *rig->exporter;
  TopologyRuntime& topology = *rig->topology;
  const std::string export_url = ExportUrl(rig->backend.plan);
  verify.export_loss = [&exporter, &export_url](const TraceId& trace) {
    return ExportLossOf(exporter, export_url, trace);
  };
  verify.wire_log = &topology.wire_log();
  verify.batch_log = &topology.batch_log();
  verify.messages_outstanding = [&topology] { return topology.MessagesOutstanding(); };

  const std::string log_dir =
      (std::filesystem::temp_directory_path() / fmt::format("tracerig-canary-{}", getpid()))
          .string();
  OwnServices own_services({log_dir, note});
  if (auto done = StartOwnServices(*scenario, flags, *rig, stop, own_services)) return *done;
  auto entry_targets = ResolveEntryTargets(
      *scenario, [&topology](std::string_view service) { return topology.EndpointOf(service); });
  if (!entry_targets) return FailureFrom(entry_targets.error());

  std::vector<std::string> ages;
  for (const RereadAge& a : options.reread) ages.push_back(a.label);
  CanaryMetrics metrics(TracerigVersion(), ages, options.search);

  CanaryTarget target;
  target.scenario = &*scenario;
  target.entry_targets = std::move(*entry_targets);
  target.exporter = &exporter;
  target.clients = TimedBackendClients(rig->query_clients, metrics);
  target.verify = std::move(verify);
  target.driver.external_in_flight = &topology.external_in_flight();
  target.driver.seed = scenario->seed;
  target.driver.id_seed = Rng::Mix(rig->id_seed, 0xd1);
  target.driver.threads = 1;  // a few requests per second
  options.note = note;
  auto loop = std::make_unique<CanaryLoop>(std::move(target), options, metrics, clock);

  std::unique_ptr<MetricsServer> server;
  if (metrics_endpoint) {
    MetricsServerOptions server_options;
    CanaryLoop* l = loop.get();
    server_options.unhealthy_reason = [l] { return l->UnhealthyReason(); };
    auto started = MetricsServer::Start(*metrics_endpoint, metrics.registry(), server_options);
    if (!started) return FailureFrom(started.error());
    server = std::move(*started);
  }
  note(fmt::format("canary on scenario \"{}\": {} services up; backend: {}", scenario->name,
                   topology.services().size(), rig->backend.plan.Describe()));
  note(fmt::format(
      "writing {} request{}/s in rounds of {}; checks: trace{} at 0s{}; a trace must be "
      "queryable within {}",
      fmt::format("{:g}", options.rate), options.rate == 1 ? "" : "s",
      FormatDuration(options.round_ns), options.search ? " and search" : "",
      options.reread.empty()
          ? std::string()
          : fmt::format(", again at {} (one trace per {} per age)", AgeList(options),
                        FormatDuration(options.reread_every_ns)),
      FormatDuration(options.queryable_within_ns)));
  if (server) {
    std::fprintf(stderr, "tracerig: metrics at %s/metrics\n", server->Url().c_str());
  }
  note(options.once ? "one round (--once)" : "running until SIGTERM or Ctrl-C");
  std::fflush(stderr);

  const CanaryTotals totals = loop->Run(stop);
  const int code =
      Summarize(totals, options, scenario->name, !quiet, options.once && stop.load());
  if (totals.abandoned) {
    // Checks still run on the loop's threads, against the rig: leave without unwinding them.
    std::fflush(stdout);
    std::fflush(stderr);
    std::_Exit(options.once ? code : kExitPass);
  }
  if (server) server->Stop();
  loop.reset();
  own_services.Stop();
  topology.Stop();
  exporter.Shutdown(std::chrono::seconds(5));
  if (rig->backend.embedded) rig->backend.embedded->Stop();
  return options.once ? code : kExitPass;
}

}  // namespace

int CanaryCommand(const std::vector<std::string>& args) {
  for (const std::string& a : args) {
    if (a == "--duration" || a.rfind("--duration=", 0) == 0) {
      return ReportFailure("canary",
                           UsageError("--duration does not apply: canary runs until SIGTERM; use "
                                      "--once for one round"));
    }
  }
  const std::vector<FlagSpec> specs = CanaryFlags();
  const std::string help = CommandHelp(kCanaryUsage, kCanaryDescription, specs);
  ParsedFlags flags;
  if (auto code = ParseCommandFlags("canary", args, specs, help, flags)) return *code;
  return ExitCodeOf("canary", RunCanary(flags));
}

}  // namespace tracerig
