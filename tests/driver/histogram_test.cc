// LatencyHistogram against exact nearest-rank percentiles of known data, plus bucket layout,
// merging, rebuilding from report buckets and clamping.
#include "driver/histogram.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "core/rng.h"

namespace tracerig {
namespace {

constexpr uint64_t kMicro = 1'000;
constexpr uint64_t kSecond = 1'000'000'000;
constexpr uint64_t kHour = 3'600 * kSecond;

uint64_t ExactPercentile(const std::vector<uint64_t>& sorted, double p) {
  return sorted[NearestRank(p, sorted.size()) - 1];
}

double RelativeError(uint64_t got, uint64_t want) {
  if (want == 0) return got == 0 ? 0 : 1;
  return std::abs(static_cast<double>(got) - static_cast<double>(want)) / static_cast<double>(want);
}

// Lognormal-ish: the mean of four uniforms in log space is close to normal; centred near 1 ms,
// clamped to [1 µs, 10 s].
std::vector<uint64_t> LognormalishData(uint64_t seed, size_t n) {
  Rng rng(seed);
  const double lo = std::log(1e3);
  const double hi = std::log(1e10);
  std::vector<uint64_t> data;
  for (size_t i = 0; i < n; ++i) {
    double u = 0;
    for (int k = 0; k < 4; ++k) u += rng.NextDouble();
    const double v = std::exp(lo + (hi - lo) * u / 4);
    data.push_back(std::clamp(static_cast<uint64_t>(v), kMicro, 10 * kSecond));
  }
  return data;
}

std::vector<uint64_t> UniformData(uint64_t seed, size_t n, uint64_t lo, uint64_t hi) {
  Rng rng(seed);
  std::vector<uint64_t> data;
  for (size_t i = 0; i < n; ++i) data.push_back(lo + rng.Next() % (hi - lo + 1));
  return data;
}

struct Dataset {
  std::string name;
  std::vector<uint64_t> values;
};

std::vector<Dataset> Datasets() {
  return {
      {"lognormalish_1us_10s", LognormalishData(42, 100'000)},
      {"uniform_1us_10s", UniformData(7, 100'000, kMicro, 10 * kSecond)},
      {"uniform_0_5us", UniformData(9, 50'000, 0, 5 * kMicro)},
      {"constant", std::vector<uint64_t>(10'000, 1'234'567)},
      {"single", {777'777}},
  };
}

TEST(NearestRankTest, Table) {
  struct Row {
    double p;
    uint64_t count;
    uint64_t want;
  };
  const Row rows[] = {
      {50, 10, 5},
      {50, 11, 6},
      {50, 3, 2},
      {90, 10, 9},
      {99, 100, 99},
      {99.9, 1000, 999},
      {99.9, 100'000, 99'900},
      {33.3, 1000, 333},
      {0, 5, 1},
      {100, 5, 5},
      {-1, 5, 1},
      {150, 5, 5},
      {std::nan(""), 5, 1},
      {99.99, 1, 1},
      {50, 0, 0},
  };
  for (const auto& r : rows) {
    EXPECT_EQ(NearestRank(r.p, r.count), r.want) << "p=" << r.p << " count=" << r.count;
  }
}

TEST(LatencyHistogramTest, BucketLayoutBoundsEveryValueWithinOnePercent) {
  std::vector<uint64_t> values = {0,    1,    1023, 1024, 1031,      1032,
                                  2047, 2048, 4095, 4096, kHour - 1, kHour};
  Rng rng(3);
  for (int i = 0; i < 10'000; ++i) values.push_back(rng.Next() % (kHour + 1));
  for (uint64_t v : values) {
    const size_t index = LatencyHistogram::BucketIndex(v);
    const uint64_t lower = LatencyHistogram::BucketLowerBound(index);
    const uint64_t width = LatencyHistogram::BucketWidth(index);
    ASSERT_LE(lower, v) << v;
    ASSERT_LT(v, lower + width) << v;
    if (v < LatencyHistogram::kLinearLimit) {
      ASSERT_EQ(width, 1u) << "values below 1024 ns are kept exactly: " << v;
    } else {
      ASSERT_LE(static_cast<double>(width) / static_cast<double>(lower), 1.0 / 128) << v;
    }
  }
  // Adjacent buckets tile the range without gaps.
  for (size_t i = 0; i + 1 < LatencyHistogram::BucketIndex(kHour); ++i) {
    ASSERT_EQ(LatencyHistogram::BucketLowerBound(i) + LatencyHistogram::BucketWidth(i),
              LatencyHistogram::BucketLowerBound(i + 1))
        << i;
  }
}

TEST(LatencyHistogramTest, EmptyHistogramReportsZeros) {
  LatencyHistogram h;
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.min(), 0u);
  EXPECT_EQ(h.max(), 0u);
  EXPECT_EQ(h.mean(), 0);
  EXPECT_EQ(h.Percentile(50), 0u);
  EXPECT_EQ(h.overflow_count(), 0u);
  EXPECT_TRUE(h.NonEmptyBuckets().empty());
}

TEST(LatencyHistogramTest, PercentilesWithinOnePercentOfExact) {
  for (const auto& d : Datasets()) {
    LatencyHistogram h;
    for (uint64_t v : d.values) h.Record(v);
    std::vector<uint64_t> sorted = d.values;
    std::sort(sorted.begin(), sorted.end());
    for (double p : {0.0, 50.0, 90.0, 99.0, 99.9, 100.0}) {
      const uint64_t want = ExactPercentile(sorted, p);
      const uint64_t got = h.Percentile(p);
      EXPECT_LE(RelativeError(got, want), 0.01)
          << d.name << " p" << p << ": got " << got << ", exact " << want;
    }
  }
}

TEST(LatencyHistogramTest, MinMaxMeanAreExact) {
  for (const auto& d : Datasets()) {
    LatencyHistogram h;
    for (uint64_t v : d.values) h.Record(v);
    const auto [lo, hi] = std::minmax_element(d.values.begin(), d.values.end());
    long double sum = 0;
    for (uint64_t v : d.values) sum += v;
    EXPECT_EQ(h.count(), d.values.size()) << d.name;
    EXPECT_EQ(h.min(), *lo) << d.name;
    EXPECT_EQ(h.max(), *hi) << d.name;
    EXPECT_DOUBLE_EQ(h.mean(), static_cast<double>(sum / d.values.size())) << d.name;
    EXPECT_EQ(h.Percentile(0), *lo) << d.name;
    EXPECT_EQ(h.Percentile(100), *hi) << d.name;
  }
}

TEST(LatencyHistogramTest, ValuesBelowOneMicrosecondAreExact) {
  LatencyHistogram h;
  for (uint64_t v = 0; v < 1000; ++v) h.Record(v);
  EXPECT_EQ(h.Percentile(50), 499u);
  EXPECT_EQ(h.Percentile(90), 899u);
  EXPECT_EQ(h.Percentile(99.9), 998u);
  EXPECT_EQ(h.NonEmptyBuckets().size(), 1000u);
}

TEST(LatencyHistogramTest, RecordNEqualsRepeatedRecord) {
  LatencyHistogram once;
  LatencyHistogram repeated;
  once.RecordN(5 * kMicro, 1000);
  once.RecordN(3 * kSecond, 10);
  once.RecordN(42, 0);  // no-op
  for (int i = 0; i < 1000; ++i) repeated.Record(5 * kMicro);
  for (int i = 0; i < 10; ++i) repeated.Record(3 * kSecond);
  EXPECT_EQ(once.NonEmptyBuckets(), repeated.NonEmptyBuckets());
  EXPECT_EQ(once.count(), 1010u);
  EXPECT_EQ(once.min(), repeated.min());
  EXPECT_EQ(once.max(), repeated.max());
  EXPECT_DOUBLE_EQ(once.mean(), repeated.mean());
}

TEST(LatencyHistogramTest, MergeEqualsRecordingEverythingIntoOne) {
  const auto data = LognormalishData(11, 30'000);
  LatencyHistogram all;
  LatencyHistogram parts[3];
  for (size_t i = 0; i < data.size(); ++i) {
    all.Record(data[i]);
    parts[i % 3].Record(data[i]);
  }
  parts[2].Record(2 * kHour);  // overflow merges too
  all.Record(2 * kHour);
  LatencyHistogram merged;
  for (const auto& p : parts) merged.Merge(p);
  merged.Merge(LatencyHistogram());  // merging an empty histogram changes nothing

  EXPECT_EQ(merged.NonEmptyBuckets(), all.NonEmptyBuckets());
  EXPECT_EQ(merged.count(), all.count());
  EXPECT_EQ(merged.min(), all.min());
  EXPECT_EQ(merged.max(), all.max());
  EXPECT_EQ(merged.overflow_count(), 1u);
  EXPECT_DOUBLE_EQ(merged.mean(), all.mean());
  for (double p : {50.0, 90.0, 99.0, 99.9}) EXPECT_EQ(merged.Percentile(p), all.Percentile(p)) << p;
}

TEST(LatencyHistogramTest, FromBucketsRoundTrip) {
  const auto data = LognormalishData(5, 20'000);
  LatencyHistogram h;
  for (uint64_t v : data) h.Record(v);
  h.Record(500);            // an exact sub-microsecond bucket
  h.RecordN(5 * kHour, 3);  // the overflow bucket
  const auto buckets = h.NonEmptyBuckets();

  auto rebuilt = LatencyHistogram::FromBuckets(buckets);
  ASSERT_TRUE(rebuilt) << rebuilt.error().message;
  EXPECT_EQ(rebuilt->NonEmptyBuckets(), buckets);
  EXPECT_EQ(rebuilt->count(), h.count());
  EXPECT_EQ(rebuilt->overflow_count(), 3u);
  EXPECT_EQ(rebuilt->min(), 500u);  // exact in the linear range
  EXPECT_EQ(rebuilt->max(), LatencyHistogram::kMaxTrackable);
  EXPECT_LE(std::abs(rebuilt->mean() - h.mean()) / h.mean(), 0.01);
  for (double p : {1.0, 50.0, 90.0, 99.0, 99.9}) {
    EXPECT_LE(RelativeError(rebuilt->Percentile(p), h.Percentile(p)), 0.01) << p;
  }

  // Rebuilding an empty list gives an empty histogram; zero counts are allowed and skipped.
  auto empty = LatencyHistogram::FromBuckets({});
  ASSERT_TRUE(empty);
  EXPECT_EQ(empty->count(), 0u);
  const std::vector<std::pair<uint64_t, uint64_t>> with_zero = {{10, 0}, {11, 2}};
  auto skipped = LatencyHistogram::FromBuckets(with_zero);
  ASSERT_TRUE(skipped);
  EXPECT_EQ(skipped->count(), 2u);
  EXPECT_EQ(skipped->min(), 11u);
}

TEST(LatencyHistogramTest, FromBucketsRejectsMalformedBuckets) {
  struct Row {
    std::string name;
    std::vector<std::pair<uint64_t, uint64_t>> buckets;
    std::string error;
  };
  const std::vector<Row> rows = {
      {"not_a_boundary",
       {{1024, 1}, {1025, 1}},
       "histogram bucket 1: 1025 is not a bucket lower bound"},
      {"above_hour_but_not_overflow_bound",
       {{LatencyHistogram::kMaxTrackable + 2, 1}},
       "histogram bucket 0: 3600000000002 is not a bucket lower bound"},
      {"descending",
       {{2048, 1}, {1024, 1}},
       "histogram bucket 1: lower bound 1024 is not above the previous bucket's"},
      {"duplicate",
       {{7, 1}, {7, 1}},
       "histogram bucket 1: lower bound 7 is not above the previous bucket's"},
      {"count_overflow",
       {{1, UINT64_MAX}, {2, 1}},
       "histogram bucket 1: total count overflows 64 bits"},
  };
  for (const auto& r : rows) {
    auto h = LatencyHistogram::FromBuckets(r.buckets);
    ASSERT_FALSE(h) << r.name;
    EXPECT_EQ(h.error().message, r.error) << r.name;
  }
}

TEST(LatencyHistogramTest, ValuesAboveOneHourAreClampedAndCounted) {
  LatencyHistogram h;
  h.Record(kSecond);
  h.Record(kHour);  // exactly one hour is still tracked
  h.Record(kHour + 1);
  h.Record(std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(h.count(), 4u);
  EXPECT_EQ(h.overflow_count(), 2u);
  EXPECT_EQ(h.max(), kHour);
  EXPECT_EQ(h.Percentile(100), kHour);
  EXPECT_EQ(h.Percentile(75), kHour);
  EXPECT_LE(RelativeError(h.Percentile(50), kHour), 0.01);
  EXPECT_DOUBLE_EQ(h.mean(), (1.0 * kSecond + 3.0 * kHour) / 4);
  const auto buckets = h.NonEmptyBuckets();
  ASSERT_EQ(buckets.size(), 3u);
  EXPECT_EQ(buckets.back(), std::make_pair(LatencyHistogram::kMaxTrackable + 1, uint64_t{2}));
}

}  // namespace
}  // namespace tracerig
