// Hot-path cost of trace-context propagation: every simulated hop parses one context and formats
// one. W3C traceparent in detail; B3 and Jaeger as a whole extract-and-inject per hop.
#include <benchmark/benchmark.h>

#include <string>

#include "propagation/b3.h"
#include "propagation/carrier.h"
#include "propagation/jaeger.h"
#include "propagation/w3c.h"

namespace tracerig {
namespace {

constexpr std::string_view kTraceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

void BM_ParseTraceparent(benchmark::State& state) {
  std::string_view input = kTraceparent;
  for (auto _ : state) {
    benchmark::DoNotOptimize(input);
    auto parsed = ParseTraceparent(input);
    benchmark::DoNotOptimize(parsed);
  }
}
BENCHMARK(BM_ParseTraceparent);

void BM_FormatTraceparent(benchmark::State& state) {
  TraceId trace{0x4bf92f3577b34da6ull, 0xa3ce929d0e0e4736ull};
  SpanId span{0x00f067aa0ba902b7ull};
  char out[kTraceparentSize];
  for (auto _ : state) {
    benchmark::DoNotOptimize(trace);
    FormatTraceparent(trace, span, 0x01, out);
    benchmark::DoNotOptimize(out);
    benchmark::ClobberMemory();
  }
}
BENCHMARK(BM_FormatTraceparent);

// What a service does per request: extract the caller's context, inject its own into the
// outgoing request (the carrier is reused, as a connection's header buffer would be).
void BM_ExtractInject(benchmark::State& state) {
  const W3cTraceContextPropagator propagator;
  const HeaderList incoming{{"host", "cart"},
                            {"content-type", "application/json"},
                            {"traceparent", std::string(kTraceparent)}};
  HeaderList outgoing;
  uint64_t span = 1;
  for (auto _ : state) {
    SpanContext context = propagator.Extract(incoming);
    context.span_id = SpanId{++span};
    propagator.Inject(context, outgoing);
    benchmark::DoNotOptimize(outgoing);
  }
}
BENCHMARK(BM_ExtractInject);

void BM_ExtractInjectWithTracestate(benchmark::State& state) {
  const W3cTraceContextPropagator propagator;
  const HeaderList incoming{{"host", "cart"},
                            {"traceparent", std::string(kTraceparent)},
                            {"tracestate", "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"}};
  HeaderList outgoing;
  uint64_t span = 1;
  for (auto _ : state) {
    SpanContext context = propagator.Extract(incoming);
    context.span_id = SpanId{++span};
    propagator.Inject(context, outgoing);
    benchmark::DoNotOptimize(outgoing);
  }
}
BENCHMARK(BM_ExtractInjectWithTracestate);

void BM_Extract(benchmark::State& state) {
  const W3cTraceContextPropagator propagator;
  const HeaderList incoming{{"host", "cart"},
                            {"content-type", "application/json"},
                            {"traceparent", std::string(kTraceparent)}};
  for (auto _ : state) {
    SpanContext context = propagator.Extract(incoming);
    benchmark::DoNotOptimize(context);
  }
}
BENCHMARK(BM_Extract);

void BM_Inject(benchmark::State& state) {
  const W3cTraceContextPropagator propagator;
  SpanContext context{TraceId{1, 2}, SpanId{3}, 0x01, ""};
  HeaderList outgoing;
  for (auto _ : state) {
    propagator.Inject(context, outgoing);
    benchmark::DoNotOptimize(outgoing);
  }
}
BENCHMARK(BM_Inject);

// What a B3 (single header) service does per request: parse the caller's b3 header, inject its own.
void BM_B3ParseInject(benchmark::State& state) {
  const B3SinglePropagator propagator;
  const HeaderList incoming{{"host", "cart"},
                            {"content-type", "application/json"},
                            {"b3", "4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1"}};
  HeaderList outgoing;
  uint64_t span = 1;
  for (auto _ : state) {
    SpanContext context = propagator.Extract(incoming);
    context.span_id = SpanId{++span};
    propagator.Inject(context, outgoing);
    benchmark::DoNotOptimize(outgoing);
  }
}
BENCHMARK(BM_B3ParseInject);

// The same for Jaeger's uber-trace-id (here with a 64-bit, unpadded-to-128 trace id).
void BM_JaegerParseInject(benchmark::State& state) {
  const JaegerPropagator propagator;
  const HeaderList incoming{{"host", "cart"},
                            {"content-type", "application/json"},
                            {"uber-trace-id", "a3ce929d0e0e4736:00f067aa0ba902b7:0:1"}};
  HeaderList outgoing;
  uint64_t span = 1;
  for (auto _ : state) {
    SpanContext context = propagator.Extract(incoming);
    context.span_id = SpanId{++span};
    propagator.Inject(context, outgoing);
    benchmark::DoNotOptimize(outgoing);
  }
}
BENCHMARK(BM_JaegerParseInject);

}  // namespace
}  // namespace tracerig

BENCHMARK_MAIN();
