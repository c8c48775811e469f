// End-to-end tests of `tracerig run --find-max-ingest` through the real binary and the embedded
// backend. The limit the search must find is a property of the setup, not of the machine's speed:
// an embedded backend that keeps only --max-spans spans evicts the oldest traces of any step that
// exports more, so with quickstart's 8 spans per request, 1 s steps and 2,000 spans, every step up
// to 250 req/s is complete and every step above is not, when each step is verified after its
// load (--verify-after-load; verified alongside the load, each trace is read before the store
// evicts it, and the limit would depend on speed again). The driver's lag bound is loosened so a
// busy CI machine cannot turn the answer into "limited by tracerig".
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/cli/run_tracerig.h"
#include "tests/support/scratch_dir.h"

namespace {

namespace fs = std::filesystem;
using tracerig::test_support::MakeScratchDir;
using tracerig::testing::ReadJsonUnder;
using tracerig::testing::RunTracerig;

class SaturationE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeScratchDir("tracerig-saturation");
    ASSERT_FALSE(dir_.empty());
  }
  void TearDown() override { fs::remove_all(dir_); }

  // The single saturation.json written under dir_.
  nlohmann::json ReadSaturation() {
    nlohmann::json json = ReadJsonUnder(dir_, "saturation.json");
    if (json.is_null()) ADD_FAILURE() << "no saturation.json under " << dir_;
    return json;
  }

  fs::path dir_;
};

TEST_F(SaturationE2eTest, FindsWhereTheEmbeddedStoreStopsHoldingAWholeStep) {
  auto r = RunTracerig({"run", "scenarios/quickstart.toml", "--find-max-ingest", "--start-rate",
                        "40", "--step-duration", "1s", "--resolution", "10%", "--max-spans",
                        "2000", "--max-schedule-lag", "1s", "--verify-after-load", "--report-dir",
                        dir_.string()});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  // Ramp 40, 80, 160 pass and 320 fails; bisection 240 passes, 280 and 260 fail; 260 is within
  // 10% of 240.
  EXPECT_NE(r.output.find("step 1 (ramp): 40 req/s = 320 spans/s: complete 100.0%"),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("step 4 (ramp): 320 req/s = 2,560 spans/s: complete "), std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("Highest sustained rate: 240 req/s = 1,920 spans/s\n"), std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("At 260 req/s = 2,080 spans/s it did not: complete "), std::string::npos)
      << r.output;
  auto j = ReadSaturation();
  EXPECT_EQ(j["scenario"], "quickstart");
  EXPECT_EQ(j["options"]["spans_per_request"], 8.0);
  // After the load, time to queryable figures are mostly upper bounds: not judged by default.
  EXPECT_TRUE(j["options"]["max_ttq_p99_ns"].is_null());
  EXPECT_EQ(j["result"]["end"], "bracketed");
  EXPECT_EQ(j["result"]["max_passing_rate"], 240.0);
  EXPECT_EQ(j["result"]["min_failing_rate"], 260.0);
  EXPECT_EQ(j["result"]["exit_code"], 0);
  const std::vector<double> rates = {40, 80, 160, 320, 240, 280, 260};
  const std::vector<std::string> verdicts = {"pass", "pass",          "pass",
                                             "backend-limit", "pass", "backend-limit",
                                             "backend-limit"};
  ASSERT_EQ(j["steps"].size(), rates.size()) << j.dump(2);
  for (size_t i = 0; i < rates.size(); ++i) {
    SCOPED_TRACE(i);
    const auto& step = j["steps"][i];
    EXPECT_EQ(step["rate"], rates[i]);
    EXPECT_EQ(step["verdict"], verdicts[i]) << step["reason"];
    EXPECT_EQ(step["requests_sent"], static_cast<uint64_t>(rates[i]));
    EXPECT_EQ(step["spans_exported"], static_cast<uint64_t>(rates[i]) * 8);
    EXPECT_EQ(step["checked"], static_cast<uint64_t>(rates[i]));
    // Whole traces are evicted, so a failing step loses whole requests' worth of spans.
    if (verdicts[i] == "pass") {
      EXPECT_EQ(step["complete"], step["checked"]);
    } else {
      EXPECT_LT(step["complete"], step["checked"]);
    }
  }
}

