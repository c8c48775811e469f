// HttpServer's shared listening port (SO_REUSEPORT, Linux) over loopback: servers on separate
// io_contexts joined to one port all receive connections, Listen still refuses a port another
// listener holds, Join only joins listeners that opted in, and Stop closes every listener.
#include "net/http_server.h"

#include <gtest/gtest.h>
#include <sys/socket.h>

#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "net/http_client.h"

namespace tracerig {
namespace {

const tcp::endpoint kAnyLoopbackPort(asio::ip::make_address("127.0.0.1"), 0);

// One HttpServer answering "ok" from its own io_context and thread, like one replica of a service.
class ThreadServer {
 public:
  explicit ThreadServer(bool reuse_port = true)
      : guard_(asio::make_work_guard(ioc_)),
        server_(
            ioc_,
            [](HttpRequest&& request, HttpResponder respond) {
              respond(MakeResponse(request, http::status::ok, "text/plain", "ok\n"));
            },
            Options(reuse_port)) {}
  ~ThreadServer() { Stop(); }

  Status Listen(const tcp::endpoint& endpoint) { return Started(server_.Listen(endpoint)); }
  Status Join(const tcp::endpoint& endpoint) { return Started(server_.Join(endpoint)); }
  // Stops the loop, then closes the acceptor (allowed once the loop has stopped).
  void Stop() {
    if (!thread_.joinable()) return;
    guard_.reset();
    ioc_.stop();
    thread_.join();
    server_.Stop();
  }
  tcp::endpoint endpoint() const { return server_.local_endpoint(); }
  const HttpServerStats& stats() const { return server_.stats(); }

 private:
  static HttpServerOptions Options(bool reuse_port) {
    HttpServerOptions options;
    options.reuse_port = reuse_port;
    return options;
  }
  Status Started(Status s) {
    if (s) thread_ = std::thread([this] { ioc_.run(); });
    return s;
  }

  asio::io_context ioc_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> guard_;
  HttpServer server_;
  std::thread thread_;
};

// Opens `n` connections at once (one client each, all kept open) and sends one GET on each;
// returns how many were answered 200.
int GetOnNewConnections(uint16_t port, int n) {
  std::vector<std::unique_ptr<BlockingHttpClient>> clients;
  int ok = 0;
  for (int i = 0; i < n; ++i) {
    clients.push_back(std::make_unique<BlockingHttpClient>("127.0.0.1", port));
    auto r = clients.back()->Get("/");
    if (r && r->status == 200) ++ok;
  }
  return ok;
}

TEST(HttpServerReusePortTest, TwoServersOnOnePortBothServe) {
  ThreadServer first;
  ThreadServer second;
  ASSERT_TRUE(first.Listen(kAnyLoopbackPort).ok());
  const tcp::endpoint shared = first.endpoint();
  auto joined = second.Join(shared);
  ASSERT_TRUE(joined.ok()) << joined.error().message;
  EXPECT_EQ(second.endpoint(), shared);

  // Linux hands each connection to one of the two sockets by a hash of its 4-tuple (the client
  // port differs per connection): all 64 landing on one socket has probability 2 * 2^-64.
  constexpr int kConnections = 64;
  EXPECT_EQ(GetOnNewConnections(shared.port(), kConnections), kConnections);
  // Each connection was counted when accepted, before its answer went out.
  const uint64_t a = first.stats().connections.load();
  const uint64_t b = second.stats().connections.load();
  EXPECT_EQ(a + b, static_cast<uint64_t>(kConnections));
  EXPECT_GT(a, 0u);
  EXPECT_GT(b, 0u);
  EXPECT_EQ(first.stats().requests.load() + second.stats().requests.load(),
            static_cast<uint64_t>(kConnections));
}

TEST(HttpServerReusePortTest, ListenRefusesAFixedPortASharedListenerHolds) {
  ThreadServer holder;
  ASSERT_TRUE(holder.Listen(kAnyLoopbackPort).ok());
  const uint16_t port = holder.endpoint().port();
  // Both set SO_REUSEPORT, so a plain bind would succeed and share the port silently.
  ThreadServer other;
  auto s = other.Listen(holder.endpoint());
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().message,
            "cannot listen on 127.0.0.1:" + std::to_string(port) + ": Address already in use");
}

TEST(HttpServerReusePortTest, JoinRefusesAListenerThatDidNotOptIn) {
  ThreadServer exclusive(/*reuse_port=*/false);
  ASSERT_TRUE(exclusive.Listen(kAnyLoopbackPort).ok());
  const uint16_t port = exclusive.endpoint().port();
  ThreadServer joiner;
  auto s = joiner.Join(exclusive.endpoint());
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().message,
            "cannot listen on 127.0.0.1:" + std::to_string(port) + ": Address already in use");
}

TEST(HttpServerReusePortTest, StopClosesEveryListenerOfThePort) {
  ThreadServer first;
  ThreadServer second;
  ASSERT_TRUE(first.Listen(kAnyLoopbackPort).ok());
  const uint16_t port = first.endpoint().port();
  ASSERT_TRUE(second.Join(first.endpoint()).ok());
  ASSERT_EQ(GetOnNewConnections(port, 8), 8);
  first.Stop();
  // The port stays open while one listener is left: every connection goes to it.
  EXPECT_EQ(GetOnNewConnections(port, 8), 8);
  second.Stop();
  // With no listener left every connection is refused (an open one would complete handshakes).
  for (int i = 0; i < 8; ++i) {
    BlockingHttpClient client("127.0.0.1", port);
    EXPECT_FALSE(client.Get("/").ok()) << "connection " << i;
  }
}

}  // namespace
}  // namespace tracerig
