// Throughput of the OTLP and Zipkin codecs (spans/s) on 512 spans shaped like tracerig's own (HTTP attributes,
// ground-truth ids, five services with resource attributes), and of the exporter's Submit path.
#include <benchmark/benchmark.h>

#include <memory>
#include <string>
#include <vector>

#include "core/rng.h"
#include "export/exporter.h"
#include "export/gzip.h"
#include "export/otlp_codec.h"
#include "export/zipkin_codec.h"

namespace tracerig {
namespace {

constexpr int kBatch = 512;

std::vector<Span> RealisticSpans(int n) {
  Rng rng(42);
  const char* services[] = {"frontend", "cart", "checkout", "payment", "inventory"};
  std::vector<Span> spans;
  spans.reserve(static_cast<size_t>(n));
  TraceId trace{rng.NextNonZero(), rng.NextNonZero()};
  SpanId parent;
  for (int i = 0; i < n; ++i) {
    if (i % 8 == 0) {  // a new request every 8 spans
      trace = TraceId{rng.NextNonZero(), rng.NextNonZero()};
      parent = SpanId{};
    }
    Span s;
    s.trace_id = trace;
    s.span_id = SpanId{rng.NextNonZero()};
    s.parent_span_id = parent;
    s.name = i % 2 == 0 ? "GET /api/cart/{id}" : "POST /api/checkout";
    s.kind = i % 2 == 0 ? SpanKind::kServer : SpanKind::kClient;
    s.start_unix_nano = 1'700'000'000'000'000'000ull + static_cast<uint64_t>(i) * 1'000'000;
    s.end_unix_nano = s.start_unix_nano + 250'000 + rng.Next() % 1'000'000;
    s.attributes = {{"http.request.method", std::string(i % 2 == 0 ? "GET" : "POST")},
                    {"http.route", s.name.substr(s.name.find(' ') + 1)},
                    {"http.response.status_code", int64_t{200}},
                    {"server.address", std::string("cart.svc.cluster.local")},
                    {"server.port", int64_t{8080}},
                    {"network.protocol.version", std::string("1.1")},
                    {"tracerig.request_id", std::string(16, 'a')},
                    {"tracerig.hop", std::string("0.1.2")},
                    {"retry", false},
                    {"queue.ratio", 0.125}};
    if (i % 16 == 0) {
      s.events = {SpanEvent{s.start_unix_nano + 1000,
                            "exception",
                            {{"exception.type", std::string("Timeout")},
                             {"exception.message", std::string("upstream timed out")}}}};
      s.status_code = StatusCode::kError;
      s.status_message = "upstream timed out";
    }
    s.flags = 0x301;
    s.service_name = services[i % 5];
    s.resource_attributes = {{"service.version", std::string("1.4.2")},
                             {"telemetry.sdk.name", std::string("tracerig")},
                             {"host.name", std::string("node-3")}};
    parent = s.span_id;
    spans.push_back(std::move(s));
  }
  return spans;
}

void BM_EncodeOtlpProtobuf(benchmark::State& state) {
  const std::vector<Span> spans = RealisticSpans(kBatch);
  size_t bytes = 0;
  for (auto _ : state) {
    std::string body = EncodeOtlpProtobuf(spans);
    bytes = body.size();
    benchmark::DoNotOptimize(body);
  }
  state.SetItemsProcessed(state.iterations() * kBatch);  // items/s = spans/s
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(bytes));
  state.counters["body_bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_EncodeOtlpProtobuf);

void BM_DecodeOtlpProtobuf(benchmark::State& state) {
  const std::string body = EncodeOtlpProtobuf(RealisticSpans(kBatch));
  for (auto _ : state) {
    auto spans = DecodeOtlpProtobuf(body);
    if (!spans.ok()) state.SkipWithError(spans.error().message.c_str());
    benchmark::DoNotOptimize(spans);
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(body.size()));
}
BENCHMARK(BM_DecodeOtlpProtobuf);

void BM_EncodeOtlpJson(benchmark::State& state) {
  const std::vector<Span> spans = RealisticSpans(kBatch);
  for (auto _ : state) benchmark::DoNotOptimize(EncodeOtlpJson(spans));
  state.SetItemsProcessed(state.iterations() * kBatch);
}
BENCHMARK(BM_EncodeOtlpJson);

void BM_DecodeOtlpJson(benchmark::State& state) {
  const std::string body = EncodeOtlpJson(RealisticSpans(kBatch));
  for (auto _ : state) {
    auto spans = DecodeOtlpJson(body);
    if (!spans.ok()) state.SkipWithError(spans.error().message.c_str());
    benchmark::DoNotOptimize(spans);
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(body.size()));
}
BENCHMARK(BM_DecodeOtlpJson);

void BM_EncodeZipkinJson(benchmark::State& state) {
  const std::vector<Span> spans = RealisticSpans(kBatch);
  size_t bytes = 0;
  for (auto _ : state) {
    std::string body = EncodeZipkinJson(spans);
    bytes = body.size();
    benchmark::DoNotOptimize(body);
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(bytes));
  state.counters["body_bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_EncodeZipkinJson);

void BM_DecodeZipkinJson(benchmark::State& state) {
  const std::string body = EncodeZipkinJson(RealisticSpans(kBatch));
  for (auto _ : state) {
    auto spans = DecodeZipkinJson(body);
    if (!spans.ok()) state.SkipWithError(spans.error().message.c_str());
    benchmark::DoNotOptimize(spans);
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(body.size()));
}
BENCHMARK(BM_DecodeZipkinJson);

void BM_GzipCompressProtobufBody(benchmark::State& state) {
  const std::string body = EncodeOtlpProtobuf(RealisticSpans(kBatch));
  size_t compressed = 0;
  for (auto _ : state) {
    std::string out = GzipCompress(body);
    compressed = out.size();
    benchmark::DoNotOptimize(out);
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(body.size()));
  state.counters["ratio"] = static_cast<double>(body.size()) / static_cast<double>(compressed);
}
BENCHMARK(BM_GzipCompressProtobufBody);

class DiscardingSender final : public BatchSender {
 public:
  SendResult Send(const std::vector<Span>& batch) override {
    benchmark::DoNotOptimize(batch.data());
    return SendResult{};
  }
};

// The hot path services pay: Submit from several threads into one exporter (a lock, a move).
void BM_ExporterSubmit(benchmark::State& state) {
  // Shared by the benchmark threads; thread 0 sets it up before and tears it down after the loop
  // (Google Benchmark holds the other threads at both ends).
  static std::unique_ptr<BatchingExporter> exporter;
  static std::vector<Span> spans;
  if (state.thread_index() == 0) {
    spans = RealisticSpans(kBatch);
    ExporterOptions options;
    options.max_queue_spans = 1'000'000;
    exporter = std::make_unique<BatchingExporter>(std::make_unique<DiscardingSender>(), options, 1);
  }
  size_t i = 0;
  for (auto _ : state)
    exporter->Submit(spans[i++ % spans.size()]);  // a copy, as services build one
  state.SetItemsProcessed(state.iterations());
  if (state.thread_index() == 0) {
    exporter->Shutdown();
    const ExporterStats stats = exporter->stats();
    state.counters["dropped"] = static_cast<double>(stats.dropped_queue_full);
    exporter.reset();
  }
}
BENCHMARK(BM_ExporterSubmit)->Threads(1)->Threads(2)->UseRealTime();

}  // namespace
}  // namespace tracerig
