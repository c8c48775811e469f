// The simulated services over real loopback sockets: one request into the quickstart topology must
// produce the expected spans, correctly parented under one trace; every fault kind has its effect
// on the recorded spans or the injected headers; retries, timeouts, sampling and payloads behave as
// the scenario says; the same scenario and seed give the same span trees, the ones the per-request
// expected tree predicts.
#include "topology/topology_runtime.h"

#include <gtest/gtest.h>
#include <sys/socket.h>

#include <algorithm>
#include <map>
#include <set>

#include "core/ledger.h"
#include "net/beast_carrier.h"
#include "net/http_client.h"
#include "propagation/b3.h"
#include "propagation/b3multi.h"
#include "propagation/jaeger.h"
#include "propagation/registry.h"
#include "propagation/w3c.h"
#include "tests/support/fixtures.h"
#include "tests/support/loopback_server.h"
#include "topology/decisions.h"
#include "topology/expected_tree.h"
#include "topology/ground_truth.h"
#include "topology/parse.h"

namespace tracerig {
namespace {

using test_support::CaptureServer;

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

// --- Scenarios built in C++ (the parser is tested on its own). ---

Route Rt(std::string name, std::vector<CallStep> calls = {}) {
  Route r;
  r.name = std::move(name);
  r.calls = std::move(calls);
  return r;
}

Call To(std::string service, std::string route) {
  Call c;
  c.service = std::move(service);
  c.route = std::move(route);
  return c;
}

CallStep Seq(Call call) { return CallStep{false, {std::move(call)}}; }

Service Svc(std::string name, std::vector<Route> routes) {
  Service s;
  s.name = std::move(name);
  s.routes = std::move(routes);
  return s;
}

Fault MakeFault(FaultKind kind, std::string service) {
  Fault f;
  f.kind = kind;
  f.service = std::move(service);
  return f;
}

constexpr TraceId kTrace{0x1111, 0x2222};
constexpr SpanId kRootSpan{0x3333};

// Sends one root request the way the driver does; returns the status (0 on transport error).
unsigned SendRoot(const tcp::endpoint& entry, std::string_view route, uint64_t seq,
                  std::string_view offset = {}, TraceId trace = kTrace,
                  uint64_t* body_size = nullptr) {
  asio::io_context ioc;
  HttpClientPool pool(ioc, entry);
  auto target = RouteToHttp(route);
  HttpRequest request{http::string_to_verb(std::string(target.method)), target.path, 11};
  request.set(std::string(kTraceparentHeader), FormatTraceparent(trace, kRootSpan, 0x01));
  request.set(std::string(kRequestIdHeader), FormatRequestId(seq + 1));
  request.set(std::string(kSequenceHeader), std::to_string(seq));
  request.set(std::string(kHopHeader), "0");
  if (!offset.empty()) request.set(std::string(kOffsetHeader), std::string(offset));
  unsigned status = 0;
  pool.Send(std::move(request), [&](beast::error_code ec, HttpResponse&& r) {
    status = ec ? 0 : r.result_int();
    if (body_size != nullptr) *body_size = ec ? 0 : r.body().size();
  });
  ioc.run();
  return status;
}

std::string Header(const HttpRequest& request, std::string_view name) {
  auto it = request.find(boost::beast::string_view(name.data(), name.size()));
  return it == request.end() ? "<absent>" : std::string(it->value());
}

// a (simulated, GET /a) calls the external service "ext" (POST /Ext) once.
Scenario CallsExternal(const CaptureServer& ext) {
  Scenario s;
  s.seed = 5;
  s.services = {Svc("a", {Rt("GET /a", {Seq(To("ext", "Ext"))})}), Svc("ext", {Rt("Ext")})};
  s.services[1].external_url = ext.url();
  return s;
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

Scenario JustA() {
  Scenario s;
  s.seed = 5;
  s.services = {Svc("a", {Rt("GET /a")})};
  return s;
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
  s.services[0].propagation = {"tracecontext", "b3", "b3multi", "jaeger"};
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

// --- Determinism and agreement with the per-request expected tree. ---

// A scenario with every kind of randomness: probabilities, repeats, errors with retries,
// generated attributes, events, seeded latencies, ratio and never sampling.
Scenario Random() {
  Route entry = Rt("GET /shop");
  AttributeGenerator choice;
  choice.kind = AttributeGenerator::Kind::kChoice;
  choice.choices = {std::string("gold"), std::string("silver"), std::string("bronze")};
  choice.weights = {1, 2, 3};
  AttributeGenerator range;
  range.kind = AttributeGenerator::Kind::kIntRange;
  range.min = 1;
  range.max = 1000;
  AttributeGenerator id;
  id.kind = AttributeGenerator::Kind::kId;
  id.prefix = "user-";
  entry.generated_attributes = {{"tier", choice, {}}, {"items", range, {}}, {"user", id, {}}};
  entry.events = {EventSpec{"validated", 0.25, {{"ok", true}}}};
  entry.latency = LatencyModel{LatencyModel::Kind::kUniform, 0, 400'000};
  Call maybe = To("cart", "GetCart");
  maybe.probability = 0.5;
  maybe.repeat = 2;
  Call flaky = To("pay", "Charge");
  flaky.retries = 2;
  Call sampled = To("recs", "Recommend");
  entry.calls = {Seq(maybe), CallStep{true, {flaky, sampled}}};
  Route charge = Rt("Charge", {Seq(To("bank", "Debit"))});
  charge.error_rate = 0.4;
  charge.error_status = 503;
  Scenario s;
  s.seed = 1234;
  s.services = {Svc("front", {entry}), Svc("cart", {Rt("GetCart")}), Svc("pay", {charge}),
                Svc("bank", {Rt("Debit")}), Svc("recs", {Rt("Recommend")})};
  s.services[4].sampling = SamplingPolicy{SamplingPolicy::Kind::kRatio, 0.5};
  return s;
}

// The spans of each request as sorted text lines, ids replaced by the (hop, kind, service) of
// the span they name, timestamps by offsets within the span, ports left out.
std::map<std::string, std::vector<std::string>> Normalise(const std::vector<Span>& spans) {
  std::map<uint64_t, std::string> key_of;
  auto key = [](const Span& s) {
    return Attr(s, kHopAttribute) + " " + std::string(SpanKindName(s.kind)) + " " + s.service_name;
  };
  for (const Span& s : spans) key_of[s.span_id.value] = key(s);
  std::map<std::string, std::vector<std::string>> out;
  for (const Span& s : spans) {
    std::string line = key(s) + " | " + s.name + " | " + std::string(StatusCodeName(s.status_code)) +
                       " | flags " + std::to_string(s.flags) + " | trace " +
                       (s.trace_id == kTrace ? "root" : "other") + " | parent ";
    if (s.parent_span_id == kRootSpan) {
      line += "driver";
    } else if (auto it = key_of.find(s.parent_span_id.value); it != key_of.end()) {
      line += it->second;
    } else {
      line += "unexported";
    }
    std::vector<std::string> attributes;
    for (const auto& a : s.attributes) {
      if (a.key == "server.port" || a.key == "url.full") continue;
      attributes.push_back(a.key + "=" + AttributeValueToString(a.value));
    }
    std::sort(attributes.begin(), attributes.end());
    for (const auto& a : attributes) line += " | " + a;
    for (const auto& e : s.events) {
      line += " | event " + e.name + " +" + std::to_string(e.time_unix_nano - s.start_unix_nano);
    }
    out[Attr(s, kRequestIdAttribute)].push_back(std::move(line));
  }
  for (auto& [request, lines] : out) std::sort(lines.begin(), lines.end());
  return out;
}

constexpr uint64_t kRequests = 24;

// Each request on a new connection, so replicas of a service share them as the kernel decides.
std::vector<Span> RunRequests(const Scenario& s, uint64_t id_seed, TopologyStats* stats,
                              size_t replicas = 0) {
  InMemorySpanSink sink;
  TopologyOptions options;
  options.id_seed = id_seed;
  options.replicas = replicas;
  TopologyRuntime topology(s, sink, SystemClock::Instance(), options);
  EXPECT_TRUE(topology.Start().ok());
  for (uint64_t seq = 0; seq < kRequests; ++seq) {
    const unsigned status = SendRoot(*topology.EndpointOf("front"), "GET /shop", seq);
    EXPECT_TRUE(status == 200 || status == 502) << status;
  }
  topology.Stop();
  *stats = topology.stats();
  return sink.spans();
}

TEST(ServiceRuntimeDeterminismTest, SameScenarioAndSeedGiveTheSameSpanTrees) {
  const Scenario s = Random();
  TopologyStats first_stats;
  TopologyStats second_stats;
  const auto first = Normalise(RunRequests(s, 1, &first_stats));
  const auto second = Normalise(RunRequests(s, 2, &second_stats));  // different span ids
  EXPECT_EQ(first.size(), kRequests);
  EXPECT_EQ(first, second);
  // The scenario really exercised its randomness.
  EXPECT_GT(first_stats.calls_skipped, 0u);
  EXPECT_GT(first_stats.retries, 0u);
  EXPECT_GT(first_stats.spans_unsampled, 0u);
  EXPECT_EQ(first_stats.retries, second_stats.retries);
  EXPECT_EQ(first_stats.calls_skipped, second_stats.calls_skipped);
}

TEST(ServiceRuntimeDeterminismTest, ReplicasDoNotChangeTheSpanTrees) {
  // Decisions come from the request number and hop, never from the replica that serves them.
  const Scenario s = Random();
  TopologyStats one_stats;
  TopologyStats two_stats;
  const auto one = Normalise(RunRequests(s, 1, &one_stats, /*replicas=*/1));
  const auto two = Normalise(RunRequests(s, 1, &two_stats, /*replicas=*/2));
  EXPECT_EQ(one.size(), kRequests);
  EXPECT_EQ(one, two);
  EXPECT_EQ(one_stats.retries, two_stats.retries);
  EXPECT_EQ(one_stats.calls_skipped, two_stats.calls_skipped);
  EXPECT_EQ(one_stats.route_errors, two_stats.route_errors);
}

TEST(ServiceRuntimeDeterminismTest, PerRequestExpectedTreeMatchesWhatTheRuntimeExported) {
  const Scenario s = Random();
  TopologyStats stats;
  const auto spans = RunRequests(s, 3, &stats);
  std::map<std::string, std::set<std::string>> got;
  std::set<uint64_t> ids;
  for (const Span& span : spans) ids.insert(span.span_id.value);
  for (const Span& span : spans) {
    got[Attr(span, kRequestIdAttribute)].insert(Attr(span, kHopAttribute) + " " +
                                                std::string(SpanKindName(span.kind)) + " " +
                                                span.service_name);
  }
  for (uint64_t seq = 0; seq < kRequests; ++seq) {
    const ExpectedTree tree = BuildExpectedTree(s, LoadEntry{"front", "GET /shop"}, seq);
    std::set<std::string> want;
    for (const ExpectedSpan& e : tree.spans) {
      if (e.service == kDriverServiceName) continue;
      want.insert(e.hop + " " + std::string(SpanKindName(e.kind)) + " " + e.service);
    }
    EXPECT_EQ(got[FormatRequestId(seq + 1)], want) << "request " << seq;
  }
}

TEST(ServiceRuntimeDeterminismTest, SampledInChildOfAnUnsampledParentKeepsTheTrace) {
  // a (always) -> b (never) -> c (parent-based) -> d (always)
  Scenario s;
  s.services = {Svc("a", {Rt("GET /a", {Seq(To("b", "S"))})}),
                Svc("b", {Rt("S", {Seq(To("c", "T"))})}), Svc("c", {Rt("T", {Seq(To("d", "U"))})}),
                Svc("d", {Rt("U")})};
  s.services[0].sampling.kind = SamplingPolicy::Kind::kAlways;
  s.services[1].sampling.kind = SamplingPolicy::Kind::kNever;
  s.services[3].sampling.kind = SamplingPolicy::Kind::kAlways;
  InMemorySpanSink sink;
  TopologyRuntime topology(s, sink, SystemClock::Instance(), TopologyOptions{});
  ASSERT_TRUE(topology.Start().ok());
  EXPECT_EQ(SendRoot(*topology.EndpointOf("a"), "GET /a", 0), 200u);
  topology.Stop();
  auto spans = sink.spans();
  ASSERT_EQ(spans.size(), 3u);  // a's SERVER and CLIENT, d's SERVER
  const Span* d = Find(spans, "d", SpanKind::kServer, "0.0.0.0");
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->trace_id, kTrace);
  EXPECT_EQ(d->flags & 0x01, 1u);
  for (const Span& other : spans) EXPECT_NE(other.span_id, d->parent_span_id);
  EXPECT_EQ(topology.stats().spans_unsampled, 4u);  // b's two and c's two
  const ExpectedTree tree = BuildExpectedTree(s, LoadEntry{"a", "GET /a"}, 0);
  ASSERT_EQ(tree.spans.size(), 4u);
  EXPECT_TRUE(tree.spans[3].parent_unexported);
}

// --- Replicas: one HTTP service on every runtime thread, sharing its port (SO_REUSEPORT). ---

constexpr uint64_t kReplicaRequests = 64;

// Linux hands each new connection to one replica's acceptor by a hash of the connection's 4-tuple
// (the client port differs per connection), so over 64 connections the chance that one of two
// replicas gets none is 2 * 2^-64: "both served" is safe to assert, while an exact split is not.
TEST(ServiceRuntimeReplicaTest, OneHttpServiceServesFromEveryThread) {
  const Scenario s = JustA();
  InMemorySpanSink sink;
  TopologyOptions options;
  options.threads = 2;  // replicas = 0: a lone service gets one per thread
  TopologyRuntime topology(s, sink, SystemClock::Instance(), options);
  ASSERT_TRUE(topology.Start().ok());
  ASSERT_EQ(topology.services().size(), 1u);  // one address per service, however many replicas
  const tcp::endpoint a = *topology.EndpointOf("a");
  for (uint64_t seq = 0; seq < kReplicaRequests; ++seq) {
    ASSERT_EQ(SendRoot(a, "GET /a", seq), 200u) << "request " << seq;
  }
  topology.Stop();
  const std::vector<TopologyStats> replicas = topology.ReplicaStats("a");
  ASSERT_EQ(replicas.size(), 2u);
  EXPECT_GT(replicas[0].requests, 0u);
  EXPECT_GT(replicas[1].requests, 0u);
  EXPECT_EQ(replicas[0].requests + replicas[1].requests, kReplicaRequests);
  EXPECT_EQ(topology.stats().requests, kReplicaRequests);  // the sum over replicas
  // Each replica has its own span-id stream: no id is handed out twice.
  const auto spans = sink.spans();
  ASSERT_EQ(spans.size(), kReplicaRequests);
  std::set<uint64_t> ids;
  for (const Span& span : spans) ids.insert(span.span_id.value);
  EXPECT_EQ(ids.size(), kReplicaRequests);
}

TEST(ServiceRuntimeReplicaTest, ReplicaCountFollowsTheOptionsAndProtocol) {
  struct Row {
    size_t http_services;  // plus one gRPC service, which always has one replica
    size_t threads;
    size_t replicas;  // the option; 0 = ceil(threads / HTTP services)
    size_t want;      // replicas of each HTTP service
  };
  const Row rows[] = {
      {1, 2, 0, 2}, {1, 3, 0, 3}, {1, 1, 0, 1},  // a lone service on every thread
      {3, 4, 0, 2}, {3, 2, 0, 1}, {4, 4, 0, 1},  // enough to give every thread a service
      {1, 2, 1, 1}, {3, 4, 3, 3}, {1, 2, 8, 2},  // explicit, at most one per thread
  };
  for (const Row& row : rows) {
    Scenario s;
    for (size_t i = 0; i < row.http_services; ++i) {
      s.services.push_back(Svc("s" + std::to_string(i), {Rt("GET /a")}));
    }
    s.services.push_back(Svc("g", {Rt("Op")}));
    s.services.back().protocol = Protocol::kGrpc;
    const std::string label = "http services " + std::to_string(row.http_services) + ", threads " +
                              std::to_string(row.threads) + ", replicas " +
                              std::to_string(row.replicas);
    EXPECT_EQ(ReplicasPerHttpService(s, row.threads, row.replicas), row.want) << label;
    InMemorySpanSink sink;
    TopologyOptions options;
    options.threads = row.threads;
    options.replicas = row.replicas;
    TopologyRuntime topology(s, sink, SystemClock::Instance(), options);
    auto started = topology.Start();
    ASSERT_TRUE(started.ok()) << label << ": " << started.error().message;
    EXPECT_EQ(topology.services().size(), row.http_services + 1) << label;
    for (size_t i = 0; i < row.http_services; ++i) {
      EXPECT_EQ(topology.ReplicaStats("s" + std::to_string(i)).size(), row.want) << label;
    }
    EXPECT_EQ(topology.ReplicaStats("g").size(), 1u) << label;
    EXPECT_TRUE(topology.ReplicaStats("nobody").empty());
  }
}

TEST(ServiceRuntimeReplicaTest, AWindowedFaultDependsOnTheOffsetNotOnTheReplica) {
  // drop-span for requests whose intended offset is in [10 ms, 20 ms): requests 10..19 of 64.
  Scenario s = JustA();
  Fault drop = MakeFault(FaultKind::kDropSpan, "a");
  drop.window_start_ns = 10'000'000;
  drop.window_end_ns = 20'000'000;
  s.faults = {drop};
  InMemorySpanSink sink;
  TopologyOptions options;
  options.threads = 2;
  TopologyRuntime topology(s, sink, SystemClock::Instance(), options);
  ASSERT_TRUE(topology.Start().ok());
  const tcp::endpoint a = *topology.EndpointOf("a");
  for (uint64_t seq = 0; seq < kReplicaRequests; ++seq) {
    ASSERT_EQ(SendRoot(a, "GET /a", seq, std::to_string(seq * 1'000'000)), 200u) << seq;
  }
  topology.Stop();
  const auto replicas = topology.ReplicaStats("a");
  ASSERT_EQ(replicas.size(), 2u);
  EXPECT_GT(replicas[0].requests, 0u);
  EXPECT_GT(replicas[1].requests, 0u);
  EXPECT_EQ(topology.stats().FaultsApplied(FaultKind::kDropSpan), 10u);
  std::set<std::string> exported;
  for (const Span& span : sink.spans()) exported.insert(Attr(span, kRequestIdAttribute));
  EXPECT_EQ(exported.size(), kReplicaRequests - 10);
  for (uint64_t seq = 0; seq < kReplicaRequests; ++seq) {
    const bool dropped = seq >= 10 && seq < 20;
    EXPECT_EQ(exported.count(FormatRequestId(seq + 1)), dropped ? 0u : 1u) << "request " << seq;
  }
}

TEST(ServiceRuntimeReplicaTest, StopClosesEveryReplicasAcceptor) {
  const Scenario s = JustA();
  InMemorySpanSink sink;
  TopologyOptions options;
  options.threads = 2;
  TopologyRuntime topology(s, sink, SystemClock::Instance(), options);
  ASSERT_TRUE(topology.Start().ok());
  const tcp::endpoint a = *topology.EndpointOf("a");
  for (uint64_t seq = 0; seq < 8; ++seq) ASSERT_EQ(SendRoot(a, "GET /a", seq), 200u);
  topology.Stop();
  // A replica whose acceptor stayed open would still take its share of new connections (the
  // kernel completes the handshake) and leave them unanswered; closed, every one is refused.
  for (uint64_t seq = 0; seq < 8; ++seq) EXPECT_EQ(SendRoot(a, "GET /a", seq), 0u) << seq;
  EXPECT_EQ(sink.size(), 8u);
}

TEST(ServiceRuntimeReplicaTest, AFixedPortHeldByASharedListenerIsStillBusy) {
  // Another listener with SO_REUSEPORT (say, an earlier run still serving): replicas set the option
  // too, but the port must be reported busy rather than shared with it.
  asio::io_context ioc;
  tcp::acceptor taken(ioc);
  taken.open(tcp::v4());
  taken.set_option(asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>(true));
  taken.bind(tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  taken.listen();
  const std::string port = std::to_string(taken.local_endpoint().port());
  Scenario s = JustA();
  s.services[0].listen = "127.0.0.1:" + port;
  InMemorySpanSink sink;
  TopologyOptions options;
  options.threads = 2;
  TopologyRuntime topology(s, sink, SystemClock::Instance(), options);
  auto started = topology.Start();
  ASSERT_FALSE(started.ok());
  EXPECT_EQ(started.error().message,
            "service \"a\": cannot listen on 127.0.0.1:" + port + ": Address already in use");
}

}  // namespace
}  // namespace tracerig
