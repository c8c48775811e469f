// The HTTP server and clients over real loopback sockets (port 0), including the error paths a
// bad peer or a restarting server produces.
#include <gtest/gtest.h>

#include <thread>

#include "net/http_client.h"
#include "net/http_server.h"

namespace tracerig {
namespace {

// A server on its own thread answering "echo: <method> <target> <body size>".
class EchoServer {
 public:
  explicit EchoServer(HttpServerOptions options = {}) {
    server_ = std::make_unique<HttpServer>(
        ioc_,
        [](HttpRequest&& request, HttpResponder respond) {
          std::string body = "echo: " + std::string(request.method_string()) + " " +
                             std::string(request.target()) + " " +
                             std::to_string(request.body().size());
          respond(MakeResponse(request, http::status::ok, "text/plain", body));
        },
        options);
    auto s = server_->Listen(tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    EXPECT_TRUE(s.ok());
    guard_.emplace(asio::make_work_guard(ioc_));
    thread_ = std::thread([this] { ioc_.run(); });
  }
  ~EchoServer() {
    guard_.reset();
    ioc_.stop();
    thread_.join();
  }
  uint16_t port() const { return server_->local_endpoint().port(); }
  const HttpServerStats& stats() const { return server_->stats(); }

 private:
  asio::io_context ioc_;
  std::unique_ptr<HttpServer> server_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> guard_;
  std::thread thread_;
};

TEST(HttpTest, BlockingClientKeepsConnectionAlive) {
  EchoServer server;
  BlockingHttpClient client("127.0.0.1", server.port());
  for (int i = 0; i < 3; ++i) {
    auto r = client.Request(http::verb::post, "/v1/traces", "application/x-protobuf", "abc");
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->status, 200u);
    EXPECT_EQ(r->body, "echo: POST /v1/traces 3");
  }
  EXPECT_EQ(server.stats().connections.load(), 1u);
  EXPECT_EQ(server.stats().requests.load(), 3u);
}

TEST(HttpTest, BodyOverLimitIs413AndCounted) {
  HttpServerOptions options;
  options.body_limit = 10;
  EchoServer server(options);
  BlockingHttpClient client("127.0.0.1", server.port());
  auto r = client.Request(http::verb::post, "/", "text/plain", std::string(100, 'x'));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->status, 413u);
  EXPECT_EQ(r->body, "request body exceeds the limit of 10 bytes\n");
  EXPECT_EQ(server.stats().too_large.load(), 1u);
}

TEST(HttpTest, MalformedRequestIs400) {
  EchoServer server;
  asio::io_context ioc;
  tcp::socket socket(ioc);
  socket.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), server.port()));
  std::string garbage = "NOT AN HTTP REQUEST\r\n\r\n";
  asio::write(socket, asio::buffer(garbage));
  std::string reply;
  beast::error_code ec;
  char buf[512];
  for (;;) {
    size_t n = socket.read_some(asio::buffer(buf), ec);
    if (ec) break;
    reply.append(buf, n);
  }
  EXPECT_NE(reply.find("HTTP/1.1 400 Bad Request"), std::string::npos) << reply;
  EXPECT_NE(reply.find("malformed HTTP request"), std::string::npos) << reply;
  EXPECT_EQ(server.stats().bad_requests.load(), 1u);
}

TEST(HttpTest, RefusedConnectionIsATransportError) {
  // Bind then close a socket to get a port with nothing listening.
  uint16_t port;
  {
    asio::io_context ioc;
    tcp::acceptor acceptor(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    port = acceptor.local_endpoint().port();
  }
  BlockingHttpClient client("127.0.0.1", port);
  auto r = client.Get("/");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("cannot connect to 127.0.0.1:" + std::to_string(port)),
            std::string::npos)
      << r.error().message;
}

TEST(HttpTest, PoolSendsConcurrentRequestsAndReusesConnections) {
  EchoServer server;
  asio::io_context ioc;
  HttpClientPool pool(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), server.port()));
  int done = 0;
  int ok = 0;
  for (int i = 0; i < 20; ++i) {
    HttpRequest request{http::verb::get, "/item/" + std::to_string(i), 11};
    pool.Send(std::move(request), [&, i](beast::error_code ec, HttpResponse&& response) {
      ++done;
      if (!ec && response.body() == "echo: GET /item/" + std::to_string(i) + " 0") ++ok;
    });
  }
  ioc.run();
  EXPECT_EQ(done, 20);
  EXPECT_EQ(ok, 20);
  // A second wave reuses the idle connections instead of opening new ones.
  const uint64_t connections = server.stats().connections.load();
  for (int i = 0; i < 5; ++i) {
    pool.Send(HttpRequest{http::verb::get, "/again", 11},
              [&](beast::error_code ec, HttpResponse&&) { ok += ec ? 0 : 1; });
  }
  ioc.restart();
  ioc.run();
  EXPECT_EQ(ok, 25);
  EXPECT_EQ(server.stats().connections.load(), connections);
}

TEST(HttpTest, PoolRetriesWhenTheServerClosedAnIdleConnection) {
  // The server closes keep-alive connections after one request (HTTP/1.0 style).
  asio::io_context server_ioc;
  HttpServer server(server_ioc, [](HttpRequest&& request, HttpResponder respond) {
    auto response = MakeResponse(request, http::status::ok, "text/plain", "once");
    response.keep_alive(false);
    respond(std::move(response));
  });
  ASSERT_TRUE(server.Listen(tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)).ok());
  std::thread t([&] { server_ioc.run_for(std::chrono::seconds(10)); });

  asio::io_context ioc;
  HttpClientPool pool(ioc, server.local_endpoint());
  int ok = 0;
  for (int wave = 0; wave < 3; ++wave) {
    pool.Send(HttpRequest{http::verb::get, "/", 11},
              [&](beast::error_code ec, HttpResponse&& r) { ok += (!ec && r.body() == "once"); });
    ioc.restart();
    ioc.run();
  }
  EXPECT_EQ(ok, 3);
  EXPECT_EQ(server.stats().connections.load(), 3u);
  server_ioc.stop();
  t.join();
}

}  // namespace
}  // namespace tracerig
