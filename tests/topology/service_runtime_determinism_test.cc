// The simulated services over real loopback sockets, many requests at a time: the same scenario
// and seed give the same span trees, the ones the per-request expected tree predicts, on any number
// of replicas sharing a service's port.
#include "topology/topology_runtime.h"

#include <gtest/gtest.h>
#include <sys/socket.h>

#include <algorithm>
#include <map>
#include <set>

#include "core/ledger.h"
#include "tests/topology/service_runtime_test_support.h"
#include "topology/decisions.h"
#include "topology/expected_tree.h"
#include "topology/ground_truth.h"

namespace tracerig {
namespace {

using runtime_test_support::Attr;
using runtime_test_support::Find;
using runtime_test_support::JustA;
using runtime_test_support::kRootSpan;
using runtime_test_support::kTrace;
using runtime_test_support::MakeFault;
using runtime_test_support::Rt;
using runtime_test_support::SendRoot;
using runtime_test_support::Seq;
using runtime_test_support::Svc;
using runtime_test_support::To;

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
