// The canary's verdicts on one request and one classified trace: which answers are write
// failures, which verifier outcomes fail the trace check and with which reason, and what a check
// records (spans and time to queryable only at age 0s).
#include "canary/trace_checks.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

namespace tracerig {
namespace {

struct WriteCase {
  std::string name;
  RequestOutcome outcome;
  bool errors_planned;
  std::optional<WriteFailure> want;
};

TEST(TraceChecksTest, WriteFailures) {
  const std::vector<WriteCase> cases = {
      {"ok", RequestOutcome::kOk, false, std::nullopt},
      {"ok with planned errors", RequestOutcome::kOk, true, std::nullopt},
      {"unplanned status", RequestOutcome::kHttpError, false, WriteFailure::kHttpStatus},
      {"planned status", RequestOutcome::kHttpError, true, std::nullopt},
      {"no answer", RequestOutcome::kTransportError, false, WriteFailure::kTransport},
      {"no answer with planned errors", RequestOutcome::kTransportError, true,
       WriteFailure::kTransport},
  };
  for (const WriteCase& c : cases) {
    LedgerEntry entry;
    entry.outcome = c.outcome;
    EXPECT_EQ(WriteFailureOf(entry, c.errors_planned), c.want) << c.name;
  }
}

TEST(TraceChecksTest, ErrorsArePlannedOnlyByAnErrorRate) {
  Scenario scenario;
  scenario.services.resize(2);
  scenario.services[1].routes.resize(2);
  EXPECT_FALSE(ScenarioPlansErrors(scenario));
  scenario.services[1].routes[1].error_rate = 0.01;
  EXPECT_TRUE(ScenarioPlansErrors(scenario));
}

struct CheckCase {
  std::string name;
  TraceStatus status;
  bool violations;
  bool evicted;
  bool lost_by_exporter;
  std::optional<CheckFailure> want;
};

TEST(TraceChecksTest, TraceCheckReasons) {
  const std::vector<CheckCase> cases = {
      {"complete", TraceStatus::kComplete, false, false, false, std::nullopt},
      {"complete, violations", TraceStatus::kComplete, true, false, false,
       CheckFailure::kStructure},
      {"incomplete", TraceStatus::kIncomplete, false, false, false, CheckFailure::kIncomplete},
      {"incomplete, exporter lost spans", TraceStatus::kIncomplete, false, false, true,
       CheckFailure::kNotExported},
      {"missing", TraceStatus::kMissing, false, false, false, CheckFailure::kMissing},
      {"missing, exporter lost spans", TraceStatus::kMissing, false, false, true,
       CheckFailure::kNotExported},
      {"missing, evicted", TraceStatus::kMissing, false, true, false, CheckFailure::kEvicted},
      {"broken", TraceStatus::kBroken, false, false, false, CheckFailure::kBroken},
      {"broken, violations", TraceStatus::kBroken, true, false, false, CheckFailure::kBroken},
      {"not exported", TraceStatus::kNotExported, false, false, false,
       CheckFailure::kNotExported},
  };
  for (const CheckCase& c : cases) {
    SCOPED_TRACE(c.name);
    TraceVerdict verdict;
    verdict.status = c.status;
    if (c.violations) verdict.violations.push_back(Violation{});
    LedgerEntry entry;
    const TraceOutcome outcome{&entry, &verdict, c.evicted, std::nullopt};
    EXPECT_EQ(TraceCheckFailure(outcome, c.lost_by_exporter), c.want) << c.name;
  }
}

TEST(TraceChecksTest, ACompleteTraceIsLateBeyondTheQueryableTime) {
  TraceVerdict verdict;
  verdict.status = TraceStatus::kComplete;
  LedgerEntry entry;
  constexpr uint64_t kWithin = 30'000'000'000;
  const TraceOutcome on_time{&entry, &verdict, false, kWithin};
  const TraceOutcome late{&entry, &verdict, false, kWithin + 1};
  const TraceOutcome no_sample{&entry, &verdict, false, std::nullopt};
  EXPECT_EQ(TraceCheckFailure(on_time, false, kWithin), std::nullopt);
  EXPECT_EQ(TraceCheckFailure(late, false, kWithin), CheckFailure::kLate);
  EXPECT_EQ(TraceCheckFailure(no_sample, false, kWithin), std::nullopt);
  // Without a bound (re-reads, runs), lateness is not judged.
  EXPECT_EQ(TraceCheckFailure(late, false), std::nullopt);
  // Identical copies of a span (an export retried after the backend had accepted it) pass.
  Violation copies;
  copies.kind = "duplicate-span-id";
  copies.identical_copies = true;
  verdict.violations.push_back(copies);
  EXPECT_EQ(TraceCheckFailure(on_time, false, kWithin), std::nullopt);
  // A violation says more than the lateness.
  verdict.violations.push_back(Violation{});
  EXPECT_EQ(TraceCheckFailure(late, false, kWithin), CheckFailure::kStructure);
}

TEST(TraceChecksTest, RecordsSpansAndTimeToQueryableOnlyAtTheFirstCheck) {
  CanaryMetrics metrics("test", {"1m"}, /*search=*/false);
  FakeClock clock(1'234'500'000'000);  // 1234.5 s
  CanaryTally tally(metrics, clock);
  TraceVerdict verdict;
  verdict.status = TraceStatus::kComplete;
  verdict.expected_spans = 8;
  verdict.found_spans = 8;
  LedgerEntry entry;
  const TraceOutcome outcome{&entry, &verdict, false, 250'000'000};
  EXPECT_TRUE(RecordTraceCheck(tally, kFirstCheckAge, outcome, false));
  clock.Advance(765'500'000'000);  // 2000 s
  EXPECT_TRUE(RecordTraceCheck(tally, "1m", outcome, false));
  const MetricsRegistry& r = metrics.registry();
  EXPECT_EQ(r.Value("tracerig_canary_checks_total", {"trace", "0s"}), 1);
  EXPECT_EQ(r.Value("tracerig_canary_checks_total", {"trace", "1m"}), 1);
  EXPECT_EQ(r.Value("tracerig_canary_spans_expected_total", {}), 8);
  EXPECT_EQ(r.Value("tracerig_canary_spans_found_total", {}), 8);
  EXPECT_EQ(r.Value("tracerig_canary_time_to_queryable_seconds", {}), 1);  // its count
  // Only a first check's pass is the last success.
  EXPECT_EQ(r.Value("tracerig_canary_last_success_timestamp_seconds", {}), 1234.5);

  verdict.status = TraceStatus::kMissing;
  verdict.found_spans = 0;
  const TraceOutcome missing{&entry, &verdict, false, std::nullopt};
  EXPECT_FALSE(RecordTraceCheck(tally, "1m", missing, false));
  EXPECT_EQ(r.Value("tracerig_canary_check_failures_total", {"trace", "1m", "missing"}), 1);
  EXPECT_EQ(r.Value("tracerig_canary_checks_total", {"trace", "1m"}), 2);
  EXPECT_EQ(r.Value("tracerig_canary_spans_expected_total", {}), 8);
}

}  // namespace
}  // namespace tracerig
