// Open-loop arrival schedules: when each root request is meant to start, as an offset in
// nanoseconds from the start of load. The driver sends request n at IntendedOffset(n) whatever
// happened to earlier requests and measures latency from that instant, so a stalled system shows up
// as latency instead of as fewer requests (coordinated omission, as wrk2 avoids it).
#pragma once

#include <cstddef>
#include <cstdint>

namespace tracerig {

// A finite sequence of intended start offsets, non-decreasing in n. Constant rate today; ramps
// and Poisson arrivals implement the same interface.
class Schedule {
 public:
  virtual ~Schedule() = default;
  // How many requests the schedule holds.
  virtual size_t size() const = 0;
  // Nanoseconds from the start of load at which request n (0-based, n < size()) should start.
  virtual uint64_t IntendedOffset(size_t n) const = 0;
};

// `rate_per_second` requests per second, evenly spaced, for `duration_ns`: request n starts at
// n * 1e9 / rate ns (rounded to the nearest nanosecond), computed from n alone so no error
// accumulates over a long run. A rate that is not positive and finite gives an empty schedule.
class ConstantRateSchedule final : public Schedule {
 public:
  ConstantRateSchedule(double rate_per_second, uint64_t duration_ns);

  // floor(rate * duration), exactly for whole-number rates; saturates at SIZE_MAX.
  size_t size() const override { return size_; }
  uint64_t IntendedOffset(size_t n) const override;

  double rate_per_second() const { return rate_; }
  uint64_t duration_ns() const { return duration_ns_; }

 private:
  double rate_;
  uint64_t duration_ns_;
  // The rate as an integer when it is one (the common case): offsets then use exact integer
  // arithmetic. 0 when the rate has a fraction.
  uint64_t integer_rate_ = 0;
  size_t size_ = 0;
};

}  // namespace tracerig
