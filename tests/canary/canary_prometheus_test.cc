// The canary's families as a real Prometheus sees them: CanaryMetrics served by MetricsServer over
// loopback, scraped by a private Prometheus (tests/support/prometheus_server.h), read back with the
// PromQL the alerting rules and the canary's end-to-end test use.
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "canary/canary_metrics.h"
#include "canary/metrics_server.h"
#include "tests/support/prometheus_server.h"

namespace tracerig {
namespace {

using std::chrono::seconds;
using test_support::PrometheusServer;
using test_support::PromVector;

TEST(CanaryPrometheusTest, PrometheusReadsTheFamiliesAsRecorded) {
  if (std::string skip = PrometheusServer::Unavailable(); !skip.empty()) GTEST_SKIP() << skip;
  CanaryMetrics metrics("1.2.3-test", {"4s"}, /*search=*/true);
  auto server = MetricsServer::Start(tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0),
                                     metrics.registry());
  ASSERT_TRUE(server.ok()) << server.error().message;
  const std::string target = "127.0.0.1:" + std::to_string((*server)->local_endpoint().port());
  std::string error;
  auto prometheus = PrometheusServer::Start({target}, error);
  ASSERT_NE(prometheus, nullptr) << error;

  // Healthy: traces written, both checks pass at 0s, a re-read at 4s.
  for (int i = 0; i < 5; ++i) metrics.TraceWritten();
  metrics.CheckPassed(kCheckTrace, kFirstCheckAge, 1700000000.5);
  metrics.CheckPassed(kCheckSearch, kFirstCheckAge, 1700000000.5);
  metrics.CheckPassed(kCheckTrace, "4s", 1700000004.5);
  metrics.TimeToQueryable(0.3);
  metrics.Spans(8, 8);

  auto written = prometheus->WaitForValue(
      "tracerig_canary_traces_written_total", [](double v) { return v == 5; }, seconds(20));
  ASSERT_TRUE(written.met) << written.Describe() << "\n" << prometheus->LogTail();
  std::string why;
  EXPECT_TRUE(prometheus->TargetsHealthy(&why)) << why;
  auto value = [&](const std::string& expr) {
    auto v = prometheus->QueryValue(expr);
    EXPECT_TRUE(v.ok()) << (v.ok() ? "" : v.error().message);
    return v.ok() ? *v : -1;
  };
  EXPECT_EQ(value("sum(tracerig_canary_check_failures_total)"), 0);
  EXPECT_EQ(value("sum(tracerig_canary_write_failures_total)"), 0);
  EXPECT_EQ(value("sum(tracerig_canary_checks_total{check=\"trace\",age=\"0s\"})"), 1);
  EXPECT_EQ(value("sum(tracerig_canary_checks_total{check=\"search\",age=\"0s\"})"), 1);
  EXPECT_EQ(value("sum(tracerig_canary_checks_total{check=\"trace\",age=\"4s\"})"), 1);
  EXPECT_EQ(value("tracerig_canary_last_success_timestamp_seconds"), 1700000000.5);
  EXPECT_EQ(value("tracerig_canary_spans_found_total / tracerig_canary_spans_expected_total"), 1);
  EXPECT_EQ(value("tracerig_canary_time_to_queryable_seconds_count"), 1);
  auto build = prometheus->Query("tracerig_canary_build_info");
  ASSERT_TRUE(build.ok()) << build.error().message;
  ASSERT_EQ(build->size(), 1u) << test_support::Describe(*build);
  EXPECT_EQ(build->front().labels.at("version"), "1.2.3-test");
  EXPECT_EQ(build->front().value, 1);

  // The backend unreachable: request_failed per check and age, the only reason that grows.
  const std::string request_failed =
      "sum(tracerig_canary_check_failures_total{reason=\"request_failed\"}) or vector(0)";
  EXPECT_EQ(value(request_failed), 0);
  metrics.CheckFailed(kCheckTrace, kFirstCheckAge, CheckFailure::kRequestFailed);
  metrics.CheckFailed(kCheckSearch, kFirstCheckAge, CheckFailure::kRequestFailed);
  metrics.CheckFailed(kCheckTrace, "4s", CheckFailure::kRequestFailed);
  auto failing = prometheus->WaitForValue(
      request_failed, [](double v) { return v == 3; }, seconds(10));
  EXPECT_TRUE(failing.met) << failing.Describe();
  auto by_reason = prometheus->Query("sum by (reason) (tracerig_canary_check_failures_total) > 0");
  ASSERT_TRUE(by_reason.ok()) << by_reason.error().message;
  ASSERT_EQ(by_reason->size(), 1u) << test_support::Describe(*by_reason);
  EXPECT_EQ(by_reason->front().labels.at("reason"), "request_failed");
  // The failure ratio an alert would use: 3 of 6 checks.
  EXPECT_EQ(value("sum(tracerig_canary_check_failures_total) / sum(tracerig_canary_checks_total)"),
            0.5);
}

}  // namespace
}  // namespace tracerig
