// LoadDriver with an external (real) entry service, against loopback servers standing in for it:
// the target computed from the service's URL, the Host header and url.full, the ground truth as
// W3C baggage and a tracestate member besides tracerig's headers, transport errors by reason (a
// refused connection, a TLS certificate that does not verify), HTTPS with the service's CA file,
// and a bad CA file stopping the run before it starts.
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/span_sink.h"
#include "driver/load_driver.h"
#include "driver/schedule.h"
#include "propagation/baggage.h"
#include "propagation/w3c.h"
#include "tests/net/tls_test_support.h"
#include "tests/support/loopback_server.h"
#include "topology/expected_tree.h"
#include "topology/ground_truth.h"
#include "topology/service_target.h"

namespace tracerig {
namespace {

using test_support::CaptureServer;

constexpr uint64_t kMillisecond = 1'000'000;

// `requests` requests at 1000/s to the external service "shop" at `url`, route "GET /hello".
Scenario ExternalEntry(const std::string& url, uint64_t requests,
                       std::vector<std::string> propagation = {"tracecontext"}) {
  Scenario scenario;
  scenario.name = "external-entry-test";
  Service service;
  service.name = "shop";
  service.external_url = url;
  service.extract = std::move(propagation);
  scenario.services.push_back(service);
  scenario.load.model = LoadModel::kCount;
  scenario.load.requests = requests;
  scenario.load.rate = 1000;
  scenario.load.duration_ns = requests * kMillisecond;
  scenario.load.entries = {{"shop", "GET /hello", 1.0}};
  return scenario;
}

std::vector<ServiceTarget> TargetsOf(const Scenario& scenario) {
  // No simulated service runs: asking for a bound endpoint would be a bug.
  auto targets = ResolveEntryTargets(scenario, [](std::string_view service) {
    ADD_FAILURE() << "asked for the bound endpoint of " << service;
    return std::optional<tcp::endpoint>();
  });
  EXPECT_TRUE(targets) << (targets ? "" : targets.error().message);
  return targets ? std::move(*targets) : std::vector<ServiceTarget>{};
}

DriverResult Drive(const Scenario& scenario, std::vector<ServiceTarget> targets, SpanSink& sink,
                   DriverOptions options = {}) {
  auto schedule = MakeSchedule(scenario.load, 1);
  EXPECT_TRUE(schedule) << schedule.error().message;
  if (options.id_seed == 0) options.id_seed = 5;
  LoadDriver driver(scenario, std::move(targets), std::move(*schedule), sink,
                    SystemClock::Instance(), options);
  std::atomic<bool> stop{false};
  return driver.Run(stop);
}

std::string Header(const HttpRequest& request, std::string_view name) {
  auto it = request.find(beast::string_view(name.data(), name.size()));
  return it == request.end() ? "<missing>" : std::string(it->value());
}

size_t HeaderCount(const HttpRequest& request, std::string_view name) {
  return request.count(beast::string_view(name.data(), name.size()));
}

std::string StringAttribute(const Span& span, std::string_view key) {
  const AttributeValue* v = span.FindAttribute(key);
  return v != nullptr && std::holds_alternative<std::string>(*v) ? std::get<std::string>(*v)
                                                                 : "<missing>";
}

// The baggage header's members as key -> value.
std::map<std::string, std::string> BaggageOf(const HttpRequest& request) {
  std::map<std::string, std::string> members;
  const std::string field = Header(request, kBaggageHeader);
  for (const BaggageMember& m : ParseBaggage({field})) members[m.key] = m.value;
  return members;
}

uint64_t SumOfReasons(const DriverResult& result) {
  uint64_t sum = 0;
  for (const auto& r : result.transport_error_reasons) sum += r.count;
  return sum;
}

TEST(ExternalEntryTest, TargetComesFromTheUrl) {
  struct Case {
    std::string url;
    std::string authority;
    std::string base_url;
    std::string host;
    uint16_t port;
  };
  const Case cases[] = {
      {"http://127.0.0.1:8080", "127.0.0.1:8080", "http://127.0.0.1:8080", "127.0.0.1", 8080},
      {"http://127.0.0.1", "127.0.0.1", "http://127.0.0.1", "127.0.0.1", 80},
      {"http://127.0.0.1:9/api/", "127.0.0.1:9", "http://127.0.0.1:9/api", "127.0.0.1", 9},
      {"http://[::1]:8080", "[::1]:8080", "http://[::1]:8080", "::1", 8080},
      {"http://localhost:81", "localhost:81", "http://localhost:81", "localhost", 81},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.url);
    const std::vector<ServiceTarget> targets = TargetsOf(ExternalEntry(c.url, 1));
    ASSERT_EQ(targets.size(), 1u);
    const ServiceTarget& t = targets[0];
    EXPECT_TRUE(t.external);
    EXPECT_FALSE(t.tls);
    EXPECT_EQ(t.authority, c.authority);
    EXPECT_EQ(t.base_url, c.base_url);
    EXPECT_EQ(t.host, c.host);
    EXPECT_EQ(t.port, c.port);
    EXPECT_EQ(t.endpoint.port(), c.port);
    EXPECT_TRUE(t.endpoint.address().is_loopback()) << t.endpoint.address().to_string();
  }
}

TEST(ExternalEntryTest, SimulatedEntriesKeepTheirBoundEndpoint) {
  Scenario scenario = ExternalEntry("http://127.0.0.1:1", 1);
  scenario.services[0].external_url.clear();
  const tcp::endpoint bound(asio::ip::make_address("127.0.0.1"), 4242);
  auto targets = ResolveEntryTargets(scenario, [&](std::string_view service) {
    EXPECT_EQ(service, "shop");
    return std::optional<tcp::endpoint>(bound);
  });
  ASSERT_TRUE(targets) << targets.error().message;
  ASSERT_EQ(targets->size(), 1u);
  EXPECT_FALSE((*targets)[0].external);
  EXPECT_EQ((*targets)[0].endpoint, bound);
  EXPECT_EQ((*targets)[0].authority, "");  // Host: the service's name, as before
  EXPECT_EQ((*targets)[0].base_url, "http://127.0.0.1:4242");
}

TEST(ExternalEntryTest, UnusableUrlsAndFilesStopTheRunNamingThem) {
  Scenario scenario = ExternalEntry("ftp://127.0.0.1:21", 1);
  auto targets = ResolveEntryTargets(scenario, {});
  ASSERT_FALSE(targets);
  EXPECT_EQ(targets.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(targets.error().message.find("service \"shop\""), std::string::npos)
      << targets.error().message;

  scenario = ExternalEntry("https://127.0.0.1:8443", 1);
  scenario.services[0].ca_file = "/nonexistent/ca.pem";
  targets = ResolveEntryTargets(scenario, {});
  ASSERT_FALSE(targets);
  EXPECT_EQ(targets.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(targets.error().message, "service \"shop\": ca_file /nonexistent/ca.pem: no such file");

  scenario = ExternalEntry("http://no-such-host.invalid:80", 1);
  targets = ResolveEntryTargets(scenario, {});
  ASSERT_FALSE(targets);
  EXPECT_EQ(targets.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(targets.error().message.find("no-such-host.invalid"), std::string::npos)
      << targets.error().message;
}

TEST(ExternalEntryTest, RequestsCarryHostUrlBaggageAndTracestate) {
  CaptureServer server;
  const Scenario scenario = ExternalEntry(server.url(), 30);
  InMemorySpanSink sink;
  DriverOptions options;
  options.threads = 2;
  const DriverResult result = Drive(scenario, TargetsOf(scenario), sink, options);

  EXPECT_EQ(result.ok, 30u);
  EXPECT_EQ(result.transport_errors, 0u);
  EXPECT_TRUE(result.transport_error_reasons.empty());
  ASSERT_EQ(result.ledger.size(), 30u);
  const std::vector<HttpRequest> requests = server.requests();
  ASSERT_EQ(requests.size(), 30u);
  std::map<std::string, const HttpRequest*> by_sequence;
  for (const HttpRequest& r : requests) by_sequence[Header(r, kSequenceHeader)] = &r;
  const std::string authority = "127.0.0.1:" + std::to_string(server.endpoint().port());
  for (const LedgerEntry& e : result.ledger) {
    SCOPED_TRACE("request " + std::to_string(e.sequence));
    auto it = by_sequence.find(std::to_string(e.sequence));
    ASSERT_NE(it, by_sequence.end());
    const HttpRequest& r = *it->second;
    const std::string request_id = FormatRequestId(e.request_id);
    EXPECT_EQ(r.target(), "/hello");
    EXPECT_EQ(Header(r, "host"), authority);
    // tracerig's own ground-truth headers still go.
    EXPECT_EQ(Header(r, kRequestIdHeader), request_id);
    EXPECT_EQ(Header(r, kHopHeader), "0");
    auto traceparent = ParseTraceparent(Header(r, "traceparent"));
    ASSERT_TRUE(traceparent.has_value()) << Header(r, "traceparent");
    EXPECT_EQ(traceparent->trace_id, e.trace_id);
    EXPECT_EQ(traceparent->parent_id, e.root_span_id);
    EXPECT_EQ(Header(r, "tracestate"), "tracerig=" + request_id);
    EXPECT_EQ(HeaderCount(r, kBaggageHeader), 1u);
    const auto baggage = BaggageOf(r);
    EXPECT_EQ(baggage.size(), 4u) << Header(r, kBaggageHeader);
    EXPECT_EQ(baggage.at(std::string(kRequestIdBaggageKey)), request_id);
    EXPECT_EQ(baggage.at(std::string(kSequenceBaggageKey)), std::to_string(e.sequence));
    EXPECT_EQ(baggage.at(std::string(kHopBaggageKey)), "0");
    EXPECT_EQ(baggage.at(std::string(kOffsetBaggageKey)), Header(r, kOffsetHeader));
  }
  const std::vector<Span> spans = sink.spans();
  ASSERT_EQ(spans.size(), 30u);
  for (const Span& root : spans) {
    EXPECT_EQ(StringAttribute(root, "url.full"), "http://" + authority + "/hello");
    EXPECT_EQ(StringAttribute(root, "server.address"), "127.0.0.1");
    EXPECT_EQ(StringAttribute(root, "peer.service"), "shop");
  }
}

TEST(ExternalEntryTest, BaggageFormatWritesTheMembersOnceAndNoTracestateWithoutTracecontext) {
  CaptureServer server;
  const Scenario scenario = ExternalEntry(server.url() + "/api", 5, {"b3", "baggage"});
  InMemorySpanSink sink;
  const DriverResult result = Drive(scenario, TargetsOf(scenario), sink);
  EXPECT_EQ(result.ok, 5u);
  const std::vector<HttpRequest> requests = server.requests();
  ASSERT_EQ(requests.size(), 5u);
  for (const HttpRequest& r : requests) {
    EXPECT_EQ(r.target(), "/api/hello");  // the URL's path, then the route's
    EXPECT_NE(Header(r, "b3"), "<missing>");
    EXPECT_EQ(Header(r, "tracestate"), "<missing>");
    EXPECT_EQ(HeaderCount(r, kBaggageHeader), 1u);
    const auto baggage = BaggageOf(r);
    EXPECT_EQ(baggage.size(), 4u) << Header(r, kBaggageHeader);
    EXPECT_EQ(baggage.at(std::string(kRequestIdBaggageKey)), Header(r, kRequestIdHeader));
  }
}

TEST(ExternalEntryTest, SimulatedEntriesGetNoBaggageOrTracestate) {
  CaptureServer server;
  Scenario scenario = ExternalEntry("", 5);
  scenario.services[0].external_url.clear();
  InMemorySpanSink sink;
  const DriverResult result = Drive(scenario, {server.endpoint()}, sink);
  EXPECT_EQ(result.ok, 5u);
  for (const HttpRequest& r : server.requests()) {
    EXPECT_EQ(Header(r, "host"), "shop");
    EXPECT_EQ(Header(r, kBaggageHeader), "<missing>");
    EXPECT_EQ(Header(r, "tracestate"), "<missing>");
  }
}

// A port nothing listens on: bound, then closed.
uint16_t ClosedPort() {
  asio::io_context ioc;
  tcp::acceptor acceptor(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  const uint16_t port = acceptor.local_endpoint().port();
  acceptor.close();
  return port;
}

TEST(ExternalEntryTest, NothingListeningIsConnectionRefused) {
  const uint16_t port = ClosedPort();
  const Scenario scenario = ExternalEntry("http://127.0.0.1:" + std::to_string(port), 20);
  InMemorySpanSink sink;
  DriverOptions options;
  options.threads = 2;
  const DriverResult result = Drive(scenario, TargetsOf(scenario), sink, options);
  EXPECT_EQ(result.ok, 0u);
  EXPECT_EQ(result.transport_errors, 20u);
  ASSERT_EQ(result.transport_error_reasons.size(), 1u);
  const TransportErrorReason& reason = result.transport_error_reasons[0];
  EXPECT_EQ(reason.reason, "connection refused");
  EXPECT_EQ(reason.count, 20u);
  EXPECT_EQ(reason.first_message,
            "connect: Connection refused (127.0.0.1:" + std::to_string(port) + ")");
  EXPECT_EQ(SumOfReasons(result), result.transport_errors);
}

TEST(ExternalEntryTest, ReasonsSumToTransportErrorsWithUnansweredOnesAtTheDrain) {
  // A server that never answers: every request is still in flight at the drain deadline.
  std::unique_ptr<test_support::LoopbackServer> server;
  server = std::make_unique<test_support::LoopbackServer>(
      [&](HttpRequest&& request, HttpResponder respond) {
        auto timer = std::make_shared<asio::steady_timer>(server->ioc());
        timer->expires_after(std::chrono::seconds(60));  // outlives the test: never answered
        timer->async_wait([timer, respond = std::move(respond),
                           response = MakeResponse(request, http::status::ok, "text/plain", "ok")](
                              beast::error_code ec) mutable {
          if (!ec) respond(std::move(response));
        });
      });
  const Scenario scenario = ExternalEntry(server->url(), 4);
  InMemorySpanSink sink;
  DriverOptions options;
  options.threads = 1;
  options.drain_timeout_ns = 100 * kMillisecond;
  const DriverResult result = Drive(scenario, TargetsOf(scenario), sink, options);
  EXPECT_EQ(result.unfinished, 4u);
  EXPECT_EQ(result.transport_errors, 4u);
  ASSERT_EQ(result.transport_error_reasons.size(), 1u);
  EXPECT_EQ(result.transport_error_reasons[0].reason, "unanswered at drain");
  EXPECT_EQ(result.transport_error_reasons[0].count, 4u);
  EXPECT_EQ(result.transport_error_reasons[0].first_message,
            "no answer within the drain timeout (100 ms after the load ended)");
}

class HttpsEntryTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(pki_.status().ok()) << pki_.status().error().message; }

  // An HTTPS server with the test PKI's 127.0.0.1/localhost certificate, recording Host headers.
  std::unique_ptr<testing::TlsFakeServer> StartServer() {
    auto server = std::make_unique<testing::TlsFakeServer>(
        testing::TlsServerOptions{pki_.File("server.pem"), pki_.File("server.key"), ""},
        [this](const HttpRequest& request) {
          {
            std::lock_guard lock(mu_);
            hosts_.push_back(Header(request, "host"));
            baggage_.push_back(Header(request, kBaggageHeader));
          }
          HttpResponse response{http::status::ok, request.version()};
          response.body() = "ok";
          response.prepare_payload();
          return response;
        });
    auto s = server->Start();
    EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error().message);
    return server;
  }

  testing::TestPki pki_;
  std::mutex mu_;
  std::vector<std::string> hosts_;
  std::vector<std::string> baggage_;
};

TEST_F(HttpsEntryTest, GrpcOverHttpsReadsTheServicesFilesForItsChannel) {
  Scenario scenario = ExternalEntry("https://localhost:8443", 1);
  scenario.services[0].protocol = Protocol::kGrpc;
  scenario.services[0].ca_file = pki_.File("ca.pem");
  scenario.services[0].client_cert = pki_.File("client.pem");
  scenario.services[0].client_key = pki_.File("client.key");
  const std::vector<ServiceTarget> targets = TargetsOf(scenario);
  ASSERT_EQ(targets.size(), 1u);
  EXPECT_TRUE(targets[0].tls);
  EXPECT_EQ(targets[0].tls_context, nullptr);
  ASSERT_NE(targets[0].grpc_tls, nullptr);
  EXPECT_EQ(targets[0].grpc_tls->root_certs_pem, pki_.ReadFile("ca.pem"));
  EXPECT_EQ(targets[0].grpc_tls->cert_chain_pem, pki_.ReadFile("client.pem"));
  EXPECT_EQ(targets[0].grpc_tls->private_key_pem, pki_.ReadFile("client.key"));

  // A key that is not the certificate's stops the run, naming both files.
  scenario.services[0].client_key = pki_.File("server.key");
  auto bad = ResolveEntryTargets(scenario, {});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(bad.error().message, "service \"shop\": client_key " + pki_.File("server.key") +
                                     " does not match client_cert " + pki_.File("client.pem"));
}

TEST_F(HttpsEntryTest, HttpsWithTheServicesCaFile) {
  for (const std::string host : {"127.0.0.1", "localhost"}) {
    SCOPED_TRACE(host);
    auto server = StartServer();
    const std::string authority = host + ":" + std::to_string(server->port());
    Scenario scenario = ExternalEntry("https://" + authority, 20);
    scenario.services[0].ca_file = pki_.File("ca.pem");
    const std::vector<ServiceTarget> targets = TargetsOf(scenario);
    ASSERT_EQ(targets.size(), 1u);
    EXPECT_TRUE(targets[0].tls);
    InMemorySpanSink sink;
    DriverOptions options;
    options.threads = 2;
    const DriverResult result = Drive(scenario, targets, sink, options);
    EXPECT_EQ(result.ok, 20u);
    EXPECT_EQ(result.transport_errors, 0u);
    EXPECT_EQ(server->requests(), 20u);
    // Keep-alive: far fewer handshakes than requests.
    EXPECT_LE(server->handshakes(), 20u);
    std::lock_guard lock(mu_);
    ASSERT_EQ(hosts_.size(), 20u);
    for (const std::string& h : hosts_) EXPECT_EQ(h, authority);
    for (const std::string& b : baggage_) EXPECT_NE(b.find("tracerig.request_id="), std::string::npos);
    for (const Span& root : sink.spans()) {
      EXPECT_EQ(StringAttribute(root, "url.full"), "https://" + authority + "/hello");
    }
    hosts_.clear();
    baggage_.clear();
  }
}

TEST_F(HttpsEntryTest, AnUntrustedCertificateIsATlsHandshakeError) {
  auto server = StartServer();
  Scenario scenario = ExternalEntry("https://127.0.0.1:" + std::to_string(server->port()), 5);
  scenario.services[0].ca_file = pki_.File("other-ca.pem");
  InMemorySpanSink sink;
  DriverOptions options;
  options.threads = 1;
  const DriverResult result = Drive(scenario, TargetsOf(scenario), sink, options);
  EXPECT_EQ(result.ok, 0u);
  EXPECT_EQ(result.transport_errors, 5u);
  EXPECT_EQ(server->requests(), 0u);
  ASSERT_EQ(result.transport_error_reasons.size(), 1u);
  EXPECT_EQ(result.transport_error_reasons[0].reason, "tls handshake");
  const std::string& message = result.transport_error_reasons[0].first_message;
  EXPECT_EQ(message.rfind("tls handshake: ", 0), 0u) << message;
  EXPECT_NE(message.find("certificate verify failed"), std::string::npos) << message;
}

TEST_F(HttpsEntryTest, HttpsToAPlainHttpServerIsATlsHandshakeError) {
  CaptureServer plain;
  Scenario scenario =
      ExternalEntry("https://127.0.0.1:" + std::to_string(plain.endpoint().port()), 3);
  scenario.services[0].ca_file = pki_.File("ca.pem");
  InMemorySpanSink sink;
  DriverOptions options;
  options.threads = 1;
  DriverResult result = Drive(scenario, TargetsOf(scenario), sink, options);
  EXPECT_EQ(result.transport_errors, 3u);
  ASSERT_EQ(result.transport_error_reasons.size(), 1u);
  EXPECT_EQ(result.transport_error_reasons[0].reason, "tls handshake");
}

}  // namespace
}  // namespace tracerig
