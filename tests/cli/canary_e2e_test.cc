// `tracerig canary` through the real binary: --once against the embedded backend and a separate
// `tracerig backend` (exit 0), against that backend stopped (exit 3), and the loop serving
// /metrics until SIGTERM (exit 0).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <functional>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <thread>

#include "tests/cli/run_tracerig.h"

namespace tracerig {
namespace {

using testing::RunTracerig;

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// GET http://127.0.0.1:PORT/PATH over a plain socket: the body, "" when it failed.
std::string HttpGet(int port, const std::string& path) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return "";
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  timeval timeout{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  std::string response;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    const std::string request =
        "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    if (write(fd, request.data(), request.size()) == static_cast<ssize_t>(request.size())) {
      char buf[4096];
      for (ssize_t n; (n = read(fd, buf, sizeof buf)) > 0;) response.append(buf, n);
    }
  }
  close(fd);
  const size_t body = response.find("\r\n\r\n");
  return body == std::string::npos ? "" : response.substr(body + 4);
}

// Sample lines of an exposition text: "name{labels}" -> value.
std::map<std::string, double> Samples(const std::string& text) {
  std::map<std::string, double> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    const size_t space = line.rfind(' ');
    if (space == std::string::npos) continue;
    out[line.substr(0, space)] = std::strtod(line.c_str() + space + 1, nullptr);
  }
  return out;
}

const std::regex kMetricsUrl("tracerig: metrics at http://127\\.0\\.0\\.1:([0-9]+)/metrics");

double FailuresIn(const std::map<std::string, double>& samples) {
  double sum = 0;
  for (const auto& [name, value] : samples) {
    if (name.rfind("tracerig_canary_check_failures_total", 0) == 0) sum += value;
  }
  return sum;
}

// Runs a separate `tracerig backend` on free ports and calls `body` with its query and export
// URLs and its pid; the backend is stopped afterwards (if `body` has not killed it).
void WithBackend(
    const std::function<void(const std::string& query, const std::string& otlp, pid_t pid)>& body) {
  bool done = false;
  auto backend = RunTracerig(
      {"backend", "--otlp-http", "127.0.0.1:0", "--query", "127.0.0.1:0", "--zipkin", "off",
       "--otlp-grpc", "off"},
      [&](pid_t pid, const std::string& output) {
        if (done || !Contains(output, "Ctrl-C to stop.")) return;
        done = true;
        std::smatch otlp;
        std::smatch query;
        struct StopBackend {
          pid_t pid;
          ~StopBackend() { kill(pid, SIGINT); }
        } stop{pid};
        if (std::regex_search(output, otlp, std::regex("otlp-http: http://([0-9.:]+)/")) &&
            std::regex_search(output, query, std::regex("query: +http://([0-9.:]+)/"))) {
          body("tracerig://" + query[1].str(), "otlp-http://" + otlp[1].str(), pid);
        } else {
          ADD_FAILURE() << output;
        }
      });
  EXPECT_TRUE(done) << backend.output;
}

TEST(CanaryE2eTest, OncePassesAgainstTheEmbeddedBackend) {
  auto run = RunTracerig(
      {"canary", "scenarios/quickstart.toml", "--once", "--round", "2s", "--rate", "3"});
  EXPECT_EQ(run.exit_code, 0) << run.output;
  EXPECT_TRUE(Contains(run.output, "round 1: 6 written, 6/6 trace checks passed, 6/6 search"))
      << run.output;
  EXPECT_TRUE(Contains(run.output, "verdict: PASS")) << run.output;
}

TEST(CanaryE2eTest, OncePassesAgainstASeparateBackendAndExits3OnceItIsStopped) {
  WithBackend([](const std::string& query, const std::string& otlp, pid_t backend) {
    const std::vector<std::string> args = {"canary", "scenarios/quickstart.toml",
                                           "--once", "--round",
                                           "2s",     "--rate",
                                           "2",      "--backend",
                                           query,    "--export",
                                           otlp};
    auto up = RunTracerig(args);
    EXPECT_EQ(up.exit_code, 0) << up.output;
    EXPECT_TRUE(Contains(up.output, "4/4 trace checks passed, 4/4 search")) << up.output;

    kill(backend, SIGKILL);  // its sockets close with it
    auto down = RunTracerig(args);
    EXPECT_EQ(down.exit_code, 3) << down.output;
    EXPECT_TRUE(Contains(down.output, "request_failed")) << down.output;
    EXPECT_TRUE(Contains(down.output, "verdict: BACKEND UNREACHABLE")) << down.output;
  });
}

