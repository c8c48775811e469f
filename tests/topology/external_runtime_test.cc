// Simulated services around a real one, over loopback: what a simulated caller sends into a real
// service (ground truth as baggage and tracestate, registered in flight), and how a simulated
// service the real one calls ties what arrives to its root request, or leaves it untied.
#include <gtest/gtest.h>

#include "propagation/w3c.h"
#include "tests/topology/service_runtime_test_support.h"

namespace tracerig {
namespace {

using namespace runtime_test_support;

// a -> ext (real) -> b -> c. The test stands in for ext: a's calls go to a capture server, and
// the test sends b what a real service would.
Scenario AroundARealService(const test_support::CaptureServer& ext) {
  Scenario s;
  s.seed = 3;
  s.services = {Svc("a", {Rt("GET /a", {Seq(To("ext", "Ext"))})}),
                Svc("ext", {Rt("Ext", {Seq(To("b", "B"))})}),
                Svc("b", {Rt("B", {Seq(To("c", "C"))})}), Svc("c", {Rt("C")})};
  s.services[1].external_url = ext.url();
  return s;
}

// Sends b a request with these headers only (what a real service forwards).
unsigned SendToB(const tcp::endpoint& b,
                 const std::vector<std::pair<std::string, std::string>>& headers) {
  asio::io_context ioc;
  HttpClientPool pool(ioc, b);
  HttpRequest request{http::verb::post, "/B", 11};
  for (const auto& [name, value] : headers) request.set(name, value);
  unsigned status = 0;
  pool.Send(std::move(request),
            [&](beast::error_code ec, HttpResponse&& r) { status = ec ? 0 : r.result_int(); });
  ioc.run();
  return status;
}

TEST(ExternalRuntime, ACallIntoARealServiceCarriesTheGroundTruthAsBaggageAndTracestate) {
  test_support::CaptureServer ext;
  const Scenario s = AroundARealService(ext);
  InMemorySpanSink sink;
  TopologyRuntime topology(s, sink, SystemClock::Instance(), TopologyOptions{});
  ASSERT_TRUE(topology.Start().ok());
  ASSERT_EQ(SendRoot(*topology.EndpointOf("a"), "GET /a", 6, "250"), 200u);
  topology.Stop();
  const auto requests = ext.requests();
  ASSERT_EQ(requests.size(), 1u);
  const std::string id = FormatRequestId(7);
  EXPECT_EQ(std::string(requests[0].at("baggage")),
            "tracerig.request_id=" + id + ",tracerig.seq=6,tracerig.hop=0.0,tracerig.offset=250");
  EXPECT_EQ(std::string(requests[0].at("tracestate")), "tracerig=" + id);
  EXPECT_EQ(topology.external_in_flight().size(), 0u);  // unregistered once answered
}

TEST(ExternalRuntime, BaggageTiesARequestWithoutTracerigHeadersAndTheTreeBelowFollows) {
  test_support::CaptureServer ext;
  const Scenario s = AroundARealService(ext);
  InMemorySpanSink sink;
  TopologyRuntime topology(s, sink, SystemClock::Instance(), TopologyOptions{});
  ASSERT_TRUE(topology.Start().ok());
  const std::string id = FormatRequestId(7);
  ASSERT_EQ(
      SendToB(*topology.EndpointOf("b"),
              {{"traceparent", FormatTraceparent(kTrace, kRootSpan, 0x01)},
               {"baggage", "tracerig.request_id=" + id + ",tracerig.seq=6,tracerig.hop=0.0"}}),
      200u);
  topology.Stop();
  const auto spans = sink.spans();
  const Span* b = Find(spans, "b", SpanKind::kServer, "0.0.0");
  const Span* c = Find(spans, "c", SpanKind::kServer, "0.0.0.0");
  ASSERT_TRUE(b && c);
  EXPECT_EQ(Attr(*b, kRequestIdAttribute), id);
  EXPECT_EQ(Attr(*c, kRequestIdAttribute), id);
  EXPECT_EQ(b->trace_id, kTrace);
  const auto seen = topology.wire_log().Find(id, "0.0.0", "b");
  ASSERT_TRUE(seen);
  EXPECT_EQ(seen->source, GroundTruthSource::kBaggage);
  EXPECT_EQ(seen->external_caller, "ext");
  EXPECT_TRUE(seen->has_context);
  EXPECT_EQ(seen->trace_id, kTrace);
}

TEST(ExternalRuntime, TheOneRequestInFlightIntoTheRealServiceTiesARequestWithoutAnything) {
  test_support::CaptureServer ext;
  const Scenario s = AroundARealService(ext);
  InMemorySpanSink sink;
  TopologyRuntime topology(s, sink, SystemClock::Instance(), TopologyOptions{});
  ASSERT_TRUE(topology.Start().ok());
  const std::string id = FormatRequestId(12);
  // As the driver registers a request into an external entry.
  const auto token =
      topology.external_in_flight().Register(ExternalRequest{"ext", "Ext", id, "11", "0", "", {}});
  ASSERT_EQ(SendToB(*topology.EndpointOf("b"), {}), 200u);
  topology.external_in_flight().Unregister(token);
  topology.Stop();
  const auto spans = sink.spans();
  const Span* b = Find(spans, "b", SpanKind::kServer, "0.0");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(Attr(*b, kRequestIdAttribute), id);
  const auto seen = topology.wire_log().Find(id, "0.0", "b");
  ASSERT_TRUE(seen);
  EXPECT_EQ(seen->source, GroundTruthSource::kSingleInFlight);
  EXPECT_FALSE(seen->has_context);
  EXPECT_EQ(seen->DescribeHeaders(), "no trace context headers");
}

TEST(ExternalRuntime, TheTraceIdReceivedTiesARequestAmongSeveralInFlight) {
  test_support::CaptureServer ext;
  const Scenario s = AroundARealService(ext);
  InMemorySpanSink sink;
  TopologyRuntime topology(s, sink, SystemClock::Instance(), TopologyOptions{});
  ASSERT_TRUE(topology.Start().ok());
  auto& in_flight = topology.external_in_flight();
  const std::string id = FormatRequestId(2);
  const auto one = in_flight.Register(
      ExternalRequest{"ext", "Ext", FormatRequestId(1), "0", "0", "", TraceId{9, 9}});
  const auto two = in_flight.Register(ExternalRequest{"ext", "Ext", id, "1", "0", "", kTrace});
  ASSERT_EQ(SendToB(*topology.EndpointOf("b"),
                    {{"traceparent", FormatTraceparent(kTrace, kRootSpan, 0x01)}}),
            200u);
  in_flight.Unregister(one);
  in_flight.Unregister(two);
  topology.Stop();
  const auto spans = sink.spans();
  const Span* b = Find(spans, "b", SpanKind::kServer, "0.0");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(Attr(*b, kRequestIdAttribute), id);
  const auto seen = topology.wire_log().Find(id, "0.0", "b");
  ASSERT_TRUE(seen);
  EXPECT_EQ(seen->source, GroundTruthSource::kTraceId);
}

TEST(ExternalRuntime, AnUntiedRequestIsServedAndItsSpansLeaveTheGroundTruthOut) {
  test_support::CaptureServer ext;
  const Scenario s = AroundARealService(ext);
  InMemorySpanSink sink;
  TopologyRuntime topology(s, sink, SystemClock::Instance(), TopologyOptions{});
  ASSERT_TRUE(topology.Start().ok());
  auto& in_flight = topology.external_in_flight();
  const auto one =
      in_flight.Register(ExternalRequest{"ext", "Ext", FormatRequestId(1), "0", "0", "", {}});
  const auto two =
      in_flight.Register(ExternalRequest{"ext", "Ext", FormatRequestId(2), "1", "0", "", {}});
  ASSERT_EQ(SendToB(*topology.EndpointOf("b"), {}), 200u);
  in_flight.Unregister(one);
  in_flight.Unregister(two);
  topology.Stop();
  const auto spans = sink.spans();
  ASSERT_EQ(spans.size(), 3u);  // b's SERVER and CLIENT spans, c's SERVER span
  for (const Span& span : spans) {
    SCOPED_TRACE(span.service_name);
    EXPECT_EQ(span.FindAttribute(kRequestIdAttribute), nullptr);
    EXPECT_EQ(span.FindAttribute(kHopAttribute), nullptr);
  }
  const auto observed = topology.wire_log().FromExternal("ext");
  ASSERT_EQ(observed.size(), 1u);
  EXPECT_EQ(observed[0].service, "b");
  EXPECT_EQ(observed[0].source, GroundTruthSource::kNone);
  EXPECT_EQ(observed[0].request_id, "");
}

}  // namespace
}  // namespace tracerig
