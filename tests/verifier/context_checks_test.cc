// Verdicts from the wire (context_checks.h): the tracestate and baggage rules (table-driven), and
// CheckWireContext on a hand-filled WireLog over frontend -> checkout -> payment, one test per
// verdict and per case that must stay silent.
#include "verifier/context_checks.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>

#include <string>
#include <utility>
#include <vector>

#include "core/ledger.h"

namespace tracerig {
namespace {

constexpr TraceId kTrace{0x4bf92f3577b34da6ull, 0xa3ce929d0e0e4736ull};
constexpr uint64_t kRequestId = 0xaa;
const std::string kTraceHex = "4bf92f3577b34da6a3ce929d0e0e4736";
const std::string kTracestate = "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE";
const std::string kBaggage = "userId=alice,region=eu";

TEST(TracestateProblemsTest, Table) {
  struct Row {
    std::string name, expected, received;
    std::vector<std::string> problems;
  };
  const std::vector<Row> rows = {
      {"unchanged", "a=1,b=2", "a=1,b=2", {}},
      {"whitespace and empty members", "a=1,b=2", " a=1 ,, b=2\t", {}},
      {"a member added at the front", "a=1,b=2", "x=9,a=1,b=2", {}},
      {"a member updated and moved to the front", "a=1,b=2,c=3", "c=4,a=1,b=2", {}},
      {"a member moved to the front unchanged", "a=1,b=2,c=3", "c=3,a=1,b=2", {}},
      {"tracerig's own member ignored", "a=1,b=2", "tracerig=00000000000000aa,a=1,b=2", {}},
      {"dropped", "a=1,b=2", "a=1", {"member `b=2` dropped"}},
      {"all dropped", "a=1,b=2", "", {"members `a=1`, `b=2` dropped"}},
      {"changed in place",
       "a=1,b=2",
       "a=1,b=3",
       {"member `b=2` changed to `b=3` in place (a vendor that modifies its member moves it to the "
        "front)"}},
      {"added behind",
       "a=1,b=2",
       "a=1,b=2,x=9",
       {"member `x=9` added behind others (new members go to the front)"}},
      {"two members put at the front",
       "a=1",
       "x=1,y=2,a=1",
       {"members `x=1`, `y=2` put at the front (one participant adds or updates only its own "
        "member)"}},
      {"reordered",
       "a=1,b=2,c=3",
       "a=1,c=3,b=2",
       {"members reordered: `a=1,b=2,c=3` sent, `a=1,c=3,b=2` received"}},
  };
  for (const Row& row : rows) {
    EXPECT_EQ(TracestateProblems(row.expected, row.received), row.problems) << row.name;
  }
}

TEST(TracestateProblemsTest, DropsFromTheRightOnlyAtTheLimit) {
  std::string sent;
  for (int i = 0; i < 32; ++i) sent += fmt::format("{}k{}=v", i == 0 ? "" : ",", i);
  std::string received = "new=1";
  for (int i = 0; i < 31; ++i) received += fmt::format(",k{}=v", i);
  EXPECT_TRUE(TracestateProblems(sent, received).empty());
  // Below the limit the same loss is a drop.
  EXPECT_EQ(TracestateProblems("a=1,b=2", "new=1,a=1"),
            std::vector<std::string>{"member `b=2` dropped"});
}

// Into a real service tracerig puts its own member in front: 31 of 32 members then go on, and the
// one dropped from the right is no loss (tracerig's member counts toward the limit).
TEST(TracestateProblemsTest, TracerigsOwnMemberCountsTowardTheLimit) {
  std::string sent;
  for (int i = 0; i < 32; ++i) sent += fmt::format("{}k{}=v", i == 0 ? "" : ",", i);
  std::string received = "tracerig=5eed";
  for (int i = 0; i < 31; ++i) received += fmt::format(",k{}=v", i);
  EXPECT_TRUE(TracestateProblems(sent, received).empty());
}

TEST(BaggageProblemsTest, Table) {
  struct Row {
    std::string name, expected, received;
    std::vector<std::string> problems;
  };
  const std::vector<Row> rows = {
      {"unchanged", "a=1,b=2", "a=1,b=2", {}},
      {"reordered and added", "a=1,b=2", "c=3,b=2,a=1", {}},
      {"encoding differs", "a=x%2Fy", "a=x%2fy", {}},
      {"tracerig's own keys ignored", "a=1", "tracerig.request_id=00000000000000aa,a=1", {}},
      {"dropped", "a=1,b=2", "a=1", {"member `b=2` dropped"}},
      {"changed", "a=1,b=2", "a=1,b=3", {"member `b=2` changed to `b=3`"}},
      {"property dropped", "a=1;p=1", "a=1", {"member `a=1;p=1` changed to `a=1`"}},
  };
  for (const Row& row : rows) {
    EXPECT_EQ(BaggageProblems(row.expected, row.received), row.problems) << row.name;
  }
}

TEST(ReceivedDebugFlagTest, Table) {
  struct Row {
    std::string name;
    std::vector<std::pair<std::string, std::string>> headers;
    bool debug;
  };
  const std::vector<Row> rows = {
      {"b3 debug", {{"b3", kTraceHex + "-00f067aa0ba902b7-d"}}, true},
      {"b3 debug with parent", {{"b3", kTraceHex + "-00f067aa0ba902b7-d-1111111111111111"}}, true},
      {"b3 debug only", {{"b3", "d"}}, true},
      {"b3 sampled", {{"b3", kTraceHex + "-00f067aa0ba902b7-1"}}, false},
      {"x-b3-flags", {{"x-b3-traceid", kTraceHex}, {"x-b3-flags", "1"}}, true},
      {"jaeger 0x3", {{"uber-trace-id", kTraceHex + ":00f067aa0ba902b7:0:3"}}, true},
      {"jaeger url-encoded 0x3",
       {{"uber-trace-id", kTraceHex + "%3A00f067aa0ba902b7%3A0%3A3"}},
       true},
      {"jaeger 0x1", {{"uber-trace-id", kTraceHex + ":00f067aa0ba902b7:0:1"}}, false},
      {"traceparent", {{"traceparent", "00-" + kTraceHex + "-00f067aa0ba902b7-01"}}, false},
  };
  for (const Row& row : rows) {
    WireObservation o;
    o.headers = row.headers;
    EXPECT_EQ(ReceivedDebugFlag(o), row.debug) << row.name;
  }
}

// frontend (hop 0) -> checkout (0.0) -> payment (0.0.0), all parent-based, W3C and baggage.
Scenario Chain() {
  Scenario s;
  s.name = "chain";
  auto service = [](std::string name, std::string route, std::string callee = "",
                    std::string callee_route = "") {
    Service svc;
    svc.name = std::move(name);
    svc.extract = {"tracecontext", "baggage"};
    Route r;
    r.name = std::move(route);
    if (!callee.empty()) {
      Call call;
      call.service = std::move(callee);
      call.route = std::move(callee_route);
      r.calls.push_back(CallStep{false, {call}});
    }
    svc.routes.push_back(std::move(r));
    return svc;
  };
  s.services.push_back(service("frontend", "GET /", "checkout", "POST /checkout"));
  s.services.push_back(service("checkout", "POST /checkout", "payment", "POST /pay"));
  s.services.push_back(service("payment", "POST /pay"));
  LoadEntry entry;
  entry.service = "frontend";
  entry.route = "GET /";
  entry.tracestate = kTracestate;
  entry.baggage = kBaggage;
  s.load.entries.push_back(entry);
  return s;
}

std::string Traceparent(const std::string& span, bool sampled = true) {
  return fmt::format("00-{}-{}-{}", kTraceHex, span, sampled ? "01" : "00");
}

// One hop as received: ground-truth headers, then `headers`; tracestate and baggage from them.
WireObservation Seen(std::string service, std::string hop,
                     std::vector<std::pair<std::string, std::string>> headers,
                     bool sampled = true) {
  WireObservation o;
  o.service = std::move(service);
  o.route = "r";
  o.request_id = FormatRequestId(kRequestId);
  o.hop = std::move(hop);
  o.source = GroundTruthSource::kHeaders;
  o.headers = {{"tracerig-request-id", o.request_id}, {"tracerig-hop", o.hop}};
  for (auto& h : headers) {
    if (h.first == "tracestate") o.tracestate = h.second;
    if (h.first == "baggage") o.baggage = h.second;
    o.headers.push_back(std::move(h));
  }
  o.has_context = true;
  o.trace_id = kTrace;
  o.parent_span_id = SpanId{1};
  o.sampled = sampled;
  return o;
}

WireObservation W3c(std::string service, std::string hop, std::string tracestate,
                    std::string baggage, bool sampled = true) {
  std::vector<std::pair<std::string, std::string>> headers = {
      {"traceparent", Traceparent("00f067aa0ba902b7", sampled)}};
  if (!tracestate.empty()) headers.emplace_back("tracestate", std::move(tracestate));
  if (!baggage.empty()) headers.emplace_back("baggage", std::move(baggage));
  return Seen(std::move(service), std::move(hop), std::move(headers), sampled);
}

struct WireRun {
  Scenario scenario = Chain();
  WireLog log{64};
  TraceVerdict verdict;

