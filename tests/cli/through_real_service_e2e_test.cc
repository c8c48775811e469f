// Tracing through a real service: frontend (simulated) -> fraud-check (a real process,
// tests/cli/forwarding_service.py, exporting its own spans as OTLP/JSON) -> payment (simulated),
// run end to end through the binary against `tracerig backend`. Passing the trace context on, the
// run passes; dropping it, the run exits 1 and names the real service and the edge.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/cli/run_tracerig.h"
#include "tests/support/free_port.h"
#include "tests/support/scratch_dir.h"

namespace {

namespace fs = std::filesystem;
using tracerig::test_support::MakeScratchDir;
using tracerig::testing::ReadJsonUnder;
using tracerig::testing::RunTracerig;

// A child process whose first output lines are read until each of `patterns` has matched once;
// stopped with SIGINT.
class Child {
 public:
  Child(std::vector<std::string> argv, const std::vector<std::string>& patterns) {
    int pipefd[2];
    if (pipe(pipefd) != 0) return;
    pid_ = fork();
    if (pid_ == 0) {
      dup2(pipefd[1], STDOUT_FILENO);
      dup2(pipefd[1], STDERR_FILENO);
      close(pipefd[0]);
      close(pipefd[1]);
      if (chdir(TRACERIG_SOURCE_DIR) != 0) _exit(127);
      std::vector<char*> args;
      for (auto& a : argv) args.push_back(a.data());
      args.push_back(nullptr);
      execvp(args[0], args.data());
      _exit(127);
    }
    close(pipefd[1]);
    out_ = fdopen(pipefd[0], "r");
    char line[1024];
    size_t next = 0;
    while (next < patterns.size() && out_ != nullptr &&
           std::fgets(line, sizeof line, out_) != nullptr) {
      output_ += line;
      std::smatch m;
      const std::string text = line;
      if (std::regex_search(text, m, std::regex(patterns[next]))) {
        ports_.push_back(m[1]);
        ++next;
      }
    }
  }
  ~Child() {
    if (pid_ > 0) {
      kill(pid_, SIGINT);
      int status = 0;
      waitpid(pid_, &status, 0);
    }
    if (out_ != nullptr) std::fclose(out_);
  }
  // The first group of each pattern, in order; fewer when the output ended first.
  const std::vector<std::string>& ports() const { return ports_; }
  const std::string& output() const { return output_; }

 private:
  pid_t pid_ = -1;
  FILE* out_ = nullptr;
  std::string output_;
  std::vector<std::string> ports_;
};

struct Outcome {
  tracerig::testing::ProcessResult run;
  nlohmann::json report;
  std::string setup_error;
};

// `requests` at `rate` a second through fraud-check in `mode`, each held there `delay_ms`.
Outcome RunThrough(const std::string& mode, const fs::path& dir, int requests = 20, int rate = 10,
                   int delay_ms = 0) {
  Outcome o;
  Child backend({TRACERIG_BINARY, "backend", "--otlp-http", "127.0.0.1:0", "--query",
                 "127.0.0.1:0", "--zipkin", "off", "--otlp-grpc", "off"},
                {R"(otlp-http:\s+http://127\.0\.0\.1:(\d+)/)",
                 R"(query:\s+http://127\.0\.0\.1:(\d+)/)"});
  if (backend.ports().size() != 2) {
    o.setup_error = "tracerig backend did not start: " + backend.output();
    return o;
  }
  const int payment = tracerig::test_support::FreeLoopbackPort();
  Child real({"python3", "tests/cli/forwarding_service.py", "--mode", mode, "--delay-ms",
              std::to_string(delay_ms), "--downstream",
              fmt::format("http://127.0.0.1:{}/Charge", payment), "--otlp",
              fmt::format("http://127.0.0.1:{}/v1/traces", backend.ports()[0]), "--service",
              "fraud-check"},
             {R"(^port (\d+))"});
  if (real.ports().size() != 1) {
    o.setup_error = "forwarding_service.py did not start: " + real.output();
    return o;
  }
  const fs::path scenario = dir / "through.toml";
  std::ofstream(scenario) << fmt::format(R"([scenario]
name = "through-real"
seed = 5

[load]
model = "count"
requests = {}
rate = {}

[[load.entries]]
service = "frontend"
route = "GET /"

[backend]
export = "otlp-http://127.0.0.1:{}"
query = "tracerig://127.0.0.1:{}"

[[services]]
name = "frontend"
  [[services.routes]]
  name = "GET /"
  calls = [{{ service = "fraud-check", route = "POST /check" }}]

[[services]]
name = "fraud-check"
url = "http://127.0.0.1:{}"
  [[services.routes]]
  name = "POST /check"
  calls = [{{ service = "payment", route = "Charge" }}]

[[services]]
name = "payment"
listen = "127.0.0.1:{}"
  [[services.routes]]
  name = "Charge"
)",
                                         requests, rate, backend.ports()[0], backend.ports()[1],
                                         real.ports()[0], payment);
  o.run = RunTracerig({"run", scenario.string(), "--report-dir", (dir / "report").string()});
  o.report = ReadJsonUnder(dir / "report", "report.json");
  return o;
}

