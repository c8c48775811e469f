// `tracerig run --no-progress`, as a CI log sees it: the summary and the verdict on stdout, and no
// start-up or progress lines on stderr; without the flag those lines are there, and --quiet still
// prints nothing.
#include <gtest/gtest.h>

#include <filesystem>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "tests/cli/run_tracerig.h"
#include "tests/support/scratch_dir.h"

namespace {

namespace fs = std::filesystem;
using tracerig::test_support::MakeScratchDir;
using tracerig::testing::RunTracerigSplit;
using tracerig::testing::SplitResult;

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// The lines a run prints while it works: the start-up lines, the load's progress line and the
// verification's count.
std::vector<std::string> ProgressLines(const std::string& err) {
  static const std::regex progress(
      "^(tracerig: scenario \".*\": [0-9]+ services up|tracerig: load model |load +[0-9.]+s/|"
      "verifying [0-9]+/[0-9]+ traces)");
  std::vector<std::string> found;
  for (const std::string& line : Lines(err)) {
    // A terminal's line rewritten in place starts with "\r\033[K"; a log's does not.
    const size_t start = line.find_first_not_of("\r\033[K");
    const std::string bare = start == std::string::npos ? "" : line.substr(start);
    if (std::regex_search(bare, progress)) found.push_back(line);
  }
  return found;
}

// The summary and the verdict: the load line, its sum, the traces checked, and a verdict line
// after the checks.
void ExpectSummaryAndVerdict(const std::string& out) {
  EXPECT_TRUE(std::regex_search(out, std::regex("(^|\n)load: [0-9]+ requests sent"))) << out;
  EXPECT_TRUE(std::regex_search(out, std::regex("\n += [0-9]+ ok \\+ "))) << out;
  EXPECT_TRUE(std::regex_search(out, std::regex("\ntraces checked: [0-9]+ "))) << out;
  EXPECT_TRUE(std::regex_search(out, std::regex("\n  \\[pass\\] completeness: "))) << out;
  EXPECT_TRUE(std::regex_search(out, std::regex("\nPASS: [0-9]+ of [0-9]+ traces complete\n")))
      << out;
  EXPECT_TRUE(std::regex_search(out, std::regex("\nreport: .*report\\.json\n"))) << out;
}

class NoProgressTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeScratchDir("tracerig-no-progress");
    ASSERT_FALSE(dir_.empty());
  }
  void TearDown() override { fs::remove_all(dir_); }

  SplitResult Run(const std::string& name, const std::vector<std::string>& flags) {
    std::vector<std::string> args = {
        "run",          "scenarios/quickstart.toml", "--duration", "500ms", "--rate", "20",
        "--report-dir", (dir_ / name).string()};
    args.insert(args.end(), flags.begin(), flags.end());
    return RunTracerigSplit(args, dir_ / (name + ".stderr"));
  }

  fs::path dir_;
};

TEST_F(NoProgressTest, PrintsTheSummaryAndTheVerdictButNoProgress) {
  const SplitResult r = Run("no-progress", {"--no-progress"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(ProgressLines(r.err), std::vector<std::string>{}) << r.err;
  EXPECT_EQ(r.err.find('\r'), std::string::npos) << r.err;
  ExpectSummaryAndVerdict(r.out);
}

// The same run without the flag has the lines --no-progress leaves out, on stderr, and the same
// summary on stdout; --quiet prints neither.
TEST_F(NoProgressTest, WithoutItTheProgressIsThereAndQuietStillPrintsNothing) {
  const SplitResult r = Run("default", {});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const std::vector<std::string> progress = ProgressLines(r.err);
  EXPECT_GE(progress.size(), 3u) << r.err;  // services up, load model, at least one load line
  EXPECT_NE(r.err.find("tracerig: scenario \"quickstart\""), std::string::npos) << r.err;
  EXPECT_TRUE(std::regex_search(r.err, std::regex("(^|\n)load +[0-9.]+s/"))) << r.err;
  ExpectSummaryAndVerdict(r.out);

  const SplitResult quiet = Run("quiet", {"--quiet"});
  ASSERT_EQ(quiet.exit_code, 0) << quiet.out << quiet.err;
  EXPECT_EQ(quiet.out, "");
  EXPECT_EQ(ProgressLines(quiet.err), std::vector<std::string>{}) << quiet.err;
}

}  // namespace
