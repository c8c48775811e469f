// The embedded backend's ingest path in one process, without sockets: where ingest_load's
// spans/s go (decode, store, the whole handler), for `perf record` and for before/after ratios.
//
//   build/bench/backend/ingest_bench --benchmark_min_time=0.5
#include <benchmark/benchmark.h>

#include <memory>
#include <string>
#include <vector>

#include "backend/handlers.h"
#include "backend/span_store.h"
#include "export/otlp_codec.h"
#include "ingest_batches.h"

namespace tracerig {
namespace {

constexpr size_t kBatch = 512;

const std::vector<std::string>& Bodies() {
  static const auto* bodies = new std::vector<std::string>(bench::EncodeIngestBatches(256, kBatch));
  return *bodies;
}

void BM_DecodeOtlpProtobuf(benchmark::State& state) {
  const auto& bodies = Bodies();
  size_t n = 0;
  for (auto _ : state) {
    auto spans = DecodeOtlpProtobuf(bodies[n++ % bodies.size()]);
    benchmark::DoNotOptimize(spans);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kBatch));
}
BENCHMARK(BM_DecodeOtlpProtobuf);

// The generated-message decoder DecodeOtlpProtobuf replaced, as the reference in the same run.
void BM_DecodeOtlpProtobufViaMessages(benchmark::State& state) {
  const auto& bodies = Bodies();
  size_t n = 0;
  for (auto _ : state) {
    auto spans = DecodeOtlpProtobufViaMessages(bodies[n++ % bodies.size()]);
    benchmark::DoNotOptimize(spans);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kBatch));
}
BENCHMARK(BM_DecodeOtlpProtobufViaMessages);

// Store cost alone: decoded batches are prepared outside the timed region. The store grows for the
// whole run, as the real one does (no eviction).
void BM_SpanStoreAdd(benchmark::State& state) {
  const auto& bodies = Bodies();
  SpanStore store(0);
  size_t n = 0;
  for (auto _ : state) {
    state.PauseTiming();
    std::vector<Span> spans = std::move(DecodeOtlpProtobuf(bodies[n++ % bodies.size()]).value());
    // Fresh trace ids per round, so every batch adds new traces as the load process's does.
    for (Span& s : spans) s.trace_id.high += n;
    state.ResumeTiming();
    store.Add(std::move(spans), n);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kBatch));
}
BENCHMARK(BM_SpanStoreAdd);

// The OTLP/HTTP handler as the server calls it: content checks, decode, store.
void BM_HandleOtlpHttpIngest(benchmark::State& state) {
  const auto& bodies = Bodies();
  SpanStore store(0);
  IngestCounters counters;
  size_t n = 0;
  for (auto _ : state) {
    HttpRequestView request;
    request.method = "POST";
    request.target = "/v1/traces";
    request.content_type = "application/x-protobuf";
    request.body = bodies[n++ % bodies.size()];
    auto response = HandleOtlpHttpIngest(store, counters, request, IngestLimits{}, n);
    benchmark::DoNotOptimize(response);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kBatch));
}
BENCHMARK(BM_HandleOtlpHttpIngest);

}  // namespace
}  // namespace tracerig
