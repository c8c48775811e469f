// What the canary's figures cost per trace (RecordTraceCheck: a check, its spans and time to
// queryable, as `run --metrics-listen` records each verified trace) and per scrape (the whole
// tracerig_canary_* page), against the floor of one uncontended registry counter increment.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "canary/canary_metrics.h"
#include "canary/trace_checks.h"

namespace tracerig {
namespace {

void BM_CounterAdd(benchmark::State& state) {
  MetricsRegistry registry;
  registry.DeclareCounter("things_total", "Things.");
  for (auto _ : state) registry.Add("things_total", {});
}
BENCHMARK(BM_CounterAdd);

void BM_RecordTraceCheck(benchmark::State& state) {
  CanaryMetrics metrics("bench", {"1m", "15m", "1h", "24h"}, /*search=*/true);
  CanaryTally tally(metrics, SystemClock::Instance());
  TraceVerdict verdict;
  verdict.status = TraceStatus::kComplete;
  verdict.expected_spans = verdict.found_spans = 8;
  LedgerEntry entry;
  const TraceOutcome outcome{&entry, &verdict, false, 250'000'000};
  for (auto _ : state) {
    benchmark::DoNotOptimize(
        RecordTraceCheck(tally, kFirstCheckAge, outcome, false, 30'000'000'000));
  }
}
BENCHMARK(BM_RecordTraceCheck);

void BM_RenderCanaryPage(benchmark::State& state) {
  CanaryMetrics metrics("bench", {"1m", "15m", "1h", "24h"}, /*search=*/true);
  for (int i = 0; i < 1000; ++i) metrics.TimeToQueryable(0.01 * i);
  size_t bytes = 0;
  for (auto _ : state) {
    const std::string page = metrics.registry().Render();
    bytes = page.size();
    benchmark::DoNotOptimize(page.data());
  }
  state.counters["page_bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_RenderCanaryPage);

}  // namespace
}  // namespace tracerig
