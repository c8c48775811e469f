// The simulated-service gRPC transport over loopback (port 0): metadata, status codes, deadlines,
// many concurrent calls, and stopping or destroying either side while calls are in flight.
#include "net/grpc_sim.h"

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/text.h"

namespace tracerig {
namespace {

// Runs handlers on the test thread until `done` holds. The bound only turns a hang into a failure.
void RunUntil(asio::io_context& ioc, const std::function<bool()>& done) {
  // Work arrives from the completion-queue threads, which asio cannot see: keep the loop alive.
  auto guard = asio::make_work_guard(ioc);
  while (!done()) {
    ioc.restart();  // a previous loop may have run out of work, which stops the io_context
    ASSERT_GT(ioc.run_one_for(std::chrono::seconds(20)), 0u) << "nothing happened for 20 s";
  }
}

struct Outcome {
  int code = -1;
  std::string message;
};

std::string Loopback(uint16_t port) { return "127.0.0.1:" + std::to_string(port); }

TEST(GrpcSimTest, StatusNames) {
  EXPECT_EQ(GrpcStatusName(kGrpcOk), "OK");
  EXPECT_EQ(GrpcStatusName(kGrpcDeadlineExceeded), "DEADLINE_EXCEEDED");
  EXPECT_EQ(GrpcStatusName(kGrpcUnauthenticated), "UNAUTHENTICATED");
  EXPECT_EQ(GrpcStatusName(17), "CODE_17");
  EXPECT_EQ(GrpcStatusName(-1), "CODE_-1");
}

// google/rpc/code.proto's HTTP mapping, one row per code, and what falls outside it.
TEST(GrpcSimTest, StatusToHttp) {
  struct Row {
    int code;
    int http;
  };
  const Row rows[] = {
      {kGrpcOk, 200},
      {kGrpcCancelled, 499},
      {kGrpcUnknown, 500},
      {kGrpcInvalidArgument, 400},
      {kGrpcDeadlineExceeded, 504},
      {kGrpcNotFound, 404},
      {6, 409} /* ALREADY_EXISTS */,
      {7, 403} /* PERMISSION_DENIED */,
      {kGrpcResourceExhausted, 429},
      {9, 400} /* FAILED_PRECONDITION */,
      {kGrpcAborted, 409},
      {kGrpcOutOfRange, 400},
      {kGrpcUnimplemented, 501},
      {kGrpcInternal, 500},
      {kGrpcUnavailable, 503},
      {kGrpcDataLoss, 500},
      {kGrpcUnauthenticated, 401},
      {17, 500},
      {-1, 500},
  };
  for (const Row& row : rows) {
    EXPECT_EQ(GrpcStatusToHttp(row.code), row.http) << GrpcStatusName(row.code);
  }
}

TEST(GrpcSimTest, RouteMetadataAndPayloadArriveWithLowercaseKeys) {
  asio::io_context ioc;
  std::vector<GrpcInbound> received;
  GrpcSimServer server(ioc, [&](GrpcInbound inbound, GrpcRespond respond) {
    received.push_back(std::move(inbound));
    respond(kGrpcOk, "", 10);
  });
  ASSERT_TRUE(server.Listen("127.0.0.1:0").ok());
  ASSERT_NE(server.port(), 0);

  GrpcSimClient client(ioc, Loopback(server.port()));
  Outcome outcome;
  bool finished = false;
  client.Call("GetCart",
              {{"TraceParent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"},
               {"x-b3-sampled", "1"}},
              123, 0, [&](int code, std::string message) {
                outcome = {code, std::move(message)};
                finished = true;
              });
  RunUntil(ioc, [&] { return finished; });

  EXPECT_EQ(outcome.code, kGrpcOk) << outcome.message;
  ASSERT_EQ(received.size(), 1u);
  EXPECT_EQ(received[0].route, "GetCart");
  EXPECT_EQ(received[0].payload_bytes, 123u);
  auto find = [&](std::string_view key) -> const std::string* {
    for (const auto& [k, v] : received[0].metadata) {
      if (k == key) return &v;
    }
    return nullptr;
  };
  const std::string* traceparent = find("traceparent");
  ASSERT_NE(traceparent, nullptr);
  EXPECT_EQ(*traceparent, "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
  ASSERT_NE(find("x-b3-sampled"), nullptr);
  EXPECT_EQ(*find("x-b3-sampled"), "1");
  for (const auto& [key, value] : received[0].metadata) {
    EXPECT_EQ(key, AsciiLowercase(key)) << key;
  }
}

TEST(GrpcSimTest, StatusCodesAndMessagesReachTheCaller) {
  struct Row {
    int answered;
    int expected;
  };
  const std::vector<Row> rows = {
      {kGrpcOk, kGrpcOk},
      {kGrpcNotFound, kGrpcNotFound},
      {kGrpcInvalidArgument, kGrpcInvalidArgument},
      {kGrpcResourceExhausted, kGrpcResourceExhausted},
      {kGrpcInternal, kGrpcInternal},
      {kGrpcUnavailable, kGrpcUnavailable},
      {kGrpcUnauthenticated, kGrpcUnauthenticated},
      {42, kGrpcUnknown},  // not a gRPC code: sent as UNKNOWN
  };
  asio::io_context ioc;
  GrpcSimServer server(ioc, [](GrpcInbound inbound, GrpcRespond respond) {
    const int code = std::stoi(inbound.route);
    respond(code, "failed with " + inbound.route, 0);
  });
  ASSERT_TRUE(server.Listen("127.0.0.1:0").ok());
  GrpcSimClient client(ioc, Loopback(server.port()));

  std::vector<Outcome> outcomes(rows.size());
  size_t finished = 0;
  for (size_t i = 0; i < rows.size(); ++i) {
    client.Call(std::to_string(rows[i].answered), {}, 0, 0, [&, i](int code, std::string message) {
      outcomes[i] = {code, std::move(message)};
      ++finished;
    });
  }
  RunUntil(ioc, [&] { return finished == rows.size(); });
  for (size_t i = 0; i < rows.size(); ++i) {
    SCOPED_TRACE(rows[i].answered);
    EXPECT_EQ(outcomes[i].code, rows[i].expected);
    if (rows[i].expected != kGrpcOk) {
      EXPECT_EQ(outcomes[i].message, "failed with " + std::to_string(rows[i].answered));
    }
  }
}

TEST(GrpcSimTest, DeadlineExceededWhenTheServiceNeverAnswers) {
  asio::io_context ioc;
  std::vector<GrpcRespond> pending;
  GrpcSimServer server(
      ioc, [&](GrpcInbound, GrpcRespond respond) { pending.push_back(std::move(respond)); });
  ASSERT_TRUE(server.Listen("127.0.0.1:0").ok());
  GrpcSimClient client(ioc, Loopback(server.port()));
  Outcome outcome;
  bool finished = false;
  client.Call("Slow", {}, 0, /*timeout_ns=*/50'000'000, [&](int code, std::string message) {
    outcome = {code, std::move(message)};
    finished = true;
  });
  RunUntil(ioc, [&] { return finished; });
  EXPECT_EQ(outcome.code, kGrpcDeadlineExceeded) << outcome.message;
  // Answering after the caller gave up finishes a cancelled call: harmless.
  RunUntil(ioc, [&] { return !pending.empty(); });
  pending[0](kGrpcOk, "", 0);
  pending[0](kGrpcOk, "", 0);  // a second answer is ignored
}

TEST(GrpcSimTest, ManyConcurrentCallsAllComplete) {
  constexpr size_t kCalls = 300;
  asio::io_context ioc;
  size_t handled = 0;
  GrpcSimServer server(ioc, [&](GrpcInbound inbound, GrpcRespond respond) {
    ++handled;
    // Answer later, as a simulated service does after its latency.
    asio::post(ioc, [respond = std::move(respond), bytes = inbound.payload_bytes] {
      respond(kGrpcOk, "", bytes);
    });
  });
  ASSERT_TRUE(server.Listen("127.0.0.1:0").ok());
  GrpcSimClient client(ioc, Loopback(server.port()));
  size_t ok = 0;
  size_t finished = 0;
  for (size_t i = 0; i < kCalls; ++i) {
    client.Call("Fan", {{"n", std::to_string(i)}}, i, 0, [&](int code, std::string) {
      ok += code == kGrpcOk ? 1 : 0;
      ++finished;
    });
  }
  RunUntil(ioc, [&] { return finished == kCalls; });
  EXPECT_EQ(ok, kCalls);
  EXPECT_EQ(handled, kCalls);
}

TEST(GrpcSimTest, StopWithCallsInFlightCancelsThemAndIgnoresLateAnswers) {
  constexpr size_t kCalls = 20;
  asio::io_context ioc;
  std::vector<GrpcRespond> pending;
  auto server = std::make_unique<GrpcSimServer>(
      ioc, [&](GrpcInbound, GrpcRespond respond) { pending.push_back(std::move(respond)); });
  ASSERT_TRUE(server->Listen("127.0.0.1:0").ok());
  GrpcSimClient client(ioc, Loopback(server->port()));
  std::vector<int> codes;
  for (size_t i = 0; i < kCalls; ++i) {
    client.Call("Hang", {}, 0, 0, [&](int code, std::string) { codes.push_back(code); });
  }
  RunUntil(ioc, [&] { return pending.size() == kCalls; });
  server->Stop();
  RunUntil(ioc, [&] { return codes.size() == kCalls; });
  for (int code : codes) EXPECT_NE(code, kGrpcOk) << GrpcStatusName(code);
  for (auto& respond : pending) respond(kGrpcOk, "", 0);  // after Stop: no effect, no crash
  server.reset();
  for (auto& respond : pending) respond(kGrpcOk, "", 0);  // after destruction too
}

TEST(GrpcSimTest, DestroyingTheClientCancelsItsCalls) {
  asio::io_context ioc;
  std::vector<GrpcRespond> pending;
  GrpcSimServer server(
      ioc, [&](GrpcInbound, GrpcRespond respond) { pending.push_back(std::move(respond)); });
  ASSERT_TRUE(server.Listen("127.0.0.1:0").ok());
  std::vector<int> codes;
  {
    GrpcSimClient client(ioc, Loopback(server.port()));
    for (int i = 0; i < 5; ++i) {
      client.Call("Hang", {}, 0, 0, [&](int code, std::string) { codes.push_back(code); });
    }
    RunUntil(ioc, [&] { return pending.size() == 5; });
  }
  RunUntil(ioc, [&] { return codes.size() == 5; });
  for (int code : codes) EXPECT_EQ(code, kGrpcCancelled);
  for (auto& respond : pending) respond(kGrpcOk, "", 0);
}

TEST(GrpcSimTest, ListenErrorsNameTheAddress) {
  asio::io_context ioc;
  GrpcSimServer first(ioc, [](GrpcInbound, GrpcRespond respond) { respond(kGrpcOk, "", 0); });
  ASSERT_TRUE(first.Listen("127.0.0.1:0").ok());

  GrpcSimServer taken(ioc, [](GrpcInbound, GrpcRespond respond) { respond(kGrpcOk, "", 0); });
  auto in_use = taken.Listen(Loopback(first.port()));
  ASSERT_FALSE(in_use.ok());
  EXPECT_EQ(in_use.error().message, "cannot listen for gRPC on " + Loopback(first.port()) +
                                        " (address in use or not local?)");

  GrpcSimServer malformed(ioc, [](GrpcInbound, GrpcRespond respond) { respond(kGrpcOk, "", 0); });
  auto bad = malformed.Listen("no-port");
  ASSERT_FALSE(bad.ok());
  EXPECT_TRUE(bad.error().message.starts_with("gRPC listen address: ")) << bad.error().message;
}

}  // namespace
}  // namespace tracerig
