#include "driver/histogram.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace tracerig {

using histogram_layout::kLinearBits;
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

}  // namespace tracerig
