#include "cli/commands.h"

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "backend/embedded_backend.h"
#include "cli/backend_plan.h"
#include "cli/flags.h"
#include "cli/interrupt.h"
#include "cli/saturation.h"
#include "core/rng.h"
#include "core/units.h"
#include "net/address.h"
#include "net/resolve.h"
#include "net/tls.h"
#include "driver/ledger_io.h"
#include "driver/load_driver.h"
#include "driver/progress.h"
#include "driver/schedule.h"
#include "export/exporter.h"
#include "export/otlp_grpc_sender.h"
#include "export/otlp_http_sender.h"
#include "export/zipkin_sender.h"
#include "report/junit.h"
#include "report/report_files.h"
#include "report/markdown.h"
#include "report/render.h"
#include "report/run_report.h"
#include "topology/conformance_service.h"
#include "topology/expected_tree.h"
#include "topology/parse.h"
#include "topology/service_runtime.h"
#include "verifier/http_fetcher.h"
#include "verifier/backend_factory.h"
#include "verifier/verify.h"

namespace tracerig {
namespace {

void PrintError(const std::string& command, const std::string& message) {
  std::fprintf(stderr, "tracerig %s: %s\n", command.c_str(), message.c_str());
}

std::optional<std::string> GetEnv(const std::string& name) {
  const char* v = std::getenv(name.c_str());
  if (!v) return std::nullopt;
  return std::string(v);
}

// Reads and parses a scenario file, printing every diagnostic. nullopt means exit 2.
std::optional<Scenario> LoadScenario(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "%s: cannot read file\n", path.c_str());
    return std::nullopt;
  }
  std::stringstream text;
  text << in.rdbuf();
  ParseResult parsed = ParseScenario(path, text.str());
  for (const auto& d : parsed.diagnostics) std::fprintf(stderr, "%s\n", d.ToString().c_str());
  if (!parsed.ok()) return std::nullopt;
  return std::move(*parsed.scenario);
}

uint64_t RandomRunSeed() {
  std::random_device device;
  uint64_t seed = (static_cast<uint64_t>(device()) << 32) ^ device();
  return seed ^ static_cast<uint64_t>(
                    std::chrono::system_clock::now().time_since_epoch().count());
}

// Applies --duration/--rate/--seed over the scenario's values. Returns an error for bad values.
Status ApplyLoadOverrides(const ParsedFlags& flags, Scenario& scenario) {
  const LoadModel model = scenario.load.model;
  if (flags.Has("duration") && (model == LoadModel::kRamp || model == LoadModel::kCount)) {
    return MakeError(fmt::format("--duration does not apply to load model \"{}\" (its duration "
                                 "follows from {})",
                                 LoadModelName(model),
                                 model == LoadModel::kRamp ? "[[load.stages]]" : "requests / rate"));
  }
  if (flags.Has("rate") && model == LoadModel::kRamp) {
    return MakeError("--rate does not apply to load model \"ramp\" (set [[load.stages]] targets)");
  }
  if (flags.Has("rate") && model == LoadModel::kClosed) {
    return MakeError(
        "--rate does not apply to load model \"closed\" (virtual users pace themselves; set "
        "[load] virtual_users and think_time)");
  }
  if (auto d = flags.Get("duration")) {
    auto ns = ParseDuration(*d);
    if (!ns || *ns == 0) return MakeError(fmt::format("--duration \"{}\" is not a duration like 30s", *d));
    scenario.load.duration_ns = *ns;
  }
  if (auto r = flags.Get("rate")) {
    char* end = nullptr;
    double rate = std::strtod(r->c_str(), &end);
    if (r->empty() || *end != '\0' || !(rate > 0)) {
      return MakeError(fmt::format("--rate \"{}\" must be a number of requests per second > 0", *r));
    }
    scenario.load.rate = rate;
    if (model == LoadModel::kCount) {
      scenario.load.duration_ns = static_cast<uint64_t>(
          static_cast<double>(scenario.load.requests) / rate * 1e9);
    }
  }
  if (auto s = flags.Get("seed")) {
    char* end = nullptr;
    unsigned long long seed = std::strtoull(s->c_str(), &end, 10);
    if (s->empty() || *end != '\0' || (*s)[0] == '-') {
      return MakeError(fmt::format("--seed \"{}\" must be a non-negative integer", *s));
    }
    scenario.seed = seed;
  }
  return Ok{};
}

// --fail-on over the default (every check fails the run). Returns an error for a bad list.
Status ApplyFailOn(const ParsedFlags& flags, RunReport& report) {
  auto f = flags.Get("fail-on");
  if (!f) return Ok{};
  auto parsed = ParseFailOn(*f);
  if (!parsed) return parsed.error();
  report.fail_on = *parsed;
  return Ok{};
}

const FlagSpec kFailOnFlag = {
    "fail-on", "KINDS",
    "check kinds that fail the run: completeness, broken-propagation, spans-exported, "
    "trace-structure, verification-deadline, sampling, time-to-queryable, backend-graph, all "
    "(default) or none; the others only warn"};

const std::vector<FlagSpec> kLoadFlags = {
    {"duration", "DURATION", "how long to drive load, e.g. 30s, 2m (overrides [load] duration)"},
    {"rate", "N", "root requests per second, open loop (overrides [load] rate)"},
    {"seed", "N", "seed for every random decision (overrides [scenario] seed)"},
    {"backend", "URL", "where the verifier reads spans: embedded (default), jaeger://HOST:PORT, "
                       "jaeger-v3://, zipkin://, tempo:// (+https for TLS: jaeger+https://), or "
                       "tracerig:// for a separate `tracerig backend`"},
    {"export", "URL", "where spans are exported: otlp-http://HOST:PORT[/path], otlp-http-json://"
                      " or zipkin://HOST:PORT[/path] (default: the backend's host, port 4318)"},
    {"export-protocol", "P", "with the embedded backend: otlp-http (default), otlp-http-json or "
                             "zipkin"},
    {"threads", "N", "threads for the simulated services (default: number of cores)"},
    {"driver-threads", "N", "load driver event-loop threads (overrides [load] threads; default: "
                            "number of cores, at most 16)"},
    {"connections", "N", "connections per entry service per driver thread (overrides [load] "
                         "connections; 0 = one per request in flight)"},
};

