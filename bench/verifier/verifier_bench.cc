// Verifier throughput in traces/s on quickstart-shaped traces (8 spans, all complete): against an
// in-process fake BackendClient (what the verifier itself costs: scheduling, classification, the
// structural checks), and against the embedded backend over loopback HTTP (what a run pays) with
// three query clients: Jaeger v1 one trace per request (the reference), Jaeger v1 in batches, and
// tracerig:// (batches, OTLP protobuf); with 1, 4 and 8 workers. Default VerifyOptions otherwise:
// two polls per trace, the second at least min_repoll_interval (20ms) after the first.
#include <benchmark/benchmark.h>

#include <memory>
#include <unordered_map>

#include "backend/embedded_backend.h"
#include "canary/canary_tally.h"
#include "canary/trace_checks.h"
#include "export/otlp_codec.h"
#include "net/http_client.h"
#include "tests/verifier/test_spans.h"
#include "verifier/blocking_http_fetcher.h"
#include "verifier/jaeger_v1_client.h"
#include "verifier/tracerig_client.h"
#include "verifier/verify.h"

namespace tracerig {
namespace {

constexpr size_t kFakeTraces = 20'000;
constexpr size_t kEmbeddedTraces = 10'000;
constexpr size_t kSpansPerIngestRequest = 4096;

struct Workload {
  Scenario scenario = verifier_testing::QuickstartScenario();
  Ledger ledger;
  std::unordered_map<TraceId, std::vector<Span>, TraceIdHash> traces;
};

const Workload& MakeWorkload(size_t n) {
  static std::unordered_map<size_t, std::unique_ptr<Workload>> cache;
  auto& slot = cache[n];
  if (slot) return *slot;
  slot = std::make_unique<Workload>();
  const ExpectedTree tree = verifier_testing::QuickstartTree();
  const uint64_t now = SystemClock::Instance().NowUnixNano();
  for (size_t i = 0; i < n; ++i) {
    LedgerEntry e;
    e.sequence = i;
    e.trace_id = TraceId{0x7e57, 0x1000 + i};
    e.root_span_id = SpanId{0x100};
    e.request_id = 0x500 + i;
    e.intended_unix_nano = e.start_unix_nano = now;
    e.end_unix_nano = now + 10'000'000;
    slot->ledger.push_back(e);
    std::vector<Span> spans = verifier_testing::AllSpans(tree, e.trace_id, e.request_id);
    for (Span& s : spans) {
      // Start "now" so the embedded backend's searches and retention see them as recent.
      s.start_unix_nano += now - 1'700'000'000'000'000'000ull;
      s.end_unix_nano += now - 1'700'000'000'000'000'000ull;
    }
    slot->traces.emplace(e.trace_id, std::move(spans));
  }
  return *slot;
}

// Answers from memory: every trace complete. Read-only after construction, so one per worker
// shares the workload.
class CompleteTracesBackend final : public BackendClient {
 public:
  explicit CompleteTracesBackend(const Workload& w) : w_(w) {}
  std::string Describe() const override { return "in-process fake"; }
  Result<std::optional<std::vector<Span>>> GetTrace(TraceId id) override {
    auto it = w_.traces.find(id);
    if (it == w_.traces.end()) return std::optional<std::vector<Span>>{};
    return std::optional<std::vector<Span>>{it->second};
  }
  Result<std::vector<Span>> FindSpans(std::string_view, std::string_view, std::string_view,
                                      uint64_t, uint64_t) override {
    return std::vector<Span>{};
  }

