// Every fault kind over real loopback sockets, with its effect on the recorded spans or on the
// headers a service injects into its outgoing calls.
#include "topology/topology_runtime.h"

#include <gtest/gtest.h>

#include "core/clock.h"
#include "core/ledger.h"
#include "net/beast_carrier.h"
#include "propagation/b3.h"
#include "propagation/b3multi.h"
#include "propagation/jaeger.h"
#include "propagation/registry.h"
#include "propagation/w3c.h"
#include "tests/support/loopback_server.h"
#include "tests/topology/service_runtime_test_support.h"
#include "topology/decisions.h"
#include "topology/ground_truth.h"

namespace tracerig {
namespace {

using runtime_test_support::Attr;
using runtime_test_support::CallsExternal;
using runtime_test_support::Find;
using runtime_test_support::JustA;
using runtime_test_support::kRootSpan;
using runtime_test_support::kTrace;
using runtime_test_support::MakeFault;
using runtime_test_support::SendRoot;
using test_support::CaptureServer;

std::string Header(const HttpRequest& request, std::string_view name) {
  auto it = request.find(boost::beast::string_view(name.data(), name.size()));
  return it == request.end() ? "<absent>" : std::string(it->value());
}

// Runs the scenario, sends request `seq` to a's GET /a, stops; returns a's captured outgoing
// request (the only one) and the spans.
struct EdgeRun {
  HttpRequest sent;
  std::vector<Span> spans;
  TopologyStats stats;
};
EdgeRun RunEdge(Scenario& s, CaptureServer& ext, uint64_t seq = 0, std::string_view offset = {}) {
  InMemorySpanSink sink;
  TopologyRuntime topology(s, sink, SystemClock::Instance(), TopologyOptions{});
  EdgeRun run;
  auto started = topology.Start();
  EXPECT_TRUE(started.ok()) << (started.ok() ? "" : started.error().message);
  if (!started.ok()) return run;
  EXPECT_EQ(SendRoot(*topology.EndpointOf("a"), "GET /a", seq, offset), 200u);
  topology.Stop();
  auto requests = ext.requests();
  EXPECT_EQ(requests.size(), 1u);
  if (!requests.empty()) run.sent = requests.back();
  run.spans = sink.spans();
  run.stats = topology.stats();
  return run;
}

// Runs a scenario whose entry is a's GET /a (no calls), for the faults on a's own spans.
struct OwnRun {
  std::vector<Span> spans;
  TopologyStats stats;
  size_t spans_before_stop = 0;
};
OwnRun RunOwn(const Scenario& s, const Clock& clock = SystemClock::Instance(), uint64_t seq = 0) {
  InMemorySpanSink sink;
  TopologyRuntime topology(s, sink, clock, TopologyOptions{});
  OwnRun run;
  auto started = topology.Start();
  EXPECT_TRUE(started.ok()) << (started.ok() ? "" : started.error().message);
  if (!started.ok()) return run;
  EXPECT_EQ(SendRoot(*topology.EndpointOf("a"), "GET /a", seq), 200u);
  run.spans_before_stop = sink.size();
  topology.Stop();
  run.spans = sink.spans();
  run.stats = topology.stats();
  return run;
}

TEST(ServiceRuntimeFaultTest, DropContextInjectsNoContextButKeepsGroundTruth) {
  CaptureServer ext;
  Scenario s = CallsExternal(ext);
  s.faults = {MakeFault(FaultKind::kDropContext, "a")};
  EdgeRun run = RunEdge(s, ext, 4);
  EXPECT_EQ(Header(run.sent, kTraceparentHeader), "<absent>");
  EXPECT_EQ(Header(run.sent, kRequestIdHeader), FormatRequestId(5));
  EXPECT_EQ(Header(run.sent, kSequenceHeader), "4");
  EXPECT_EQ(Header(run.sent, kHopHeader), "0.0");
  EXPECT_EQ(run.stats.FaultsApplied(FaultKind::kDropContext), 1u);
}

TEST(ServiceRuntimeFaultTest, WrongFormatInjectsTheFaultsFormatOnly) {
  CaptureServer ext;
  Scenario s = CallsExternal(ext);
  Fault f = MakeFault(FaultKind::kWrongFormat, "a");
  f.format = "b3";
  s.faults = {f};
  EdgeRun run = RunEdge(s, ext);
  EXPECT_EQ(Header(run.sent, kTraceparentHeader), "<absent>");
  const Span* client = Find(run.spans, "a", SpanKind::kClient, "0.0");
  ASSERT_NE(client, nullptr);
  EXPECT_EQ(Header(run.sent, kB3Header), FormatB3Single(kTrace, client->span_id, true));
}

TEST(ServiceRuntimeFaultTest, CorruptWritesTheDocumentedMalformedValuesThatParsersReject) {
  CaptureServer ext;
  Scenario s = CallsExternal(ext);
  s.services[0].extract = {"tracecontext", "b3", "b3multi", "jaeger"};
  s.faults = {MakeFault(FaultKind::kCorrupt, "a")};
  EdgeRun run = RunEdge(s, ext);
  const Span* client = Find(run.spans, "a", SpanKind::kClient, "0.0");
  ASSERT_NE(client, nullptr);
  const std::string trace = kTrace.ToHex();
  const std::string span = client->span_id.ToHex();
  EXPECT_EQ(Header(run.sent, kTraceparentHeader), "ff-" + trace + "-" + span + "-01");
  EXPECT_EQ(Header(run.sent, kB3Header), trace + "-" + span.substr(1) + "-1");
  EXPECT_EQ(Header(run.sent, kB3TraceIdHeader), "z" + trace.substr(1));
  EXPECT_EQ(Header(run.sent, kUberTraceIdHeader), trace + ":" + span + ":0");
  BeastHeaderReader<true> reader(run.sent);
  for (std::string format : {"tracecontext", "b3", "b3multi", "jaeger"}) {
    auto propagator = MakePropagator({format});
    ASSERT_TRUE(propagator.ok());
    EXPECT_FALSE((*propagator)->Extract(reader).IsValid()) << format;
  }
}

TEST(ServiceRuntimeFaultTest, TruncateTraceIdZeroesTheHigh64Bits) {
  CaptureServer ext;
  Scenario s = CallsExternal(ext);
  s.faults = {MakeFault(FaultKind::kTruncateTraceId, "a")};
  EdgeRun run = RunEdge(s, ext);
  auto parsed = ParseTraceparent(Header(run.sent, kTraceparentHeader));
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->trace_id, (TraceId{0, kTrace.low}));
  // The caller's own spans keep the full id.
  const Span* client = Find(run.spans, "a", SpanKind::kClient, "0.0");
  ASSERT_NE(client, nullptr);
  EXPECT_EQ(client->trace_id, kTrace);
}

TEST(ServiceRuntimeFaultTest, UnsampledChildClearsTheInjectedSampledFlagOnly) {
  CaptureServer ext;
  Scenario s = CallsExternal(ext);
  s.faults = {MakeFault(FaultKind::kUnsampledChild, "a")};
  EdgeRun run = RunEdge(s, ext);
  auto parsed = ParseTraceparent(Header(run.sent, kTraceparentHeader));
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->flags & 0x01, 0);
  EXPECT_EQ(run.spans.size(), 2u);  // a's own spans are still sampled and exported
}