// --driver-threads / --connections over the scenario's [load] values.
Status ApplyDriverOverrides(const ParsedFlags& flags, Scenario& scenario) {
  for (auto [name, field, max] : {std::tuple{"driver-threads", &scenario.load.threads, 256ul},
                                  std::tuple{"connections", &scenario.load.connections, 100000ul}}) {
    auto v = flags.Get(name);
    if (!v) continue;
    char* end = nullptr;
    const unsigned long n = std::strtoul(v->c_str(), &end, 10);
    const bool threads = std::string_view(name) == "driver-threads";
    if (v->empty() || *end != '\0' || (*v)[0] == '-' || n > max || (threads && n == 0)) {
      return MakeError(fmt::format("--{} \"{}\" must be an integer from {} to {}", name, *v,
                                   threads ? 1 : 0, max));
    }
    *field = static_cast<uint32_t>(n);
  }
  return Ok{};
}

// An embedded backend or nothing, plus the plan with its addresses filled in.
struct StartedBackend {
  std::unique_ptr<EmbeddedBackend> embedded;
  BackendPlan plan;
};

Result<StartedBackend> StartBackend(const Scenario& scenario, const ParsedFlags& flags) {
  auto plan = PlanBackend(scenario.backend, flags.Get("backend"), flags.Get("export"), GetEnv);
  if (!plan) return plan.error();
  StartedBackend started;
  started.plan = std::move(*plan);
  if (auto p = flags.Get("export-protocol")) {
    if (!started.plan.embedded) {
      return MakeError("--export-protocol applies to the embedded backend; for another backend the "
                       "--export URL's scheme (otlp-http:// or zipkin://) or "
                       "OTEL_EXPORTER_OTLP_PROTOCOL chooses");
    }
    auto protocol = ParseExportProtocol(*p);
    if (!protocol) return protocol.error();
    started.plan.protocol = *protocol;
  }
  const auto max_spans = flags.Get("max-spans");
  if (max_spans && !started.plan.embedded) {
    return MakeError("--max-spans applies to the embedded backend only");
  }
  if (started.plan.embedded) {
    EmbeddedBackendOptions options;
    options.otlp_http = "127.0.0.1:0";
    options.query = "127.0.0.1:0";
    if (max_spans) {
      char* end = nullptr;
      options.max_spans = std::strtoull(max_spans->c_str(), &end, 10);
      if (max_spans->empty() || *end != '\0' || (*max_spans)[0] == '-' || options.max_spans == 0) {
        return MakeError(fmt::format("--max-spans \"{}\" must be a positive integer", *max_spans));
      }
    }
    const bool zipkin = started.plan.protocol == ExportProtocol::kZipkin;
    const bool grpc = started.plan.protocol == ExportProtocol::kOtlpGrpc;
    if (zipkin) options.zipkin = "127.0.0.1:0";
    if (grpc) options.otlp_grpc = "127.0.0.1:0";
    started.embedded = std::make_unique<EmbeddedBackend>(options);
    if (auto s = started.embedded->Start(); !s) return MakeError("embedded backend: " + s.error().message);
    auto in = zipkin ? started.embedded->zipkin_endpoint()
              : grpc ? started.embedded->otlp_grpc_endpoint()
                     : started.embedded->otlp_http_endpoint();
    auto query = started.embedded->query_endpoint();
    started.plan.export_target = {in.address().to_string(), in.port(),
                                  zipkin ? "/api/v2/spans" : grpc ? "" : "/v1/traces"};
    started.plan.query = {query.address().to_string(), query.port(), ""};
    started.plan.query_url =
        fmt::format("tracerig://{}:{}", query.address().to_string(), query.port());
  }
  return started;
}

// The sender that speaks the plan's export protocol. TLS files are read here, at start-up, so a
// missing CA file is a usage error naming the file rather than a failure on every export.
Result<std::unique_ptr<BatchSender>> MakeSender(const BackendPlan& plan) {
  const Endpoint& e = plan.export_target;
  if (plan.protocol == ExportProtocol::kOtlpGrpc) {
    OtlpGrpcTarget target;
    target.host_port = fmt::format("{}:{}", e.host, e.port);
    target.headers = plan.export_headers;
    target.tls = plan.export_tls;
    if (plan.export_tls) {
      target.ca_file = plan.export_tls_config.ca_file;
      target.client_cert_file = plan.export_tls_config.client_cert_file;
      target.client_key_file = plan.export_tls_config.client_key_file;
    }
    auto sender = OtlpGrpcSender::Create(std::move(target));
    if (!sender) return sender.error();
    return std::unique_ptr<BatchSender>(std::move(*sender));
  }
  HttpClientOptions options;
  if (plan.export_tls) {
    auto tls = LoadTlsClientContext(plan.export_tls_config);
    if (!tls) return MakeError("export over TLS: " + tls.error().message);
    options.tls = std::move(*tls);
  }
  if (plan.protocol == ExportProtocol::kZipkin) {
    ZipkinHttpTarget target;
    target.host = e.host;
    target.port = e.port;
    target.path = e.path;
    target.headers = plan.export_headers;
    return std::unique_ptr<BatchSender>(std::make_unique<ZipkinHttpSender>(target, options));
  }
  OtlpHttpTarget target{e.host, e.port, e.path, plan.export_headers};
  if (plan.protocol == ExportProtocol::kOtlpHttpJson) target.encoding = OtlpEncoding::kJson;
  return std::unique_ptr<BatchSender>(std::make_unique<OtlpHttpSender>(target, options));
}

// Jaeger's API has whole microseconds; a child rebuilt from truncated start + duration can seem to
// end 1 µs after its parent.
constexpr uint64_t kJaegerClockSkewToleranceNs = 1000;

