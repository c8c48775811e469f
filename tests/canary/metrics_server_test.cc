// MetricsServer over a real loopback socket: the exposition page and its content type, /healthz
// healthy then not, unknown paths and methods, a port in use, and Stop().
#include "canary/metrics_server.h"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <string>

#include "net/beast.h"

namespace tracerig {
namespace {

struct Answer {
  unsigned status = 0;
  std::string content_type;
  std::string allow;
  std::string body;
};

// One request on a fresh connection, with a plain Beast client (the answer's headers matter).
Answer Request(const tcp::endpoint& endpoint, http::verb method, const std::string& target) {
  asio::io_context ioc;
  beast::tcp_stream stream(ioc);
  stream.expires_after(std::chrono::seconds(10));
  stream.connect(endpoint);
  HttpRequest request{method, target, 11};
  request.set(http::field::host, "127.0.0.1");
  http::write(stream, request);
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  if (method == http::verb::head) parser.skip(true);
  http::read(stream, buffer, parser);
  const HttpResponse& response = parser.get();
  Answer answer;
  answer.status = response.result_int();
  answer.content_type = std::string(response[http::field::content_type]);
  answer.allow = std::string(response[http::field::allow]);
  answer.body = response.body();
  return answer;
}

const tcp::endpoint kLoopbackAnyPort(asio::ip::make_address("127.0.0.1"), 0);

TEST(MetricsServerTest, ServesTheRegistryAndHealth) {
  MetricsRegistry registry;
  registry.DeclareCounter("served_total", "Things served.", {"kind"});
  registry.Add("served_total", {"a\"b"}, 3);

  std::mutex mu;
  std::string unhealthy;
  MetricsServerOptions options;
  options.unhealthy_reason = [&] {
    std::lock_guard lock(mu);
    return unhealthy;
  };
  auto server = MetricsServer::Start(kLoopbackAnyPort, registry, options);
  ASSERT_TRUE(server.ok()) << server.error().message;
  const tcp::endpoint endpoint = (*server)->local_endpoint();
  ASSERT_NE(endpoint.port(), 0);
  EXPECT_EQ((*server)->Url(), "http://127.0.0.1:" + std::to_string(endpoint.port()));

  Answer metrics = Request(endpoint, http::verb::get, "/metrics");
  EXPECT_EQ(metrics.status, 200u);
  EXPECT_EQ(metrics.content_type, "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(metrics.body,
            "# HELP served_total Things served.\n"
            "# TYPE served_total counter\n"
            "served_total{kind=\"a\\\"b\"} 3\n");

  // Each scrape renders afresh; a query string does not matter.
  registry.Add("served_total", {"a\"b"});
  EXPECT_NE(Request(endpoint, http::verb::get, "/metrics?x=1").body.find("} 4\n"),
            std::string::npos);

  Answer healthy = Request(endpoint, http::verb::get, "/healthz");
  EXPECT_EQ(healthy.status, 200u);
  EXPECT_EQ(healthy.body, "ok\n");

  {
    std::lock_guard lock(mu);
    unhealthy = "the canary loop stopped: backend query client failed";
  }
  Answer sick = Request(endpoint, http::verb::get, "/healthz");
  EXPECT_EQ(sick.status, 503u);
  EXPECT_EQ(sick.body, "the canary loop stopped: backend query client failed\n");

  Answer missing = Request(endpoint, http::verb::get, "/");
  EXPECT_EQ(missing.status, 404u);
  EXPECT_NE(missing.body.find("/metrics"), std::string::npos) << missing.body;
  EXPECT_NE(missing.body.find("/healthz"), std::string::npos) << missing.body;

  Answer post = Request(endpoint, http::verb::post, "/metrics");
  EXPECT_EQ(post.status, 405u);
  EXPECT_EQ(post.allow, "GET");
  EXPECT_EQ(post.body, "method POST not allowed on /metrics: use GET\n");

  Answer head = Request(endpoint, http::verb::head, "/healthz");
  EXPECT_EQ(head.status, 405u);
  EXPECT_EQ(head.allow, "GET");
  EXPECT_EQ(head.body, "");

  (*server)->Stop();
  (*server)->Stop();  // idempotent
  asio::io_context ioc;
  tcp::socket socket(ioc);
  beast::error_code ec;
  socket.connect(endpoint, ec);
  EXPECT_TRUE(ec) << "still accepting after Stop()";
}

TEST(MetricsServerTest, HealthyWithoutAReasonFunction) {
  MetricsRegistry registry;
  auto server = MetricsServer::Start(kLoopbackAnyPort, registry);
  ASSERT_TRUE(server.ok()) << server.error().message;
  Answer healthy = Request((*server)->local_endpoint(), http::verb::get, "/healthz");
  EXPECT_EQ(healthy.status, 200u);
  EXPECT_EQ(healthy.body, "ok\n");
  EXPECT_EQ(Request((*server)->local_endpoint(), http::verb::get, "/metrics").body, "");
}

TEST(MetricsServerTest, PortInUseSaysSo) {
  MetricsRegistry registry;
  auto first = MetricsServer::Start(kLoopbackAnyPort, registry);
  ASSERT_TRUE(first.ok()) << first.error().message;
  const tcp::endpoint taken = (*first)->local_endpoint();
  auto second = MetricsServer::Start(taken, registry);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().code, ErrorCode::kUnavailable);
  const std::string port = std::to_string(taken.port());
  EXPECT_EQ(second.error().message,
            "cannot serve metrics on 127.0.0.1:" + port + ": port " + port + " is in use");
}

}  // namespace
}  // namespace tracerig
