// End to end with real parts: `tracerig canary` writes and checks traces against a separate
// `tracerig backend`, a real Prometheus (tests/support/prometheus_server.h) scrapes its /metrics,
// and the test reads the series back through Prometheus' HTTP API: traces written grow with no
// failures while healthy; with the backend killed, request_failed grows while the canary keeps
// running; with the backend back on the same ports, checks recover. promtool checks the page.
#include <gtest/gtest.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <optional>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "net/http_client.h"
#include "tests/cli/tracerig_process.h"
#include "tests/support/free_port.h"
#include "tests/support/prometheus_server.h"
#include "tests/support/scratch_dir.h"

namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using std::chrono::seconds;
using tracerig::test_support::PrometheusServer;
using tracerig::testing::TracerigProcess;
using Clock = std::chrono::steady_clock;

constexpr const char* kPromtool = "/usr/bin/promtool";

double UnixNow() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// `tracerig backend` with only its OTLP/HTTP receiver and query API, on the given ports (0: the
// OS picks them); the ports it bound are read from its start-up lines.
struct Backend {
  std::unique_ptr<TracerigProcess> process;
  std::string otlp_port;
  std::string query_port;
};

Backend StartBackend(const fs::path& log, const std::string& otlp_port,
                     const std::string& query_port, std::string& error) {
  Backend backend;
  backend.process = std::make_unique<TracerigProcess>(
      std::vector<std::string>{"backend", "--otlp-http", "127.0.0.1:" + otlp_port, "--query",
                               "127.0.0.1:" + query_port, "--zipkin", "off", "--otlp-grpc", "off"},
      log);
  if (!backend.process->started()) {
    error = "cannot start tracerig backend";
    return backend;
  }
  const auto ready = backend.process->WaitForOutput(
      std::regex(R"(otlp-http: http://127\.0\.0\.1:(\d+)/[^]*query: +http://127\.0\.0\.1:(\d+)/)"
                 R"([^]*Ctrl-C to stop\.)"),
      seconds(20));
  if (!ready) {
    error = "tracerig backend did not print its addresses:\n" + backend.process->Output();
    return backend;
  }
  backend.otlp_port = (*ready)[1];
  backend.query_port = (*ready)[2];
  return backend;
}

// GET http://127.0.0.1:`port``path`: the status and body, or why not.
tracerig::Result<tracerig::BlockingResponse> HttpGet(uint16_t port, const std::string& path) {
  tracerig::HttpClientOptions options;
  options.connect_timeout = milliseconds(2000);
  options.request_timeout = milliseconds(5000);
  tracerig::BlockingHttpClient client("127.0.0.1", port, options);
  return client.Get(path);
}

