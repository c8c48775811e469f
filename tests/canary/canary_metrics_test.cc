// CanaryMetrics: the families the canary exposes, every series that can occur present at zero from
// the start, recording into the right series, and the page accepted by `promtool check metrics`.
#include "canary/canary_metrics.h"

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "tests/support/scratch_dir.h"

namespace tracerig {
namespace {

const std::string kPrefix(kCanaryMetricPrefix);

bool HasLine(const std::string& text, const std::string& line) {
  return text.starts_with(line + "\n") || text.find("\n" + line + "\n") != std::string::npos;
}

TEST(CanaryMetricsTest, ReasonNames) {
  const std::vector<std::pair<CheckFailure, std::string>> checks = {
      {CheckFailure::kMissing, "missing"},
      {CheckFailure::kIncomplete, "incomplete"},
      {CheckFailure::kBroken, "broken"},
      {CheckFailure::kStructure, "structure"},
      {CheckFailure::kNotFoundBySearch, "not_found_by_search"},
      {CheckFailure::kRequestFailed, "request_failed"},
      {CheckFailure::kNotExported, "not_exported"},
      {CheckFailure::kEvicted, "evicted"},
      {CheckFailure::kLate, "late"},
  };
  ASSERT_EQ(checks.size(), kCheckFailureCount);
  for (const auto& [reason, name] : checks) EXPECT_EQ(CheckFailureName(reason), name);
  EXPECT_EQ(WriteFailureName(WriteFailure::kTransport), "transport");
  EXPECT_EQ(WriteFailureName(WriteFailure::kHttpStatus), "http_status");
  EXPECT_EQ(WriteFailureName(WriteFailure::kExport), "export");
}

TEST(CanaryMetricsTest, EverySeriesThatCanOccurIsThereAtZero) {
  CanaryMetrics metrics("1.2.3", {"1m", "15m"}, /*search=*/true);
  const std::string text = metrics.registry().Render();
  for (const char* line : {
           "traces_written_total 0",
           "write_failures_total{reason=\"transport\"} 0",
           "write_failures_total{reason=\"http_status\"} 0",
           "write_failures_total{reason=\"export\"} 0",
           "spans_expected_total 0",
           "spans_found_total 0",
           "last_success_timestamp_seconds 0",
           "traces_pending 0",
           "build_info{version=\"1.2.3\"} 1",
           "time_to_queryable_seconds_bucket{le=\"0.05\"} 0",
           "time_to_queryable_seconds_bucket{le=\"600\"} 0",
           "time_to_queryable_seconds_bucket{le=\"+Inf\"} 0",
           "time_to_queryable_seconds_count 0",
           "query_duration_seconds_bucket{query=\"other\",le=\"0.001\"} 0",
           "query_duration_seconds_bucket{query=\"search\",le=\"0.0025\"} 0",
           "query_duration_seconds_bucket{query=\"trace\",le=\"30\"} 0",
           "query_duration_seconds_count{query=\"traces\"} 0",
       }) {
    EXPECT_TRUE(HasLine(text, kPrefix + line)) << line << "\n" << text;
  }
  for (const char* age : {"0s", "1m", "15m"}) {
    for (const char* check : {"trace", "search"}) {
      EXPECT_TRUE(
          HasLine(text, kPrefix + "checks_total{check=\"" + check + "\",age=\"" + age + "\"} 0"))
          << check << " " << age;
    }
    for (const char* reason : {"missing", "incomplete", "broken", "structure", "request_failed",
                               "not_exported", "evicted", "late"}) {
      EXPECT_TRUE(HasLine(text, kPrefix + "check_failures_total{check=\"trace\",age=\"" + age +
                                    "\",reason=\"" + reason + "\"} 0"))
          << reason << " " << age;
    }
    for (const char* reason : {"not_found_by_search", "request_failed"}) {
      EXPECT_TRUE(HasLine(text, kPrefix + "check_failures_total{check=\"search\",age=\"" + age +
                                    "\",reason=\"" + reason + "\"} 0"))
          << reason << " " << age;
    }
  }
  // Reasons a check cannot fail with are not exported.
  EXPECT_EQ(text.find("check=\"trace\",age=\"0s\",reason=\"not_found_by_search\""),
            std::string::npos);
  EXPECT_EQ(text.find("check=\"search\",age=\"0s\",reason=\"missing\""), std::string::npos);
  // 2 checks x 3 ages, 7 + 2 reasons per age.
  EXPECT_EQ(metrics.registry().dropped_series(), 0u);
}

TEST(CanaryMetricsTest, WithoutSearchOrRereadsOnlyTraceChecksAtZero) {
  CanaryMetrics metrics("dev", {}, /*search=*/false);
  const std::string text = metrics.registry().Render();
  EXPECT_TRUE(HasLine(text, kPrefix + "checks_total{check=\"trace\",age=\"0s\"} 0"));
  EXPECT_EQ(text.find("check=\"search\""), std::string::npos);
  EXPECT_EQ(text.find("age=\"1m\""), std::string::npos);
}

TEST(CanaryMetricsTest, RecordsIntoTheRightSeries) {
  CanaryMetrics metrics("dev", {"1h"}, true);
  const MetricsRegistry& r = metrics.registry();
  metrics.TraceWritten();
  metrics.TraceWritten();
  metrics.WriteFailed(WriteFailure::kHttpStatus);
  metrics.CheckPassed(std::string(kCheckTrace), "0s", 1700000000.5);
  metrics.CheckPassed(std::string(kCheckSearch), "0s", 1800000000);  // not a trace check
  metrics.CheckPassed(std::string(kCheckTrace), "1h", 1900000000);   // not at 0s
  metrics.CheckFailed(std::string(kCheckSearch), "1h", CheckFailure::kNotFoundBySearch);
  metrics.TimeToQueryable(0.7);
  metrics.QueryDuration(kQuerySearch, 0.02);
  metrics.Spans(5, 4);
  metrics.Spans(3, 3);
  metrics.SetPending(12);

  EXPECT_EQ(r.Value(kPrefix + "traces_written_total", {}), 2);
  EXPECT_EQ(r.Value(kPrefix + "write_failures_total", {"http_status"}), 1);
  EXPECT_EQ(r.Value(kPrefix + "checks_total", {"trace", "0s"}), 1);
  EXPECT_EQ(r.Value(kPrefix + "checks_total", {"search", "0s"}), 1);
  EXPECT_EQ(r.Value(kPrefix + "checks_total", {"trace", "1h"}), 1);
  EXPECT_EQ(r.Value(kPrefix + "checks_total", {"search", "1h"}), 1);
  EXPECT_EQ(r.Value(kPrefix + "check_failures_total", {"search", "1h", "not_found_by_search"}), 1);
  EXPECT_EQ(r.Value(kPrefix + "last_success_timestamp_seconds", {}), 1700000000.5);
  EXPECT_EQ(r.Value(kPrefix + "time_to_queryable_seconds", {}), 1);
  EXPECT_EQ(r.Value(kPrefix + "query_duration_seconds", {"search"}), 1);
  EXPECT_EQ(r.Value(kPrefix + "spans_expected_total", {}), 8);
  EXPECT_EQ(r.Value(kPrefix + "spans_found_total", {}), 7);
  EXPECT_EQ(r.Value(kPrefix + "traces_pending", {}), 12);
  const std::string text = r.Render();
  EXPECT_TRUE(HasLine(text, kPrefix + "time_to_queryable_seconds_bucket{le=\"0.5\"} 0"));
  EXPECT_TRUE(HasLine(text, kPrefix + "time_to_queryable_seconds_bucket{le=\"1\"} 1"));
}

// Runs `command` through the shell; its exit status and everything it printed.
std::pair<int, std::string> RunCommand(const std::string& command) {
  std::string output;
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return {-1, "popen failed"};
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof buffer, pipe)) > 0) output.append(buffer, n);
  const int status = pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

