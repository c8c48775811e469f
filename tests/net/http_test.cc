// The HTTP server and clients over real loopback sockets (port 0), including the error paths a
// bad peer or a restarting server produces.
#include <gtest/gtest.h>

#include <boost/asio/read_until.hpp>

#include <string>
#include <thread>
#include <vector>

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
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
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

// One connection, responses of every size around the client's 16 KiB read chunk: the reused
// parser and buffer must frame each one exactly.
TEST(HttpTest, PoolReusesOneConnectionForResponsesOfEverySize) {
  asio::io_context server_ioc;
  HttpServer server(server_ioc, [](HttpRequest&& request, HttpResponder respond) {
    const size_t size = std::stoul(std::string(request.target().substr(1)));
    respond(MakeResponse(request, http::status::ok, "text/plain", std::string(size, 'b')));
  });
  ASSERT_TRUE(server.Listen(tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)).ok());
  auto guard = asio::make_work_guard(server_ioc);
  std::thread t([&] { server_ioc.run(); });

  asio::io_context ioc;
  HttpClientPool pool(ioc, server.local_endpoint());
  const std::vector<size_t> sizes = {0, 1, 16383, 16384, 16385, 100000, 3, 0};
  std::vector<size_t> got;
  for (size_t size : sizes) {
    pool.Send(HttpRequest{http::verb::get, "/" + std::to_string(size), 11},
              [&](beast::error_code ec, HttpResponse&& r) {
                EXPECT_FALSE(ec) << ec.message();
                got.push_back(r.body().size());
              });
    ioc.restart();
    ioc.run();
  }
  EXPECT_EQ(got, sizes);
  EXPECT_EQ(server.stats().connections.load(), 1u);
  EXPECT_EQ(pool.open_connections(), 1u);
  guard.reset();
  server_ioc.stop();
  t.join();
}

// A raw peer answering with canned bytes, one reply per request it reads; closes after the last.
class CannedServer {
 public:
  explicit CannedServer(std::vector<std::string> replies)
      : acceptor_(ioc_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    thread_ = std::thread([this, replies = std::move(replies)] {
      tcp::socket socket(ioc_);
      acceptor_.accept(socket);
      std::string in;
      for (const std::string& reply : replies) {
        beast::error_code ec;
        asio::read_until(socket, asio::dynamic_buffer(in), "\r\n\r\n", ec);
        if (ec) return;
        in.erase(0, in.find("\r\n\r\n") + 4);
        asio::write(socket, asio::buffer(reply), ec);
      }
      socket.close();
    });
  }
  ~CannedServer() { thread_.join(); }
  tcp::endpoint endpoint() const { return acceptor_.local_endpoint(); }

 private:
  asio::io_context ioc_;
  tcp::acceptor acceptor_;
  std::thread thread_;
};

TEST(HttpTest, PoolReadsChunkedThenCloseDelimitedResponses) {
  CannedServer server({"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                       "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
                       "HTTP/1.1 201 Created\r\nConnection: close\r\n\r\nuntil-eof"});
  asio::io_context ioc;
  HttpClientPool pool(ioc, server.endpoint());
  std::vector<std::string> bodies;
  for (int i = 0; i < 2; ++i) {
    pool.Send(HttpRequest{http::verb::get, "/", 11}, [&](beast::error_code ec, HttpResponse&& r) {
      EXPECT_FALSE(ec) << ec.message();
      bodies.push_back(std::to_string(r.result_int()) + " " + r.body());
    });
    ioc.restart();
    ioc.run();
  }
  EXPECT_EQ(bodies, (std::vector<std::string>{"200 abcde", "201 until-eof"}));
  EXPECT_EQ(pool.open_connections(), 0u);  // the close-delimited response ended the connection
}

TEST(HttpTest, PoolReportsAResponseCutShortWithoutRetrying) {
  CannedServer server({"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"});
  asio::io_context ioc;
  HttpClientPool pool(ioc, server.endpoint());
  beast::error_code error;
  int calls = 0;
  pool.Send(HttpRequest{http::verb::get, "/", 11}, [&](beast::error_code ec, HttpResponse&&) {
    error = ec;
    ++calls;
  });
  ioc.run();
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(error, http::error::partial_message) << error.message();
}