// `promtool check metrics` on `page`: its exit code and everything it printed.
std::pair<int, std::string> PromtoolCheckMetrics(const std::string& page, const fs::path& dir) {
  const fs::path file = dir / "metrics.txt";
  std::ofstream(file) << page;
  const std::string command =
      std::string(kPromtool) + " check metrics < '" + file.string() + "' 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return {-1, "popen failed"};
  std::string output;
  char buffer[4096];
  for (size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;) output.append(buffer, n);
  const int status = pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

// The failures and checks counted so far, as Prometheus last scraped them.
struct Counts {
  double checks = 0;
  double failures = 0;
};

std::optional<Counts> ReadCounts(const PrometheusServer& prometheus, std::string& error) {
  auto checks = prometheus.QueryValue("sum(tracerig_canary_checks_total)");
  auto failures = prometheus.QueryValue("sum(tracerig_canary_check_failures_total)");
  if (!checks || !failures) {
    error = !checks ? checks.error().message : failures.error().message;
    return std::nullopt;
  }
  return Counts{*checks, *failures};
}

TEST(CanaryPrometheusE2eTest, HealthyThenBackendDownThenRecoveredThroughPrometheus) {
  if (std::string skip = PrometheusServer::Unavailable(); !skip.empty()) GTEST_SKIP() << skip;
  if (access(kPromtool, X_OK) != 0) {
    GTEST_SKIP() << "promtool is not installed (no " << kPromtool
                 << "; scripts/deps.sh --tests installs the prometheus package)";
  }
  const auto began = Clock::now();
  // The whole exchange is timeboxed: every wait takes what it needs of what is left of 90 s.
  const auto test_deadline = began + seconds(90);
  auto budget = [&](seconds wanted) {
    const auto left = std::chrono::duration_cast<milliseconds>(test_deadline - Clock::now());
    return std::max(milliseconds(0), std::min<milliseconds>(wanted, left));
  };
  const fs::path dir = tracerig::test_support::MakeScratchDir("tracerig-canary-prometheus");
  ASSERT_FALSE(dir.empty());

  std::string error;
  Backend backend = StartBackend(dir / "backend-1.log", "0", "0", error);
  ASSERT_TRUE(error.empty()) << error;

  TracerigProcess canary({"canary", "scenarios/quickstart.toml", "--backend",
                          "tracerig://127.0.0.1:" + backend.query_port, "--export",
                          "otlp-http://127.0.0.1:" + backend.otlp_port, "--rate", "5", "--round",
                          "2s", "--queryable-within", "5s", "--reread", "4s", "--reread-every",
                          "1s", "--metrics-listen", "127.0.0.1:0"},
                         dir / "canary.log");
  ASSERT_TRUE(canary.started());
  const auto metrics_at = canary.WaitForOutput(
      std::regex(R"(tracerig: metrics at http://(127\.0\.0\.1):(\d+)/metrics)"),
      budget(seconds(30)));
  ASSERT_TRUE(metrics_at) << "the canary did not print its metrics address:\n" << canary.Output();
  const uint16_t metrics_port = static_cast<uint16_t>(std::stoi((*metrics_at)[2]));
  const std::string target = (*metrics_at)[1] + ":" + (*metrics_at)[2];

  auto prometheus = PrometheusServer::Start({target}, error);
  ASSERT_NE(prometheus, nullptr) << error;
  auto context = [&] {
    return "\n--- canary output:\n" + canary.Output() + "\n--- prometheus log:\n" +
           prometheus->LogTail(10);
  };

  // Healthy: the target is up, traces are written, both checks run at age 0s, nothing fails.
  auto up = prometheus->WaitForValue(
      "up", [](double v) { return v == 1; }, budget(seconds(20)));
  ASSERT_TRUE(up.met) << up.Describe() << context();
  auto written = prometheus->WaitForValue(
      "tracerig_canary_traces_written_total", [](double v) { return v > 0; }, budget(seconds(20)));
  ASSERT_TRUE(written.met) << written.Describe() << context();
  const double written_first = written.last[0].value;
  auto more = prometheus->WaitForValue(
      "tracerig_canary_traces_written_total", [&](double v) { return v > written_first; },
      budget(seconds(10)));
  EXPECT_TRUE(more.met) << more.Describe() << context();
  for (const char* check : {"trace", "search"}) {
    const std::string expr =
        std::string("sum(tracerig_canary_checks_total{check=\"") + check + "\",age=\"0s\"})";
    auto checked = prometheus->WaitForValue(
        expr, [](double v) { return v > 0; }, budget(seconds(25)));
    EXPECT_TRUE(checked.met) << expr << ": " << checked.Describe() << context();
  }
  // The re-read at 4s of traces that passed (one per second at most).
  auto reread = prometheus->WaitForValue(
      "sum(tracerig_canary_checks_total{check=\"trace\",age=\"4s\"})",
      [](double v) { return v > 0; }, budget(seconds(20)));
  EXPECT_TRUE(reread.met) << reread.Describe() << context();
  for (const char* expr :
       {"sum(tracerig_canary_check_failures_total)", "sum(tracerig_canary_write_failures_total)"}) {
    auto failures = prometheus->QueryValue(expr);
    ASSERT_TRUE(failures.ok()) << failures.error().message << context();
    EXPECT_EQ(*failures, 0) << expr << context();
  }
  std::string why;
  EXPECT_TRUE(prometheus->TargetsHealthy(&why)) << why;

  // The page as the canary serves it passes promtool's exposition-format checks and lint.
  auto page = HttpGet(metrics_port, "/metrics");
  ASSERT_TRUE(page.ok()) << page.error().message;
  ASSERT_EQ(page->status, 200u) << page->body;
  const auto [promtool_exit, promtool_output] = PromtoolCheckMetrics(page->body, dir);
  EXPECT_EQ(promtool_exit, 0) << promtool_output << "\n--- the page:\n" << page->body;
  EXPECT_EQ(promtool_output, "") << "\n--- the page:\n" << page->body;
  const auto healthy_done = Clock::now();

  // The backend dies: its queries fail, counted as request_failed, and the canary keeps running.
  const std::string request_failed =
      "sum(tracerig_canary_check_failures_total{reason=\"request_failed\"}) or vector(0)";
  auto before = prometheus->QueryValue(request_failed);
  ASSERT_TRUE(before.ok()) << before.error().message;
  backend.process->Signal(SIGKILL);
  ASSERT_TRUE(backend.process->WaitForExit(seconds(5)).has_value());
  auto failing = prometheus->WaitForValue(
      request_failed, [&](double v) { return v > *before; }, budget(seconds(25)));
  EXPECT_TRUE(failing.met) << failing.Describe() << context();
  EXPECT_TRUE(canary.Alive()) << context();
  auto health = HttpGet(metrics_port, "/healthz");
  ASSERT_TRUE(health.ok()) << "/healthz did not answer with the backend down: "
                           << health.error().message << context();
  std::printf("[ canary ] /healthz with the backend down: %u %s\n", health->status,
              health->body.c_str());
  // A liveness probe: the loop keeps going through the outage, so the canary stays healthy.
  EXPECT_EQ(health->status, 200u) << health->body;
  auto still_up = prometheus->QueryValue("up");
  ASSERT_TRUE(still_up.ok()) << still_up.error().message;
  EXPECT_EQ(*still_up, 1) << "Prometheus lost the canary's /metrics" << context();
  const auto outage_done = Clock::now();

  // The backend comes back on the same ports (empty: what it held died with it).
  Backend again;
  for (int attempt = 0; attempt < 10; ++attempt) {
    error.clear();
    again = StartBackend(dir / ("backend-2-" + std::to_string(attempt) + ".log"), backend.otlp_port,
                         backend.query_port, error);
    if (error.empty()) break;
    std::this_thread::sleep_for(milliseconds(500));  // a port still held: try again shortly
  }
  ASSERT_TRUE(error.empty()) << error;
  const double restarted_at = UnixNow();

  // Recovered: over a window of at least 4 s in which checks keep being made, no check fails.
  // Checks of traces written or due during the outage still fail for a while, so windows are
  // taken one after another until one is clean or the deadline passes.
  const auto recovery_deadline = std::min(Clock::now() + seconds(45), test_deadline);
  auto start = ReadCounts(*prometheus, error);
  ASSERT_TRUE(start) << error;
  bool recovered = false;
  std::string windows;
  while (!recovered && Clock::now() < recovery_deadline) {
    const auto window_end = Clock::now() + seconds(4);
    while (Clock::now() < window_end) std::this_thread::sleep_for(milliseconds(250));
    auto end = ReadCounts(*prometheus, error);
    ASSERT_TRUE(end) << error;
    windows += "  checks " + std::to_string(start->checks) + " -> " + std::to_string(end->checks) +
               ", failures " + std::to_string(start->failures) + " -> " +
               std::to_string(end->failures) + "\n";
    recovered = end->checks > start->checks && end->failures == start->failures;
    start = end;
  }
  EXPECT_TRUE(recovered)
      << "the checks did not recover (within 45 s, in 90 s for the test); windows:\n"
      << windows << context();
  auto success = prometheus->QueryValue("tracerig_canary_last_success_timestamp_seconds");
  ASSERT_TRUE(success.ok()) << success.error().message;
  EXPECT_GE(*success, restarted_at - 1) << "no trace check passed after the backend came back";
  EXPECT_TRUE(canary.Alive()) << context();
  const auto recovery_done = Clock::now();

  // SIGTERM: the checks due finish and it exits 0.
  canary.Signal(SIGTERM);
  const auto exit_code = canary.WaitForExit(seconds(20));
  ASSERT_TRUE(exit_code.has_value())
      << "the canary did not exit within 20 s of SIGTERM" << context();
  EXPECT_EQ(*exit_code, 0) << context();
  again.process->Signal(SIGINT);

  auto secs = [](auto from, auto to) { return std::chrono::duration<double>(to - from).count(); };
  std::printf("[ canary ] healthy phase %.1f s, outage %.1f s, recovery %.1f s, stop %.1f s\n",
              secs(began, healthy_done), secs(healthy_done, outage_done),
              secs(outage_done, recovery_done), secs(recovery_done, Clock::now()));
  if (!HasFailure()) fs::remove_all(dir);
}

}  // namespace

