// Simulated gRPC services over real loopback sockets (port 0): mixed HTTP/gRPC chains record every
// span with the right hops, parents and RPC semantic-convention attributes; every propagation
// format crosses gRPC metadata; route error statuses, retries and deadlines follow the gRPC rules;
// drop-context over a gRPC edge; and a topology with gRPC hops agrees with its per-request
// expected tree.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>

#include "core/ledger.h"
#include "net/beast_carrier.h"
#include "net/grpc_sim.h"
#include "net/http_client.h"
#include "propagation/metadata_carrier.h"
#include "propagation/registry.h"
#include "propagation/w3c.h"
#include "tests/support/loopback_server.h"
#include "topology/decisions.h"
#include "topology/expected_tree.h"
#include "topology/ground_truth.h"
#include "topology/topology_runtime.h"

namespace tracerig {
namespace {

using test_support::CaptureServer;

std::string Attr(const Span& span, std::string_view key) {
  const AttributeValue* v = span.FindAttribute(key);
  return v ? AttributeValueToString(*v) : "<absent>";
}

const Span* Find(const std::vector<Span>& spans, std::string_view service, SpanKind kind,
                 std::string_view hop) {
  for (const auto& s : spans) {
    if (s.service_name == service && s.kind == kind && Attr(s, kHopAttribute) == hop) return &s;
  }
  return nullptr;
}

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

Service Svc(std::string name, std::vector<Route> routes, Protocol protocol = Protocol::kHttp) {
  Service s;
  s.name = std::move(name);
  s.routes = std::move(routes);
  s.protocol = protocol;
  return s;
}

// A route of a grpc service that always errors with `code`.
Route Failing(std::string name, int code) {
  Route r = Rt(std::move(name));
  r.error_rate = 1.0;
  r.error_status = code;
  return r;
}

constexpr TraceId kTrace{0x1111, 0x2222};
constexpr SpanId kRootSpan{0x3333};
constexpr std::string_view kBaggage = "tenant=blue,plan=gold";

// Sends one root HTTP request the way the driver does (traceparent, baggage and ground truth);
// returns the status (0 on transport error).
unsigned SendRoot(const tcp::endpoint& entry, std::string_view route, uint64_t seq) {
  asio::io_context ioc;
  HttpClientPool pool(ioc, entry);
  auto target = RouteToHttp(route);
  HttpRequest request{http::string_to_verb(std::string(target.method)), target.path, 11};
  request.set(std::string(kTraceparentHeader), FormatTraceparent(kTrace, kRootSpan, 0x01));
  request.set("baggage", std::string(kBaggage));
  request.set(std::string(kRequestIdHeader), FormatRequestId(seq + 1));
  request.set(std::string(kSequenceHeader), std::to_string(seq));
  request.set(std::string(kHopHeader), "0");
  unsigned status = 0;
  pool.Send(std::move(request),
            [&](beast::error_code ec, HttpResponse&& r) { status = ec ? 0 : r.result_int(); });
  ioc.run();
  return status;
}

// Calls a gRPC service directly (as a gRPC driver would); returns the gRPC status.
int SendGrpcRoot(const tcp::endpoint& entry, const std::string& route, uint64_t seq) {
  asio::io_context ioc;
  auto guard = asio::make_work_guard(ioc);
  GrpcSimClient client(ioc, "127.0.0.1:" + std::to_string(entry.port()));
  GrpcMetadata metadata = {
      {std::string(kTraceparentHeader), FormatTraceparent(kTrace, kRootSpan, 0x01)},
      {std::string(kRequestIdHeader), FormatRequestId(seq + 1)},
      {std::string(kSequenceHeader), std::to_string(seq)},
      {std::string(kHopHeader), "0"}};
  int status = -1;
  client.Call(route, std::move(metadata), 0, 0, [&](int code, std::string) {
    status = code;
    guard.reset();
  });
  ioc.run();
  return status;
}

struct RunResult {
  unsigned status = 0;
  std::vector<Span> spans;
  TopologyStats stats;
  std::map<std::string, uint16_t> ports;
};

// Starts the scenario, sends request `seq` to a's GET /a over HTTP, stops.
RunResult RunOnce(const Scenario& s, uint64_t seq = 0) {
  InMemorySpanSink sink;
  TopologyOptions options;
  options.id_seed = 7;
  TopologyRuntime topology(s, sink, SystemClock::Instance(), options);
  RunResult run;
  auto started = topology.Start();
  EXPECT_TRUE(started.ok()) << (started.ok() ? "" : started.error().message);
  if (!started.ok()) return run;
  for (const RunningService& r : topology.services()) run.ports[r.name] = r.endpoint.port();
  run.status = SendRoot(*topology.EndpointOf("a"), "GET /a", seq);
  topology.Stop();
  run.spans = sink.spans();
  run.stats = topology.stats();
  return run;
}

TEST(GrpcRuntimeTest, HttpToGrpcToHttpChainRecordsEverySpanWithRpcConventions) {
  // a (http, GET /a) -> b (grpc, Mid) -> c (http, POST /Leaf)
  Scenario s;
  s.seed = 3;
  s.services = {Svc("a", {Rt("GET /a", {Seq(To("b", "Mid"))})}),
                Svc("b", {Rt("Mid", {Seq(To("c", "Leaf"))})}, Protocol::kGrpc),
                Svc("c", {Rt("Leaf")})};
  s.services[1].routes[0].attributes = {{"tier", std::string("gold")}};
  const RunResult run = RunOnce(s);
  EXPECT_EQ(run.status, 200u);
  ASSERT_EQ(run.spans.size(), 5u);
  const Span* a = Find(run.spans, "a", SpanKind::kServer, "0");
  const Span* a_to_b = Find(run.spans, "a", SpanKind::kClient, "0.0");
  const Span* b = Find(run.spans, "b", SpanKind::kServer, "0.0");
  const Span* b_to_c = Find(run.spans, "b", SpanKind::kClient, "0.0.0");
  const Span* c = Find(run.spans, "c", SpanKind::kServer, "0.0.0");
  ASSERT_TRUE(a && a_to_b && b && b_to_c && c);
  for (const Span& span : run.spans) {
    EXPECT_EQ(span.trace_id, kTrace) << span.service_name;
    EXPECT_EQ(Attr(span, kRequestIdAttribute), FormatRequestId(1)) << span.service_name;
    EXPECT_EQ(span.status_code, StatusCode::kUnset) << span.service_name;
  }
  EXPECT_EQ(a->parent_span_id, kRootSpan);
  EXPECT_EQ(a_to_b->parent_span_id, a->span_id);
  EXPECT_EQ(b->parent_span_id, a_to_b->span_id);
  EXPECT_EQ(b_to_c->parent_span_id, b->span_id);
  EXPECT_EQ(c->parent_span_id, b_to_c->span_id);

  // Names are route names on both sides of an edge (the expected tree matches them).
  EXPECT_EQ(a_to_b->name, "Mid");
  EXPECT_EQ(b->name, "Mid");
  EXPECT_EQ(b_to_c->name, "Leaf");

  const std::string b_port = std::to_string(run.ports.at("b"));
  // The gRPC CLIENT span (HTTP caller -> gRPC callee).
  EXPECT_EQ(Attr(*a_to_b, "rpc.system"), "grpc");
  EXPECT_EQ(Attr(*a_to_b, "rpc.service"), "tracerig.sim.v1.SimService");
  EXPECT_EQ(Attr(*a_to_b, "rpc.method"), "Call");
  EXPECT_EQ(Attr(*a_to_b, "rpc.grpc.status_code"), "0");
  EXPECT_EQ(Attr(*a_to_b, "server.address"), "127.0.0.1");
  EXPECT_EQ(Attr(*a_to_b, "server.port"), b_port);
  EXPECT_EQ(Attr(*a_to_b, "peer.service"), "b");
  EXPECT_EQ(Attr(*a_to_b, "http.request.method"), "<absent>");
  EXPECT_EQ(Attr(*a_to_b, "url.full"), "<absent>");
  // The gRPC SERVER span.
  EXPECT_EQ(Attr(*b, "rpc.system"), "grpc");
  EXPECT_EQ(Attr(*b, "rpc.service"), "tracerig.sim.v1.SimService");
  EXPECT_EQ(Attr(*b, "rpc.method"), "Call");
  EXPECT_EQ(Attr(*b, "rpc.grpc.status_code"), "0");
  EXPECT_EQ(Attr(*b, "server.port"), b_port);
  EXPECT_EQ(Attr(*b, "tier"), "gold");
  EXPECT_EQ(Attr(*b, "http.route"), "<absent>");
  EXPECT_EQ(Attr(*b, "http.response.status_code"), "<absent>");
  // gRPC caller -> HTTP callee: an HTTP CLIENT span.
  EXPECT_EQ(Attr(*b_to_c, "http.request.method"), "POST");
  EXPECT_EQ(Attr(*b_to_c, "http.response.status_code"), "200");
  EXPECT_EQ(Attr(*b_to_c, "server.port"), std::to_string(run.ports.at("c")));
  EXPECT_EQ(Attr(*b_to_c, "rpc.system"), "<absent>");
  EXPECT_EQ(Attr(*c, "http.route"), "/Leaf");
  EXPECT_EQ(run.stats.requests, 3u);
}

TEST(GrpcRuntimeTest, AGrpcEntryAnswersOkAndUnknownRoutesUnimplemented) {
  Scenario s;
  s.services = {Svc("g", {Rt("Entry", {Seq(To("h", "GET /h"))})}, Protocol::kGrpc),
                Svc("h", {Rt("GET /h")})};
  InMemorySpanSink sink;
  TopologyRuntime topology(s, sink, SystemClock::Instance(), TopologyOptions{});
  ASSERT_TRUE(topology.Start().ok());
  const tcp::endpoint g = *topology.EndpointOf("g");
  EXPECT_EQ(SendGrpcRoot(g, "Entry", 0), kGrpcOk);
  EXPECT_EQ(SendGrpcRoot(g, "NoSuchRoute", 1), kGrpcUnimplemented);
  topology.Stop();
  auto spans = sink.spans();
  ASSERT_EQ(spans.size(), 3u);
  const Span* entry = Find(spans, "g", SpanKind::kServer, "0");
  const Span* h = Find(spans, "h", SpanKind::kServer, "0.0");
  ASSERT_TRUE(entry && h);
  EXPECT_EQ(entry->parent_span_id, kRootSpan);
  EXPECT_EQ(h->trace_id, kTrace);
  EXPECT_EQ(topology.stats().unknown_route, 1u);
  EXPECT_EQ(topology.stats().requests, 2u);
}

// One row per propagation format: a (http; extracts the driver's traceparent, injects the format)
// -> b (grpc) -> c (grpc) -> ext (external http, captures what c injected). b and c read only the
// format, so the trace survives only if it crosses gRPC metadata both ways (into a gRPC server,
// out of a gRPC client).
TEST(GrpcRuntimeTest, EveryPropagationFormatCrossesGrpcMetadata) {
  struct Row {
    std::vector<std::string> formats;  // b's and c's
    std::string_view header;           // a header the format writes
  };
  const Row rows[] = {
      {{"tracecontext"}, "traceparent"},
      {{"b3"}, "b3"},
      {{"b3multi"}, "x-b3-traceid"},
      {{"jaeger"}, "uber-trace-id"},
      {{"tracecontext", "baggage"}, "baggage"},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(row.formats.back());
    CaptureServer ext;
    Scenario s;
    s.seed = 9;
    s.services = {Svc("a", {Rt("GET /a", {Seq(To("b", "B"))})}),
                  Svc("b", {Rt("B", {Seq(To("c", "C"))})}, Protocol::kGrpc),
                  Svc("c", {Rt("C", {Seq(To("ext", "Ext"))})}, Protocol::kGrpc),
                  Svc("ext", {Rt("Ext")})};
    s.services[0].extract = {"tracecontext", "baggage"};
    for (const std::string& format : row.formats) {
      auto& formats = s.services[0].extract;
      if (std::find(formats.begin(), formats.end(), format) == formats.end()) {
        formats.push_back(format);
      }
    }
    s.services[1].extract = row.formats;
    s.services[2].extract = row.formats;
    s.services[3].external_url = ext.url();
    const RunResult run = RunOnce(s);
    EXPECT_EQ(run.status, 200u);
    const Span* a_to_b = Find(run.spans, "a", SpanKind::kClient, "0.0");
    const Span* b = Find(run.spans, "b", SpanKind::kServer, "0.0");
    const Span* b_to_c = Find(run.spans, "b", SpanKind::kClient, "0.0.0");
    const Span* c = Find(run.spans, "c", SpanKind::kServer, "0.0.0");
    const Span* c_to_ext = Find(run.spans, "c", SpanKind::kClient, "0.0.0.0");
    ASSERT_TRUE(a_to_b && b && b_to_c && c && c_to_ext);
    EXPECT_EQ(b->trace_id, kTrace);
    EXPECT_EQ(b->parent_span_id, a_to_b->span_id);
    EXPECT_EQ(c->trace_id, kTrace);
    EXPECT_EQ(c->parent_span_id, b_to_c->span_id);
    // What c injected over HTTP, read back with the same format.
    const auto requests = ext.requests();
    ASSERT_EQ(requests.size(), 1u);
    EXPECT_NE(requests[0].find(std::string(row.header)), requests[0].end());
    auto propagator = MakePropagator(row.formats);
    ASSERT_TRUE(propagator.ok());
    BeastHeaderReader<true> reader(requests[0]);
    const SpanContext sent = (*propagator)->Extract(reader);
    EXPECT_EQ(sent.trace_id, kTrace);
    EXPECT_EQ(sent.span_id, c_to_ext->span_id);
    // Ground truth crosses gRPC metadata too.
    EXPECT_EQ(std::string(requests[0].at(std::string(kHopHeader))), "0.0.0.0");
    EXPECT_EQ(std::string(requests[0].at(std::string(kRequestIdHeader))), FormatRequestId(1));
    // Into a real service, the ground truth travels as baggage members too, whatever the
    // caller's formats, ahead of the baggage the request carried.
    const std::string ground_truth =
        "tracerig.request_id=" + FormatRequestId(1) + ",tracerig.seq=0,tracerig.hop=0.0.0.0";
    if (row.header == "baggage") {
      EXPECT_EQ(std::string(requests[0].at("baggage")), ground_truth + "," + std::string(kBaggage));
    } else {
      EXPECT_EQ(std::string(requests[0].at("baggage")).substr(0, ground_truth.size()),
                ground_truth);
    }
  }
}

// a (http) -> b (grpc) whose route always errors with `code`; the call has two retries.
TEST(GrpcRuntimeTest, ErrorStatusesFollowTheRetryAndSpanStatusRules) {
  struct Row {
    int code;
    std::string_view name;
    size_t attempts;       // the retryable set (OTel) is retried
    bool server_error;     // SERVER span status per the RPC conventions
    unsigned root_status;  // a answers 502 when its call still failed after retries
  };
  const Row rows[] = {
      {kGrpcUnavailable, "UNAVAILABLE", 3, true, 502},
      {kGrpcDeadlineExceeded, "DEADLINE_EXCEEDED", 3, true, 502},
      {kGrpcResourceExhausted, "RESOURCE_EXHAUSTED", 3, false, 502},
      {kGrpcAborted, "ABORTED", 3, false, 502},
      {kGrpcInternal, "INTERNAL", 1, true, 200},
      {kGrpcUnknown, "UNKNOWN", 1, true, 200},
      {kGrpcNotFound, "NOT_FOUND", 1, false, 200},
      {kGrpcInvalidArgument, "INVALID_ARGUMENT", 1, false, 200},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(row.name);
    Call call = To("b", "S");
    call.retries = 2;
    Scenario s;
    s.services = {Svc("a", {Rt("GET /a", {Seq(call)})}),
                  Svc("b", {Failing("S", row.code)}, Protocol::kGrpc)};
    const RunResult run = RunOnce(s);
    EXPECT_EQ(run.status, row.root_status);
    EXPECT_EQ(run.spans.size(), 1 + 2 * row.attempts);
    for (size_t i = 0; i < row.attempts; ++i) {
      const std::string hop = i == 0 ? "0.0" : "0.0r" + std::to_string(i);
      const Span* client = Find(run.spans, "a", SpanKind::kClient, hop);
      const Span* server = Find(run.spans, "b", SpanKind::kServer, hop);
      ASSERT_TRUE(client && server) << hop;
      EXPECT_EQ(server->parent_span_id, client->span_id);
      EXPECT_EQ(Attr(*client, "rpc.grpc.status_code"), std::to_string(row.code));
      EXPECT_EQ(client->status_code, StatusCode::kError);  // every non-OK code, for a client
      EXPECT_EQ(Attr(*client, "error.type"), row.name);
      EXPECT_EQ(Attr(*server, "rpc.grpc.status_code"), std::to_string(row.code));
      EXPECT_EQ(server->status_code, row.server_error ? StatusCode::kError : StatusCode::kUnset);
      EXPECT_EQ(Attr(*server, "error.type"), row.server_error ? row.name : "<absent>");
    }
    EXPECT_EQ(run.stats.retries, row.attempts - 1);
    EXPECT_EQ(run.stats.call_failures, row.attempts > 1 ? 1u : 0u);
    EXPECT_EQ(run.stats.route_errors, row.attempts);
  }
}

TEST(GrpcRuntimeTest, AFailedDownstreamCallMakesAGrpcServiceAnswerUnavailableWhichIsRetried) {
  // a (http) -> b (grpc, 1 retry) -> c (http, always 503, no retry)
  Call to_b = To("b", "B");
  to_b.retries = 1;
  Route failing = Rt("GET /c");
  failing.error_rate = 1.0;
  failing.error_status = 503;
  Scenario s;
  s.services = {Svc("a", {Rt("GET /a", {Seq(to_b)})}),
                Svc("b", {Rt("B", {Seq(To("c", "GET /c"))})}, Protocol::kGrpc),
                Svc("c", {failing})};
  const RunResult run = RunOnce(s);
  EXPECT_EQ(run.status, 502u);
  for (std::string hop : {"0.0", "0.0r1"}) {
    const Span* b = Find(run.spans, "b", SpanKind::kServer, hop);
    const Span* b_to_c = Find(run.spans, "b", SpanKind::kClient, hop + ".0");
    ASSERT_TRUE(b && b_to_c) << hop;
    EXPECT_EQ(Attr(*b_to_c, "http.response.status_code"), "503");
    EXPECT_EQ(Attr(*b, "rpc.grpc.status_code"), "14");
    EXPECT_EQ(b->status_code, StatusCode::kError);
  }
  EXPECT_EQ(run.stats.retries, 1u);
  EXPECT_EQ(run.stats.call_failures, 3u);  // b's call to c twice, a's call to b once
}

TEST(GrpcRuntimeTest, ATimeoutIsAGrpcDeadlineAndIsRetried) {
  Call call = To("b", "S");
  call.timeout_ns = 1'000'000;  // 1ms against a route that takes an hour
  call.retries = 1;
  Route slow = Rt("S");
  slow.latency.a = 3'600'000'000'000;
  Scenario s;
  s.services = {Svc("a", {Rt("GET /a", {Seq(call)})}), Svc("b", {slow}, Protocol::kGrpc)};
  const RunResult run = RunOnce(s);
  EXPECT_EQ(run.status, 502u);
  for (std::string hop : {"0.0", "0.0r1"}) {
    const Span* client = Find(run.spans, "a", SpanKind::kClient, hop);
    ASSERT_NE(client, nullptr) << hop;
    EXPECT_EQ(Attr(*client, "rpc.grpc.status_code"), std::to_string(kGrpcDeadlineExceeded));
    EXPECT_EQ(Attr(*client, "error.type"), "DEADLINE_EXCEEDED");
    EXPECT_EQ(client->status_code, StatusCode::kError);
  }
  EXPECT_EQ(run.stats.timeouts, 2u);
  EXPECT_EQ(run.stats.retries, 1u);
}

TEST(GrpcRuntimeTest, DropContextOverAGrpcEdgeStartsANewTraceButKeepsGroundTruth) {
  // a (http) -> b (grpc) -> c (grpc); b drops context on its call.
  Scenario s;
  s.services = {Svc("a", {Rt("GET /a", {Seq(To("b", "B"))})}),
                Svc("b", {Rt("B", {Seq(To("c", "C"))})}, Protocol::kGrpc),
                Svc("c", {Rt("C")}, Protocol::kGrpc)};
  Fault drop;
  drop.kind = FaultKind::kDropContext;
  drop.service = "b";
  s.faults = {drop};
  const RunResult run = RunOnce(s);
  EXPECT_EQ(run.status, 200u);
  ASSERT_EQ(run.spans.size(), 5u);
  const Span* b = Find(run.spans, "b", SpanKind::kServer, "0.0");
  const Span* b_to_c = Find(run.spans, "b", SpanKind::kClient, "0.0.0");
  const Span* c = Find(run.spans, "c", SpanKind::kServer, "0.0.0");  // the hop still arrives
  ASSERT_TRUE(b && b_to_c && c);
  EXPECT_EQ(b->trace_id, kTrace);
  EXPECT_EQ(b_to_c->trace_id, kTrace);  // the caller still records under the trace
  EXPECT_NE(c->trace_id, kTrace);       // the callee received no context
  EXPECT_EQ(c->parent_span_id, SpanId{});
  EXPECT_EQ(Attr(*c, kRequestIdAttribute), FormatRequestId(1));
  EXPECT_EQ(run.stats.FaultsApplied(FaultKind::kDropContext), 1u);
}

// --- Determinism and agreement with the per-request expected tree, with gRPC hops. ---

// front (http) calls cart (grpc, probability, repeat), pay (grpc, retried; errors with INTERNAL,
// which is not retried) in parallel with recs (grpc, ratio sampling); pay calls bank (http,
// flaky 503, retried), so a gRPC service also fails (UNAVAILABLE) because of its own call.
Scenario RandomGrpc() {
  Route entry = Rt("GET /shop");
  AttributeGenerator range;
  range.kind = AttributeGenerator::Kind::kIntRange;
  range.min = 1;
  range.max = 1000;
  entry.generated_attributes = {{"items", range, {}}};
  Call maybe = To("cart", "GetCart");
  maybe.probability = 0.5;
  maybe.repeat = 2;
  Call flaky = To("pay", "Charge");
  flaky.retries = 2;
  Call sampled = To("recs", "Recommend");
  entry.calls = {Seq(maybe), CallStep{true, {flaky, sampled}}};
  Call debit = To("bank", "POST /debit");
  debit.retries = 1;
  Route charge = Rt("Charge", {Seq(debit)});
  charge.error_rate = 0.3;
  charge.error_status = kGrpcInternal;
  Route bank = Rt("POST /debit");
  bank.error_rate = 0.5;
  bank.error_status = 503;
  Scenario s;
  s.seed = 4321;
  s.services = {Svc("front", {entry}), Svc("cart", {Rt("GetCart")}, Protocol::kGrpc),
                Svc("pay", {charge}, Protocol::kGrpc), Svc("bank", {bank}),
                Svc("recs", {Rt("Recommend")}, Protocol::kGrpc)};
  s.services[4].sampling = SamplingPolicy{SamplingPolicy::Kind::kRatio, 0.5};
  return s;
}

constexpr uint64_t kRequests = 24;

std::vector<Span> RunRequests(const Scenario& s, uint64_t id_seed, TopologyStats* stats) {
  InMemorySpanSink sink;
  TopologyOptions options;
  options.id_seed = id_seed;
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

// Per request: "hop kind service | name | status | parent hop kind service" lines, sorted.
std::map<std::string, std::set<std::string>> Shape(const std::vector<Span>& spans) {
  std::map<uint64_t, std::string> key_of;
  auto key = [](const Span& s) {
    return Attr(s, kHopAttribute) + " " + std::string(SpanKindName(s.kind)) + " " + s.service_name;
  };
  for (const Span& s : spans) key_of[s.span_id.value] = key(s);
  std::map<std::string, std::set<std::string>> out;
  for (const Span& s : spans) {
    auto parent = key_of.find(s.parent_span_id.value);
    out[Attr(s, kRequestIdAttribute)].insert(
        key(s) + " | " + s.name + " | " + std::string(StatusCodeName(s.status_code)) + " | " +
        Attr(s, "rpc.grpc.status_code") + " | " + Attr(s, "items") + " | " +
        (parent == key_of.end() ? "-" : parent->second));
  }
  return out;
}

TEST(GrpcRuntimeDeterminismTest, SameScenarioAndSeedGiveTheSameSpanTrees) {
  const Scenario s = RandomGrpc();
  TopologyStats first_stats;
  TopologyStats second_stats;
  const auto first = Shape(RunRequests(s, 1, &first_stats));
  const auto second = Shape(RunRequests(s, 2, &second_stats));  // different span ids
  EXPECT_EQ(first.size(), kRequests);
  EXPECT_EQ(first, second);
  EXPECT_GT(first_stats.calls_skipped, 0u);
  EXPECT_GT(first_stats.retries, 0u);
  EXPECT_GT(first_stats.route_errors, 0u);
  EXPECT_GT(first_stats.spans_unsampled, 0u);
  EXPECT_EQ(first_stats.retries, second_stats.retries);
}

TEST(GrpcRuntimeDeterminismTest, PerRequestExpectedTreeMatchesWhatTheRuntimeExported) {
  const Scenario s = RandomGrpc();
  TopologyStats stats;
  const auto spans = RunRequests(s, 3, &stats);
  std::map<std::string, std::set<std::string>> got;
  for (const Span& span : spans) {
    got[Attr(span, kRequestIdAttribute)].insert(Attr(span, kHopAttribute) + " " +
                                                std::string(SpanKindName(span.kind)) + " " +
                                                span.service_name + " " + span.name);
  }
  for (uint64_t seq = 0; seq < kRequests; ++seq) {
    const ExpectedTree tree = BuildExpectedTree(s, LoadEntry{"front", "GET /shop"}, seq);
    std::set<std::string> want;
    for (const ExpectedSpan& e : tree.spans) {
      if (e.service == kDriverServiceName) continue;
      want.insert(e.hop + " " + std::string(SpanKindName(e.kind)) + " " + e.service + " " + e.name);
    }
    EXPECT_EQ(got[FormatRequestId(seq + 1)], want) << "request " << seq;
  }
}

TEST(GrpcRuntimeTest, AnswerFailsCallIsTheRetryRuleOfEachProtocol) {
  struct Row {
    Protocol protocol;
    int status;
    bool fails;
  };
  const Row rows[] = {
      {Protocol::kHttp, 200, false}, {Protocol::kHttp, 404, false}, {Protocol::kHttp, 500, true},
      {Protocol::kHttp, 503, true},  {Protocol::kGrpc, 0, false},   {Protocol::kGrpc, 2, false},
      {Protocol::kGrpc, 4, true},    {Protocol::kGrpc, 5, false},   {Protocol::kGrpc, 8, true},
      {Protocol::kGrpc, 10, true},   {Protocol::kGrpc, 13, false},  {Protocol::kGrpc, 14, true},
      {Protocol::kGrpc, 503, false},
  };
  for (const Row& row : rows) {
    EXPECT_EQ(AnswerFailsCall(row.protocol, row.status), row.fails)
        << ProtocolName(row.protocol) << " " << row.status;
  }
}

TEST(MetadataCarrierTest, WriterLowercasesAndReplacesReaderIgnoresCase) {
  GrpcMetadata metadata = {{"other", "1"}, {"traceparent", "old"}, {"traceparent", "older"}};
  MetadataWriter writer(metadata);
  writer.Set("TraceParent", "new");
  writer.Set("B3", "x");
  const GrpcMetadata want = {{"other", "1"}, {"traceparent", "new"}, {"b3", "x"}};
  EXPECT_EQ(metadata, want);
  metadata.emplace_back("tracestate", "a=1");
  metadata.emplace_back("tracestate", "b=2");
  MetadataReader reader(metadata);
  std::vector<std::string_view> values;
  reader.GetAll("TRACESTATE", values);
  EXPECT_EQ(values, (std::vector<std::string_view>{"a=1", "b=2"}));
  EXPECT_EQ(FirstMetadataValue(metadata, "B3"), "x");
  EXPECT_EQ(FirstMetadataValue(metadata, "absent"), "");
}

}  // namespace
}  // namespace tracerig
