// Start-up cost of a large topology (issue 4: ">= 50 services and >= 200 routes start in under a
// second"). The scenario is generated here as TOML text, so it stays in step with the parser: 60
// services (every third one gRPC), 4 routes each (240 routes), calls forming a DAG, and every
// propagation format. Measures what `tracerig run` does before load starts: parse + validate, then
// parse + bind every service on port 0 + stop, and the same plus one request through the entry
// route (a ~60-hop tree) until its answer arrives. The start-up benchmarks take the runtime's
// threads and HTTP replicas as arguments (threads:0 = hardware_concurrency, the CLI's default;
// replicas:0 = the runtime's default, ceil(threads / HTTP services), one each here; replicas:16 =
// one per thread), so what replicas cost is a ratio measured in one run.
#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <string>
#include <thread>

#include <unistd.h>

#include "core/clock.h"
#include "core/span_sink.h"
#include "net/http_client.h"
#include "topology/parse.h"
#include "topology/scenario.h"
#include "topology/topology_runtime.h"

namespace tracerig {
namespace {

constexpr int kServices = 60;
constexpr int kRoutesPerService = 4;

bool IsGrpc(int service) { return service % 3 == 1; }

std::string ServiceName(int service) { return fmt::format("svc-{:02}", service); }

// gRPC routes look like RPC names, HTTP routes like "GET /path" (the parser insists).
std::string RouteName(int service, int route) {
  return IsGrpc(service) ? fmt::format("Op{}", route) : fmt::format("GET /op{}", route);
}

// Every service speaks W3C Trace Context (so context flows along every edge) plus one of the other
// formats, so that every propagator is set up.
std::string Propagation(int service) {
  constexpr const char* kExtra[] = {"", R"(, "baggage")", R"(, "b3")", R"(, "b3multi")",
                                    R"(, "jaeger")"};
  return fmt::format(R"(["tracecontext"{}])", kExtra[service % 5]);
}

// Route 0 calls route 1 and route 2 of the next services in parallel, route 1 calls route 0 three
// services on, route 2 calls route 3 of the next service, route 3 is a leaf. Callees always have a
// higher index, so the calls form a DAG; a request to svc-00 "op0" is a tree of about 60 hops.
std::string Calls(int service, int route) {
  auto call = [](int callee, int callee_route) -> std::string {
    if (callee >= kServices) return "";
    return fmt::format(R"({{ service = "{}", route = "{}" }})", ServiceName(callee),
                       RouteName(callee, callee_route));
  };
  std::string calls;
  switch (route) {
    case 0: {
      const std::string a = call(service + 1, 1);
      const std::string b = call(service + 2, 2);
      if (!a.empty() && !b.empty()) {
        calls = fmt::format("{{ parallel = [{}, {}] }}", a, b);
      } else {
        calls = a.empty() ? b : a;
      }
      break;
    }
    case 1:
      calls = call(service + 3, 0);
      break;
    case 2:
      calls = call(service + 1, 3);
      break;
    default:
      break;
  }
  return calls.empty() ? "" : fmt::format("  calls = [{}]\n", calls);
}

std::string GeneratedScenario() {
  std::string toml = R"([scenario]
name = "startup-60"
description = "60 services, 240 routes, HTTP and gRPC, every propagation format"
seed = 1

[load]
rate = 10
duration = "1s"

[[load.entries]]
service = "svc-00"
route = "GET /op0"
)";
  for (int s = 0; s < kServices; ++s) {
    toml += fmt::format("\n[[services]]\nname = \"{}\"\nprotocol = \"{}\"\npropagation = {}\n",
                        ServiceName(s), IsGrpc(s) ? "grpc" : "http", Propagation(s));
    for (int r = 0; r < kRoutesPerService; ++r) {
      toml += fmt::format("\n  [[services.routes]]\n  name = \"{}\"\n", RouteName(s, r));
      toml += Calls(s, r);
    }
  }
  return toml;
}

Scenario ParseOrDie(const std::string& text, benchmark::State& state) {
  ParseResult parsed = ParseScenario("startup-60.toml", text);
  if (!parsed.ok()) {
    state.SkipWithError(parsed.diagnostics.empty() ? "parse failed"
                                                   : parsed.diagnostics[0].ToString().c_str());
    return {};
  }
  return std::move(*parsed.scenario);
}

class CountingSink final : public SpanSink {
 public:
  void Submit(Span) override { spans_.fetch_add(1, std::memory_order_relaxed); }
  uint64_t spans() const { return spans_.load(); }