// By default each step is verified alongside its load, so time to queryable is measured per
// trace and judged (5 s unless --ttq-p99 says otherwise). A trace cannot be queryable before its
// last span (the driver's, exported after the answer) is: 1 ms is always exceeded.
TEST_F(SaturationE2eTest, VerifiedAlongsideTheLoadTimeToQueryableIsJudged) {
  auto r = RunTracerig({"run", "scenarios/quickstart.toml", "--find-max-ingest", "--start-rate",
                        "40", "--step-duration", "1s", "--max-steps", "1", "--ttq-p99", "1ms",
                        "--max-schedule-lag", "1s", "--report-dir", dir_.string()});
  ASSERT_EQ(r.exit_code, 1) << r.output;
  auto j = ReadSaturation();
  ASSERT_EQ(j["steps"].size(), 1u) << j.dump(2);
  const auto& step = j["steps"][0];
  EXPECT_EQ(step["verdict"], "backend-limit");
  EXPECT_EQ(step["complete"], 40u);
  ASSERT_TRUE(step["ttq_p99_ns"].is_number()) << step.dump(2);
  EXPECT_GT(step["ttq_p99_ns"].get<uint64_t>(), 1'000'000u);
  EXPECT_NE(step["reason"].get<std::string>().find("time to queryable p99"), std::string::npos)
      << step["reason"];

  fs::remove_all(dir_);
  fs::create_directories(dir_);
  r = RunTracerig({"run", "scenarios/quickstart.toml", "--find-max-ingest", "--start-rate", "40",
                   "--step-duration", "1s", "--max-steps", "1", "--max-schedule-lag", "1s",
                   "--report-dir", dir_.string()});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  j = ReadSaturation();
  EXPECT_EQ(j["options"]["max_ttq_p99_ns"], 5'000'000'000u);
  ASSERT_EQ(j["steps"].size(), 1u) << j.dump(2);
  EXPECT_EQ(j["steps"][0]["verdict"], "pass");
}

TEST_F(SaturationE2eTest, UnreachableBackendEndsTheSearchWithExit3AndNoRate) {
  // A port with nothing listening: bind, note the port, close.
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  std::string port = std::to_string(ntohs(addr.sin_port));
  close(fd);
  auto r = RunTracerig({"run", "scenarios/quickstart.toml", "--find-max-ingest", "--start-rate",
                        "10", "--step-duration", "500ms", "--backend", "jaeger://127.0.0.1:" + port,
                        "--export", "otlp-http://127.0.0.1:" + port, "--report-dir",
                        dir_.string()});
  ASSERT_EQ(r.exit_code, 3) << r.output;
  EXPECT_NE(r.output.find("step 1 (ramp): 10 req/s = 80 spans/s: error: backend unreachable"),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("Highest sustained rate: none"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("No maximum rate is reported."), std::string::npos) << r.output;
  auto j = ReadSaturation();
  EXPECT_EQ(j["result"]["end"], "backend-error");
  EXPECT_TRUE(j["result"]["max_passing_rate"].is_null());
  EXPECT_EQ(j["steps"].size(), 1u);
}

TEST_F(SaturationE2eTest, FlagsThatDoNotFitExit2WithTheReason) {
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{"run", "scenarios/quickstart.toml", "--start-rate", "10"},
       "--start-rate applies only with --find-max-ingest"},
      {{"run", "scenarios/quickstart.toml", "--find-max-ingest", "--rate", "10"},
       "--rate does not apply with --find-max-ingest (use --start-rate)"},
      {{"run", "scenarios/quickstart.toml", "--find-max-ingest", "--resolution", "0"},
       "--resolution \"0\" must be a fraction like 5% or 0.05, above 0 and below 100%"},
      {{"run", "scenarios/quickstart.toml", "--find-max-ingest", "--ttq-p99", "soon"},
       "--ttq-p99 \"soon\" is not a duration like 5s (or \"off\")"},
      {{"run", "scenarios/ramp.toml", "--find-max-ingest"},
       "--find-max-ingest needs an open-loop rate: [load] model \"constant\" or \"poisson\", not "
       "\"ramp\""},
      {{"run", "scenarios/quickstart.toml", "--max-spans", "100", "--backend",
        "jaeger://127.0.0.1:1"},
       "--max-spans applies to the embedded backend only"},
  };
  for (const auto& c : cases) {
    auto r = RunTracerig(c.args);
    EXPECT_EQ(r.exit_code, 2) << r.output;
    EXPECT_NE(r.output.find(c.message), std::string::npos) << r.output;
  }
  auto help = RunTracerig({"run", "--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.output.find("--find-max-ingest"), std::string::npos);
  EXPECT_NE(help.output.find("docs/SATURATION.md"), std::string::npos);
}

}  // namespace
