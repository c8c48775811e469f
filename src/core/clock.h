// Time as an injectable dependency: real clocks for running, a fake clock for tests of timing logic.
#pragma once

#include <atomic>
#include <cstdint>

namespace tracerig {

class Clock {
 public:
  virtual ~Clock() = default;
  // Wall-clock time in nanoseconds since the Unix epoch (span timestamps).
  virtual uint64_t NowUnixNano() const = 0;
  // Monotonic time in nanoseconds from an arbitrary origin (scheduling, latency).
  virtual uint64_t NowMonotonicNano() const = 0;
};

class SystemClock final : public Clock {
 public:
  uint64_t NowUnixNano() const override;
  uint64_t NowMonotonicNano() const override;
  static const SystemClock& Instance();
};

class FakeClock final : public Clock {
 public:
  explicit FakeClock(uint64_t unix_nano = 1'700'000'000'000'000'000ull) : unix_(unix_nano) {}
  uint64_t NowUnixNano() const override { return unix_.load(); }
  uint64_t NowMonotonicNano() const override { return mono_.load(); }
  void Advance(uint64_t nanos) {
    unix_ += nanos;
    mono_ += nanos;
  }

 private:
  std::atomic<uint64_t> unix_;
  std::atomic<uint64_t> mono_{0};
};

}  // namespace tracerig
