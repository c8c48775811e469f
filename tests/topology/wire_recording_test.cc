// Every simulated service records what it received (TopologyRuntime::wire_log), HTTP and gRPC, as
// its own formats read it.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include "core/clock.h"
#include "core/ledger.h"
#include "propagation/b3.h"
#include "propagation/w3c.h"
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
using runtime_test_support::SendRoot;
using runtime_test_support::Seq;
using runtime_test_support::Svc;
using runtime_test_support::To;

// a (HTTP, GET /a) calls b (`b_protocol`, Work), which reads W3C trace context only; a's call
// to b carries b3 instead (a wrong-format fault).
Scenario WrongFormatEdge(Protocol b_protocol) {
  Scenario s;
  s.seed = 5;
  s.services = {Svc("a", {Rt("GET /a", {Seq(To("b", "Work"))})}), Svc("b", {Rt("Work")})};
  s.services[1].protocol = b_protocol;
  Fault f = MakeFault(FaultKind::kWrongFormat, "a");
  f.format = "b3";
  s.faults = {f};
  return s;
}

void ExpectRecorded(Protocol b_protocol) {
  Scenario s = WrongFormatEdge(b_protocol);
  InMemorySpanSink sink;
  TopologyRuntime topology(s, sink, SystemClock::Instance(), TopologyOptions{});
  auto started = topology.Start();
  ASSERT_TRUE(started.ok()) << started.error().message;
  ASSERT_EQ(SendRoot(*topology.EndpointOf("a"), "GET /a", 4), 200u);
  topology.Stop();
  const std::string request_id = FormatRequestId(5);
  const WireLog& log = topology.wire_log();
  EXPECT_EQ(log.size(), 2u);

  // The entry received the driver's traceparent and read it.
  auto entry = log.Find(request_id, "0", "a");
  ASSERT_TRUE(entry);
  EXPECT_EQ(entry->route, "GET /a");
  EXPECT_EQ(entry->source, GroundTruthSource::kHeaders);
  EXPECT_TRUE(entry->has_context);
  EXPECT_EQ(entry->trace_id, kTrace);
  EXPECT_EQ(entry->parent_span_id, kRootSpan);
  EXPECT_TRUE(entry->sampled);
  EXPECT_EQ(entry->DescribeHeaders({"tracecontext"}),
            fmt::format("`traceparent: {}`", FormatTraceparent(kTrace, kRootSpan, 0x01)));

  // b received b3, which it does not read: no context, and the header verbatim.
  auto callee = log.Find(request_id, "0.0", "b");
  ASSERT_TRUE(callee);
  EXPECT_EQ(callee->route, "Work");
  EXPECT_FALSE(callee->has_context);
  const Span* client = Find(sink.spans(), "a", SpanKind::kClient, "0.0");
  ASSERT_NE(client, nullptr);
  const std::string b3 = FormatB3Single(kTrace, client->span_id, true);
  EXPECT_EQ(callee->DescribeHeaders({"tracecontext"}),
            fmt::format("`b3: {}` and no traceparent", b3));
  // tracerig's ground-truth headers are kept too (names lowercase, as on the wire).
  bool has_hop = false;
  for (const auto& [name, value] : callee->headers) {
    if (name == kHopHeader) has_hop = value == "0.0";
  }
  EXPECT_TRUE(has_hop);
  EXPECT_GT(callee->received_unix_nano, 0u);
}

TEST(WireRecordingTest, HttpServiceRecordsWhatItReceived) { ExpectRecorded(Protocol::kHttp); }

TEST(WireRecordingTest, GrpcServiceRecordsWhatItReceived) { ExpectRecorded(Protocol::kGrpc); }

// A new-trace fault ignores the context, but what arrived is still recorded as readable.
TEST(WireRecordingTest, NewTraceFaultStillRecordsTheContextThatArrived) {
  Scenario s = runtime_test_support::JustA();
  s.faults = {MakeFault(FaultKind::kNewTrace, "a")};
  InMemorySpanSink sink;
  TopologyRuntime topology(s, sink, SystemClock::Instance(), TopologyOptions{});
  ASSERT_TRUE(topology.Start().ok());
  ASSERT_EQ(SendRoot(*topology.EndpointOf("a"), "GET /a", 0), 200u);
  topology.Stop();
  auto entry = topology.wire_log().Find(FormatRequestId(1), "0", "a");
  ASSERT_TRUE(entry);
  EXPECT_TRUE(entry->has_context);
  EXPECT_EQ(entry->trace_id, kTrace);
  ASSERT_EQ(sink.spans().size(), 1u);
  EXPECT_NE(sink.spans()[0].trace_id, kTrace);
}

}  // namespace
}  // namespace tracerig

namespace tracerig {
namespace {

// tracestate and baggage sent in several header lines are one list each (RFC 9110): the wire
// log keeps them joined, so a member in the second line still counts as received.
TEST(WireRecordingTest, HeadersInSeveralLinesAreRecordedAsOneList) {
  Scenario s = runtime_test_support::JustA();
  s.services[0].extract = {"tracecontext"};  // reads neither baggage nor a second line
  InMemorySpanSink sink;
  TopologyRuntime topology(s, sink, SystemClock::Instance(), TopologyOptions{});
  auto started = topology.Start();
  ASSERT_TRUE(started.ok()) << started.error().message;
  asio::io_context ioc;
  HttpClientPool pool(ioc, *topology.EndpointOf("a"));
  HttpRequest request{http::verb::get, "/a", 11};
  request.set(std::string(kTraceparentHeader), FormatTraceparent(kTrace, kRootSpan, 0x01));
  request.set(std::string(kRequestIdHeader), FormatRequestId(1));
  request.set(std::string(kSequenceHeader), "0");
  request.set(std::string(kHopHeader), "0");
  request.insert("tracestate", "vendor=1");
  request.insert("tracestate", "tracerig=0000000000000001");
  request.insert("baggage", "user=alice");
  request.insert("baggage", "tracerig.request_id=0000000000000001");
  unsigned status = 0;
  pool.Send(std::move(request),
            [&](beast::error_code ec, HttpResponse&& r) { status = ec ? 0 : r.result_int(); });
  ioc.run();
  topology.Stop();
  EXPECT_EQ(status, 200u);
  auto o = topology.wire_log().Find(FormatRequestId(1), "0", "a");
  ASSERT_TRUE(o);
  EXPECT_EQ(o->tracestate, "vendor=1,tracerig=0000000000000001");
  EXPECT_EQ(o->baggage, "user=alice,tracerig.request_id=0000000000000001");
}

}  // namespace
}  // namespace tracerig