  LedgerEntry Entry() const {
    LedgerEntry e;
    e.trace_id = kTrace;
    e.request_id = kRequestId;
    return e;
  }
  ExpectedTree Tree() const { return BuildExpectedTree(scenario, scenario.load.entries[0]); }
  void Check() {
    CheckWireContext(scenario, scenario.load.entries[0], Tree(), Entry(), log, verdict);
  }
  void Missing(const std::string& hop, const std::string& service) {
    verdict.missing.push_back(MissingSpan{hop, service, "r", SpanKind::kServer});
  }
};

TEST(CheckWireContextTest, CleanPropagationThroughThreeHopsSaysNothing) {
  WireRun run;
  run.log.Record(W3c("frontend", "0", kTracestate, kBaggage));
  run.log.Record(W3c("checkout", "0.0", kTracestate, kBaggage));
  run.log.Record(W3c("payment", "0.0.0", kTracestate, "region=eu,userId=alice"));
  run.Check();
  EXPECT_TRUE(run.verdict.violations.empty());
  EXPECT_EQ(run.verdict.explanation, "");
}

TEST(CheckWireContextTest, AMemberAddedAtTheFrontIsAllowed) {
  WireRun run;
  run.log.Record(W3c("frontend", "0", kTracestate, kBaggage));
  run.log.Record(W3c("checkout", "0.0", kTracestate, kBaggage));
  run.log.Record(W3c("payment", "0.0.0", "checkout=abc," + kTracestate, kBaggage));
  run.Check();
  EXPECT_TRUE(run.verdict.violations.empty());
}

TEST(CheckWireContextTest, NoInitialTracestateOrBaggageMeansNoExpectations) {
  WireRun run;
  run.scenario.load.entries[0].tracestate = "";
  run.scenario.load.entries[0].baggage = "";
  run.log.Record(W3c("frontend", "0", kTracestate, kBaggage));
  run.log.Record(W3c("checkout", "0.0", "", ""));
  run.log.Record(W3c("payment", "0.0.0", "x=1", ""));
  run.Check();
  EXPECT_TRUE(run.verdict.violations.empty());
}

TEST(CheckWireContextTest, ADroppedMemberIsNamedAtTheFirstEdge) {
  WireRun run;
  run.log.Record(W3c("frontend", "0", kTracestate, kBaggage));
  run.log.Record(W3c("checkout", "0.0", kTracestate, kBaggage));
  run.log.Record(W3c("payment", "0.0.0", "rojo=00f067aa0ba902b7", kBaggage));
  run.Check();
  ASSERT_EQ(run.verdict.violations.size(), 1u);
  EXPECT_EQ(run.verdict.violations[0],
            (Violation{"tracestate", "0.0.0", "checkout",
                       "payment received tracestate `rojo=00f067aa0ba902b7` from checkout at hop "
                       "0.0.0: member `congo=t61rcWkgMzE` dropped (sent by frontend at hop 0.0)"}));
}

TEST(CheckWireContextTest, DropTracestateAndBaggageAtTheEntryAreNamedOnceNotBelow) {
  WireRun run;
  run.log.Record(W3c("frontend", "0", kTracestate, kBaggage));
  run.log.Record(W3c("checkout", "0.0", "", ""));
  run.log.Record(W3c("payment", "0.0.0", "", ""));
  run.Check();
  ASSERT_EQ(run.verdict.violations.size(), 2u);
  EXPECT_EQ(run.verdict.violations[0],
            (Violation{"tracestate", "0.0", "frontend",
                       "checkout received no tracestate from frontend at hop 0.0: members "
                       "`rojo=00f067aa0ba902b7`, `congo=t61rcWkgMzE` dropped (sent by "
                       "tracerig-driver at hop 0)"}));
  EXPECT_EQ(run.verdict.violations[1],
            (Violation{"baggage", "0.0", "frontend",
                       "checkout received no baggage from frontend at hop 0.0: members "
                       "`userId=alice`, `region=eu` dropped (sent by tracerig-driver at hop 0)"}));
}

TEST(CheckWireContextTest, TheDriverItselfIsJudgedAgainstTheLoadEntry) {
  WireRun run;
  run.log.Record(W3c("frontend", "0", "rojo=00f067aa0ba902b7", kBaggage));
  run.Check();
  ASSERT_EQ(run.verdict.violations.size(), 1u);
  EXPECT_EQ(run.verdict.violations[0].explanation,
            "frontend received tracestate `rojo=00f067aa0ba902b7` from tracerig-driver at hop 0: "
            "member `congo=t61rcWkgMzE` dropped (the load entry's tracestate)");
}

TEST(CheckWireContextTest, AMutatedMemberIsNamed) {
  WireRun run;
  run.log.Record(W3c("frontend", "0", kTracestate, kBaggage));
  run.log.Record(W3c("checkout", "0.0", kTracestate, "userId=bob,region=eu"));
  run.Check();
  ASSERT_EQ(run.verdict.violations.size(), 1u);
  EXPECT_EQ(run.verdict.violations[0].explanation,
            "checkout received baggage `userId=bob,region=eu` from frontend at hop 0.0: member "
            "`userId=alice` changed to `userId=bob` (sent by tracerig-driver at hop 0)");
}

TEST(CheckWireContextTest, AServiceNotReadingTracecontextPassesNoTracestateOn) {
  WireRun run;
  run.scenario.services[1].extract = {"b3", "baggage"};
  run.scenario.services[1].inject = std::vector<std::string>{"tracecontext", "baggage"};
  run.log.Record(W3c("frontend", "0", kTracestate, kBaggage));
  run.log.Record(W3c("checkout", "0.0", kTracestate, kBaggage));
  run.log.Record(W3c("payment", "0.0.0", "", kBaggage));
  run.Check();
  EXPECT_TRUE(run.verdict.violations.empty());
}

TEST(CheckWireContextTest, ARestartedTraceIsLeftToTheBreak) {
  WireRun run;
  run.log.Record(W3c("frontend", "0", kTracestate, kBaggage));
  WireObservation restarted = W3c("checkout", "0.0", "", "");
  restarted.trace_id = TraceId{1, 2};
  run.log.Record(restarted);
  run.Check();
  EXPECT_TRUE(run.verdict.violations.empty());
}

// frontend -> gateway (a real service) -> payment: what gateway passed on is judged against what
// frontend sent it.
Scenario BelowARealService() {
  Scenario s = Chain();
  s.services[1].name = "gateway";
  s.services[1].external_url = "http://127.0.0.1:9";
  s.services[1].routes[0].name = "POST /checkout";
  s.services[0].routes[0].calls[0].calls[0].service = "gateway";
  return s;
}

TEST(CheckWireContextTest, ARealServiceDroppingAMemberIsNamed) {
  WireRun run;
  run.scenario = BelowARealService();
  run.log.Record(W3c("frontend", "0", kTracestate, kBaggage));
  WireObservation payment =
      W3c("payment", "0.0.0", "tracerig=00000000000000aa,rojo=00f067aa0ba902b7", kBaggage);
  payment.external_caller = "gateway";
  run.log.Record(payment);
  run.Check();
  ASSERT_EQ(run.verdict.violations.size(), 1u);
  EXPECT_EQ(
      run.verdict.violations[0],
      (Violation{"tracestate", "0.0.0", "gateway",
                 "payment received tracestate `tracerig=00000000000000aa,rojo=00f067aa0ba902b7` "
                 "from gateway at hop 0.0.0: member `congo=t61rcWkgMzE` dropped (sent by "
                 "frontend at hop 0.0)"}));
}

TEST(CheckWireContextTest, ADropFaultIntoARealServiceIsNamed) {
  WireRun run;
  run.scenario = BelowARealService();
  Fault fault;
  fault.kind = FaultKind::kDropBaggage;
  fault.service = "frontend";
  fault.callee = "gateway";
  run.scenario.faults.push_back(fault);
  run.log.Record(W3c("frontend", "0", kTracestate, kBaggage));
  WireObservation payment = W3c("payment", "0.0.0", kTracestate, "tracerig.request_id=1");
  payment.external_caller = "gateway";
  run.log.Record(payment);
  run.Check();
  ASSERT_EQ(run.verdict.violations.size(), 1u);
  EXPECT_EQ(run.verdict.violations[0].explanation,
            "payment received baggage `tracerig.request_id=1` from gateway at hop 0.0.0: members "
            "`userId=alice`, `region=eu` dropped (sent by frontend at hop 0.0, whose drop-baggage "
            "fault applies to its calls to gateway)");
}

TEST(CheckWireContextTest, ARealServiceAddingItsOwnMemberAtTheFrontIsAllowed) {
  WireRun run;
  run.scenario = BelowARealService();
  run.log.Record(W3c("frontend", "0", kTracestate, kBaggage));
  WireObservation payment =
      W3c("payment", "0.0.0", "gw=1,tracerig=00000000000000aa," + kTracestate, kBaggage);
  payment.external_caller = "gateway";
  run.log.Record(payment);
  run.Check();
  EXPECT_TRUE(run.verdict.violations.empty());
}

TEST(CheckWireContextTest, ARealServiceClearingTheSampledFlagIsNamed) {
  WireRun run;
  run.scenario = BelowARealService();
  run.log.Record(W3c("frontend", "0", "", ""));
  WireObservation payment = W3c("payment", "0.0.0", "", "", /*sampled=*/false);
  payment.external_caller = "gateway";
  run.log.Record(payment);
  run.Missing("0.0.0", "payment");
  run.Check();
  EXPECT_EQ(run.verdict.explanation,
            "gateway sent sampled=0 to payment at hop 0.0.0 (received `traceparent: " +
                Traceparent("00f067aa0ba902b7", false) + "`)");
  // Its own span lost too: the flag is not known to have been cleared there.
  WireRun lost;
  lost.scenario = BelowARealService();
  lost.log.Record(W3c("frontend", "0", "", ""));
  lost.log.Record(payment);
  lost.Missing("0.0", "gateway");
  lost.Missing("0.0.0", "payment");
  lost.Check();
  EXPECT_EQ(lost.verdict.explanation, "");
}

TEST(CheckWireContextTest, UrlEncodedUberTraceIdIsAWireFormatViolation) {
  WireRun run;
  run.scenario.load.entries[0].tracestate = "";
  run.scenario.load.entries[0].baggage = "";
  const std::string value = kTraceHex + "%3A00f067aa0ba902b7%3A0%3A1";
  run.log.Record(W3c("frontend", "0", "", ""));
  run.log.Record(Seen("checkout", "0.0", {{"uber-trace-id", value}}));
  run.Check();
  ASSERT_EQ(run.verdict.violations.size(), 1u);
  EXPECT_EQ(run.verdict.violations[0],
            (Violation{"wire-format", "0.0", "frontend",
                       "checkout received `uber-trace-id: " + value +
                           "` URL-encoded from frontend at hop 0.0 (readers such as "
                           "rustracing_jaeger and Kamon do not decode it: "
                           "jaeger-client-java#720)"}));
}

TEST(CheckWireContextTest, TheEdgeThatClearedTheSampledFlagExplainsTheMissingSpans) {
  WireRun run;
  run.log.Record(W3c("frontend", "0", "", ""));
  run.log.Record(W3c("checkout", "0.0", "", ""));
  run.log.Record(W3c("payment", "0.0.0", "", "", /*sampled=*/false));
  run.Missing("0.0.0", "payment");
  run.Check();
  EXPECT_EQ(run.verdict.explanation,
            "checkout sent sampled=0 to payment at hop 0.0.0 (received `traceparent: " +
                Traceparent("00f067aa0ba902b7", false) + "`)");
  const ExpectedTree tree = run.Tree();
  const std::vector<size_t> cleared = ClearedByTheWire(run.scenario, tree, run.Entry(), run.log);
  ASSERT_EQ(cleared.size(), 1u);
  EXPECT_EQ(tree.spans[cleared[0]].service, "payment");
  EXPECT_EQ(tree.spans[cleared[0]].kind, SpanKind::kServer);
}

TEST(CheckWireContextTest, OnlyTheTopmostClearedEdgeIsNamed) {
  WireRun run;
  run.log.Record(W3c("frontend", "0", "", ""));
  run.log.Record(W3c("checkout", "0.0", "", "", false));
  run.log.Record(W3c("payment", "0.0.0", "", "", false));
  run.Missing("0.0", "checkout");
  run.Missing("0.0.0", "payment");
  run.Check();
  EXPECT_EQ(run.verdict.explanation,
            "frontend sent sampled=0 to checkout at hop 0.0 (received `traceparent: " +
                Traceparent("00f067aa0ba902b7", false) + "`)");
}

TEST(CheckWireContextTest, ARatioServiceSamplingOutIsNotAClearedEdge) {
  WireRun run;
  run.scenario.services[2].sampling = SamplingPolicy{SamplingPolicy::Kind::kRatio, 0.5};
  run.log.Record(W3c("frontend", "0", "", ""));
  run.log.Record(W3c("checkout", "0.0", "", ""));
  run.log.Record(W3c("payment", "0.0.0", "", "", /*sampled=*/false));
  run.Missing("0.0.0", "payment");
  run.Check();
  EXPECT_EQ(run.verdict.explanation, "");
}

TEST(CheckWireContextTest, ForceSampledExplainsTheOrphansBelow) {
  WireRun run;
  run.scenario.services[1].sampling = SamplingPolicy{SamplingPolicy::Kind::kNever, 1};
  run.log.Record(W3c("frontend", "0", "", ""));
  run.log.Record(W3c("checkout", "0.0", "", ""));
  run.log.Record(W3c("payment", "0.0.0", "", ""));
  run.verdict.violations.push_back(Violation{"unexpected-span", "0.0.0", "payment", "x"});
  run.Check();
  const std::string sentence =
      "checkout sent sampled=1 to payment at hop 0.0.0 but recorded no span of its own";
  EXPECT_EQ(run.verdict.explanation, sentence);
  EXPECT_EQ(run.verdict.violations[0].explanation, "x; " + sentence);
}

TEST(CheckWireContextTest, DebugDroppedByAFaultIsNamedAtTheEdge) {
  WireRun run;
  run.scenario.load.entries[0].sampled = EntrySampling::kDebug;
  for (Service& s : run.scenario.services) s.extract = {"b3"};
  Fault fault;
  fault.kind = FaultKind::kDebugIgnored;
  fault.service = "frontend";
  run.scenario.faults.push_back(fault);
  const std::string plain = kTraceHex + "-00f067aa0ba902b7-1";
  run.log.Record(Seen("frontend", "0", {{"b3", kTraceHex + "-00f067aa0ba902b7-d"}}));
  run.log.Record(Seen("checkout", "0.0", {{"b3", plain}}));
  run.Missing("0.0", "checkout");
  run.Check();
  EXPECT_EQ(run.verdict.explanation,
            "checkout received no debug flag from frontend at hop 0.0 (received `b3: " + plain +
                "`): debug-ignored fault on frontend");
}

TEST(CheckWireContextTest, DebugLostToAFormatThatCannotCarryIt) {
  WireRun run;
  run.scenario.load.entries[0].sampled = EntrySampling::kDebug;
  // frontend reads B3 and sends W3C.
  run.scenario.services[0].extract = {"b3"};
  run.scenario.services[0].inject = std::vector<std::string>{"tracecontext", "baggage"};
  run.log.Record(Seen("frontend", "0", {{"b3", kTraceHex + "-00f067aa0ba902b7-d"}}));
  run.log.Record(W3c("checkout", "0.0", "", ""));
  run.Missing("0.0", "checkout");
  run.Check();
  EXPECT_EQ(run.verdict.explanation,
            "checkout received no debug flag from frontend at hop 0.0 (received `traceparent: " +
                Traceparent("00f067aa0ba902b7") +
                "`): frontend injects tracecontext+baggage, which cannot carry the debug flag");
}

TEST(CheckWireContextTest, DebugArrivingInAFormatTheCalleeDoesNotReadIsSaid) {
  WireRun run;
  run.scenario.load.entries[0].sampled = EntrySampling::kDebug;
  run.scenario.services[0].extract = {"b3"};
  const std::string debug = kTraceHex + "-00f067aa0ba902b7-d";
  run.log.Record(Seen("frontend", "0", {{"b3", debug}}));
  run.log.Record(Seen("checkout", "0.0", {{"b3", debug}}));
  run.Missing("0.0", "checkout");
  run.Check();
  EXPECT_EQ(run.verdict.explanation,
            "checkout received the debug flag from frontend at hop 0.0 (`b3: " + debug +
                "`) but reads only tracecontext+baggage");
}

TEST(CheckWireContextTest, DebugPassedOnSaysNothing) {
  WireRun run;
  run.scenario.load.entries[0].sampled = EntrySampling::kDebug;
  for (Service& s : run.scenario.services) s.extract = {"b3"};
  run.log.Record(Seen("frontend", "0", {{"b3", kTraceHex + "-00f067aa0ba902b7-d"}}));
  run.log.Record(Seen("checkout", "0.0", {{"b3", kTraceHex + "-00f067aa0ba902b7-d"}}));
  run.Missing("0.0", "checkout");
  run.Check();
  EXPECT_EQ(run.verdict.explanation, "");
}

// frontend (hop 0) publishes orders:created; worker consumes it (delivery 0.0, one redelivery
// 0.0d1, dead letters to "w-dlq" read by dlq at 0.0q) and calls payment (0.0.0).
Scenario Messaging() {
  Scenario s = Chain();
  Call publish;
  publish.publish = "orders";
  publish.routing_key = "created";
  s.services[0].routes[0].calls = {CallStep{false, {publish}}};
  Consumer worker;
  worker.queue = "w";
  worker.exchange = "orders";
  worker.binding_key = "created";
  worker.redeliveries = 1;
  worker.dead_letter = "w-dlq";
  Call pay;
  pay.service = "payment";
  pay.route = "POST /pay";
  worker.calls = {CallStep{false, {pay}}};
  s.services[1].name = "worker";
  s.services[1].routes.clear();
  s.services[1].consumers = {worker};
  Service dlq;
  dlq.name = "dlq";
  dlq.extract = {"tracecontext", "b3multi", "baggage"};
  Consumer dead;
  dead.queue = "w-dlq";
  dlq.consumers = {dead};
  s.services.push_back(dlq);
  return s;
}

// The checks of the wire run on message headers too: at each delivery (a redelivery and the
// dead-lettered copy included), and below a consumer on its calls.
TEST(CheckWireContextTest, MessageHeadersAndTheConsumersCallsAreChecked) {
  WireRun run;
  run.scenario = Messaging();
  run.log.Record(W3c("frontend", "0", kTracestate, kBaggage));
  run.log.Record(W3c("worker", "0.0", kTracestate, kBaggage));
  run.log.Record(W3c("worker", "0.0d1", kTracestate, kBaggage));
  run.log.Record(Seen("dlq", "0.0q",
                      {{"traceparent", Traceparent("00f067aa0ba902b7")},
                       {"tracestate", kTracestate},
                       {"baggage", kBaggage},
                       {"x-b3-sampled", "true"}}));
  run.log.Record(W3c("payment", "0.0.0", kTracestate, "userId=alice"));
  run.log.Record(W3c("payment", "0.0d1.0", kTracestate, kBaggage));
  run.Check();
  ASSERT_EQ(run.verdict.violations.size(), 2u);
  std::sort(run.verdict.violations.begin(), run.verdict.violations.end(),
            [](const Violation& a, const Violation& b) { return a.hop < b.hop; });
  EXPECT_EQ(run.verdict.violations[0].kind, "baggage");
  EXPECT_EQ(run.verdict.violations[0].hop, "0.0.0");
  EXPECT_EQ(run.verdict.violations[0].service, "worker");
  EXPECT_EQ(run.verdict.violations[1],
            (Violation{"wire-format", "0.0q", "frontend",
                       "dlq received `x-b3-sampled: true` from frontend at hop 0.0q (B3 senders "
                       "write 1 or 0; true/false is only to be accepted from old tracers)"}));
}

// A delivery that reached a parent-based consumer with sampled=0 although the publisher recorded
// its span: the cleared flag explains the consumer's missing CONSUMER span.
TEST(CheckWireContextTest, ASampledFlagClearedOnAMessageExplainsTheMissingConsumerSpan) {
  WireRun run;
  run.scenario = Messaging();
  run.log.Record(W3c("frontend", "0", "", ""));
  run.log.Record(W3c("worker", "0.0", "", "", /*sampled=*/false));
  run.verdict.missing.push_back(MissingSpan{"0.0", "worker", "r", SpanKind::kConsumer});
  run.Check();
  EXPECT_NE(run.verdict.explanation.find("frontend sent sampled=0 to worker at hop 0.0"),
            std::string::npos)
      << run.verdict.explanation;
}

}  // namespace
}  // namespace tracerig
