// LoadDriver against a real loopback server: threads and ledger order, the ground-truth headers,
// bounded connections, the closed loop, raw mode, interrupts and progress.
#include "driver/load_driver.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/span_sink.h"
#include "driver/schedule.h"
#include "tests/support/loopback_server.h"
#include "topology/ground_truth.h"

namespace tracerig {
namespace {

using test_support::LoopbackServer;

constexpr uint64_t kMillisecond = 1'000'000;

Scenario OneEntry(Load load) {
  Scenario scenario;
  scenario.name = "driver-test";
  Service service;
  service.name = "svc";
  scenario.services.push_back(service);
  load.entries = {{"svc", "GET /hello", 1.0}};
  scenario.load = std::move(load);
  return scenario;
}

std::unique_ptr<Schedule> ScheduleFor(const Load& load) {
  auto schedule = MakeSchedule(load, 1);
  EXPECT_TRUE(schedule) << schedule.error().message;
  return schedule ? std::move(*schedule) : nullptr;
}

std::string HeaderOf(const HttpRequest& request, std::string_view name) {
  return std::string(request[beast::string_view(name.data(), name.size())]);
}

// Answers 200 at once and remembers what each request carried, by tracerig-seq.
class RecordingServer {
 public:
  RecordingServer()
      : server_([this](HttpRequest&& request, HttpResponder respond) {
          {
            std::lock_guard lock(mu_);
            in_flight_++;
            max_in_flight_ = std::max(max_in_flight_, in_flight_);
            Seen seen;
            seen.offset = HeaderOf(request, kOffsetHeader);
            seen.traceparent = HeaderOf(request, "traceparent");
            seen.request_id = HeaderOf(request, kRequestIdHeader);
            const std::string seq = HeaderOf(request, kSequenceHeader);
            seen_.emplace(seq.empty() ? "#" + std::to_string(seen_.size()) : seq, seen);
            in_flight_--;
          }
          respond(MakeResponse(request, http::status::ok, "text/plain", "ok"));
        }) {}

  struct Seen {
    std::string offset;
    std::string traceparent;
    std::string request_id;
  };
  std::map<std::string, Seen> seen() const {
    std::lock_guard lock(mu_);
    return seen_;
  }
  tcp::endpoint endpoint() const { return server_.endpoint(); }
  const HttpServerStats& stats() const { return server_.stats(); }

