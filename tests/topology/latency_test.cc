// LatencyModel::Sample with a seeded Rng: exact for fixed, bounded for uniform, and the
// distribution's defining statistics within tolerance over many draws for the others.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/rng.h"
#include "topology/scenario.h"

namespace tracerig {
namespace {

constexpr uint64_t kMs = 1'000'000;
constexpr int kDraws = 100'000;

std::vector<uint64_t> Draw(const LatencyModel& model, uint64_t seed, int n = kDraws) {
  Rng rng(seed);
  std::vector<uint64_t> v;
  v.reserve(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) v.push_back(model.Sample(rng));
  return v;
}

double Mean(const std::vector<uint64_t>& v) {
  double sum = 0;
  for (uint64_t x : v) sum += static_cast<double>(x);
  return sum / static_cast<double>(v.size());
}

double Quantile(std::vector<uint64_t> v, double q) {
  std::sort(v.begin(), v.end());
  return static_cast<double>(v[static_cast<size_t>(q * static_cast<double>(v.size() - 1))]);
}

TEST(LatencyTest, FixedIsExact) {
  const LatencyModel m{LatencyModel::Kind::kFixed, 2 * kMs, 0};
  for (uint64_t x : Draw(m, 1, 1000)) ASSERT_EQ(x, 2 * kMs);
}

TEST(LatencyTest, DefaultModelIsZero) {
  Rng rng(1);
  EXPECT_EQ(LatencyModel{}.Sample(rng), 0u);
}

TEST(LatencyTest, UniformStaysWithinBoundsAndCoversThem) {
  const LatencyModel m{LatencyModel::Kind::kUniform, 1 * kMs, 5 * kMs};
  const auto v = Draw(m, 7);
  const auto [lo, hi] = std::minmax_element(v.begin(), v.end());
  EXPECT_GE(*lo, 1 * kMs);
  EXPECT_LE(*hi, 5 * kMs);
  // Reaches close to both ends and centres on the midpoint.
  EXPECT_LT(*lo, 1 * kMs + kMs / 100);
  EXPECT_GT(*hi, 5 * kMs - kMs / 100);
  EXPECT_NEAR(Mean(v), 3.0 * kMs, 0.02 * kMs);
}

TEST(LatencyTest, UniformWithEqualBoundsIsThatValue) {
  const LatencyModel m{LatencyModel::Kind::kUniform, 3 * kMs, 3 * kMs};
  for (uint64_t x : Draw(m, 1, 100)) ASSERT_EQ(x, 3 * kMs);
}

TEST(LatencyTest, NormalHasItsMeanAndStddev) {
  const LatencyModel m{LatencyModel::Kind::kNormal, 6 * kMs, 1 * kMs};
  const auto v = Draw(m, 11);
  const double mean = Mean(v);
  double var = 0;
  for (uint64_t x : v) var += (static_cast<double>(x) - mean) * (static_cast<double>(x) - mean);
  var /= static_cast<double>(v.size());
  EXPECT_NEAR(mean, 6.0 * kMs, 0.02 * kMs);
  EXPECT_NEAR(std::sqrt(var), 1.0 * kMs, 0.02 * kMs);
}

TEST(LatencyTest, NormalClampsNegativeDrawsAtZero) {
  // Half the draws of N(1ms, 10ms) are negative; they must become 0, not wrap to huge values.
  const LatencyModel m{LatencyModel::Kind::kNormal, 1 * kMs, 10 * kMs};
  const auto v = Draw(m, 3, 10'000);
  const auto zeros = std::count(v.begin(), v.end(), 0u);
  EXPECT_GT(zeros, 4000);
  EXPECT_LT(zeros, 6000);
  EXPECT_LT(*std::max_element(v.begin(), v.end()), 100 * kMs);
}

TEST(LatencyTest, LognormalHitsItsMedianAndP99) {
  const LatencyModel m{LatencyModel::Kind::kLognormal, 4 * kMs, 30 * kMs};
  const auto v = Draw(m, 42);
  EXPECT_NEAR(Quantile(v, 0.5), 4.0 * kMs, 0.03 * 4 * kMs);
  EXPECT_NEAR(Quantile(v, 0.99), 30.0 * kMs, 0.06 * 30 * kMs);
}

TEST(LatencyTest, LognormalWithEqualPercentilesIsFixed) {
  const LatencyModel m{LatencyModel::Kind::kLognormal, 4 * kMs, 4 * kMs};
  for (uint64_t x : Draw(m, 1, 100)) ASSERT_EQ(x, 4 * kMs);
}

TEST(LatencyTest, ExponentialHasItsMean) {
  const LatencyModel m{LatencyModel::Kind::kExponential, 1 * kMs, 0};
  const auto v = Draw(m, 5);
  EXPECT_NEAR(Mean(v), 1.0 * kMs, 0.02 * kMs);
  // The median of an exponential distribution is mean * ln 2.
  EXPECT_NEAR(Quantile(v, 0.5), 0.6931 * kMs, 0.02 * kMs);
}

TEST(LatencyTest, SameSeedSameDraws) {
  const LatencyModel m{LatencyModel::Kind::kLognormal, 4 * kMs, 30 * kMs};
  EXPECT_EQ(Draw(m, 9, 1000), Draw(m, 9, 1000));
  EXPECT_NE(Draw(m, 9, 1000), Draw(m, 10, 1000));
}

}  // namespace
}  // namespace tracerig
