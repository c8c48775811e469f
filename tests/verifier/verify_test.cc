// VerifyLedger against a fake backend whose spans become visible at set (fake) times, with a fake
// sleeper that advances the fake clock: settling, late arrivals, fragments, deadlines, outages.
#include "verifier/verify.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>

#include "core/rng.h"

#include "tests/verifier/test_spans.h"
#include "topology/decisions.h"
#include "topology/expected_tree.h"

namespace tracerig {
namespace {

using ::testing::StartsWith;
using verifier_testing::AllSpans;
using verifier_testing::QuickstartScenario;
using verifier_testing::QuickstartTree;

constexpr uint64_t kMs = 1'000'000;
constexpr uint64_t kSec = 1'000'000'000;

// Advances the clock from any thread, for runs with several workers.
class SharedAdvancingSleeper final : public Sleeper {
 public:
  explicit SharedAdvancingSleeper(FakeClock& clock) : clock_(clock) {}
  void SleepFor(uint64_t nanos) override { clock_.Advance(nanos); }

 private:
  FakeClock& clock_;
};

class AdvancingSleeper final : public Sleeper {
 public:
  explicit AdvancingSleeper(FakeClock& clock) : clock_(clock) {}
  void SleepFor(uint64_t nanos) override {
    clock_.Advance(nanos);
    slept_ += nanos;
    ++sleeps_;
  }
  uint64_t slept() const { return slept_; }
  int sleeps() const { return sleeps_; }

 private:
  FakeClock& clock_;
  uint64_t slept_ = 0;
  int sleeps_ = 0;
};

struct SearchCall {
  std::string service;
  std::string key;
  std::string value;
  uint64_t start_us;
  uint64_t end_us;
};

// Holds spans that become queryable at a monotonic time, and answers like Jaeger would.
class FakeBackend final : public BackendClient {
 public:
  explicit FakeBackend(const Clock& clock) : clock_(clock) {}

  void Add(std::vector<Span> spans, uint64_t visible_at_ns = 0) {
    for (Span& s : spans) arrivals_.push_back({visible_at_ns, std::move(s)});
  }
  int failures_to_inject = 0;  // the next N calls fail; -1: every call fails

  std::string Describe() const override { return "fake backend"; }

  Result<std::optional<std::vector<Span>>> GetTrace(TraceId id) override {
    ++get_calls;
    if (get_calls == fail_get_call) return MakeError("connection reset mid-batch");
    if (Fail()) return MakeError("connection refused");
    std::vector<Span> spans;
    for (const Span& s : Visible()) {
      if (s.trace_id == id) spans.push_back(s);
    }
    if (spans.empty()) return std::optional<std::vector<Span>>{};
    return std::optional<std::vector<Span>>{spans};
  }

  // Batches of up to batch_limit ids (1: no GetTraces calls). A batch fails as a whole: either
  // by failures_to_inject, or, with loop_in_batches, when one of the GetTrace calls the default
  // implementation makes for it fails.
  size_t batch_limit = 1;
  bool loop_in_batches = false;
  int fail_get_call = 0;  // this GetTrace call (1-based) fails; 0: none
  std::vector<size_t> batch_sizes;
  size_t MaxTracesPerRequest() const override { return batch_limit; }
  Result<std::vector<TraceFetch>> GetTraces(std::span<const TraceId> ids) override {
    batch_sizes.push_back(ids.size());
    for (size_t i = 0; i < ids.size(); ++i) {
      if (std::find(ids.begin(), ids.begin() + static_cast<std::ptrdiff_t>(i), ids[i]) !=
          ids.begin() + static_cast<std::ptrdiff_t>(i)) {
        return MakeError("the same id twice in one batch");
      }
    }
    if (loop_in_batches) return BackendClient::GetTraces(ids);
    if (Fail()) return MakeError("connection reset");
    std::vector<TraceFetch> out;
    for (TraceId id : ids) {
      std::vector<Span> spans;
      for (const Span& s : Visible()) {
        if (s.trace_id == id) spans.push_back(s);
      }
      out.push_back(spans.empty() ? TraceFetch{} : TraceFetch{std::move(spans)});
    }
    return out;
  }

  Result<std::vector<Span>> FindSpans(std::string_view service, std::string_view key,
                                      std::string_view value, uint64_t start_us,
                                      uint64_t end_us) override {
    searches.push_back(
        SearchCall{std::string(service), std::string(key), std::string(value), start_us, end_us});
    if (Fail()) return MakeError("search timed out");
    auto matches = [&](const Span& s) {
      const AttributeValue* v = s.FindAttribute(key);
      return v != nullptr && AttributeValueToString(*v) == value;
    };
    std::vector<Span> visible = Visible();
    std::vector<TraceId> traces;  // traces with a matching span of `service`
    for (const Span& s : visible) {
      if (s.service_name == service && matches(s)) traces.push_back(s.trace_id);
    }
    std::vector<Span> found;
    for (const Span& s : visible) {
      if (matches(s) && std::find(traces.begin(), traces.end(), s.trace_id) != traces.end()) {
        found.push_back(s);
      }
    }
    return found;
  }

  Result<std::optional<std::vector<DependencyLink>>> GetDependencies(uint64_t start_us,
                                                                      uint64_t end_us) override {
    dependency_windows.emplace_back(start_us, end_us);
    if (dependencies_fail) return MakeError("dependencies: connection reset");
    return dependencies;
  }

  Result<std::optional<BackendStoreStats>> GetStoreStats() override {
    ++store_stats_calls;
    return store_stats;
  }
  std::optional<BackendStoreStats> store_stats;  // nullopt: not served
  int store_stats_calls = 0;

  int get_calls = 0;
  std::vector<SearchCall> searches;
  std::optional<std::vector<DependencyLink>> dependencies;  // nullopt: not served
  bool dependencies_fail = false;
  std::vector<std::pair<uint64_t, uint64_t>> dependency_windows;

 private:
  bool Fail() {
    if (failures_to_inject == 0) return false;
    if (failures_to_inject > 0) --failures_to_inject;
    return true;
  }
  std::vector<Span> Visible() const {
    std::vector<Span> out;
    for (const auto& [at, span] : arrivals_) {
      if (clock_.NowMonotonicNano() >= at) out.push_back(span);
    }
    return out;
  }

  const Clock& clock_;
  std::vector<std::pair<uint64_t, Span>> arrivals_;
};

class VerifyLedgerTest : public ::testing::Test {
 protected:
  LedgerEntry AddEntry() {
    LedgerEntry e;
    e.sequence = ledger_.size();
    e.trace_id = TraceId{0x1, 0x1000 + e.sequence};
    e.root_span_id = SpanId{0x100};
    e.request_id = 0x500 + e.sequence;
    e.intended_unix_nano = clock_.NowUnixNano();
    e.start_unix_nano = e.intended_unix_nano + kMs;
    e.end_unix_nano = e.start_unix_nano + 20 * kMs;
    ledger_.push_back(e);
    return e;
  }
  // Every expected span of the entry, under its trace id.
  std::vector<Span> Spans(const LedgerEntry& e) {
    return AllSpans(tree_, e.trace_id, e.request_id);
  }
  Result<VerificationSummary> Run() {
    return VerifyLedger(scenario_, ledger_, backend_, options_, clock_, sleeper_,
                        [this](size_t done, size_t total) { progress_.emplace_back(done, total); });
  }

