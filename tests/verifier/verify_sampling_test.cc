// VerifyLedger's analytics: sampling verdicts per service and per [expect] sampling entry, the
// observed call graph and the backend's dependency list, and spans that faults withhold.
#include "verifier/verify.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <tuple>

#include "core/rng.h"
#include "propagation/w3c.h"
#include "tests/verifier/test_spans.h"
#include "tests/verifier/verify_test_support.h"
#include "topology/decisions.h"
#include "topology/expected_tree.h"
#include "topology/wire_log.h"
#include "verifier/context_checks.h"

namespace tracerig {
namespace {

using ::testing::StartsWith;
using verifier_testing::AllSpans;
using verifier_testing::QuickstartScenario;
using verify_test_support::EdgeOf;
using verify_test_support::FakeBackend;
using verify_test_support::kMs;
using verify_test_support::kSec;
using verify_test_support::SamplingOf;
using verify_test_support::VerifyLedgerTest;

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

// The same loss where the wire shows checkout sent payment sampled=0 though its own span was
// sampled: the edge's doing, explained there; payment followed the flag and is not blamed.
TEST_F(VerifyLedgerTest, AServiceFollowingASampledFlagItsCallerClearedIsNotBlamed) {
  WireLog wire(64);
  for (int i = 0; i < 3; ++i) {
    const LedgerEntry e = AddEntry();
    std::vector<Span> spans = Spans(e);
    const bool cleared = i == 1;
    if (cleared) spans.erase(spans.begin() + 7);  // payment's SERVER span, its only one
    backend_.Add(spans);
    for (const auto& [service, hop] : std::vector<std::pair<std::string, std::string>>{
             {"frontend", "0"}, {"cart", "0.0"}, {"checkout", "0.1"}, {"payment", "0.1.0"}}) {
      const bool flag = !(cleared && service == "payment");
      WireObservation o;
      o.service = service;
      o.hop = hop;
      o.request_id = FormatRequestId(e.request_id);
      o.source = GroundTruthSource::kHeaders;
      o.headers = {{"traceparent", FormatTraceparent(e.trace_id, SpanId{7}, flag ? 1 : 0)}};
      o.has_context = true;
      o.trace_id = e.trace_id;
      o.parent_span_id = SpanId{7};
      o.sampled = flag;
      wire.Record(o);
    }
  }
  options_.wire_log = &wire;
  options_.settle_incomplete_ns = 200 * kMs;
  auto summary = Run();
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  const SamplingVerdict* payment = SamplingOf(*summary, "payment");
  ASSERT_NE(payment, nullptr);
  EXPECT_EQ(payment->parent_based_inconsistencies, 0u);
  EXPECT_EQ(payment->withheld_by_faults,
            (std::map<std::string, uint64_t>{{std::string(kClearedSampledFlag), 1}}));
  EXPECT_EQ(payment->n, 2u);
  EXPECT_EQ(payment->verdict, "pass");
  ASSERT_EQ(summary->examples.size(), 1u);
  EXPECT_THAT(summary->examples[0].explanation,
              ::testing::HasSubstr("checkout sent sampled=0 to payment at hop 0.1.0 (received "
                                   "`traceparent: 00-"));
}

// The wire checks run on every verified trace: a member checkout dropped is a violation of the
// trace (a failing "violation:tracestate" check), though every span arrived.
TEST_F(VerifyLedgerTest, ATracestateMemberDroppedOnTheWireIsAViolationOfTheTrace) {
  scenario_.load.entries[0].tracestate = "rojo=1,congo=2";
  WireLog wire(64);
  const LedgerEntry e = AddEntry();
  backend_.Add(Spans(e));
  for (const auto& [service, hop, tracestate] :
       std::vector<std::tuple<std::string, std::string, std::string>>{
           {"frontend", "0", "rojo=1,congo=2"},
           {"cart", "0.0", "rojo=1,congo=2"},
           {"checkout", "0.1", "rojo=1,congo=2"},
           {"payment", "0.1.0", "rojo=1"}}) {
    WireObservation o;
    o.service = service;
    o.hop = hop;
    o.request_id = FormatRequestId(e.request_id);
    o.source = GroundTruthSource::kHeaders;
    o.headers = {{"traceparent", FormatTraceparent(e.trace_id, SpanId{7}, 1)},
                 {"tracestate", tracestate}};
    o.has_context = true;
    o.trace_id = e.trace_id;
    o.parent_span_id = SpanId{7};
    o.sampled = true;
    o.tracestate = tracestate;
    wire.Record(o);
  }
  options_.wire_log = &wire;
  auto summary = Run();
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  EXPECT_EQ(summary->complete, 1u);
  EXPECT_EQ(summary->violation_counts, (std::map<std::string, size_t>{{"tracestate", 1}}));
  ASSERT_EQ(summary->violation_examples.size(), 1u);
  ASSERT_EQ(summary->violation_examples[0].violations.size(), 1u);
  EXPECT_EQ(summary->violation_examples[0].violations[0].explanation,
            "payment received tracestate `rojo=1` from checkout at hop 0.1.0: member `congo=2` "
            "dropped (sent by frontend at hop 0.1)");
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

TEST_F(VerifyLedgerTest, InvalidSamplingConfidenceIsAnError) {
  AddEntry();
  options_.sampling_confidence = 2;
  auto summary = Run();
  ASSERT_FALSE(summary.ok());
  EXPECT_EQ(summary.error().message,
            "verifier: sampling confidence 2 is not between 0 and 1 (exclusive)");
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

// A drop-span fault on payment (its only span) withholds payment's spans in the requests the
// fault's seeded draw picks: those requests are the fault's, not sampled out by payment's policy.
// A drop-span fault whose `when` never holds (payment always receives sampled requests) withholds
// nothing: a span missing there is the sampling policy's, not the fault's.
TEST_F(VerifyLedgerTest, AFaultWhoseConditionNeverHoldsWithholdsNothing) {
  Fault fault;
  fault.kind = FaultKind::kDropSpan;
  fault.service = "payment";
  fault.when.sampled = false;
  scenario_.faults = {fault};
  options_.settle_incomplete_ns = 200 * kMs;
  backend_.batch_limit = 100;
  for (int i = 0; i < 20; ++i) {
    const LedgerEntry e = AddEntry();
    std::vector<Span> spans = Spans(e);
    if (i < 5) spans.erase(spans.begin() + 7);  // payment's SERVER span
    backend_.Add(spans);
  }
  auto summary = Run();
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  const SamplingVerdict* payment = SamplingOf(*summary, "payment");
  ASSERT_NE(payment, nullptr);
  EXPECT_TRUE(payment->withheld_by_faults.empty());
  EXPECT_EQ(payment->n, 20u);
  EXPECT_EQ(payment->k, 15u);
  EXPECT_EQ(payment->verdict, "fail");
}

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

}  // namespace
}  // namespace tracerig
