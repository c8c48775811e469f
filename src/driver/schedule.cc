// Arrival schedules (see schedule.h): constant, ramp, Poisson and fixed-count, and the factory
// that picks one for a scenario's [load].
#include "driver/schedule.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <string_view>
#include <utility>

#include "core/rng.h"

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

namespace {

// rate (per second) x offset, at most `size`: the arrivals of a constant rate by `offset_ns`.
long double ConstantArrivals(double rate, uint64_t offset_ns, size_t size) {
  if (!(rate > 0) || !std::isfinite(rate)) return 0;
  return std::min(static_cast<long double>(rate) * static_cast<long double>(offset_ns) / 1e9L,
                  static_cast<long double>(size));
}

}  // namespace

long double ConstantRateSchedule::IntendedArrivals(uint64_t offset_ns) const {
  return ConstantArrivals(rate_, offset_ns, size_);
}

namespace {

// Mixed into the scenario seed for Poisson arrivals ("poisson" in ASCII).
constexpr uint64_t kPoissonStream = 0x706f6973736f6eull;

bool IsValidRate(double rate) { return rate >= 0 && std::isfinite(rate); }

uint64_t SaturatingAdd(uint64_t a, uint64_t b) {
  return a > std::numeric_limits<uint64_t>::max() - b ? std::numeric_limits<uint64_t>::max()
                                                      : a + b;
}

}  // namespace

RampSchedule::RampSchedule(double start_rate, std::vector<Stage> stages) {
  if (!IsValidRate(start_rate)) return;
  for (const Stage& stage : stages) {
    if (!IsValidRate(stage.target_rate)) return;
  }
  uint64_t start_ns = 0;
  long double before = 0;
  long double from = start_rate;
  for (const Stage& stage : stages) {
    const long double to = stage.target_rate;
    const long double area = (from + to) / 2 * static_cast<long double>(stage.duration_ns) / 1e9L;
    // A stage with no area has no arrivals; leaving it out lets the search below skip it.
    if (area > 0) {
      segments_.push_back({start_ns, stage.duration_ns, from, to, before, before + area});
    }
    before += area;
    start_ns = SaturatingAdd(start_ns, stage.duration_ns);
    from = to;
  }
  // As in ConstantRateSchedule, a hair of tolerance keeps decimal rates at the count they mean.
  const long double total = std::floor(before * (1 + 1e-12L));
  size_ = static_cast<size_t>(std::min(total, static_cast<long double>(kMaxLoadRequests)));
}

uint64_t RampSchedule::IntendedOffset(size_t n) const {
  if (segments_.empty()) return 0;
  const long double x = static_cast<long double>(n);
  // The first segment whose integral passes n: the rate there lifts the integral above n.
  auto it = std::upper_bound(segments_.begin(), segments_.end(), x,
                             [](long double v, const Segment& s) { return v < s.end; });
  if (it == segments_.end()) {
    // Only past size() (or within the rounding tolerance of the total): the end of the last stage.
    return SaturatingAdd(segments_.back().start_ns, segments_.back().duration_ns);
  }
  const Segment& s = *it;
  // Within the segment the integral is from * t + slope / 2 * t^2 (t in seconds). Solve it for the
  // requests still to go, as 2x / (from + sqrt(from^2 + 2 slope x)): the same root as the textbook
  // formula, without its cancellation when the slope is small, and exact (x / from) when it is 0.
  const long double to_go = x - s.before;
  const long double seconds = static_cast<long double>(s.duration_ns) / 1e9L;
  const long double slope = (s.to_rate - s.from_rate) / seconds;
  const long double discriminant = std::max(0.0L, s.from_rate * s.from_rate + 2 * slope * to_go);
  const long double denominator = s.from_rate + std::sqrt(discriminant);
  const long double t = denominator > 0 ? 2 * to_go / denominator : 0;
  const long double ns = std::round(t * 1e9L);
  const uint64_t within =
      ns >= static_cast<long double>(s.duration_ns) ? s.duration_ns : static_cast<uint64_t>(ns);
  return SaturatingAdd(s.start_ns, within);
}

long double RampSchedule::IntendedArrivals(uint64_t offset_ns) const {
  // The last segment starting at or before the offset; stages without arrivals add nothing.
  auto it = std::upper_bound(segments_.begin(), segments_.end(), offset_ns,
                             [](uint64_t t, const Segment& s) { return t < s.start_ns; });
  if (it == segments_.begin()) return 0;
  const Segment& s = *--it;
  const long double seconds = static_cast<long double>(s.duration_ns) / 1e9L;
  const long double t =
      static_cast<long double>(std::min(offset_ns - s.start_ns, s.duration_ns)) / 1e9L;
  const long double slope = seconds > 0 ? (s.to_rate - s.from_rate) / seconds : 0;
  return std::min(s.before + s.from_rate * t + slope / 2 * t * t, static_cast<long double>(size_));
}

