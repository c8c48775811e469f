// Benchmarks of the load driver's per-request work: recording a latency (every request, on the
// sending thread), reading a percentile (per report) and choosing an entry (every request).
#include <benchmark/benchmark.h>

#include <cstdint>
#include <utility>
#include <vector>

#include "core/rng.h"
#include "driver/entry_picker.h"
#include "driver/histogram.h"

namespace tracerig {
namespace {

// Latencies log-spread over 1 µs .. ~17 s so that recording touches many buckets, as in a run.
std::vector<uint64_t> Latencies(size_t n) {
  Rng rng(1);
  std::vector<uint64_t> values;
  for (size_t i = 0; i < n; ++i) values.push_back(1'000 + (rng.Next() >> (rng.Next() % 34 + 30)));
  return values;
}

void BM_HistogramRecord(benchmark::State& state) {
  const auto values = Latencies(4096);
  LatencyHistogram h;
  size_t i = 0;
  for (auto _ : state) {
    h.Record(values[i++ & 4095]);
  }
  benchmark::DoNotOptimize(h.count());
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_HistogramRecord);

void BM_HistogramPercentile(benchmark::State& state) {
  LatencyHistogram h;
  for (uint64_t v : Latencies(100'000)) h.Record(v);
  for (auto _ : state) {
    benchmark::DoNotOptimize(h.Percentile(99.9));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_HistogramPercentile);

void BM_EntryPick(benchmark::State& state) {
  std::vector<double> weights(static_cast<size_t>(state.range(0)));
  for (size_t i = 0; i < weights.size(); ++i) weights[i] = 1.0 + static_cast<double>(i % 7);
  const EntryPicker picker(std::move(weights));
  uint64_t sequence = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(picker.Pick(42, sequence++));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_EntryPick)->Arg(2)->Arg(16)->Arg(256);

}  // namespace
}  // namespace tracerig