  Scenario scenario_ = QuickstartScenario();
  ExpectedTree tree_ = QuickstartTree();
  Ledger ledger_;
  FakeClock clock_;
  AdvancingSleeper sleeper_{clock_};
  FakeBackend backend_{clock_};
  VerifyOptions options_;
  std::vector<std::pair<size_t, size_t>> progress_;
};

TEST_F(VerifyLedgerTest, TestTreeIsTheScenariosExpectedTree) {
  // The hand-built tree the other tests use is what BuildExpectedTree makes of the scenario.
  EXPECT_EQ(BuildExpectedTree(scenario_, scenario_.load.entries[0]).spans, tree_.spans);
}

TEST_F(VerifyLedgerTest, CompleteRun) {
  for (int i = 0; i < 3; ++i) backend_.Add(Spans(AddEntry()));
  auto summary = Run();
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  EXPECT_EQ(summary->checked, 3u);
  EXPECT_EQ(summary->complete, 3u);
  EXPECT_EQ(summary->incomplete + summary->broken + summary->missing, 0u);
  EXPECT_TRUE(summary->examples.empty());
  EXPECT_TRUE(summary->break_edges.empty());
  // Seen with all spans twice in a row (stable_polls = 2): the confirming poll comes after the
  // short min_repoll_interval, not the full poll interval.
  EXPECT_EQ(summary->polls, 6u);
  EXPECT_EQ(summary->backend_requests, 6u);
  EXPECT_EQ(summary->elapsed_ns, 20 * kMs);
  EXPECT_FALSE(summary->deadline_hit);
  EXPECT_TRUE(backend_.searches.empty());
  EXPECT_EQ(progress_, (std::vector<std::pair<size_t, size_t>>{{1, 3}, {2, 3}, {3, 3}}));
}

TEST_F(VerifyLedgerTest, IncompleteTraceSettlesAfterTheQuietPeriod) {
  LedgerEntry e = AddEntry();
  std::vector<Span> spans = Spans(e);
  spans.erase(spans.begin() + 3);  // cart's SERVER span never arrives
  backend_.Add(spans);
  auto summary = Run();
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  EXPECT_EQ(summary->incomplete, 1u);
  EXPECT_EQ(summary->complete, 0u);
  // Unchanged from t=0 until settle_incomplete_ns (2s) has passed: polls at 0, 0.1s, ..., 2s.
  EXPECT_EQ(summary->elapsed_ns, 2 * kSec);
  EXPECT_EQ(summary->polls, 21u);
  ASSERT_EQ(summary->examples.size(), 1u);
  EXPECT_EQ(summary->examples[0].status, TraceStatus::kIncomplete);
  EXPECT_EQ(summary->examples[0].explanation,
            "1 of 8 expected spans missing: cart SERVER GetCart (hop 0.0)");
  // cart was searched for fragments by request id, around the request's own times.
  ASSERT_EQ(backend_.searches.size(), 1u);
  const SearchCall& search = backend_.searches[0];
  EXPECT_EQ(search.service, "cart");
  EXPECT_EQ(search.key, "tracerig.request_id");
  EXPECT_EQ(search.value, "0000000000000500");
  EXPECT_EQ(search.start_us, (e.intended_unix_nano - 60 * kSec) / 1000);
  EXPECT_EQ(search.end_us, (e.end_unix_nano + 60 * kSec) / 1000);
}

TEST_F(VerifyLedgerTest, BrokenTracesAreFoundByRequestIdAndCountedPerEdge) {
  for (int i = 0; i < 2; ++i) {
    LedgerEntry e = AddEntry();
    std::vector<Span> spans = Spans(e);
    spans[7].trace_id = TraceId{0x2, e.sequence};  // payment started a new trace
    backend_.Add(spans);
  }
  backend_.Add(Spans(AddEntry()));
  auto summary = Run();
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  EXPECT_EQ(summary->checked, 3u);
  EXPECT_EQ(summary->broken, 2u);
  EXPECT_EQ(summary->complete, 1u);
  ASSERT_EQ(summary->break_edges.size(), 1u);
  EXPECT_EQ(summary->break_edges[0].hop, "0.1.0");
  EXPECT_EQ(summary->break_edges[0].caller, "checkout");
  EXPECT_EQ(summary->break_edges[0].callee, "payment");
  EXPECT_EQ(summary->break_edges[0].traces, 2u);
  ASSERT_EQ(summary->examples.size(), 2u);
  EXPECT_EQ(summary->examples[0].sequence, 0u);
  EXPECT_EQ(summary->examples[1].sequence, 1u);
  EXPECT_EQ(summary->examples[1].breaks[0].found_under, (TraceId{0x2, 1}));
  // One search per broken trace: payment was the only service with missing spans.
  ASSERT_EQ(backend_.searches.size(), 2u);
  EXPECT_EQ(backend_.searches[0].service, "payment");
}

TEST_F(VerifyLedgerTest, OneSearchCanFindAWholeBrokenSubtree) {
  LedgerEntry e = AddEntry();
  std::vector<Span> spans = Spans(e);
  for (size_t i = 5; i < 8; ++i) spans[i].trace_id = TraceId{0x2, 0x2};  // checkout and below
  backend_.Add(spans);
  auto summary = Run();
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  EXPECT_EQ(summary->broken, 1u);
  ASSERT_EQ(backend_.searches.size(), 1u);
  EXPECT_EQ(backend_.searches[0].service, "checkout");
  ASSERT_EQ(summary->examples.size(), 1u);
  EXPECT_TRUE(summary->examples[0].missing.empty());
}

TEST_F(VerifyLedgerTest, NothingAnywhereIsMissing) {
  AddEntry();
  auto summary = Run();
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  EXPECT_EQ(summary->missing, 1u);
  EXPECT_FALSE(summary->deadline_hit);
  // Every service with missing spans was searched once.
  EXPECT_EQ(backend_.searches.size(), 5u);
}

TEST_F(VerifyLedgerTest, BackendDownIsAnErrorNotMissingTraces) {
  for (int i = 0; i < 3; ++i) backend_.Add(Spans(AddEntry()));
  backend_.failures_to_inject = -1;
  auto summary = Run();
  ASSERT_FALSE(summary.ok());
  EXPECT_EQ(summary.error().message, "backend unreachable: connection refused");
  EXPECT_EQ(summary.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(backend_.get_calls, 3);  // max_backend_errors attempts in a row
  EXPECT_EQ(sleeper_.sleeps(), 2);   // one poll interval between attempts
}

TEST_F(VerifyLedgerTest, TransientBackendErrorsAreRetried) {
  backend_.Add(Spans(AddEntry()));
  backend_.failures_to_inject = 2;
  auto summary = Run();
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  EXPECT_EQ(summary->complete, 1u);
}

TEST_F(VerifyLedgerTest, SearchFailureIsAnError) {
  AddEntry();
  options_.settle_incomplete_ns = 0;
  // Fail from the first search on: the two polls succeed, then every call fails.
  struct FailingSearch final : BackendClient {
    std::string Describe() const override { return "x"; }
    Result<std::optional<std::vector<Span>>> GetTrace(TraceId) override {
      return std::optional<std::vector<Span>>{};
    }
    Result<std::vector<Span>> FindSpans(std::string_view, std::string_view, std::string_view,
                                        uint64_t, uint64_t) override {
      return MakeError("HTTP 502");
    }
  } backend;
  auto summary = VerifyLedger(scenario_, ledger_, backend, options_, clock_, sleeper_);
  ASSERT_FALSE(summary.ok());
  EXPECT_EQ(summary.error().message, "backend unreachable: HTTP 502");
  EXPECT_EQ(summary.error().code, ErrorCode::kUnavailable);
}

TEST_F(VerifyLedgerTest, LateSpansBecomeComplete) {
  LedgerEntry e = AddEntry();
  std::vector<Span> spans = Spans(e);
  // Half the spans at 0.5s, the rest at 1.9s: the count changes before settling twice.
  std::vector<Span> late(spans.begin() + 4, spans.end());
  spans.resize(4);
  backend_.Add(spans, 500 * kMs);
  backend_.Add(late, 1900 * kMs);
  auto summary = Run();
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  EXPECT_EQ(summary->complete, 1u);
  // Seen complete at 1.9s and again min_repoll_interval (20ms) later.
  EXPECT_EQ(summary->elapsed_ns, 1920 * kMs);
  EXPECT_TRUE(backend_.searches.empty());
}

TEST_F(VerifyLedgerTest, DeadlineClassifiesWhatIsKnown) {
  options_.deadline_ns = 1 * kSec;
  LedgerEntry partial = AddEntry();
  std::vector<Span> spans = Spans(partial);
  spans.resize(6);
  backend_.Add(spans);
  AddEntry();  // nothing ever arrives
  LedgerEntry late = AddEntry();
  backend_.Add(Spans(late), 5 * kSec);  // after the deadline
  auto summary = Run();
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  EXPECT_TRUE(summary->deadline_hit);
  EXPECT_EQ(summary->elapsed_ns, 1 * kSec);
  EXPECT_EQ(summary->polls, 33u);  // each trace at 0, 0.1s, ..., 0.9s, and a last time at 1s
  EXPECT_EQ(summary->checked, 3u);
  EXPECT_EQ(summary->incomplete, 1u);
  EXPECT_EQ(summary->missing, 2u);
  EXPECT_EQ(progress_.back(), (std::pair<size_t, size_t>{3, 3}));
}

// Traces whose spans tracerig's exporter dropped are "not exported", not missing or incomplete;
// complete and broken traces keep their status, and traces it did not name stay missing.
TEST_F(VerifyLedgerTest, TracesTheExporterLostAreNotExportedRatherThanMissing) {
  options_.settle_incomplete_ns = 0;
  const LedgerEntry lost_whole = AddEntry();  // nothing arrived
  const LedgerEntry lost_part = AddEntry();   // some spans arrived
  std::vector<Span> part = Spans(lost_part);
  part.pop_back();
  backend_.Add(part);
  const LedgerEntry complete = AddEntry();
  backend_.Add(Spans(complete));
  AddEntry();  // missing, and the exporter did not lose it: the backend's doing
  std::vector<TraceId> asked;
  options_.export_loss = [&](const TraceId& id) -> std::string {
    asked.push_back(id);
    if (id == lost_whole.trace_id || id == lost_part.trace_id || id == complete.trace_id) {
      return "export to otlp-http://127.0.0.1:1/v1/traces failed: 8 after 5 retries: refused";
    }
    return "";
  };
  auto summary = Run();
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  EXPECT_EQ(summary->checked, 4u);
  EXPECT_EQ(summary->not_exported, 2u);
  EXPECT_EQ(summary->complete, 1u);
  EXPECT_EQ(summary->missing, 1u);
  EXPECT_EQ(summary->incomplete, 0u);
  EXPECT_EQ(asked.size(), 3u);  // the complete trace is never asked about
  ASSERT_EQ(summary->examples.size(), 3u);  // ledger order
  EXPECT_EQ(summary->examples[0].status, TraceStatus::kNotExported);
  EXPECT_EQ(summary->examples[0].sequence, 0u);
  EXPECT_TRUE(summary->examples[0].explanation.starts_with(
      "spans never left tracerig: export to otlp-http://127.0.0.1:1/v1/traces failed: 8 after "
      "5 retries: refused ("))
      << summary->examples[0].explanation;
  EXPECT_EQ(summary->examples[1].status, TraceStatus::kNotExported);
  EXPECT_EQ(summary->examples[1].sequence, 1u);
  EXPECT_EQ(summary->examples[1].found_spans, 7u);
  EXPECT_EQ(summary->examples[2].status, TraceStatus::kMissing);
  EXPECT_EQ(summary->examples[2].sequence, 3u);
}

TEST_F(VerifyLedgerTest, ExamplesAreCappedPerStatusInLedgerOrder) {
  options_.max_examples = 2;
  options_.settle_incomplete_ns = 0;
  for (int i = 0; i < 4; ++i) {
    std::vector<Span> spans = Spans(AddEntry());
    spans.pop_back();
    backend_.Add(spans);
  }
  AddEntry();  // missing
  auto summary = Run();
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  EXPECT_EQ(summary->incomplete, 4u);
  EXPECT_EQ(summary->missing, 1u);
  ASSERT_EQ(summary->examples.size(), 3u);
  EXPECT_EQ(summary->examples[0].sequence, 0u);
  EXPECT_EQ(summary->examples[1].sequence, 1u);
  EXPECT_EQ(summary->examples[2].sequence, 4u);
  EXPECT_EQ(summary->examples[2].status, TraceStatus::kMissing);
}

TEST_F(VerifyLedgerTest, UnsampledEntriesAreSkipped) {
  AddEntry();
  ledger_.back().sampled = false;
  auto summary = Run();
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  EXPECT_EQ(summary->checked, 0u);
  EXPECT_EQ(summary->skipped_unsampled, 1u);
  EXPECT_EQ(backend_.get_calls, 0);
}

TEST_F(VerifyLedgerTest, LedgerFromAnotherScenarioIsAnError) {
  AddEntry();
  ledger_.back().entry = 3;
  auto summary = Run();
  ASSERT_FALSE(summary.ok());
  EXPECT_EQ(summary.error().message,
            "ledger entry 0 names load entry 3, but scenario \"quickstart\" has 1 load entries");
}

TEST_F(VerifyLedgerTest, BackoffDoublesBetweenRetries) {
  backend_.Add(Spans(AddEntry()));
  backend_.failures_to_inject = -1;
  options_.max_backend_errors = 4;
  ASSERT_FALSE(Run().ok());
  EXPECT_EQ(backend_.get_calls, 4);
  EXPECT_EQ(sleeper_.slept(), (100 + 200 + 400) * kMs);
}

TEST_F(VerifyLedgerTest, RequestRateIsLimited) {
  options_.max_requests_per_second = 10;  // one request per 100ms
  for (int i = 0; i < 3; ++i) backend_.Add(Spans(AddEntry()));
  auto summary = Run();
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  EXPECT_EQ(summary->complete, 3u);
  EXPECT_EQ(summary->backend_requests, 6u);
  // Six requests, 100ms apart: the last one starts at 500ms.
  EXPECT_EQ(summary->elapsed_ns, 500 * kMs);
}

TEST_F(VerifyLedgerTest, ViolationsAreCountedPerKindWithExamplesInLedgerOrder) {
  options_.max_examples = 1;
  for (int i = 0; i < 4; ++i) {
    LedgerEntry e = AddEntry();
    std::vector<Span> spans = Spans(e);
    if (i == 1 || i == 3) spans[7].parent_span_id = SpanId{0x105};  // wrong parent
    if (i == 2 || i == 3) spans[3].parent_span_id = SpanId{0xdead};  // orphan
    backend_.Add(spans);
  }
  auto summary = Run();
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  EXPECT_EQ(summary->complete, 4u);  // violations do not change the status
  EXPECT_TRUE(summary->examples.empty());
  EXPECT_EQ(summary->traces_with_violations, 3u);
  EXPECT_EQ(summary->violation_counts,
            (std::map<std::string, size_t>{{"orphan", 2}, {"wrong-parent", 2}}));
  // The first trace of each kind, each once, in ledger order.
  ASSERT_EQ(summary->violation_examples.size(), 2u);
  EXPECT_EQ(summary->violation_examples[0].sequence, 1u);
  EXPECT_EQ(summary->violation_examples[1].sequence, 2u);
  EXPECT_EQ(summary->violation_examples[1].violations[0].kind, "orphan");
}

TEST_F(VerifyLedgerTest, ClockSkewToleranceIsPassedToTheChecks) {
  LedgerEntry e = AddEntry();
  std::vector<Span> spans = Spans(e);
  spans[3].end_unix_nano = spans[2].end_unix_nano + 50;
  backend_.Add(spans);
  options_.clock_skew_tolerance_ns = 50;
  auto summary = Run();
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  EXPECT_EQ(summary->traces_with_violations, 0u);
  options_.clock_skew_tolerance_ns = 49;
  summary = Run();
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  EXPECT_EQ(summary->violation_counts, (std::map<std::string, size_t>{{"clock-skew", 1}}));
}

// The same ledger verified by 1 and by 4 workers gives the same summary.
TEST_F(VerifyLedgerTest, WorkersShareTheLedgerAndMergeTheSameSummary) {
  options_.settle_incomplete_ns = 200 * kMs;
  for (int i = 0; i < 23; ++i) {
    LedgerEntry e = AddEntry();
    std::vector<Span> spans = Spans(e);
    if (i % 5 == 1) spans.erase(spans.begin() + 3);           // incomplete
    if (i % 5 == 2) spans[7].trace_id = TraceId{0x2, e.sequence};  // broken
    if (i % 5 == 3) spans[5].parent_span_id = SpanId{};        // multiple roots
    if (i % 7 == 6) continue;                                  // missing
    backend_.Add(spans);
  }
  SharedAdvancingSleeper sleeper(clock_);
  auto verify = [&](size_t concurrency, int& clients) {
    options_.concurrency = concurrency;
    clients = 0;
    return VerifyLedger(
        scenario_, ledger_,
        [&]() -> std::unique_ptr<BackendClient> {
          ++clients;
          return std::make_unique<FakeBackend>(backend_);
        },
        options_, clock_, sleeper);
  };
  int one_client = 0;
  int four_clients = 0;
  auto one = verify(1, one_client);
  auto four = verify(4, four_clients);
  ASSERT_TRUE(one.ok()) << one.error().message;
  ASSERT_TRUE(four.ok()) << four.error().message;
  EXPECT_EQ(one_client, 1);
  EXPECT_EQ(four_clients, 4);
  EXPECT_EQ(four->checked, 23u);
  EXPECT_EQ(four->complete, one->complete);
  EXPECT_EQ(four->incomplete, one->incomplete);
  EXPECT_EQ(four->broken, one->broken);
  EXPECT_EQ(four->missing, one->missing);
  EXPECT_GT(four->incomplete, 0u);
  EXPECT_GT(four->broken, 0u);
  EXPECT_GT(four->missing, 0u);
  EXPECT_EQ(four->violation_counts, one->violation_counts);
  EXPECT_EQ(four->traces_with_violations, one->traces_with_violations);
  ASSERT_EQ(four->break_edges.size(), one->break_edges.size());
  EXPECT_EQ(four->break_edges[0].traces, one->break_edges[0].traces);
  auto sequences = [](const std::vector<TraceVerdict>& verdicts) {
    std::vector<uint64_t> out;
    for (const TraceVerdict& v : verdicts) out.push_back(v.sequence);
    return out;
  };
  const std::vector<uint64_t> examples = sequences(four->examples);
  EXPECT_EQ(examples, sequences(one->examples));
  EXPECT_TRUE(std::is_sorted(examples.begin(), examples.end()));
  EXPECT_FALSE(four->violation_examples.empty());
  EXPECT_EQ(sequences(four->violation_examples), sequences(one->violation_examples));
  // Analytics merge to the same figures too.
  EXPECT_EQ(four->graph.edges, one->graph.edges);
  EXPECT_FALSE(four->graph.edges.empty());
  ASSERT_EQ(four->sampling.size(), one->sampling.size());
  for (size_t i = 0; i < four->sampling.size(); ++i) {
    EXPECT_EQ(four->sampling[i].service, one->sampling[i].service);
    EXPECT_EQ(four->sampling[i].n, one->sampling[i].n);
    EXPECT_EQ(four->sampling[i].k, one->sampling[i].k);
    EXPECT_EQ(four->sampling[i].parent_based_inconsistencies,
              one->sampling[i].parent_based_inconsistencies);
  }
  EXPECT_EQ(four->time_to_queryable.traces, one->time_to_queryable.traces);
}

TEST_F(VerifyLedgerTest, OneWorkerPerTraceAtMost) {
  backend_.Add(Spans(AddEntry()));
  int clients = 0;
  options_.concurrency = 8;
  auto summary = VerifyLedger(
      scenario_, ledger_,
      [&]() -> std::unique_ptr<BackendClient> {
        ++clients;
        return std::make_unique<FakeBackend>(backend_);
      },
      options_, clock_, sleeper_);
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  EXPECT_EQ(clients, 1);
  EXPECT_EQ(summary->complete, 1u);
}

TEST_F(VerifyLedgerTest, AWorkersBackendFailureEndsTheWholeRun) {
  for (int i = 0; i < 8; ++i) backend_.Add(Spans(AddEntry()));
  backend_.failures_to_inject = -1;
  SharedAdvancingSleeper sleeper(clock_);
  options_.concurrency = 4;
  auto summary = VerifyLedger(
      scenario_, ledger_,
      [&]() -> std::unique_ptr<BackendClient> { return std::make_unique<FakeBackend>(backend_); },
      options_, clock_, sleeper);
  ASSERT_FALSE(summary.ok());
  EXPECT_EQ(summary.error().message, "backend unreachable: connection refused");
  EXPECT_EQ(summary.error().code, ErrorCode::kUnavailable);
}

TEST_F(VerifyLedgerTest, NullClientFromTheFactoryIsAnError) {
  AddEntry();
  auto summary = VerifyLedger(
      scenario_, ledger_, []() -> std::unique_ptr<BackendClient> { return nullptr; }, options_,
      clock_, sleeper_);
  ASSERT_FALSE(summary.ok());
  EXPECT_EQ(summary.error().message, "verifier: the backend client factory returned null");
}

const SamplingVerdict* SamplingOf(const VerificationSummary& summary, std::string_view service) {
  for (const SamplingVerdict& v : summary.sampling) {
    if (v.service == service) return &v;
  }
  return nullptr;
}

const EdgeComparison* EdgeOf(const VerificationSummary& summary, std::string_view caller,
                             std::string_view callee) {
  for (const EdgeComparison& e : summary.graph.edges) {
    if (e.caller == caller && e.callee == callee) return &e;
  }
  return nullptr;
}

TEST_F(VerifyLedgerTest, CompleteRunHasCertainSamplingAndTheTopologysGraph) {
  for (int i = 0; i < 3; ++i) backend_.Add(Spans(AddEntry()));
  auto summary = Run();
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  ASSERT_EQ(summary->sampling.size(), 4u);  // by service name; the driver is not a service
  EXPECT_EQ(summary->sampling[0].service, "cart");
  for (const SamplingVerdict& v : summary->sampling) {
    EXPECT_EQ(v.policy, "parent-based(1)");
    EXPECT_EQ(v.n, 3u);
    EXPECT_EQ(v.k, 3u);
    EXPECT_EQ(v.observed, 1.0);
    EXPECT_EQ(v.expected, 1.0);
    EXPECT_EQ(v.confidence, 0.99);
    EXPECT_EQ(v.verdict, "pass") << v.service;
    EXPECT_EQ(v.parent_based_inconsistencies, 0u);
  }
  EXPECT_EQ(summary->parent_based_inconsistencies, 0u);
  EXPECT_TRUE(summary->graph.Matches());
  ASSERT_EQ(summary->graph.edges.size(), 4u);
  for (const EdgeComparison& e : summary->graph.edges) {
    EXPECT_TRUE(e.in_topology) << e.caller << " -> " << e.callee;
    EXPECT_EQ(e.expected_calls, 3.0);
    EXPECT_EQ(e.observed_calls, 3u);
    EXPECT_EQ(e.status, "ok");
  }
  EXPECT_NE(EdgeOf(*summary, kDriverServiceName, "frontend"), nullptr);
}

TEST_F(VerifyLedgerTest, ADroppedSpanShowsInTheGraphAndTheSamplingOfItsService) {
  for (int i = 0; i < 3; ++i) {
    std::vector<Span> spans = Spans(AddEntry());
    if (i == 1) spans.erase(spans.begin() + 7);  // payment's SERVER span, its only one
    backend_.Add(spans);
  }
  options_.settle_incomplete_ns = 200 * kMs;
  auto summary = Run();
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  const EdgeComparison* edge = EdgeOf(*summary, "checkout", "payment");
  ASSERT_NE(edge, nullptr);
  EXPECT_EQ(edge->expected_calls, 3.0);
  EXPECT_EQ(edge->observed_calls, 2u);
  EXPECT_EQ(edge->status, "count-mismatch");
  EXPECT_EQ(summary->graph.count_mismatches, 1u);
  EXPECT_EQ(summary->graph.missing, 0u);
  // A span that never arrives looks like a decision not to sample: payment follows checkout's.
  const SamplingVerdict* payment = SamplingOf(*summary, "payment");
  ASSERT_NE(payment, nullptr);
  EXPECT_EQ(payment->k, 2u);
  EXPECT_EQ(payment->verdict, "fail");
  EXPECT_EQ(payment->parent_based_inconsistencies, 1u);
  EXPECT_EQ(summary->parent_based_inconsistencies, 1u);
  EXPECT_EQ(SamplingOf(*summary, "checkout")->verdict, "pass");
}

TEST_F(VerifyLedgerTest, AnEdgeThatNeverArrivesIsMissingAndAStrayOneUnexpected) {
  for (int i = 0; i < 2; ++i) {
    std::vector<Span> spans = Spans(AddEntry());
    spans[3].parent_span_id = spans[5].span_id;  // cart's SERVER span under checkout's
    backend_.Add(spans);
  }
  auto summary = Run();
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  EXPECT_EQ(EdgeOf(*summary, "frontend", "cart")->status, "missing");
  const EdgeComparison* stray = EdgeOf(*summary, "checkout", "cart");
  ASSERT_NE(stray, nullptr);
  EXPECT_FALSE(stray->in_topology);
  EXPECT_EQ(stray->observed_calls, 2u);
  EXPECT_EQ(stray->status, "unexpected");
  EXPECT_EQ(summary->graph.missing, 1u);
  EXPECT_EQ(summary->graph.unexpected, 1u);
}

// A ledger of `n` requests to the quickstart where checkout samples with `configured`, whose
// backend holds checkout's and payment's spans only for the requests a seeded draw at
// `actual` samples. Returns how many were sampled.
uint64_t AddRatioSampledRun(Scenario& scenario, Ledger& ledger, FakeBackend& backend,
                            const ExpectedTree& tree, const Clock& clock, int n, double configured,
                            double actual, uint64_t seed, bool drop_payment_too = true) {
  for (Service& s : scenario.services) {
    if (s.name == "checkout") s.sampling = SamplingPolicy{SamplingPolicy::Kind::kRatio, configured};
  }
  Rng rng(seed);
  uint64_t sampled = 0;
  for (int i = 0; i < n; ++i) {
    LedgerEntry e;
    e.sequence = ledger.size();
    e.trace_id = TraceId{0x1, 0x1000 + e.sequence};
    e.request_id = 0x500 + e.sequence;
    e.intended_unix_nano = e.start_unix_nano = e.end_unix_nano = clock.NowUnixNano();
    ledger.push_back(e);
    std::vector<Span> spans = AllSpans(tree, e.trace_id, e.request_id);
    if (rng.NextDouble() < actual) {
      ++sampled;
    } else {
      // checkout said no: its SERVER and CLIENT spans, and payment's (parent-based), are not
      // exported.
      spans.erase(spans.begin() + 5, spans.begin() + (drop_payment_too ? 8 : 7));
    }
    backend.Add(spans);
  }
  return sampled;
}

TEST_F(VerifyLedgerTest, RatioSamplingPassesAtTheConfiguredRate) {
  options_.settle_incomplete_ns = 200 * kMs;
  options_.statistical_sampling = true;  // the test samples on its own, not by our seeds
  const uint64_t sampled =
      AddRatioSampledRun(scenario_, ledger_, backend_, tree_, clock_, 100, 0.5, 0.5, 7);
  auto summary = Run();
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  for (std::string_view service : {"checkout", "payment"}) {
    const SamplingVerdict* v = SamplingOf(*summary, service);
    ASSERT_NE(v, nullptr) << service;
    EXPECT_EQ(v->n, 100u);
    EXPECT_EQ(v->k, sampled);
    EXPECT_EQ(v->expected, 0.5);
    EXPECT_LE(v->interval_low, 0.5);
    EXPECT_GE(v->interval_high, 0.5);
    EXPECT_EQ(v->verdict, "pass") << service << ": " << v->k << " of " << v->n;
  }
  EXPECT_EQ(SamplingOf(*summary, "checkout")->policy, "ratio(0.5)");
  EXPECT_EQ(SamplingOf(*summary, "frontend")->verdict, "pass");
  EXPECT_EQ(summary->parent_based_inconsistencies, 0u);
  // Calls into and out of checkout are seen when checkout samples: 50 expected, sd 5.
  const EdgeComparison* edge = EdgeOf(*summary, "checkout", "payment");
  ASSERT_NE(edge, nullptr);
  EXPECT_EQ(edge->expected_calls, 50.0);
  EXPECT_EQ(edge->expected_variance, 25.0);
  EXPECT_EQ(edge->observed_calls, sampled);
  EXPECT_EQ(edge->status, "ok");
  EXPECT_EQ(EdgeOf(*summary, "frontend", "checkout")->expected_calls, 50.0);
  EXPECT_EQ(EdgeOf(*summary, "frontend", "cart")->expected_calls, 100.0);
  EXPECT_TRUE(summary->graph.Matches());
}

TEST_F(VerifyLedgerTest, RatioSamplingFailsWhenOffAndRefusesOnFewTraces) {
  options_.settle_incomplete_ns = 200 * kMs;
  options_.statistical_sampling = true;  // the test samples on its own, not by our seeds
  AddRatioSampledRun(scenario_, ledger_, backend_, tree_, clock_, 100, 0.5, 0.8, 7);
  auto summary = Run();
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  EXPECT_EQ(SamplingOf(*summary, "checkout")->verdict, "fail");
  EXPECT_GT(SamplingOf(*summary, "checkout")->interval_low, 0.5);
  EXPECT_EQ(EdgeOf(*summary, "checkout", "payment")->status, "count-mismatch");

  Ledger few;
  FakeBackend backend(clock_);
  Scenario scenario = QuickstartScenario();
  AddRatioSampledRun(scenario, few, backend, tree_, clock_, 15, 0.5, 1.0, 7);
  auto small = VerifyLedger(scenario, few, backend, options_, clock_, sleeper_);
  ASSERT_TRUE(small.ok()) << small.error().message;
  // 15 * 0.5 < 10 expected each way: however far off (all 15 sampled), no verdict.
  EXPECT_EQ(SamplingOf(*small, "checkout")->k, 15u);
  EXPECT_EQ(SamplingOf(*small, "checkout")->verdict, "not enough traces");
}

TEST_F(VerifyLedgerTest, AParentBasedChildDisagreeingWithItsParentIsCounted) {
  options_.settle_incomplete_ns = 200 * kMs;
  options_.statistical_sampling = true;  // the test samples on its own, not by our seeds
  // payment's spans stay when checkout's are dropped: payment sampled while its parent was not.
  const uint64_t sampled = AddRatioSampledRun(scenario_, ledger_, backend_, tree_, clock_, 40,
                                              0.5, 0.5, 11, /*drop_payment_too=*/false);
  auto summary = Run();
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  EXPECT_EQ(SamplingOf(*summary, "payment")->parent_based_inconsistencies, 40 - sampled);
  EXPECT_EQ(SamplingOf(*summary, "checkout")->parent_based_inconsistencies, 0u);
  EXPECT_EQ(summary->parent_based_inconsistencies, 40 - sampled);
}

SamplingExpectation ServiceRatio(std::string service, double ratio) {
  SamplingExpectation e;
  e.kind = SamplingExpectation::Kind::kServiceRatio;
  e.service = std::move(service);
  e.ratio = ratio;
  return e;
}
SamplingExpectation TraceLevel(SamplingExpectation::Kind kind, double ratio = 1,
                               uint64_t slower_than_ns = 0) {
  SamplingExpectation e;
  e.kind = kind;
  e.ratio = ratio;
  e.slower_than_ns = slower_than_ns;
  return e;
}
const SamplingExpectationVerdict* ExpectationNamed(const VerificationSummary& s,
                                                   std::string_view name) {
  for (const auto& v : s.sampling_expectations) {
    if (v.name == name) return &v;
  }
  return nullptr;
}

// [expect] sampling = [{ service = "checkout", ratio = R }] on a run whose checkout kept its
// spans in a seeded 50% of requests: judged on the kept fraction whatever made the decisions.
TEST_F(VerifyLedgerTest, AServiceRatioExpectationPassesAtTheRateAndFailsOffIt) {
  options_.settle_incomplete_ns = 200 * kMs;
  options_.statistical_sampling = true;  // the test samples on its own, not by our seeds
  backend_.batch_limit = 100;            // (the fake scans every span per request)
  const uint64_t kept =
      AddRatioSampledRun(scenario_, ledger_, backend_, tree_, clock_, 200, 0.5, 0.5, 21);
  for (double declared : {0.5, 0.7, 0.3}) {
    SCOPED_TRACE(declared);
    scenario_.expect.sampling = {ServiceRatio("checkout", declared)};
    auto summary = Run();
    ASSERT_TRUE(summary.ok()) << summary.error().message;
    ASSERT_EQ(summary->sampling_expectations.size(), 1u);
    const SamplingExpectationVerdict& v = summary->sampling_expectations[0];
    EXPECT_EQ(v.name, "checkout");
    EXPECT_EQ(v.n, 200u);
    EXPECT_EQ(v.k, kept);
    EXPECT_EQ(v.expected, declared);
    EXPECT_EQ(v.confidence, 0.99);
    EXPECT_LE(v.interval_low, static_cast<double>(kept) / 200);
    EXPECT_GE(v.interval_high, static_cast<double>(kept) / 200);
    // 200 trials at 99%: the interval is about +-0.09 wide around the observed ~0.5.
    EXPECT_EQ(v.verdict, declared == 0.5 ? "pass" : "fail") << v.message;
  }
}

// A service whose visits were sampled out by tracerig's own seeded decisions still counts as
// reached: the per-request tree names it among unsampled_visits.
TEST_F(VerifyLedgerTest, AServiceRatioExpectationCountsVisitsSampledOutByOurOwnDecisions) {
  for (Service& s : scenario_.services) {
    if (s.name == "checkout") s.sampling = SamplingPolicy{SamplingPolicy::Kind::kRatio, 0.5};
  }
  uint64_t kept = 0;
  for (int i = 0; i < 300; ++i) {
    const LedgerEntry e = AddEntry();
    const ExpectedTree tree = BuildExpectedTree(scenario_, scenario_.load.entries[0], e.sequence);
    const bool sampled = std::any_of(tree.spans.begin(), tree.spans.end(),
                                     [](const ExpectedSpan& x) { return x.service == "checkout"; });
    EXPECT_NE(sampled, std::find(tree.unsampled_visits.begin(), tree.unsampled_visits.end(),
                                 "checkout") != tree.unsampled_visits.end());
    kept += sampled ? 1 : 0;
    backend_.Add(AllSpans(tree, e.trace_id, e.request_id));
  }
  scenario_.expect.sampling = {ServiceRatio("checkout", 0.5)};
  backend_.batch_limit = 100;
  auto summary = Run();
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  EXPECT_EQ(summary->complete, 300u);  // exact mode: each tree applies its decisions
  // And so does the graph: checkout's calls are expected only where it was sampled.
  EXPECT_EQ(summary->graph.count_mismatches, 0u);
  EXPECT_TRUE(summary->graph.Matches());
  const SamplingExpectationVerdict* v = ExpectationNamed(*summary, "checkout");
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(v->n, 300u);
  EXPECT_EQ(v->k, kept);
  EXPECT_GT(kept, 100u);
  EXPECT_LT(kept, 200u);
  EXPECT_EQ(v->verdict, "pass") << v->message;
}

// A tail-sampling backend: every error and every slow request kept, 30% of the rest, each kept
// trace whole. Then the same with one error trace lost and one trace kept in part.
TEST_F(VerifyLedgerTest, TraceLevelExpectationsJudgeWhatATailSamplingBackendKept) {
  options_.settle_incomplete_ns = 200 * kMs;
  backend_.batch_limit = 100;  // (the fake scans every span per request)
  using Kind = SamplingExpectation::Kind;
  scenario_.expect.sampling = {TraceLevel(Kind::kErrors),
                               TraceLevel(Kind::kSlowerThan, 1, 500 * kMs),
                               TraceLevel(Kind::kTraceRatio, 0.3), TraceLevel(Kind::kWholeTraces)};
  Rng rng(5);
  uint64_t rest_kept = 0;
  for (int i = 0; i < 600; ++i) {
    LedgerEntry e = AddEntry();
    const bool error = i % 10 == 0;
    const bool slow = i % 10 == 1;
    if (error) {
      e.outcome = RequestOutcome::kHttpError;
      e.http_status = 500;
    }
    if (slow) e.end_unix_nano = e.start_unix_nano + 600 * kMs;
    ledger_.back() = e;
    std::vector<Span> spans = Spans(e);
    bool keep = error || slow;
    if (!keep && rng.NextDouble() < 0.3) {
      keep = true;
      ++rest_kept;
    }
    if (i == 10) keep = false;          // an error trace lost
    if (i == 3 && keep) spans.pop_back();  // (only if kept) one kept in part
    if (keep) backend_.Add(spans);
  }
  auto summary = Run();
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  ASSERT_EQ(summary->sampling_expectations.size(), 4u);
  const auto* errors = ExpectationNamed(*summary, "errors");
  const auto* slow = ExpectationNamed(*summary, "slower-than-500ms");
  const auto* ratio = ExpectationNamed(*summary, "ratio");
  const auto* whole = ExpectationNamed(*summary, "whole-traces");
  ASSERT_TRUE(errors && slow && ratio && whole);
  EXPECT_EQ(errors->n, 60u);
  EXPECT_EQ(errors->k, 59u);
  EXPECT_EQ(errors->verdict, "fail");
  EXPECT_EQ(errors->message, "59 of 60 requests answered with an error kept, expected all");
  EXPECT_EQ(slow->n, 60u);
  EXPECT_EQ(slow->k, 60u);
  EXPECT_EQ(slow->verdict, "pass");
  EXPECT_EQ(ratio->n, 480u);
  EXPECT_EQ(ratio->k, rest_kept);
  EXPECT_EQ(ratio->verdict, "pass") << ratio->message;
  const bool partial = ledger_.size() > 3 && summary->incomplete > 0;
  EXPECT_EQ(whole->n, 59u + 60u + rest_kept);
  EXPECT_EQ(whole->k, whole->n - (partial ? 1 : 0));
  EXPECT_EQ(whole->verdict, partial ? "fail" : "pass");
  // The same kept fraction declared as 60% fails.
  scenario_.expect.sampling = {TraceLevel(Kind::kErrors), TraceLevel(Kind::kTraceRatio, 0.6)};
  summary = Run();
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  EXPECT_EQ(ExpectationNamed(*summary, "ratio")->verdict, "fail");
  // Without a slower_than entry, the slow requests are among the rest the ratio is judged on.
  EXPECT_EQ(ExpectationNamed(*summary, "ratio")->n, 540u);
}

TEST_F(VerifyLedgerTest, ScenarioAttributeRequirementsAreCheckedOnEverySpan) {
  backend_.Add(Spans(AddEntry()));
  AttributeRequirement r;
  r.service = "cart";
  r.kind = SpanKind::kServer;
  r.required = {"no.such.key"};
  scenario_.expect.attributes = {r};
  auto summary = Run();
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  EXPECT_EQ(summary->violation_counts, (std::map<std::string, size_t>{{"attribute", 1}}));
  ASSERT_EQ(summary->violation_examples.size(), 1u);
  EXPECT_THAT(summary->violation_examples[0].violations[0].explanation,
              ::testing::HasSubstr("no.such.key"));
  // A value requirement on a key the test spans carry: tracerig.request_id.
  r.required.clear();
  r.values = {{"tracerig.request_id", "0000000000000500"}};
  scenario_.expect.attributes = {r};
  summary = Run();
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  EXPECT_TRUE(summary->violation_counts.empty());
  r.values = {{"tracerig.request_id", "0000000000000501"}};
  scenario_.expect.attributes = {r};
  summary = Run();
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  EXPECT_EQ(summary->violation_counts, (std::map<std::string, size_t>{{"attribute", 1}}));
}

TEST_F(VerifyLedgerTest, InvalidSamplingConfidenceIsAnError) {
  AddEntry();
  options_.sampling_confidence = 2;
  auto summary = Run();
  ASSERT_FALSE(summary.ok());
  EXPECT_EQ(summary.error().message,
            "verifier: sampling confidence 2 is not between 0 and 1 (exclusive)");
}

TEST_F(VerifyLedgerTest, TimeToQueryableIsTheFirstFullPollAfterTheExport) {
  // All three requests ended 21 ms after the clock's start (AddEntry). Polls of an unfinished
  // trace come every 100 ms: at 0, 100 ms, 200 ms, 300 ms.
  backend_.Add(Spans(AddEntry()), 50 * kMs);   // first full at 100 ms: 79 ms
  backend_.Add(Spans(AddEntry()), 250 * kMs);  // first full at 300 ms: 279 ms
  backend_.Add(Spans(AddEntry()), 0);          // full at the first poll, before the export: 0
  std::vector<Span> partial = Spans(AddEntry());
  partial.pop_back();
  backend_.Add(partial);  // never complete: no sample
  options_.settle_incomplete_ns = 500 * kMs;
  auto summary = Run();
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  const TimeToQueryable& t = summary->time_to_queryable;
  EXPECT_EQ(t.traces, 3u);
  // Full at a first poll within the poll interval of its end: as precise as a measured sample.
  EXPECT_EQ(t.upper_bounds, 0u);
  EXPECT_EQ(t.p50_ns, 79 * kMs);
  EXPECT_EQ(t.p90_ns, 279 * kMs);
  EXPECT_EQ(t.p99_ns, 279 * kMs);
  EXPECT_EQ(t.max_ns, 279 * kMs);
  EXPECT_EQ(t.precision_ns, 100 * kMs);
}

TEST_F(VerifyLedgerTest, TimeToQueryableUsesTheCallersExportTimes) {
  backend_.Add(Spans(AddEntry()), 250 * kMs);  // first full at 300 ms
  // The caller knows when the last span left: 30 ms after the response (21 ms).
  options_.last_export_unix_nano = [](const LedgerEntry& e) { return e.end_unix_nano + 30 * kMs; };
  auto summary = Run();
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  EXPECT_EQ(summary->time_to_queryable.traces, 1u);
  EXPECT_EQ(summary->time_to_queryable.upper_bounds, 0u);
  EXPECT_EQ(summary->time_to_queryable.max_ns, 249 * kMs);
  // Unknown export times give no samples.
  options_.last_export_unix_nano = [](const LedgerEntry&) { return uint64_t{0}; };
  summary = Run();
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  EXPECT_EQ(summary->time_to_queryable.traces, 0u);
  EXPECT_EQ(summary->time_to_queryable.max_ns, 0u);
}

// checkout's SERVER and CLIENT spans (indices 5 and 6) become visible at `late_at`, the others at
// once.
void AddWithLateCheckout(FakeBackend& backend, std::vector<Span> spans, uint64_t late_at) {
  std::vector<Span> late = {spans[5], spans[6]};
  spans.erase(spans.begin() + 5, spans.begin() + 7);
  backend.Add(std::move(spans));
  backend.Add(std::move(late), late_at);
}

TEST_F(VerifyLedgerTest, SpansMissingAtTheFirstPollOfALateTraceAreLateAtTheirHops) {
  // Ledger ends at 21 ms; polls of an incomplete trace every 100 ms, so late spans visible at
  // 1.45 s are first seen at 1.5 s (1.479 s after the export) and at 1.25 s at 1.3 s (1.279 s).
  AddWithLateCheckout(backend_, Spans(AddEntry()), 1450 * kMs);
  AddWithLateCheckout(backend_, Spans(AddEntry()), 1250 * kMs);
  backend_.Add(Spans(AddEntry()));  // full at its first poll: never late
  auto summary = Run();
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  const TimeToQueryable& t = summary->time_to_queryable;
  EXPECT_EQ(summary->complete, 3u);
  EXPECT_EQ(t.traces, 3u);
  EXPECT_EQ(t.upper_bounds, 0u);  // that first poll came at once: a measured 0
  EXPECT_EQ(t.late_traces, 2u);
  EXPECT_EQ(t.late_floor_ns, 1 * kSec);
  EXPECT_EQ(t.late_hops,
            (std::vector<LateHop>{{"0.1", "frontend", "checkout", SpanKind::kServer, 2, 1479 * kMs},
                                  {"0.1.0", "checkout", "payment", SpanKind::kClient, 2,
                                   1479 * kMs}}));
  // p99 of three samples is the largest.
  EXPECT_EQ(t.observed_p99_ns, 1479 * kMs);
  EXPECT_EQ(t.observed_max_ns, 1479 * kMs);
}

TEST_F(VerifyLedgerTest, LateSpansBelowTheFloorAreNotAttributed) {
  // 179 ms late: what a first poll racing the exporter's batch delay sees on a healthy backend.
  AddWithLateCheckout(backend_, Spans(AddEntry()), 150 * kMs);
  auto summary = Run();
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  const TimeToQueryable& t = summary->time_to_queryable;
  EXPECT_EQ(t.observed_max_ns, 179 * kMs);
  EXPECT_EQ(t.late_traces, 0u);
  EXPECT_TRUE(t.late_hops.empty());
}

TEST_F(VerifyLedgerTest, TheScenariosExpectationIsTheLateSpanFloor) {
  scenario_.expect.time_to_queryable_max_ns = 500 * kMs;
  scenario_.expect.time_to_queryable_p99_ns = 100 * kMs;  // the smaller one
  AddWithLateCheckout(backend_, Spans(AddEntry()), 150 * kMs);
  auto summary = Run();
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  EXPECT_EQ(summary->time_to_queryable.late_floor_ns, 100 * kMs);
  EXPECT_EQ(summary->time_to_queryable.late_traces, 1u);
  ASSERT_EQ(summary->time_to_queryable.late_hops.size(), 2u);
  EXPECT_EQ(summary->time_to_queryable.late_hops[0].max_ns, 179 * kMs);
}

TEST_F(VerifyLedgerTest, TracesFullAtTheirFirstPollAreNeverLate) {
  // A run verified after everything was exported: every trace full at its first poll. The first
  // request ended 3 s before: its figure only bounds its time to queryable. The second ended
  // just now: a first poll within the poll interval of its end is as good as a measured sample.
  backend_.Add(Spans(AddEntry()));
  clock_.Advance(3 * kSec);
  backend_.Add(Spans(AddEntry()));
  auto summary = Run();
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  const TimeToQueryable& t = summary->time_to_queryable;
  EXPECT_EQ(t.traces, 2u);
  EXPECT_EQ(t.upper_bounds, 1u);
  EXPECT_GE(t.p99_ns, 2 * kSec);  // the bound: how long ago the first request ended
  // Judged without the bound: the second trace's measured 0.
  EXPECT_EQ(t.observed_p99_ns, 0u);
  EXPECT_EQ(t.observed_max_ns, 0u);
  EXPECT_TRUE(t.late_hops.empty());
}

// Streaming: advances the fake clock, then hands the feed every entry whose request has ended by
// then (monotonic times), and closes it once the last is in and `close_at` has come.
class FeedingSleeper final : public Sleeper {
 public:
  FeedingSleeper(FakeClock& clock, LedgerFeed& feed,
                 std::vector<std::pair<uint64_t, LedgerEntry>> arrivals, uint64_t close_at)
      : clock_(clock), feed_(feed), arrivals_(std::move(arrivals)), close_at_(close_at) {
    Deliver();
  }
  void SleepFor(uint64_t nanos) override {
    clock_.Advance(nanos);
    Deliver();
  }

 private:
  void Deliver() {
    const uint64_t now = clock_.NowMonotonicNano();
    while (next_ < arrivals_.size() && arrivals_[next_].first <= now) {
      feed_.Add(arrivals_[next_++].second);
    }
    if (next_ == arrivals_.size() && now >= close_at_) feed_.Close();
  }

  FakeClock& clock_;
  LedgerFeed& feed_;
  std::vector<std::pair<uint64_t, LedgerEntry>> arrivals_;  // by time
  size_t next_ = 0;
  uint64_t close_at_;
};

class StreamingVerifyTest : public VerifyLedgerTest {
 protected:
  // A request that ended at monotonic `end_ns` (the clock starts at 0), in the ledger and due to
  // arrive in the feed then; its spans become queryable `lag_ns` later.
  void AddStreamed(uint64_t end_ns, uint64_t lag_ns) {
    LedgerEntry e = AddEntry();
    e.end_unix_nano = unix_at_zero_ + end_ns;
    e.start_unix_nano = e.end_unix_nano - 20 * kMs;
    e.intended_unix_nano = e.start_unix_nano - kMs;
    ledger_.back() = e;
    backend_.Add(Spans(e), end_ns + lag_ns);
    arrivals_.emplace_back(end_ns, e);
  }
  Result<VerificationSummary> Stream(uint64_t close_at, size_t shards = 1) {
    LedgerFeed feed(shards, 100);
    FeedingSleeper sleeper(clock_, feed, arrivals_, close_at);
    return VerifyLedgerFeed(
        scenario_, feed, [this] { return std::make_unique<FakeBackend>(backend_); }, options_,
        clock_, sleeper,
        [this](size_t done, size_t total) { progress_.emplace_back(done, total); });
  }

  const uint64_t unix_at_zero_ = clock_.NowUnixNano();
  std::vector<std::pair<uint64_t, LedgerEntry>> arrivals_;
};

TEST_F(StreamingVerifyTest, TracesPolledAsTheyEndAreMeasuredNotBounded) {
  // Five requests ending 300 ms apart, each queryable 150 ms after its end. Each is polled at
  // once (nothing yet), 100 ms later (nothing), 200 ms later (full): 200 ms, measured.
  for (uint64_t k = 0; k < 5; ++k) AddStreamed(k * 300 * kMs, 150 * kMs);
  auto streamed = Stream(/*close_at=*/1200 * kMs);
  ASSERT_TRUE(streamed.ok()) << streamed.error().message;
  EXPECT_EQ(streamed->complete, 5u);
  const TimeToQueryable& t = streamed->time_to_queryable;
  EXPECT_EQ(t.traces, 5u);
  EXPECT_EQ(t.upper_bounds, 0u);
  EXPECT_EQ(t.p50_ns, 200 * kMs);
  EXPECT_EQ(t.max_ns, 200 * kMs);
  EXPECT_EQ(t.observed_p99_ns, 200 * kMs);
  EXPECT_EQ(t.precision_ns, 125 * kMs);  // poll interval + the 25 ms poll step
  EXPECT_TRUE(streamed->streamed);
  // The last request ended at 1.2 s (the feed closed then); it was full at 1.4 s and confirmed on
  // the next step after min_repoll_interval (20 ms): 1.425 s.
  EXPECT_EQ(streamed->elapsed_ns, 1425 * kMs);
  EXPECT_EQ(streamed->after_load_ns, 225 * kMs);
  EXPECT_EQ(progress_.back(), (std::pair<size_t, size_t>{5, 5}));

  // The same ledger verified after the load: every trace is full at its first poll, long after
  // its end, so its figure only bounds its time to queryable, and nothing is judged on it.
  auto after = Run();
  ASSERT_TRUE(after.ok()) << after.error().message;
  EXPECT_FALSE(after->streamed);
  EXPECT_EQ(after->time_to_queryable.upper_bounds, 5u);
  EXPECT_GE(after->time_to_queryable.max_ns, 1400 * kMs);
  EXPECT_EQ(after->time_to_queryable.observed_p99_ns, 0u);
}

TEST_F(StreamingVerifyTest, TracesTricklingInAreAskedForInBatchesOnePerStep) {
  // 40 requests 5 ms apart: one request per worker and 25 ms step, each with every trace due.
  for (uint64_t k = 0; k < 40; ++k) AddStreamed(k * 5 * kMs, 150 * kMs);
  backend_.batch_limit = 100;
  auto summary = Stream(/*close_at=*/195 * kMs);
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  EXPECT_EQ(summary->complete, 40u);
  EXPECT_EQ(summary->time_to_queryable.upper_bounds, 0u);
  const uint64_t steps = summary->elapsed_ns / options_.stream_wait_ns + 1;
  EXPECT_LE(summary->backend_requests, steps);
  EXPECT_GE(summary->polls, 3 * 40u);  // nothing, full, confirmed: at least three polls each
}

TEST_F(StreamingVerifyTest, TheDeadlineCountsFromTheEndOfTheLoad) {
  options_.deadline_ns = 1 * kSec;
  options_.settle_incomplete_ns = 10 * kSec;  // the incomplete trace never settles
  AddStreamed(0, 100 * kMs);
  AddEntry();  // a second request, never complete, ending at 2.5 s: after a deadline from 0
  ledger_.back().end_unix_nano = unix_at_zero_ + 2500 * kMs;
  std::vector<Span> partial = Spans(ledger_.back());
  partial.pop_back();
  backend_.Add(partial, 2500 * kMs);
  arrivals_.emplace_back(2500 * kMs, ledger_.back());
  auto summary = Stream(/*close_at=*/3 * kSec);
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  EXPECT_EQ(summary->checked, 2u);
  EXPECT_EQ(summary->complete, 1u);
  EXPECT_EQ(summary->incomplete, 1u);
  EXPECT_TRUE(summary->deadline_hit);
  // Closed at 3 s, deadline 1 s later; the last poll is on the step grid.
  EXPECT_GE(summary->elapsed_ns, 4 * kSec);
  EXPECT_LE(summary->elapsed_ns, 4 * kSec + options_.stream_wait_ns);
  EXPECT_EQ(summary->after_load_ns, summary->elapsed_ns - 3 * kSec);
}

TEST_F(StreamingVerifyTest, SeveralWorkersEachTakeTheirShare) {
  // 300 requests (three deals of 100) in the feed before it closes, four workers on their own
  // threads sharing the fake clock: every trace is verified once.
  for (uint64_t k = 0; k < 300; ++k) AddStreamed(0, (k % 7) * 40 * kMs);
  auto summary = Stream(/*close_at=*/0, /*shards=*/4);
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  EXPECT_EQ(summary->checked, 300u);
  EXPECT_EQ(summary->complete, 300u);
  EXPECT_EQ(summary->time_to_queryable.traces, 300u);
  EXPECT_EQ(progress_.back(), (std::pair<size_t, size_t>{300, 300}));
}

TEST_F(StreamingVerifyTest, AnEntryNamingAnUnknownLoadEntryIsAnError) {
  AddStreamed(0, 0);
  arrivals_.back().second.entry = 7;
  auto summary = Stream(/*close_at=*/0);
  ASSERT_FALSE(summary.ok());
  EXPECT_EQ(summary.error().message,
            "ledger entry 0 names load entry 7, but scenario \"quickstart\" has 1 load entries");
}

TEST_F(VerifyLedgerTest, LateHopsAreBoundedMostFrequentFirst) {
  AddWithLateCheckout(backend_, Spans(AddEntry()), 1500 * kMs);
  std::vector<Span> late_cart = Spans(AddEntry());
  std::vector<Span> cart = {late_cart[3]};
  late_cart.erase(late_cart.begin() + 3);
  backend_.Add(late_cart);
  backend_.Add(cart, 1500 * kMs);
  AddWithLateCheckout(backend_, Spans(AddEntry()), 1500 * kMs);
  options_.max_late_hops = 2;
  auto summary = Run();
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  const TimeToQueryable& t = summary->time_to_queryable;
  EXPECT_EQ(t.late_traces, 3u);
  ASSERT_EQ(t.late_hops.size(), 2u);  // cart's hop (1 trace) is the one left out
  EXPECT_EQ(t.late_hops[0].callee, "checkout");
  EXPECT_EQ(t.late_hops[0].traces, 2u);
  EXPECT_EQ(t.late_hops[1].hop, "0.1.0");
}

TEST_F(VerifyLedgerTest, ATraceAbsentAtItsFirstPollIsLateAtEveryHop) {
  backend_.Add(Spans(AddEntry()), 1500 * kMs);
  auto summary = Run();
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  const TimeToQueryable& t = summary->time_to_queryable;
  EXPECT_EQ(t.late_traces, 1u);
  // Every span: the driver's and frontend's at hop 0, then a CLIENT and a SERVER span per call.
  ASSERT_EQ(t.late_hops.size(), 8u);
  for (const LateHop& h : t.late_hops) EXPECT_EQ(h.traces, 1u) << h.hop;
}

TEST_F(VerifyLedgerTest, BackendDependencyListIsComparedWithTheExpectedEdges) {
  backend_.Add(Spans(AddEntry()));
  const LedgerEntry& e = ledger_[0];
  // Not served: no comparison, and the reason, never missing edges.
  auto summary = Run();
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  ASSERT_TRUE(summary->backend_graph);
  EXPECT_FALSE(summary->backend_graph->fetched);
  EXPECT_EQ(summary->backend_graph->error, "not served by this backend (fake backend)");
  // The window: the ledger's times padded by a minute, in microseconds.
  ASSERT_EQ(backend_.dependency_windows.size(), 1u);
  EXPECT_EQ(backend_.dependency_windows[0].first, (e.intended_unix_nano - 60 * kSec) / 1000);
  EXPECT_EQ(backend_.dependency_windows[0].second, (e.end_unix_nano + 60 * kSec) / 1000);

  backend_.dependencies = std::vector<DependencyLink>{
      {"tracerig-driver", "frontend", 9}, {"frontend", "cart", 9}, {"frontend", "checkout", 9},
      {"other", "thing", 1}};
  summary = Run();
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  const BackendGraph& g = *summary->backend_graph;
  EXPECT_TRUE(g.fetched);
  EXPECT_EQ(g.links.size(), 4u);
  EXPECT_EQ(g.comparison.missing, 1u);  // checkout -> payment
  EXPECT_EQ(g.comparison.unexpected, 1u);
  EXPECT_EQ(g.comparison.count_mismatches, 0u);  // counts are the window's, not compared

  backend_.dependencies_fail = true;
  summary = Run();
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  EXPECT_FALSE(summary->backend_graph->fetched);
  EXPECT_EQ(summary->backend_graph->error, "dependencies: connection reset");

  options_.fetch_backend_dependencies = false;
  summary = Run();
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  EXPECT_FALSE(summary->backend_graph);
}

TEST_F(VerifyLedgerTest, AttributeExpectationsAreViolationsOfKindAttribute) {
  for (int i = 0; i < 2; ++i) {
    std::vector<Span> spans = Spans(AddEntry());
    if (i == 1) spans[5].attributes.push_back({"http.route", std::string("/place")});
    backend_.Add(spans);
  }
  options_.attribute_expectations = {{"checkout", SpanKind::kServer, "http.route", std::nullopt}};
  auto summary = Run();
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  EXPECT_EQ(summary->complete, 2u);
  EXPECT_EQ(summary->violation_counts, (std::map<std::string, size_t>{{"attribute", 1}}));
  ASSERT_EQ(summary->violation_examples.size(), 1u);
  EXPECT_EQ(summary->violation_examples[0].sequence, 0u);
  EXPECT_EQ(summary->violation_examples[0].violations[0].explanation,
            "SERVER span of checkout at hop 0.1 lacks http.route");
}

TEST_F(VerifyLedgerTest, BatchesMixSettledAndUnsettledTracesWithTheSameVerdicts) {
  LedgerEntry complete = AddEntry();
  backend_.Add(Spans(complete));
  std::vector<Span> partial = Spans(AddEntry());
  partial.resize(6);
  backend_.Add(partial);
  AddEntry();  // nothing ever arrives
  backend_.batch_limit = 10;
  auto batched = Run();
  ASSERT_TRUE(batched.ok()) << batched.error().message;
  // All three at 0; the complete one alone at 20ms (settled: a batch of one is a GetTrace); the
  // other two together every 100ms until they have been quiet for settle_incomplete (2s).
  std::vector<size_t> expected_batches = {3};
  expected_batches.insert(expected_batches.end(), 20, 2);
  EXPECT_EQ(backend_.batch_sizes, expected_batches);
  EXPECT_EQ(backend_.get_calls, 1);
  EXPECT_EQ(batched->polls, 44u);
  EXPECT_EQ(batched->complete, 1u);
  EXPECT_EQ(batched->incomplete, 1u);
  EXPECT_EQ(batched->missing, 1u);
  EXPECT_EQ(batched->elapsed_ns, 2 * kSec);

  // The same ledger one trace per request: the same verdicts, times and polls.
  FakeClock clock;
  AdvancingSleeper sleeper(clock);
  FakeBackend unbatched(clock);
  unbatched.Add(Spans(complete));
  unbatched.Add(partial);
  options_.max_traces_per_request = 1;
  auto one_by_one = VerifyLedger(scenario_, ledger_, unbatched, options_, clock, sleeper);
  ASSERT_TRUE(one_by_one.ok()) << one_by_one.error().message;
  EXPECT_TRUE(unbatched.batch_sizes.empty());
  EXPECT_EQ(one_by_one->polls, batched->polls);
  EXPECT_EQ(one_by_one->elapsed_ns, batched->elapsed_ns);
  EXPECT_EQ(one_by_one->complete, batched->complete);
  EXPECT_EQ(one_by_one->incomplete, batched->incomplete);
  EXPECT_EQ(one_by_one->missing, batched->missing);
  ASSERT_EQ(one_by_one->examples.size(), batched->examples.size());
  for (size_t i = 0; i < batched->examples.size(); ++i) {
    EXPECT_EQ(one_by_one->examples[i].sequence, batched->examples[i].sequence);
    EXPECT_EQ(one_by_one->examples[i].status, batched->examples[i].status);
  }
  EXPECT_EQ(one_by_one->backend_requests - batched->backend_requests, 44u - 22u);
}

TEST_F(VerifyLedgerTest, BatchSizeIsTheSmallerOfOptionAndClient) {
  for (int i = 0; i < 5; ++i) backend_.Add(Spans(AddEntry()));
  backend_.batch_limit = 3;
  options_.max_traces_per_request = 4;
  ASSERT_TRUE(Run().ok());
  EXPECT_EQ(backend_.batch_sizes, (std::vector<size_t>{3, 2, 3, 2}));
  backend_.batch_sizes.clear();
  backend_.batch_limit = 10;
  options_.max_traces_per_request = 2;
  ASSERT_TRUE(Run().ok());
  EXPECT_EQ(backend_.batch_sizes, (std::vector<size_t>{2, 2, 2, 2}));  // and 2 GetTrace calls
}

TEST_F(VerifyLedgerTest, AFailedBatchIsRetriedWholeAfterBackoffNeverMissing) {
  for (int i = 0; i < 3; ++i) backend_.Add(Spans(AddEntry()));
  backend_.batch_limit = 10;
  backend_.failures_to_inject = 2;
  auto summary = Run();
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  EXPECT_EQ(summary->complete, 3u);
  EXPECT_EQ(summary->missing, 0u);
  // Two failures (100ms, 200ms backoff), the batch again, then the confirming poll 20ms later.
  EXPECT_EQ(backend_.batch_sizes, (std::vector<size_t>{3, 3, 3, 3}));
  EXPECT_EQ(sleeper_.slept(), (100 + 200 + 20) * kMs);
  EXPECT_EQ(summary->polls, 6u);
  EXPECT_EQ(summary->backend_requests, 4u);
}

TEST_F(VerifyLedgerTest, AnErrorInTheMiddleOfABatchFailsTheBatchNotItsTraces) {
  for (int i = 0; i < 3; ++i) backend_.Add(Spans(AddEntry()));
  backend_.batch_limit = 10;
  backend_.loop_in_batches = true;  // GetTrace per id: the first succeeds, the second fails
  backend_.fail_get_call = 2;
  auto summary = Run();
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  EXPECT_EQ(summary->complete, 3u);
  EXPECT_EQ(summary->missing, 0u);
  EXPECT_EQ(backend_.get_calls, 2 + 3 + 3);
  EXPECT_EQ(sleeper_.slept(), (100 + 20) * kMs);
  EXPECT_EQ(summary->polls, 6u);  // the first trace's answer in the failed batch is not a poll

  // When it keeps failing, the run ends with the backend's error, not with missing traces.
  FakeClock clock;
  AdvancingSleeper sleeper(clock);
  FakeBackend down(clock);
  down.batch_limit = 10;
  down.failures_to_inject = -1;
  auto failed = VerifyLedger(scenario_, ledger_, down, options_, clock, sleeper);
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().message, "backend unreachable: connection reset");
  EXPECT_EQ(failed.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(down.batch_sizes, (std::vector<size_t>{3, 3, 3}));
}

TEST_F(VerifyLedgerTest, ABatchIsOneRequestForTheRateLimit) {
  options_.max_requests_per_second = 10;  // one request per 100ms
  for (int i = 0; i < 3; ++i) backend_.Add(Spans(AddEntry()));
  backend_.batch_limit = 10;
  auto summary = Run();
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  EXPECT_EQ(summary->complete, 3u);
  EXPECT_EQ(summary->backend_requests, 2u);
  // The confirming batch was due at 20ms; the limit moves it to 100ms.
  EXPECT_EQ(summary->elapsed_ns, 100 * kMs);
}

TEST_F(VerifyLedgerTest, LedgerEntriesSharingATraceIdShareOneAnswerInABatch) {
  LedgerEntry first = AddEntry();
  backend_.Add(Spans(first));
  ledger_.push_back(first);  // the same trace id again (and the same request)
  ledger_.back().sequence = 1;
  backend_.Add(Spans(AddEntry()));
  backend_.batch_limit = 10;
  auto batched = Run();
  ASSERT_TRUE(batched.ok()) << batched.error().message;
  EXPECT_EQ(batched->complete, 3u);
  EXPECT_EQ(backend_.batch_sizes, (std::vector<size_t>{2, 2}));  // the distinct ids
  EXPECT_EQ(batched->polls, 6u);
}

TEST_F(VerifyLedgerTest, PastTheDeadlineTheLastPollsAreBatched) {
  options_.deadline_ns = 1 * kSec;
  for (int i = 0; i < 3; ++i) AddEntry();  // nothing ever arrives
  backend_.batch_limit = 2;
  auto summary = Run();
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  EXPECT_TRUE(summary->deadline_hit);
  EXPECT_EQ(summary->missing, 3u);
  EXPECT_EQ(summary->polls, 33u);  // as one by one: at 0, 0.1s, ..., 0.9s and a last time at 1s
  // Ten rounds of a batch of two and a GetTrace, then the last polls: again two and one.
  EXPECT_EQ(backend_.batch_sizes.size(), 11u);
  EXPECT_EQ(backend_.get_calls, 11);
}


// A drop-span fault on payment (its only span) withholds payment's spans in the requests the
// fault's seeded draw picks: those requests are the fault's, not sampled out by payment's policy.
TEST_F(VerifyLedgerTest, SpansAFaultWithholdsAreTheFaultsNotTheSamplingPolicys) {
  Fault fault;
  fault.kind = FaultKind::kDropSpan;
  fault.service = "payment";
  fault.probability = 0.3;
  scenario_.faults = {fault};
  options_.settle_incomplete_ns = 200 * kMs;
  backend_.batch_limit = 100;
  uint64_t dropped = 0;
  for (int i = 0; i < 60; ++i) {
    const LedgerEntry e = AddEntry();
    std::vector<Span> spans = Spans(e);
    if (FaultApplies(DecisionPoint(scenario_.seed, e.sequence, "0.1.0", "payment"), fault, 0, 0)) {
      spans.erase(spans.begin() + 7);  // payment's SERVER span
      ++dropped;
    }
    backend_.Add(spans);
  }
  ASSERT_GT(dropped, 5u);
  auto summary = Run();
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  EXPECT_EQ(summary->incomplete, dropped);  // still missing spans: the fault did its work
  const SamplingVerdict* payment = SamplingOf(*summary, "payment");
  ASSERT_NE(payment, nullptr);
  EXPECT_EQ(payment->n, 60 - dropped);
  EXPECT_EQ(payment->k, 60 - dropped);
  EXPECT_EQ(payment->verdict, "pass");
  EXPECT_EQ(payment->parent_based_inconsistencies, 0u);
  ASSERT_EQ(payment->withheld_by_faults.size(), 1u);
  EXPECT_EQ(payment->withheld_by_faults.at("drop-span"), dropped);
  EXPECT_TRUE(SamplingOf(*summary, "checkout")->withheld_by_faults.empty());
  // A span lost without a fault that explains it is still a sampling failure.
  ledger_.clear();
  FakeBackend lossy(clock_);
  for (int i = 0; i < 10; ++i) {
    std::vector<Span> spans = Spans(AddEntry());
    if (i == 0) spans.erase(spans.begin() + 7);
    lossy.Add(spans);
  }
  scenario_.faults[0].service = "cart";
  auto lost = VerifyLedger(scenario_, ledger_, lossy, options_, clock_, sleeper_);
  ASSERT_TRUE(lost.ok()) << lost.error().message;
  EXPECT_EQ(SamplingOf(*lost, "payment")->verdict, "fail");
}

// unsampled-child on checkout -> payment clears the flag payment's parent-based policy follows:
// payment's spans are withheld by the fault, not a sampling failure or an inconsistency.
TEST_F(VerifyLedgerTest, AnUnsampledChildFaultWithholdsTheParentBasedCalleesSpans) {
  Fault fault;
  fault.kind = FaultKind::kUnsampledChild;
  fault.service = "checkout";
  fault.callee = "payment";
  scenario_.faults = {fault};
  options_.settle_incomplete_ns = 200 * kMs;
  backend_.batch_limit = 100;
  for (int i = 0; i < 20; ++i) {
    std::vector<Span> spans = Spans(AddEntry());
    spans.erase(spans.begin() + 7);
    backend_.Add(spans);
  }
  auto summary = Run();
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  const SamplingVerdict* payment = SamplingOf(*summary, "payment");
  ASSERT_NE(payment, nullptr);
  EXPECT_EQ(payment->n, 0u);
  EXPECT_NE(payment->verdict, "fail");
  EXPECT_EQ(payment->parent_based_inconsistencies, 0u);
  EXPECT_EQ(payment->withheld_by_faults.at("unsampled-child"), 20u);
}

// Exact mode with call trees that vary per request (checkout's ratio(0.5) is applied by seed):
// every service still gets a verdict, counted on the requests that visited it.
TEST_F(VerifyLedgerTest, RatioSamplingIsJudgedOnTheSeededDecisionsWhenTreesVary) {
  for (Service& s : scenario_.services) {
    if (s.name == "checkout") s.sampling = SamplingPolicy{SamplingPolicy::Kind::kRatio, 0.5};
  }
  uint64_t kept = 0;
  for (int i = 0; i < 100; ++i) {
    const LedgerEntry e = AddEntry();
    const ExpectedTree tree = BuildExpectedTree(scenario_, scenario_.load.entries[0], e.sequence);
    kept += std::any_of(tree.spans.begin(), tree.spans.end(),
                        [](const ExpectedSpan& x) { return x.service == "checkout"; });
    std::vector<Span> spans = AllSpans(tree, e.trace_id, e.request_id);
    backend_.Add(spans);
  }
  backend_.batch_limit = 100;
  auto summary = Run();
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  const SamplingVerdict* checkout = SamplingOf(*summary, "checkout");
  ASSERT_NE(checkout, nullptr);
  EXPECT_EQ(checkout->policy, "ratio(0.5)");
  EXPECT_EQ(checkout->n, 100u);
  EXPECT_EQ(checkout->k, kept);
  EXPECT_DOUBLE_EQ(checkout->expected, static_cast<double>(kept) / 100);
  EXPECT_EQ(checkout->verdict, "pass");
  const SamplingVerdict* payment = SamplingOf(*summary, "payment");
  ASSERT_NE(payment, nullptr);
  EXPECT_EQ(payment->n, 100u);  // reached in every request, sampled with checkout
  EXPECT_EQ(payment->k, kept);
  EXPECT_EQ(payment->verdict, "pass");
  EXPECT_EQ(SamplingOf(*summary, "frontend")->k, 100u);
  // A sampled visit whose spans never arrive fails the exact count.
  ledger_.clear();
  FakeBackend lossy(clock_);
  options_.settle_incomplete_ns = 200 * kMs;
  for (int i = 0; i < 100; ++i) {
    const LedgerEntry e = AddEntry();
    const ExpectedTree tree = BuildExpectedTree(scenario_, scenario_.load.entries[0], e.sequence);
    std::vector<Span> spans = AllSpans(tree, e.trace_id, e.request_id);
    if (spans.size() == 8 && i < 30) spans.erase(spans.begin() + 5, spans.end());
    lossy.Add(spans);
  }
  auto lost = VerifyLedger(scenario_, ledger_, lossy, options_, clock_, sleeper_);
  ASSERT_TRUE(lost.ok()) << lost.error().message;
  EXPECT_EQ(SamplingOf(*lost, "checkout")->verdict, "fail");
}

// Statistical mode with trees that vary for other reasons than sampling: the per-request trees
// apply seeded sampling decisions tracerig did not make, so no verdict, and the reason says so.
TEST_F(VerifyLedgerTest, SamplingNotJudgedSaysWhy) {
  options_.statistical_sampling = true;
  for (Service& s : scenario_.services) {
    if (s.name == "frontend") s.routes[0].calls[0].calls[0].probability = 0.5;
  }
  for (int i = 0; i < 5; ++i) {
    const LedgerEntry e = AddEntry();
    backend_.Add(AllSpans(BuildExpectedTree(scenario_, scenario_.load.entries[0], e.sequence),
                          e.trace_id, e.request_id));
  }
  auto summary = Run();
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  const SamplingVerdict* cart = SamplingOf(*summary, "cart");
  ASSERT_NE(cart, nullptr);
  EXPECT_EQ(cart->verdict, "not judged");
  EXPECT_THAT(cart->reason, StartsWith("call trees vary per request"));
}


// Traces the backend says it evicted (it dropped everything that first arrived up to a time after
// their requests started) are counted as evicted, not missing, and are no sampling trials; a
// trace that started later and is absent is still missing.
TEST_F(VerifyLedgerTest, TracesTheBackendEvictedAreCountedAsEvictedNotMissing) {
  options_.settle_incomplete_ns = 200 * kMs;
  for (int i = 0; i < 4; ++i) {
    const LedgerEntry e = AddEntry();
    ledger_.back().start_unix_nano = e.start_unix_nano + static_cast<uint64_t>(i) * kSec;
    ledger_.back().end_unix_nano = ledger_.back().start_unix_nano + 20 * kMs;
    ledger_.back().intended_unix_nano = ledger_.back().start_unix_nano - kMs;
    if (i == 3) backend_.Add(Spans(ledger_.back()));
  }
  const uint64_t through = ledger_[1].start_unix_nano + 5 * kMs;
  backend_.store_stats = BackendStoreStats{24, 144, through, 100, 0};
  auto summary = Run();
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  EXPECT_EQ(summary->checked, 4u);
  EXPECT_EQ(summary->complete, 1u);
  EXPECT_EQ(summary->evicted, 2u);
  EXPECT_EQ(summary->missing, 1u);
  ASSERT_TRUE(summary->backend_store.has_value());
  EXPECT_EQ(summary->backend_store->traces_evicted, 24u);
  EXPECT_EQ(SamplingOf(*summary, "frontend")->n, 2u);  // the evicted traces are no trials
  bool explained = false;
  for (const TraceVerdict& v : summary->examples) {
    if (v.sequence == 0) explained = v.explanation.starts_with("evicted by the backend");
  }
  EXPECT_TRUE(explained);

  // A backend that serves no store figures: every absent trace is missing, as before.
  backend_.store_stats.reset();
  auto unknown = Run();
  ASSERT_TRUE(unknown.ok()) << unknown.error().message;
  EXPECT_EQ(unknown->evicted, 0u);
  EXPECT_EQ(unknown->missing, 3u);
  EXPECT_FALSE(unknown->backend_store.has_value());
}

}  // namespace
}  // namespace tracerig