 private:
  mutable std::mutex mu_;
  std::map<std::string, Seen> seen_;
  int in_flight_ = 0;
  int max_in_flight_ = 0;
  LoopbackServer server_;  // last: stopped first, while the members above still exist
};

TEST(LoadDriverTest, ThreadsShareTheScheduleAndTheLedgerStaysInSequenceOrder) {
  RecordingServer server;
  Load load;
  load.model = LoadModel::kConstant;
  load.rate = 500;
  load.duration_ns = 200 * kMillisecond;
  Scenario scenario = OneEntry(load);
  auto schedule = MakeSchedule(scenario.load, scenario.seed);
  ASSERT_TRUE(schedule) << schedule.error().message;
  ConstantRateSchedule expected(500, 200 * kMillisecond);

  InMemorySpanSink sink;
  DriverOptions options;
  options.threads = 3;
  options.id_seed = 42;
  LoadDriver driver(scenario, {server.endpoint()}, std::move(*schedule), sink,
                    SystemClock::Instance(), options);
  std::atomic<bool> stop{false};
  DriverResult result = driver.Run(stop);

  EXPECT_EQ(result.threads, 3u);
  EXPECT_FALSE(result.closed_loop);
  ASSERT_EQ(result.ledger.size(), 100u);
  EXPECT_EQ(result.sent, 100u);
  EXPECT_EQ(result.ok, 100u);
  EXPECT_EQ(result.corrected.count(), 100u);
  EXPECT_EQ(result.uncorrected.count(), 100u);
  EXPECT_EQ(result.schedule_lag.count(), 100u);
  EXPECT_EQ(result.queued, 0u);
  // The three threads' timelines merged: 200 ms of load is one 1-second interval.
  EXPECT_EQ(result.timeline.interval_ns(), 1'000'000'000ull);
  ASSERT_EQ(result.timeline.points().size(), 1u);
  EXPECT_EQ(result.timeline.points()[0].requests, 100u);
  EXPECT_EQ(result.timeline.points()[0].errors, 0u);
  EXPECT_EQ(result.timeline.points()[0].corrected.ToDense().max(), result.corrected.max());
  std::set<std::string> trace_ids;
  const auto seen = server.seen();
  ASSERT_EQ(seen.size(), 100u);
  for (size_t n = 0; n < result.ledger.size(); ++n) {
    const LedgerEntry& e = result.ledger[n];
    EXPECT_EQ(e.sequence, n);
    EXPECT_EQ(e.outcome, RequestOutcome::kOk);
    EXPECT_EQ(e.http_status, 200);
    EXPECT_LE(e.intended_unix_nano, e.start_unix_nano);
    EXPECT_LE(e.start_unix_nano, e.end_unix_nano);
    trace_ids.insert(e.trace_id.ToHex());
    // Every thread kept the exact intended offsets, and sent them as ground truth.
    auto it = seen.find(std::to_string(n));
    ASSERT_NE(it, seen.end()) << "request " << n << " never reached the server";
    EXPECT_EQ(it->second.offset, std::to_string(expected.IntendedOffset(n)));
    EXPECT_EQ(it->second.request_id, FormatRequestId(e.request_id));
    EXPECT_NE(it->second.traceparent.find(e.trace_id.ToHex()), std::string::npos);
  }
  EXPECT_EQ(result.ledger[1].intended_unix_nano - result.ledger[0].intended_unix_nano,
            2 * kMillisecond);
  EXPECT_EQ(trace_ids.size(), 100u);
  EXPECT_EQ(sink.size(), 100u);
}

// on_complete sees every ledger entry exactly once and as final: answered ones as they finish
// (from the driver threads), the ones still unanswered at the drain deadline as transport errors.
TEST(LoadDriverTest, OnCompleteGetsEveryLedgerEntryOnceAsFinal) {
  std::unique_ptr<LoopbackServer> server;
  server = std::make_unique<LoopbackServer>([&](HttpRequest&& request, HttpResponder respond) {
    auto response = MakeResponse(request, http::status::ok, "text/plain", "ok");
    const std::string seq = HeaderOf(request, kSequenceHeader);
    if (!seq.empty() && std::stoul(seq) % 4 == 3) {  // answered long after the drain deadline
      auto timer = std::make_shared<asio::steady_timer>(server->ioc());
      timer->expires_after(std::chrono::seconds(5));
      timer->async_wait([timer, respond = std::move(respond),
                         response = std::move(response)](beast::error_code) mutable {
        respond(std::move(response));
      });
      return;
    }
    respond(std::move(response));
  });
  Load load;
  load.model = LoadModel::kConstant;
  load.rate = 400;
  load.duration_ns = 100 * kMillisecond;
  Scenario scenario = OneEntry(load);
  InMemorySpanSink sink;
  DriverOptions options;
  options.threads = 2;
  options.drain_timeout_ns = 200 * kMillisecond;
  std::mutex mu;
  std::map<uint64_t, LedgerEntry> got;
  int repeats = 0;
  options.on_complete = [&](const LedgerEntry& e) {
    std::lock_guard lock(mu);
    if (!got.emplace(e.sequence, e).second) ++repeats;
  };
  LoadDriver driver(scenario, {server->endpoint()}, ScheduleFor(scenario.load), sink,
                    SystemClock::Instance(), options);
  std::atomic<bool> stop{false};
  DriverResult result = driver.Run(stop);

  ASSERT_EQ(result.ledger.size(), 40u);
  EXPECT_EQ(result.unfinished, 10u);
  EXPECT_EQ(repeats, 0);
  ASSERT_EQ(got.size(), result.ledger.size());
  size_t failed = 0;
  for (const LedgerEntry& e : result.ledger) {
    const LedgerEntry& g = got.at(e.sequence);
    EXPECT_EQ(g.trace_id, e.trace_id);
    EXPECT_EQ(g.request_id, e.request_id);
    EXPECT_EQ(g.outcome, e.outcome);
    EXPECT_EQ(g.http_status, e.http_status);
    EXPECT_EQ(g.end_unix_nano, e.end_unix_nano);
    if (g.outcome == RequestOutcome::kTransportError) {
      ++failed;
      EXPECT_EQ(e.sequence % 4, 3u);
    }
  }
  EXPECT_EQ(failed, 10u);
}

TEST(LoadDriverTest, IdsDependOnTheSequenceNotOnTheThreadCount) {
  Load load;
  load.model = LoadModel::kCount;
  load.requests = 20;
  load.rate = 2000;
  load.duration_ns = 10 * kMillisecond;
  Scenario scenario = OneEntry(load);
  std::vector<std::vector<std::string>> ids;
  for (uint32_t threads : {1u, 4u}) {
    RecordingServer server;
    InMemorySpanSink sink;
    DriverOptions options;
    options.threads = threads;
    options.id_seed = 7;
    LoadDriver driver(scenario, {server.endpoint()}, ScheduleFor(scenario.load),
                      sink, SystemClock::Instance(), options);
    std::atomic<bool> stop{false};
    DriverResult result = driver.Run(stop);
    EXPECT_EQ(result.threads, threads);
    std::vector<std::string> run;
    for (const auto& e : result.ledger) run.push_back(e.trace_id.ToHex());
    ids.push_back(run);
  }
  ASSERT_EQ(ids[0].size(), 20u);
  EXPECT_EQ(ids[0], ids[1]);
}

TEST(LoadDriverTest, BoundedConnectionsQueueRequestsInsteadOfOpeningMore) {
  RecordingServer server;
  Load load;
  load.model = LoadModel::kCount;
  load.requests = 200;
  load.rate = 1e9;  // all due within 200 ns: the first dispatch finds them all due
  load.duration_ns = 200;
  Scenario scenario = OneEntry(load);
  InMemorySpanSink sink;
  DriverOptions options;
  options.threads = 1;
  options.connections = 2;
  LoadDriver driver(scenario, {server.endpoint()}, ScheduleFor(scenario.load),
                    sink, SystemClock::Instance(), options);
  std::atomic<bool> stop{false};
  DriverResult result = driver.Run(stop);
  EXPECT_EQ(result.connections, 2u);
  EXPECT_EQ(result.ok, 200u);
  EXPECT_EQ(result.ledger.size(), 200u);
  EXPECT_LE(server.stats().connections.load(), 2u);
  EXPECT_GE(result.queued, 150u);  // at most two of each round trip's worth can go at once
  EXPECT_EQ(result.unsent, 0u);
  // Waiting for a connection is latency from the intended start, not from the send.
  EXPECT_GE(result.corrected.max(), result.uncorrected.max());
}

TEST(LoadDriverTest, ScenarioBoundsApplyWhenTheOptionsLeaveThemOpen) {
  RecordingServer server;
  Load load;
  load.model = LoadModel::kCount;
  load.requests = 50;
  load.rate = 1e9;
  load.duration_ns = 50;
  load.threads = 2;
  load.connections = 1;
  Scenario scenario = OneEntry(load);
  InMemorySpanSink sink;
  LoadDriver driver(scenario, {server.endpoint()}, ScheduleFor(scenario.load),
                    sink, SystemClock::Instance(), DriverOptions{});
  std::atomic<bool> stop{false};
  DriverResult result = driver.Run(stop);
  EXPECT_EQ(result.threads, 2u);
  EXPECT_EQ(result.connections, 1u);
  EXPECT_EQ(result.ok, 50u);
  EXPECT_LE(server.stats().connections.load(), 2u);  // one per thread
}

TEST(LoadDriverTest, ClosedLoopUsersWaitForTheirAnswersAndSequencesFollowSendOrder) {
  RecordingServer server;
  Load load;
  load.model = LoadModel::kClosed;
  load.virtual_users = 4;
  load.think_time_ns = 2 * kMillisecond;
  load.duration_ns = 200 * kMillisecond;
  Scenario scenario = OneEntry(load);
  InMemorySpanSink sink;
  DriverOptions options;
  options.threads = 2;
  LoadDriver driver(scenario, {server.endpoint()}, nullptr, sink, SystemClock::Instance(),
                    options);
  std::atomic<bool> stop{false};
  DriverResult result = driver.Run(stop);

  EXPECT_TRUE(result.closed_loop);
  EXPECT_EQ(result.virtual_users, 4u);
  EXPECT_EQ(result.threads, 2u);
  ASSERT_GE(result.ledger.size(), 4u);
  // Each user sends at most once per think time (plus its first request).
  EXPECT_LE(result.ledger.size(), 4u * (200 / 2 + 1));
  EXPECT_EQ(result.sent, result.ledger.size());
  EXPECT_EQ(result.ok, result.ledger.size());
  for (size_t n = 0; n < result.ledger.size(); ++n) EXPECT_EQ(result.ledger[n].sequence, n);
  // A closed loop only knows uncorrected latency; corrected is the same histogram.
  EXPECT_EQ(result.corrected.count(), result.uncorrected.count());
  EXPECT_EQ(result.corrected.max(), result.uncorrected.max());
  EXPECT_EQ(result.corrected.Percentile(99), result.uncorrected.Percentile(99));
  EXPECT_EQ(result.schedule_lag.count(), 0u);
  // No more than the users' worth of connections.
  EXPECT_LE(server.stats().connections.load(), 4u);
  EXPECT_EQ(sink.size(), result.ledger.size());
}

TEST(LoadDriverTest, RawModeSendsPlainRequestsAndNoSpans) {
  RecordingServer server;
  Load load;
  load.model = LoadModel::kCount;
  load.requests = 10;
  load.rate = 1000;
  load.duration_ns = 10 * kMillisecond;
  Scenario scenario = OneEntry(load);
  InMemorySpanSink sink;
  DriverOptions options;
  options.trace = false;
  LoadDriver driver(scenario, {server.endpoint()}, ScheduleFor(scenario.load),
                    sink, SystemClock::Instance(), options);
  std::atomic<bool> stop{false};
  DriverResult result = driver.Run(stop);
  EXPECT_EQ(result.ok, 10u);
  EXPECT_EQ(sink.size(), 0u);
  const auto seen = server.seen();
  ASSERT_EQ(seen.size(), 10u);
  for (const auto& [key, s] : seen) {
    EXPECT_EQ(key[0], '#') << "raw requests carry no tracerig-seq";
    EXPECT_EQ(s.traceparent, "");
    EXPECT_EQ(s.offset, "");
  }
}

TEST(LoadDriverTest, StopBeforeStartSendsNothing) {
  RecordingServer server;
  Load load;
  load.rate = 100;
  load.duration_ns = 1'000 * kMillisecond;
  Scenario scenario = OneEntry(load);
  InMemorySpanSink sink;
  LoadDriver driver(scenario, {server.endpoint()}, ScheduleFor(scenario.load),
                    sink, SystemClock::Instance(), DriverOptions{});
  std::atomic<bool> stop{true};
  DriverResult result = driver.Run(stop);
  EXPECT_TRUE(result.interrupted);
  EXPECT_EQ(result.sent, 0u);
  EXPECT_TRUE(result.ledger.empty());
}

TEST(LoadDriverTest, ProgressReportsTheMergedRunAndTheTargetRate) {
  RecordingServer server;
  Load load;
  load.rate = 400;
  load.duration_ns = 300 * kMillisecond;
  Scenario scenario = OneEntry(load);
  InMemorySpanSink sink;
  DriverOptions options;
  options.threads = 2;
  LoadDriver driver(scenario, {server.endpoint()}, ScheduleFor(scenario.load),
                    sink, SystemClock::Instance(), options);
  std::atomic<bool> stop{false};
  std::vector<DriverProgress> seen;
  DriverResult result =
      driver.Run(stop, [&](const DriverProgress& p) { seen.push_back(p); }, 50 * kMillisecond);
  ASSERT_FALSE(seen.empty());
  for (const DriverProgress& p : seen) {
    EXPECT_EQ(p.total_ns, 300 * kMillisecond);
    EXPECT_EQ(p.threads, 2u);
    EXPECT_FALSE(p.closed_loop);
    EXPECT_LE(p.sent, 120u);
    EXPECT_LE(p.completed, p.sent);
    // While load lasts, the schedule's own rate over each interval: 400/s, give or take one
    // request (2.5 ms) per interval of about 50 ms.
    if (p.elapsed_ns >= 40 * kMillisecond && p.elapsed_ns < 290 * kMillisecond) {
      EXPECT_NEAR(p.target_rate, 400, 60) << "at " << p.elapsed_ns;
    }
  }
  EXPECT_EQ(result.ok, 120u);
}

}  // namespace
}  // namespace tracerig
