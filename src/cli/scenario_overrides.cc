// Reading a scenario file and applying the command-line overrides of its values.
#include "cli/scenario_overrides.h"

#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <tuple>

#include <fmt/format.h>

#include "cli/backend_plan.h"
#include "core/units.h"
#include "topology/parse.h"
#include "topology/parse_values.h"

namespace tracerig {

const FlagSpec kFailOnFlag = {
    "fail-on", "KINDS",
    "check kinds that fail the run: completeness, broken-propagation, spans-exported, "
    "trace-structure, orphans, verification-deadline, sampling, time-to-queryable, backend-graph, "
    "all "
    "(default) or none; the others only warn"};

const FlagSpec kBrokerFlag = {
    "broker", "URL",
    "where messages go: embedded (the default: in-process, nothing to install) or "
    "amqp://HOST:PORT for RabbitMQ (overrides [broker] url)"};

const std::vector<FlagSpec> kLoadFlags = {
    {"duration", "DURATION", "how long to drive load, e.g. 30s, 2m (overrides [load] duration)"},
    {"rate", "N", "root requests per second, open loop (overrides [load] rate)"},
    {"seed", "N", "seed for every random decision (overrides [scenario] seed)"},
    {"backend", "URL",
     "where the verifier reads spans: embedded (default), or " + QuerySchemeList() +
         " with HOST:PORT (+https for TLS: jaeger+https://; tracerig:// for a separate `tracerig "
         "backend`)"},
    {"export", "URL",
     "where spans are exported: " + ExportSchemeList() +
         ", each HOST:PORT[/path] (default: the backend's host, port 4318)"},
    {"export-protocol", "P",
     "with the embedded backend: " + ExportProtocolList() + " (default otlp-http)"},
    {"threads", "N", "threads for the simulated services (default: number of cores)"},
    {"driver-threads", "N", "load driver event-loop threads (overrides [load] threads; default: "
                            "number of cores, at most 16)"},
    {"connections", "N", "connections per entry service per driver thread (overrides [load] "
                         "connections; 0 = one per request in flight)"},
    kBrokerFlag,
};

OrFailure<Scenario> LoadScenario(const std::string& path) {
  const Result<std::string> text = ReadScenarioFile(path);
  if (!text) {
    std::fprintf(stderr, "%s: cannot read file: %s\n", path.c_str(), text.error().message.c_str());
    return UsageError("");
  }
  ParseResult parsed = ParseScenario(path, *text);
  for (const auto& d : parsed.diagnostics) std::fprintf(stderr, "%s\n", d.ToString().c_str());
  for (const auto& w : parsed.warnings) {
    std::fprintf(stderr, "%s: warning: %s\n", w.where.ToString().c_str(), w.message.c_str());
  }
  if (!parsed.ok()) return UsageError("");
  return std::move(*parsed.scenario);
}

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
  return ApplySeedOverride(flags, scenario);
}

Status ApplySeedOverride(const ParsedFlags& flags, Scenario& scenario) {
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

Status ApplyBrokerOverride(const ParsedFlags& flags, Scenario& scenario) {
  auto url = flags.Get("broker");
  if (!url) return Ok{};
  if (*url == "embedded") {
    scenario.broker.url.clear();
    return Ok{};
  }
  if (std::string problem = BrokerUrlProblem(*url); !problem.empty()) {
    return MakeError(
        fmt::format("--broker: {}; --broker embedded picks the in-process broker", problem));
  }
  scenario.broker.url = *url;
  return Ok{};
}

Status ApplyFailOn(const ParsedFlags& flags, RunReport& report) {
  auto f = flags.Get("fail-on");
  if (!f) return Ok{};
  auto parsed = ParseFailOn(*f);
  if (!parsed) return parsed.error();
  report.fail_on = *parsed;
  return Ok{};
}

}  // namespace tracerig
