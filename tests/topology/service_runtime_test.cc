// The simulated services over real loopback sockets: one request into the quickstart topology must
// produce the expected spans, correctly parented under one trace; the drop-context fault must
// split the trace exactly at the faulty service's outgoing call.
#include "topology/service_runtime.h"

#include <gtest/gtest.h>

#include "core/ledger.h"
#include "net/http_client.h"
#include "propagation/w3c.h"
#include "topology/ground_truth.h"
#include "topology/parse.h"
#include "test_files.h"

namespace tracerig {
namespace {

std::string Attr(const Span& span, std::string_view key) {
  const AttributeValue* v = span.FindAttribute(key);
  return v ? AttributeValueToString(*v) : "";
}

const Span* Find(const std::vector<Span>& spans, std::string_view service, SpanKind kind,
                 std::string_view hop) {
  for (const auto& s : spans) {
    if (s.service_name == service && s.kind == kind && Attr(s, kHopAttribute) == hop) return &s;
  }
  return nullptr;
}

Scenario Load(const char* file) {
  std::string path = std::string(TRACERIG_SOURCE_DIR) + "/scenarios/" + file;
  auto text = ReadTestFile(path);
  EXPECT_TRUE(text.has_value()) << path;
  auto parsed = ParseScenario(path, text.value_or(""));
  EXPECT_TRUE(parsed.ok());
  return std::move(*parsed.scenario);
}

// Sends GET /checkout to frontend with a traceparent and the ground-truth headers; returns status.
unsigned SendCheckout(const tcp::endpoint& frontend, const TraceId& trace, const SpanId& parent) {
  asio::io_context ioc;
  HttpClientPool pool(ioc, frontend);
  HttpRequest request{http::verb::get, "/checkout", 11};
  request.set(std::string(kTraceparentHeader), FormatTraceparent(trace, parent, 0x01));
  request.set(std::string(kRequestIdHeader), FormatRequestId(0xabc));
  request.set(std::string(kSequenceHeader), "7");
  request.set(std::string(kHopHeader), "0");
  unsigned status = 0;
  pool.Send(std::move(request), [&](beast::error_code ec, HttpResponse&& r) {
    status = ec ? 0 : r.result_int();
  });
  ioc.run();
  return status;
}

TEST(ServiceRuntimeTest, QuickstartRequestProducesTheExpectedTree) {
  Scenario scenario = Load("quickstart.toml");
  InMemorySpanSink sink;
  TopologyOptions options;
  options.threads = 2;
  options.id_seed = 1;
  TopologyRuntime topology(scenario, sink, SystemClock::Instance(), options);
  ASSERT_TRUE(topology.Start().ok());
  ASSERT_EQ(topology.services().size(), 4u);

  const TraceId trace{0x1111, 0x2222};
  const SpanId root{0x3333};
  ASSERT_EQ(SendCheckout(*topology.EndpointOf("frontend"), trace, root), 200u);
  topology.Stop();

  auto spans = sink.spans();
  ASSERT_EQ(spans.size(), 7u);  // the driver's root span is not recorded by services
  for (const auto& s : spans) {
    EXPECT_EQ(s.trace_id, trace) << s.service_name << " " << s.name;
    EXPECT_EQ(Attr(s, kRequestIdAttribute), FormatRequestId(0xabc));
    EXPECT_LE(s.start_unix_nano, s.end_unix_nano);
  }
  const Span* frontend = Find(spans, "frontend", SpanKind::kServer, "0");
  const Span* to_cart = Find(spans, "frontend", SpanKind::kClient, "0.0");
  const Span* cart = Find(spans, "cart", SpanKind::kServer, "0.0");
  const Span* to_checkout = Find(spans, "frontend", SpanKind::kClient, "0.1");
  const Span* checkout = Find(spans, "checkout", SpanKind::kServer, "0.1");
  const Span* to_payment = Find(spans, "checkout", SpanKind::kClient, "0.1.0");
  const Span* payment = Find(spans, "payment", SpanKind::kServer, "0.1.0");
  ASSERT_TRUE(frontend && to_cart && cart && to_checkout && checkout && to_payment && payment);
  EXPECT_EQ(frontend->parent_span_id, root);
  EXPECT_EQ(to_cart->parent_span_id, frontend->span_id);
  EXPECT_EQ(cart->parent_span_id, to_cart->span_id);
  EXPECT_EQ(to_checkout->parent_span_id, frontend->span_id);
  EXPECT_EQ(checkout->parent_span_id, to_checkout->span_id);
  EXPECT_EQ(to_payment->parent_span_id, checkout->span_id);
  EXPECT_EQ(payment->parent_span_id, to_payment->span_id);
  // Sequential calls: checkout is called only after cart answered.
  EXPECT_GE(to_checkout->start_unix_nano, to_cart->end_unix_nano);
  // Semantic-convention and scenario attributes.
  EXPECT_EQ(frontend->name, "GET /checkout");
  EXPECT_EQ(Attr(*frontend, "http.route"), "/checkout");
  EXPECT_EQ(Attr(*frontend, "http.response.status_code"), "200");
  EXPECT_EQ(Attr(*to_payment, "peer.service"), "payment");
  EXPECT_EQ(Attr(*payment, "payment.provider"), "simulated");
  // The fixed 1ms latency of cart is simulated without blocking a thread.
  EXPECT_GE(cart->end_unix_nano - cart->start_unix_nano, 1'000'000u);
  auto stats = topology.stats();
  EXPECT_EQ(stats.requests, 4u);
  EXPECT_EQ(stats.spans_recorded, 7u);
}

TEST(ServiceRuntimeTest, DropContextStartsANewTraceBelowTheFaultyService) {
  Scenario scenario = Load("quickstart-drop-context.toml");
  InMemorySpanSink sink;
  TopologyRuntime topology(scenario, sink, SystemClock::Instance(), TopologyOptions{});
  ASSERT_TRUE(topology.Start().ok());
  const TraceId trace{0x1111, 0x2222};
  ASSERT_EQ(SendCheckout(*topology.EndpointOf("frontend"), trace, SpanId{0x3333}), 200u);
  topology.Stop();

  auto spans = sink.spans();
  ASSERT_EQ(spans.size(), 7u);
  const Span* payment = Find(spans, "payment", SpanKind::kServer, "0.1.0");
  const Span* to_payment = Find(spans, "checkout", SpanKind::kClient, "0.1.0");
  ASSERT_TRUE(payment && to_payment);
  EXPECT_EQ(to_payment->trace_id, trace);  // the caller still records under the trace
  EXPECT_NE(payment->trace_id, trace);     // the callee received no context: a new trace
  EXPECT_FALSE(payment->parent_span_id.IsValid());
  // Ground truth survives the break.
  EXPECT_EQ(Attr(*payment, kRequestIdAttribute), FormatRequestId(0xabc));
  for (const auto& s : spans) {
    if (&s != payment) {
      EXPECT_EQ(s.trace_id, trace) << s.service_name;
    }
  }
}

TEST(ServiceRuntimeTest, UnknownRouteIs404AndCounted) {
  Scenario scenario = Load("quickstart.toml");
  InMemorySpanSink sink;
  TopologyRuntime topology(scenario, sink, SystemClock::Instance(), TopologyOptions{});
  ASSERT_TRUE(topology.Start().ok());
  asio::io_context ioc;
  HttpClientPool pool(ioc, *topology.EndpointOf("cart"));
  unsigned status = 0;
  std::string body;
  pool.Send(HttpRequest{http::verb::get, "/nope", 11}, [&](beast::error_code, HttpResponse&& r) {
    status = r.result_int();
    body = r.body();
  });
  ioc.run();
  topology.Stop();
  EXPECT_EQ(status, 404u);
  EXPECT_EQ(body, "service \"cart\" has no route \"GET /nope\"\n");
  EXPECT_EQ(topology.stats().unknown_route, 1u);
  EXPECT_TRUE(sink.spans().empty());
}

TEST(ServiceRuntimeTest, ABusyFixedPortIsReportedWithTheServiceName) {
  // Occupy a port, then ask a service to listen on it.
  asio::io_context ioc;
  tcp::acceptor taken(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  Scenario scenario = Load("quickstart.toml");
  scenario.services[1].listen = "127.0.0.1:" + std::to_string(taken.local_endpoint().port());
  InMemorySpanSink sink;
  TopologyRuntime topology(scenario, sink, SystemClock::Instance(), TopologyOptions{});
  auto s = topology.Start();
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().message.rfind("service \"" + scenario.services[1].name + "\": cannot listen on 127.0.0.1:", 0), 0u)
      << s.error().message;
}

}  // namespace
}  // namespace tracerig
