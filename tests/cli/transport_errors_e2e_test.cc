// Transport errors by kind through the commands that read report.json back: a run's report whose
// requests all failed with "connection refused" (the kinds the load driver records, written into
// a real run's report) is merged and rendered, and every format says why the requests failed.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "tests/cli/run_tracerig.h"
#include "tests/support/scratch_dir.h"

namespace {

namespace fs = std::filesystem;
using tracerig::test_support::MakeScratchDir;
using tracerig::testing::ReadJsonUnder;
using tracerig::testing::RunTracerig;

std::string ReadText(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class TransportErrorsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeScratchDir("tracerig-transport-errors");
    ASSERT_FALSE(dir_.empty());
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path dir_;
};

TEST_F(TransportErrorsTest, MergeAndRenderSayWhyEveryRequestFailed) {
  auto run = RunTracerig({"run", "scenarios/quickstart.toml", "--duration", "500ms", "--rate", "20",
                          "--no-verify", "--report-dir", (dir_ / "run").string()});
  ASSERT_EQ(run.exit_code, 0) << run.output;
  nlohmann::json report = ReadJsonUnder(dir_ / "run", "report.json");
  ASSERT_TRUE(report.is_object()) << run.output;
  ASSERT_TRUE(report["load"]["transport_error_reasons"].is_array()) << report["load"].dump(2);
  // The unreachable entry: every request refused.
  const uint64_t sent = report["load"]["sent"];
  ASSERT_GT(sent, 0u);
  report["load"]["ok"] = 0;
  report["load"]["http_errors"] = 0;
  report["load"]["transport_errors"] = sent;
  report["load"]["transport_error_reasons"] =
      nlohmann::json::array({{{"reason", "connection refused"},
                              {"count", sent},
                              {"first_message", "connect: Connection refused"}}});
  fs::create_directories(dir_ / "refused");
  std::ofstream(dir_ / "refused" / "report.json") << report.dump(2);

  const fs::path merged = dir_ / "merged";
  auto m = RunTracerig({"report", "merge", (dir_ / "refused" / "report.json").string(), "--out",
                        merged.string(), "--report", "junit,markdown,html"});
  EXPECT_EQ(m.exit_code, 3) << m.output;
  const std::string n = std::to_string(sent);
  const std::string why = n + " connection refused: connect: Connection refused";
  EXPECT_NE(m.output.find("\ntransport errors: " + n + " (" + why + ")\n"), std::string::npos)
      << m.output;
  EXPECT_NE(
      m.output.find("\nERROR: " + n + " of " + n + " requests failed at the transport level (" +
                    why + "); the topology did not serve the load\n"),
      std::string::npos)
      << m.output;

  const nlohmann::json out = ReadJsonUnder(merged, "report.json");
  ASSERT_TRUE(out.is_object()) << m.output;
  EXPECT_EQ(out["load"]["transport_error_reasons"], report["load"]["transport_error_reasons"]);
  EXPECT_NE(ReadText(merged / "report.xml").find("  " + why + "\n"), std::string::npos);
  EXPECT_NE(ReadText(merged / "report.md")
                .find("| connection refused | " + n + " | connect: Connection refused |"),
            std::string::npos);
  EXPECT_NE(ReadText(merged / "report.html").find("<table id=\"transport-errors\">"),
            std::string::npos);

  // Rendered again from the merged report.json: the same kinds, without judging again.
  auto r = RunTracerig({"report", "render", merged.string(), "--out", (dir_ / "rendered").string(),
                        "--report", "markdown"});
  EXPECT_EQ(r.exit_code, 3) << r.output;
  EXPECT_NE(ReadText(dir_ / "rendered" / "report.md")
                .find("requests failed at the transport "
                      "level (" +
                      why + ")"),
            std::string::npos);
}

}  // namespace