TEST(ServiceRuntimeFaultTest, EdgeFaultHonoursItsCallee) {
  CaptureServer ext;
  Scenario s = CallsExternal(ext);
  Fault f = MakeFault(FaultKind::kDropContext, "a");
  f.callee = "someone-else";
  s.faults = {f};
  EdgeRun run = RunEdge(s, ext);
  EXPECT_NE(Header(run.sent, kTraceparentHeader), "<absent>");
  EXPECT_EQ(run.stats.FaultsApplied(FaultKind::kDropContext), 0u);
}

TEST(ServiceRuntimeFaultTest, TimeWindowIsDecidedOnTheOffsetHeaderWhichIsForwarded) {
  CaptureServer ext;
  Scenario s = CallsExternal(ext);
  Fault f = MakeFault(FaultKind::kDropContext, "a");
  f.window_start_ns = 1'000'000'000;
  f.window_end_ns = 2'000'000'000;
  s.faults = {f};
  {
    EdgeRun outside = RunEdge(s, ext, 0);  // no offset header: offset 0
    EXPECT_NE(Header(outside.sent, kTraceparentHeader), "<absent>");
    EXPECT_EQ(Header(outside.sent, kOffsetHeader), "<absent>");
  }
  CaptureServer ext2;
  s.services[1].external_url = ext2.url();
  EdgeRun inside = RunEdge(s, ext2, 1, "1500000000");
  EXPECT_EQ(Header(inside.sent, kTraceparentHeader), "<absent>");
  EXPECT_EQ(Header(inside.sent, kOffsetHeader), "1500000000");
}

