// Open-loop arrival schedules: when each root request is meant to start, as an offset in
// nanoseconds from the start of load. The driver sends request n at IntendedOffset(n) whatever
// happened to earlier requests and measures latency from that instant, so a stalled system shows up
// as latency instead of as fewer requests (coordinated omission, as wrk2 avoids it).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "core/result.h"
#include "topology/scenario.h"

namespace tracerig {

// A finite sequence of intended start offsets, non-decreasing in n. Every load model of the
// scenario format (topology/scenario.h LoadModel) is one implementation; MakeSchedule picks it.
class Schedule {
 public:
  virtual ~Schedule() = default;
  // How many requests the schedule holds.
  virtual size_t size() const = 0;
  // Nanoseconds from the start of load at which request n (0-based, n < size()) should start.
  virtual uint64_t IntendedOffset(size_t n) const = 0;
  // How many requests the schedule means to have started by `offset_ns`, as a continuous amount:
  // the integral of its intended rate since the start of load, at most size(). Unlike a count of
  // offsets, it does not jump by one at each arrival (the request at 0 is not a burst).
  virtual long double IntendedArrivals(uint64_t offset_ns) const = 0;
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
  long double IntendedArrivals(uint64_t offset_ns) const override;

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

// A rate that changes linearly within each stage. Stage k runs from the end of stage k-1 for
// `duration_ns`, its rate moving from the previous stage's target (the first stage from
// `start_rate`) to its own. Request n starts at the last instant at which the integral of the rate
// since the start is still <= n: the first request at 0 when the rate there is positive, else where
// the rate starts to rise; a stage whose rate is 0 at both ends has no arrivals. The quadratic is
// solved per stage from n and the stage's exact start, so no error accumulates across requests.
// size() is floor(total integral), as for ConstantRateSchedule, clamped at kMaxLoadRequests. A
// negative or non-finite rate gives an empty schedule (MakeSchedule reports both as errors).
class RampSchedule final : public Schedule {
 public:
  struct Stage {
    uint64_t duration_ns = 0;
    double target_rate = 0;
  };
  explicit RampSchedule(double start_rate, std::vector<Stage> stages);

  size_t size() const override { return size_; }
  uint64_t IntendedOffset(size_t n) const override;
  long double IntendedArrivals(uint64_t offset_ns) const override;

 private:
  // A stage prepared for solving: where it starts, in time and in requests.
  struct Segment {
    uint64_t start_ns;
    uint64_t duration_ns;
    long double from_rate;  // per second, at start_ns
    long double to_rate;    // per second, at start_ns + duration_ns
    long double before;     // integral of the rate up to start_ns
    long double end;        // integral of the rate up to the segment's end
  };
  std::vector<Segment> segments_;  // stages with arrivals only
  size_t size_ = 0;
};

// Poisson arrivals: independent exponential gaps with mean 1 / `rate_per_second`, starting from 0,
// for `duration_ns` (every offset < duration_ns). Drawn from Rng(seed) in the constructor, so the
// same arguments give the same offsets; 8 bytes per request. At most kMaxLoadRequests offsets are
// kept: a run that would draw more stops there, silently, since the parser already refuses a rate x
// duration above that limit and only chance can exceed it. A rate that is not positive and finite
// gives an empty schedule.
class PoissonSchedule final : public Schedule {
 public:
  // `max_requests` is the clamp; tests lower it to exercise it cheaply.
  PoissonSchedule(double rate_per_second, uint64_t duration_ns, uint64_t seed,
                  size_t max_requests = kMaxLoadRequests);

  size_t size() const override { return offsets_.size(); }
  uint64_t IntendedOffset(size_t n) const override { return offsets_[n]; }
  // The mean rate's integral: the arrivals are random, the rate asked for is not.
  long double IntendedArrivals(uint64_t offset_ns) const override;

 private:
  double rate_ = 0;
  uint64_t duration_ns_ = 0;
  std::vector<uint64_t> offsets_;
};

// Exactly `count` requests at `rate_per_second`, evenly spaced as in ConstantRateSchedule (request
// n at round(n * 1e9 / rate)); fewer only if later offsets would not fit in 64 bits. A rate that is
// not positive and finite gives an empty schedule.
class FixedCountSchedule final : public Schedule {
 public:
  FixedCountSchedule(uint64_t count, double rate_per_second);

  size_t size() const override { return size_; }
  uint64_t IntendedOffset(size_t n) const override { return spacing_.IntendedOffset(n); }
  long double IntendedArrivals(uint64_t offset_ns) const override;

 private:
  ConstantRateSchedule spacing_;
  size_t size_ = 0;
};

// The rate the schedule intends over (from_ns, to_ns], in requests per second (0 for an empty
// interval): the progress line's target. The growth of IntendedArrivals over the interval.
double IntendedRate(const Schedule& schedule, uint64_t from_ns, uint64_t to_ns);

// The schedule for a scenario's [load] (after command-line overrides). `seed` is the scenario seed;
// Poisson arrivals draw from a stream derived from it, separate from the other uses of the seed.
// Errors name the bad value: a rate that is not positive and finite, a ramp without stages, a load
// planning more than kMaxLoadRequests requests. Warm-up does not change the schedule.
Result<std::unique_ptr<Schedule>> MakeSchedule(const Load& load, uint64_t seed);

}  // namespace tracerig
