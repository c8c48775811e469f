#include "driver/schedule.h"

#include <cmath>
#include <limits>

namespace tracerig {
namespace {

__extension__ typedef unsigned __int128 Uint128;

constexpr uint64_t kNanosPerSecond = 1'000'000'000;
// Integer rates up to this use exact 128-bit arithmetic; beyond it doubles lose integers anyway.
constexpr double kMaxIntegerRate = 0x1.0p53;

uint64_t SaturateToU64(Uint128 v) {
  return v > std::numeric_limits<uint64_t>::max() ? std::numeric_limits<uint64_t>::max()
                                                  : static_cast<uint64_t>(v);
}

uint64_t SaturateToU64(long double v) {
  // 2^64 is exactly representable; anything at or above it saturates.
  if (!(v < 0x1.0p64L)) return std::numeric_limits<uint64_t>::max();
  return v <= 0 ? 0 : static_cast<uint64_t>(v);
}

}  // namespace

ConstantRateSchedule::ConstantRateSchedule(double rate_per_second, uint64_t duration_ns)
    : rate_(rate_per_second), duration_ns_(duration_ns) {
  if (!(rate_ > 0) || !std::isfinite(rate_)) return;
  uint64_t size;
  if (rate_ <= kMaxIntegerRate && rate_ == std::floor(rate_)) {
    integer_rate_ = static_cast<uint64_t>(rate_);
    size = SaturateToU64(Uint128{integer_rate_} * duration_ns_ / kNanosPerSecond);
  } else {
    // A decimal rate such as 0.3 is stored a hair below its value (0.29999999999999998890), which
    // would turn 0.3/s for 10 s into 2 requests; the written rate is what the user meant.
    const long double exact = static_cast<long double>(rate_) * duration_ns_ / 1e9L;
    size = SaturateToU64(std::floor(exact * (1 + 1e-12L)));
  }
  size_ = size > std::numeric_limits<size_t>::max() ? std::numeric_limits<size_t>::max()
                                                    : static_cast<size_t>(size);
}

uint64_t ConstantRateSchedule::IntendedOffset(size_t n) const {
  if (integer_rate_ != 0) {
    // round(n * 1e9 / rate) = floor((2 * n * 1e9 + rate) / (2 * rate)), all exact.
    const Uint128 twice = Uint128{n} * (2 * kNanosPerSecond) + integer_rate_;
    return SaturateToU64(twice / (Uint128{integer_rate_} * 2));
  }
  if (!(rate_ > 0) || !std::isfinite(rate_)) return 0;
  // long double (at least a 64-bit mantissa on our targets) holds n * 1e9 exactly for any offset
  // that fits in 64 bits, so the only rounding is the division's: far below a nanosecond.
  return SaturateToU64(std::round(static_cast<long double>(n) * 1e9L / rate_));
}

}  // namespace tracerig
