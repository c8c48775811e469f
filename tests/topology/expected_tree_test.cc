// BuildExpectedTree: the spans a complete trace must contain, from hand-built scenarios (so the
// tree logic is tested apart from the parser) and from the shipped quickstart scenario.
#include "topology/expected_tree.h"

#include <gtest/gtest.h>

#include "tests/support/fixtures.h"
#include "topology/decisions.h"
#include "topology/parse.h"

namespace tracerig {
namespace {

constexpr SpanKind kClient = SpanKind::kClient;
constexpr SpanKind kServer = SpanKind::kServer;
const std::string kDriver(kDriverServiceName);

Route MakeRoute(std::string name, std::vector<CallStep> calls = {}) {
  Route r;
  r.name = std::move(name);
  r.calls = std::move(calls);
  return r;
}

Call CallTo(std::string service, std::string route) {
  Call call;
  call.service = std::move(service);
  call.route = std::move(route);
  return call;
}

CallStep Single(std::string service, std::string route) {
  return CallStep{false, {CallTo(std::move(service), std::move(route))}};
}

Service MakeService(std::string name, std::vector<Route> routes) {
  Service s;
  s.name = std::move(name);
  s.routes = std::move(routes);
  return s;
}

// The quickstart topology, built by hand.
Scenario Quickstart() {
  Scenario s;
  s.services = {
      MakeService("frontend", {MakeRoute("GET /checkout", {Single("cart", "GetCart"),
                                                           Single("checkout", "PlaceOrder")})}),
      MakeService("cart", {MakeRoute("GetCart")}),
      MakeService("checkout", {MakeRoute("PlaceOrder", {Single("payment", "Charge")})}),
      MakeService("payment", {MakeRoute("Charge")}),
  };
  return s;
}

const std::vector<ExpectedSpan> kQuickstartTree = {
    {"0", kDriver, kClient, "GET /checkout", -1, "frontend"},
    {"0", "frontend", kServer, "GET /checkout", 0, kDriver},
    {"0.0", "frontend", kClient, "GetCart", 1, "cart"},
    {"0.0", "cart", kServer, "GetCart", 2, "frontend"},
    {"0.1", "frontend", kClient, "PlaceOrder", 1, "checkout"},
    {"0.1", "checkout", kServer, "PlaceOrder", 4, "frontend"},
    {"0.1.0", "checkout", kClient, "Charge", 5, "payment"},
    {"0.1.0", "payment", kServer, "Charge", 6, "checkout"},
};

TEST(ExpectedTreeTest, QuickstartByHand) {
  const ExpectedTree tree = BuildExpectedTree(Quickstart(), LoadEntry{"frontend", "GET /checkout"});
  EXPECT_EQ(tree.spans, kQuickstartTree);
}

TEST(ExpectedTreeTest, QuickstartScenarioFile) {
  auto text = test_support::ReadRepoFile("scenarios/quickstart.toml");
  ASSERT_TRUE(text.has_value());
  const ParseResult parsed = ParseScenario("quickstart.toml", *text);
  ASSERT_TRUE(parsed.ok());
  const Scenario& s = *parsed.scenario;
  ASSERT_EQ(s.load.entries.size(), 1u);
  EXPECT_EQ(BuildExpectedTree(s, s.load.entries[0]).spans, kQuickstartTree);
}

TEST(ExpectedTreeTest, ParallelGroupsAreFlattenedInOrder) {
  // a R: calls b S, then in parallel c T and b U; c T calls b S.
  Scenario s;
  s.services = {
      MakeService("a",
                  {MakeRoute("R", {Single("b", "S"),
                                   CallStep{true, {CallTo("c", "T"), CallTo("b", "U")}}})}),
      MakeService("b", {MakeRoute("S"), MakeRoute("U")}),
      MakeService("c", {MakeRoute("T", {Single("b", "S")})}),
  };
  const ExpectedTree tree = BuildExpectedTree(s, LoadEntry{"a", "R"});
  const std::vector<ExpectedSpan> expected = {
      {"0", kDriver, kClient, "R", -1, "a"}, {"0", "a", kServer, "R", 0, kDriver},
      {"0.0", "a", kClient, "S", 1, "b"},    {"0.0", "b", kServer, "S", 2, "a"},
      {"0.1", "a", kClient, "T", 1, "c"},    {"0.1", "c", kServer, "T", 4, "a"},
      {"0.1.0", "c", kClient, "S", 5, "b"},  {"0.1.0", "b", kServer, "S", 6, "c"},
      {"0.2", "a", kClient, "U", 1, "b"},    {"0.2", "b", kServer, "U", 8, "a"},
  };
  EXPECT_EQ(tree.spans, expected);
}

TEST(ExpectedTreeTest, ParentsComeBeforeChildren) {
  const ExpectedTree tree = BuildExpectedTree(Quickstart(), LoadEntry{"frontend", "GET /checkout"});
  ASSERT_FALSE(tree.spans.empty());
  EXPECT_EQ(tree.spans[0].parent, -1);
  for (size_t i = 1; i < tree.spans.size(); ++i) {
    EXPECT_GE(tree.spans[i].parent, 0) << i;
    EXPECT_LT(tree.spans[i].parent, static_cast<int>(i)) << i;
  }
}

TEST(ExpectedTreeTest, UnknownCalleeGetsItsEdgeAndNoChildren) {
  Scenario s;
  s.services = {MakeService("a", {MakeRoute("R", {Single("ghost", "Boo")})})};
  const ExpectedTree tree = BuildExpectedTree(s, LoadEntry{"a", "R"});
  ASSERT_EQ(tree.spans.size(), 4u);
  EXPECT_EQ(tree.spans[3], (ExpectedSpan{"0.0", "ghost", kServer, "Boo", 2, "a"}));
}

TEST(ExpectedTreeTest, CycleThatSlippedPastValidationStillTerminates) {
  Scenario s;
  s.services = {MakeService("a", {MakeRoute("R", {Single("a", "R")})})};
  const ExpectedTree tree = BuildExpectedTree(s, LoadEntry{"a", "R"});
  // One route: the entry edge plus at most one level below it.
  EXPECT_EQ(tree.spans.size(), 4u);
}

TEST(ExpectedTreeTest, ChildHop) {
  EXPECT_EQ(ChildHop("0", 0), "0.0");
  EXPECT_EQ(ChildHop("0.1", 2), "0.1.2");
  EXPECT_EQ(ChildHop("0", 11), "0.11");
}

TEST(ExpectedTreeTest, RetryHop) {
  EXPECT_EQ(RetryHop("0.1", 1), "0.1r1");
  EXPECT_EQ(RetryHop("0.1r1.0", 2), "0.1r1.0r2");
}

// (hop, kind, service) of every span, in tree order: a compact view for the per-request tests.
std::vector<std::string> Shape(const ExpectedTree& tree) {
  std::vector<std::string> out;
  for (const auto& s : tree.spans) {
    out.push_back(s.hop + " " + std::string(SpanKindName(s.kind)) + " " + s.service +
                  (s.parent_unexported ? " (parent unexported)" : ""));
  }
  return out;
}

TEST(ExpectedTreeTest, RepeatTakesConsecutiveHopsAndProbabilityZeroKeepsItsHop) {
  // a R: calls b S twice, then c T never (probability 0), then b U.
  Call twice = CallTo("b", "S");
  twice.repeat = 2;
  Call never = CallTo("c", "T");
  never.probability = 0;
  Scenario s;
  s.services = {MakeService("a", {MakeRoute("R", {CallStep{false, {twice}},
                                                  CallStep{false, {never}}, Single("b", "U")})}),
                MakeService("b", {MakeRoute("S"), MakeRoute("U")}), MakeService("c", {MakeRoute("T")})};
  const std::vector<std::string> want = {
      "0 CLIENT tracerig-driver", "0 SERVER a", "0.0 CLIENT a", "0.0 SERVER b", "0.1 CLIENT a",
      "0.1 SERVER b",             "0.3 CLIENT a", "0.3 SERVER b"};
  EXPECT_EQ(Shape(BuildExpectedTree(s, LoadEntry{"a", "R"})), want);
  EXPECT_EQ(Shape(BuildExpectedTree(s, LoadEntry{"a", "R"}, 17)), want);
  EXPECT_FALSE(TreeVariesPerRequest(s));
}

TEST(ExpectedTreeTest, ProbabilisticCallFollowsTheSeededDecision) {
  Call maybe = CallTo("b", "S");
  maybe.probability = 0.5;
  Scenario s;
  s.seed = 11;
  s.services = {MakeService("a", {MakeRoute("R", {CallStep{false, {maybe}}})}),
                MakeService("b", {MakeRoute("S")})};
  ASSERT_TRUE(TreeVariesPerRequest(s));
  int with_call = 0;
  for (uint64_t seq = 0; seq < 200; ++seq) {
    const ExpectedTree tree = BuildExpectedTree(s, LoadEntry{"a", "R"}, seq);
    const bool happens = CallHappens(DecisionPoint(11, seq, "0.0", "a"), 0.5);
    EXPECT_EQ(tree.spans.size(), happens ? 4u : 2u) << seq;
    with_call += happens;
  }
  EXPECT_GT(with_call, 70);
  EXPECT_LT(with_call, 130);
}

TEST(ExpectedTreeTest, A5xxRouteErrorIsRetriedAndEachAttemptHasItsHop) {
  Call call = CallTo("b", "S");
  call.retries = 2;
  Route failing = MakeRoute("S", {Single("c", "T")});
  failing.error_rate = 1.0;
  failing.error_status = 503;
  Scenario s;
  s.services = {MakeService("a", {MakeRoute("R", {CallStep{false, {call}}})}),
                MakeService("b", {failing}), MakeService("c", {MakeRoute("T")})};
  ASSERT_TRUE(TreeVariesPerRequest(s));
  const std::vector<std::string> want = {
      "0 CLIENT tracerig-driver", "0 SERVER a",
      "0.0 CLIENT a",             "0.0 SERVER b",
      "0.0.0 CLIENT b",           "0.0.0 SERVER c",
      "0.0r1 CLIENT a",           "0.0r1 SERVER b",
      "0.0r1.0 CLIENT b",         "0.0r1.0 SERVER c",
      "0.0r2 CLIENT a",           "0.0r2 SERVER b",
      "0.0r2.0 CLIENT b",         "0.0r2.0 SERVER c"};
  const ExpectedTree tree = BuildExpectedTree(s, LoadEntry{"a", "R"}, 3);
  EXPECT_EQ(Shape(tree), want);
  EXPECT_EQ(tree.spans[6].parent, 1);  // a retry's CLIENT span is a child of the caller's SERVER
  EXPECT_EQ(tree.spans[7].parent, 6);
  // The static tree assumes no errors, so no retries.
  EXPECT_EQ(BuildExpectedTree(s, LoadEntry{"a", "R"}).spans.size(), 6u);

  // A 4xx is an answer, not a failure: no retry.
  s.services[1].routes[0].error_status = 404;
  EXPECT_EQ(BuildExpectedTree(s, LoadEntry{"a", "R"}, 3).spans.size(), 6u);
}

TEST(ExpectedTreeTest, AFailedCallMakesItsCallerFailAndBeRetriedToo) {
  // a -> b (retries 1) -> c (always 500, no retries): b answers 502, so a retries b.
  Call to_b = CallTo("b", "S");
  to_b.retries = 1;
  Route c_route = MakeRoute("T");
  c_route.error_rate = 1.0;
  Scenario s;
  s.services = {MakeService("a", {MakeRoute("R", {CallStep{false, {to_b}}})}),
                MakeService("b", {MakeRoute("S", {Single("c", "T")})}),
                MakeService("c", {c_route})};
  const std::vector<std::string> want = {
      "0 CLIENT tracerig-driver", "0 SERVER a",       "0.0 CLIENT a",     "0.0 SERVER b",
      "0.0.0 CLIENT b",           "0.0.0 SERVER c",   "0.0r1 CLIENT a",   "0.0r1 SERVER b",
      "0.0r1.0 CLIENT b",         "0.0r1.0 SERVER c"};
  EXPECT_EQ(Shape(BuildExpectedTree(s, LoadEntry{"a", "R"}, 0)), want);
}

TEST(ExpectedTreeTest, SampledOutServicesAndTheirFollowersAreLeftOut) {
  // a (always) -> b (never) -> c (parent-based) -> d (always) -> e (parent-based)
  Service a = MakeService("a", {MakeRoute("R", {Single("b", "S")})});
  Service b = MakeService("b", {MakeRoute("S", {Single("c", "T")})});
  Service c = MakeService("c", {MakeRoute("T", {Single("d", "U")})});
  Service d = MakeService("d", {MakeRoute("U", {Single("e", "V")})});
  Service e = MakeService("e", {MakeRoute("V")});
  a.sampling.kind = SamplingPolicy::Kind::kAlways;
  b.sampling.kind = SamplingPolicy::Kind::kNever;
  d.sampling.kind = SamplingPolicy::Kind::kAlways;
  Scenario s;
  s.services = {a, b, c, d, e};
  const ExpectedTree tree = BuildExpectedTree(s, LoadEntry{"a", "R"}, 5);
  const std::vector<std::string> want = {
      "0 CLIENT tracerig-driver",
      "0 SERVER a",
      "0.0 CLIENT a",
      "0.0.0.0 SERVER d (parent unexported)",
      "0.0.0.0.0 CLIENT d",
      "0.0.0.0.0 SERVER e"};
  EXPECT_EQ(Shape(tree), want);
  EXPECT_EQ(tree.spans[3].parent, 2);  // the nearest exported ancestor
  EXPECT_EQ(tree.spans[5].parent, 4);
  EXPECT_EQ(BuildExpectedTree(s, LoadEntry{"a", "R"}).spans, tree.spans);  // nothing random
  EXPECT_FALSE(TreeVariesPerRequest(s));
}

TEST(ExpectedTreeTest, TreeVariesPerRequest) {
  struct Case {
    const char* what;
    double probability;
    uint32_t retries;
    double error_rate;
    SamplingPolicy sampling;
    bool want;
  };
  using K = SamplingPolicy::Kind;
  const Case cases[] = {
      {"nothing random", 1.0, 0, 0.0, {K::kParentBased, 0.5}, false},
      {"probability 0.5", 0.5, 0, 0.0, {}, true},
      {"probability 0", 0.0, 0, 0.0, {}, false},
      {"errors without retries", 1.0, 0, 0.5, {}, false},
      {"retries without errors", 1.0, 3, 0.0, {}, false},
      {"errors and retries", 1.0, 3, 0.1, {}, true},
      {"ratio 0.5", 1.0, 0, 0.0, {K::kRatio, 0.5}, true},
      {"ratio 1", 1.0, 0, 0.0, {K::kRatio, 1.0}, false},
  };
  for (const Case& c : cases) {
    Call call = CallTo("b", "S");
    call.probability = c.probability;
    call.retries = c.retries;
    Route route = MakeRoute("S");
    route.error_rate = c.error_rate;
    Scenario s;
    s.services = {MakeService("a", {MakeRoute("R", {CallStep{false, {call}}})}),
                  MakeService("b", {route})};
    s.services[1].sampling = c.sampling;
    EXPECT_EQ(TreeVariesPerRequest(s), c.want) << c.what;
  }
}

}  // namespace
}  // namespace tracerig
