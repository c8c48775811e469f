// BuildExpectedTree where timing decides: which spans become optional when a call's timeout can be
// reached by its callee (CalleeWorstCaseNs, CallMayTimeOut), and external services' SERVER spans.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "tests/support/fixtures.h"
#include "topology/expected_tree.h"
#include "topology/parse.h"

namespace tracerig {
namespace {

constexpr uint64_t kMs = 1'000'000;

LatencyModel Latency(LatencyModel::Kind kind, uint64_t a_ms, uint64_t b_ms = 0) {
  LatencyModel m;
  m.kind = kind;
  m.a = a_ms * kMs;
  m.b = b_ms * kMs;
  return m;
}

Route MakeRoute(std::string name, LatencyModel latency = {}, std::vector<CallStep> calls = {}) {
  Route r;
  r.name = std::move(name);
  r.latency = latency;
  r.calls = std::move(calls);
  return r;
}

Call CallTo(std::string service, std::string route, uint64_t timeout_ms = 0, uint32_t retries = 0) {
  Call call;
  call.service = std::move(service);
  call.route = std::move(route);
  call.timeout_ns = timeout_ms * kMs;
  call.retries = retries;
  return call;
}

CallStep Single(Call call) { return CallStep{false, {std::move(call)}}; }

Service MakeService(std::string name, std::vector<Route> routes) {
  Service s;
  s.name = std::move(name);
  s.routes = std::move(routes);
  return s;
}

// a R -> b S with `call`; b S has `latency`.
Scenario Pair(const Call& call, LatencyModel latency) {
  Scenario s;
  s.services = {MakeService("a", {MakeRoute("R", {}, {Single(call)})}),
                MakeService("b", {MakeRoute("S", latency)})};
  return s;
}

// (hop, kind, service) of every span with its flags: "?" optional, "late" may outlive its parent,
// "ext" external.
std::vector<std::string> Shape(const ExpectedTree& tree) {
  std::vector<std::string> out;
  for (const auto& s : tree.spans) {
    std::string line = s.hop + " " + std::string(SpanKindName(s.kind)) + " " + s.service;
    if (s.optional) line += " ?";
    if (s.may_outlive_parent) line += " late";
    if (s.external) line += " ext";
    out.push_back(std::move(line));
  }
  return out;
}

TEST(CalleeWorstCaseTest, OneRowPerLatencyModelAndCallShape) {
  using K = LatencyModel::Kind;
  struct Case {
    const char* what;
    Scenario scenario;
    uint64_t want_ns;
  };
  Call retried = CallTo("b", "S", 0, 2);
  retried.retry_backoff_ns = 3 * kMs;
  Call repeated = CallTo("b", "S");
  repeated.repeat = 4;
  Call never = CallTo("b", "S");
  never.probability = 0;
  auto calls = [](std::vector<CallStep> steps, LatencyModel b_latency) {
    Scenario s;
    s.services = {MakeService("a", {MakeRoute("R", Latency(K::kFixed, 1), std::move(steps))}),
                  MakeService("b", {MakeRoute("S", b_latency)}),
                  MakeService("c", {MakeRoute("T", Latency(K::kFixed, 7))})};
    return s;
  };
  const Case cases[] = {
      {"fixed", Pair({}, Latency(K::kFixed, 12)), 12 * kMs},
      {"uniform: its maximum", Pair({}, Latency(K::kUniform, 3, 40)), 40 * kMs},
      {"normal: mean + 6 sd", Pair({}, Latency(K::kNormal, 10, 2)), 21'996'000},
      {"normal without spread", Pair({}, Latency(K::kNormal, 10, 0)), 10 * kMs},
      // p50 * (p99 / p50)^(5.998 / 2.326)
      {"lognormal", Pair({}, Latency(K::kLognormal, 5, 30)), 507'656'361},
      {"lognormal without spread", Pair({}, Latency(K::kLognormal, 5, 5)), 5 * kMs},
      {"exponential: 20.7 means", Pair({}, Latency(K::kExponential, 2)), 41'446'000},
      {"sequential calls add up", calls({Single(CallTo("b", "S")), Single(CallTo("c", "T"))},
                                        Latency(K::kFixed, 10)),
       (1 + 10 + 7) * kMs},
      {"a parallel group takes its longest",
       calls({CallStep{true, {CallTo("b", "S"), CallTo("c", "T")}}}, Latency(K::kFixed, 10)),
       (1 + 10) * kMs},
      {"every attempt and backoff", calls({Single(retried)}, Latency(K::kFixed, 10)),
       (1 + 3 * 10 + 2 * 3) * kMs},
      {"an attempt is bounded by its timeout",
       calls({Single(CallTo("b", "S", 4, 1))}, Latency(K::kLognormal, 5, 30)), (1 + 2 * 4) * kMs},
      {"every execution", calls({Single(repeated)}, Latency(K::kFixed, 10)), (1 + 4 * 10) * kMs},
      {"a call never made takes no time", calls({Single(never)}, Latency(K::kFixed, 10)), kMs},
  };
  for (const Case& c : cases) {
    // Pair scenarios ask about b's route alone; the others about a's route and its calls.
    const bool pair = c.scenario.services.size() == 2;
    const uint64_t got = CalleeWorstCaseNs(c.scenario, pair ? "b" : "a", pair ? "S" : "R");
    // Floating-point quantiles: within a microsecond.
    EXPECT_NEAR(static_cast<double>(got), static_cast<double>(c.want_ns), 1000.0) << c.what;
  }
}

TEST(CalleeWorstCaseTest, ExternalUnknownAndCyclicCalleesAreUnbounded) {
  Scenario s;
  s.services = {MakeService("a", {MakeRoute("R", {}, {Single(CallTo("a", "R"))})}),
                MakeService("ext", {MakeRoute("X")})};
  s.services[1].external_url = "http://127.0.0.1:9";
  EXPECT_EQ(CalleeWorstCaseNs(s, "ext", "X"), UINT64_MAX);
  EXPECT_EQ(CalleeWorstCaseNs(s, "ghost", "X"), UINT64_MAX);
  EXPECT_EQ(CalleeWorstCaseNs(s, "a", "Nope"), UINT64_MAX);
  EXPECT_EQ(CalleeWorstCaseNs(s, "a", "R"), UINT64_MAX);
}

TEST(CalleeWorstCaseTest, TimeoutSlack) {
  EXPECT_EQ(TimeoutSlackNs(10 * kMs), 5 * kMs);
  EXPECT_EQ(TimeoutSlackNs(50 * kMs), 5 * kMs);
  EXPECT_EQ(TimeoutSlackNs(2000 * kMs), 200 * kMs);
}

TEST(CallMayTimeOutTest, OneRowPerCalleeLatency) {
  using K = LatencyModel::Kind;
  struct Case {
    const char* what;
    uint64_t timeout_ms;
    LatencyModel latency;
    bool want;
  };
  const Case cases[] = {
      {"no timeout", 0, Latency(K::kExponential, 100), false},
      {"fixed well below", 50, Latency(K::kFixed, 10), false},
      {"fixed within the slack", 50, Latency(K::kFixed, 45), true},
      {"fixed just below the slack", 50, Latency(K::kFixed, 44), false},
      {"fixed above", 50, Latency(K::kFixed, 80), true},
      {"uniform maximum below", 50, Latency(K::kUniform, 1, 40), false},
      {"uniform maximum reaches it", 50, Latency(K::kUniform, 1, 46), true},
      {"lognormal tail", 50, Latency(K::kLognormal, 5, 30), true},
      {"lognormal tail far below a long timeout", 2000, Latency(K::kLognormal, 5, 30), false},
      {"normal tail", 50, Latency(K::kNormal, 30, 5), true},
      {"exponential tail", 50, Latency(K::kExponential, 5), true},
  };
  for (const Case& c : cases) {
    const Call call = CallTo("b", "S", c.timeout_ms);
    EXPECT_EQ(CallMayTimeOut(Pair(call, c.latency), call), c.want) << c.what;
  }
}

TEST(ExpectedTreeTimeoutTest, ACalleeThatCannotReachTheTimeoutKeepsTheTreeStrict) {
  const Scenario s =
      Pair(CallTo("b", "S", 50, 2), Latency(LatencyModel::Kind::kUniform, 1, 20));
  const std::vector<std::string> want = {"0 CLIENT tracerig-driver", "0 SERVER a", "0.0 CLIENT a",
                                         "0.0 SERVER b"};
  EXPECT_EQ(Shape(BuildExpectedTree(s, LoadEntry{"a", "R"})), want);
  EXPECT_EQ(Shape(BuildExpectedTree(s, LoadEntry{"a", "R"}, 4)), want);
}

TEST(ExpectedTreeTimeoutTest, AttemptsAfterOneThatMayTimeOutAreOptional) {
  // b may outlast a's 50ms timeout: the first attempt is certain (its SERVER span may end after
  // its CLIENT span), and each retry may or may not be made.
  const Scenario s = Pair(CallTo("b", "S", 50, 2), Latency(LatencyModel::Kind::kLognormal, 5, 30));
  const std::vector<std::string> want = {
      "0 CLIENT tracerig-driver", "0 SERVER a",
      "0.0 CLIENT a",             "0.0 SERVER b late",
      "0.0r1 CLIENT a ?",         "0.0r1 SERVER b ? late",
      "0.0r2 CLIENT a ?",         "0.0r2 SERVER b ? late"};
  const ExpectedTree tree = BuildExpectedTree(s, LoadEntry{"a", "R"});
  EXPECT_EQ(Shape(tree), want);
  EXPECT_EQ(tree.spans[4].parent, 1);  // a retry's CLIENT span is still the caller's child
  EXPECT_EQ(tree.spans[5].parent, 4);
  EXPECT_EQ(RequiredSpanCount(tree), 4u);
  EXPECT_EQ(Shape(BuildExpectedTree(s, LoadEntry{"a", "R"}, 9)), want);
}

TEST(ExpectedTreeTimeoutTest, AnAttemptTheSeedFailsIsRetriedForSure) {
  // b always answers 503 (after a latency that may pass the timeout): failed either way, so the
  // retry is surely made.
  Scenario s = Pair(CallTo("b", "S", 50, 1), Latency(LatencyModel::Kind::kLognormal, 5, 30));
  s.services[1].routes[0].error_rate = 1.0;
  s.services[1].routes[0].error_status = 503;
  const std::vector<std::string> want = {
      "0 CLIENT tracerig-driver", "0 SERVER a",
      "0.0 CLIENT a",             "0.0 SERVER b late",
      "0.0r1 CLIENT a",           "0.0r1 SERVER b late"};
  EXPECT_EQ(Shape(BuildExpectedTree(s, LoadEntry{"a", "R"}, 2)), want);
}

TEST(ExpectedTreeTimeoutTest, ATimeoutBelowMakesTheCallersRetriesOptional) {
  // a -> b (no timeout, 1 retry) -> c (timeout 20ms, c may take longer): when c times out, b
  // answers 502 and a retries b. b's first attempt and its call to c are certain.
  using K = LatencyModel::Kind;
  Call to_b = CallTo("b", "S", 0, 1);
  Scenario s;
  s.services = {MakeService("a", {MakeRoute("R", {}, {Single(to_b)})}),
                MakeService("b", {MakeRoute("S", {}, {Single(CallTo("c", "T", 20))})}),
                MakeService("c", {MakeRoute("T", Latency(K::kExponential, 5))})};
  const std::vector<std::string> want = {
      "0 CLIENT tracerig-driver", "0 SERVER a",
      "0.0 CLIENT a",             "0.0 SERVER b",
      "0.0.0 CLIENT b",           "0.0.0 SERVER c late",
      "0.0r1 CLIENT a ?",         "0.0r1 SERVER b ?",
      "0.0r1.0 CLIENT b ?",       "0.0r1.0 SERVER c ? late"};
  EXPECT_EQ(Shape(BuildExpectedTree(s, LoadEntry{"a", "R"})), want);
}

TEST(ExpectedTreeTimeoutTest, ExternalServerSpansAreMarkedAndUnboundedUnderATimeout) {
  Scenario s;
  s.services = {MakeService("a", {MakeRoute("R", {}, {Single(CallTo("ext", "X")),
                                                      Single(CallTo("ext", "X", 100))})}),
                MakeService("ext", {MakeRoute("X")})};
  s.services[1].external_url = "http://127.0.0.1:9";
  const std::vector<std::string> want = {
      "0 CLIENT tracerig-driver", "0 SERVER a",       "0.0 CLIENT a",
      "0.0 SERVER ext ext",       "0.1 CLIENT a",     "0.1 SERVER ext late ext"};
  EXPECT_EQ(Shape(BuildExpectedTree(s, LoadEntry{"a", "R"})), want);
}

TEST(ExpectedTreeTimeoutTest, RetriesTimeoutsScenarioFile) {
  auto text = test_support::ReadRepoFile("scenarios/retries-timeouts.toml");
  ASSERT_TRUE(text.has_value());
  const ParseResult parsed = ParseScenario("retries-timeouts.toml", *text);
  ASSERT_TRUE(parsed.ok());
  const Scenario& s = *parsed.scenario;
  // inventory and pricing have lognormal tails past their callers' timeouts; audit has none.
  const std::vector<std::string> want = {
      "0 CLIENT tracerig-driver",   "0 SERVER api",
      "0.0 CLIENT api",             "0.0 SERVER inventory late",
      "0.0r1 CLIENT api ?",         "0.0r1 SERVER inventory ? late",
      "0.0r2 CLIENT api ?",         "0.0r2 SERVER inventory ? late",
      "0.0r3 CLIENT api ?",         "0.0r3 SERVER inventory ? late",
      "0.1 CLIENT api",             "0.1 SERVER pricing late",
      "0.1r1 CLIENT api ?",         "0.1r1 SERVER pricing ? late",
      "0.2 CLIENT api",             "0.2 SERVER pricing late",
      "0.2r1 CLIENT api ?",         "0.2r1 SERVER pricing ? late",
      "0.3 CLIENT api",             "0.3 SERVER audit"};
  EXPECT_EQ(Shape(BuildExpectedTree(s, s.load.entries[0])), want);
}

}  // namespace
}  // namespace tracerig