TEST(CanaryMetricsTest, PromtoolAcceptsThePageWithoutWarnings) {
  const char* promtool = "/usr/bin/promtool";
  if (!std::filesystem::exists(promtool)) {
    GTEST_SKIP() << promtool << " is not installed (scripts/deps.sh installs Debian's prometheus)";
  }
  CanaryMetrics metrics("0.1.0-dev \"quoted\"", {"1m", "15m", "1h", "24h"}, true);
  metrics.TraceWritten();
  metrics.WriteFailed(WriteFailure::kTransport);
  metrics.CheckPassed(std::string(kCheckTrace), "0s", 1700000000.25);
  metrics.CheckFailed(std::string(kCheckTrace), "15m", CheckFailure::kEvicted);
  metrics.TimeToQueryable(1.5);
  metrics.QueryDuration(kQueryTrace, 0.0031);
  metrics.Spans(4, 4);
  metrics.SetPending(3);

  const std::filesystem::path dir = test_support::MakeScratchDir("canary-promtool");
  ASSERT_FALSE(dir.empty());
  const std::filesystem::path page = dir / "metrics.txt";
  {
    std::ofstream out(page);
    out << metrics.registry().Render();
  }
  const auto [status, output] =
      RunCommand(std::string(promtool) + " check metrics < " + page.string());
  EXPECT_EQ(status, 0) << output;
  EXPECT_EQ(output, "") << "promtool printed warnings";
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace tracerig
