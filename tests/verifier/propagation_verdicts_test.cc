// Verdicts on what sampling and retries make of a request's structure: subtrees recorded below a
// parent that was sampled out (named per cause, never excused silently), retries that sent an
// earlier attempt's context (wrong-parent naming the retrying edge), requests the driver sent
// without context (the entry starts a trace of its own), and trees with nothing to expect.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "tests/verifier/test_spans.h"
#include "tests/verifier/verify_test_support.h"
#include "topology/expected_tree.h"
#include "verifier/classify.h"
#include "verifier/ledger_feed.h"
#include "verifier/orphan_causes.h"
#include "verifier/retry_parents.h"

namespace tracerig {
namespace {

using verifier_testing::AllSpans;
using verifier_testing::Entry;
using verifier_testing::Expect;
using verifier_testing::kRequest;
using verifier_testing::kTrace;
using verifier_testing::QuickstartScenario;
using verifier_testing::QuickstartTree;
using verify_test_support::VerifyLedgerTest;

const std::string kDriver(kDriverServiceName);

void SetSampling(Scenario& scenario, const std::string& service, SamplingPolicy::Kind kind,
                 double ratio = 1.0) {
  for (Service& s : scenario.services) {
    if (s.name == service) s.sampling = SamplingPolicy{kind, ratio};
  }
}

// The quickstart (with fraud below payment) where checkout samples ratio(0.25), payment always
// and fraud always.
Scenario SamplingBelowRatioScenario() {
  Scenario s = QuickstartScenario();
  s.services[3].routes[0].calls.push_back(
      CallStep{false, {verifier_testing::CallTo("fraud", "Check")}});
  Service fraud;
  fraud.name = "fraud";
  Route check;
  check.name = "Check";
  fraud.routes.push_back(check);
  s.services.push_back(fraud);
  SetSampling(s, "checkout", SamplingPolicy::Kind::kRatio, 0.25);
  SetSampling(s, "payment", SamplingPolicy::Kind::kAlways);
  SetSampling(s, "fraud", SamplingPolicy::Kind::kAlways);
  return s;
}

// ---- Orphaned fragments: the cause named ----

struct OrphanCase {
  const char* name;
  // Builds the tree the request left (what was sampled out is not in it).
  ExpectedTree (*tree)();
  bool driver_unsampled;
  bool parent_based_payment;  // payment follows its (sampled-out) caller, fraud samples always
  std::string check;
  std::string text;
};

// checkout sampled out; payment, sampling always, hangs off frontend's CLIENT span to checkout.
ExpectedTree PaymentBelowSampledOutCheckout() {
  ExpectedTree tree = QuickstartTree(/*fraud=*/true);
  tree.spans.erase(tree.spans.begin() + 5, tree.spans.begin() + 7);
  tree.spans[5].parent = 4;
  tree.spans[5].parent_unexported = true;
  tree.spans[6].parent = 5;
  tree.spans[7].parent = 6;
  return tree;
}

// checkout sampled out and payment with it (parent-based); fraud, sampling always, hangs off
// frontend's CLIENT span to checkout, its real parent payment's CLIENT span.
ExpectedTree FraudBelowSampledOutCheckoutAndPayment() {
  ExpectedTree tree = QuickstartTree(/*fraud=*/true);
  tree.spans.erase(tree.spans.begin() + 5, tree.spans.begin() + 9);
  tree.spans[5].parent = 4;
  tree.spans[5].parent_unexported = true;
  return tree;
}

// The driver sent sampled=0 and only payment, sampling always, recorded anything.
ExpectedTree OnlyPaymentBelowAnUnsampledDriver() {
  ExpectedTree tree = QuickstartTree(/*fraud=*/true);
  ExpectedTree only;
  only.spans = {tree.spans[7], tree.spans[8], tree.spans[9]};
  only.spans[0].parent = -1;
  only.spans[0].parent_unexported = true;
  only.spans[1].parent = 0;
  only.spans[2].parent = 1;
  return only;
}

TEST(OrphanCausesTest, OneCausePerConfigurationNamedAndCountedOverTheRun) {
  const OrphanCase cases[] = {
      {"a service sampling always below a ratio caller", PaymentBelowSampledOutCheckout, false,
       false, "orphans:checkout->payment",
       "payment samples \"always\" below checkout's \"ratio(0.25)\": 113 traces hold a subtree "
       "whose parent checkout CLIENT span was not recorded"},
      {"the topmost unsampled ancestor is the cause, the caller the parent",
       FraudBelowSampledOutCheckoutAndPayment, false, true, "orphans:checkout->payment->fraud",
       "fraud samples \"always\" below checkout's \"ratio(0.25)\": 113 traces hold a subtree "
       "whose parent payment CLIENT span was not recorded"},
      {"the driver sent sampled=0", OnlyPaymentBelowAnUnsampledDriver, true, false,
       "orphans:tracerig-driver->checkout->payment",
       "payment samples \"always\" below tracerig-driver's \"sampled=0\": 113 traces hold a "
       "subtree whose parent checkout CLIENT span was not recorded"},
  };
  for (const OrphanCase& c : cases) {
    SCOPED_TRACE(c.name);
    Scenario scenario = SamplingBelowRatioScenario();
    if (c.parent_based_payment)
      SetSampling(scenario, "payment", SamplingPolicy::Kind::kParentBased);
    if (c.driver_unsampled) scenario.load.entries[0].sampled = EntrySampling::kNotSampled;
    const ExpectedTree tree = c.tree();
    const std::vector<char> found(tree.spans.size(), 1);
    std::vector<OrphanCause> run;
    for (uint64_t sequence = 0; sequence < 113; ++sequence) {
      std::vector<OrphanCause> one =
          FindOrphanCauses(scenario, scenario.load.entries[0], tree, found);
      ASSERT_EQ(one.size(), 1u);  // fraud below payment in the first case is no second subtree
      one[0].example_sequence = 200 - sequence;
      one[0].example_trace = TraceId{0, 200 - sequence};
      MergeOrphanCauses(run, one);
    }
    ASSERT_EQ(run.size(), 1u);
    EXPECT_EQ(run[0].traces, 113u);
    EXPECT_EQ(run[0].example_sequence, 88u);  // the lowest sequence number
    EXPECT_EQ(OrphanCheckName(run[0]), c.check);
    EXPECT_EQ(DescribeOrphanCause(run[0]), c.text);
  }
}

TEST(OrphanCausesTest, ASubtreeNotFoundIsNoOrphanAndTheStructureChecksStillExcuseIt) {
  const Scenario scenario = SamplingBelowRatioScenario();
  const ExpectedTree tree = PaymentBelowSampledOutCheckout();
  std::vector<char> found(tree.spans.size(), 1);
  found[5] = 0;  // payment's SERVER span never arrived
  EXPECT_TRUE(FindOrphanCauses(scenario, scenario.load.entries[0], tree, found).empty());
  // Found, its parent absent: not a violation:orphan (the cause is counted instead), and the
  // trace is complete, not broken or incomplete.
  std::vector<Span> spans = AllSpans(tree, kTrace, kRequest);
  spans[5].parent_span_id = SpanId{0x5a5a};
  const TraceVerdict v = ClassifyTrace(tree, Entry(), spans, {});
  EXPECT_EQ(v.status, TraceStatus::kComplete) << v.explanation;
  EXPECT_TRUE(v.violations.empty());
}

TEST(OrphanCausesTest, OneSingleLineWhenOneTraceHoldsTheSubtree) {
  OrphanCause c{"recommender", "always", "checkout", "ratio(0.25)", "checkout", 1, 0, {}};
  EXPECT_EQ(DescribeOrphanCause(c),
            "recommender samples \"always\" below checkout's \"ratio(0.25)\": 1 trace holds a "
            "subtree whose parent checkout CLIENT span was not recorded");
}

// The verifier over a ledger: per-request trees apply checkout's seeded ratio(0.25); payment,
// sampling always, records the requests checkout sampled out, below a parent that never arrives.
TEST_F(VerifyLedgerTest, SubtreesBelowASampledOutCallerAreCountedPerCauseNotPassedSilently) {
  SetSampling(scenario_, "checkout", SamplingPolicy::Kind::kRatio, 0.25);
  SetSampling(scenario_, "payment", SamplingPolicy::Kind::kAlways);
  size_t orphaned = 0;
  uint64_t first = UINT64_MAX;
  for (int i = 0; i < 40; ++i) {
    const LedgerEntry e = AddEntry();
    const ExpectedTree tree = BuildExpectedTree(scenario_, scenario_.load.entries[0], e.sequence);
    std::vector<Span> spans = AllSpans(tree, e.trace_id, e.request_id);
    bool orphan = false;
    for (size_t k = 0; k < tree.spans.size(); ++k) {
      if (!tree.spans[k].parent_unexported) continue;
      spans[k].parent_span_id = SpanId{0x5a5a};  // checkout's CLIENT span, never exported
      orphan = true;
    }
    if (orphan) {
      ++orphaned;
      first = std::min(first, e.sequence);
    }
    backend_.Add(spans);
  }
  ASSERT_GT(orphaned, 0u);
  ASSERT_LT(orphaned, 40u);
  backend_.batch_limit = 100;
  auto summary = Run();
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  EXPECT_EQ(summary->complete, 40u);  // completeness is not what these subtrees are about
  EXPECT_EQ(summary->traces_with_violations, 0u);
  ASSERT_EQ(summary->orphan_causes.size(), 1u);
  const OrphanCause& c = summary->orphan_causes[0];
  EXPECT_EQ(c.traces, orphaned);
  EXPECT_EQ(c.example_sequence, first);
  EXPECT_EQ(c.example_trace, (TraceId{0x1, 0x1000 + first}));
  EXPECT_EQ(
      DescribeOrphanCause(c),
      "payment samples \"always\" below checkout's \"ratio(0.25)\": " + std::to_string(orphaned) +
          " traces hold a subtree whose parent checkout CLIENT span was not recorded");
}

// ---- Retries: each attempt's SERVER span under that attempt's CLIENT span ----

// checkout calls payment at hop 0.1, retried twice (0.1r1, 0.1r2).
ExpectedTree RetriedPaymentTree() {
  ExpectedTree tree;
  tree.spans = {
      Expect("0", kDriver, SpanKind::kClient, "PlaceOrder", -1, "checkout"),
      Expect("0", "checkout", SpanKind::kServer, "PlaceOrder", 0, kDriver),
      Expect("0.0", "checkout", SpanKind::kClient, "GetCart", 1, "cart"),
      Expect("0.0", "cart", SpanKind::kServer, "GetCart", 2, "checkout"),
      Expect("0.1", "checkout", SpanKind::kClient, "Charge", 1, "payment"),
      Expect("0.1", "payment", SpanKind::kServer, "Charge", 4, "checkout"),
      Expect("0.1r1", "checkout", SpanKind::kClient, "Charge", 1, "payment"),
      Expect("0.1r1", "payment", SpanKind::kServer, "Charge", 6, "checkout"),
      Expect("0.1r2", "checkout", SpanKind::kClient, "Charge", 1, "payment"),
      Expect("0.1r2", "payment", SpanKind::kServer, "Charge", 8, "checkout"),
  };
  return tree;
}

TEST(ClassifyRetryTest, ARetryUnderAnotherAttemptsClientSpanIsAWrongParentNamingTheEdge) {
  struct Case {
    const char* name;
    size_t server;  // the SERVER span whose parent is replaced
    size_t parent;  // by this span's
    std::string hop;
    std::string want;
  };
  const Case cases[] = {
      {"retry 1 sent the first attempt's context", 7, 4, "0.1r1",
       "payment's SERVER span at hop 0.1r1 (retry 1 of checkout -> payment) has as parent "
       "checkout's CLIENT span of attempt 0.1, not of its own attempt 0.1r1: the retry sent the "
       "first attempt's context"},
      {"retry 2 sent retry 1's context", 9, 6, "0.1r2",
       "payment's SERVER span at hop 0.1r2 (retry 2 of checkout -> payment) has as parent "
       "checkout's CLIENT span of attempt 0.1r1, not of its own attempt 0.1r2: the retry sent "
       "the context of an earlier attempt, retry 1"},
      {"the first attempt under a retry's CLIENT span", 5, 6, "0.1",
       "payment's SERVER span at hop 0.1 (the first attempt of checkout -> payment) has as "
       "parent checkout's CLIENT span of attempt 0.1r1, not of its own attempt 0.1: it carried "
       "the context of a later attempt, retry 1"},
      {"another call's CLIENT span keeps the general explanation", 7, 2, "0.1r1",
       "payment SERVER Charge (hop 0.1r1)'s parent is checkout CLIENT GetCart (hop 0.0), "
       "expected checkout CLIENT Charge (hop 0.1r1)"},
  };
  const ExpectedTree tree = RetriedPaymentTree();
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    std::vector<Span> spans = AllSpans(tree, kTrace, kRequest);
    spans[c.server].parent_span_id = spans[c.parent].span_id;
    const TraceVerdict v = ClassifyTrace(tree, Entry(), spans, {});
    // Matched by hop: every span is where it belongs, none missing or unexpected.
    EXPECT_EQ(v.status, TraceStatus::kComplete) << v.explanation;
    std::vector<Violation> wrong;
    for (const Violation& x : v.violations) {
      if (x.kind == "wrong-parent") wrong.push_back(x);
    }
    ASSERT_EQ(wrong.size(), 1u);
    EXPECT_EQ(wrong[0].hop, c.hop);
    EXPECT_EQ(wrong[0].service, "payment");
    EXPECT_EQ(wrong[0].explanation, c.want);
  }
}

TEST(ClassifyRetryTest, AttemptsAreReadFromTheirHops) {
  struct Case {
    const char* hop;
    const char* call;
    uint32_t retry;
  };
  const Case cases[] = {{"0.1", "0.1", 0},         {"0.1r1", "0.1", 1}, {"0.1r12", "0.1", 12},
                        {"0.1r1.0", "0.1r1.0", 0}, {"0r2", "0", 2},     {"0.1rx", "0.1rx", 0},
                        {"0.1r0", "0.1r0", 0}};
  for (const Case& c : cases) {
    SCOPED_TRACE(c.hop);
    const CallAttempt a = AttemptOf(c.hop);
    EXPECT_EQ(a.call_hop, c.call);
    EXPECT_EQ(a.retry, c.retry);
  }
}

// ---- Edge-started requests: the entry starts a trace of its own ----

constexpr TraceId kStarted{0, 0x77};

// The quickstart sent without context: frontend's SERVER span roots the trace it started.
ExpectedTree EdgeStartedTree() {
  ExpectedTree tree = QuickstartTree();
  tree.spans[1].starts_trace = true;
  return tree;
}

// The driver's span under the ledger's id; the rest under kStarted, frontend's SERVER span a
// root. Returns {trace_spans, fragments}.
std::pair<std::vector<Span>, std::vector<Span>> EdgeStartedSpans(const ExpectedTree& tree) {
  std::vector<Span> all = AllSpans(tree, kTrace, kRequest);
  std::vector<Span> own(all.begin() + 1, all.end());
  for (Span& s : own) s.trace_id = kStarted;
  own[0].parent_span_id = SpanId{};
  return {{all[0]}, own};
}

TEST(ClassifyEdgeStartedTest, TheEntrysOwnTraceIsExpectedNotABreak) {
  const ExpectedTree tree = EdgeStartedTree();
  auto [ledger, own] = EdgeStartedSpans(tree);
  const TraceVerdict v = ClassifyTrace(tree, Entry(), ledger, own);
  EXPECT_EQ(v.status, TraceStatus::kComplete) << v.explanation;
  EXPECT_EQ(v.started_trace, kStarted);
  EXPECT_EQ(v.found_spans, 8u);
  EXPECT_TRUE(v.breaks.empty());
  EXPECT_TRUE(v.violations.empty()) << v.violations[0].explanation;
  EXPECT_EQ(v.explanation,
            "all 8 expected spans found: the driver's under trace "
            "0000000000000000000000000000004a, the rest under trace "
            "00000000000000000000000000000077, which the entry started (the request carried no "
            "trace context)");
}

TEST(ClassifyEdgeStartedTest, WhatElseBreaksOrViolatesStillDoes) {
  const ExpectedTree tree = EdgeStartedTree();
  {
    SCOPED_TRACE("the entry's SERVER span is no root under the other id");
    auto [ledger, own] = EdgeStartedSpans(tree);
    own[0].parent_span_id = SpanId{0x100};  // the driver's span, under another trace id
    const TraceVerdict v = ClassifyTrace(tree, Entry(), ledger, own);
    EXPECT_EQ(v.status, TraceStatus::kBroken);
    EXPECT_FALSE(v.started_trace.IsValid());
    ASSERT_EQ(v.breaks.size(), 1u);
    EXPECT_EQ(v.breaks[0].hop, "0");
    EXPECT_EQ(v.breaks[0].callee, "frontend");
  }
  {
    SCOPED_TRACE("part of the subtree under yet another id");
    auto [ledger, own] = EdgeStartedSpans(tree);
    own[6].trace_id = TraceId{0, 0x99};  // payment's SERVER span (hop 0.1.0)
    own[6].parent_span_id = SpanId{};
    const TraceVerdict v = ClassifyTrace(tree, Entry(), ledger, own);
    EXPECT_EQ(v.status, TraceStatus::kBroken);
    EXPECT_EQ(v.started_trace, kStarted);
    ASSERT_EQ(v.breaks.size(), 1u);
    EXPECT_EQ(v.breaks[0].hop, "0.1.0");
    EXPECT_EQ(v.breaks[0].caller, "checkout");
    EXPECT_EQ(v.breaks[0].callee, "payment");
  }
  {
    SCOPED_TRACE("a missing span of the entry's own trace");
    auto [ledger, own] = EdgeStartedSpans(tree);
    own.erase(own.begin() + 2);  // cart's SERVER span
    const TraceVerdict v = ClassifyTrace(tree, Entry(), ledger, own);
    EXPECT_EQ(v.status, TraceStatus::kIncomplete);
    ASSERT_EQ(v.missing.size(), 1u);
    EXPECT_EQ(v.missing[0].service, "cart");
  }
  {
    SCOPED_TRACE("the entry's own trace is checked for structure");
    auto [ledger, own] = EdgeStartedSpans(tree);
    own[2].parent_span_id = SpanId{0x5a5a};  // cart's SERVER span
    const TraceVerdict v = ClassifyTrace(tree, Entry(), ledger, own);
    EXPECT_EQ(v.status, TraceStatus::kComplete);
    ASSERT_EQ(v.violations.size(), 1u);
    EXPECT_EQ(v.violations[0].kind, "orphan");
    EXPECT_EQ(v.violations[0].service, "cart");
  }
  {
    SCOPED_TRACE("without starts_trace, the same spans are a break at the entry");
    auto [ledger, own] = EdgeStartedSpans(tree);
    const TraceVerdict v = ClassifyTrace(QuickstartTree(), Entry(), ledger, own);
    EXPECT_EQ(v.status, TraceStatus::kBroken);
    ASSERT_EQ(v.breaks.size(), 1u);
    EXPECT_EQ(v.breaks[0].hop, "0");
  }
}

// ---- Nothing expected ----

TEST(ClassifyEmptyTreeTest, NothingExpectedAndNothingFoundIsComplete) {
  const ExpectedTree empty;
  const TraceVerdict v = ClassifyTrace(empty, Entry(), {}, {});
  EXPECT_EQ(v.status, TraceStatus::kComplete);
  EXPECT_EQ(v.expected_spans, 0u);
  EXPECT_EQ(v.explanation,
            "no span expected (nothing of request 0000000000000abc was sampled) and none found "
            "under trace 0000000000000000000000000000004a");
  // Anything found is unexpected.
  const std::vector<Span> stray = AllSpans(QuickstartTree(), kTrace, kRequest);
  const TraceVerdict got = ClassifyTrace(empty, Entry(), {stray[0]}, {});
  ASSERT_EQ(got.violations.size(), 1u);
  EXPECT_EQ(got.violations[0].kind, "unexpected-span");
}

// Requests the scenario sends with sampled=0 are verified (what services sampling on their own
// record is expected of them); other unsampled ledger entries stay skipped.
TEST_F(VerifyLedgerTest, UnsampledRequestsAreVerifiedWhenTheScenarioSendsThemSo) {
  LoadEntry unsampled = scenario_.load.entries[0];
  unsampled.sampled = EntrySampling::kNotSampled;
  scenario_.load.entries.push_back(unsampled);
  EXPECT_EQ(UnsampledEntriesVerified(scenario_), (std::vector<bool>{false, true}));
  for (uint32_t entry : {0u, 1u, 1u}) {
    LedgerEntry e = AddEntry();
    e.entry = entry;
    e.sampled = false;
    ledger_.back() = e;
    if (entry == 1) backend_.Add(Spans(e));
  }
  auto summary = Run();
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  EXPECT_EQ(summary->skipped_unsampled, 1u);
  EXPECT_EQ(summary->checked, 2u);
  EXPECT_EQ(summary->complete, 2u);

  LedgerFeed feed(1);
  feed.VerifyUnsampled(UnsampledEntriesVerified(scenario_));
  for (const LedgerEntry& e : ledger_) feed.Add(e);
  std::vector<const LedgerEntry*> taken;
  feed.Take(0, taken);
  ASSERT_EQ(taken.size(), 2u);
  EXPECT_EQ(taken[0]->sequence, 1u);
  EXPECT_EQ(feed.skipped_unsampled(), 1u);
}

}  // namespace
}  // namespace tracerig
