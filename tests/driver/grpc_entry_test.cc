// LoadDriver against a real loopback gRPC server (port 0) for entries on `protocol = "grpc"`
// services: trace context and ground truth in metadata, the root span's gRPC attributes, non-OK
// statuses counted as errors, the deadline, the bound on calls in flight, HTTP and gRPC entries
// mixed in one load, and external gRPC entries (a full method with an empty message, ground truth
// as baggage and tracestate too).
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "core/span_sink.h"
#include "core/text.h"
#include "driver/load_driver.h"
#include "driver/schedule.h"
#include "net/grpc_sim.h"
#include "propagation/baggage.h"
#include "propagation/w3c.h"
#include "tests/driver/grpc_loopback_server.h"
#include "tests/support/loopback_server.h"
#include "topology/expected_tree.h"
#include "topology/ground_truth.h"
#include "topology/service_target.h"

namespace tracerig {
namespace {

using test_support::LoopbackServer;

constexpr uint64_t kMillisecond = 1'000'000;

using test_support::GrpcLoopbackServer;
using Answer = test_support::GrpcAnswer;

Service GrpcService(std::string name) {
  Service service;
  service.name = std::move(name);
  service.protocol = Protocol::kGrpc;
  service.extract = {"tracecontext"};
  return service;
}

// `requests` requests all due at once (count model at an absurd rate), or spread at 1000/s.
Scenario GrpcEntry(uint64_t requests, bool all_at_once) {
  Scenario scenario;
  scenario.name = "grpc-entry-test";
  scenario.services.push_back(GrpcService("inventory"));
  scenario.load.model = LoadModel::kCount;
  scenario.load.requests = requests;
  scenario.load.rate = all_at_once ? 1e9 : 1000;
  scenario.load.duration_ns = all_at_once ? requests : requests * kMillisecond;
  scenario.load.entries = {{"inventory", "GetStock", 1.0}};
  return scenario;
}

std::unique_ptr<Schedule> ScheduleFor(const Load& load) {
  auto schedule = MakeSchedule(load, 1);
  EXPECT_TRUE(schedule) << schedule.error().message;
  return schedule ? std::move(*schedule) : nullptr;
}

DriverResult RunDriver(const Scenario& scenario, std::vector<ServiceTarget> endpoints,
                       SpanSink& sink, DriverOptions options) {
  LoadDriver driver(scenario, std::move(endpoints), ScheduleFor(scenario.load), sink,
                    SystemClock::Instance(), options);
  std::atomic<bool> stop{false};
  return driver.Run(stop);
}

std::string StringAttribute(const Span& span, std::string_view key) {
  const AttributeValue* v = span.FindAttribute(key);
  return v != nullptr && std::holds_alternative<std::string>(*v) ? std::get<std::string>(*v)
                                                                 : "<missing>";
}

int64_t IntAttribute(const Span& span, std::string_view key) {
  const AttributeValue* v = span.FindAttribute(key);
  return v != nullptr && std::holds_alternative<int64_t>(*v) ? std::get<int64_t>(*v) : -1;
}

std::string MetadataValue(const GrpcInbound& in, std::string_view key) {
  for (const auto& [k, v] : in.metadata) {
    if (k == key) return v;
  }
  return "<missing>";
}

TEST(GrpcEntryTest, EveryCallCarriesTheLedgersTraceContextAndGroundTruth) {
  GrpcLoopbackServer server(Answer::kOk);
  const Scenario scenario = GrpcEntry(60, /*all_at_once=*/false);
  FixedCountSchedule expected(60, 1000);
  InMemorySpanSink sink;
  DriverOptions options;
  options.threads = 2;
  options.id_seed = 11;
  const DriverResult result = RunDriver(scenario, {server.endpoint()}, sink, options);

  EXPECT_EQ(result.sent, 60u);
  EXPECT_EQ(result.ok, 60u);
  EXPECT_EQ(result.http_errors, 0u);
  EXPECT_EQ(result.transport_errors, 0u);
  ASSERT_EQ(result.ledger.size(), 60u);
  const auto seen = server.seen();
  ASSERT_EQ(seen.size(), 60u);
  for (size_t n = 0; n < result.ledger.size(); ++n) {
    SCOPED_TRACE("request " + std::to_string(n));
    const LedgerEntry& e = result.ledger[n];
    EXPECT_EQ(e.sequence, n);
    EXPECT_EQ(e.outcome, RequestOutcome::kOk);
    EXPECT_EQ(e.http_status, 200);  // OK's HTTP equivalent
    auto it = seen.find(std::to_string(n));
    ASSERT_NE(it, seen.end()) << "never reached the server";
    const GrpcInbound& in = it->second;
    EXPECT_EQ(in.route, "GetStock");
    auto traceparent = ParseTraceparent(MetadataValue(in, "traceparent"));
    ASSERT_TRUE(traceparent.has_value()) << MetadataValue(in, "traceparent");
    EXPECT_EQ(traceparent->trace_id, e.trace_id);
    EXPECT_EQ(traceparent->parent_id, e.root_span_id);
    EXPECT_EQ(traceparent->flags, 0x01);
    EXPECT_EQ(MetadataValue(in, std::string(kRequestIdHeader)), FormatRequestId(e.request_id));
    EXPECT_EQ(MetadataValue(in, std::string(kHopHeader)), "0");
    EXPECT_EQ(MetadataValue(in, std::string(kOffsetHeader)),
              std::to_string(expected.IntendedOffset(n)));
    for (const auto& [key, value] : in.metadata) {
      EXPECT_EQ(key, AsciiLowercase(key)) << "metadata keys travel lowercase";
    }
  }

  const std::vector<Span> spans = sink.spans();
  ASSERT_EQ(spans.size(), 60u);
  std::map<std::string, const Span*> by_trace;
  for (const Span& s : spans) by_trace[s.trace_id.ToHex()] = &s;
  for (const LedgerEntry& e : result.ledger) {
    auto it = by_trace.find(e.trace_id.ToHex());
    ASSERT_NE(it, by_trace.end());
    const Span& root = *it->second;
    EXPECT_EQ(root.span_id, e.root_span_id);
    EXPECT_EQ(root.kind, SpanKind::kClient);
    EXPECT_EQ(root.service_name, kDriverServiceName);
    EXPECT_EQ(root.name, "GetStock");
    EXPECT_EQ(root.status_code, StatusCode::kUnset);
    EXPECT_EQ(StringAttribute(root, "rpc.system"), "grpc");
    EXPECT_EQ(StringAttribute(root, "rpc.service"), kSimRpcService);
    EXPECT_EQ(StringAttribute(root, "rpc.method"), kSimRpcMethod);
    EXPECT_EQ(IntAttribute(root, "rpc.grpc.status_code"), kGrpcOk);
    EXPECT_EQ(StringAttribute(root, "peer.service"), "inventory");
    EXPECT_EQ(StringAttribute(root, "server.address"), "127.0.0.1");
    EXPECT_EQ(IntAttribute(root, "server.port"), server.endpoint().port());
    EXPECT_EQ(StringAttribute(root, kHopAttribute), "0");
    EXPECT_EQ(StringAttribute(root, kRequestIdAttribute), FormatRequestId(e.request_id));
    EXPECT_EQ(root.FindAttribute("http.request.method"), nullptr);
    EXPECT_EQ(root.FindAttribute("error.type"), nullptr);
    EXPECT_LE(root.start_unix_nano, root.end_unix_nano);
  }
}

TEST(GrpcEntryTest, UnavailableAnswersAreCountedErrors) {
  GrpcLoopbackServer server(Answer::kUnavailable);
  const Scenario scenario = GrpcEntry(20, /*all_at_once=*/true);
  InMemorySpanSink sink;
  DriverOptions options;
  options.threads = 1;
  const DriverResult result = RunDriver(scenario, {server.endpoint()}, sink, options);

  EXPECT_EQ(server.calls(), 20u);
  EXPECT_EQ(result.sent, 20u);
  EXPECT_EQ(result.ok, 0u);
  EXPECT_EQ(result.http_errors, 20u);
  EXPECT_EQ(result.transport_errors, 0u);
  ASSERT_EQ(result.ledger.size(), 20u);
  for (const LedgerEntry& e : result.ledger) {
    EXPECT_EQ(e.outcome, RequestOutcome::kHttpError);
    EXPECT_EQ(e.http_status, 503);
  }
  const std::vector<Span> spans = sink.spans();
  ASSERT_EQ(spans.size(), 20u);
  for (const Span& root : spans) {
    EXPECT_EQ(root.status_code, StatusCode::kError);
    EXPECT_EQ(IntAttribute(root, "rpc.grpc.status_code"), kGrpcUnavailable);
    EXPECT_EQ(StringAttribute(root, "error.type"), "UNAVAILABLE");
  }
  // Errors show in the timeline as they do for HTTP.
  ASSERT_EQ(result.timeline.points().size(), 1u);
  EXPECT_EQ(result.timeline.points()[0].errors, 20u);
}

TEST(GrpcEntryTest, TheRequestTimeoutIsTheCallsDeadline) {
  GrpcLoopbackServer server(Answer::kNever);
  const Scenario scenario = GrpcEntry(5, /*all_at_once=*/true);
  InMemorySpanSink sink;
  DriverOptions options;
  options.threads = 1;
  options.client.request_timeout = std::chrono::milliseconds(50);
  const DriverResult result = RunDriver(scenario, {server.endpoint()}, sink, options);

  EXPECT_EQ(result.sent, 5u);
  EXPECT_EQ(result.http_errors, 5u);
  EXPECT_EQ(result.unfinished, 0u);  // the deadline ended them, not the drain
  for (const LedgerEntry& e : result.ledger) EXPECT_EQ(e.http_status, 504);
  for (const Span& root : sink.spans()) {
    EXPECT_EQ(IntAttribute(root, "rpc.grpc.status_code"), kGrpcDeadlineExceeded);
    EXPECT_EQ(StringAttribute(root, "error.type"), "DEADLINE_EXCEEDED");
  }
  // Ended by the deadline, not at once: gRPC's timers may end a call a few milliseconds before
  // the deadline by our clock (45.5 ms of 50 seen on a loaded machine), so the bound is half.
  EXPECT_GE(result.uncorrected.min(), 50 * kMillisecond / 2);
}

TEST(GrpcEntryTest, CallsStillOpenAtTheDrainDeadlineAreUnfinished) {
  GrpcLoopbackServer server(Answer::kNever);
  const Scenario scenario = GrpcEntry(4, /*all_at_once=*/true);
  InMemorySpanSink sink;
  DriverOptions options;
  options.threads = 1;
  options.drain_timeout_ns = 50 * kMillisecond;  // far below the 30 s deadline
  const DriverResult result = RunDriver(scenario, {server.endpoint()}, sink, options);

  // The driver stopped its loop with the calls open; destroying it cancelled them without their
  // completions ever touching the finished run.
  EXPECT_EQ(result.sent, 4u);
  EXPECT_EQ(result.unfinished, 4u);
  EXPECT_EQ(result.transport_errors, 4u);
  EXPECT_EQ(result.http_errors, 0u);
  EXPECT_EQ(sink.size(), 0u);
  for (const LedgerEntry& e : result.ledger) {
    EXPECT_EQ(e.outcome, RequestOutcome::kTransportError);
  }
}

TEST(GrpcEntryTest, ConnectionsBoundTheCallsInFlightPerEntry) {
  GrpcLoopbackServer server(Answer::kAfterOneMilli);
  const Scenario scenario = GrpcEntry(40, /*all_at_once=*/true);
  InMemorySpanSink sink;
  DriverOptions options;
  options.threads = 1;
  options.connections = 2;
  const DriverResult result = RunDriver(scenario, {server.endpoint()}, sink, options);

  EXPECT_EQ(result.connections, 2u);
  EXPECT_EQ(result.ok, 40u);
  EXPECT_LE(server.max_open(), 2u);
  // All 40 were due at the first dispatch; two calls went at once, the other 38 waited.
  EXPECT_EQ(result.queued, 38u);
  EXPECT_EQ(result.unsent, 0u);
  EXPECT_GE(result.corrected.max(), result.uncorrected.max());
}

TEST(GrpcEntryTest, RawModeSendsNoContext) {
  GrpcLoopbackServer server(Answer::kOk);
  const Scenario scenario = GrpcEntry(10, /*all_at_once=*/true);
  InMemorySpanSink sink;
  DriverOptions options;
  options.threads = 1;
  options.trace = false;
  const DriverResult result = RunDriver(scenario, {server.endpoint()}, sink, options);

  EXPECT_EQ(result.ok, 10u);
  EXPECT_EQ(result.ledger.size(), 10u);
  EXPECT_EQ(sink.size(), 0u);
  for (const auto& [key, in] : server.seen()) {
    EXPECT_EQ(MetadataValue(in, "traceparent"), "<missing>");
    EXPECT_EQ(MetadataValue(in, std::string(kSequenceHeader)), "<missing>");
  }
}

TEST(GrpcEntryTest, HttpAndGrpcEntriesMixByWeight) {
  GrpcLoopbackServer grpc_server(Answer::kOk);
  std::mutex mu;
  std::vector<std::string> http_sequences;
  LoopbackServer http_server([&](HttpRequest&& request, HttpResponder respond) {
    {
      std::lock_guard lock(mu);
      http_sequences.emplace_back(request[std::string(kSequenceHeader)]);
    }
    respond(MakeResponse(request, http::status::ok, "text/plain", "ok"));
  });

  Scenario scenario = GrpcEntry(200, /*all_at_once=*/false);
  Service web;
  web.name = "web";
  web.extract = {"tracecontext"};
  scenario.services.push_back(web);
  scenario.load.entries = {{"web", "GET /home", 1.0}, {"inventory", "GetStock", 3.0}};
  InMemorySpanSink sink;
  DriverOptions options;
  options.threads = 2;
  const DriverResult result =
      RunDriver(scenario, {http_server.endpoint(), grpc_server.endpoint()}, sink, options);

  EXPECT_EQ(result.ok, 200u);
  ASSERT_EQ(result.ledger.size(), 200u);
  const auto grpc_seen = grpc_server.seen();
  std::vector<std::string> http_seen;
  {
    std::lock_guard lock(mu);
    http_seen = http_sequences;
  }
  // Each request went to the entry the ledger names, and to no other.
  size_t http_entries = 0;
  for (const LedgerEntry& e : result.ledger) {
    const std::string seq = std::to_string(e.sequence);
    const bool at_grpc = grpc_seen.count(seq) != 0;
    const bool at_http = std::count(http_seen.begin(), http_seen.end(), seq) == 1;
    EXPECT_EQ(at_grpc, e.entry == 1) << "request " << seq;
    EXPECT_EQ(at_http, e.entry == 0) << "request " << seq;
    if (e.entry == 0) http_entries++;
  }
  EXPECT_EQ(http_seen.size(), http_entries);
  EXPECT_EQ(grpc_seen.size(), 200u - http_entries);
  // Weights 1:3 over 200 seeded picks: a quarter to HTTP, give or take.
  EXPECT_GT(http_entries, 25u);
  EXPECT_LT(http_entries, 75u);
  // Each root span follows its own protocol's conventions.
  size_t grpc_roots = 0;
  for (const Span& root : sink.spans()) {
    if (root.FindAttribute("rpc.system") != nullptr) {
      grpc_roots++;
      EXPECT_EQ(root.FindAttribute("http.request.method"), nullptr);
    } else {
      EXPECT_EQ(StringAttribute(root, "http.request.method"), "GET");
    }
  }
  EXPECT_EQ(grpc_roots, 200u - http_entries);
}

// The loopback server as an external gRPC service at http://127.0.0.1:PORT, called by `route`.
Scenario ExternalGrpcEntry(const GrpcLoopbackServer& server, std::string route, uint64_t requests) {
  Scenario scenario = GrpcEntry(requests, /*all_at_once=*/false);
  scenario.services[0].external_url =
      "http://127.0.0.1:" + std::to_string(server.endpoint().port());
  scenario.load.entries = {{"inventory", std::move(route), 1.0}};
  return scenario;
}

std::vector<ServiceTarget> TargetsOf(const Scenario& scenario) {
  auto targets = ResolveEntryTargets(scenario, {});
  EXPECT_TRUE(targets) << (targets ? "" : targets.error().message);
  return targets ? std::move(*targets) : std::vector<ServiceTarget>{};
}

// An external gRPC entry nobody listens on: every call is a transport error, "connection
// refused", as for an HTTP entry, not a gRPC status counted with the server's answers.
TEST(GrpcEntryTest, AnUnreachableExternalEntryIsConnectionRefused) {
  std::string url;
  {
    asio::io_context ioc;
    tcp::acceptor closed(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    url = "http://127.0.0.1:" + std::to_string(closed.local_endpoint().port());
  }  // closed: nothing listens there now
  Scenario scenario = GrpcEntry(3, /*all_at_once=*/false);
  scenario.services[0].external_url = url;
  scenario.load.entries = {{"inventory", "shop.v1.Cart/GetCart", 1.0}};
  InMemorySpanSink sink;
  DriverOptions options;
  options.threads = 1;
  const DriverResult result = RunDriver(scenario, TargetsOf(scenario), sink, options);
  EXPECT_EQ(result.sent, 3u);
  EXPECT_EQ(result.http_errors, 0u);
  EXPECT_EQ(result.transport_errors, 3u);
  ASSERT_EQ(result.transport_error_reasons.size(), 1u);
  EXPECT_EQ(result.transport_error_reasons[0].reason, "connection refused");
  EXPECT_EQ(result.transport_error_reasons[0].count, 3u);
  EXPECT_NE(result.transport_error_reasons[0].first_message.find("Connection refused"),
            std::string::npos)
      << result.transport_error_reasons[0].first_message;
  for (const LedgerEntry& e : result.ledger) {
    EXPECT_EQ(e.outcome, RequestOutcome::kTransportError);
  }
}

std::map<std::string, std::string> BaggageOf(const GrpcInbound& in) {
  std::map<std::string, std::string> members;
  const std::string field = MetadataValue(in, kBaggageHeader);
  for (const BaggageMember& m : ParseBaggage({field})) members[m.key] = m.value;
  return members;
}

TEST(GrpcEntryTest, ExternalEntryCallsTheFullMethodWithAnEmptyMessage) {
  for (const std::string route :
       {"tracerig.sim.v1.SimService/Call", "/tracerig.sim.v1.SimService/Call"}) {
    SCOPED_TRACE(route);
    GrpcLoopbackServer server(Answer::kOk);
    const Scenario scenario = ExternalGrpcEntry(server, route, 10);
    InMemorySpanSink sink;
    DriverOptions options;
    options.threads = 1;
    options.id_seed = 3;
    const DriverResult result = RunDriver(scenario, TargetsOf(scenario), sink, options);
    EXPECT_EQ(result.ok, 10u);
    const auto seen = server.seen();
    ASSERT_EQ(seen.size(), 10u);
    for (const LedgerEntry& e : result.ledger) {
      auto it = seen.find(std::to_string(e.sequence));
      ASSERT_NE(it, seen.end());
      const GrpcInbound& in = it->second;
      // Zero bytes: a CallRequest with no route and no payload.
      EXPECT_EQ(in.route, "");
      EXPECT_EQ(in.payload_bytes, 0u);
      const std::string request_id = FormatRequestId(e.request_id);
      EXPECT_EQ(MetadataValue(in, std::string(kRequestIdHeader)), request_id);
      EXPECT_EQ(MetadataValue(in, "tracestate"), "tracerig=" + request_id);
      const auto baggage = BaggageOf(in);
      EXPECT_EQ(baggage.size(), 4u) << MetadataValue(in, kBaggageHeader);
      EXPECT_EQ(baggage.at(std::string(kRequestIdBaggageKey)), request_id);
      EXPECT_EQ(baggage.at(std::string(kSequenceBaggageKey)), std::to_string(e.sequence));
      EXPECT_EQ(baggage.at(std::string(kHopBaggageKey)), "0");
    }
    for (const Span& root : sink.spans()) {
      EXPECT_EQ(StringAttribute(root, "rpc.service"), "tracerig.sim.v1.SimService");
      EXPECT_EQ(StringAttribute(root, "rpc.method"), "Call");
      EXPECT_EQ(StringAttribute(root, "server.address"), "127.0.0.1");
    }
  }
}

TEST(GrpcEntryTest, ExternalEntryWithAPlainRouteNameCallsSimService) {
  GrpcLoopbackServer server(Answer::kOk);
  const Scenario scenario = ExternalGrpcEntry(server, "GetStock", 5);
  InMemorySpanSink sink;
  DriverOptions options;
  options.threads = 1;
  options.id_seed = 4;
  const DriverResult result = RunDriver(scenario, TargetsOf(scenario), sink, options);
  EXPECT_EQ(result.ok, 5u);
  for (const auto& [seq, in] : server.seen()) {
    EXPECT_EQ(in.route, "GetStock");
    EXPECT_NE(MetadataValue(in, kBaggageHeader), "<missing>");
  }
}

TEST(GrpcEntryTest, AnUnknownFullMethodIsUnimplemented) {
  GrpcLoopbackServer server(Answer::kOk);
  const Scenario scenario = ExternalGrpcEntry(server, "shop.v1.Cart/GetCart", 3);
  InMemorySpanSink sink;
  DriverOptions options;
  options.threads = 1;
  options.id_seed = 5;
  const DriverResult result = RunDriver(scenario, TargetsOf(scenario), sink, options);
  EXPECT_EQ(result.ok, 0u);
  EXPECT_EQ(result.http_errors, 3u);
  EXPECT_EQ(server.calls(), 0u);
  for (const Span& root : sink.spans()) {
    EXPECT_EQ(IntAttribute(root, "rpc.grpc.status_code"), kGrpcUnimplemented);
    EXPECT_EQ(StringAttribute(root, "rpc.service"), "shop.v1.Cart");
    EXPECT_EQ(StringAttribute(root, "rpc.method"), "GetCart");
  }
}

}  // namespace
}  // namespace tracerig
