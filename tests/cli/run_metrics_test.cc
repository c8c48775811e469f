// `tracerig run --metrics-listen`'s figures: requests written, trace checks as classified, and
// the traces left unchecked when verification fails as a whole counted as request_failed.
#include "cli/run_metrics.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

namespace tracerig {
namespace {

double Value(const RunMetrics& m, const std::string& name, const std::vector<std::string>& labels) {
  return m.registry().Value("tracerig_canary_" + name, labels);
}

// Accepts every batch; the exporter here only answers LossOf (nothing lost).
class AcceptAll final : public BatchSender {
 public:
  SendResult Send(const std::vector<Span>&) override { return SendResult{}; }
};

ParsedFlags ListenOnAnyPort() {
  ParsedFlags flags;
  flags.values["metrics-listen"] = "127.0.0.1:0";
  return flags;
}

TEST(RunMetricsTest, NoFlagNoMetrics) {
  auto metrics = RunMetrics::Start(ParsedFlags{}, Scenario{}, /*quiet=*/true);
  ASSERT_TRUE(metrics.ok());
  EXPECT_EQ(metrics->get(), nullptr);
}

TEST(RunMetricsTest, TracesLeftUncheckedWhenVerificationFailsAreRequestFailed) {
  auto started = RunMetrics::Start(ListenOnAnyPort(), Scenario{}, /*quiet=*/true);
  ASSERT_TRUE(started.ok()) << started.failure().message;
  RunMetrics& m = **started;
  LedgerEntry ok;
  LedgerEntry refused;
  refused.outcome = RequestOutcome::kTransportError;
  m.Written(ok);
  m.Written(ok);
  m.Written(refused);
  EXPECT_EQ(Value(m, "traces_written_total", {}), 3);
  EXPECT_EQ(Value(m, "write_failures_total", {"transport"}), 1);
  EXPECT_EQ(Value(m, "traces_pending", {}), 3);

  TraceVerdict complete;
  complete.status = TraceStatus::kComplete;
  complete.expected_spans = complete.found_spans = 8;
  BatchingExporter exporter(std::make_unique<AcceptAll>(), ExporterOptions{}, 1);
  m.Checked(TraceOutcome{&ok, &complete, false, 100'000'000}, exporter);
  EXPECT_EQ(Value(m, "checks_total", {"trace", "0s"}), 1);
  EXPECT_EQ(Value(m, "traces_pending", {}), 2);

  m.VerificationFailed();
  EXPECT_EQ(Value(m, "checks_total", {"trace", "0s"}), 3);
  EXPECT_EQ(Value(m, "check_failures_total", {"trace", "0s", "request_failed"}), 2);
  EXPECT_EQ(Value(m, "traces_pending", {}), 0);
  m.VerificationFailed();  // nothing left to fail
  EXPECT_EQ(Value(m, "check_failures_total", {"trace", "0s", "request_failed"}), 2);
}

}  // namespace
}  // namespace tracerig
