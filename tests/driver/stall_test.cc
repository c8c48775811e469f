// The coordinated-omission test of issue 7: a service that stalls for a second under constant
// load. Corrected latency (from each request's intended start) must show the stall; uncorrected
// latency (from the actual send) must not, because that is exactly what it hides.
//
// Why the numbers come out that way: 200 req/s for 3 s is 600 requests, one every 5 ms, over two
// driver threads with at most 2 connections each (4 in all). The server answers at once, except
// that requests arriving in [1.0 s, 1.1 s) of its run are held until 2.1 s. The first four requests
// of the window (intended 1.000..1.015 s) take all four connections and are held; the ~216
// requests intended from 1.020 s to 2.1 s find no free connection and wait in the driver's queue,
// so they reach the server only after 2.1 s, outside the window, and are answered at once.
//  - Corrected: every request intended in [1.0 s, 2.1 s) completes at about 2.1 s, so its latency
//    runs from 1.1 s down to 0; the six worst (the top 1% of 600) are all >= 1.07 s: p99 >= 1 s.
//  - Uncorrected: measured from the moment a request got a connection. Only the four held
//    requests see the stall; four is under 1% of 600, so p99 is an ordinary loopback round trip.
// Unbounded connections would have sent every request on time into the stall, and both figures
// would have shown it; the bound is what lets a closed-ish client (wrk) hide it.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>

#include "core/clock.h"
#include "core/span_sink.h"
#include "driver/load_driver.h"
#include "driver/schedule.h"
#include "tests/support/loopback_server.h"

namespace tracerig {
namespace {

using std::chrono::milliseconds;
using Steady = std::chrono::steady_clock;
using test_support::LoopbackServer;

TEST(StallTest, CorrectedP99ShowsAOneSecondStallThatUncorrectedHides) {
  std::optional<Steady::time_point> first_arrival;  // the server's time zero; server thread only
  int held = 0;
  std::unique_ptr<LoopbackServer> server;
  server = std::make_unique<LoopbackServer>([&](HttpRequest&& request, HttpResponder respond) {
    const auto now = Steady::now();
    if (!first_arrival) first_arrival = now;
    const auto since = now - *first_arrival;
    auto response = MakeResponse(request, http::status::ok, "text/plain", "ok");
    if (since >= milliseconds(1000) && since < milliseconds(1100)) {
      held++;
      auto timer = std::make_shared<asio::steady_timer>(server->ioc());
      timer->expires_at(*first_arrival + milliseconds(2100));
      timer->async_wait([timer, respond = std::move(respond),
                         response = std::move(response)](beast::error_code) mutable {
        respond(std::move(response));
      });
      return;
    }
    respond(std::move(response));
  });

  Scenario scenario;
  scenario.load.model = LoadModel::kConstant;
  scenario.load.rate = 200;
  scenario.load.duration_ns = 3'000'000'000;
  scenario.load.entries = {{"stalling", "GET /", 1.0}};
  auto schedule = MakeSchedule(scenario.load, scenario.seed);
  ASSERT_TRUE(schedule) << schedule.error().message;
  ASSERT_EQ((*schedule)->size(), 600u);

  InMemorySpanSink sink;
  DriverOptions options;
  options.threads = 2;
  options.connections = 2;
  LoadDriver driver(scenario, {server->endpoint()}, std::move(*schedule), sink,
                    SystemClock::Instance(), options);
  std::atomic<bool> stop{false};
  DriverResult result = driver.Run(stop);
  server.reset();  // joins the server thread before `held` is read

  EXPECT_EQ(held, 4);
  EXPECT_EQ(result.ok, 600u);
  EXPECT_EQ(result.unsent, 0u);
  EXPECT_GE(result.queued, 150u);
  EXPECT_GE(result.corrected.Percentile(99), 1'000'000'000u);
  EXPECT_LT(result.uncorrected.Percentile(99), 100'000'000u);
  // The held requests themselves did see the stall, in both measures.
  EXPECT_GE(result.uncorrected.max(), 900'000'000u);
  EXPECT_GE(result.corrected.max(), 1'000'000'000u);
}

}  // namespace
}  // namespace tracerig