TEST(CanaryE2eTest, LoopServesMetricsUntilSigterm) {
  bool checked = false;
  std::string last_metrics;
  auto run = RunTracerig(
      {"canary", "scenarios/quickstart.toml", "--round", "1s", "--rate", "4", "--reread", "2s",
       "--reread-every", "500ms", "--metrics-listen", "127.0.0.1:0"},
      [&](pid_t pid, const std::string& output) {
        std::smatch url;
        if (checked || !std::regex_search(output, url, kMetricsUrl)) return;
        checked = true;
        const int port = std::stoi(url[1].str());
        EXPECT_EQ(HttpGet(port, "/healthz"), "ok\n");
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
        bool grown = false;
        while (!grown && std::chrono::steady_clock::now() < deadline) {
          last_metrics = HttpGet(port, "/metrics");
          const auto s = Samples(last_metrics);
          const auto value = [&s](const std::string& name) {
            auto it = s.find(name);
            return it == s.end() ? 0.0 : it->second;
          };
          grown = value("tracerig_canary_traces_written_total") > 0 &&
                  value("tracerig_canary_checks_total{check=\"trace\",age=\"0s\"}") > 0 &&
                  value("tracerig_canary_checks_total{check=\"search\",age=\"0s\"}") > 0 &&
                  value("tracerig_canary_checks_total{check=\"trace\",age=\"2s\"}") > 0;
          if (!grown) std::this_thread::sleep_for(std::chrono::milliseconds(200));
        }
        EXPECT_TRUE(grown) << last_metrics;
        EXPECT_EQ(FailuresIn(Samples(last_metrics)), 0) << last_metrics;
        kill(pid, SIGTERM);
      });
  EXPECT_TRUE(checked) << run.output;
  EXPECT_EQ(run.exit_code, 0) << run.output;
  EXPECT_TRUE(Contains(run.output, "stopping: no more writes")) << run.output;
  EXPECT_TRUE(Contains(run.output, "verdict: PASS")) << run.output;
}

TEST(CanaryE2eTest, HealthzStaysHealthyWhileTheBackendCannotBeQueriedBecauseTheLoopGoesOn) {
  bool checked = false;
  std::string health;
  // Nothing listens on port 1: every query and every export is refused.
  auto run = RunTracerig(
      {"canary", "scenarios/quickstart.toml", "--round", "500ms", "--rate", "4", "--backend",
       "tracerig://127.0.0.1:1", "--export", "otlp-http://127.0.0.1:1", "--metrics-listen",
       "127.0.0.1:0", "--queryable-within", "2s"},
      [&](pid_t pid, const std::string& output) {
        std::smatch url;
        if (checked || !std::regex_search(output, url, kMetricsUrl)) return;
        checked = true;
        const int port = std::stoi(url[1].str());
        // Wait until three rounds' checks (2 traces each) failed to query the backend.
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
        std::string metrics;
        double failed = 0;
        while (failed < 6 && std::chrono::steady_clock::now() < deadline) {
          std::this_thread::sleep_for(std::chrono::milliseconds(100));
          metrics = HttpGet(port, "/metrics");
          const auto s = Samples(metrics);
          const auto it = s.find(
              "tracerig_canary_check_failures_total{check=\"trace\",age=\"0s\",reason=\"request_"
              "failed\"}");
          failed = it == s.end() ? 0 : it->second;
        }
        EXPECT_GE(failed, 6) << metrics;
        // /healthz is a liveness probe: the loop makes progress, so it stays healthy.
        health = HttpGet(port, "/healthz");
        kill(pid, SIGTERM);
      });
  EXPECT_TRUE(checked) << run.output;
  EXPECT_EQ(health, "ok\n");
  // The loop kept going through the outage and stops cleanly.
  EXPECT_EQ(run.exit_code, 0) << run.output;
  EXPECT_TRUE(Contains(run.output, "round 3: ")) << run.output;
  EXPECT_TRUE(Contains(run.output, "request_failed")) << run.output;
}

