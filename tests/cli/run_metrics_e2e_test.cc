// `tracerig run --metrics-listen`: the canary's figures are served while the load runs (read
// over HTTP from the address the run prints), counting the run's traces as they are verified.
#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <regex>
#include <string>

#include "tests/cli/run_tracerig.h"
#include "tests/support/http_get.h"
#include "tests/support/scratch_dir.h"

namespace {

using tracerig::test_support::HttpGetUrl;
using tracerig::test_support::MetricValue;
using tracerig::testing::RunTracerig;

TEST(RunMetricsE2eTest, ServesLiveFiguresWhileTheLoadRuns) {
  const std::filesystem::path dir = tracerig::test_support::MakeScratchDir("run-metrics");
  ASSERT_FALSE(dir.empty());
  static const std::regex kMetricsUrl(R"(metrics at (http://[0-9.]+:[0-9]+/metrics))");
  std::string url;
  std::string seen_page;
  bool interrupted = false;
  const auto result = RunTracerig(
      {"run", "scenarios/quickstart.toml", "--duration", "60s", "--rate", "20",
       "--metrics-listen", "127.0.0.1:0", "--report-dir", dir.string()},
      [&](pid_t pid, const std::string& output) {
        if (interrupted) return;
        std::smatch m;
        if (url.empty() && std::regex_search(output, m, kMetricsUrl)) url = m[1].str();
        if (url.empty()) return;
        const auto answer = HttpGetUrl(url);
        if (answer.status != 200) return;
        // Enough seen once traces were verified while the load still runs: then Ctrl-C, which
        // still verifies and reports what was sent.
        if (MetricValue(answer.body, R"(tracerig_canary_checks_total{check="trace",age="0s"})") >=
            20) {
          seen_page = answer.body;
          interrupted = true;
          kill(pid, SIGINT);
        }
      });
  ASSERT_FALSE(url.empty()) << result.output;
  ASSERT_TRUE(interrupted) << "never saw 20 trace checks on " << url << "\n" << result.output;
  EXPECT_EQ(result.exit_code, 0) << result.output;
  EXPECT_GE(MetricValue(seen_page, "tracerig_canary_traces_written_total"), 20);
  for (const char* reason : {"missing", "incomplete", "broken", "structure", "request_failed"}) {
    EXPECT_EQ(MetricValue(seen_page, std::string("tracerig_canary_check_failures_total{check="
                                                 "\"trace\",age=\"0s\",reason=\"") +
                                         reason + "\"}"),
              0)
        << reason << "\n"
        << seen_page;
  }
  EXPECT_GE(MetricValue(seen_page, "tracerig_canary_time_to_queryable_seconds_count"), 20);
  EXPECT_GT(MetricValue(seen_page, "tracerig_canary_last_success_timestamp_seconds"), 1e9);
  EXPECT_GT(MetricValue(seen_page, R"(tracerig_canary_query_duration_seconds_count{query="traces"})"),
            0);
  std::filesystem::remove_all(dir);
}

TEST(RunMetricsE2eTest, ABadListenAddressIsAUsageError) {
  const auto result = RunTracerig(
      {"run", "scenarios/quickstart.toml", "--metrics-listen", "127.0.0.1:notaport"});
  EXPECT_EQ(result.exit_code, 2) << result.output;
  EXPECT_NE(result.output.find("--metrics-listen"), std::string::npos) << result.output;
}

}  // namespace
