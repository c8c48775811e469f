// LatencyHistogram: request latencies in nanoseconds, recorded on the driver's hot path, one per
// thread, merged at the end (wrk style). Log-linear buckets as in HdrHistogram: values below
// kLinearLimit (1024 ns) are kept exactly, above that every power-of-two octave is split into 128
// equal buckets, so any value is known to within 1/128 of itself up to one hour. Longer values are
// clamped to one hour and counted separately, so a stall cannot vanish from the totals.
// SparseHistogram keeps the same buckets but only the non-empty ones, and LatencyTimeline keeps one
// per interval of a run (latency over time) in bounded memory.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#include "core/result.h"

namespace tracerig {

// The 1-based nearest-rank position of percentile p (clamped to [0, 100]) among `count` sorted
// values: ceil(p / 100 * count), at least 1. 0 when count is 0.
uint64_t NearestRank(double p, uint64_t count);

// The bucket layout, outside the class so that constant expressions in it can use it.
namespace histogram_layout {
inline constexpr int kLinearBits = 10;  // values below 1024 ns are kept exactly
inline constexpr uint64_t kLinearLimit = uint64_t{1} << kLinearBits;
inline constexpr int kSubBucketBits = 7;  // 128 buckets per octave above that:
inline constexpr uint64_t kSubBuckets = uint64_t{1} << kSubBucketBits;  // width <= value / 128
inline constexpr uint64_t kMaxTrackable = 3'600'000'000'000ull;         // one hour

constexpr size_t BucketIndex(uint64_t nanos) {
  if (nanos < kLinearLimit) return static_cast<size_t>(nanos);
  const int octave = std::bit_width(nanos) - 1;  // >= kLinearBits
  const uint64_t sub = (nanos >> (octave - kSubBucketBits)) - kSubBuckets;
  return static_cast<size_t>(kLinearLimit + (octave - kLinearBits) * kSubBuckets + sub);
}
inline constexpr size_t kOverflowIndex = BucketIndex(kMaxTrackable) + 1;
inline constexpr size_t kBucketCount = kOverflowIndex + 1;
}  // namespace histogram_layout

class LatencyHistogram {
 public:
  // Values below this are recorded exactly (one bucket per nanosecond).
  static constexpr uint64_t kLinearLimit = histogram_layout::kLinearLimit;
  // One hour: larger values are recorded as this value and counted in overflow_count().
  static constexpr uint64_t kMaxTrackable = histogram_layout::kMaxTrackable;

  LatencyHistogram();

  // O(1), no allocation.
  void Record(uint64_t nanos) { RecordN(nanos, 1); }
  void RecordN(uint64_t nanos, uint64_t count) {
    if (count == 0) return;
    size_t index;
    if (nanos > kMaxTrackable) {
      nanos = kMaxTrackable;
      index = kOverflowIndex;
    } else {
      index = histogram_layout::BucketIndex(nanos);
    }
    counts_[index] += count;
    total_ += count;
    sum_ += static_cast<Uint128>(nanos) * count;
    if (nanos < min_) min_ = nanos;
    if (nanos > max_) max_ = nanos;
  }

  // Adds everything `other` recorded, as if it had been recorded here.
  void Merge(const LatencyHistogram& other);

  // The nearest-rank percentile p (in [0, 100]; outside values are clamped) to within 1%: the
  // middle of the bucket holding that rank, kept inside [min(), max()]; the first and last ranks
  // are min() and max() exactly. 0 when empty.
  uint64_t Percentile(double p) const;

  uint64_t count() const { return total_; }
  uint64_t min() const { return total_ == 0 ? 0 : min_; }  // exact (after clamping); 0 when empty
  uint64_t max() const { return max_; }                    // exact (after clamping); 0 when empty
  double mean() const;                                     // exact (after clamping); 0 when empty
  // How many recorded values exceeded kMaxTrackable.
  uint64_t overflow_count() const { return counts_[kOverflowIndex]; }

  // (bucket lower bound, count) for every non-empty bucket, ascending; what reports store. The
  // overflow bucket, if used, comes last with lower bound kMaxTrackable + 1.
  std::vector<std::pair<uint64_t, uint64_t>> NonEmptyBuckets() const;

  // Rebuilds a histogram from NonEmptyBuckets() output (possibly from a report file). Counts come
  // back exactly; exact min/max/sum are not in the buckets, so the rebuilt min is the first
  // bucket's lower bound, max the last bucket's highest value and mean uses bucket middles, and
  // percentiles stay within the same 1%. Fails on a bound that is not a bucket boundary, on
  // bounds that are not strictly ascending, or when the total count would overflow.
  static Result<LatencyHistogram> FromBuckets(
      std::span<const std::pair<uint64_t, uint64_t>> buckets);

  // Puts back the exact min and max a report keeps alongside the buckets (FromBuckets only knows
  // the first bucket's lower bound and the last bucket's highest value), so merged reports and
  // diffs show the values that were recorded. Fails unless `min` lies in the first non-empty
  // bucket, `max` in the last and min <= max; an empty histogram accepts only 0 and 0.
  Status RestoreExactRange(uint64_t min, uint64_t max);

