// MetricsRegistry: the exact exposition text of each kind of family (table-driven), bounded series,
// concurrent recording, and the programming errors that abort.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "canary/metrics.h"

namespace tracerig {
namespace {

struct ExpositionCase {
  std::string name;
  std::function<void(MetricsRegistry&)> record;
  std::string expected;
};

void PrintTo(const ExpositionCase& c, std::ostream* os) { *os << c.name; }

class ExpositionTest : public testing::TestWithParam<ExpositionCase> {};

TEST_P(ExpositionTest, RendersExactly) {
  MetricsRegistry registry;
  GetParam().record(registry);
  EXPECT_EQ(registry.Render(), GetParam().expected);
}

const double kInf = std::numeric_limits<double>::infinity();

INSTANTIATE_TEST_SUITE_P(
    Families, ExpositionTest,
    testing::Values(
        ExpositionCase{"EmptyRegistry", [](MetricsRegistry&) {}, ""},
        ExpositionCase{"UnlabelledCounterExistsAtZero",
                       [](MetricsRegistry& r) { r.DeclareCounter("jobs_total", "Jobs done."); },
                       "# HELP jobs_total Jobs done.\n"
                       "# TYPE jobs_total counter\n"
                       "jobs_total 0\n"},
        ExpositionCase{"CounterIntegersAndFractions",
                       [](MetricsRegistry& r) {
                         r.DeclareCounter("jobs_total", "Jobs done.");
                         r.Add("jobs_total", {});
                         r.Add("jobs_total", {}, 2);
                         r.DeclareCounter("work_seconds_total", "Seconds worked.");
                         r.Add("work_seconds_total", {}, 0.1);
                         r.Add("work_seconds_total", {}, 0.2);
                       },
                       "# HELP jobs_total Jobs done.\n"
                       "# TYPE jobs_total counter\n"
                       "jobs_total 3\n"
                       "# HELP work_seconds_total Seconds worked.\n"
                       "# TYPE work_seconds_total counter\n"
                       "work_seconds_total 0.30000000000000004\n"},
        ExpositionCase{
            "LabelledCounterSortedByLabelValuesWithEscaping",
            [](MetricsRegistry& r) {
              r.DeclareCounter("errors_total", "Errors, by path \\ and\nkind.", {"path", "kind"});
              r.Add("errors_total", {"b", "x"});
              r.Add("errors_total", {"a\\b\"c\nd", "y"}, 5);
              r.Add("errors_total", {"a", "z"}, 2);
              r.Add("errors_total", {"b", "x"});
              r.Touch("errors_total", {"a", "a"});
            },
            "# HELP errors_total Errors, by path \\\\ and\\nkind.\n"
            "# TYPE errors_total counter\n"
            "errors_total{path=\"a\",kind=\"a\"} 0\n"
            "errors_total{path=\"a\",kind=\"z\"} 2\n"
            "errors_total{path=\"a\\\\b\\\"c\\nd\",kind=\"y\"} 5\n"
            "errors_total{path=\"b\",kind=\"x\"} 2\n"},
        ExpositionCase{"HelpKeepsQuotesUnescaped",
                       [](MetricsRegistry& r) { r.DeclareGauge("g", "Say \"hi\"."); },
                       "# HELP g Say \"hi\".\n"
                       "# TYPE g gauge\n"
                       "g 0\n"},
        ExpositionCase{"GaugesSetAddAndSpecialValues",
                       [](MetricsRegistry& r) {
                         r.DeclareGauge("temp_celsius", "Temperature.", {"room"});
                         r.Set("temp_celsius", {"a"}, -3.5);
                         r.Set("temp_celsius", {"b"}, kInf);
                         r.Set("temp_celsius", {"c"}, -kInf);
                         r.Set("temp_celsius", {"d"}, std::nan(""));
                         r.Set("temp_celsius", {"e"}, 1e21);
                         r.Set("temp_celsius", {"f"}, 10);
                         r.Add("temp_celsius", {"f"}, -12);
                         r.Set("temp_celsius", {"g"}, 1700000000.25);
                       },
                       "# HELP temp_celsius Temperature.\n"
                       "# TYPE temp_celsius gauge\n"
                       "temp_celsius{room=\"a\"} -3.5\n"
                       "temp_celsius{room=\"b\"} +Inf\n"
                       "temp_celsius{room=\"c\"} -Inf\n"
                       "temp_celsius{room=\"d\"} NaN\n"
                       "temp_celsius{room=\"e\"} 1e+21\n"
                       "temp_celsius{room=\"f\"} -2\n"
                       "temp_celsius{room=\"g\"} 1700000000.25\n"},
        ExpositionCase{"LabelledFamilyWithoutSeriesIsLeftOut",
                       [](MetricsRegistry& r) {
                         r.DeclareCounter("a_total", "A.", {"x"});
                         r.DeclareGauge("b", "B.");
                       },
                       "# HELP b B.\n"
                       "# TYPE b gauge\n"
                       "b 0\n"},
        ExpositionCase{"HistogramCumulativeWithBoundariesAndInf",
                       [](MetricsRegistry& r) {
                         r.DeclareHistogram("latency_seconds", "Latency.", {0.25, 0.5, 1});
                         r.Observe("latency_seconds", {}, 0.25);  // on a bound: that bucket
                         r.Observe("latency_seconds", {}, 0.125);
                         r.Observe("latency_seconds", {}, 0.5);
                         r.Observe("latency_seconds", {}, 0.75);
                         r.Observe("latency_seconds", {}, 1);
                         r.Observe("latency_seconds", {}, 4);  // only +Inf
                       },
                       "# HELP latency_seconds Latency.\n"
                       "# TYPE latency_seconds histogram\n"
                       "latency_seconds_bucket{le=\"0.25\"} 2\n"
                       "latency_seconds_bucket{le=\"0.5\"} 3\n"
                       "latency_seconds_bucket{le=\"1\"} 5\n"
                       "latency_seconds_bucket{le=\"+Inf\"} 6\n"
                       "latency_seconds_sum 6.625\n"
                       "latency_seconds_count 6\n"},
        ExpositionCase{"EmptyHistogram",
                       [](MetricsRegistry& r) {
                         r.DeclareHistogram("h_seconds", "H.", {0.0025, 10});
                       },
                       "# HELP h_seconds H.\n"
                       "# TYPE h_seconds histogram\n"
                       "h_seconds_bucket{le=\"0.0025\"} 0\n"
                       "h_seconds_bucket{le=\"10\"} 0\n"
                       "h_seconds_bucket{le=\"+Inf\"} 0\n"
                       "h_seconds_sum 0\n"
                       "h_seconds_count 0\n"},
        ExpositionCase{"LabelledHistogramPutsLeLast",
                       [](MetricsRegistry& r) {
                         r.DeclareHistogram("q_seconds", "Q.", {1}, {"query", "zone"});
                         r.Observe("q_seconds", {"trace", "z\"1"}, 2);
                         r.Touch("q_seconds", {"search", "z1"});
                       },
                       "# HELP q_seconds Q.\n"
                       "# TYPE q_seconds histogram\n"
                       "q_seconds_bucket{query=\"search\",zone=\"z1\",le=\"1\"} 0\n"
                       "q_seconds_bucket{query=\"search\",zone=\"z1\",le=\"+Inf\"} 0\n"
                       "q_seconds_sum{query=\"search\",zone=\"z1\"} 0\n"
                       "q_seconds_count{query=\"search\",zone=\"z1\"} 0\n"
                       "q_seconds_bucket{query=\"trace\",zone=\"z\\\"1\",le=\"1\"} 0\n"
                       "q_seconds_bucket{query=\"trace\",zone=\"z\\\"1\",le=\"+Inf\"} 1\n"
                       "q_seconds_sum{query=\"trace\",zone=\"z\\\"1\"} 2\n"
                       "q_seconds_count{query=\"trace\",zone=\"z\\\"1\"} 1\n"},
        ExpositionCase{"DeclarationOrderNotNameOrder",
                       [](MetricsRegistry& r) {
                         r.DeclareGauge("zz", "Z.");
                         r.DeclareGaugeFunction("mm", "M.", [] { return 7.5; });
                         r.DeclareCounter("aa_total", "A.");
                         r.Add("aa_total", {}, 4);
                       },
                       "# HELP zz Z.\n"
                       "# TYPE zz gauge\n"
                       "zz 0\n"
                       "# HELP mm M.\n"
                       "# TYPE mm gauge\n"
                       "mm 7.5\n"
                       "# HELP aa_total A.\n"
                       "# TYPE aa_total counter\n"
                       "aa_total 4\n"}),
    [](const testing::TestParamInfo<ExpositionCase>& info) { return info.param.name; });

TEST(MetricsRegistryTest, ValueReadsCountersGaugesAndHistogramCounts) {
  MetricsRegistry r;
  r.DeclareCounter("c_total", "C.", {"l"});
  r.DeclareGauge("g", "G.");
  r.DeclareHistogram("h", "H.", {1}, {"l"});
  r.DeclareGaugeFunction("f", "F.", [] { return 3.0; });
  r.Add("c_total", {"x"}, 2);
  r.Set("g", {}, 9);
  r.Observe("h", {"y"}, 0.5);
  r.Observe("h", {"y"}, 5);
  EXPECT_EQ(r.Value("c_total", {"x"}), 2);
  EXPECT_EQ(r.Value("c_total", {"other"}), 0);
  EXPECT_EQ(r.Value("g", {}), 9);
  EXPECT_EQ(r.Value("h", {"y"}), 2);
  EXPECT_EQ(r.Value("f", {}), 3);
  EXPECT_EQ(r.Value("undeclared", {}), 0);
}

TEST(MetricsRegistryTest, SeriesPerFamilyAreBoundedAndDropsCounted) {
  MetricsRegistry r;
  r.DeclareCounter("ids_total", "By id.", {"id"});
  r.DeclareCounter("other_total", "Other.", {"id"});
  for (size_t i = 0; i < MetricsRegistry::kMaxSeriesPerFamily; ++i) {
    r.Add("ids_total", {std::to_string(i)});
  }
  EXPECT_EQ(r.dropped_series(), 0u);
  r.Add("ids_total", {"new"});
  r.Touch("ids_total", {"newer"});
  EXPECT_EQ(r.dropped_series(), 2u);
  EXPECT_EQ(r.Value("ids_total", {"new"}), 0);
  // Existing series still record, and other families have their own room.
  r.Add("ids_total", {"0"}, 5);
  EXPECT_EQ(r.Value("ids_total", {"0"}), 6);
  r.Add("other_total", {"new"});
  EXPECT_EQ(r.Value("other_total", {"new"}), 1);
  EXPECT_EQ(r.dropped_series(), 2u);
  const std::string text = r.Render();
  EXPECT_EQ(text.find("ids_total{id=\"new\"}"), std::string::npos);
  EXPECT_NE(text.find("ids_total{id=\"999\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("other_total{id=\"new\"} 1\n"), std::string::npos);
}

TEST(MetricsRegistryTest, ConcurrentRecordingLosesNothing) {
  MetricsRegistry r;
  r.DeclareCounter("hits_total", "Hits.", {"worker"});
  r.DeclareCounter("all_total", "All hits.");
  r.DeclareHistogram("h", "H.", {0.5});
  constexpr int kThreads = 8;
  constexpr int kPerThread = 20000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&r, t] {
      for (int i = 0; i < kPerThread; ++i) {
        r.Add("hits_total", {std::to_string(t % 2)});
        r.Add("all_total", {});
        r.Observe("h", {}, i % 2 == 0 ? 0.25 : 1.0);
        if (i % 1000 == 0) (void)r.Render();
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(r.Value("all_total", {}), kThreads * kPerThread);
  EXPECT_EQ(r.Value("hits_total", {"0"}), kThreads / 2 * kPerThread);
  EXPECT_EQ(r.Value("hits_total", {"1"}), kThreads / 2 * kPerThread);
  EXPECT_EQ(r.Value("h", {}), kThreads * kPerThread);
  const std::string text = r.Render();
  EXPECT_NE(text.find("h_bucket{le=\"0.5\"} " + std::to_string(kThreads * kPerThread / 2) + "\n"),
            std::string::npos);
}

// Programming errors abort, naming the metric and what is wrong.
struct MisuseCase {
  std::string name;
  std::function<void(MetricsRegistry&)> misuse;
  std::string message;  // a regular expression for the death message
};

void PrintTo(const MisuseCase& c, std::ostream* os) { *os << c.name; }

class MisuseTest : public testing::TestWithParam<MisuseCase> {};

TEST_P(MisuseTest, AbortsWithTheReason) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        MetricsRegistry r;
        GetParam().misuse(r);
      },
      GetParam().message);
}

INSTANTIATE_TEST_SUITE_P(
    Errors, MisuseTest,
    testing::Values(
        MisuseCase{"InvalidMetricName", [](MetricsRegistry& r) { r.DeclareGauge("1abc", "X."); },
                   "metric 1abc: invalid metric name"},
        MisuseCase{"DashInMetricName", [](MetricsRegistry& r) { r.DeclareGauge("a-b", "X."); },
                   "metric a-b: invalid metric name"},
        MisuseCase{"CounterWithoutTotal", [](MetricsRegistry& r) { r.DeclareCounter("c", "X."); },
                   "metric c: a counter's name must end in _total"},
        MisuseCase{"ColonInLabelName",
                   [](MetricsRegistry& r) { r.DeclareGauge("g", "X.", {"a:b"}); },
                   "metric g: invalid label name \"a:b\""},
        MisuseCase{"ReservedLabelName",
                   [](MetricsRegistry& r) { r.DeclareGauge("g", "X.", {"__x"}); },
                   "metric g: label name \"__x\" starts with __"},
        MisuseCase{"LeOnHistogram",
                   [](MetricsRegistry& r) { r.DeclareHistogram("h", "X.", {1}, {"le"}); },
                   "metric h: a histogram cannot have a label \"le\""},
        MisuseCase{"DuplicateLabel",
                   [](MetricsRegistry& r) {
                     r.DeclareGauge("g", "X.", {"a", "a"});
                   },
                   "metric g: label \"a\" declared twice"},
        MisuseCase{"UnsortedBounds",
                   [](MetricsRegistry& r) {
                     r.DeclareHistogram("h", "X.", {1, 1});
                   },
                   "metric h: histogram bucket bounds must increase strictly"},
        MisuseCase{"InfiniteBound",
                   [](MetricsRegistry& r) {
                     r.DeclareHistogram("h", "X.", {1, kInf});
                   },
                   "metric h: histogram bucket bounds must be finite"},
        MisuseCase{"DeclaredTwice",
                   [](MetricsRegistry& r) {
                     r.DeclareGauge("g", "X.");
                     r.DeclareCounter("g_total", "X.");
                     r.DeclareGauge("g", "Y.");
                   },
                   "metric g: declared twice"},
        MisuseCase{"Undeclared", [](MetricsRegistry& r) { r.Add("nope_total", {}); },
                   "metric nope_total: not declared"},
        MisuseCase{"WrongLabelCount",
                   [](MetricsRegistry& r) {
                     r.DeclareCounter("c_total", "X.", {"a", "b"});
                     r.Add("c_total", {"x"});
                   },
                   "metric c_total: 1 label values given, 2 label names declared"},
        MisuseCase{"CounterDown",
                   [](MetricsRegistry& r) {
                     r.DeclareCounter("c_total", "X.");
                     r.Add("c_total", {}, -1);
                   },
                   "metric c_total: a counter cannot go down"},
        MisuseCase{"SetOnCounter",
                   [](MetricsRegistry& r) {
                     r.DeclareCounter("c_total", "X.");
                     r.Set("c_total", {}, 1);
                   },
                   "metric c_total: Set on a metric that is not a gauge"},
        MisuseCase{"ObserveOnGauge",
                   [](MetricsRegistry& r) {
                     r.DeclareGauge("g", "X.");
                     r.Observe("g", {}, 1);
                   },
                   "metric g: Observe on a metric that is not a histogram"},
        MisuseCase{"RecordIntoGaugeFunction",
                   [](MetricsRegistry& r) {
                     r.DeclareGaugeFunction("f", "X.", [] { return 1.0; });
                     r.Set("f", {}, 1);
                   },
                   "metric f: a gauge function is read, not recorded into"}),
    [](const testing::TestParamInfo<MisuseCase>& info) { return info.param.name; });

}  // namespace
}  // namespace tracerig
