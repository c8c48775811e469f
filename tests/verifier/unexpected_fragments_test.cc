// Requests split below a sampled-out visit: spans recorded under another trace id where the
// expected tree has none (the request reached the service unsampled) are a break at the edge
// that reached it; spans under the request's own trace id stay the orphan checks' business; and
// requests with nothing sampled out cost no extra search.
#include "verifier/unexpected_fragments.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/verifier/test_spans.h"
#include "tests/verifier/verify_test_support.h"
#include "topology/expected_tree.h"
#include "verifier/classify.h"

namespace tracerig {
namespace {

using verifier_testing::Entry;
using verifier_testing::kRequest;
using verifier_testing::kTrace;
using verifier_testing::QuickstartScenario;
using verifier_testing::QuickstartTree;
using verifier_testing::SpanFor;
using verify_test_support::VerifyLedgerTest;

constexpr TraceId kOther{0x77, 0x99};

void SetSampling(Scenario& scenario, const std::string& service, SamplingPolicy::Kind kind,
                 double ratio = 1.0) {
  for (Service& s : scenario.services) {
    if (s.name == service) s.sampling = SamplingPolicy{kind, ratio};
  }
}

// checkout's visit (hop 0.1) and payment's below it, as checkout records them under a trace of
// its own: its SERVER span, its CLIENT span to payment, payment's SERVER span.
std::vector<Span> CheckoutSplitOff(TraceId trace, uint64_t request_id) {
  const ExpectedTree full = QuickstartTree();
  return {SpanFor(full.spans[5], trace, request_id, 0x905),
          SpanFor(full.spans[6], trace, request_id, 0x906),
          SpanFor(full.spans[7], trace, request_id, 0x907)};
}

// The tree of a request frontend sampled out: only the driver's CLIENT span.
ExpectedTree FrontendSampledOut() {
  ExpectedTree tree = QuickstartTree();
  tree.spans.resize(1);
  tree.unsampled_visits = {"frontend", "cart", "checkout", "payment"};
  return tree;
}

TEST(ServiceAtHopTest, FollowsTheScenariosCallsAsHopsNumberThem) {
  Scenario s = QuickstartScenario();
  // frontend's checkout call repeated twice: hops 0.1 and 0.2; a parallel group counts flat.
  s.services[0].routes[0].calls[1].calls[0].repeat = 2;
  const LoadEntry& load = s.load.entries[0];
  struct Case {
    const char* hop;
    const char* want;
  };
  const Case cases[] = {
      {"0", "frontend"},
      {"0.0", "cart"},
      {"0.1", "checkout"},
      {"0.2", "checkout"},
      {"0.2.0", "payment"},
      {"0.1r1", "checkout"},
      {"0.1r1.0", "payment"},
      {"0.3", ""},
      {"0.0.0", ""},
      {"1", ""},
      {"0.x", ""},
      {"", ""},
  };
  for (const Case& c : cases) EXPECT_EQ(ServiceAtHop(s, load, c.hop), c.want) << c.hop;
}

// web POST /orders publishes orders:created; analytics consumes it from queue "a" (one
// redelivery, dead letters to "a-dlq", read by dlq) and calls stock Reserve.
Scenario MessagingScenario(uint32_t batch_size) {
  Scenario s;
  s.seed = 3;
  Call publish;
  publish.publish = "orders";
  publish.routing_key = "created";
  Call reserve;
  reserve.service = "stock";
  reserve.route = "Reserve";
  Route post;
  post.name = "POST /orders";
  post.calls = {CallStep{false, {publish}}};
  Route reserve_route;
  reserve_route.name = "Reserve";
  Consumer analytics;
  analytics.queue = "a";
  analytics.exchange = "orders";
  analytics.binding_key = "created";
  analytics.redeliveries = 1;
  analytics.dead_letter = "a-dlq";
  analytics.batch = BatchSpec{batch_size, 1'000'000};
  analytics.calls = {CallStep{false, {reserve}}};
  Consumer dlq;
  dlq.queue = "a-dlq";
  Service web;
  web.name = "web";
  web.routes = {post};
  web.sampling = SamplingPolicy{SamplingPolicy::Kind::kNever, 1.0};
  Service analytics_service;
  analytics_service.name = "analytics";
  analytics_service.consumers = {analytics};
  Service stock;
  stock.name = "stock";
  stock.routes = {reserve_route};
  Service dlq_service;
  dlq_service.name = "dlq";
  dlq_service.consumers = {dlq};
  s.services = {web, analytics_service, stock, dlq_service};
  s.load.entries = {LoadEntry{"web", "POST /orders"}};
  return s;
}

TEST(ServiceAtHopTest, FollowsAPublishToItsConsumersDeliveriesAndTheirCalls) {
  const Scenario s = MessagingScenario(1);
  const LoadEntry& load = s.load.entries[0];
  struct Case {
    const char* hop;
    const char* want;
  };
  const Case cases[] = {
      {"0", "web"},          {"0.0", "analytics"},  {"0.0d1", "analytics"}, {"0.0q", "dlq"},
      {"0.0.0", "stock"},    {"0.0d1.0", "stock"},  {"0.0d2", ""},          {"0.0d0", ""},
      {"0.0q.0", ""},        {"0d1", ""},           {"0.0x", ""},           {"0.0d", ""},
      {"0.0.0d1", ""},
  };
  for (const Case& c : cases) EXPECT_EQ(ServiceAtHop(s, load, c.hop), c.want) << c.hop;
}

// The batch span roots a trace of its own and carries its first message's request id: neither
// it nor its calls split the request, whatever the publisher sampled; a single consumer's spans
// under another trace id do.
TEST(UnsampledSplitTest, ABatchConsumersSpansAreInTheBatchsTraceNotASplit) {
  for (const uint32_t batch : {10u, 1u}) {
    const Scenario s = MessagingScenario(batch);
    const LoadEntry& load = s.load.entries[0];
    const ExpectedTree tree = BuildExpectedTree(s, load);
    EXPECT_EQ(tree.unsampled_visits.front(), "web");
    ExpectedSpan consumer;
    consumer.hop = "0.0";
    consumer.service = "analytics";
    consumer.kind = SpanKind::kConsumer;
    ExpectedSpan client{consumer};
    client.hop = "0.0.0";
    client.kind = SpanKind::kClient;
    ExpectedSpan server{client};
    server.service = "stock";
    server.kind = SpanKind::kServer;
    const std::vector<Span> fragments = {SpanFor(consumer, kOther, kRequest, 0x901),
                                         SpanFor(client, kOther, kRequest, 0x902),
                                         SpanFor(server, kOther, kRequest, 0x903)};
    const auto breaks = FindUnsampledSplits(s, load, tree, Entry(), TraceId{}, fragments);
    if (batch > 1) {
      EXPECT_TRUE(breaks.empty()) << breaks.front().caller << " " << breaks.front().callee;
    } else {
      ASSERT_EQ(breaks.size(), 1u);
      EXPECT_EQ(breaks[0].hop, "0.0");
      EXPECT_EQ(breaks[0].caller, "web");
      EXPECT_EQ(breaks[0].callee, "analytics");
    }
  }
}

TEST(UnsampledSplitTest, SpansUnderAnotherTraceIdWhereNoneWasExpectedBreakTheCallingEdge) {
  const Scenario s = QuickstartScenario();
  const ExpectedTree tree = FrontendSampledOut();
  const std::vector<Span> fragments = CheckoutSplitOff(kOther, kRequest);
  const std::vector<PropagationBreak> breaks =
      FindUnsampledSplits(s, s.load.entries[0], tree, Entry(), TraceId{}, fragments);
  ASSERT_EQ(breaks.size(), 1u);  // payment's visit is below checkout's: not a break of its own
  EXPECT_EQ(breaks[0].hop, "0.1");
  EXPECT_EQ(breaks[0].caller, "frontend");
  EXPECT_EQ(breaks[0].callee, "checkout");
  EXPECT_EQ(breaks[0].found_under, kOther);

  TraceVerdict verdict =
      ClassifyTrace(tree, Entry(), {SpanFor(tree.spans[0], kTrace, kRequest, 0x100)}, fragments);
  ASSERT_EQ(verdict.status, TraceStatus::kComplete);  // what the tree alone says
  AddUnsampledSplits(Entry(), breaks, verdict);
  EXPECT_EQ(verdict.status, TraceStatus::kBroken);
  ASSERT_EQ(verdict.breaks.size(), 1u);
  EXPECT_EQ(verdict.breaks[0].callee, "checkout");
  EXPECT_NE(verdict.explanation.find(
                "request split between frontend and checkout at hop 0.1: checkout recorded spans "
                "under trace 00000000000000770000000000000099 (a new trace id) although the "
                "request reached it unsampled"),
            std::string::npos)
      << verdict.explanation;
}

TEST(UnsampledSplitTest, OnlyForeignSpansWhereTheTreeHasNoneCount) {
  const Scenario s = QuickstartScenario();
  const LoadEntry& load = s.load.entries[0];
  struct Case {
    const char* name;
    ExpectedTree tree;
    std::vector<Span> fragments;
    TraceId started;
    size_t breaks;
  };
  // payment samples always below sampled-out checkout: its span is in the tree.
  ExpectedTree payment_always = QuickstartTree();
  payment_always.spans.erase(payment_always.spans.begin() + 5, payment_always.spans.begin() + 7);
  payment_always.spans[5].parent = 4;
  payment_always.spans[5].parent_unexported = true;
  payment_always.unsampled_visits = {"checkout"};
  const std::vector<Span> payment_spans = {
      SpanFor(QuickstartTree().spans[7], kTrace, kRequest, 0x907)};
  const Case cases[] = {
      {"split off under another trace id", FrontendSampledOut(), CheckoutSplitOff(kOther, kRequest),
       TraceId{}, 1},
      {"same trace id: orphans' business, not a split", FrontendSampledOut(),
       CheckoutSplitOff(kTrace, kRequest), TraceId{}, 0},
      {"under the trace the entry started", FrontendSampledOut(),
       CheckoutSplitOff(kOther, kRequest), kOther, 0},
      {"another request's spans", FrontendSampledOut(), CheckoutSplitOff(kOther, kRequest + 1),
       TraceId{}, 0},
      {"an always service below a sampled-out caller, same trace id", payment_always, payment_spans,
       TraceId{}, 0},
      {"an expected span under another trace id (ClassifyTrace's break)", QuickstartTree(),
       CheckoutSplitOff(kOther, kRequest), TraceId{}, 0},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(FindUnsampledSplits(s, load, c.tree, Entry(), c.started, c.fragments).size(),
              c.breaks)
        << c.name;
  }
}

TEST(UnsampledSplitTest, TheEntryRecordingAnUnsampledRequestBreaksTheDriversEdge) {
  const Scenario s = QuickstartScenario();
  LoadEntry load = s.load.entries[0];
  load.sampled = EntrySampling::kNotSampled;
  ExpectedTree tree;  // nothing sampled: the driver sent sampled=0 to a parent-based entry
  tree.unsampled_visits = {"frontend", "cart", "checkout", "payment"};
  const std::vector<Span> fragments = {SpanFor(QuickstartTree().spans[1], kOther, kRequest, 0x901),
                                       SpanFor(QuickstartTree().spans[2], kOther, kRequest, 0x902)};
  const auto breaks = FindUnsampledSplits(s, load, tree, Entry(), TraceId{}, fragments);
  ASSERT_EQ(breaks.size(), 1u);
  EXPECT_EQ(breaks[0].hop, "0");
  EXPECT_EQ(breaks[0].caller, std::string(kDriverServiceName));
  EXPECT_EQ(breaks[0].callee, "frontend");
}

TEST(UnsampledSplitTest, SearchesOnlyWhenSomethingWasSampledOut) {
  LoadEntry load = QuickstartScenario().load.entries[0];
  EXPECT_TRUE(SampledOutSearchServices(QuickstartTree(), load).empty());
  EXPECT_EQ(SampledOutSearchServices(FrontendSampledOut(), load),
            (std::vector<std::string>{"frontend", "cart", "checkout", "payment"}));
  ExpectedTree twice = FrontendSampledOut();
  twice.unsampled_visits = {"checkout", "payment", "checkout"};
  EXPECT_EQ(SampledOutSearchServices(twice, load),
            (std::vector<std::string>{"checkout", "payment"}));
  load.sampled = EntrySampling::kNotSampled;  // only the driver's span unrecorded
  EXPECT_EQ(SampledOutSearchServices(QuickstartTree(), load),
            (std::vector<std::string>{"frontend"}));
}

// ---- Through the poller ----

// The driver sends sampled=0; every service follows it, but checkout (a new-trace fault for
// unsampled requests) records the request under a trace of its own: broken at frontend ->
// checkout, found by searching the sampled-out services.
TEST_F(VerifyLedgerTest, ARequestSplitBelowASampledOutVisitIsBrokenAtTheCallingEdge) {
  scenario_.load.entries[0].sampled = EntrySampling::kNotSampled;
  Fault restart;
  restart.kind = FaultKind::kNewTrace;
  restart.service = "checkout";
  restart.when.sampled = false;
  scenario_.faults.push_back(restart);
  ASSERT_TRUE(RequestsMaySplit(scenario_));
  LedgerEntry e = AddEntry();
  e.sampled = false;
  ledger_.back() = e;
  backend_.Add(CheckoutSplitOff(kOther, e.request_id));
  auto summary = Run();
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  EXPECT_EQ(summary->checked, 1u);
  EXPECT_EQ(summary->broken, 1u);
  ASSERT_EQ(summary->break_edges.size(), 1u);
  EXPECT_EQ(summary->break_edges[0].hop, "0.1");
  EXPECT_EQ(summary->break_edges[0].caller, "frontend");
  EXPECT_EQ(summary->break_edges[0].callee, "checkout");
  // frontend and cart recorded nothing; checkout's search found the split, so payment's is spared.
  std::vector<std::string> searched;
  for (const auto& call : backend_.searches) searched.push_back(call.service);
  EXPECT_EQ(searched, (std::vector<std::string>{"frontend", "cart", "checkout"}));
}

// payment samples always below checkout, which samples nothing: its subtree is under the request's
// own trace id with a parent never recorded. An orphan cause, never a break. Nothing in the
// scenario can split a request (no fault, no real service, every edge shares a format), so the
// sampled-out service is not searched either.
TEST_F(VerifyLedgerTest, AnAlwaysServiceBelowASampledOutCallerStaysAnOrphanCause) {
  SetSampling(scenario_, "checkout", SamplingPolicy::Kind::kNever, 0);
  SetSampling(scenario_, "payment", SamplingPolicy::Kind::kAlways);
  tree_ = BuildExpectedTree(scenario_, scenario_.load.entries[0]);
  ASSERT_EQ(tree_.unsampled_visits, (std::vector<std::string>{"checkout"}));
  const LedgerEntry e = AddEntry();
  std::vector<Span> spans = Spans(e);
  for (size_t k = 0; k < tree_.spans.size(); ++k) {
    if (tree_.spans[k].parent_unexported) spans[k].parent_span_id = SpanId{0x5a5a};
  }
  backend_.Add(spans);
  auto summary = Run();
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  EXPECT_EQ(summary->complete, 1u);
  EXPECT_EQ(summary->broken, 0u);
  EXPECT_TRUE(summary->break_edges.empty());
  EXPECT_EQ(summary->orphan_causes.size(), 1u);
  EXPECT_FALSE(RequestsMaySplit(scenario_));
  EXPECT_TRUE(backend_.searches.empty());
}

// What makes a request splittable: a fault that restarts or loses the context, a real service, an
// entry or a call whose formats share no trace ids.
TEST(RequestsMaySplitTest, OnlyWhatCanRestartATraceCounts) {
  Scenario s = QuickstartScenario();
  EXPECT_FALSE(RequestsMaySplit(s));
  Scenario drop = s;
  Fault f;
  f.kind = FaultKind::kDropContext;
  f.service = "frontend";
  drop.faults.push_back(f);
  EXPECT_TRUE(RequestsMaySplit(drop));
  Scenario skew = s;
  f.kind = FaultKind::kClockSkew;
  skew.faults.push_back(f);
  EXPECT_FALSE(RequestsMaySplit(skew));
  Scenario b3_only = s;
  b3_only.services[1].extract = {"b3"};  // its caller writes tracecontext only
  EXPECT_TRUE(RequestsMaySplit(b3_only));
  Scenario no_context = s;
  no_context.load.entries[0].inject = std::vector<std::string>{"baggage"};
  EXPECT_TRUE(RequestsMaySplit(no_context));
}

// A publish is an edge to its consumer's service, not to "no service": a clean pipeline does not
// search every trace for fragments (each search scans the backend's store).
TEST(RequestsMaySplitTest, APublishIsAnEdgeToItsConsumer) {
  Scenario s = QuickstartScenario();
  Call publish;
  publish.publish = "orders";
  publish.routing_key = "created";
  s.services[0].routes[0].calls.push_back(CallStep{false, {publish}});
  Service fulfilment;
  fulfilment.name = "fulfilment";
  Consumer consumer;
  consumer.queue = "fulfilment";
  consumer.exchange = "orders";
  consumer.binding_key = "created";
  fulfilment.consumers.push_back(consumer);
  s.services.push_back(fulfilment);
  EXPECT_FALSE(RequestsMaySplit(s));

  Scenario b3 = s;
  b3.services.back().extract = {"b3"};  // the publisher writes tracecontext only
  EXPECT_TRUE(RequestsMaySplit(b3));
  Scenario b3_batch = b3;
  b3_batch.services.back().consumers[0].batch.size = 4;  // its span roots a trace anyway
  EXPECT_FALSE(RequestsMaySplit(b3_batch));
  Scenario unrouted = s;
  unrouted.services.back().consumers[0].binding_key = "shipped";
  EXPECT_TRUE(RequestsMaySplit(unrouted));
  for (FaultKind kind : {FaultKind::kConsumerNewTrace, FaultKind::kDlqDropsHeaders,
                         FaultKind::kRetryDuplicatesHeaders}) {
    Scenario faulty = s;
    Fault f;
    f.kind = kind;
    f.service = "fulfilment";
    faulty.faults.push_back(f);
    EXPECT_TRUE(RequestsMaySplit(faulty)) << FaultKindName(kind);
  }
}

// Nothing sampled out: a complete trace is not searched for, and the backend is asked only for
// the trace itself.
TEST_F(VerifyLedgerTest, NothingSampledOutMakesNoExtraSearch) {
  const LedgerEntry e = AddEntry();
  backend_.Add(Spans(e));
  auto summary = Run();
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  EXPECT_EQ(summary->complete, 1u);
  EXPECT_TRUE(backend_.searches.empty());
  EXPECT_EQ(summary->backend_requests, summary->polls);
}

}  // namespace
}  // namespace tracerig
