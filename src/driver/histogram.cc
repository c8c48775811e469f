#include "driver/histogram.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numeric>

namespace tracerig {

using histogram_layout::kLinearBits;
using histogram_layout::kMaxTrackable;
using histogram_layout::kOverflowIndex;
using histogram_layout::kSubBucketBits;
using histogram_layout::kSubBuckets;

uint64_t NearestRank(double p, uint64_t count) {
  if (count == 0) return 0;
  if (!(p > 0)) return 1;  // also NaN
  if (p >= 100) return count;
  // p / 100 * count can land a hair above an integer (99.9% of 1000 = 999.0000000000001);
  // backing off a few ulps keeps exact products exact without moving any genuine fraction.
  const double exact = p / 100.0 * static_cast<double>(count);
  const double rank = std::ceil(exact * (1 - 4 * 0x1.0p-53));
  return std::clamp(static_cast<uint64_t>(rank), uint64_t{1}, count);
}

LatencyHistogram::LatencyHistogram() : counts_(kBucketCount, 0) {}

uint64_t LatencyHistogram::BucketLowerBound(size_t index) {
  if (index >= kOverflowIndex) return kMaxTrackable + 1;
  if (index < kLinearLimit) return index;
  const size_t j = index - kLinearLimit;
  const int octave = kLinearBits + static_cast<int>(j / kSubBuckets);
  return (kSubBuckets + j % kSubBuckets) << (octave - kSubBucketBits);
}

uint64_t LatencyHistogram::BucketWidth(size_t index) {
  if (index < kLinearLimit || index >= kOverflowIndex) return 1;
  const int octave = kLinearBits + static_cast<int>((index - kLinearLimit) / kSubBuckets);
  return uint64_t{1} << (octave - kSubBucketBits);
}

uint64_t LatencyHistogram::BucketMiddle(size_t index) {
  if (index >= kOverflowIndex) return kMaxTrackable;
  return std::min(BucketLowerBound(index) + BucketWidth(index) / 2, kMaxTrackable);
}

void LatencyHistogram::Merge(const LatencyHistogram& other) {
  for (size_t i = 0; i < kBucketCount; ++i) counts_[i] += other.counts_[i];
  total_ += other.total_;
  sum_ += other.sum_;
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
}

uint64_t LatencyHistogram::Percentile(double p) const {
  if (total_ == 0) return 0;
  const uint64_t rank = NearestRank(p, total_);
  // The first and last ranks are known exactly.
  if (rank == 1) return min_;
  if (rank == total_) return max_;
  uint64_t seen = 0;
  for (size_t i = 0; i < kBucketCount; ++i) {
    seen += counts_[i];
    if (seen >= rank) return std::clamp(BucketMiddle(i), min_, max_);
  }
  return max_;  // unreachable while total_ equals the sum of counts_
}

double LatencyHistogram::mean() const {
  if (total_ == 0) return 0;
  return static_cast<double>(sum_) / static_cast<double>(total_);
}

std::vector<std::pair<uint64_t, uint64_t>> LatencyHistogram::NonEmptyBuckets() const {
  std::vector<std::pair<uint64_t, uint64_t>> buckets;
  for (size_t i = 0; i < kBucketCount; ++i) {
    if (counts_[i] != 0) buckets.emplace_back(BucketLowerBound(i), counts_[i]);
  }
  return buckets;
}

Result<LatencyHistogram> LatencyHistogram::FromBuckets(
    std::span<const std::pair<uint64_t, uint64_t>> buckets) {
  LatencyHistogram h;
  size_t next_index = 0;  // bounds must be strictly ascending
  for (size_t n = 0; n < buckets.size(); ++n) {
    const auto [lower, count] = buckets[n];
    const size_t index = lower > kMaxTrackable ? kOverflowIndex : BucketIndex(lower);
    if (BucketLowerBound(index) != lower) {
      return MakeError(
          fmt::format("histogram bucket {}: {} is not a bucket lower bound", n, lower));
    }
    if (index < next_index) {
      return MakeError(fmt::format(
          "histogram bucket {}: lower bound {} is not above the previous bucket's", n, lower));
    }
    next_index = index + 1;
    if (count == 0) continue;
    if (h.total_ + count < h.total_) {
      return MakeError(fmt::format("histogram bucket {}: total count overflows 64 bits", n));
    }
    h.counts_[index] = count;
    h.total_ += count;
    const uint64_t middle = BucketMiddle(index);
    h.sum_ += static_cast<Uint128>(middle) * count;
    h.min_ = std::min(h.min_, std::min(lower, kMaxTrackable));
    h.max_ = std::max(h.max_, std::min(lower + BucketWidth(index) - 1, kMaxTrackable));
  }
  return h;
}

Status LatencyHistogram::RestoreExactRange(uint64_t min, uint64_t max) {
  if (total_ == 0) {
    if (min == 0 && max == 0) return Ok{};
    return MakeError(fmt::format("min {} and max {} given for an empty histogram", min, max));
  }
  // min_ and max_ are still the bounds FromBuckets (or Record) left: the first bucket's lowest
  // and the last bucket's highest value.
  size_t first = 0;
  while (counts_[first] == 0) ++first;
  size_t last = kBucketCount - 1;
  while (counts_[last] == 0) --last;
  const uint64_t first_high = std::min(BucketLowerBound(first) + BucketWidth(first) - 1,
                                       kMaxTrackable);
  const uint64_t last_low = std::min(BucketLowerBound(last), kMaxTrackable);
  if (min < std::min(BucketLowerBound(first), kMaxTrackable) || min > first_high) {
    return MakeError(fmt::format("min {} is not in the first bucket [{}, {}]", min,
                                 std::min(BucketLowerBound(first), kMaxTrackable), first_high));
  }
  const uint64_t last_high = std::min(BucketLowerBound(last) + BucketWidth(last) - 1,
                                      kMaxTrackable);
  if (max < last_low || max > last_high) {
    return MakeError(
        fmt::format("max {} is not in the last bucket [{}, {}]", max, last_low, last_high));
  }
  if (min > max) return MakeError(fmt::format("min {} is above max {}", min, max));
  min_ = min;
  max_ = max;
  return Ok{};
}

// ---- SparseHistogram ----------------------------------------------------------------------------

void SparseHistogram::Record(uint64_t nanos) {
  size_t index;
  if (nanos > kMaxTrackable) {
    nanos = kMaxTrackable;
    index = kOverflowIndex;
  } else {
    index = histogram_layout::BucketIndex(nanos);
  }
  const auto key = static_cast<uint32_t>(index);
  auto it = std::lower_bound(buckets_.begin(), buckets_.end(), key,
                             [](const auto& bucket, uint32_t k) { return bucket.first < k; });
  if (it != buckets_.end() && it->first == key) {
    ++it->second;
  } else {
    buckets_.insert(it, {key, 1});
  }
  ++total_;
  sum_ += nanos;
  min_ = std::min(min_, nanos);
  max_ = std::max(max_, nanos);
}

void SparseHistogram::Merge(const SparseHistogram& other) {
  if (other.total_ == 0) return;
  std::vector<std::pair<uint32_t, uint64_t>> merged;
  merged.reserve(buckets_.size() + other.buckets_.size());
  auto a = buckets_.begin();
  auto b = other.buckets_.begin();
  while (a != buckets_.end() || b != other.buckets_.end()) {
    if (b == other.buckets_.end() || (a != buckets_.end() && a->first < b->first)) {
      merged.push_back(*a++);
    } else if (a == buckets_.end() || b->first < a->first) {
      merged.push_back(*b++);
    } else {
      merged.emplace_back(a->first, a->second + b->second);
      ++a;
      ++b;
    }
  }
  buckets_ = std::move(merged);
  total_ += other.total_;
  sum_ += other.sum_;
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
}

LatencyHistogram SparseHistogram::ToDense() const {
  LatencyHistogram dense;
  for (const auto& [index, count] : buckets_) dense.counts_[index] = count;
  dense.total_ = total_;
  dense.sum_ = sum_;
  dense.min_ = min_;
  dense.max_ = max_;
  return dense;
}

SparseHistogram SparseHistogram::FromDense(const LatencyHistogram& dense) {
  SparseHistogram sparse;
  for (size_t i = 0; i < dense.counts_.size(); ++i) {
    if (dense.counts_[i] != 0) {
      sparse.buckets_.emplace_back(static_cast<uint32_t>(i), dense.counts_[i]);
    }
  }
  sparse.total_ = dense.total_;
  sparse.sum_ = dense.sum_;
  sparse.min_ = dense.min_;
  sparse.max_ = dense.max_;
  return sparse;
}

// ---- LatencyTimeline ----------------------------------------------------------------------------

LatencyTimeline::LatencyTimeline(uint64_t interval_ns)
    : interval_ns_(interval_ns == 0 ? kDefaultIntervalNs : interval_ns) {}

uint64_t LatencyTimeline::IntervalFor(uint64_t duration_ns) {
  uint64_t interval = kDefaultIntervalNs;
  while (duration_ns / interval >= kMaxPoints) interval *= 2;
  return interval;
}

TimelinePoint& LatencyTimeline::PointAt(uint64_t offset_ns) {
  while (offset_ns / interval_ns_ >= kMaxPoints) Widen(interval_ns_ * 2);
  const auto index = static_cast<size_t>(offset_ns / interval_ns_);
  if (index >= points_.size()) points_.resize(index + 1);
  return points_[index];
}

void LatencyTimeline::Record(uint64_t intended_offset_ns, uint64_t latency_ns, bool error,
                             bool with_latency) {
  TimelinePoint& point = PointAt(intended_offset_ns);
  ++point.requests;
  if (error) ++point.errors;
  if (with_latency) point.corrected.Record(latency_ns);
}

void LatencyTimeline::Widen(uint64_t interval_ns) {
  if (interval_ns <= interval_ns_ || interval_ns % interval_ns_ != 0) return;
  const uint64_t factor = interval_ns / interval_ns_;
  std::vector<TimelinePoint> wider(static_cast<size_t>((points_.size() + factor - 1) / factor));
  for (size_t i = 0; i < points_.size(); ++i) {
    TimelinePoint& into = wider[static_cast<size_t>(i / factor)];
    into.requests += points_[i].requests;
    into.errors += points_[i].errors;
    into.corrected.Merge(points_[i].corrected);
  }
  points_ = std::move(wider);
  interval_ns_ = interval_ns;
}

void LatencyTimeline::Merge(const LatencyTimeline& other) {
  if (other.points_.empty()) return;
  // An empty timeline has nothing to say about widths: take the other's.
  if (points_.empty()) interval_ns_ = other.interval_ns_;
  const uint64_t common = std::lcm(interval_ns_, other.interval_ns_);
  Widen(common);
  LatencyTimeline copy = other;
  copy.Widen(common);
  if (copy.points_.size() > points_.size()) points_.resize(copy.points_.size());
  for (size_t i = 0; i < copy.points_.size(); ++i) {
    points_[i].requests += copy.points_[i].requests;
    points_[i].errors += copy.points_[i].errors;
    points_[i].corrected.Merge(copy.points_[i].corrected);
  }
  while (points_.size() > kMaxPoints) Widen(interval_ns_ * 2);
}

Result<LatencyTimeline> LatencyTimeline::FromPoints(uint64_t interval_ns,
                                                    std::vector<TimelinePoint> points) {
  if (interval_ns == 0) return MakeError("timeline interval_ns: must be above 0");
  if (points.size() > kMaxPoints) {
    return MakeError(fmt::format("timeline: {} points, at most {} allowed", points.size(),
                                 kMaxPoints));
  }
  LatencyTimeline timeline(interval_ns);
  timeline.points_ = std::move(points);
  return timeline;
}

}  // namespace tracerig