const FlagSpec kQueryTimeoutFlag = {
    "query-timeout", "DURATION",
    "how long one backend query may take before it counts as failed (default 10s); three "
    "failures in a row end verification with \"backend unreachable\" (exit 3)"};

// The duration flag `name` in nanoseconds, unset when not given; an error names the flag unless
// the value is a duration of at least 1 ms ("like" gives an example for the message).
Result<std::optional<uint64_t>> ParseMillisecondsFlag(const ParsedFlags& flags,
                                                      std::string_view name,
                                                      std::string_view like) {
  auto t = flags.Get(name);
  if (!t) return std::optional<uint64_t>{};
  auto ns = ParseDuration(*t);
  if (!ns || *ns < 1'000'000) {
    return MakeError(fmt::format("--{} \"{}\" is not a duration of at least 1ms, like {}", name,
                                 *t, like));
  }
  return std::optional<uint64_t>{*ns};
}

// --query-timeout, else 10 s.
Result<std::chrono::milliseconds> ParseQueryTimeout(const ParsedFlags& flags) {
  auto ns = ParseMillisecondsFlag(flags, "query-timeout", "10s");
  if (!ns) return ns.error();
  return std::chrono::milliseconds(ns->value_or(10'000'000'000ull) / 1'000'000);
}

// One client per verifier worker for the plan's query API, each with its own connection.
Result<BackendClientFactory> MakeQueryClients(const BackendPlan& plan, const ParsedFlags& flags) {
  auto timeout = ParseQueryTimeout(flags);
  if (!timeout) return timeout.error();
  HttpClientOptions options;
  options.request_timeout = *timeout;
  options.connect_timeout = std::min(*timeout, std::chrono::milliseconds(3000));
  if (plan.query_tls) {
    auto tls = LoadTlsClientContext(plan.query_tls_config);
    if (!tls) return MakeError("query over TLS: " + tls.error().message);
    options.tls = std::move(*tls);
  }
  return MakeBackendClientFactory(plan.query_url, plan.query_headers, options);
}

const FlagSpec kVerifyAfterLoadFlag = {
    "verify-after-load", "",
    "start verifying when the load has ended, not while it runs (fewer backend queries during "
    "the load, but time to queryable is then mostly an upper bound)"};

const FlagSpec kPollIntervalFlag = {
    "poll-interval", "DURATION",
    "how often a trace not yet whole is asked for again (default 100ms; time to queryable is "
    "overestimated by up to this)"};
const FlagSpec kSettleTimeFlag = {
    "settle-time", "DURATION",
    "how long a trace's span count must stay unchanged before it is judged incomplete (default "
    "2s: late spans get this long)"};

// --verify-concurrency, --verify-timeout, --poll-interval and --settle-time over the defaults of
// a run's (or a verify's) verification.
Result<VerifyOptions> ParseRunVerifyOptions(const ParsedFlags& flags) {
  VerifyOptions options;
  options.clock_skew_tolerance_ns = kJaegerClockSkewToleranceNs;
  if (auto c = flags.Get("verify-concurrency")) {
    options.concurrency = std::strtoul(c->c_str(), nullptr, 10);
    if (options.concurrency == 0 || options.concurrency > 256) {
      return MakeError(fmt::format("--verify-concurrency \"{}\" must be 1 to 256", *c));
    }
  }
  if (auto t = flags.Get("verify-timeout")) {
    auto ns = ParseDuration(*t);
    if (!ns || *ns == 0) {
      return MakeError(fmt::format("--verify-timeout \"{}\" is not a duration like 60s", *t));
    }
    options.deadline_ns = *ns;
  }
  for (const auto& [name, field] : {std::pair{"poll-interval", &options.poll_interval_ns},
                                    std::pair{"settle-time", &options.settle_incomplete_ns}}) {
    auto ns = ParseMillisecondsFlag(flags, name, "100ms");
    if (!ns) return ns.error();
    if (*ns) *field = **ns;
  }
  return options;
}

// --threads: the simulated services' threads (default: the number of cores).
Result<size_t> ParseServiceThreads(const ParsedFlags& flags) {
  size_t threads = std::max(1u, std::thread::hardware_concurrency());
  if (auto t = flags.Get("threads")) {
    threads = std::strtoul(t->c_str(), nullptr, 10);
    if (threads == 0 || threads > 256) {
      return MakeError(fmt::format("--threads \"{}\" must be 1 to 256", *t));
    }
  }
  return threads;
}

// Progress on stderr: rewritten in place on a terminal (at most 5 times a second), one line
// every 5 seconds in CI logs; `force` prints regardless (a final state).
class ProgressPrinter {
 public:
  explicit ProgressPrinter(bool quiet)
      : quiet_(quiet),
        tty_(isatty(STDERR_FILENO) == 1),
        interval_(tty_ ? std::chrono::milliseconds(200) : std::chrono::milliseconds(5000)) {}
  void Line(const std::string& text, bool force = false) {
    if (quiet_) return;
    auto now = std::chrono::steady_clock::now();
    if (!force && printed_once_ && now - last_ < interval_) return;
    last_ = now;
    printed_once_ = true;
    if (tty_) {
      std::fprintf(stderr, "\r\033[K%s", text.c_str());
      dirty_ = true;
    } else {
      std::fprintf(stderr, "%s\n", text.c_str());
    }
  }
  void Done() {
    if (dirty_) std::fputc('\n', stderr);
    dirty_ = false;
    printed_once_ = false;
  }
  bool tty() const { return tty_; }

 private:
  bool quiet_;
  bool tty_;
  std::chrono::steady_clock::duration interval_;
  std::chrono::steady_clock::time_point last_;
  bool printed_once_ = false;
  bool dirty_ = false;
};

// Verification alongside the load, what `run` does unless --verify-after-load: the driver hands
// each finished request to a LedgerFeed (DriverOptions::on_complete) and a verifier thread polls
// each trace within a poll interval of its end, so time to queryable is measured per trace, not
// bounded by how long the run went on after the request. The services and the exporter must
// outlive Finish(), as must everything the constructor is given.
class LiveVerification {
 public:
  LiveVerification(const Scenario& scenario, const BackendClientFactory& clients,
                   const VerifyOptions& options, const Clock& clock)
      : feed_(options.concurrency, std::max<size_t>(1, options.max_traces_per_request)),
        options_(options) {
    thread_ = std::thread([this, &scenario, &clients, &clock] {
      result_ = VerifyLedgerFeed(scenario, feed_, clients, options_, clock, sleeper_,
                                 [this](size_t done, size_t total) {
                                   settled_.store(done, std::memory_order_relaxed);
                                   std::lock_guard lock(mu_);
                                   if (after_load_) after_load_(done, total);
                                 });
    });
  }
  LiveVerification(const LiveVerification&) = delete;
  LiveVerification& operator=(const LiveVerification&) = delete;
  ~LiveVerification() {
    if (thread_.joinable()) (void)Finish({});
  }

  // For DriverOptions::on_complete: thread-safe.
  void Add(const LedgerEntry& entry) { feed_.Add(entry); }
  // ", 1234 verified" for the load's progress line.
  std::string ProgressSuffix() const {
    return fmt::format(", {} verified",
                       FormatRequestCount(settled_.load(std::memory_order_relaxed)));
  }
  // No more entries: waits for the rest to settle, calling `progress` (from a verifier thread)
  // as they do. Call once.
  Result<VerificationSummary> Finish(std::function<void(size_t done, size_t total)> progress) {
    {
      std::lock_guard lock(mu_);
      after_load_ = std::move(progress);
    }
    feed_.Close();
    thread_.join();
    return std::move(*result_);
  }

 private:
  LedgerFeed feed_;
  const VerifyOptions options_;
  ThreadSleeper sleeper_;
  std::atomic<size_t> settled_{0};
  std::mutex mu_;
  std::function<void(size_t, size_t)> after_load_;  // under mu_
  std::optional<Result<VerificationSummary>> result_;
  std::thread thread_;  // last: starts after every other member is ready
};

// The flags of `run --find-max-ingest` (docs/SATURATION.md), valid only with it.
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

// `tracerig run --find-max-ingest`: one backend, one topology and one exporter for the whole
// search; each step is a fresh driver and schedule at its rate, then a flush and a verification
// of that step's ledger. Returns the exit code.
int RunSaturationSearch(const ParsedFlags& flags, Scenario scenario) {
  for (const char* name : {"rate", "duration", "no-verify", "report", "fail-on"}) {
    if (flags.Has(name)) {
      PrintError("run", fmt::format("--{} does not apply with --find-max-ingest ({})", name,
                                    std::string_view(name) == "rate"       ? "use --start-rate"
                                    : std::string_view(name) == "duration" ? "use --step-duration"
                                    : std::string_view(name) == "report"
                                        ? "it writes saturation.json"
                                        : "every step is verified and judged by its thresholds"));
      return kExitUsage;
    }
  }
  const LoadModel model = scenario.load.model;
  if (model != LoadModel::kConstant && model != LoadModel::kPoisson) {
    PrintError("run", fmt::format("--find-max-ingest needs an open-loop rate: [load] model "
                                  "\"constant\" or \"poisson\", not \"{}\"",
                                  LoadModelName(model)));
    return kExitUsage;
  }
  if (auto s = ApplyLoadOverrides(flags, scenario); !s) {  // only --seed is left to apply
    PrintError("run", s.error().message);
    return kExitUsage;
  }
  if (auto s = ApplyDriverOverrides(flags, scenario); !s) {
    PrintError("run", s.error().message);
    return kExitUsage;
  }
  auto parsed_options = ParseSaturationOptions(flags, scenario);
  if (!parsed_options) {
    PrintError("run", parsed_options.error().message);
    return kExitUsage;
  }
  const SaturationOptions options = *parsed_options;
  uint64_t step_ns = 10'000'000'000ull;
  if (auto d = flags.Get("step-duration")) {
    auto ns = ParseDuration(*d);
    if (!ns || *ns == 0) {
      PrintError("run", fmt::format("--step-duration \"{}\" is not a duration like 10s", *d));
      return kExitUsage;
    }
    step_ns = *ns;
  }
  if (scenario.load.warmup_ns >= step_ns) {
    PrintError("run", fmt::format("--step-duration {} must be longer than the scenario's [load] "
                                  "warmup {}",
                                  FormatDuration(step_ns),
                                  FormatDuration(scenario.load.warmup_ns)));
    return kExitUsage;
  }
  auto verify_options = ParseRunVerifyOptions(flags);
  if (!verify_options) {
    PrintError("run", verify_options.error().message);
    return kExitUsage;
  }
  auto threads = ParseServiceThreads(flags);
  if (!threads) {
    PrintError("run", threads.error().message);
    return kExitUsage;
  }
  const bool quiet = flags.Has("quiet");
  const std::atomic<bool>& stop = InstallInterruptHandler(kRunInterruptMessage);
  const Clock& clock = SystemClock::Instance();
  const uint64_t started_unix_nano = clock.NowUnixNano();
  RunReport naming;  // only for the report folder's name
  naming.scenario_name = scenario.name;
  naming.started_unix_nano = started_unix_nano;
  const std::string report_dir =
      (std::filesystem::path(flags.Get("report-dir").value_or("reports")) / ReportDirName(naming))
          .string();

  auto backend = StartBackend(scenario, flags);
  if (!backend) {
    PrintError("run", backend.error().message);
    return kExitUsage;
  }
  auto query_clients = MakeQueryClients(backend->plan, flags);
  if (!query_clients) {
    PrintError("run", query_clients.error().message);
    return kExitUsage;
  }
  auto sender = MakeSender(backend->plan);
  if (!sender) {
    PrintError("run", sender.error().message);
    return kExitUsage;
  }
  BatchingExporter exporter(std::move(*sender), ExporterOptions{}, scenario.seed);
  const uint64_t id_seed = RandomRunSeed();
  TopologyOptions topology_options;
  topology_options.threads = *threads;
  topology_options.id_seed = id_seed;
  TopologyRuntime topology(scenario, exporter, clock, topology_options);
  if (auto s = topology.Start(); !s) {
    PrintError("run", s.error().message);
    return kExitInfrastructure;
  }
  std::vector<tcp::endpoint> entry_endpoints;
  for (const auto& entry : scenario.load.entries) {
    entry_endpoints.push_back(*topology.EndpointOf(entry.service));
  }
  if (!quiet) {
    std::fprintf(stderr,
                 "tracerig: scenario \"%s\": %zu services up; backend: %s\n"
                 "tracerig: saturation search: %s steps from %s req/s (%s spans per request), "
                 "x%g while passing, then bisection to %g%%, at most %zu steps\n",
                 scenario.name.c_str(), topology.services().size(),
                 backend->plan.Describe().c_str(), FormatDuration(step_ns).c_str(),
                 FormatRate(options.start_rate).c_str(),
                 FormatRate(options.spans_per_request).c_str(), options.rate_factor,
                 options.resolution * 100, options.max_steps);
  }

  ProgressPrinter progress(quiet);
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
    driver_options.warmup_ns = scenario.load.warmup_ns;
    driver_options.seed = scenario.seed;
    // Trace and request ids must not repeat across steps: the backend keeps earlier steps' traces.
    driver_options.id_seed = Rng::Mix(id_seed, 0xd1 + static_cast<uint64_t>(number));
    std::optional<LiveVerification> live;
    if (!flags.Has("verify-after-load")) {
      live.emplace(step, *query_clients, *verify_options, clock);
      driver_options.on_complete = [&live](const LedgerEntry& e) { live->Add(e); };
    }
    const ExporterStats before = exporter.stats();
    const auto t0 = std::chrono::steady_clock::now();
    LoadDriver driver(step, entry_endpoints, std::move(*schedule), exporter, clock, driver_options);
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
                         : VerifyLedger(step, load.ledger, *query_clients, *verify_options, clock,
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
  if (backend->embedded) backend->embedded->Stop();

  nlohmann::ordered_json json;
  json["tracerig_version"] = TracerigVersion();
  json["scenario"] = scenario.name;
  json["scenario_file"] = flags.positional[0];
  json["seed"] = scenario.seed;
  json["backend"] = backend->plan.Describe();
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
    PrintError("run", written.error().message);
    if (code == kExitPass) code = kExitInfrastructure;
  }
  std::fflush(stdout);
  return code;
}

}  // namespace

int ValidateCommand(const std::vector<std::string>& args) {
  static const std::vector<FlagSpec> specs = {};
  ParsedFlags flags;
  std::string help =
      CommandHelp("tracerig validate SCENARIO.toml...",
                  "Parses and validates scenario files without running them. Every problem\n"
                  "is printed as file:line:column: message; the exit code is 2 if any file\n"
                  "has a problem, 0 otherwise.",
                  specs);
  if (auto code = ParseCommandFlags("validate", args, specs, help, flags)) return *code;
  if (flags.positional.empty()) {
    PrintError("validate", "give at least one scenario file (see 'tracerig validate --help')");
    return kExitUsage;
  }
  int code = kExitPass;
  for (const auto& path : flags.positional) {
    auto scenario = LoadScenario(path);
    if (!scenario) {
      code = kExitUsage;
      continue;
    }
    size_t routes = 0;
    for (const auto& s : scenario->services) routes += s.routes.size();
    std::printf("%s: ok (scenario \"%s\", %zu services, %zu routes)\n", path.c_str(),
                scenario->name.c_str(), scenario->services.size(), routes);
  }
  return code;
}

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

int RunCommand(const std::vector<std::string>& args) {
  std::vector<FlagSpec> specs = kLoadFlags;
  specs.insert(specs.end(),
               {{"report", "FORMATS", "report formats, comma-separated: json (always), junit, "
                                      "markdown, html"},
                kFailOnFlag,
                {"report-dir", "DIR", "where the run's report folder is created (default reports/)"},
                {"quiet", "", "no progress and no summary on the terminal (the report is still written)"},
                {"no-verify", "", "drive load and write the ledger, but do not query the backend"},
                kVerifyAfterLoadFlag,
                {"verify-timeout", "DURATION", "overall deadline for verification, counted from "
                                               "the end of the load (default 60s)"},
                {"verify-concurrency", "N", "backend queries in flight while verifying (default 8)"},
                kQueryTimeoutFlag,
                kPollIntervalFlag,
                kSettleTimeFlag,
                {"max-spans", "N", "embedded backend only: spans it keeps; the oldest whole traces "
                                   "are evicted beyond (default 1000000)"}});
  specs.insert(specs.end(), kSaturationFlags.begin(), kSaturationFlags.end());
  std::string help = CommandHelp(
      "tracerig run SCENARIO.toml [flags]",
      "Starts the scenario's services on loopback (and the embedded backend unless the scenario\n"
      "or --backend names another), drives open-loop load into the entry routes, flushes the\n"
      "exporter, then queries the backend for every request sent and checks that each trace is\n"
      "complete and unbroken. Writes reports/<scenario>-<UTC time>/report.json and ledger.jsonl.\n"
      "Ctrl-C stops the load and still verifies and reports what was sent; twice exits at once.\n\n"
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
      "3 backend unreachable or infrastructure failure · 130 interrupted before anything was verified.",
      specs);
  ParsedFlags flags;
  if (auto code = ParseCommandFlags("run", args, specs, help, flags)) return *code;
  if (flags.positional.size() != 1) {
    PrintError("run", "give exactly one scenario file (see 'tracerig run --help')");
    return kExitUsage;
  }
  if (!flags.Has("find-max-ingest")) {
    for (const auto& f : kSaturationFlags) {
      if (flags.Has(f.name)) {
        PrintError("run", fmt::format("--{} applies only with --find-max-ingest", f.name));
        return kExitUsage;
      }
    }
  }
  auto scenario = LoadScenario(flags.positional[0]);
  if (!scenario) return kExitUsage;
  if (flags.Has("find-max-ingest")) return RunSaturationSearch(flags, std::move(*scenario));
  if (auto s = ApplyLoadOverrides(flags, *scenario); !s) {
    PrintError("run", s.error().message);
    return kExitUsage;
  }
  if (auto s = ApplyDriverOverrides(flags, *scenario); !s) {
    PrintError("run", s.error().message);
    return kExitUsage;
  }
  auto formats = ParseReportFormatList(flags.Get("report").value_or("json"));
  if (!formats) {
    PrintError("run", formats.error().message);
    return kExitUsage;
  }
  // A closed loop paces itself: no schedule is planned for it.
  std::unique_ptr<Schedule> schedule;
  if (scenario->load.model != LoadModel::kClosed) {
    auto planned = MakeSchedule(scenario->load, scenario->seed);
    if (!planned) {
      PrintError("run", planned.error().message);
      return kExitUsage;
    }
    schedule = std::move(*planned);
  }
  auto parsed_verify_options = ParseRunVerifyOptions(flags);
  if (!parsed_verify_options) {
    PrintError("run", parsed_verify_options.error().message);
    return kExitUsage;
  }
  const VerifyOptions verify_options = std::move(*parsed_verify_options);
  auto service_threads = ParseServiceThreads(flags);
  if (!service_threads) {
    PrintError("run", service_threads.error().message);
    return kExitUsage;
  }
  const size_t threads = *service_threads;
  const bool quiet = flags.Has("quiet");
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
  if (auto s = ApplyFailOn(flags, report); !s) {
    PrintError("run", s.error().message);
    return kExitUsage;
  }
  report.started_unix_nano = clock.NowUnixNano();
  const std::string report_dir =
      (std::filesystem::path(flags.Get("report-dir").value_or("reports")) / ReportDirName(report))
          .string();

  auto backend = StartBackend(*scenario, flags);
  if (!backend) {
    PrintError("run", backend.error().message);
    return kExitUsage;
  }
  report.backend = backend->plan.Describe();
  auto query_clients = MakeQueryClients(backend->plan, flags);
  if (!query_clients) {
    PrintError("run", query_clients.error().message);
    return kExitUsage;
  }

  auto sender = MakeSender(backend->plan);
  if (!sender) {
    PrintError("run", sender.error().message);
    return kExitUsage;
  }
  BatchingExporter exporter(std::move(*sender), ExporterOptions{}, scenario->seed);

  const uint64_t id_seed = RandomRunSeed();
  TopologyOptions topology_options;
  topology_options.threads = threads;
  topology_options.id_seed = id_seed;
  TopologyRuntime topology(*scenario, exporter, clock, topology_options);
  if (auto s = topology.Start(); !s) {
    PrintError("run", s.error().message);
    return kExitInfrastructure;
  }
  report.services = topology.services();

  std::vector<tcp::endpoint> entry_endpoints;
  for (const auto& entry : scenario->load.entries) {
    entry_endpoints.push_back(*topology.EndpointOf(entry.service));
  }
  DriverOptions driver_options;
  driver_options.warmup_ns = scenario->load.warmup_ns;
  driver_options.seed = scenario->seed;
  driver_options.id_seed = Rng::Mix(id_seed, 0xd1);
  const bool verify = !flags.Has("no-verify");
  std::optional<LiveVerification> live;
  if (verify && !flags.Has("verify-after-load")) {
    live.emplace(*scenario, *query_clients, verify_options, clock);
    driver_options.on_complete = [&live](const LedgerEntry& e) { live->Add(e); };
  }
  LoadDriver driver(*scenario, entry_endpoints, std::move(schedule), exporter, clock,
                    driver_options);

  ProgressPrinter progress(quiet);
  if (!quiet) {
    std::fprintf(stderr, "tracerig: scenario \"%s\": %zu services up; backend: %s\n",
                 scenario->name.c_str(), report.services.size(), report.backend.c_str());
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
        auto ex = exporter.stats();
        progress.Line(FormatProgressLine(p, ex.exported, ex.dropped_queue_full + ex.dropped_failed) +
                      (live ? live->ProgressSuffix() : ""));
      },
      250'000'000ull);
  progress.Done();

  // What the run recorded so far goes to the backend before it is judged. The services stay up
  // while the traces are verified: spans they still hold (a delay-export fault) arrive during
  // verification, when they would arrive in a real system, so their lateness can be measured.
  bool flushed = exporter.Flush(std::chrono::seconds(30));
  report.ingest = IngestDuringLoad(exporter.stats(), std::chrono::steady_clock::now() - load_start,
                                   backend->embedded.get());

  // The ledger is written before verification, so a later `tracerig verify` can use it.
  std::error_code ec;
  std::filesystem::create_directories(report_dir, ec);
  {
    std::ofstream ledger_file(std::filesystem::path(report_dir) / "ledger.jsonl", std::ios::trunc);
    ledger_file << LedgerHeaderLine(scenario->name, scenario->seed);
    for (const auto& e : report.load.ledger) ledger_file << LedgerEntryLine(e);
    if (!ledger_file) PrintError("run", fmt::format("cannot write the ledger in {}", report_dir));
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
                         : VerifyLedger(*scenario, report.load.ledger, *query_clients,
                                        verify_options, clock, sleeper, verify_progress);
    progress.Done();
    if (verified) {
      report.verification = std::move(*verified);
    } else {
      report.verification_error = verified.error().message;
    }
  }
  // Stopping hands over whatever the services still hold; nothing recorded is lost.
  topology.Stop();
  report.topology = topology.stats();
  flushed = exporter.Flush(std::chrono::seconds(30)) && flushed;
  auto ex = exporter.stats();
  report.exporter = ExportFigures{ex.submitted, ex.exported, ex.dropped_queue_full,
                                  ex.dropped_failed, ex.rejected, ex.retries, ex.batches, flushed};
  exporter.Shutdown(std::chrono::seconds(5));
  if (backend->embedded) backend->embedded->Stop();

  report.finished_unix_nano = clock.NowUnixNano();
  Judge(report);
  std::vector<Result<std::string>> written = WriteReports(report, report_dir, *formats);
  if (!quiet) std::fputs(RenderTerminalSummary(report).c_str(), stdout);
  for (const auto& w : written) {
    if (w) {
      if (!quiet) std::printf("report: %s\n", w->c_str());
    } else {
      PrintError("run", w.error().message);
      if (report.exit_code == kExitPass) report.exit_code = kExitInfrastructure;
    }
  }
  std::fflush(stdout);
  return report.exit_code;
}

