// VerifyLedger polling a ledger against the fake backend: settling, late arrivals, fragments,
// deadlines, outages, examples, violation and attribute checks, and evicted traces.
#include "verifier/verify.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>

#include "tests/verifier/verify_test_support.h"
#include "topology/expected_tree.h"

namespace tracerig {
namespace {

using verify_test_support::kMs;
using verify_test_support::kSec;
using verify_test_support::SamplingOf;
using verify_test_support::SearchCall;
using verify_test_support::VerifyLedgerTest;

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

// A canary's budget (backend_retry_ns): failures in a row end verification only once they have
// gone on that long by the clock, however many attempts that takes.
TEST_F(VerifyLedgerTest, ARetryBudgetByTheClockRidesOutABlip) {
  backend_.Add(Spans(AddEntry()));
  backend_.failures_to_inject = -1;
  options_.max_backend_errors = 3;
  options_.backend_retry_ns = 5 * kSec;
  options_.error_backoff_max_ns = 2 * kSec;
  ASSERT_FALSE(Run().ok());
  // Failures at 0, 0.1, 0.3, 0.7, 1.5, 3.1 and 5.1 s: the seventh is 5 s after the first.
  EXPECT_EQ(backend_.get_calls, 7);
  EXPECT_EQ(sleeper_.slept(), (100 + 200 + 400 + 800 + 1600 + 2000) * kMs);

  backend_.get_calls = 0;
  backend_.failures_to_inject = 6;  // a blip the budget covers
  auto summary = Run();
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  EXPECT_EQ(summary->complete, 1u);
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

  // A backend that serves no store figures: every absent trace is missing.
  backend_.store_stats.reset();
  auto unknown = Run();
  ASSERT_TRUE(unknown.ok()) << unknown.error().message;
  EXPECT_EQ(unknown->evicted, 0u);
  EXPECT_EQ(unknown->missing, 3u);
  EXPECT_FALSE(unknown->backend_store.has_value());
}

}  // namespace
}  // namespace tracerig
