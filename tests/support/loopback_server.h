// Real HTTP servers on 127.0.0.1 (port 0), each on its own thread, for end-to-end tests: one that
// runs a test's handler, and one that captures every request sent to it.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "net/beast.h"
#include "net/http_server.h"

namespace tracerig::test_support {

// Runs `handler` on the server thread; it may answer later (a timer on ioc()).
class LoopbackServer {
 public:
  explicit LoopbackServer(HttpHandler handler) {
    server_ = std::make_unique<HttpServer>(ioc_, std::move(handler));
    auto s = server_->Listen(tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error().message);
    guard_.emplace(asio::make_work_guard(ioc_));
    thread_ = std::thread([this] { ioc_.run(); });
  }
  ~LoopbackServer() {
    asio::post(ioc_, [this] { server_->Stop(); });
    guard_.reset();
    ioc_.stop();
    thread_.join();
  }
  LoopbackServer(const LoopbackServer&) = delete;
  LoopbackServer& operator=(const LoopbackServer&) = delete;

  tcp::endpoint endpoint() const { return server_->local_endpoint(); }
  uint16_t port() const { return endpoint().port(); }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port()); }
  const HttpServerStats& stats() const { return server_->stats(); }
  asio::io_context& ioc() { return ioc_; }

 private:
  asio::io_context ioc_;
  std::unique_ptr<HttpServer> server_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> guard_;
  std::thread thread_;
};

// A stand-in for an external service: answers 200 "ok\n" and keeps every request, so tests see
// exactly what was sent.
class CaptureServer {
 public:
  CaptureServer()
      : server_([this](HttpRequest&& request, HttpResponder respond) {
          {
            std::lock_guard lock(mu_);
            requests_.push_back(request);
          }
          respond(MakeResponse(request, http::status::ok, "text/plain", "ok\n"));
        }) {}

  tcp::endpoint endpoint() const { return server_.endpoint(); }
  std::string url() const { return server_.url(); }
  std::vector<HttpRequest> requests() const {
    std::lock_guard lock(mu_);
    return requests_;
  }

 private:
  mutable std::mutex mu_;
  std::vector<HttpRequest> requests_;
  LoopbackServer server_;  // last: stopped first, while the members above still exist
};

}  // namespace tracerig::test_support
