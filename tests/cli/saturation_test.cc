// The saturation search (cli/saturation.h) against fake steps: a modelled backend that breaks at a
// known span rate, a driver that falls behind, a backend that goes away, and the step bound.
#include "cli/saturation.h"

#include <cmath>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace tracerig {
namespace {

constexpr uint64_t kSecond = 1'000'000'000;

// A fake system under test: what one step at `rate` would measure. Every limit is a rate in req/s
// (or spans/s for the backend) above which the corresponding thing breaks; 0 = never.
struct FakeSystem {
  double spans_per_request = 8;
  double backend_max_spans_per_second = 0;  // completeness drops above it
  double ttq_seconds_per_kspans = 0;        // time to queryable grows with the span rate
  double driver_max_rate = 0;               // schedule lag above it
  double export_queue_max_rate = 0;         // export queue overflows above it
  double unreachable_from_rate = 0;         // the backend stops answering

  StepMeasurement Step(double rate) const {
    StepMeasurement m;
    m.rate = rate;
    m.duration_ns = 10 * kSecond;
    m.requests_sent = static_cast<uint64_t>(rate * 10);
    m.wall_ns = 10 * kSecond;
    const double spans_per_second = rate * spans_per_request;
    m.spans_exported = static_cast<uint64_t>(spans_per_second * 10);
    m.checked = m.requests_sent;
    m.complete = m.checked;
    m.schedule_lag_p99_ns = 200'000;
    m.ttq_p99_ns = 100'000'000;
    if (backend_max_spans_per_second > 0 && spans_per_second > backend_max_spans_per_second) {
      m.complete = static_cast<size_t>(static_cast<double>(m.checked) *
                                       backend_max_spans_per_second / spans_per_second);
    }
    if (ttq_seconds_per_kspans > 0) {
      m.ttq_p99_ns = static_cast<uint64_t>(ttq_seconds_per_kspans * spans_per_second / 1000 * 1e9);
    }
    if (driver_max_rate > 0 && rate > driver_max_rate) m.schedule_lag_p99_ns = 800'000'000;
    if (export_queue_max_rate > 0 && rate > export_queue_max_rate) {
      m.spans_dropped_queue_full = 1234;
    }
    if (unreachable_from_rate > 0 && rate >= unreachable_from_rate) {
      m.error =
          "backend unreachable: GET http://127.0.0.1:16686/api/traces/abc: connection refused";
    }
    return m;
  }
};

SaturationOptions DefaultOptions() {
  SaturationOptions o;
  o.start_rate = 100;
  o.rate_factor = 2;
  o.resolution = 0.05;
  o.max_steps = 12;
  o.spans_per_request = 8;
  o.max_ttq_p99_ns = 5 * kSecond;
  return o;
}

struct SearchCase {
  std::string name;
  FakeSystem system;
  size_t max_steps;
  std::vector<double> rates;  // every step's rate, in order
  SaturationEnd end;
  std::optional<double> max_passing;
  std::optional<double> min_failing;
  int exit_code;
  std::string explanation_has;
};

TEST(FindMaxIngestTest, SearchesAsEachFakeSystemDemands) {
  const std::vector<SearchCase> cases = {
      {"backend breaks at 7,300 spans/s: bracketed within 5%",
       {.backend_max_spans_per_second = 7300},
       12,
       {100, 200, 400, 800, 1600, 1200, 1000, 900, 950, 925},
       SaturationEnd::kBracketed,
       900,
       925,
       0,
       "The backend sustained 900 req/s = 7,200 spans/s. At 925 req/s = 7,400 spans/s it did not: "
       "complete 98.6% < 100.0% (9125 of 9250 traces)."},
      {"time to queryable grows with the rate: breaks above 5 s",
       {.ttq_seconds_per_kspans = 0.5},  // 5 s at 10,000 spans/s = 1,250 req/s
       12,
       {100, 200, 400, 800, 1600, 1200, 1400, 1300, 1250},
       SaturationEnd::kBracketed,
       1250,
       1300,
       0,
       "time to queryable p99 5.2s > 5s"},
      {"the driver falls behind above 1,000 req/s: tracerig's limit, not the backend's",
       {.backend_max_spans_per_second = 1e9, .driver_max_rate = 1000},
       12,
       {100, 200, 400, 800, 1600},
       SaturationEnd::kTracerigLimit,
       800,
       std::nullopt,
       0,
       "Limited by tracerig (the load driver and simulated services), not by the backend: at 1,600 "
       "req/s = 12,800 spans/s the driver ran 800ms behind its schedule (p99; limit 50ms). The "
       "backend sustained at least 800 req/s = 6,400 spans/s; its limit was not reached."},
      {"the export queue overflows: undecided between backend and exporter",
       {.export_queue_max_rate = 1000},
       12,
       {100, 200, 400, 800, 1600},
       SaturationEnd::kExportLimit,
       800,
       std::nullopt,
       0,
       "tracerig cannot tell which"},
      {"the backend goes away: an error, never a maximum",
       {.unreachable_from_rate = 400},
       12,
       {100, 200, 400},
       SaturationEnd::kBackendError,
       std::nullopt,
       std::nullopt,
       3,
       "The backend could not be queried at step 3 (400 req/s = 3,200 spans/s): backend "
       "unreachable: GET http://127.0.0.1:16686/api/traces/abc: connection refused. No maximum "
       "rate is reported."},
      {"the first step already fails: no passing rate",
       {.backend_max_spans_per_second = 500},
       12,
       {100},
       SaturationEnd::kNoPassingRate,
       std::nullopt,
       100,
       1,
       "No rate passed: the first step, 100 req/s = 800 spans/s, already failed"},
      {"nothing breaks within max steps: a lower bound",
       {},
       4,
       {100, 200, 400, 800},
       SaturationEnd::kNoFailure,
       800,
       std::nullopt,
       0,
       "Every step passed, up to 800 req/s = 6,400 spans/s at step 4 (--max-steps 4)"},
      {"max steps cut the bisection short: the wider bracket is reported as such",
       {.backend_max_spans_per_second = 7300},
       7,
       {100, 200, 400, 800, 1600, 1200, 1000},
       SaturationEnd::kBracketed,
       800,
       1000,
       0,
       "The search stopped at --max-steps 7 before the bracket narrowed to the resolution (5.0%)."},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    SaturationOptions options = DefaultOptions();
    options.max_steps = c.max_steps;
    ASSERT_TRUE(ValidateSaturationOptions(options).ok());
    std::vector<int> numbers;
    std::vector<int> seen;
    SaturationResult result = FindMaxIngest(
        options,
        [&](int number, double rate) {
          numbers.push_back(number);
          return c.system.Step(rate);
        },
        [&](const StepOutcome& s) { seen.push_back(s.number); });
    std::vector<double> rates;
    for (const auto& s : result.steps) rates.push_back(s.measured.rate);
    EXPECT_EQ(rates, c.rates);
    EXPECT_EQ(numbers, seen);
    ASSERT_EQ(numbers.size(), c.rates.size());
    EXPECT_EQ(numbers.back(), static_cast<int>(c.rates.size()));
    EXPECT_EQ(result.end, c.end) << SaturationEndName(result.end);
    EXPECT_EQ(result.max_passing_rate, c.max_passing);
    EXPECT_EQ(result.min_failing_rate, c.min_failing);
    EXPECT_EQ(SaturationExitCode(result), c.exit_code);
    EXPECT_NE(result.explanation.find(c.explanation_has), std::string::npos) << result.explanation;
    EXPECT_LE(result.steps.size(), options.max_steps);
  }
}

TEST(FindMaxIngestTest, BracketHoldsTheBreakAtTheConfiguredResolution) {
  const FakeSystem system{.backend_max_spans_per_second = 7300};
  for (double resolution : {0.2, 0.05, 0.01}) {
    SCOPED_TRACE(resolution);
    SaturationOptions options = DefaultOptions();
    options.resolution = resolution;
    options.max_steps = 30;
    auto result = FindMaxIngest(options, [&](int, double rate) { return system.Step(rate); });
    ASSERT_EQ(result.end, SaturationEnd::kBracketed);
    const double low = *result.max_passing_rate * 8;
    const double high = *result.min_failing_rate * 8;
    EXPECT_LE(low, 7300);
    EXPECT_GT(high, 7300);
    EXPECT_LE((high - low) / low, resolution);
  }
}

TEST(FindMaxIngestTest, PhasesAreRampThenBisect) {
  const FakeSystem system{.backend_max_spans_per_second = 7300};
  auto result = FindMaxIngest(DefaultOptions(), [&](int, double r) { return system.Step(r); });
  ASSERT_EQ(result.steps.size(), 10u);
  for (size_t i = 0; i < result.steps.size(); ++i) {
    EXPECT_EQ(result.steps[i].phase, i < 5 ? "ramp" : "bisect") << i;
  }
}

TEST(FindMaxIngestTest, InterruptedSearchKeepsWhatPassed) {
  SaturationOptions options = DefaultOptions();
  auto result = FindMaxIngest(options, [&](int number, double rate) {
    StepMeasurement m = FakeSystem{}.Step(rate);
    m.interrupted = number == 3;
    return m;
  });
  EXPECT_EQ(result.end, SaturationEnd::kInterrupted);
  EXPECT_EQ(result.max_passing_rate, 200);
  EXPECT_EQ(SaturationExitCode(result), 0);
  auto first = FindMaxIngest(options, [&](int, double rate) {
    StepMeasurement m = FakeSystem{}.Step(rate);
    m.interrupted = true;
    return m;
  });
  EXPECT_EQ(SaturationExitCode(first), 130);
}

struct JudgeCase {
  std::string name;
  std::function<void(StepMeasurement&)> change;
  StepVerdict verdict;
  std::string reason;
};

TEST(JudgeStepTest, EveryReasonInItsOrder) {
  const std::vector<JudgeCase> cases = {
      {"healthy", [](StepMeasurement&) {}, StepVerdict::kPass, ""},
      {"incomplete", [](StepMeasurement& m) { m.complete = 995; }, StepVerdict::kBackendLimit,
       "complete 99.5% < 100.0% (995 of 1000 traces)"},
      {"incomplete at the deadline",
       [](StepMeasurement& m) {
         m.complete = 999;
         m.deadline_hit = true;
       },
       StepVerdict::kBackendLimit,
       "complete 99.9% < 100.0% (999 of 1000 traces; verification deadline hit)"},
      {"nothing checked", [](StepMeasurement& m) { m.checked = m.complete = 0; },
       StepVerdict::kBackendLimit, "no trace was checked"},
      {"slow to query and refusing spans",
       [](StepMeasurement& m) {
         m.ttq_p99_ns = 7'500'000'000;
         m.spans_dropped_failed = 10;
         m.spans_rejected = 2;
       },
       StepVerdict::kBackendLimit, "time to queryable p99 7.5s > 5s; the backend refused 12 spans"},
      {"export queue overflow beats completeness",
       [](StepMeasurement& m) {
         m.complete = 10;
         m.spans_dropped_queue_full = 40;
       },
       StepVerdict::kExportLimit, "the export queue overflowed and dropped 40 spans"},
      {"tracerig's limits beat the backend's",
       [](StepMeasurement& m) {
         m.complete = 10;
         m.schedule_lag_p99_ns = 60'000'000;
         m.unsent = 3;
         m.unfinished = 2;
         m.transport_errors = 1;
       },
       StepVerdict::kTracerigLimit,
       "the driver ran 60ms behind its schedule (p99; limit 50ms); 3 requests were due but never "
       "sent; 2 requests got no answer from tracerig's services; 1 requests to tracerig's services "
       "failed to connect or were cut off"},
      {"an error beats everything",
       [](StepMeasurement& m) {
         m.schedule_lag_p99_ns = 60'000'000;
         m.error = "backend unreachable: timeout";
       },
       StepVerdict::kError, "backend unreachable: timeout"},
  };
  SaturationOptions options = DefaultOptions();
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    StepMeasurement m;
    m.rate = 100;
    m.checked = 1000;
    m.complete = 1000;
    m.schedule_lag_p99_ns = 1'000'000;
    m.ttq_p99_ns = 200'000'000;
    c.change(m);
    StepOutcome out = JudgeStep(m, options);
    EXPECT_EQ(out.verdict, c.verdict) << StepVerdictName(out.verdict);
    EXPECT_EQ(out.reason, c.reason);
  }
}