namespace {

// A backend blip shorter than --queryable-within mid-round costs no check: the verifier's and the
// searches' retries span it, so the round has no request_failed (traces the killed backend held
// in memory are lost with it: those may fail otherwise).
TEST(CanaryBlipE2eTest, ABackendBlipShorterThanQueryableWithinIsNoRequestFailed) {
  const fs::path dir = tracerig::test_support::MakeScratchDir("tracerig-canary-blip");
  ASSERT_FALSE(dir.empty());
  std::string error;
  Backend backend = StartBackend(dir / "backend-1.log", "0", "0", error);
  ASSERT_TRUE(error.empty()) << error;
  TracerigProcess canary({"canary", "scenarios/quickstart.toml", "--once", "--backend",
                          "tracerig://127.0.0.1:" + backend.query_port, "--export",
                          "otlp-http://127.0.0.1:" + backend.otlp_port, "--rate", "4", "--round",
                          "6s", "--queryable-within", "10s"},
                         dir / "canary.log");
  ASSERT_TRUE(canary.started());
  ASSERT_TRUE(canary.WaitForOutput(std::regex(R"(one round \(--once\))"), seconds(30)))
      << canary.Output();
  std::this_thread::sleep_for(seconds(2));  // traces are being written and checked
  backend.process->Signal(SIGKILL);
  ASSERT_TRUE(backend.process->WaitForExit(seconds(5)).has_value());
  std::this_thread::sleep_for(milliseconds(1500));
  Backend again;
  for (int attempt = 0; attempt < 10; ++attempt) {
    error.clear();
    again = StartBackend(dir / ("backend-2-" + std::to_string(attempt) + ".log"),
                         backend.otlp_port, backend.query_port, error);
    if (error.empty()) break;
    std::this_thread::sleep_for(milliseconds(200));  // a port still held: try again shortly
  }
  ASSERT_TRUE(error.empty()) << error;
  const auto code = canary.WaitForExit(seconds(90));
  ASSERT_TRUE(code.has_value()) << canary.Output();
  const std::string output = canary.Output();
  std::printf("[ canary ] with a 1.5 s backend blip:\n%s\n", output.c_str());
  EXPECT_NE(output.find("round 1: "), std::string::npos) << output;
  EXPECT_EQ(output.find("request_failed"), std::string::npos) << output;
  EXPECT_NE(*code, 3) << output;
  again.process->Signal(SIGINT);
  (void)again.process->WaitForExit(seconds(10));
}

}  // namespace