 private:
  std::atomic<uint64_t> spans_{0};
};

// From the benchmark's arguments: threads (0 = the CLI's default) and replicas.
TopologyOptions Options(const benchmark::State& state) {
  TopologyOptions options;
  options.threads = state.range(0) > 0 ? static_cast<size_t>(state.range(0))
                                       : std::max(1u, std::thread::hardware_concurrency());
  options.replicas = static_cast<size_t>(state.range(1));
  options.id_seed = 1;
  return options;
}

void ThreadsAndReplicas(benchmark::internal::Benchmark* b) {
  b->ArgNames({"threads", "replicas"});
  b->Args({0, 0});
  b->Args({16, 0});
  b->Args({16, 16});
}

// Resident set size now, in MiB (Linux /proc/self/statm: pages).
double ResidentMiB() {
  std::ifstream statm("/proc/self/statm");
  uint64_t size = 0;
  uint64_t resident = 0;
  statm >> size >> resident;
  return static_cast<double>(resident) * static_cast<double>(sysconf(_SC_PAGESIZE)) / (1 << 20);
}

void BM_ParseAndValidate(benchmark::State& state) {
  const std::string text = GeneratedScenario();
  for (auto _ : state) {
    ParseResult parsed = ParseScenario("startup-60.toml", text);
    if (!parsed.ok()) {
      state.SkipWithError("the generated scenario does not parse");
      break;
    }
    benchmark::DoNotOptimize(parsed);
  }
  state.counters["services"] = kServices;
  state.counters["routes"] = kServices * kRoutesPerService;
  state.counters["toml_bytes"] = static_cast<double>(text.size());
}
BENCHMARK(BM_ParseAndValidate)->Unit(benchmark::kMillisecond);

// Milliseconds since `since`, for the per-phase counters.
double MsSince(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - since)
      .count();
}

// Per-phase averages, so the figure to record ("starts in X ms") is not mixed with Stop.
void SetPhaseCounters(benchmark::State& state, double parse_ms, double start_ms, double stop_ms) {
  state.counters["parse_ms"] = benchmark::Counter(parse_ms, benchmark::Counter::kAvgIterations);
  state.counters["start_ms"] = benchmark::Counter(start_ms, benchmark::Counter::kAvgIterations);
  state.counters["stop_ms"] = benchmark::Counter(stop_ms, benchmark::Counter::kAvgIterations);
}

void BM_ParseStartStop(benchmark::State& state) {
  const std::string text = GeneratedScenario();
  double parse_ms = 0, start_ms = 0, stop_ms = 0, rss_mib = 0;
  for (auto _ : state) {
    auto t0 = std::chrono::steady_clock::now();
    const Scenario scenario = ParseOrDie(text, state);
    parse_ms += MsSince(t0);
    CountingSink sink;
    t0 = std::chrono::steady_clock::now();
    TopologyRuntime topology(scenario, sink, SystemClock::Instance(), Options(state));
    if (auto s = topology.Start(); !s) {
      state.SkipWithError(s.error().message.c_str());
      break;
    }
    start_ms += MsSince(t0);
    rss_mib += ResidentMiB();
    if (topology.services().size() != kServices) state.SkipWithError("not every service started");
    t0 = std::chrono::steady_clock::now();
    topology.Stop();
    stop_ms += MsSince(t0);
  }
  SetPhaseCounters(state, parse_ms, start_ms, stop_ms);
  // The process's whole RSS with the topology started (allocator caches included): compare rows.
  state.counters["rss_mib"] = benchmark::Counter(rss_mib, benchmark::Counter::kAvgIterations);
}
BENCHMARK(BM_ParseStartStop)
    ->Apply(ThreadsAndReplicas)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// Until the entry route has answered one request: every service on its path accepted a connection
// and handled a call (gRPC channels connect lazily, on the first call).
void BM_ParseStartFirstResponseStop(benchmark::State& state) {
  const std::string text = GeneratedScenario();
  uint64_t spans = 0;
  double parse_ms = 0, start_ms = 0, first_response_ms = 0, stop_ms = 0;
  for (auto _ : state) {
    auto t0 = std::chrono::steady_clock::now();
    const Scenario scenario = ParseOrDie(text, state);
    parse_ms += MsSince(t0);
    CountingSink sink;
    t0 = std::chrono::steady_clock::now();
    TopologyRuntime topology(scenario, sink, SystemClock::Instance(), Options(state));
    if (auto s = topology.Start(); !s) {
      state.SkipWithError(s.error().message.c_str());
      break;
    }
    start_ms += MsSince(t0);
    t0 = std::chrono::steady_clock::now();
    const tcp::endpoint entry = *topology.EndpointOf("svc-00");
    BlockingHttpClient client(entry.address().to_string(), entry.port());
    auto response = client.Get("/op0");
    if (!response || response->status != 200) {
      state.SkipWithError(response ? "the entry route did not answer 200"
                                   : response.error().message.c_str());
      break;
    }
    first_response_ms += MsSince(t0);
    t0 = std::chrono::steady_clock::now();
    topology.Stop();
    stop_ms += MsSince(t0);
    spans = sink.spans();
  }
  SetPhaseCounters(state, parse_ms, start_ms, stop_ms);
  state.counters["first_response_ms"] =
      benchmark::Counter(first_response_ms, benchmark::Counter::kAvgIterations);
  state.counters["spans_per_request"] = static_cast<double>(spans);
}
BENCHMARK(BM_ParseStartFirstResponseStop)
    ->Apply(ThreadsAndReplicas)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
}  // namespace tracerig
