// An asynchronous HTTP/1.1 server on one io_context: keep-alive, a deadline on every read and write
// (kept per connection and checked by one coarse timer per server, not a timer per operation),
// a body size limit (413) and malformed requests answered with 400. Handlers may answer later
// (simulated services answer after their latency and downstream calls) by calling `respond`.
// Several servers, each on its own io_context, can share one listening address (SO_REUSEPORT,
// Linux): one Listen()s with `reuse_port`, the others Join() its local_endpoint(), and the kernel
// spreads incoming connections among them.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>

#include "core/result.h"
#include "net/beast.h"

namespace tracerig {

using HttpResponder = std::function<void(HttpResponse&&)>;
// Called on the server's io_context thread. `respond` must be called exactly once, on that thread.
using HttpHandler = std::function<void(HttpRequest&& request, HttpResponder respond)>;

struct HttpServerOptions {
  uint64_t body_limit = 16ull << 20;
  std::chrono::seconds read_timeout{30};   // for one whole request once its first byte arrived
  std::chrono::seconds idle_timeout{75};   // keep-alive connections with no request
  std::chrono::seconds write_timeout{30};
  std::string server_name = "tracerig";
  // Listen() marks its socket SO_REUSEPORT so that other servers can Join() it.
  bool reuse_port = false;
};

struct HttpServerStats {
  std::atomic<uint64_t> connections{0};
  std::atomic<uint64_t> requests{0};
  std::atomic<uint64_t> bad_requests{0};     // answered 400 before reaching the handler
  std::atomic<uint64_t> too_large{0};        // answered 413
};

class HttpServer {
 public:
  HttpServer(asio::io_context& ioc, HttpHandler handler, HttpServerOptions options = {});
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and starts accepting. Port 0 picks a free port; local_endpoint() tells which. A fixed
  // port some other socket listens on is an error, with or without `reuse_port` (a listener of
  // another process that happens to set SO_REUSEPORT too is not silently shared).
  Status Listen(const tcp::endpoint& endpoint);
  // Binds with SO_REUSEPORT to the local_endpoint() of a server that Listen()ed with `reuse_port`,
  // and starts accepting the share of its connections the kernel hands this socket.
  Status Join(const tcp::endpoint& endpoint);
  tcp::endpoint local_endpoint() const;
  // Stops accepting; open connections finish their current request. Call on the io_context thread
  // or after it has stopped.
  void Stop();
  const HttpServerStats& stats() const { return *stats_; }

  class Deadlines;  // the sessions' deadlines, checked by one timer (http_server.cc)

 private:
  Status Bind(const tcp::endpoint& endpoint, bool reuse_port);
  void Accept();

  asio::io_context& ioc_;
  tcp::acceptor acceptor_;
  std::shared_ptr<const HttpHandler> handler_;
  std::shared_ptr<const HttpServerOptions> options_;
  std::shared_ptr<HttpServerStats> stats_;
  std::shared_ptr<Deadlines> deadlines_;
};

// Convenience for handlers: a response with the request's version and keep-alive.
HttpResponse MakeResponse(const HttpRequest& request, http::status status, std::string content_type,
                          std::string body);

}  // namespace tracerig
