// HTTP clients. HttpClientPool is asynchronous with keep-alive connections to one server, for
// simulated services and the load driver (used from a single io_context thread, so no locks).
// It is the driver's hot path, so a connection works on a plain socket (no per-operation timer),
// reuses its buffers and parses with Beast in place; deadlines come from one coarse timer per pool
// that checks the busy connections periodically, as wrk does.
// With options.tls the pool speaks HTTPS (for the driver's external entries); the plain path is
// untouched by it. BlockingHttpClient is for threads that may block: the exporter and the
// verifier. It also speaks HTTPS (options.tls), for exporters and query clients on TLS backends.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "net/beast.h"
#include "net/error_reason.h"
#include "net/http_client_options.h"

namespace tracerig {

using HttpClientCallback = std::function<void(beast::error_code, HttpResponse&&)>;

class HttpClientPool {
 public:
  HttpClientPool(asio::io_context& ioc, tcp::endpoint target, HttpClientOptions options = {});
  ~HttpClientPool();
  HttpClientPool(const HttpClientPool&) = delete;
  HttpClientPool& operator=(const HttpClientPool&) = delete;

  // Sends on an idle connection or a new one; `done` runs on the io_context thread. A request that
  // fails on a reused connection before any response byte is retried once on a new connection
  // (the server may have closed it while idle).
  void Send(HttpRequest request, HttpClientCallback done);

  const tcp::endpoint& target() const { return target_; }
  size_t open_connections() const { return open_; }
  // Where the last exchange that failed (callback with an error) failed, and for a failed TLS
  // handshake why ("certificate verify failed: hostname mismatch"; "" otherwise). Valid inside
  // that callback, for classifying and describing the error (net/error_reason.h).
  TransportPhase last_failure_phase() const { return last_failure_phase_; }
  const std::string& last_failure_detail() const { return last_failure_detail_; }

  class Connection;

 private:
  friend class Connection;
  void Release(std::shared_ptr<Connection> connection);
  // Busy connections (connecting, writing or reading) are the ones the deadline sweep checks.
  void MarkBusy(Connection* connection);
  void MarkDone(Connection* connection);
  void ArmSweep();
  void Sweep();

  asio::io_context& ioc_;
  tcp::endpoint target_;
  HttpClientOptions options_;
  std::chrono::steady_clock::duration sweep_period_;
  asio::steady_timer sweep_;
  bool sweep_armed_ = false;
  std::vector<Connection*> busy_;
  std::vector<std::shared_ptr<Connection>> idle_;
  size_t open_ = 0;
  TransportPhase last_failure_phase_ = TransportPhase::kConnect;
  std::string last_failure_detail_;
  std::shared_ptr<bool> alive_;
};

struct BlockingResponse {
  unsigned status = 0;
  std::string body;
  std::string content_type;
  std::string retry_after;  // the Retry-After header, if any
};

// One persistent connection, reconnected on demand. Not thread-safe: one per thread.
class BlockingHttpClient {
 public:
  BlockingHttpClient(std::string host, uint16_t port, HttpClientOptions options = {});
  ~BlockingHttpClient();

  // Error only for transport failures (cannot connect, reset, timeout), with
  // ErrorCode::kUnavailable; any HTTP status is a response.
  Result<BlockingResponse> Request(http::verb method, std::string_view target,
                                   std::string_view content_type, std::string body,
                                   const std::vector<std::pair<std::string, std::string>>& headers = {});
  Result<BlockingResponse> Get(std::string_view target) {
    return Request(http::verb::get, target, {}, {});
  }
  const std::string& host() const { return host_; }
  uint16_t port() const { return port_; }

 private:
  class TlsStream;  // beast::ssl_stream over a tcp_stream (http_client.cc)

  // `stale`: set when the attempt failed before any byte of a response and without a timeout.
  Result<BlockingResponse> Attempt(const HttpRequest& request, bool* stale);
  Status Connect();
  Status Handshake();  // TLS only, on the freshly connected stream_
  bool connected() const { return stream_ != nullptr || tls_stream_ != nullptr; }
  void Disconnect();

  std::string host_;
  uint16_t port_;
  HttpClientOptions options_;
  asio::io_context ioc_;
  // One of the two is set while connected: plain HTTP, or HTTPS when options_.tls is set.
  std::unique_ptr<beast::tcp_stream> stream_;
  std::unique_ptr<TlsStream> tls_stream_;
  beast::flat_buffer buffer_;
};

}  // namespace tracerig
