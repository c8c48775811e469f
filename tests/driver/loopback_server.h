// A real HTTP server on 127.0.0.1 (port 0) running on its own thread, for the driver's end-to-end
// tests. The handler runs on the server thread and may answer later (a timer on ioc()).
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <thread>

#include "net/beast.h"
#include "net/http_server.h"

namespace tracerig {

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
    guard_.reset();
    ioc_.stop();
    thread_.join();
  }
  tcp::endpoint endpoint() const { return server_->local_endpoint(); }
  const HttpServerStats& stats() const { return server_->stats(); }
  asio::io_context& ioc() { return ioc_; }

 private:
  asio::io_context ioc_;
  std::unique_ptr<HttpServer> server_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> guard_;
  std::thread thread_;
};

}  // namespace tracerig
