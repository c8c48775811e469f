// Sampling statistics: the normal quantile, Wilson intervals against values computed by hand, the
// judging rule row by row (including where it refuses to judge), its error rate on seeded
// simulations, and where a tree's sampling decisions come from under each policy.
#include "verifier/sampling_stats.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "core/rng.h"
#include "tests/verifier/test_spans.h"

namespace tracerig {
namespace {

using verifier_testing::CallTo;
using verifier_testing::Expect;
using verifier_testing::QuickstartScenario;
using verifier_testing::QuickstartTree;

// Quantiles of the standard normal (tables; Python: statistics.NormalDist().inv_cdf).
constexpr double kZ99 = 2.5758293035489;  // inv_cdf(0.995)
constexpr double kZ95 = 1.9599639845401;  // inv_cdf(0.975)

TEST(TwoSidedZTest, MatchesNormalTables) {
  auto z99 = TwoSidedZ(0.99);
  ASSERT_TRUE(z99.ok());
  EXPECT_NEAR(*z99, kZ99, 1e-9);
  auto z95 = TwoSidedZ(0.95);
  ASSERT_TRUE(z95.ok());
  EXPECT_NEAR(*z95, kZ95, 1e-9);
  auto z68 = TwoSidedZ(0.6826894921370859);  // P(|Z| <= 1)
  ASSERT_TRUE(z68.ok());
  EXPECT_NEAR(*z68, 1.0, 1e-9);
}

TEST(TwoSidedZTest, RejectsConfidenceOutsideTheOpenUnitInterval) {
  for (double c : {0.0, 1.0, -0.5, 1.5, std::numeric_limits<double>::quiet_NaN()}) {
    auto z = TwoSidedZ(c);
    EXPECT_FALSE(z.ok()) << c;
  }
  EXPECT_EQ(TwoSidedZ(1.5).error().message,
            "sampling confidence 1.5 is not between 0 and 1 (exclusive)");
}

TEST(WilsonIntervalTest, KnownValues) {
  struct Row {
    uint64_t k, n;
    double z, low, high;
  };
  const Row rows[] = {
      // k=50, n=100, z=2.5758: z^2 = 6.63475, center = (50 + 3.31738) / 106.63475 = 0.5,
      // half = 2.5758 / 106.63475 * sqrt(50*50/100 + 6.63475/4) = 0.0241553 * 5.16321 = 0.124719.
      {50, 100, 2.5758, 0.375281, 0.624719},
      // k=20, n=100, z=1.96: center = (20 + 1.92073) / 103.84146 = 0.211100,
      // half = 1.96 / 103.84146 * sqrt(16 + 0.96036) = 0.0188749 * 4.11829 = 0.077733.
      {20, 100, kZ95, 0.133367, 0.288829},
      // k=0: the interval starts at 0 and ends at z^2 / (n + z^2) = 6.63488 / 56.63488.
      {0, 50, kZ99, 0.0, 0.117152},
      // k=n mirrors k=0.
      {50, 50, kZ99, 0.882848, 1.0},
      // k=30, n=40: center = (30 + 3.31744) / 46.63488 = 0.714432,
      // half = 2.57583 / 46.63488 * sqrt(7.5 + 1.65872) = 0.0552339 * 3.02634 = 0.167157.
      {30, 40, kZ99, 0.547275, 0.881588},
  };
  for (const Row& r : rows) {
    const ProportionInterval i = WilsonInterval(r.k, r.n, r.z);
    EXPECT_NEAR(i.low, r.low, 1e-6) << r.k << "/" << r.n;
    EXPECT_NEAR(i.high, r.high, 1e-6) << r.k << "/" << r.n;
  }
  const ProportionInterval none = WilsonInterval(0, 0, kZ99);
  EXPECT_EQ(none.low, 0.0);
  EXPECT_EQ(none.high, 1.0);
}

TEST(JudgeSamplingRateTest, Rule) {
  struct Row {
    uint64_t k, n;
    double expected;
    SamplingJudgement judgement;
  };
  using J = SamplingJudgement;
  const Row rows[] = {
      {500, 1000, 0.5, J::kPass},
      // 99% interval of 560/1000 is [0.5193, 0.5999]: 0.5 is outside.
      {560, 1000, 0.5, J::kFail},
      // Score test at n=100, p=0.5: sd = 5, z = 2.5758; 62 and 38 are 2.4 sd away, 63 and 37 2.6.
      {62, 100, 0.5, J::kPass},
      {38, 100, 0.5, J::kPass},
      {63, 100, 0.5, J::kFail},
      {37, 100, 0.5, J::kFail},
      // n*p = 5 < 10, n*(1-p) = 1 < 10, n = 0: refuse to judge, however far off.
      {5, 20, 0.25, J::kNotEnoughTraces},
      {20, 20, 0.25, J::kNotEnoughTraces},
      {18, 20, 0.95, J::kNotEnoughTraces},
      {0, 0, 0.5, J::kNotEnoughTraces},
      // Exactly 10 of each expected: judged (30/40 against 0.75 is the centre).
      {30, 40, 0.75, J::kPass},
      // Certain outcomes are judged exactly, with any n.
      {10, 10, 1.0, J::kPass},
      {9, 10, 1.0, J::kFail},
      {0, 10, 0.0, J::kPass},
      {1, 10, 0.0, J::kFail},
      {1, 1, 1.0, J::kPass},
      {0, 0, 1.0, J::kNotEnoughTraces},
  };
  for (const Row& r : rows) {
    auto t = JudgeSamplingRate(r.k, r.n, r.expected);
    ASSERT_TRUE(t.ok()) << t.error().message;
    EXPECT_EQ(t->judgement, r.judgement)
        << r.k << "/" << r.n << " vs " << r.expected << ": "
        << SamplingJudgementName(t->judgement);
    EXPECT_EQ(t->n, r.n);
    EXPECT_EQ(t->k, r.k);
    EXPECT_EQ(t->expected, r.expected);
    EXPECT_EQ(t->confidence, kDefaultSamplingConfidence);
  }
}

TEST(JudgeSamplingRateTest, ReportsObservedAndInterval) {
  auto t = JudgeSamplingRate(560, 1000, 0.5, 0.99);
  ASSERT_TRUE(t.ok());
  EXPECT_DOUBLE_EQ(t->observed, 0.56);
  EXPECT_NEAR(t->interval.low, 0.519303, 1e-6);
  EXPECT_NEAR(t->interval.high, 0.599906, 1e-6);
  // A lower confidence narrows nothing here that would change the verdict, but is carried.
  auto t95 = JudgeSamplingRate(560, 1000, 0.5, 0.95);
  ASSERT_TRUE(t95.ok());
  EXPECT_EQ(t95->confidence, 0.95);
  EXPECT_GT(t95->interval.low, t->interval.low);
}

TEST(JudgeSamplingRateTest, Errors) {
  EXPECT_EQ(JudgeSamplingRate(11, 10, 0.5).error().message,
            "sampling test: 11 sampled out of 10 trials is more than all");
  EXPECT_EQ(JudgeSamplingRate(1, 10, 1.5).error().message,
            "sampling test: expected fraction 1.5 is not between 0 and 1");
  EXPECT_EQ(JudgeSamplingRate(1, 10, 0.5, 1).error().message,
            "sampling confidence 1 is not between 0 and 1 (exclusive)");
}

TEST(JudgeSamplingRateTest, NamesEveryJudgement) {
  EXPECT_EQ(SamplingJudgementName(SamplingJudgement::kPass), "pass");
  EXPECT_EQ(SamplingJudgementName(SamplingJudgement::kFail), "fail");
  EXPECT_EQ(SamplingJudgementName(SamplingJudgement::kNotEnoughTraces), "not enough traces");
}

// k successes of n draws at probability p.
uint64_t Draw(Rng& rng, uint64_t n, double p) {
  uint64_t k = 0;
  for (uint64_t i = 0; i < n; ++i) k += rng.NextDouble() < p ? 1 : 0;
  return k;
}

TEST(JudgeSamplingRateTest, PassesAtTheRightRateAndFailsWhenOff) {
  Rng rng(20261125);
  constexpr int kRuns = 400;
  int passed_right = 0;
  int failed_off = 0;
  for (int run = 0; run < kRuns; ++run) {
    auto right = JudgeSamplingRate(Draw(rng, 1000, 0.3), 1000, 0.3);
    ASSERT_TRUE(right.ok());
    passed_right += right->judgement == SamplingJudgement::kPass ? 1 : 0;
    // Sampling at 0.4 where 0.3 is configured: 7 standard deviations off at n = 1000.
    auto off = JudgeSamplingRate(Draw(rng, 1000, 0.4), 1000, 0.3);
    ASSERT_TRUE(off.ok());
    failed_off += off->judgement == SamplingJudgement::kFail ? 1 : 0;
  }
  // At 99% confidence about 1% of correct runs fail (binomial: 4 of 400 expected; 12 would be
  // far in its tail), and every far-off run fails.
  EXPECT_GE(passed_right, kRuns - 12);
  EXPECT_EQ(failed_off, kRuns);
}

// The quickstart scenario with `service`'s policy replaced.
Scenario WithPolicy(Scenario s, std::string_view service, SamplingPolicy::Kind kind,
                    double ratio = 1.0) {
  for (Service& svc : s.services) {
    if (svc.name == service) svc.sampling = SamplingPolicy{kind, ratio};
  }
  return s;
}

double ExpectedOf(const TreeSamplingModel& m, std::string_view service) {
  for (const auto& s : m.services) {
    if (s.service == service) return s.expected;
  }
  ADD_FAILURE() << service << " not in the model";
  return -1;
}

TEST(ModelTreeSamplingTest, ParentBasedEverywhereSamplesEverything) {
  const TreeSamplingModel m = ModelTreeSampling(QuickstartScenario(), QuickstartTree());
  ASSERT_EQ(m.services.size(), 4u);  // the driver is not a scenario service
  EXPECT_EQ(m.services[0].service, "frontend");
  EXPECT_EQ(m.services[0].policy, "parent-based(1)");
  EXPECT_EQ(m.services[0].spans, (std::vector<uint32_t>{1, 2, 4}));
  for (const auto& s : m.services) EXPECT_EQ(s.expected, 1.0) << s.service;
  // Visits: the root, then each SERVER span with the CLIENT spans of its calls.
  EXPECT_EQ(m.visit, (std::vector<uint32_t>{0, 1, 1, 3, 1, 5, 5, 7}));
  // Everything follows the driver's decision.
  EXPECT_EQ(m.source, (std::vector<uint32_t>{0, 0, 0, 0, 0, 0, 0, 0}));
  EXPECT_EQ(m.parent_based,
            (std::vector<bool>{false, true, false, true, false, true, false, true}));
}

TEST(ModelTreeSamplingTest, RatioIsFollowedBelowAndNotAbove) {
  const TreeSamplingModel m = ModelTreeSampling(
      WithPolicy(QuickstartScenario(), "checkout", SamplingPolicy::Kind::kRatio, 0.25),
      QuickstartTree());
  EXPECT_EQ(ExpectedOf(m, "frontend"), 1.0);
  EXPECT_EQ(ExpectedOf(m, "cart"), 1.0);
  EXPECT_EQ(ExpectedOf(m, "checkout"), 0.25);
  EXPECT_EQ(ExpectedOf(m, "payment"), 0.25);  // parent-based below checkout
  EXPECT_EQ(m.source[7], 5u);
  EXPECT_EQ(m.services[2].policy, "ratio(0.25)");
  // Edge checkout -> payment: both follow checkout's decision; frontend -> checkout: two.
  EXPECT_EQ(BothSampled(m, 6, 7), 0.25);
  EXPECT_EQ(BothSampled(m, 4, 5), 0.25);
  EXPECT_EQ(BothSampled(m, 2, 3), 1.0);
}

TEST(ModelTreeSamplingTest, FreshDecisionsMultiplyAndAlwaysAndNeverAreCertain) {
  Scenario s = WithPolicy(QuickstartScenario(), "frontend", SamplingPolicy::Kind::kRatio, 0.5);
  s = WithPolicy(s, "checkout", SamplingPolicy::Kind::kAlways);
  s = WithPolicy(s, "payment", SamplingPolicy::Kind::kRatio, 0.5);
  TreeSamplingModel m = ModelTreeSampling(s, QuickstartTree());
  EXPECT_EQ(ExpectedOf(m, "cart"), 0.5);
  EXPECT_EQ(ExpectedOf(m, "checkout"), 1.0);
  EXPECT_EQ(ExpectedOf(m, "payment"), 0.5);
  EXPECT_EQ(BothSampled(m, 4, 5), 0.5);   // frontend's CLIENT (0.5) and checkout (always)
  EXPECT_EQ(BothSampled(m, 6, 7), 0.5);   // checkout (always) and payment (0.5)
  EXPECT_EQ(BothSampled(m, 1, 7), 0.25);  // two independent halves

  m = ModelTreeSampling(WithPolicy(QuickstartScenario(), "checkout", SamplingPolicy::Kind::kNever),
                        QuickstartTree());
  EXPECT_EQ(ExpectedOf(m, "checkout"), 0.0);
  EXPECT_EQ(ExpectedOf(m, "payment"), 0.0);
  EXPECT_EQ(m.services[2].policy, "never");
}

TEST(ModelTreeSamplingTest, AServiceVisitedTwiceIsFoundIfEitherVisitIsSampled) {
  // frontend calls payment directly and through checkout; payment samples afresh at 0.5 each
  // time, so some span of payment is there with chance 1 - 0.5 * 0.5.
  Scenario s = QuickstartScenario();
  s.services[0].routes[0].calls.push_back(CallStep{false, {CallTo("payment", "Charge")}});
  s = WithPolicy(s, "payment", SamplingPolicy::Kind::kRatio, 0.5);
  ExpectedTree tree = QuickstartTree();
  tree.spans.push_back(Expect("0.2", "frontend", SpanKind::kClient, "Charge", 1, "payment"));
  tree.spans.push_back(Expect("0.2", "payment", SpanKind::kServer, "Charge", 8, "frontend"));
  const TreeSamplingModel m = ModelTreeSampling(s, tree);
  EXPECT_DOUBLE_EQ(ExpectedOf(m, "payment"), 0.75);
  EXPECT_EQ(ExpectedOf(m, "checkout"), 1.0);
}

TEST(ModelTreeSamplingTest, ServicesTheScenarioDoesNotKnowFollowTheirCaller) {
  Scenario s = WithPolicy(QuickstartScenario(), "checkout", SamplingPolicy::Kind::kRatio, 0.5);
  const ExpectedTree tree = QuickstartTree(/*fraud=*/true);  // fraud is not a scenario service
  const TreeSamplingModel m = ModelTreeSampling(s, tree);
  EXPECT_EQ(m.services.size(), 4u);
  EXPECT_EQ(m.source[9], 5u);
  EXPECT_EQ(m.probability[9], 0.5);
}

}  // namespace
}  // namespace tracerig