TEST(ServiceRuntimeFaultTest, NewTraceIgnoresTheIncomingContext) {
  Scenario s = JustA();
  s.faults = {MakeFault(FaultKind::kNewTrace, "a")};
  OwnRun run = RunOwn(s);
  ASSERT_EQ(run.spans.size(), 1u);
  EXPECT_NE(run.spans[0].trace_id, kTrace);
  EXPECT_TRUE(run.spans[0].trace_id.IsValid());
  EXPECT_FALSE(run.spans[0].parent_span_id.IsValid());
  EXPECT_EQ(Attr(run.spans[0], kRequestIdAttribute), FormatRequestId(1));
}

TEST(ServiceRuntimeFaultTest, DropSpanNeverExportsTheServerSpan) {
  Scenario s = JustA();
  s.faults = {MakeFault(FaultKind::kDropSpan, "a")};
  OwnRun run = RunOwn(s);
  EXPECT_TRUE(run.spans.empty());
  EXPECT_EQ(run.stats.spans_dropped, 1u);
  EXPECT_EQ(run.stats.FaultsApplied(FaultKind::kDropSpan), 1u);
}

TEST(ServiceRuntimeFaultTest, DelayExportHoldsSpansBackAndStopStillSubmitsThem) {
  Scenario s = JustA();
  Fault f = MakeFault(FaultKind::kDelayExport, "a");
  f.amount_ns = 3'600'000'000'000;  // an hour: only Stop() can release it within the test
  s.faults = {f};
  OwnRun run = RunOwn(s);
  EXPECT_EQ(run.spans_before_stop, 0u);
  EXPECT_EQ(run.spans.size(), 1u);
  EXPECT_EQ(run.stats.spans_delayed, 1u);
}

TEST(ServiceRuntimeFaultTest, ClockSkewShiftsSpanAndEventTimes) {
  for (int64_t skew : {int64_t{3'600'000'000'000}, int64_t{-3'600'000'000'000}}) {
    Scenario s = JustA();
    s.services[0].routes[0].events = {EventSpec{"cache.miss", 0.5, {}}};
    Fault f = MakeFault(FaultKind::kClockSkew, "a");
    f.amount_ns = skew;
    s.faults = {f};
    FakeClock clock;
    const uint64_t now = clock.NowUnixNano();
    OwnRun run = RunOwn(s, clock);
    ASSERT_EQ(run.spans.size(), 1u);
    EXPECT_EQ(run.spans[0].start_unix_nano, now + static_cast<uint64_t>(skew));
    EXPECT_EQ(run.spans[0].end_unix_nano, now + static_cast<uint64_t>(skew));
    ASSERT_EQ(run.spans[0].events.size(), 1u);
    EXPECT_EQ(run.spans[0].events[0].time_unix_nano, now + static_cast<uint64_t>(skew));
  }
}

TEST(ServiceRuntimeFaultTest, DuplicateSpanIdReusesTheParentsId) {
  Scenario s = JustA();
  s.faults = {MakeFault(FaultKind::kDuplicateSpanId, "a")};
  OwnRun run = RunOwn(s);
  ASSERT_EQ(run.spans.size(), 1u);
  EXPECT_EQ(run.spans[0].span_id, kRootSpan);
  EXPECT_EQ(run.spans[0].parent_span_id, kRootSpan);
}

TEST(ServiceRuntimeFaultTest, OrphanGetsASeededParentThatNeverExists) {
  Scenario s = JustA();
  s.faults = {MakeFault(FaultKind::kOrphan, "a")};
  OwnRun run = RunOwn(s, SystemClock::Instance(), 9);
  ASSERT_EQ(run.spans.size(), 1u);
  const SpanId want{
      DecisionPoint(s.seed, 9, "0", "a").Stream(DecisionStream::kFaultValue).NextNonZero()};
  EXPECT_EQ(run.spans[0].parent_span_id, want);
  EXPECT_NE(run.spans[0].parent_span_id, kRootSpan);
  EXPECT_EQ(run.spans[0].trace_id, kTrace);
}

TEST(ServiceRuntimeFaultTest, FaultOnAnotherRouteDoesNotApply) {
  Scenario s = JustA();
  Fault f = MakeFault(FaultKind::kDropSpan, "a");
  f.route = "GET /other";
  s.faults = {f};
  EXPECT_EQ(RunOwn(s).spans.size(), 1u);
}

}  // namespace
}  // namespace tracerig