TEST(CanaryE2eTest, OnceInterruptedByASignalSaysInterruptedAndExits130) {
  bool signalled = false;
  auto run = RunTracerig(
      {"canary", "scenarios/quickstart.toml", "--once", "--round", "30s", "--rate", "2"},
      [&](pid_t pid, const std::string& output) {
        if (signalled || !Contains(output, "one round (--once)")) return;
        signalled = true;
        kill(pid, SIGINT);
      });
  EXPECT_TRUE(signalled) << run.output;
  EXPECT_EQ(run.exit_code, 130) << run.output;
  // The summary was printed (not a forced exit), with no PASS/FAIL on the partial round.
  EXPECT_TRUE(Contains(run.output, "verdict: INTERRUPTED")) << run.output;
  EXPECT_FALSE(Contains(run.output, "verdict: PASS")) << run.output;
  EXPECT_FALSE(Contains(run.output, "verdict: FAIL")) << run.output;
}

TEST(CanaryE2eTest, OnceOnABrokenPropagationExits1AndSaysWhereTheTraceBroke) {
  auto run = RunTracerig({"canary", "scenarios/quickstart-drop-context.toml", "--once", "--round",
                          "2s", "--rate", "2", "--queryable-within", "3s"});
  EXPECT_EQ(run.exit_code, 1) << run.output;
  EXPECT_TRUE(Contains(run.output, "broken")) << run.output;
  // The verifier's explanation names the edge where the context was lost.
  EXPECT_TRUE(Contains(run.output, "e.g. broken: ")) << run.output;
  EXPECT_TRUE(Contains(run.output, "between checkout and payment")) << run.output;
  EXPECT_TRUE(Contains(run.output, "verdict: FAIL")) << run.output;
}

TEST(CanaryE2eTest, OnceWithAnExportNobodyReceivesExits3WithNotExported) {
  WithBackend([](const std::string& query, const std::string& /*otlp*/, pid_t /*backend*/) {
    // The backend answers queries, but tracerig exports where nothing listens.
    auto run = RunTracerig({"canary", "scenarios/quickstart.toml", "--once", "--round", "1s",
                            "--rate", "2", "--queryable-within", "3s", "--backend", query,
                            "--export", "otlp-http://127.0.0.1:1"});
    EXPECT_EQ(run.exit_code, 3) << run.output;
    EXPECT_TRUE(Contains(run.output, "not_exported")) << run.output;
    EXPECT_TRUE(Contains(run.output, "exporter could not deliver spans")) << run.output;
  });
}

TEST(CanaryE2eTest, OnceWithAReReadAgeCountsEachReReadOnce) {
  // One trace kept for re-reading (one per --reread-every, 10s, per age): read again by id and
  // by search, so exactly two re-read checks.
  auto run = RunTracerig({"canary", "scenarios/quickstart.toml", "--once", "--round", "2s",
                          "--rate", "3", "--reread", "1s"});
  EXPECT_EQ(run.exit_code, 0) << run.output;
  EXPECT_TRUE(Contains(run.output, "re-reads (1s):  2/2 passed")) << run.output;
  EXPECT_TRUE(Contains(run.output, "verdict: PASS")) << run.output;
}

TEST(CanaryE2eTest, UsageErrorsExit2) {
  auto duration = RunTracerig({"canary", "scenarios/quickstart.toml", "--duration", "10s"});
  EXPECT_EQ(duration.exit_code, 2);
  EXPECT_TRUE(Contains(duration.output, "canary runs until SIGTERM; use --once for one round"))
      << duration.output;
  auto rate = RunTracerig({"canary", "scenarios/quickstart.toml", "--once", "--rate", "0"});
  EXPECT_EQ(rate.exit_code, 2);
  EXPECT_TRUE(Contains(rate.output, "--rate \"0\"")) << rate.output;
  auto missing = RunTracerig({"canary", "--once"});
  EXPECT_EQ(missing.exit_code, 2);
}

}  // namespace
}  // namespace tracerig