TEST(ThroughRealServiceE2eTest, ARealServicePassingTheContextOnCompletesEveryTrace) {
  const fs::path dir = MakeScratchDir("tracerig-through");
  ASSERT_FALSE(dir.empty());
  const Outcome o = RunThrough("propagate", dir);
  ASSERT_TRUE(o.setup_error.empty()) << o.setup_error;
  EXPECT_EQ(o.run.exit_code, 0) << o.run.output;
  ASSERT_TRUE(o.report.is_object()) << o.run.output;
  const auto& v = o.report["verification"];
  EXPECT_EQ(v["complete"], 20) << v.dump();
  ASSERT_EQ(v["external_hops"].size(), 1u) << v.dump();
  const auto& hop = v["external_hops"][0];
  EXPECT_EQ(hop["external"], "fraud-check");
  EXPECT_EQ(hop["callee"], "payment");
  EXPECT_EQ(hop["requests"], 20);
  EXPECT_EQ(hop["tied"]["baggage"], 20);  // the real service forwarded tracerig's baggage
  EXPECT_EQ(hop["attribution"], "per request");
  EXPECT_EQ(hop["broken_traces"], 0);
  EXPECT_NE(o.run.output.find("below fraud-check: payment received 20 requests, 20 tied per "
                              "request (baggage 20)"),
            std::string::npos)
      << o.run.output;
  fs::remove_all(dir);
}

TEST(ThroughRealServiceE2eTest, ARealServiceDroppingTheContextFailsTheRunAndIsNamed) {
  const fs::path dir = MakeScratchDir("tracerig-through");
  ASSERT_FALSE(dir.empty());
  const Outcome o = RunThrough("drop", dir);
  ASSERT_TRUE(o.setup_error.empty()) << o.setup_error;
  EXPECT_EQ(o.run.exit_code, 1) << o.run.output;
  ASSERT_TRUE(o.report.is_object()) << o.run.output;
  const auto& v = o.report["verification"];
  EXPECT_EQ(v["complete"], 0) << v.dump();
  ASSERT_EQ(v["external_hops"].size(), 1u) << v.dump();
  const auto& hop = v["external_hops"][0];
  EXPECT_EQ(hop["requests"], 20);
  // One request at a time (10 a second, each a few ms): each is the only one in flight.
  EXPECT_EQ(hop["tied"]["single request in flight"], 20) << hop.dump();
  EXPECT_EQ(hop["broken_traces"], 20);
  EXPECT_EQ(v["violation_counts"]["external-hop"], 20) << v.dump();
  EXPECT_NE(o.run.output.find("fraud-check did not pass trace context on to payment (hop "
                              "0.0.0): payment received no trace context headers"),
            std::string::npos)
      << o.run.output;
  ASSERT_FALSE(v["break_edges"].empty());
  EXPECT_EQ(v["break_edges"][0]["caller"], "fraud-check");
  EXPECT_EQ(v["break_edges"][0]["callee"], "payment");
  fs::remove_all(dir);
}

// Several requests in flight at once (40 a second, each held 100 ms): the trace id each one
// continues ties it. Baggage is not passed on, which fails the run and says so.
TEST(ThroughRealServiceE2eTest, TheTraceIdTiesOverlappingRequestsAndDroppedBaggageIsNamed) {
  const fs::path dir = MakeScratchDir("tracerig-through");
  ASSERT_FALSE(dir.empty());
  const Outcome o = RunThrough("traceparent", dir, 20, 40, 100);
  ASSERT_TRUE(o.setup_error.empty()) << o.setup_error;
  EXPECT_EQ(o.run.exit_code, 1) << o.run.output;
  ASSERT_TRUE(o.report.is_object()) << o.run.output;
  const auto& v = o.report["verification"];
  EXPECT_EQ(v["complete"], 20) << v.dump();
  const auto& hop = v["external_hops"][0];
  EXPECT_EQ(hop["requests"], 20);
  EXPECT_EQ(hop["tied"]["trace id"], 20) << hop.dump();
  EXPECT_EQ(hop["attribution"], "per request");
  EXPECT_EQ(v["violation_counts"]["external-hop"], 20) << v.dump();
  EXPECT_NE(o.run.output.find("fraud-check dropped tracestate on fraud-check to payment (hop "
                              "0.0.0): tracerig="),
            std::string::npos)
      << o.run.output;
  EXPECT_NE(o.run.output.find("fraud-check dropped baggage on fraud-check to payment (hop "
                              "0.0.0): tracerig.request_id="),
            std::string::npos)
      << o.run.output;
  fs::remove_all(dir);
}

// Overlapping requests and no context at all: most cannot be tied to their root request, so they
// are judged by counts, and the summary says so.
TEST(ThroughRealServiceE2eTest, UntiedRequestsAreJudgedByCounts) {
  const fs::path dir = MakeScratchDir("tracerig-through");
  ASSERT_FALSE(dir.empty());
  const Outcome o = RunThrough("drop", dir, 20, 40, 100);
  ASSERT_TRUE(o.setup_error.empty()) << o.setup_error;
  EXPECT_EQ(o.run.exit_code, 1) << o.run.output;
  ASSERT_TRUE(o.report.is_object()) << o.run.output;
  const auto& v = o.report["verification"];
  EXPECT_EQ(v["complete"], 0) << v.dump();
  const auto& hop = v["external_hops"][0];
  EXPECT_EQ(hop["requests"], 20);
  EXPECT_GT(hop["untied_not_continued"], 0) << hop.dump();
  EXPECT_EQ(hop["untied_continued"], 0) << hop.dump();
  EXPECT_NE(hop["attribution"].get<std::string>().find("by counts"), std::string::npos);
  EXPECT_NE(o.run.output.find("below fraud-check: payment received 20 requests, "),
            std::string::npos)
      << o.run.output;
  EXPECT_NE(o.run.output.find(" by counts (0 continuing a trace of the run, "), std::string::npos)
      << o.run.output;
  EXPECT_NE(o.run.output.find("payment (hop 0.0.0), called by fraud-check, received nothing tied "
                              "to this request"),
            std::string::npos)
      << o.run.output;
  fs::remove_all(dir);
}

}  // namespace
