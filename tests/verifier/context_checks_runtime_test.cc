// The wire verdicts against what real simulated services (over loopback) record: clean
// propagation of a tracestate and a baggage through three hops gives no violation, whatever
// formats the hops read; a cleared sampled flag is named at its edge.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/clock.h"
#include "core/ledger.h"
#include "core/span_sink.h"
#include "propagation/baggage.h"
#include "propagation/w3c.h"
#include "tests/topology/service_runtime_test_support.h"
#include "topology/expected_tree.h"
#include "topology/ground_truth.h"
#include "topology/topology_runtime.h"
#include "verifier/context_checks.h"

namespace tracerig {
namespace {

using runtime_test_support::kRootSpan;
using runtime_test_support::kTrace;
using runtime_test_support::MakeFault;
using runtime_test_support::Rt;
using runtime_test_support::Seq;
using runtime_test_support::Svc;
using runtime_test_support::To;

constexpr uint64_t kSequence = 4;

// a -> b -> c, all reading and writing `formats`; the load entry starts with a tracestate and a
// baggage, which the request below carries.
Scenario ThreeHops(const std::vector<std::string>& formats) {
  Scenario s;
  s.seed = 5;
  s.services = {Svc("a", {Rt("GET /a", {Seq(To("b", "Work"))})}),
                Svc("b", {Rt("Work", {Seq(To("c", "More"))})}), Svc("c", {Rt("More")})};
  for (Service& service : s.services) service.extract = formats;
  LoadEntry entry;
  entry.service = "a";
  entry.route = "GET /a";
  entry.tracestate = "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE";
  entry.baggage = "userId=alice,region=eu";
  s.load.entries = {entry};
  return s;
}

// The root request as the driver sends it, with the entry's tracestate and baggage.
unsigned SendWithState(const TopologyRuntime& topology, const LoadEntry& entry) {
  asio::io_context ioc;
  HttpClientPool pool(ioc, *topology.EndpointOf("a"));
  HttpRequest request{http::verb::get, "/a", 11};
  request.set(std::string(kTraceparentHeader), FormatTraceparent(kTrace, kRootSpan, 0x01));
  request.set(std::string(kTracestateHeader), entry.tracestate);
  request.set(std::string(kBaggageHeader), entry.baggage);
  request.set(std::string(kRequestIdHeader), FormatRequestId(kSequence + 1));
  request.set(std::string(kSequenceHeader), std::to_string(kSequence));
  request.set(std::string(kHopHeader), "0");
  unsigned status = 0;
  pool.Send(std::move(request),
            [&](beast::error_code ec, HttpResponse&& r) { status = ec ? 0 : r.result_int(); });
  ioc.run();
  return status;
}

// Runs `s` for one request and checks it as `judged` says the driver sent it (default: `s`).
TraceVerdict RunAndCheck(const Scenario& s, std::vector<std::string>* cleared = nullptr,
                         const Scenario* judged = nullptr) {
  InMemorySpanSink sink;
  TopologyRuntime topology(s, sink, SystemClock::Instance(), TopologyOptions{});
  auto started = topology.Start();
  EXPECT_TRUE(started.ok()) << started.error().message;
  EXPECT_EQ(SendWithState(topology, s.load.entries[0]), 200u);
  topology.Stop();
  LedgerEntry entry;
  entry.sequence = kSequence;
  entry.trace_id = kTrace;
  entry.request_id = kSequence + 1;
  const ExpectedTree tree = BuildExpectedTree(s, s.load.entries[0], kSequence);
  TraceVerdict verdict;
  // What a verifier would find missing: every expected SERVER span the services did not record
  // sampled.
  for (const ExpectedSpan& e : tree.spans) {
    if (e.kind != SpanKind::kServer) continue;
    const Span* span = runtime_test_support::Find(sink.spans(), e.service, e.kind, e.hop);
    if (span == nullptr || (span->flags & 0x01) == 0) {
      verdict.missing.push_back(MissingSpan{e.hop, e.service, e.name, e.kind});
    }
  }
  const Scenario& as = judged != nullptr ? *judged : s;
  CheckWireContext(as, as.load.entries[0], tree, entry, topology.wire_log(), verdict);
  if (cleared != nullptr) {
    for (size_t i : ClearedByTheWire(s, tree, entry, topology.wire_log())) {
      cleared->push_back(tree.spans[i].service + "@" + tree.spans[i].hop);
    }
  }
  return verdict;
}

TEST(ContextChecksRuntimeTest, CleanPropagationThroughThreeHopsHasNoViolation) {
  for (const std::vector<std::string>& formats :
       std::vector<std::vector<std::string>>{{"tracecontext", "baggage"},
                                             {"baggage", "tracecontext"},
                                             {"b3", "tracecontext", "baggage"},
                                             {"tracecontext"}}) {
    const TraceVerdict verdict = RunAndCheck(ThreeHops(formats));
    for (const Violation& v : verdict.violations) ADD_FAILURE() << v.kind << ": " << v.explanation;
    EXPECT_EQ(verdict.explanation, "");
  }
}

// The same request judged as if the driver had sent one member more: the loss is named once, at
// the driver's edge, and not again at b or c (which passed on what they received).
TEST(ContextChecksRuntimeTest, ALossIsNamedOnceAtItsEdge) {
  const Scenario s = ThreeHops({"tracecontext", "baggage"});
  Scenario judged = s;
  judged.load.entries[0].tracestate += ",extra=1";
  judged.load.entries[0].baggage += ",extra=1";
  const TraceVerdict verdict = RunAndCheck(s, nullptr, &judged);
  ASSERT_EQ(verdict.violations.size(), 2u);
  EXPECT_EQ(verdict.violations[0],
            (Violation{"tracestate", "0", "tracerig-driver",
                       "a received tracestate `rojo=00f067aa0ba902b7,congo=t61rcWkgMzE` from "
                       "tracerig-driver at hop 0: member `extra=1` dropped (the load entry's "
                       "tracestate)"}));
  EXPECT_EQ(verdict.violations[1].kind, "baggage");
  EXPECT_EQ(verdict.violations[1].hop, "0");
}

TEST(ContextChecksRuntimeTest, UnsampledChildIsNamedAtItsEdgeAndExemptsTheCallee) {
  Scenario s = ThreeHops({"tracecontext", "baggage"});
  s.faults = {MakeFault(FaultKind::kUnsampledChild, "b")};
  std::vector<std::string> cleared;
  const TraceVerdict verdict = RunAndCheck(s, &cleared);
  EXPECT_TRUE(verdict.violations.empty());
  EXPECT_EQ(verdict.explanation.rfind("b sent sampled=0 to c at hop 0.0.0 (received "
                                      "`traceparent: 00-",
                                      0),
            0u)
      << verdict.explanation;
  EXPECT_EQ(cleared, std::vector<std::string>{"c@0.0.0"});
}

}  // namespace
}  // namespace tracerig