PoissonSchedule::PoissonSchedule(double rate_per_second, uint64_t duration_ns, uint64_t seed,
                                 size_t max_requests)
    : rate_(rate_per_second), duration_ns_(duration_ns) {
  if (!(rate_per_second > 0) || !std::isfinite(rate_per_second)) return;
  Rng rng(seed);
  const long double mean_gap_ns = 1e9L / rate_per_second;
  const long double end = static_cast<long double>(duration_ns);
  // Room for the expected count plus a margin, so a typical run never reallocates.
  const long double expected = end / mean_gap_ns;
  offsets_.reserve(static_cast<size_t>(
      std::min(expected + 6 * std::sqrt(expected) + 16, static_cast<long double>(max_requests))));
  long double t = 0;
  while (offsets_.size() < max_requests) {
    // 1 - U is in (0, 1], so the gap is finite; log1p keeps precision for small U.
    t += -std::log1p(-rng.NextDouble()) * mean_gap_ns;
    if (!(t < end)) break;
    offsets_.push_back(static_cast<uint64_t>(std::floor(t)));  // floor keeps every offset < end
  }
}

long double PoissonSchedule::IntendedArrivals(uint64_t offset_ns) const {
  return ConstantArrivals(rate_, std::min(offset_ns, duration_ns_),
                          std::numeric_limits<size_t>::max());
}

FixedCountSchedule::FixedCountSchedule(uint64_t count, double rate_per_second)
    : spacing_(rate_per_second, std::numeric_limits<uint64_t>::max()) {
  size_ = count < spacing_.size() ? static_cast<size_t>(count) : spacing_.size();
}

long double FixedCountSchedule::IntendedArrivals(uint64_t offset_ns) const {
  return ConstantArrivals(spacing_.rate_per_second(), offset_ns, size_);
}

double IntendedRate(const Schedule& schedule, uint64_t from_ns, uint64_t to_ns) {
  if (to_ns <= from_ns) return 0;
  const long double arrivals =
      schedule.IntendedArrivals(to_ns) - schedule.IntendedArrivals(from_ns);
  return static_cast<double>(std::max(0.0L, arrivals) * 1e9L /
                             static_cast<long double>(to_ns - from_ns));
}

Result<std::unique_ptr<Schedule>> MakeSchedule(const Load& load, uint64_t seed) {
  const std::string_view model = LoadModelName(load.model);
  if (load.model != LoadModel::kRamp && (!(load.rate > 0) || !std::isfinite(load.rate))) {
    return MakeError(
        fmt::format("load model \"{}\": rate must be a number of requests per "
                    "second > 0, got {}",
                    model, load.rate));
  }
  if (load.model == LoadModel::kRamp) {
    if (load.stages.empty()) return MakeError("load model \"ramp\" needs at least one stage");
    if (!IsValidRate(load.start_rate)) {
      return MakeError(fmt::format("load model \"ramp\": start rate must be a number >= 0, got {}",
                                   load.start_rate));
    }
    for (size_t i = 0; i < load.stages.size(); ++i) {
      if (!IsValidRate(load.stages[i].target_rate)) {
        return MakeError(
            fmt::format("load model \"ramp\": stage {} target must be a number "
                        ">= 0, got {}",
                        i + 1, load.stages[i].target_rate));
      }
    }
  }
  if (load.model == LoadModel::kCount && load.requests == 0) {
    return MakeError("load model \"count\" needs requests > 0");
  }
  const double planned = PlannedRequests(load);
  if (!(planned <= static_cast<double>(kMaxLoadRequests))) {
    return MakeError(fmt::format("load model \"{}\" plans {} requests, more than the limit of {}",
                                 model, FormatRequestCount(planned), kMaxLoadRequests));
  }
  switch (load.model) {
    case LoadModel::kConstant:
      return std::unique_ptr<Schedule>(new ConstantRateSchedule(load.rate, load.duration_ns));
    case LoadModel::kRamp: {
      std::vector<RampSchedule::Stage> stages;
      for (const LoadStage& s : load.stages) stages.push_back({s.duration_ns, s.target_rate});
      return std::unique_ptr<Schedule>(new RampSchedule(load.start_rate, std::move(stages)));
    }
    case LoadModel::kPoisson:
      // A stream of its own, so arrivals do not repeat the draws of anything else seeded alike.
      return std::unique_ptr<Schedule>(
          new PoissonSchedule(load.rate, load.duration_ns, Rng::Mix(seed, kPoissonStream)));
    case LoadModel::kCount:
      return std::unique_ptr<Schedule>(new FixedCountSchedule(load.requests, load.rate));
    case LoadModel::kClosed:
      return MakeError("load model \"closed\" has no schedule: virtual users pace themselves");
  }
  return MakeError(fmt::format("unknown load model {}", static_cast<int>(load.model)));
}

}  // namespace tracerig