TEST(JudgeStepTest, ThresholdsAreOptions) {
  SaturationOptions options = DefaultOptions();
  options.min_completeness = 0.99;
  options.max_ttq_p99_ns.reset();
  StepMeasurement m;
  m.checked = 1000;
  m.complete = 990;
  m.ttq_p99_ns = 60 * kSecond;
  EXPECT_EQ(JudgeStep(m, options).verdict, StepVerdict::kPass);
  m.complete = 989;
  EXPECT_EQ(JudgeStep(m, options).reason, "complete 98.9% < 99.0% (989 of 1000 traces)");
}

TEST(SaturationFormatTest, RatesHaveThousandsSeparators) {
  const std::vector<std::pair<double, std::string>> cases = {
      {0, "0"},           {7, "7"},           {999, "999"},         {1000, "1,000"},
      {7312.5, "7,312.5"}, {32000, "32,000"}, {1234567, "1,234,567"}, {12.04, "12"},
      {0.25, "0.3"},
  };
  for (const auto& [value, text] : cases) EXPECT_EQ(FormatRate(value), text) << value;
}

TEST(SaturationFormatTest, StepLineSaysRateSpansFiguresAndVerdict) {
  SaturationOptions options = DefaultOptions();
  StepMeasurement m;
  m.rate = 4000;
  m.checked = 40000;
  m.complete = 40000;
  m.ttq_p99_ns = 210'000'000;
  m.schedule_lag_p99_ns = 1'200'000;
  m.spans_exported = 318000;
  m.wall_ns = 10 * kSecond;
  StepOutcome pass = JudgeStep(m, options);
  pass.number = 3;
  pass.phase = "ramp";
  EXPECT_EQ(FormatStepLine(pass, options),
            "step 3 (ramp): 4,000 req/s = 32,000 spans/s: complete 100.0%, ttq p99 210ms, lag p99 "
            "1.2ms, achieved 31,800 spans/s: pass");
  m.complete = 39000;
  StepOutcome fail = JudgeStep(m, options);
  fail.number = 4;
  fail.phase = "bisect";
  EXPECT_EQ(FormatStepLine(fail, options),
            "step 4 (bisect): 4,000 req/s = 32,000 spans/s: complete 97.5%, ttq p99 210ms, lag p99 "
            "1.2ms, achieved 31,800 spans/s: backend-limit (complete 97.5% < 100.0% (39000 of "
            "40000 traces))");
}