  // Bucket arithmetic, public for tests and for documentation of the layout.
  static size_t BucketIndex(uint64_t nanos) { return histogram_layout::BucketIndex(nanos); }
  static uint64_t BucketLowerBound(size_t index);
  static uint64_t BucketWidth(size_t index);

 private:
  friend class SparseHistogram;  // rebuilds a dense histogram with its exact min, max and sum
  __extension__ typedef unsigned __int128 Uint128;  // sums of up to 2^64 one-hour values

  static constexpr size_t kOverflowIndex = histogram_layout::kOverflowIndex;
  static constexpr size_t kBucketCount = histogram_layout::kBucketCount;

  // The value a rank falling in bucket `index` is reported as (before clamping to [min, max]).
  static uint64_t BucketMiddle(size_t index);

  std::vector<uint64_t> counts_;  // kBucketCount counters, allocated once
  uint64_t total_ = 0;
  Uint128 sum_ = 0;
  uint64_t min_ = UINT64_MAX;
  uint64_t max_ = 0;
};

// The buckets of LatencyHistogram, only the non-empty ones, sorted by bucket: a few hundred bytes
// for the latencies of one interval where a LatencyHistogram always holds ~40 KB of counters.
// Recording is a binary search (and an insertion the first time a bucket is used). Exact count,
// min, max and sum are kept, as LatencyHistogram keeps them.
class SparseHistogram {
 public:
  void Record(uint64_t nanos);
  void Merge(const SparseHistogram& other);

  uint64_t count() const { return total_; }
  // The same figures as a LatencyHistogram holding the same values (percentiles, exact min, max
  // and mean), for rendering; allocates the dense counters.
  LatencyHistogram ToDense() const;
  // From a dense histogram (e.g. one FromBuckets read back from a report).
  static SparseHistogram FromDense(const LatencyHistogram& dense);
  // Non-empty buckets as (index, count), ascending.
  const std::vector<std::pair<uint32_t, uint64_t>>& buckets() const { return buckets_; }

 private:
  __extension__ typedef unsigned __int128 Uint128;

  std::vector<std::pair<uint32_t, uint64_t>> buckets_;
  uint64_t total_ = 0;
  Uint128 sum_ = 0;
  uint64_t min_ = UINT64_MAX;
  uint64_t max_ = 0;
};

// One interval of a LatencyTimeline: the requests whose intended start fell in it.
struct TimelinePoint {
  uint64_t requests = 0;       // completed (answered, or failed in transport)
  uint64_t errors = 0;         // of those, HTTP (non-2xx) and transport errors
  SparseHistogram corrected;   // latency from the intended start (after warm-up only)
};

// Latency over time: per-interval request counts and corrected latency, keyed by the intended
// start of each request (offset from the first intended start), so a stall shows in the interval
// that caused it, not in the one where its victims finally completed. Memory is bounded: at most
// kMaxPoints intervals; a request beyond that doubles the interval and merges neighbouring points
// (so any run keeps 300 to 600 points once it is long enough to need them).
class LatencyTimeline {
 public:
  static constexpr uint64_t kDefaultIntervalNs = 1'000'000'000ull;
  static constexpr size_t kMaxPoints = 600;

  // 0 is taken as kDefaultIntervalNs.
  explicit LatencyTimeline(uint64_t interval_ns = kDefaultIntervalNs);

  // The interval for a run planned to last `duration_ns`: one second, doubled until the run fits
  // in kMaxPoints intervals (10 min -> 1 s, 1 h -> 8 s, 24 h -> 256 s).
  static uint64_t IntervalFor(uint64_t duration_ns);

  // A completed request intended at `intended_offset_ns`. `latency_ns` (corrected) is recorded
  // only when `with_latency` (false for warm-up requests, which count but are not measured).
  void Record(uint64_t intended_offset_ns, uint64_t latency_ns, bool error, bool with_latency);

  // Adds `other` point by point (same offsets from each run's start). Intervals that differ are
  // both widened to their least common multiple first (every interval starts at a multiple of its
  // width, so each point falls into exactly one wider point), then doubled if needed to stay
  // within kMaxPoints.
  void Merge(const LatencyTimeline& other);

  // Widens the interval to `interval_ns`, a multiple of the current one, merging points. Anything
  // else is ignored.
  void Widen(uint64_t interval_ns);

  uint64_t interval_ns() const { return interval_ns_; }
  // Point i covers intended offsets [i * interval_ns, (i + 1) * interval_ns); points after the
  // last recorded request are not kept, points in between may be empty.
  const std::vector<TimelinePoint>& points() const { return points_; }

  // A timeline read back from a report. Fails on a zero interval or more than kMaxPoints points.
  static Result<LatencyTimeline> FromPoints(uint64_t interval_ns,
                                            std::vector<TimelinePoint> points);

 private:
  TimelinePoint& PointAt(uint64_t offset_ns);

  uint64_t interval_ns_;
  std::vector<TimelinePoint> points_;
};

}  // namespace tracerig
