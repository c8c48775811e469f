// LatencyTimeline and SparseHistogram: latency over time as the driver records it (pure, no
// network): requests land in the interval of their intended start with the right counts and
// percentiles, intervals widen to keep memory bounded, and timelines merge across threads and
// reports.
#include "driver/histogram.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <vector>

namespace tracerig {
namespace {

constexpr uint64_t kMs = 1'000'000;
constexpr uint64_t kSecond = 1'000'000'000;

TEST(SparseHistogramTest, GivesTheSameFiguresAsTheDenseHistogram) {
  std::mt19937_64 rng(7);
  std::lognormal_distribution<double> latency(15.0, 1.5);  // around 3 ms, long tail
  SparseHistogram sparse;
  LatencyHistogram dense;
  for (int i = 0; i < 5000; ++i) {
    const auto v = static_cast<uint64_t>(latency(rng));
    sparse.Record(v);
    dense.Record(v);
  }
  sparse.Record(LatencyHistogram::kMaxTrackable + 5);  // overflow is kept too
  dense.Record(LatencyHistogram::kMaxTrackable + 5);
  const LatencyHistogram rebuilt = sparse.ToDense();
  EXPECT_EQ(rebuilt.count(), dense.count());
  EXPECT_EQ(rebuilt.min(), dense.min());
  EXPECT_EQ(rebuilt.max(), dense.max());
  EXPECT_EQ(rebuilt.mean(), dense.mean());
  EXPECT_EQ(rebuilt.overflow_count(), 1u);
  for (double p : {1.0, 50.0, 90.0, 99.0, 99.9}) {
    EXPECT_EQ(rebuilt.Percentile(p), dense.Percentile(p)) << p;
  }
  EXPECT_EQ(rebuilt.NonEmptyBuckets(), dense.NonEmptyBuckets());
  // Only non-empty buckets are held.
  EXPECT_EQ(sparse.buckets().size(), dense.NonEmptyBuckets().size());
  EXPECT_EQ(SparseHistogram::FromDense(dense).buckets(), sparse.buckets());
}

TEST(SparseHistogramTest, MergeAddsBucketByBucket) {
  SparseHistogram a, b;
  for (uint64_t v : {100, 5'000, 5'000, 80'000}) a.Record(v);
  for (uint64_t v : {50, 5'000, 1'000'000}) b.Record(v);
  a.Merge(b);
  LatencyHistogram expected;
  for (uint64_t v : {100, 5'000, 5'000, 80'000, 50, 5'000, 1'000'000}) expected.Record(v);
  EXPECT_EQ(a.count(), 7u);
  EXPECT_EQ(a.ToDense().NonEmptyBuckets(), expected.NonEmptyBuckets());
  EXPECT_EQ(a.ToDense().min(), 50u);
  EXPECT_EQ(a.ToDense().max(), 1'000'000u);
  a.Merge(SparseHistogram{});
  EXPECT_EQ(a.count(), 7u);
}

TEST(LatencyTimelineTest, RequestsLandInTheIntervalOfTheirIntendedStart) {
  LatencyTimeline t;  // 1 s intervals
  // Interval 0: 10 requests of 1..10 ms. Interval 2: a stall, 4 requests intended at 2.0-2.3 s
  // that completed late (800 ms), one of them an error. Interval 1 stays empty.
  for (uint64_t i = 0; i < 10; ++i) t.Record(i * 100 * kMs, (i + 1) * kMs, false, true);
  for (uint64_t i = 0; i < 4; ++i) t.Record(2 * kSecond + i * 100 * kMs, 800 * kMs, i == 3, true);
  ASSERT_EQ(t.interval_ns(), kSecond);
  ASSERT_EQ(t.points().size(), 3u);
  const TimelinePoint& first = t.points()[0];
  EXPECT_EQ(first.requests, 10u);
  EXPECT_EQ(first.errors, 0u);
  const LatencyHistogram h0 = first.corrected.ToDense();
  EXPECT_EQ(h0.count(), 10u);
  EXPECT_EQ(h0.min(), 1 * kMs);
  EXPECT_EQ(h0.max(), 10 * kMs);
  EXPECT_NEAR(static_cast<double>(h0.Percentile(50)), 5.0 * kMs, 5.0 * kMs / 100);
  EXPECT_NEAR(static_cast<double>(h0.Percentile(90)), 9.0 * kMs, 9.0 * kMs / 100);
  EXPECT_EQ(t.points()[1].requests, 0u);
  EXPECT_EQ(t.points()[1].corrected.count(), 0u);
  const TimelinePoint& stall = t.points()[2];
  EXPECT_EQ(stall.requests, 4u);
  EXPECT_EQ(stall.errors, 1u);
  EXPECT_EQ(stall.corrected.ToDense().Percentile(50), 800 * kMs);
}

TEST(LatencyTimelineTest, WarmupRequestsCountWithoutLatency) {
  LatencyTimeline t;
  t.Record(0, 5 * kMs, false, /*with_latency=*/false);
  t.Record(10 * kMs, 7 * kMs, true, /*with_latency=*/false);
  t.Record(20 * kMs, 9 * kMs, false, /*with_latency=*/true);
  ASSERT_EQ(t.points().size(), 1u);
  EXPECT_EQ(t.points()[0].requests, 3u);
  EXPECT_EQ(t.points()[0].errors, 1u);
  EXPECT_EQ(t.points()[0].corrected.count(), 1u);
  EXPECT_EQ(t.points()[0].corrected.ToDense().min(), 9 * kMs);
}

TEST(LatencyTimelineTest, IntervalForAPlannedDurationKeepsAtMostSixHundredPoints) {
  struct Row {
    uint64_t duration_ns;
    uint64_t interval_ns;
  };
  const Row rows[] = {
      {0, kSecond},
      {599 * kSecond, kSecond},        // a 10-minute run's last intended start
      {600 * kSecond, 2 * kSecond},    // 600 one-second points would be 601 with this offset
      {3600 * kSecond, 8 * kSecond},   // an hour: 450 points
      {86400 * kSecond, 256 * kSecond},  // a day: 338 points
  };
  for (const Row& row : rows) {
    const uint64_t interval = LatencyTimeline::IntervalFor(row.duration_ns);
    EXPECT_EQ(interval, row.interval_ns) << row.duration_ns;
    EXPECT_LT(row.duration_ns / interval, LatencyTimeline::kMaxPoints) << row.duration_ns;
  }
}

TEST(LatencyTimelineTest, ARunBeyondSixHundredIntervalsWidensThemAndKeepsEveryRequest) {
  LatencyTimeline t;  // 1 s, as for a run planned shorter than it turned out
  for (uint64_t s = 0; s < 1000; ++s) {
    t.Record(s * kSecond + 500 * kMs, (s + 1) * kMs, s == 3, true);
  }
  EXPECT_EQ(t.interval_ns(), 2 * kSecond);
  ASSERT_EQ(t.points().size(), 500u);
  // Point 1 covers 2-4 s: requests of seconds 2 and 3, one of them an error.
  EXPECT_EQ(t.points()[1].requests, 2u);
  EXPECT_EQ(t.points()[1].errors, 1u);
  EXPECT_EQ(t.points()[1].corrected.ToDense().min(), 3 * kMs);
  EXPECT_EQ(t.points()[1].corrected.ToDense().max(), 4 * kMs);
  uint64_t total = 0;
  for (const auto& p : t.points()) total += p.requests;
  EXPECT_EQ(total, 1000u);

  // A ten-hour stream at one request per 100 ms stays within the bound.
  LatencyTimeline day;
  for (uint64_t i = 0; i < 360'000; ++i) day.Record(i * 100 * kMs, kMs, false, true);
  EXPECT_LE(day.points().size(), LatencyTimeline::kMaxPoints);
  EXPECT_GE(day.points().size(), LatencyTimeline::kMaxPoints / 2);
  EXPECT_EQ(day.interval_ns(), 64 * kSecond);
}

TEST(LatencyTimelineTest, MergeAddsPointByPoint) {
  LatencyTimeline a, b;
  a.Record(0, 2 * kMs, false, true);
  a.Record(1500 * kMs, 4 * kMs, true, true);
  b.Record(100 * kMs, 6 * kMs, false, true);
  b.Record(3 * kSecond, 8 * kMs, false, true);
  a.Merge(b);
  ASSERT_EQ(a.points().size(), 4u);
  EXPECT_EQ(a.points()[0].requests, 2u);
  EXPECT_EQ(a.points()[0].corrected.ToDense().max(), 6 * kMs);
  EXPECT_EQ(a.points()[1].errors, 1u);
  EXPECT_EQ(a.points()[2].requests, 0u);
  EXPECT_EQ(a.points()[3].requests, 1u);
}

TEST(LatencyTimelineTest, MergeOfDifferentIntervalsWidensBothToACommonOne) {
  LatencyTimeline fine(kSecond), coarse(3 * kSecond);
  for (uint64_t s = 0; s < 6; ++s) fine.Record(s * kSecond, kMs, false, true);
  coarse.Record(4 * kSecond, 2 * kMs, true, true);
  fine.Merge(coarse);
  EXPECT_EQ(fine.interval_ns(), 3 * kSecond);
  ASSERT_EQ(fine.points().size(), 2u);
  EXPECT_EQ(fine.points()[0].requests, 3u);
  EXPECT_EQ(fine.points()[1].requests, 4u);
  EXPECT_EQ(fine.points()[1].errors, 1u);

  // Merging into an empty timeline takes the other's interval as it is.
  LatencyTimeline empty;
  empty.Merge(coarse);
  EXPECT_EQ(empty.interval_ns(), 3 * kSecond);
  EXPECT_EQ(empty.points().size(), 2u);
}

TEST(LatencyTimelineTest, WidenIgnoresWidthsThatAreNotMultiples) {
  LatencyTimeline t(2 * kSecond);
  t.Record(5 * kSecond, kMs, false, true);
  t.Widen(3 * kSecond);
  EXPECT_EQ(t.interval_ns(), 2 * kSecond);
  t.Widen(kSecond);
  EXPECT_EQ(t.interval_ns(), 2 * kSecond);
  t.Widen(6 * kSecond);
  EXPECT_EQ(t.interval_ns(), 6 * kSecond);
  ASSERT_EQ(t.points().size(), 1u);
  EXPECT_EQ(t.points()[0].requests, 1u);
}

TEST(LatencyTimelineTest, FromPointsRejectsAZeroIntervalAndTooManyPoints) {
  EXPECT_EQ(LatencyTimeline::FromPoints(0, {}).error().message,
            "timeline interval_ns: must be above 0");
  EXPECT_EQ(LatencyTimeline::FromPoints(kSecond, std::vector<TimelinePoint>(601)).error().message,
            "timeline: 601 points, at most 600 allowed");
  auto ok = LatencyTimeline::FromPoints(kSecond, std::vector<TimelinePoint>(3));
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->points().size(), 3u);
}

}  // namespace
}  // namespace tracerig
