// Calls below a real (external) service: their expected spans (expected_tree.h) and how a
// simulated service the real one calls recovers the ground truth (external_in_flight.h).
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>

#include "topology/expected_tree.h"
#include "topology/external_in_flight.h"
#include "topology/ground_truth.h"

namespace tracerig {
namespace {

constexpr SpanKind kClient = SpanKind::kClient;
constexpr SpanKind kServer = SpanKind::kServer;
const std::string kDriver(kDriverServiceName);

Call CallTo(std::string service, std::string route) {
  Call call;
  call.service = std::move(service);
  call.route = std::move(route);
  return call;
}

CallStep Single(std::string service, std::string route) {
  return CallStep{false, {CallTo(std::move(service), std::move(route))}};
}

Route MakeRoute(std::string name, std::vector<CallStep> calls = {}) {
  Route r;
  r.name = std::move(name);
  r.calls = std::move(calls);
  return r;
}

Service MakeService(std::string name, std::vector<Route> routes, std::string url = "") {
  Service s;
  s.name = std::move(name);
  s.routes = std::move(routes);
  s.external_url = std::move(url);
  return s;
}

// frontend -> fraud-check (real) -> {payment, parallel(ledger, audit)}; payment -> db.
Scenario MiddleHop() {
  Scenario s;
  s.services = {
      MakeService("frontend", {MakeRoute("GET /", {Single("fraud-check", "POST /check")})}),
      MakeService(
          "fraud-check",
          {MakeRoute("POST /check",
                     {Single("payment", "Charge"),
                      CallStep{true, {CallTo("ledger", "Write"), CallTo("audit", "Log")}}})},
          "http://127.0.0.1:9"),
      MakeService("payment", {MakeRoute("Charge", {Single("db", "Query")})}),
      MakeService("ledger", {MakeRoute("Write")}),
      MakeService("audit", {MakeRoute("Log")}),
      MakeService("db", {MakeRoute("Query")}),
  };
  s.load.entries = {LoadEntry{"frontend", "GET /", 1.0}};
  return s;
}

TEST(ExternalCallsTree, CallsOfAnExternalRouteHangBelowItsServerSpanWithStableHops) {
  const Scenario s = MiddleHop();
  const ExpectedTree tree = BuildExpectedTree(s, s.load.entries[0]);
  std::vector<ExpectedSpan> want = {
      {"0", kDriver, kClient, "GET /", -1, "frontend"},
      {"0", "frontend", kServer, "GET /", 0, kDriver},
      {"0.0", "frontend", kClient, "POST /check", 1, "fraud-check"},
      {"0.0", "fraud-check", kServer, "POST /check", 2, "frontend"},
      {"0.0.0", "payment", kServer, "Charge", 3, "fraud-check"},
      {"0.0.0.0", "payment", kClient, "Query", 4, "db"},
      {"0.0.0.0", "db", kServer, "Query", 5, "payment"},
      {"0.0.1", "ledger", kServer, "Write", 3, "fraud-check"},
      {"0.0.2", "audit", kServer, "Log", 3, "fraud-check"},
  };
  want[3].external = true;
  for (size_t i : {4u, 7u, 8u}) want[i].parent_external = true;
  EXPECT_EQ(tree.spans, want);
  EXPECT_EQ(tree.spans, BuildExpectedTree(s, s.load.entries[0], 7).spans);
  EXPECT_EQ(RequiredSpanCount(tree), want.size());
}

TEST(ExternalCallsTree, AnExternalEntryCallsBelowHopZero) {
  Scenario s = MiddleHop();
  s.load.entries = {LoadEntry{"fraud-check", "POST /check", 1.0}};
  const ExpectedTree tree = BuildExpectedTree(s, s.load.entries[0]);
  ASSERT_EQ(tree.spans.size(), 7u);
  EXPECT_TRUE(tree.spans[1].external);
  EXPECT_EQ(tree.spans[2].hop, "0.0");
  EXPECT_EQ(tree.spans[2].service, "payment");
  EXPECT_EQ(tree.spans[2].parent, 1);
  EXPECT_TRUE(tree.spans[2].parent_external);
  EXPECT_FALSE(tree.spans[3].parent_external);  // payment's own CLIENT span
  EXPECT_EQ(tree.spans[6].hop, "0.2");
}

TEST(ExternalCallsTree, AnUnsampledCallerLeavesTheCallsBelowTheRealServiceUnexported) {
  Scenario s = MiddleHop();
  s.services[0].sampling.kind = SamplingPolicy::Kind::kNever;
  s.services[2].sampling.kind = SamplingPolicy::Kind::kAlways;  // payment samples on its own
  const ExpectedTree tree = BuildExpectedTree(s, s.load.entries[0]);
  // The driver's span, payment's visit and db below it; the real service follows its parent.
  ASSERT_EQ(tree.spans.size(), 4u);
  EXPECT_EQ(tree.spans[1].service, "payment");
  EXPECT_EQ(tree.spans[1].parent, 0);
  EXPECT_TRUE(tree.spans[1].parent_unexported);
  EXPECT_TRUE(tree.spans[1].parent_external);
}

TEST(ExternalChildHop, IsTheIndexOfTheOneCallNamingTheRoute) {
  Scenario s = MiddleHop();
  EXPECT_EQ(ExternalChildHop(s, "fraud-check", "POST /check", "0.0", "payment", "Charge"), "0.0.0");
  EXPECT_EQ(ExternalChildHop(s, "fraud-check", "", "0", "audit", "Log"), "0.2");
  EXPECT_EQ(ExternalChildHop(s, "fraud-check", "", "0", "db", "Query"), "");  // not called
  EXPECT_EQ(ExternalChildHop(s, "fraud-check", "", "", "audit", "Log"), "");  // hop unknown
  EXPECT_EQ(ExternalChildHop(s, "nobody", "", "0", "audit", "Log"), "");
  // Called twice: which call a request is cannot be told.
  s.services[1].routes[0].calls.push_back(Single("payment", "Charge"));
  EXPECT_EQ(ExternalChildHop(s, "fraud-check", "", "0", "payment", "Charge"), "");
  s.services[1].routes[0].calls.pop_back();
  s.services[1].routes[0].calls[0].calls[0].repeat = 2;
  EXPECT_EQ(ExternalChildHop(s, "fraud-check", "", "0", "payment", "Charge"), "");
}

TEST(ExternalCallers, AreTheExternalServicesWhoseRoutesCallTheRoute) {
  const Scenario s = MiddleHop();
  EXPECT_EQ(ExternalCallersOf(s, "payment", "Charge"), std::vector<std::string>{"fraud-check"});
  EXPECT_TRUE(ExternalCallersOf(s, "db", "Query").empty());
  EXPECT_TRUE(ExternalCallersOf(s, "fraud-check", "POST /check").empty());
}

ExternalRequest InFlightRequest(std::string id, std::string hop, TraceId trace = {}) {
  return ExternalRequest{"fraud-check", "POST /check", std::move(id), "12", std::move(hop), "500",
                         trace};
}

TEST(ExternalInFlightRegistry, FindsByRequestAndHopAndSaysWhenOnlyOneIsInFlight) {
  ExternalInFlight registry;
  EXPECT_FALSE(registry.Single({"fraud-check"}));
  const auto a = registry.Register(InFlightRequest("00000000000000aa", "0.0"));
  ASSERT_TRUE(registry.Single({"fraud-check"}));
  EXPECT_EQ(registry.Single({"fraud-check"})->request_id, "00000000000000aa");
  EXPECT_FALSE(registry.Single({"other"}));
  const auto b = registry.Register(InFlightRequest("00000000000000bb", "0.0"));
  EXPECT_FALSE(registry.Single({"fraud-check"}));
  ASSERT_TRUE(registry.Find("00000000000000bb", "0.0"));
  EXPECT_FALSE(registry.Find("00000000000000bb", "0.1"));
  registry.Unregister(a);
  EXPECT_EQ(registry.Single({"fraud-check"})->request_id, "00000000000000bb");
  registry.Unregister(b);
  EXPECT_EQ(registry.size(), 0u);
  EXPECT_FALSE(registry.Find("00000000000000bb", "0.0"));  // gone from every index
  EXPECT_FALSE(registry.Single({"fraud-check"}));
}

TEST(ExternalInFlightRegistry, TheTraceIdTiesOnlyWhenOneRequestInFlightHasIt) {
  ExternalInFlight registry;
  const TraceId t1{0x1, 0x11};
  const TraceId t2{0x2, 0x22};
  const auto a = registry.Register(InFlightRequest("00000000000000aa", "0.0", t1));
  registry.Register(InFlightRequest("00000000000000bb", "0.0", t2));
  ASSERT_TRUE(registry.WithTraceId({"fraud-check"}, t1));
  EXPECT_EQ(registry.WithTraceId({"fraud-check"}, t1)->request_id, "00000000000000aa");
  EXPECT_FALSE(registry.WithTraceId({"other"}, t1));
  EXPECT_FALSE(registry.WithTraceId({"fraud-check"}, TraceId{}));
  // Two in flight with the same trace id (a retry, say): not tied by it.
  const auto c = registry.Register(InFlightRequest("00000000000000cc", "0.1", t1));
  EXPECT_FALSE(registry.WithTraceId({"fraud-check"}, t1));
  registry.Unregister(a);
  EXPECT_EQ(registry.WithTraceId({"fraud-check"}, t1)->request_id, "00000000000000cc");
  registry.Unregister(c);
  EXPECT_FALSE(registry.WithTraceId({"fraud-check"}, t1));
  registry.Unregister(c);  // twice: nothing happens
  EXPECT_EQ(registry.size(), 1u);
}

TEST(GroundTruthIntoARealService, BaggageMembersComeFirstAndReplaceEarlierOnes) {
  const std::string id = "0123456789abcdef";
  EXPECT_EQ(WithGroundTruthBaggage("", id, "3", "0.1", "250"),
            "tracerig.request_id=" + id + ",tracerig.seq=3,tracerig.hop=0.1,tracerig.offset=250");
  EXPECT_EQ(WithGroundTruthBaggage("user=x,tracerig.hop=0,tracerig.request_id=ffffffffffffffff",
                                   id, "3", "0.1", ""),
            "tracerig.request_id=" + id + ",tracerig.seq=3,tracerig.hop=0.1,user=x");
}

TEST(GroundTruthIntoARealService, TracestateMemberComesFirstOnce) {
  const std::string id = "0123456789abcdef";
  EXPECT_EQ(WithGroundTruthTracestate("", id), "tracerig=" + id);
  EXPECT_EQ(WithGroundTruthTracestate("vendor=1, tracerig=ffffffffffffffff,other=2", id),
            "tracerig=" + id + ",vendor=1,other=2");
  std::string many;
  for (int i = 0; i < 40; ++i) many += (i == 0 ? "" : ",") + fmt::format("k{}=v", i);
  const std::string capped = WithGroundTruthTracestate(many, id);
  EXPECT_EQ(std::count(capped.begin(), capped.end(), ','), 31);  // 32 members at most
  EXPECT_EQ(capped.substr(capped.rfind(',') + 1), "k30=v");
}

struct RecoveryCase {
  std::string name;
  ReceivedGroundTruth received;
  std::vector<ExternalRequest> in_flight;
  std::string service = "payment";
  std::string route = "Charge";
  GroundTruthSource source;
  std::string request_id, sequence, hop, offset, external_caller;
};

TEST(RecoverGroundTruth, Table) {
  const Scenario s = MiddleHop();
  const std::string id = "0123456789abcdef";
  const std::string bare = "tracerig.request_id=" + id;
  const std::string baggage =
      "tracerig.request_id=" + id + ",tracerig.seq=12,tracerig.hop=0.0,tracerig.offset=500,user=x";
  const std::vector<RecoveryCase> cases = {
      {"simulated caller's headers",
       {id, "3", "0.1.0", "9", {}, {}},
       {},
       "db",
       "Query",
       GroundTruthSource::kHeaders,
       id,
       "3",
       "0.1.0",
       "9",
       ""},
      {"headers passed through a real service",
       {id, "12", "0.0", "500", {}, {}},
       {InFlightRequest(id, "0.0")},
       "payment",
       "Charge",
       GroundTruthSource::kHeaders,
       id,
       "12",
       "0.0.0",
       "500",
       "fraud-check"},
      {"baggage members",
       {"", "", "", "", {baggage}, {}},
       {},
       "payment",
       "Charge",
       GroundTruthSource::kBaggage,
       id,
       "12",
       "0.0.0",
       "500",
       "fraud-check"},
      {"baggage, parallel call",
       {"", "", "", "", {baggage}, {}},
       {},
       "audit",
       "Log",
       GroundTruthSource::kBaggage,
       id,
       "12",
       "0.0.2",
       "500",
       "fraud-check"},
      {"baggage without a hop",
       {"", "", "", "", {bare}, {}},
       {},
       "payment",
       "Charge",
       GroundTruthSource::kBaggage,
       id,
       "",
       "",
       "",
       "fraud-check"},
      {"baggage with a malformed request id",
       {"", "", "", "", {"tracerig.request_id=xyz"}, {}},
       {},
       "payment",
       "Charge",
       GroundTruthSource::kNone,
       "",
       "",
       "",
       "",
       "fraud-check"},
      {"one request in flight",
       {"", "", "", "", {}, {}},
       {InFlightRequest(id, "0.0")},
       "ledger",
       "Write",
       GroundTruthSource::kSingleInFlight,
       id,
       "12",
       "0.0.1",
       "500",
       "fraud-check"},
      {"the trace id of one of two in flight",
       {"", "", "", "", {}, TraceId{1, 2}},
       {InFlightRequest(id, "0.0", TraceId{1, 2}), InFlightRequest("00000000000000bb", "0.0")},
       "ledger",
       "Write",
       GroundTruthSource::kTraceId,
       id,
       "12",
       "0.0.1",
       "500",
       "fraud-check"},
      {"a trace id that none in flight has",
       {"", "", "", "", {}, TraceId{7, 7}},
       {InFlightRequest(id, "0.0", TraceId{1, 2}), InFlightRequest("00000000000000bb", "0.0")},
       "ledger",
       "Write",
       GroundTruthSource::kNone,
       "",
       "",
       "",
       "",
       "fraud-check"},
      {"two in flight",
       {"", "", "", "", {}, {}},
       {InFlightRequest(id, "0.0"), InFlightRequest("00000000000000bb", "0.0")},
       "ledger",
       "Write",
       GroundTruthSource::kNone,
       "",
       "",
       "",
       "",
       "fraud-check"},
      {"nothing in flight",
       {"", "", "", "", {}, {}},
       {},
       "ledger",
       "Write",
       GroundTruthSource::kNone,
       "",
       "",
       "",
       "",
       "fraud-check"},
      {"no real caller",
       {"", "", "", "", {baggage}, {}},
       {InFlightRequest(id, "0.0")},
       "db",
       "Query",
       GroundTruthSource::kBaggage,
       id,
       "12",
       "",
       "500",
       ""},
  };
  for (const RecoveryCase& c : cases) {
    SCOPED_TRACE(c.name);
    ExternalInFlight registry;
    for (const ExternalRequest& r : c.in_flight) registry.Register(r);
    const RecoveredGroundTruth g = RecoverGroundTruth(s, c.service, c.route, c.received, registry);
    EXPECT_EQ(GroundTruthSourceName(g.source), GroundTruthSourceName(c.source));
    EXPECT_EQ(g.request_id, c.request_id);
    EXPECT_EQ(g.sequence, c.sequence);
    EXPECT_EQ(g.hop, c.hop);
    EXPECT_EQ(g.offset, c.offset);
    EXPECT_EQ(g.external_caller, c.external_caller);
  }
}

}  // namespace
}  // namespace tracerig