 private:
  const Workload& w_;
};

void ReportRate(benchmark::State& state, size_t traces, const VerificationSummary& last) {
  state.counters["traces/s"] = benchmark::Counter(
      static_cast<double>(traces * state.iterations()), benchmark::Counter::kIsRate);
  state.counters["complete"] = static_cast<double>(last.complete);
  state.counters["violations"] = static_cast<double>(last.traces_with_violations);
}

// `figures`: every trace's outcome goes to the canary's figures as well (VerifyOptions::on_trace,
// what `tracerig run --metrics-listen` and `tracerig canary` do), against the same run without.
void VerifyFakeBackend(benchmark::State& state, bool figures) {
  const Workload& w = MakeWorkload(kFakeTraces);
  VerifyOptions options;
  options.concurrency = static_cast<size_t>(state.range(0));
  CanaryMetrics metrics("bench", {}, /*search=*/false);
  CanaryTally tally(metrics, SystemClock::Instance());
  if (figures) {
    options.on_trace = [&tally](const TraceOutcome& o) {
      RecordTraceCheck(tally, kFirstCheckAge, o, false);
    };
  }
  ThreadSleeper sleeper;
  VerificationSummary last;
  for (auto _ : state) {
    auto summary = VerifyLedger(
        w.scenario, w.ledger,
        [&]() -> std::unique_ptr<BackendClient> {
          return std::make_unique<CompleteTracesBackend>(w);
        },
        options, SystemClock::Instance(), sleeper);
    if (!summary || summary->complete != w.ledger.size()) {
      state.SkipWithError(summary ? "not every trace was complete"
                                  : summary.error().message.c_str());
      return;
    }
    last = *summary;
  }
  ReportRate(state, w.ledger.size(), last);
}
void BM_VerifyFakeBackend(benchmark::State& state) { VerifyFakeBackend(state, false); }
void BM_VerifyFakeBackendCanaryFigures(benchmark::State& state) { VerifyFakeBackend(state, true); }
BENCHMARK(BM_VerifyFakeBackend)
    ->Arg(1)
    ->Arg(4)
    ->Arg(8)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_VerifyFakeBackendCanaryFigures)
    ->Arg(1)
    ->Arg(4)
    ->Arg(8)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// One embedded backend for all runs, filled through its OTLP/HTTP ingest endpoint.
class FilledBackend {
 public:
  explicit FilledBackend(const Workload& w) {
    EmbeddedBackendOptions options;
    options.otlp_http = "127.0.0.1:0";
    options.query = "127.0.0.1:0";
    backend_ = std::make_unique<EmbeddedBackend>(options);
    if (auto s = backend_->Start(); !s) {
      error_ = s.error().message;
      return;
    }
    BlockingHttpClient ingest("127.0.0.1", backend_->otlp_http_endpoint().port());
    std::vector<Span> batch;
    auto flush = [&] {
      auto r = ingest.Request(http::verb::post, "/v1/traces", "application/x-protobuf",
                              EncodeOtlpProtobuf(batch));
      if (!r || r->status != 200) error_ = "ingest failed";
      batch.clear();
    };
    for (const LedgerEntry& e : w.ledger) {
      for (const Span& s : w.traces.at(e.trace_id)) batch.push_back(s);
      if (batch.size() >= kSpansPerIngestRequest) flush();
    }
    if (!batch.empty()) flush();
  }
  ~FilledBackend() { backend_->Stop(); }
  uint16_t query_port() const { return backend_->query_endpoint().port(); }
  const std::string& error() const { return error_; }

 private:
  std::unique_ptr<EmbeddedBackend> backend_;
  std::string error_;
};

// The query clients the embedded backend is verified with.
enum class EmbeddedClient {
  kJaegerV1Unbatched,  // one GET /api/traces/{id} per poll: the reference (before batches)
  kJaegerV1,           // GET /api/traces?traceID=...&traceID=..., up to 10 ids per request
  kTracerig,           // GET /api/tracerig/traces?ids=... (OTLP protobuf), up to 128 ids
};

void VerifyEmbedded(benchmark::State& state, EmbeddedClient client) {
  const Workload& w = MakeWorkload(kEmbeddedTraces);
  static FilledBackend backend(w);
  if (!backend.error().empty()) {
    state.SkipWithError(backend.error().c_str());
    return;
  }
  VerifyOptions options;
  options.concurrency = static_cast<size_t>(state.range(0));
  if (client == EmbeddedClient::kJaegerV1Unbatched) options.max_traces_per_request = 1;
  ThreadSleeper sleeper;
  VerificationSummary last;
  for (auto _ : state) {
    auto summary = VerifyLedger(
        w.scenario, w.ledger,
        [&]() -> std::unique_ptr<BackendClient> {
          auto fetcher = std::make_unique<BlockingHttpFetcher>("127.0.0.1", backend.query_port());
          if (client == EmbeddedClient::kTracerig) {
            return MakeTracerigClient(std::move(fetcher), "embedded");
          }
          return MakeJaegerV1Client(std::move(fetcher), "embedded");
        },
        options, SystemClock::Instance(), sleeper);
    if (!summary || summary->complete != w.ledger.size()) {
      state.SkipWithError(summary ? "not every trace was complete"
                                  : summary.error().message.c_str());
      return;
    }
    last = *summary;
  }
  ReportRate(state, w.ledger.size(), last);
  state.counters["requests/trace"] =
      static_cast<double>(last.backend_requests) / static_cast<double>(w.ledger.size());
}

void BM_VerifyEmbeddedJaegerV1Unbatched(benchmark::State& state) {
  VerifyEmbedded(state, EmbeddedClient::kJaegerV1Unbatched);
}
void BM_VerifyEmbeddedJaegerV1(benchmark::State& state) {
  VerifyEmbedded(state, EmbeddedClient::kJaegerV1);
}
void BM_VerifyEmbeddedTracerig(benchmark::State& state) {
  VerifyEmbedded(state, EmbeddedClient::kTracerig);
}
BENCHMARK(BM_VerifyEmbeddedJaegerV1Unbatched)
    ->Arg(1)
    ->Arg(4)
    ->Arg(8)
    ->UseRealTime()
    ->Iterations(2)
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_VerifyEmbeddedJaegerV1)
    ->Arg(1)
    ->Arg(4)
    ->Arg(8)
    ->UseRealTime()
    ->Iterations(2)
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_VerifyEmbeddedTracerig)
    ->Arg(1)
    ->Arg(4)
    ->Arg(8)
    ->UseRealTime()
    ->Iterations(4)
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace tracerig