int BackendCommand(const std::vector<std::string>& args) {
  static const std::vector<FlagSpec> specs = {
      {"otlp-http", "HOST:PORT", "OTLP/HTTP receiver, POST /v1/traces (default 127.0.0.1:4318)"},
      {"query", "HOST:PORT", "Jaeger query API v1 and v3, and /api/tracerig/stats (default "
                             "127.0.0.1:16686)"},
      {"max-spans", "N", "spans kept in memory; the oldest whole traces are evicted (default 1000000)"},
      {"max-bytes", "SIZE", "memory the stored spans may take, estimated, e.g. 512MiB; the oldest "
                            "whole traces are evicted (default: no byte bound)"},
      {"zipkin", "HOST:PORT", "Zipkin v2 receiver (POST /api/v2/spans) and query API (default "
                              "127.0.0.1:9411; \"off\" disables it)"},
      {"otlp-grpc", "HOST:PORT", "OTLP/gRPC receiver, TraceService/Export (default 127.0.0.1:4317; "
                                 "\"off\" disables it)"},
  };
  std::string help = CommandHelp(
      "tracerig backend [flags]",
      "Runs tracerig's embedded tracing backend until Ctrl-C: it receives spans over OTLP/gRPC,\n"
      "OTLP/HTTP (protobuf or JSON, gzip allowed) and Zipkin v2 JSON, and serves them over the\n"
      "Jaeger query API v1 (GET /api/traces/{id}, /api/traces?service=..., /api/services,\n"
      "/api/services/{s}/operations) and API v3 (/api/v3/traces/{id}, /api/v3/traces?query...,\n"
      "/api/v3/services, /api/v3/operations) and the Zipkin v2 API (on the Zipkin port), so the\n"
      "Jaeger UI's API clients and tracerig's verifier can read them. GET /api/tracerig/stats on\n"
      "the query port gives ingest counters per receiver. Port 0 picks a free port; the bound\n"
      "addresses are printed on start.",
      specs);
  ParsedFlags flags;
  if (auto code = ParseCommandFlags("backend", args, specs, help, flags)) return *code;
  if (!flags.positional.empty()) {
    PrintError("backend", fmt::format("unexpected argument \"{}\"", flags.positional[0]));
    return kExitUsage;
  }
  EmbeddedBackendOptions options;
  options.otlp_http = flags.Get("otlp-http").value_or(options.otlp_http);
  options.query = flags.Get("query").value_or(options.query);
  options.zipkin = flags.Get("zipkin").value_or("127.0.0.1:9411");
  if (options.zipkin == "off") options.zipkin.clear();
  options.otlp_grpc = flags.Get("otlp-grpc").value_or(std::string(kDefaultOtlpGrpcListen));
  if (options.otlp_grpc == "off") options.otlp_grpc.clear();
  if (auto m = flags.Get("max-spans")) {
    char* end = nullptr;
    options.max_spans = std::strtoull(m->c_str(), &end, 10);
    if (m->empty() || *end != '\0' || options.max_spans == 0) {
      PrintError("backend", fmt::format("--max-spans \"{}\" must be a positive integer", *m));
      return kExitUsage;
    }
  }
  if (auto m = flags.Get("max-bytes")) {
    const std::optional<uint64_t> bytes = ParseSize(*m);
    if (!bytes || *bytes == 0) {
      PrintError("backend", fmt::format("--max-bytes \"{}\" must be a size such as 512MiB", *m));
      return kExitUsage;
    }
    options.max_bytes = *bytes;
  }
  const std::atomic<bool>& stop = InstallInterruptHandler(kStopInterruptMessage);
  EmbeddedBackend backend(options);
  if (auto s = backend.Start(); !s) {
    PrintError("backend", s.error().message);
    return kExitInfrastructure;
  }
  auto otlp = backend.otlp_http_endpoint();
  auto query = backend.query_endpoint();
  std::printf("tracerig backend %s\n", TracerigVersion());
  std::printf("otlp-http: http://%s:%u/v1/traces\n", otlp.address().to_string().c_str(), otlp.port());
  if (!options.otlp_grpc.empty()) {
    auto grpc = backend.otlp_grpc_endpoint();
    std::printf("otlp-grpc: %s:%u\n", grpc.address().to_string().c_str(), grpc.port());
  }
  std::printf("query:     http://%s:%u/api/traces\n", query.address().to_string().c_str(), query.port());
  if (!options.zipkin.empty()) {
    auto zipkin = backend.zipkin_endpoint();
    std::printf("zipkin:    http://%s:%u/api/v2/spans\n", zipkin.address().to_string().c_str(),
                zipkin.port());
  }
  std::printf("Ctrl-C to stop.\n");
  std::fflush(stdout);
  while (!stop.load()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  backend.Stop();
  auto stats = backend.store().stats();
  std::printf("stopped: %llu spans received, %llu stored in %llu traces, %llu evicted\n",
              static_cast<unsigned long long>(stats.spans_received),
              static_cast<unsigned long long>(stats.spans_stored),
              static_cast<unsigned long long>(stats.traces_stored),
              static_cast<unsigned long long>(stats.spans_evicted));
  return kExitPass;
}

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
  if (flags.positional.size() != 1) {
    PrintError("serve", "give exactly one scenario file (see 'tracerig serve --help')");
    return kExitUsage;
  }
  auto scenario = LoadScenario(flags.positional[0]);
  if (!scenario) return kExitUsage;
  const std::atomic<bool>& stop = InstallInterruptHandler(kStopInterruptMessage);
  auto backend = StartBackend(*scenario, flags);
  if (!backend) {
    PrintError("serve", backend.error().message);
    return kExitUsage;
  }
  auto sender = MakeSender(backend->plan);
  if (!sender) {
    PrintError("serve", sender.error().message);
    return kExitUsage;
  }
  BatchingExporter exporter(std::move(*sender), ExporterOptions{}, scenario->seed);
  TopologyOptions options;
  options.threads = std::max(1u, std::thread::hardware_concurrency());
  options.id_seed = RandomRunSeed();
  TopologyRuntime topology(*scenario, exporter, SystemClock::Instance(), options);
  if (auto s = topology.Start(); !s) {
    PrintError("serve", s.error().message);
    return kExitInfrastructure;
  }
  std::printf("backend: %s\n", backend->plan.Describe().c_str());
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

int VerifyCommand(const std::vector<std::string>& args) {
  static const std::vector<FlagSpec> specs = {
      {"ledger", "FILE", "the ledger.jsonl written by an earlier 'tracerig run' (required)"},
      {"backend", "URL", "where to read spans (required): jaeger://HOST:PORT, jaeger-v3://, "
                         "zipkin://, tempo://"},
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
  if (flags.positional.size() != 1 || !flags.Has("ledger") || !flags.Has("backend")) {
    PrintError("verify", "give a scenario file, --ledger FILE and --backend URL (see 'tracerig verify --help')");
    return kExitUsage;
  }
  auto scenario = LoadScenario(flags.positional[0]);
  if (!scenario) return kExitUsage;
  const std::string ledger_path = *flags.Get("ledger");
  std::ifstream in(ledger_path, std::ios::binary);
  if (!in) {
    PrintError("verify", fmt::format("{}: cannot read file", ledger_path));
    return kExitUsage;
  }
  std::stringstream text;
  text << in.rdbuf();
  auto ledger = ParseLedger(ledger_path, text.str());
  if (!ledger) {
    PrintError("verify", ledger.error().message);
    return kExitUsage;
  }
  auto plan = PlanBackend({}, flags.Get("backend"), std::nullopt, [](const std::string&) {
    return std::optional<std::string>{};
  });
  if (!plan || plan->embedded) {
    PrintError("verify", plan ? "--backend must name a running backend (jaeger://HOST:PORT, "
                                "zipkin://, tempo://, jaeger-v3://)"
                              : plan.error().message);
    return kExitUsage;
  }
  auto parsed_options = ParseRunVerifyOptions(flags);
  if (!parsed_options) {
    PrintError("verify", parsed_options.error().message);
    return kExitUsage;
  }
  VerifyOptions options = std::move(*parsed_options);
  auto clients = MakeQueryClients(*plan, flags);
  if (!clients) {
    PrintError("verify", clients.error().message);
    return kExitUsage;
  }
  ThreadSleeper sleeper;
  RunReport report;
  report.tracerig_version = TracerigVersion();
  report.scenario_name = scenario->name;
  report.scenario_file = flags.positional[0];
  report.seed = ledger->seed;
  report.backend = (*clients)()->Describe();
  report.expect = scenario->expect;
  report.expected_edges = ExpectedGraphEdges(*scenario);
  if (auto s = ApplyFailOn(flags, report); !s) {
    PrintError("verify", s.error().message);
    return kExitUsage;
  }
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

int ConformanceServiceCommand(const std::vector<std::string>& args) {
  static const std::vector<FlagSpec> specs = {
      {"listen", "HOST:PORT", "where to listen (default 127.0.0.1:7779; port 0 picks a free port)"},
  };
  std::string help = CommandHelp(
      "tracerig conformance-service [--listen HOST:PORT]",
      "Serves the W3C trace-context test harness's service protocol on POST /test, so the official\n"
      "test suite (github.com/w3c/trace-context, test/) can check tracerig's W3C propagator. For each\n"
      "{\"url\", \"arguments\"} element of the posted array, in order, it POSTs `arguments` to `url`\n"
      "with the propagated traceparent/tracestate, then answers. Point the suite at it with\n"
      "  python3 test/test.py http://127.0.0.1:7777/test\n"
      "(see README.md). Runs until Ctrl-C.",
      specs);
  ParsedFlags flags;
  if (auto code = ParseCommandFlags("conformance-service", args, specs, help, flags)) return *code;
  if (!flags.positional.empty()) {
    PrintError("conformance-service", fmt::format("unexpected argument \"{}\"", flags.positional[0]));
    return kExitUsage;
  }
  auto address = ParseHostPort(flags.Get("listen").value_or("127.0.0.1:7779"));
  if (!address) {
    PrintError("conformance-service", "--listen: " + address.error().message);
    return kExitUsage;
  }
  auto endpoint = ResolveEndpoint(*address);
  if (!endpoint) {
    PrintError("conformance-service", "--listen: " + endpoint.error().message);
    return kExitUsage;
  }
  const std::atomic<bool>& stop = InstallInterruptHandler(kStopInterruptMessage);
  asio::io_context ioc(1);
  ConformanceService service(ioc, RandomRunSeed());
  if (auto s = service.Listen(*endpoint); !s) {
    PrintError("conformance-service", s.error().message);
    return kExitInfrastructure;
  }
  std::printf("tracerig conformance-service %s listening on http://%s:%u/test\nCtrl-C to stop.\n",
              TracerigVersion(), service.local_endpoint().address().to_string().c_str(),
              service.local_endpoint().port());
  std::fflush(stdout);
  while (!stop.load()) ioc.run_for(std::chrono::milliseconds(100));
  auto stats = service.stats();
  std::printf("stopped: %llu requests, %llu callbacks (%llu failed), %llu restarted traces\n",
              static_cast<unsigned long long>(stats.requests),
              static_cast<unsigned long long>(stats.callbacks),
              static_cast<unsigned long long>(stats.callback_failures),
              static_cast<unsigned long long>(stats.restarted));
  return kExitPass;
}

}  // namespace tracerig
