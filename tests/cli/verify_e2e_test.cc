// End-to-end tests of `tracerig verify`: a run's ledger verified later against a separate
// `tracerig backend`, with the scenario the run used, another one, or a changed one.
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/cli/run_tracerig.h"
#include "tests/support/scratch_dir.h"

namespace {

namespace fs = std::filesystem;
using tracerig::test_support::MakeScratchDir;
using tracerig::testing::ProcessResult;
using tracerig::testing::ReadJsonUnder;
using tracerig::testing::RunTracerig;

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

fs::path FindUnder(const fs::path& dir, const std::string& name) {
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (entry.path().filename() == name) return entry.path();
  }
  return {};
}

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

class VerifyE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeScratchDir("tracerig-verify");
    ASSERT_FALSE(dir_.empty());
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Starts `tracerig backend` on free ports, calls `body` with its query and OTLP/HTTP URLs, then
  // stops it.
  void WithBackend(
      const std::function<void(const std::string& query, const std::string& otlp)>& body) {
    bool done = false;
    auto backend = RunTracerig(
        {"backend", "--otlp-http", "127.0.0.1:0", "--query", "127.0.0.1:0", "--zipkin", "off",
         "--otlp-grpc", "off"},
        [&](pid_t pid, const std::string& output) {
          if (done || !Contains(output, "Ctrl-C to stop.")) return;
          done = true;
          std::smatch otlp;
          std::smatch query;
          const bool found =
              std::regex_search(output, otlp, std::regex("otlp-http: http://([0-9.:]+)/")) &&
              std::regex_search(output, query, std::regex("query: +http://([0-9.:]+)/"));
          // The backend is stopped however `body` ends, a thrown exception included.
          struct StopBackend {
            pid_t pid;
            ~StopBackend() { kill(pid, SIGINT); }
          } stop{pid};
          if (found) {
            body("tracerig://" + query[1].str(), "otlp-http://" + otlp[1].str());
          } else {
            ADD_FAILURE() << output;
          }
        });
    EXPECT_TRUE(done) << backend.output;
  }

  fs::path dir_;
};

TEST_F(VerifyE2eTest, VerifiesTheRunsScenarioAndRefusesAnother) {
  WithBackend([&](const std::string& query, const std::string& otlp) {
    auto run = RunTracerig({"run", "scenarios/quickstart.toml", "--duration", "500ms", "--rate",
                            "10", "--backend", query, "--export", otlp, "--report-dir",
                            (dir_ / "run").string()});
    ASSERT_EQ(run.exit_code, 0) << run.output;
    const fs::path ledger = FindUnder(dir_ / "run", "ledger.jsonl");
    ASSERT_FALSE(ledger.empty());
    EXPECT_TRUE(Contains(ReadFile(ledger), "\"scenario_hash\":\"fnv1a64:")) << ReadFile(ledger);

    // The run's scenario: verified, and the summary claims no load figures it does not know.
    auto same = RunTracerig({"verify", "scenarios/quickstart.toml", "--ledger", ledger.string(),
                             "--backend", query, "--report-dir", (dir_ / "verify").string(),
                             "--report", "markdown"});
    EXPECT_EQ(same.exit_code, 0) << same.output;
    EXPECT_FALSE(Contains(same.output, "target 0/s")) << same.output;
    EXPECT_FALSE(Contains(same.output, "0 spans exported")) << same.output;
    EXPECT_FALSE(Contains(same.output, "requests sent in")) << same.output;
    EXPECT_TRUE(Contains(same.output, "load: not known (verify only)")) << same.output;
    EXPECT_TRUE(Contains(same.output, "[pass] spans-exported: not known: the spans were exported "
                                      "by the run that wrote the ledger"))
        << same.output;
    EXPECT_TRUE(std::regex_search(same.output,
                                  std::regex("ledger: [1-9][0-9]* requests: [1-9][0-9]* ok, 0 HTTP "
                                             "errors, 0 transport errors \\(as the run recorded "
                                             "them\\)")))
        << same.output;
    nlohmann::json report = ReadJsonUnder(dir_ / "verify", "report.json");
    ASSERT_FALSE(report.is_null()) << same.output;
    EXPECT_EQ(report["scenario"]["name"], "quickstart") << report.dump();
    EXPECT_FALSE(FindUnder(dir_ / "verify", "report.md").empty());

    // Another scenario's file: a usage error naming both, not a trace failure.
    auto other = RunTracerig({"verify", "scenarios/ramp.toml", "--ledger", ledger.string(),
                              "--backend", query, "--report-dir", (dir_ / "other").string()});
    EXPECT_EQ(other.exit_code, 2) << other.output;
    EXPECT_TRUE(Contains(other.output, "tracerig verify: " + ledger.string() +
                                           " was written by a run of scenario \"quickstart\"; "
                                           "scenarios/ramp.toml is scenario \"ramp\""))
        << other.output;
    EXPECT_FALSE(Contains(other.output, "unexpected-span")) << other.output;
    EXPECT_FALSE(fs::exists(dir_ / "other"));

    // The same name, other content: also refused.
    const fs::path changed = dir_ / "changed.toml";
    std::ofstream(changed) << ReadFile(fs::path(TRACERIG_SOURCE_DIR) / "scenarios/quickstart.toml")
                           << "\n# changed\n";
    auto edited = RunTracerig({"verify", changed.string(), "--ledger", ledger.string(), "--backend",
                               query, "--report-dir", (dir_ / "edited").string()});
    EXPECT_EQ(edited.exit_code, 2) << edited.output;
    EXPECT_TRUE(Contains(edited.output, changed.string() + " is scenario \"quickstart\" but not "
                                                           "the file the run used"))
        << edited.output;

    // A ledger from before the hash was written: checked by name only.
    std::string old_ledger = ReadFile(ledger);
    old_ledger = std::regex_replace(old_ledger, std::regex(",\"scenario_hash\":\"[^\"]*\""), "");
    const fs::path old_path = dir_ / "old.jsonl";
    std::ofstream(old_path) << old_ledger;
    auto old = RunTracerig({"verify", changed.string(), "--ledger", old_path.string(), "--backend",
                            query, "--report-dir", (dir_ / "old").string()});
    EXPECT_EQ(old.exit_code, 0) << old.output;
  });
}

}  // namespace
