// The HTML report in a real browser: headless Chromium loads the report of the fixed synthetic
// run from a file:// URL, takes a screenshot, and dumps the DOM after the inline script ran. The
// test asserts that the page logged no errors, that the script finished (<body data-ready="yes">,
// filters revealed and counted), that the summary, graph, histograms and waterfall are there, that
// the latency-over-time chart has one interval per timeline point, and that the timed waterfall
// bars were laid out with widths and the positions their timings give.
// Skipped, saying so, when no Chromium is installed (Debian: apt-get install chromium; the
// test set-up in scripts/deps.sh installs it).
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>

#include <fmt/format.h>

#include "report/html.h"
#include "synthetic_report.h"
#include "tests/support/fixtures.h"
#include "tests/support/scratch_dir.h"

namespace tracerig {
namespace {

namespace fs = std::filesystem;

std::optional<fs::path> FindChromium() {
  if (const char* explicit_path = std::getenv("TRACERIG_CHROMIUM")) return fs::path(explicit_path);
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
  std::istringstream in(dirs);
  std::string dir;
  while (std::getline(in, dir, ':')) {
    for (const char* name : {"chromium", "chromium-browser", "google-chrome"}) {
      const fs::path candidate = fs::path(dir) / name;
      if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    }
  }
  return std::nullopt;
}

// What Chromium wrote to `path`; empty when it wrote nothing.
std::string ReadFile(const fs::path& path) { return test_support::ReadTestFile(path).value_or(""); }

class HtmlBrowserTest : public ::testing::Test {
 protected:
  void SetUp() override {
    chromium_ = FindChromium();
    if (!chromium_) {
      GTEST_SKIP() << "chromium is not installed (apt-get install chromium, or set "
                      "TRACERIG_CHROMIUM to a Chrome/Chromium binary): the HTML report was not "
                      "checked in a browser";
    }
    dir_ = test_support::MakeScratchDir("tracerig-html");
    ASSERT_FALSE(dir_.empty());
    std::ofstream(dir_ / "report.html") << RenderHtmlReport(SyntheticRun());
  }
  void TearDown() override {
    if (!dir_.empty() && std::getenv("TRACERIG_KEEP_BROWSER_OUTPUT") == nullptr) {
      std::error_code ec;
      fs::remove_all(dir_, ec);
    }
  }

  // Runs Chromium on the report with `mode` flags; stdout and stderr go to files in dir_.
  int Chromium(const std::string& mode, const std::string& name) {
    const std::string command = fmt::format(
        "timeout 180 '{}' --headless --disable-gpu --no-sandbox --no-first-run "
        "--disable-extensions --user-data-dir='{}' --window-size=1280,2000 "
        "--enable-logging=stderr --v=0 {} 'file://{}' >'{}' 2>'{}'",
        chromium_->string(), (dir_ / ("profile-" + name)).string(), mode,
        (dir_ / "report.html").string(), (dir_ / (name + ".out")).string(),
        (dir_ / (name + ".err")).string());
    return std::system(command.c_str());
  }

  std::optional<fs::path> chromium_;
  fs::path dir_;
};

// Chromium prints page console messages as "CONSOLE(...)" or "console" log lines and uncaught
// exceptions as "Uncaught ...".
void ExpectNoConsoleErrors(const std::string& log) {
  std::istringstream lines(log);
  std::string line;
  while (std::getline(lines, line)) {
    EXPECT_EQ(line.find("Uncaught"), std::string::npos) << line;
    const bool console = line.find("CONSOLE") != std::string::npos ||
                         line.find(":console") != std::string::npos;
    EXPECT_FALSE(console && line.find("report.html") != std::string::npos) << line;
  }
}

TEST_F(HtmlBrowserTest, ScreenshotShowsThePage) {
  const fs::path shot = dir_ / "screenshot.png";
  ASSERT_EQ(Chromium("--screenshot='" + shot.string() + "'", "shot"), 0)
      << ReadFile(dir_ / "shot.err");
  const std::string png = ReadFile(shot);
  ASSERT_GT(png.size(), 10'000u) << "screenshot too small to show the report";
  EXPECT_EQ(png.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  ExpectNoConsoleErrors(ReadFile(dir_ / "shot.err"));
}

TEST_F(HtmlBrowserTest, ScriptRanAndTheExpectedElementsExist) {
  ASSERT_EQ(Chromium("--dump-dom", "dom"), 0) << ReadFile(dir_ / "dom.err");
  const std::string dom = ReadFile(dir_ / "dom.out");
  ExpectNoConsoleErrors(ReadFile(dir_ / "dom.err"));
  ASSERT_NE(dom.find("<body"), std::string::npos) << dom.substr(0, 2000);
  // The script ran to its end: it marks the body, reveals the filters and counts the traces.
  EXPECT_NE(dom.find("data-ready=\"yes\""), std::string::npos);
  EXPECT_NE(dom.find("<div id=\"filters\">"), std::string::npos);
  EXPECT_NE(dom.find("<span id=\"filter-count\">7 of 7 traces shown</span>"), std::string::npos);
  for (const char* element :
       {"id=\"summary\"", "id=\"checks\"", "id=\"service-graph\"", "class=\"edge broken\"",
        "id=\"hist-corrected\"", "id=\"percentiles\"", "id=\"sampling\"", "id=\"traces\"",
        "class=\"row moved fault\"", "class=\"row missing fault\"", "class=\"trace incomplete\""}) {
    EXPECT_NE(dom.find(element), std::string::npos) << element;
  }
  // The browser decoded the escaped user-given service name back into text, not markup.
  EXPECT_NE(dom.find("fraud|check &lt;beta&gt; &amp; \"co\""), std::string::npos);
  // Latency over time: the chart with one interval per timeline point of the synthetic run.
  const RunReport run = SyntheticRun();
  EXPECT_NE(dom.find("<svg id=\"latency-over-time\""), std::string::npos);
  size_t intervals = 0;
  for (size_t at = dom.find("<g class=\"interval\""); at != std::string::npos;
       at = dom.find("<g class=\"interval\"", at + 1)) {
    ++intervals;
  }
  EXPECT_EQ(intervals, run.load.timeline.points().size());
  // The waterfall's timed bars: the script counted those the browser laid out with a width (24
  // CLIENT and 23 SERVER spans in the examples), and they sit where the timings put them.
  EXPECT_NE(dom.find("data-timed-bars=\"47\""), std::string::npos);
  EXPECT_NE(dom.find("data-end-ns=\"19000000\" style=\"left:5.00%;width:90.00%\""),
            std::string::npos);
}

}  // namespace
}  // namespace tracerig
