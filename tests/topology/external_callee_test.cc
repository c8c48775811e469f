// A simulated service calling a real (external) service the way the driver calls an external
// entry: over TLS for an https:// URL (verified against the service's ca_file), with the URL's
// host and port as the Host header and its path as a prefix of the route's path.
#include <gtest/gtest.h>

#include <mutex>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/span_sink.h"
#include "tests/net/tls_test_support.h"
#include "tests/topology/service_runtime_test_support.h"
#include "topology/topology_runtime.h"

namespace tracerig {
namespace {

using runtime_test_support::Rt;
using runtime_test_support::SendRoot;
using runtime_test_support::Seq;
using runtime_test_support::Svc;
using runtime_test_support::To;

struct Seen {
  std::mutex mu;
  std::vector<std::string> hosts;
  std::vector<std::string> targets;
};

std::unique_ptr<testing::TlsFakeServer> StartHttps(const testing::TestPki& pki, Seen& seen) {
  auto server = std::make_unique<testing::TlsFakeServer>(
      testing::TlsServerOptions{pki.File("server.pem"), pki.File("server.key"), ""},
      [&seen](const HttpRequest& request) {
        {
          std::lock_guard lock(seen.mu);
          auto host = request.find(http::field::host);
          seen.hosts.push_back(host == request.end() ? "" : std::string(host->value()));
          seen.targets.push_back(std::string(request.target()));
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

Scenario CallsHttps(uint16_t port, const std::string& ca_file) {
  Scenario s;
  s.seed = 5;
  s.services = {Svc("a", {Rt("GET /a", {Seq(To("ext", "POST /score"))})}),
                Svc("ext", {Rt("POST /score")})};
  s.services[1].external_url = "https://localhost:" + std::to_string(port) + "/api/";
  s.services[1].ca_file = ca_file;
  return s;
}

TEST(ExternalCalleeTest, HttpsCalleeIsCalledOverTlsWithItsHostAndPath) {
  testing::TestPki pki;
  ASSERT_TRUE(pki.status().ok()) << pki.status().error().message;
  Seen seen;
  auto server = StartHttps(pki, seen);
  Scenario s = CallsHttps(server->port(), pki.File("ca.pem"));
  InMemorySpanSink sink;
  TopologyRuntime topology(s, sink, SystemClock::Instance(), TopologyOptions{});
  auto started = topology.Start();
  ASSERT_TRUE(started.ok()) << started.error().message;
  EXPECT_EQ(SendRoot(*topology.EndpointOf("a"), "GET /a", 0), 200u);
  topology.Stop();
  EXPECT_EQ(topology.stats().call_failures, 0u);
  std::lock_guard lock(seen.mu);
  ASSERT_EQ(seen.hosts.size(), 1u);
  EXPECT_EQ(seen.hosts[0], "localhost:" + std::to_string(server->port()));
  EXPECT_EQ(seen.targets[0], "/api/score");
  EXPECT_EQ(server->handshakes(), 1u);
}

TEST(ExternalCalleeTest, AnUntrustedHttpsCalleeFailsTheCallInsteadOfSpeakingPlainHttp) {
  testing::TestPki pki;
  ASSERT_TRUE(pki.status().ok()) << pki.status().error().message;
  Seen seen;
  auto server = StartHttps(pki, seen);
  Scenario s = CallsHttps(server->port(), pki.File("other-ca.pem"));
  InMemorySpanSink sink;
  TopologyRuntime topology(s, sink, SystemClock::Instance(), TopologyOptions{});
  auto started = topology.Start();
  ASSERT_TRUE(started.ok()) << started.error().message;
  EXPECT_EQ(SendRoot(*topology.EndpointOf("a"), "GET /a", 0), 502u);
  topology.Stop();
  EXPECT_EQ(topology.stats().call_failures, 1u);
  std::lock_guard lock(seen.mu);
  EXPECT_TRUE(seen.hosts.empty());
}

TEST(ExternalCalleeTest, AMissingCaFileStopsTheStartNamingIt) {
  Scenario s = CallsHttps(8443, "/nonexistent/ca.pem");
  InMemorySpanSink sink;
  TopologyRuntime topology(s, sink, SystemClock::Instance(), TopologyOptions{});
  auto started = topology.Start();
  ASSERT_FALSE(started.ok());
  EXPECT_NE(started.error().message.find("/nonexistent/ca.pem"), std::string::npos)
      << started.error().message;
  EXPECT_NE(started.error().message.find("service \"ext\""), std::string::npos)
      << started.error().message;
}

}  // namespace
}  // namespace tracerig