// Every exchange has a deadline even though no operation arms a timer of its own: a server that
// never answers fails the request with a timeout, and the idle pool leaves nothing on the loop.
TEST(HttpTest, PoolTimesOutAServerThatNeverAnswers) {
  asio::io_context server_ioc;
  std::vector<HttpResponder> held;  // never called: the server is hung
  HttpServer server(server_ioc, [&](HttpRequest&&, HttpResponder respond) {
    held.push_back(std::move(respond));
  });
  ASSERT_TRUE(server.Listen(tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)).ok());
  auto guard = asio::make_work_guard(server_ioc);
  std::thread t([&] { server_ioc.run(); });

  asio::io_context ioc;
  HttpClientOptions options;
  options.request_timeout = std::chrono::milliseconds(50);
  HttpClientPool pool(ioc, server.local_endpoint(), options);
  std::vector<beast::error_code> errors;
  for (int i = 0; i < 3; ++i) {
    pool.Send(HttpRequest{http::verb::get, "/", 11},
              [&](beast::error_code ec, HttpResponse&&) { errors.push_back(ec); });
  }
  ioc.run();  // returns: the timed-out connections are closed and the sweep timer is cancelled
  ASSERT_EQ(errors.size(), 3u);
  for (const auto& ec : errors) EXPECT_EQ(ec, beast::error::timeout) << ec.message();
  EXPECT_EQ(pool.open_connections(), 0u);
  guard.reset();
  server_ioc.stop();
  t.join();
}

// Reads everything the server sends until it closes the connection.
std::string ReadUntilClosed(tcp::socket& socket) {
  std::string reply;
  beast::error_code ec;
  char buf[512];
  for (;;) {
    const size_t n = socket.read_some(asio::buffer(buf), ec);
    if (ec) break;
    reply.append(buf, n);
  }
  return reply;
}

size_t Count(const std::string& text, const std::string& what) {
  size_t count = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++count;
  return count;
}

TEST(HttpTest, ServerAnswersPipelinedRequestsInOrder) {
  EchoServer server;
  asio::io_context ioc;
  tcp::socket socket(ioc);
  socket.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), server.port()));
  const std::string requests =
      "GET /first HTTP/1.1\r\nHost: x\r\n\r\n"
      "POST /second HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nab"
      "GET /third HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  asio::write(socket, asio::buffer(requests));
  const std::string reply = ReadUntilClosed(socket);
  const size_t first = reply.find("echo: GET /first 0");
  const size_t second = reply.find("echo: POST /second 2");
  const size_t third = reply.find("echo: GET /third 0");
  ASSERT_NE(first, std::string::npos) << reply;
  ASSERT_NE(second, std::string::npos) << reply;
  ASSERT_NE(third, std::string::npos) << reply;
  EXPECT_LT(first, second);
  EXPECT_LT(second, third);
  EXPECT_EQ(Count(reply, "HTTP/1.1 200 OK"), 3u) << reply;
  EXPECT_EQ(server.stats().requests.load(), 3u);
}

// The server's read deadline holds without a timer per read: a client that stops halfway through
// its request is disconnected once read_timeout has passed, without an answer.
TEST(HttpTest, ServerClosesARequestLeftHalfwayAfterTheReadTimeout) {
  HttpServerOptions options;
  options.read_timeout = std::chrono::seconds(1);
  EchoServer server(options);
  asio::io_context ioc;
  tcp::socket socket(ioc);
  socket.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), server.port()));
  asio::write(socket, asio::buffer(std::string("GET / HTTP/1.1\r\nHost: x\r\n")));
  EXPECT_EQ(ReadUntilClosed(socket), "");
  EXPECT_EQ(server.stats().requests.load(), 0u);
  EXPECT_EQ(server.stats().bad_requests.load(), 0u);
}

}  // namespace
}  // namespace tracerig