TEST(SaturationFormatTest, JsonHasOptionsResultAndEveryStep) {
  const FakeSystem system{.backend_max_spans_per_second = 7300};
  SaturationOptions options = DefaultOptions();
  auto result = FindMaxIngest(options, [&](int, double r) { return system.Step(r); });
  auto j = SaturationToJson(result, options);
  EXPECT_EQ(j["schema_version"], 1);
  EXPECT_EQ(j["options"]["start_rate"], 100.0);
  EXPECT_EQ(j["options"]["max_ttq_p99_ns"], 5 * kSecond);
  EXPECT_TRUE(SaturationToJson(result, SaturationOptions{})["options"]["max_ttq_p99_ns"].is_null());
  EXPECT_EQ(j["result"]["end"], "bracketed");
  EXPECT_EQ(j["result"]["max_passing_rate"], 900.0);
  EXPECT_EQ(j["result"]["max_passing_spans_per_second"], 7200.0);
  EXPECT_EQ(j["result"]["min_failing_spans_per_second"], 7400.0);
  EXPECT_EQ(j["result"]["exit_code"], 0);
  ASSERT_EQ(j["steps"].size(), 10u);
  EXPECT_EQ(j["steps"][4]["rate"], 1600.0);
  EXPECT_EQ(j["steps"][4]["verdict"], "backend-limit");
  EXPECT_EQ(j["steps"][0]["verdict"], "pass");
  EXPECT_EQ(j["steps"][0]["reason"], "");
  EXPECT_EQ(j["steps"][0]["ttq_p99_ns"], 100'000'000u);
  EXPECT_EQ(j["steps"][0]["achieved_spans_per_second"], 800.0);
  const std::string summary = FormatSaturationSummary(result, options);
  EXPECT_EQ(summary.substr(0, summary.find('\n')),
            "Highest sustained rate: 900 req/s = 7,200 spans/s");
}

TEST(SaturationOptionsTest, ErrorsNameTheFlag) {
  const std::vector<std::pair<std::function<void(SaturationOptions&)>, std::string>> cases = {
      {[](SaturationOptions& o) { o.start_rate = 0; },
       "--start-rate \"0\" must be a number of requests per second > 0"},
      {[](SaturationOptions& o) { o.rate_factor = 1; }, "--rate-factor \"1\" must be a number > 1"},
      {[](SaturationOptions& o) { o.resolution = 0; }, "--resolution \"0\" must be above 0"},
      {[](SaturationOptions& o) { o.max_steps = 0; }, "--max-steps must be at least 1"},
  };
  for (const auto& [change, message] : cases) {
    SaturationOptions o = DefaultOptions();
    change(o);
    auto s = ValidateSaturationOptions(o);
    ASSERT_FALSE(s.ok()) << message;
    EXPECT_EQ(s.error().message, message);
  }
}

}  // namespace
}  // namespace tracerig
