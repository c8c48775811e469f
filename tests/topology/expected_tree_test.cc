// BuildExpectedTree: the spans a complete trace must contain, from hand-built scenarios (so the
// tree logic is tested apart from the parser) and from the shipped quickstart scenario.
#include "topology/expected_tree.h"

#include <gtest/gtest.h>

#include "test_files.h"
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
  const std::string path = TRACERIG_SOURCE_DIR "/scenarios/quickstart.toml";
  auto text = ReadTestFile(path);
  ASSERT_TRUE(text.has_value()) << "cannot read " << path;
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

}  // namespace
}  // namespace tracerig
