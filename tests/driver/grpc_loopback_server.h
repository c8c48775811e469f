// A loopback gRPC server (GrpcSimServer on 127.0.0.1:0, its own io_context thread) for the driver's
// end-to-end tests: remembers every call's route and metadata and answers as told.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "net/beast.h"
#include "net/grpc_sim.h"
#include "topology/ground_truth.h"

namespace tracerig::test_support {

// How the server answers each call.
enum class GrpcAnswer {
  kOk,
  kUnavailable,
  kNever,          // keeps the call open until the server stops (the client's deadline ends it)
  kAfterOneMilli,  // OK after 1 ms on a timer, so calls overlap when the client lets them
};

// A GrpcSimServer on 127.0.0.1:0 with its own io_context thread. Remembers the route and metadata
// of every call, by tracerig-seq, and the most calls it held unanswered at once.
class GrpcLoopbackServer {
 public:
  explicit GrpcLoopbackServer(GrpcAnswer answer)
      : answer_(answer), server_(ioc_, [this](GrpcInbound in, GrpcRespond respond) {
          Handle(std::move(in), std::move(respond));
        }) {
    auto s = server_.Listen("127.0.0.1:0");
    EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error().message);
    guard_.emplace(asio::make_work_guard(ioc_));
    thread_ = std::thread([this] { ioc_.run(); });
  }
  ~GrpcLoopbackServer() {
    server_.Stop();  // cancels the calls still held open
    guard_.reset();
    ioc_.stop();
    thread_.join();
  }

  tcp::endpoint endpoint() const {
    return tcp::endpoint(asio::ip::make_address("127.0.0.1"), server_.port());
  }
  std::map<std::string, GrpcInbound> seen() const {
    std::lock_guard lock(mu_);
    return seen_;
  }
  size_t calls() const {
    std::lock_guard lock(mu_);
    return calls_;
  }
  size_t max_open() const {
    std::lock_guard lock(mu_);
    return max_open_;
  }

 private:
  void Handle(GrpcInbound in, GrpcRespond respond) {
    {
      std::lock_guard lock(mu_);
      calls_++;
      open_++;
      max_open_ = std::max(max_open_, open_);
      std::string seq(FirstValue(in, kSequenceHeader));
      seen_.emplace(seq.empty() ? "#" + std::to_string(calls_) : seq, std::move(in));
    }
    switch (answer_) {
      case GrpcAnswer::kOk:
        Finish(respond, kGrpcOk);
        break;
      case GrpcAnswer::kUnavailable:
        Finish(respond, kGrpcUnavailable);
        break;
      case GrpcAnswer::kNever:
        held_.push_back(std::move(respond));  // io_context thread only
        break;
      case GrpcAnswer::kAfterOneMilli: {
        auto timer = std::make_shared<asio::steady_timer>(ioc_, std::chrono::milliseconds(1));
        timer->async_wait([this, timer, respond = std::move(respond)](beast::error_code) {
          Finish(respond, kGrpcOk);
        });
        break;
      }
    }
  }

  void Finish(const GrpcRespond& respond, int code) {
    {
      std::lock_guard lock(mu_);
      open_--;
    }
    respond(code, code == kGrpcOk ? "" : GrpcStatusName(code), 0);
  }

  static std::string_view FirstValue(const GrpcInbound& in, std::string_view key) {
    for (const auto& [k, v] : in.metadata) {
      if (k == key) return v;
    }
    return {};
  }

  const GrpcAnswer answer_;
  mutable std::mutex mu_;
  std::map<std::string, GrpcInbound> seen_;
  size_t calls_ = 0;
  size_t open_ = 0;
  size_t max_open_ = 0;
  std::vector<GrpcRespond> held_;
  asio::io_context ioc_;
  GrpcSimServer server_;  // after what its handler touches; stopped explicitly first
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> guard_;
  std::thread thread_;
};

}  // namespace tracerig::test_support
