// What a simulated service writes on its calls, over real loopback sockets: separate extract and
// inject formats, forwarded headers, the debug flag, the six edge faults of issue 17 and faults
// conditioned on the incoming context (`when`). Each case checks exactly the propagation headers
// the callee received (its wire log), ground-truth headers aside.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/clock.h"
#include "core/ledger.h"
#include "propagation/b3.h"
#include "propagation/jaeger.h"
#include "propagation/registry.h"
#include "propagation/w3c.h"
#include "tests/support/loopback_server.h"
#include "tests/topology/service_runtime_test_support.h"
#include "topology/ground_truth.h"
#include "topology/topology_runtime.h"

namespace tracerig {
namespace {

using runtime_test_support::Find;
using runtime_test_support::kRootSpan;
using runtime_test_support::kTrace;
using runtime_test_support::MakeFault;
using runtime_test_support::Rt;
using runtime_test_support::Seq;
using runtime_test_support::Svc;
using runtime_test_support::To;
using Headers = std::vector<std::pair<std::string, std::string>>;
using Fields = std::map<std::string, std::string>;

const std::string kTraceHex = kTrace.ToHex();
const std::string kRootHex = kRootSpan.ToHex();

unsigned Send(const tcp::endpoint& entry, std::string_view route, uint64_t seq,
              const Headers& context) {
  return runtime_test_support::SendWithContext(entry, route, seq, context);
}

// a (GET /a) calls b (Work) once.
Scenario AtoB() {
  Scenario s;
  s.seed = 7;
  s.services = {Svc("a", {Rt("GET /a", {Seq(To("b", "Work"))})}), Svc("b", {Rt("Work")})};
  s.services[1].extract = {"tracecontext", "b3", "b3multi", "jaeger", "baggage"};
  return s;
}

struct EdgeRun {
  Fields received;  // the trace-context headers b received at `hop` (tracerig-* left out)
  bool b_reached = false;
  std::vector<Span> spans;
  TopologyStats stats;
  std::string client_hex;        // a's CLIENT span at `hop`
  std::string first_client_hex;  // a's CLIENT span at 0.0 (the first attempt)
};

EdgeRun RunAtoB(const Scenario& s, const Headers& context, std::string_view hop = "0.0",
                uint64_t seq = 3) {
  InMemorySpanSink sink;
  TopologyRuntime topology(s, sink, SystemClock::Instance(), TopologyOptions{});
  EdgeRun run;
  auto started = topology.Start();
  EXPECT_TRUE(started.ok()) << (started.ok() ? "" : started.error().message);
  if (!started.ok()) return run;
  const unsigned status = Send(*topology.EndpointOf("a"), "GET /a", seq, context);
  EXPECT_TRUE(status == 200 || status == 502) << status;
  topology.Stop();
  run.spans = sink.spans();
  run.stats = topology.stats();
  if (auto seen = topology.wire_log().Find(FormatRequestId(seq + 1), hop, "b")) {
    run.b_reached = true;
    for (const auto& [name, value] : seen->headers) {
      if (!name.starts_with("tracerig-")) run.received[name] = value;
    }
  }
  // a's CLIENT span ids, when a sampled (so exported) them.
  if (const Span* c = Find(run.spans, "a", SpanKind::kClient, hop)) {
    run.client_hex = c->span_id.ToHex();
  }
  if (const Span* c = Find(run.spans, "a", SpanKind::kClient, "0.0")) {
    run.first_client_hex = c->span_id.ToHex();
  }
  return run;
}

bool PropagatorsCarryDebug() {
  auto b3 = MakePropagator({"b3"});
  HeaderList in{{"b3", kTraceHex + "-" + kRootHex + "-d"}};
  return b3.ok() && (*b3)->Extract(in).debug;
}

// --- One row per edge fault of issue 17: exactly what the callee received. ---

struct FaultRow {
  const char* name;
  FaultKind kind;
  std::vector<std::string> formats;  // a's extract = inject
  Headers incoming;
  std::function<void(Scenario&)> tweak;  // nullptr: none
  std::string hop;
  // The headers b must receive, given a's CLIENT span at `hop` and at the first attempt.
  std::function<Fields(const std::string& client, const std::string& first)> want;
  uint64_t applied;  // faults_applied for the kind
};

TEST(ServicePropagationTest, EachNewEdgeFaultChangesExactlyWhatTheCalleeReceives) {
  const std::string tp = FormatTraceparent(kTrace, kRootSpan, 0x01);
  const std::string tp_unsampled = FormatTraceparent(kTrace, kRootSpan, 0x00);
  const std::vector<std::string> w3c = {"tracecontext", "baggage"};
  const FaultRow rows[] = {
      {"drop-tracestate",
       FaultKind::kDropTracestate,
       w3c,
       {{"traceparent", tp}, {"tracestate", "k=v"}, {"baggage", "m=1"}},
       nullptr,
       "0.0",
       [](const std::string& c, const std::string&) {
         return Fields{{"traceparent", fmt::format("00-{}-{}-01", kTraceHex, c)},
                       {"baggage", "m=1"}};
       },
       1},
      {"drop-baggage",
       FaultKind::kDropBaggage,
       w3c,
       {{"traceparent", tp}, {"tracestate", "k=v"}, {"baggage", "m=1"}},
       nullptr,
       "0.0",
       [](const std::string& c, const std::string&) {
         return Fields{{"traceparent", fmt::format("00-{}-{}-01", kTraceHex, c)},
                       {"tracestate", "k=v"}};
       },
       1},
      // a's own spans stay unsampled (so unexported); its call says sampled.
      {"force-sampled",
       FaultKind::kForceSampled,
       {"b3"},
       {{"b3", kTraceHex + "-" + kRootHex + "-0"}},
       nullptr,
       "0.0",
       [](const std::string&, const std::string&) { return Fields{}; },
       1},
      {"urlencode",
       FaultKind::kUrlencode,
       {"jaeger", "tracecontext"},
       {{"traceparent", tp}},
       nullptr,
       "0.0",
       [](const std::string& c, const std::string&) {
         return Fields{{"uber-trace-id", fmt::format("{}%3A{}%3A0%3A1", kTraceHex, c)},
                       {"traceparent", fmt::format("00-{}-{}-01", kTraceHex, c)}};
       },
       1},
      // The retry (0.0r1) names the first attempt's CLIENT span as its parent.
      {"stale-retry-context",
       FaultKind::kStaleRetryContext,
       {"tracecontext"},
       {{"traceparent", tp}},
       [](Scenario& s) {
         s.services[0].routes[0].calls[0].calls[0].retries = 1;
         s.services[1].routes[0].error_rate = 1.0;
         s.services[1].routes[0].error_status = 503;
       },
       "0.0r1",
       [](const std::string&, const std::string& first) {
         return Fields{{"traceparent", fmt::format("00-{}-{}-01", kTraceHex, first)}};
       },
       1},  // counted on the retry only
      // Without a debug flag coming in, debug-ignored leaves the sampled flag as decided.
      {"debug-ignored",
       FaultKind::kDebugIgnored,
       {"b3"},
       {{"b3", kTraceHex + "-" + kRootHex + "-1"}},
       nullptr,
       "0.0",
       [](const std::string& c, const std::string&) {
         return Fields{{"b3", fmt::format("{}-{}-1", kTraceHex, c)}};
       },
       1},
  };
  for (const FaultRow& row : rows) {
    SCOPED_TRACE(row.name);
    Scenario s = AtoB();
    s.services[0].extract = row.formats;
    if (row.tweak) row.tweak(s);
    s.faults = {MakeFault(row.kind, "a")};
    const EdgeRun run = RunAtoB(s, row.incoming, row.hop);
    ASSERT_TRUE(run.b_reached);
    Fields want = row.want(run.client_hex, run.first_client_hex);
    if (row.kind == FaultKind::kForceSampled) {
      // a sampled nothing: its CLIENT span id is only on the wire.
      ASSERT_EQ(run.received.count("b3"), 1u);
      const std::string& b3 = run.received.at("b3");
      EXPECT_TRUE(b3.starts_with(kTraceHex + "-")) << b3;
      EXPECT_TRUE(b3.ends_with("-1")) << b3;
      EXPECT_EQ(run.received.size(), 1u);
      for (const Span& span : run.spans) EXPECT_NE(span.service_name, "a");
    } else {
      EXPECT_EQ(run.received, want);
    }
    EXPECT_EQ(run.stats.FaultsApplied(row.kind), row.applied);
  }
}

TEST(ServicePropagationTest, StaleRetryContextKeepsTheRetrysOwnClientSpanId) {
  Scenario s = AtoB();
  s.services[0].routes[0].calls[0].calls[0].retries = 2;
  s.services[1].routes[0].error_rate = 1.0;
  s.services[1].routes[0].error_status = 503;
  s.faults = {MakeFault(FaultKind::kStaleRetryContext, "a")};
  const EdgeRun run =
      RunAtoB(s, {{"traceparent", FormatTraceparent(kTrace, kRootSpan, 1)}}, "0.0r2");
  const Span* first = Find(run.spans, "a", SpanKind::kClient, "0.0");
  const Span* retry = Find(run.spans, "a", SpanKind::kClient, "0.0r2");
  ASSERT_NE(first, nullptr);
  ASSERT_NE(retry, nullptr);
  EXPECT_NE(retry->span_id, first->span_id);
  EXPECT_EQ(run.received.at("traceparent"), FormatTraceparent(kTrace, first->span_id, 0x01));
  EXPECT_EQ(run.stats.FaultsApplied(FaultKind::kStaleRetryContext), 2u);
}

TEST(ServicePropagationTest, NewEdgeFaultsHonourTheirCallee) {
  for (FaultKind kind : {FaultKind::kDropTracestate, FaultKind::kDropBaggage,
                         FaultKind::kForceSampled, FaultKind::kUrlencode}) {
    SCOPED_TRACE(std::string(FaultKindName(kind)));
    Scenario s = AtoB();
    s.services[0].extract = {"tracecontext", "jaeger", "baggage"};
    Fault f = MakeFault(kind, "a");
    f.callee = "someone-else";
    s.faults = {f};
    const EdgeRun run = RunAtoB(s, {{"traceparent", FormatTraceparent(kTrace, kRootSpan, 1)},
                                    {"tracestate", "k=v"},
                                    {"baggage", "m=1"}});
    EXPECT_EQ(run.received.at("tracestate"), "k=v");
    EXPECT_EQ(run.received.at("baggage"), "m=1");
    EXPECT_EQ(run.received.at("uber-trace-id"),
              fmt::format("{}:{}:0:1", kTraceHex, run.client_hex));
    EXPECT_EQ(run.stats.FaultsApplied(kind), 0u);
  }
}

// The baggage header a real service (the external callee of CallsExternal) receives when `a`,
// configured by `configure`, is sent `baggage: user=alice`.
std::string BaggageIntoRealService(const std::function<void(Scenario&)>& configure) {
  test_support::CaptureServer ext;
  Scenario s = runtime_test_support::CallsExternal(ext);
  configure(s);
  InMemorySpanSink sink;
  TopologyRuntime topology(s, sink, SystemClock::Instance(), TopologyOptions{});
  if (!topology.Start().ok()) {
    ADD_FAILURE() << "the topology did not start";
    return "";
  }
  EXPECT_EQ(
      Send(*topology.EndpointOf("a"), "GET /a", 2,
           {{"traceparent", FormatTraceparent(kTrace, kRootSpan, 1)}, {"baggage", "user=alice"}}),
      200u);
  topology.Stop();
  auto requests = ext.requests();
  if (requests.size() != 1u) {
    ADD_FAILURE() << requests.size() << " requests reached the real service";
    return "";
  }
  auto it = requests[0].find("baggage");
  if (it == requests[0].end()) {
    ADD_FAILURE() << "no baggage reached the real service";
    return "";
  }
  return std::string(it->value());
}

TEST(ServicePropagationTest, DropBaggageIntoARealServiceKeepsTracerigsGroundTruthMembersOnly) {
  const std::string baggage = BaggageIntoRealService([](Scenario& s) {
    s.services[0].extract = {"tracecontext", "baggage"};
    s.faults = {MakeFault(FaultKind::kDropBaggage, "a")};
  });
  EXPECT_EQ(baggage.find("user=alice"), std::string::npos) << baggage;
  EXPECT_NE(baggage.find(FormatRequestId(3)), std::string::npos) << baggage;
}

// A service forwarding a baggage it does not read, into a real service: the scenario's members
// ride in the one baggage header with tracerig's ground truth.
TEST(ServicePropagationTest, ForwardedBaggageIntoARealServiceKeepsItsMembers) {
  const std::string baggage = BaggageIntoRealService([](Scenario& s) {
    s.services[0].extract = {"tracecontext"};
    s.services[0].forward = {"baggage"};
  });
  EXPECT_NE(baggage.find("user=alice"), std::string::npos) << baggage;
  EXPECT_NE(baggage.find(FormatRequestId(3)), std::string::npos) << baggage;
}

// --- Separate extract and inject, forward. ---

TEST(ServicePropagationTest, ReadsB3AndSendsOnlyTraceparent) {
  Scenario s = AtoB();
  s.services[0].extract = {"b3"};
  s.services[0].inject = std::vector<std::string>{"tracecontext"};
  const EdgeRun run = RunAtoB(s, {{"b3", kTraceHex + "-" + kRootHex + "-1"}});
  ASSERT_TRUE(run.b_reached);
  EXPECT_EQ(run.received,
            (Fields{{"traceparent", fmt::format("00-{}-{}-01", kTraceHex, run.client_hex)}}));
  const Span* server = Find(run.spans, "a", SpanKind::kServer, "0");
  ASSERT_NE(server, nullptr);
  EXPECT_EQ(server->trace_id, kTrace);  // the B3 context was read
  EXPECT_EQ(server->parent_span_id, kRootSpan);
}

TEST(ServicePropagationTest, ExtractInjectAndForwardIntoAGrpcCallee) {
  // The same request logic writes gRPC metadata: a reads B3, injects W3C and forwards the b3.
  Scenario s = AtoB();
  s.services[1].protocol = Protocol::kGrpc;
  s.services[0].extract = {"b3"};
  s.services[0].inject = std::vector<std::string>{"tracecontext"};
  s.services[0].forward = {"b3"};
  const std::string b3 = kTraceHex + "-" + kRootHex + "-1";
  const EdgeRun run = RunAtoB(s, {{"b3", b3}});
  ASSERT_TRUE(run.b_reached);
  EXPECT_EQ(
      run.received,
      (Fields{{"traceparent", fmt::format("00-{}-{}-01", kTraceHex, run.client_hex)}, {"b3", b3}}));
}

TEST(ServicePropagationTest, EmptyInjectWritesNoContextButTheGroundTruth) {
  Scenario s = AtoB();
  s.services[0].inject = std::vector<std::string>{};
  InMemorySpanSink sink;
  TopologyRuntime topology(s, sink, SystemClock::Instance(), TopologyOptions{});
  ASSERT_TRUE(topology.Start().ok());
  EXPECT_EQ(Send(*topology.EndpointOf("a"), "GET /a", 1,
                 {{"traceparent", FormatTraceparent(kTrace, kRootSpan, 1)}}),
            200u);
  topology.Stop();
  auto seen = topology.wire_log().Find(FormatRequestId(2), "0.0", "b");
  ASSERT_TRUE(seen);
  EXPECT_FALSE(seen->has_context);
  EXPECT_EQ(seen->DescribeHeaders(), "no trace context headers");
}

TEST(ServicePropagationTest, ForwardCopiesIncomingHeadersUnchangedAndOwnInjectionWins) {
  struct Row {
    const char* name;
    std::vector<std::string> formats;  // a's extract = inject
    std::vector<std::string> forward;
    Headers incoming;
    std::function<Fields(const std::string& client)> want;
  };
  const std::string stale_b3 = "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1";
  const std::string tp = FormatTraceparent(kTrace, kRootSpan, 0x01);
  const Row rows[] = {
      // envoyproxy/envoy#47515: a proxy injecting W3C passes a stale b3 it does not read on.
      {"stale b3 next to own traceparent",
       {"tracecontext"},
       {"b3"},
       {{"traceparent", tp}, {"b3", stale_b3}},
       [&](const std::string& c) {
         return Fields{{"traceparent", fmt::format("00-{}-{}-01", kTraceHex, c)}, {"b3", stale_b3}};
       }},
      // Own traceparent and tracestate win over the forwarded ones; b3 forwarded as is.
      {"own wins",
       {"tracecontext"},
       {"tracecontext", "b3"},
       {{"traceparent", tp}, {"tracestate", "k=v"}, {"b3", stale_b3}},
       [&](const std::string& c) {
         return Fields{{"traceparent", fmt::format("00-{}-{}-01", kTraceHex, c)},
                       {"tracestate", "k=v"},
                       {"b3", stale_b3}};
       }},
      // Reads and writes b3; W3C headers and baggage pass through untouched, several
      // tracestate lines as one list.
      {"w3c through a b3 service",
       {"b3"},
       {"tracecontext", "baggage"},
       {{"b3", kTraceHex + "-" + kRootHex + "-1"},
        {"traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"},
        {"tracestate", "x=1"},
        {"tracestate", "y=2"},
        {"baggage", "m=1"}},
       [&](const std::string& c) {
         return Fields{{"b3", fmt::format("{}-{}-1", kTraceHex, c)},
                       {"traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"},
                       {"tracestate", "x=1,y=2"},
                       {"baggage", "m=1"}};
       }},
      // Nothing of a forwarded format came in: nothing is forwarded.
      {"nothing to forward",
       {"tracecontext"},
       {"jaeger"},
       {{"traceparent", tp}},
       [&](const std::string& c) {
         return Fields{{"traceparent", fmt::format("00-{}-{}-01", kTraceHex, c)}};
       }},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(row.name);
    Scenario s = AtoB();
    s.services[0].extract = row.formats;
    s.services[0].forward = row.forward;
    const EdgeRun run = RunAtoB(s, row.incoming);
    ASSERT_TRUE(run.b_reached);
    EXPECT_EQ(run.received, row.want(run.client_hex));
  }
}

TEST(ServicePropagationTest, DropContextAlsoStopsForwardedHeaders) {
  Scenario s = AtoB();
  s.services[0].forward = {"b3"};
  s.faults = {MakeFault(FaultKind::kDropContext, "a")};
  const EdgeRun run = RunAtoB(s, {{"traceparent", FormatTraceparent(kTrace, kRootSpan, 1)},
                                  {"b3", kTraceHex + "-" + kRootHex + "-1"}});
  ASSERT_TRUE(run.b_reached);
  EXPECT_TRUE(run.received.empty());
}

// --- Faults conditioned on the incoming context. ---

TEST(ServicePropagationTest, WhenConditionsMatchTheIncomingContext) {
  struct Row {
    const char* name;
    FaultCondition when;
    Headers incoming;
    bool applies;
  };
  const std::string b3 = kTraceHex + "-" + kRootHex + "-1";
  const Row rows[] = {
      // opentelemetry-dotnet#1840: a new trace only for unsampled requests.
      {"sampled=false, unsampled in",
       {false, ""},
       {{"traceparent", FormatTraceparent(kTrace, kRootSpan, 0)}},
       true},
      {"sampled=false, sampled in",
       {false, ""},
       {{"traceparent", FormatTraceparent(kTrace, kRootSpan, 1)}},
       false},
      {"sampled=true, sampled in",
       {true, ""},
       {{"traceparent", FormatTraceparent(kTrace, kRootSpan, 1)}},
       true},
      {"sampled=false, no context", {false, ""}, {}, false},
      {"sampled=true, invalid context", {true, ""}, {{"traceparent", "garbage"}}, false},
      {"format=b3, b3 in", {std::nullopt, "b3"}, {{"b3", b3}}, true},
      {"format=b3, traceparent in",
       {std::nullopt, "b3"},
       {{"traceparent", FormatTraceparent(kTrace, kRootSpan, 1)}},
       false},
      // Both present: tracecontext is listed first, so the context came in tracecontext.
      {"format=b3, both in",
       {std::nullopt, "b3"},
       {{"traceparent", FormatTraceparent(kTrace, kRootSpan, 1)}, {"b3", b3}},
       false},
      {"format=b3, no context", {std::nullopt, "b3"}, {}, false},
      {"format=b3 and sampled=true, b3 sampled in", {true, "b3"}, {{"b3", b3}}, true},
      {"format=b3 and sampled=false, b3 sampled in", {false, "b3"}, {{"b3", b3}}, false},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(row.name);
    Scenario s = AtoB();
    s.services[0].extract = {"tracecontext", "b3"};
    s.services[0].sampling.kind = SamplingPolicy::Kind::kAlways;  // a's spans always exported
    Fault f = MakeFault(FaultKind::kNewTrace, "a");
    f.when = row.when;
    s.faults = {f};
    const EdgeRun run = RunAtoB(s, row.incoming);
    EXPECT_EQ(run.stats.FaultsApplied(FaultKind::kNewTrace), row.applies ? 1u : 0u);
    const Span* server = Find(run.spans, "a", SpanKind::kServer, "0");
    ASSERT_NE(server, nullptr);
    const bool had_context = !row.incoming.empty() && row.incoming[0].second != "garbage";
    // Applied, or nothing valid came in: a trace of a's own. Else the incoming one.
    EXPECT_EQ(server->trace_id == kTrace, had_context && !row.applies);
  }
}

TEST(ServicePropagationTest, WhenConditionAppliesToEdgeFaultsToo) {
  Scenario s = AtoB();
  Fault f = MakeFault(FaultKind::kDropContext, "a");
  f.when.sampled = false;
  s.faults = {f};
  s.services[0].sampling.kind = SamplingPolicy::Kind::kAlways;
  const EdgeRun sampled = RunAtoB(s, {{"traceparent", FormatTraceparent(kTrace, kRootSpan, 1)}});
  EXPECT_EQ(sampled.received.count("traceparent"), 1u);
  EXPECT_EQ(sampled.stats.FaultsApplied(FaultKind::kDropContext), 0u);
  const EdgeRun unsampled = RunAtoB(s, {{"traceparent", FormatTraceparent(kTrace, kRootSpan, 0)}});
  EXPECT_TRUE(unsampled.received.empty());
  EXPECT_EQ(unsampled.stats.FaultsApplied(FaultKind::kDropContext), 1u);
}

// --- Debug. ---

TEST(ServicePropagationTest, DebugRecordsWhateverTheSamplerSaysAndIsPassedOn) {
  if (!PropagatorsCarryDebug()) {
    GTEST_SKIP() << "B3 does not extract debug yet (the propagation side of issue 17)";
  }
  Scenario s = AtoB();
  s.services[0].extract = {"b3"};
  s.services[0].sampling.kind = SamplingPolicy::Kind::kNever;
  s.services[1].sampling.kind = SamplingPolicy::Kind::kNever;
  const EdgeRun run = RunAtoB(s, {{"b3", kTraceHex + "-" + kRootHex + "-d"}});
  const Span* server = Find(run.spans, "a", SpanKind::kServer, "0");
  ASSERT_NE(server, nullptr);
  EXPECT_EQ(server->flags & 0x01, 1u);
  ASSERT_NE(Find(run.spans, "a", SpanKind::kClient, "0.0"), nullptr);
  EXPECT_EQ(run.received, (Fields{{"b3", fmt::format("{}-{}-d", kTraceHex, run.client_hex)}}));
  EXPECT_NE(Find(run.spans, "b", SpanKind::kServer, "0.0"), nullptr);  // b honours it too
}

TEST(ServicePropagationTest, DebugIgnoredClearsDebugButKeepsSampled) {
  if (!PropagatorsCarryDebug()) {
    GTEST_SKIP() << "B3 does not extract debug yet (the propagation side of issue 17)";
  }
  Scenario s = AtoB();
  s.services[0].extract = {"b3"};
  s.services[0].sampling.kind = SamplingPolicy::Kind::kNever;
  s.services[1].sampling.kind = SamplingPolicy::Kind::kRatio;
  s.services[1].sampling.ratio = 0;
  s.faults = {MakeFault(FaultKind::kDebugIgnored, "a")};
  const EdgeRun run = RunAtoB(s, {{"b3", kTraceHex + "-" + kRootHex + "-d"}});
  ASSERT_NE(Find(run.spans, "a", SpanKind::kServer, "0"), nullptr);  // a still debug itself
  EXPECT_EQ(run.received, (Fields{{"b3", fmt::format("{}-{}-1", kTraceHex, run.client_hex)}}));
  EXPECT_EQ(Find(run.spans, "b", SpanKind::kServer, "0.0"), nullptr);  // b's ratio(0) decides
  EXPECT_EQ(run.stats.FaultsApplied(FaultKind::kDebugIgnored), 1u);
}

TEST(ServicePropagationTest, DebugIsLostThroughAServiceInjectingOnlyTraceparent) {
  if (!PropagatorsCarryDebug()) {
    GTEST_SKIP() << "B3 does not extract debug yet (the propagation side of issue 17)";
  }
  Scenario s = AtoB();
  s.services[0].extract = {"b3"};
  s.services[0].inject = std::vector<std::string>{"tracecontext"};
  s.services[1].sampling.kind = SamplingPolicy::Kind::kRatio;
  s.services[1].sampling.ratio = 0;
  const EdgeRun run = RunAtoB(s, {{"b3", kTraceHex + "-" + kRootHex + "-d"}});
  EXPECT_EQ(run.received,
            (Fields{{"traceparent", fmt::format("00-{}-{}-01", kTraceHex, run.client_hex)}}));
  EXPECT_EQ(Find(run.spans, "b", SpanKind::kServer, "0.0"), nullptr);
}

}  // namespace
}  // namespace tracerig
