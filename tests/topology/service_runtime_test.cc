// The simulated services over real loopback sockets: one request into the quickstart topology must
// produce the expected spans, correctly parented under one trace; retries, timeouts, payloads and
// semantic conventions behave as the scenario says.
#include "topology/topology_runtime.h"

#include <gtest/gtest.h>

#include "core/ledger.h"
#include "net/http_client.h"
#include "propagation/w3c.h"
#include "tests/support/fixtures.h"
#include "tests/support/loopback_server.h"
#include "tests/topology/service_runtime_test_support.h"
#include "topology/ground_truth.h"
#include "topology/parse.h"

namespace tracerig {
namespace {

using runtime_test_support::Attr;
using runtime_test_support::CallsExternal;
using runtime_test_support::Find;
using runtime_test_support::JustA;
using runtime_test_support::kTrace;
using runtime_test_support::Rt;
using runtime_test_support::SendRoot;
using runtime_test_support::Seq;
using runtime_test_support::Svc;
using runtime_test_support::To;
using test_support::CaptureServer;

Scenario Load(const char* file) {
  const std::string relative = std::string("scenarios/") + file;
  auto text = test_support::ReadRepoFile(relative);
  auto parsed = ParseScenario(test_support::RepoPath(relative), text.value_or(""));
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

// --- Calls: retries, timeouts, payloads, semantic conventions. ---

TEST(ServiceRuntimeTest, A5xxIsRetriedWithAClientSpanPerAttempt) {
  Call call = To("b", "S");
  call.retries = 2;
  call.retry_backoff_ns = 1'000'000;
  Route failing = Rt("S");
  failing.error_rate = 1.0;
  failing.error_status = 503;
  Scenario s;
  s.services = {Svc("a", {Rt("GET /a", {Seq(call)})}), Svc("b", {failing})};
  InMemorySpanSink sink;
  TopologyRuntime topology(s, sink, SystemClock::Instance(), TopologyOptions{});
  ASSERT_TRUE(topology.Start().ok());
  EXPECT_EQ(SendRoot(*topology.EndpointOf("a"), "GET /a", 0), 502u);
  topology.Stop();
  auto spans = sink.spans();
  EXPECT_EQ(spans.size(), 7u);
  for (std::string hop : {"0.0", "0.0r1", "0.0r2"}) {
    const Span* client = Find(spans, "a", SpanKind::kClient, hop);
    const Span* server = Find(spans, "b", SpanKind::kServer, hop);
    ASSERT_TRUE(client && server) << hop;
    EXPECT_EQ(server->parent_span_id, client->span_id);
    EXPECT_EQ(client->status_code, StatusCode::kError);
    EXPECT_EQ(Attr(*client, "http.response.status_code"), "503");
    EXPECT_EQ(Attr(*server, "http.response.status_code"), "503");
    EXPECT_EQ(Attr(*server, "error.type"), "503");
    EXPECT_EQ(server->status_code, StatusCode::kError);
  }
  EXPECT_EQ(Attr(*Find(spans, "a", SpanKind::kClient, "0.0r2"), "http.request.resend_count"), "2");
  const Span* retry = Find(spans, "a", SpanKind::kClient, "0.0r1");
  EXPECT_GE(retry->start_unix_nano, Find(spans, "a", SpanKind::kClient, "0.0")->end_unix_nano);
  const Span* a = Find(spans, "a", SpanKind::kServer, "0");
  EXPECT_EQ(Attr(*a, "http.response.status_code"), "502");
  auto stats = topology.stats();
  EXPECT_EQ(stats.retries, 2u);
  EXPECT_EQ(stats.call_failures, 1u);
  EXPECT_EQ(stats.route_errors, 3u);
}

TEST(ServiceRuntimeTest, A4xxIsAnAnswerAndNotRetried) {
  Call call = To("b", "S");
  call.retries = 2;
  Route missing = Rt("S");
  missing.error_rate = 1.0;
  missing.error_status = 404;
  Scenario s;
  s.services = {Svc("a", {Rt("GET /a", {Seq(call)})}), Svc("b", {missing})};
  InMemorySpanSink sink;
  TopologyRuntime topology(s, sink, SystemClock::Instance(), TopologyOptions{});
  ASSERT_TRUE(topology.Start().ok());
  EXPECT_EQ(SendRoot(*topology.EndpointOf("a"), "GET /a", 0), 200u);
  topology.Stop();
  auto spans = sink.spans();
  EXPECT_EQ(spans.size(), 3u);  // a's SERVER and CLIENT, b's SERVER: one attempt
  const Span* b = Find(spans, "b", SpanKind::kServer, "0.0");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(Attr(*b, "http.response.status_code"), "404");
  EXPECT_EQ(topology.stats().retries, 0u);
}

TEST(ServiceRuntimeTest, ATimedOutAttemptEndsItsClientSpanAndIsRetried) {
  Call call = To("b", "S");
  call.timeout_ns = 1'000'000;  // 1ms against a route that takes an hour
  call.retries = 1;
  Route slow = Rt("S");
  slow.latency.a = 3'600'000'000'000;
  Scenario s;
  s.services = {Svc("a", {Rt("GET /a", {Seq(call)})}), Svc("b", {slow})};
  InMemorySpanSink sink;
  TopologyRuntime topology(s, sink, SystemClock::Instance(), TopologyOptions{});
  ASSERT_TRUE(topology.Start().ok());
  EXPECT_EQ(SendRoot(*topology.EndpointOf("a"), "GET /a", 0), 502u);
  topology.Stop();
  auto spans = sink.spans();
  for (std::string hop : {"0.0", "0.0r1"}) {
    const Span* client = Find(spans, "a", SpanKind::kClient, hop);
    ASSERT_NE(client, nullptr) << hop;
    EXPECT_EQ(Attr(*client, "error.type"), "timeout");
    EXPECT_EQ(client->status_code, StatusCode::kError);
  }
  EXPECT_EQ(topology.stats().timeouts, 2u);
  EXPECT_EQ(topology.stats().retries, 1u);
}

TEST(ServiceRuntimeTest, PayloadSizesAndSemanticConventions) {
  CaptureServer ext;
  Scenario s = CallsExternal(ext);
  s.services[0].routes[0].calls[0].calls[0].request_bytes = 3000;
  s.services[0].routes[0].response_bytes = 5000;
  InMemorySpanSink sink;
  TopologyRuntime topology(s, sink, SystemClock::Instance(), TopologyOptions{});
  ASSERT_TRUE(topology.Start().ok());
  const tcp::endpoint a = *topology.EndpointOf("a");
  uint64_t body = 0;
  EXPECT_EQ(SendRoot(a, "GET /a", 0, {}, kTrace, &body), 200u);
  topology.Stop();
  EXPECT_EQ(body, 5000u);
  ASSERT_EQ(ext.requests().size(), 1u);
  EXPECT_EQ(ext.requests()[0].body().size(), 3000u);
  EXPECT_EQ(ext.requests()[0].target(), "/Ext");
  auto spans = sink.spans();
  const Span* server = Find(spans, "a", SpanKind::kServer, "0");
  const Span* client = Find(spans, "a", SpanKind::kClient, "0.0");
  ASSERT_TRUE(server && client);
  EXPECT_EQ(Attr(*server, "http.request.method"), "GET");
  EXPECT_EQ(Attr(*server, "http.route"), "/a");
  EXPECT_EQ(Attr(*server, "url.path"), "/a");
  EXPECT_EQ(Attr(*server, "server.address"), "127.0.0.1");
  EXPECT_EQ(Attr(*server, "server.port"), std::to_string(a.port()));
  EXPECT_EQ(Attr(*server, "http.response.status_code"), "200");
  EXPECT_EQ(Attr(*client, "http.request.method"), "POST");
  EXPECT_EQ(Attr(*client, "url.full"), ext.url() + "/Ext");
  EXPECT_EQ(Attr(*client, "http.response.status_code"), "200");
  EXPECT_EQ(Attr(*client, "peer.service"), "ext");
}

// The gRPC transport has its own tests (grpc_runtime_test.cc); here: a gRPC service starts and is
// listed with a grpc:// address.
TEST(ServiceRuntimeTest, GrpcServicesStartAndAreListedWithTheirAddress) {
  Scenario s = JustA();
  s.services[0].protocol = Protocol::kGrpc;
  InMemorySpanSink sink;
  TopologyRuntime topology(s, sink, SystemClock::Instance(), TopologyOptions{});
  auto started = topology.Start();
  ASSERT_TRUE(started.ok()) << started.error().message;
  ASSERT_EQ(topology.services().size(), 1u);
  const RunningService& a = topology.services()[0];
  EXPECT_NE(a.endpoint.port(), 0);
  EXPECT_EQ(a.url, "grpc://127.0.0.1:" + std::to_string(a.endpoint.port()));
}

}  // namespace
}  // namespace tracerig
