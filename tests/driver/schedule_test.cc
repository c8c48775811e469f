// ConstantRateSchedule: exact request counts and intended offsets, including durations that do not
// divide evenly and runs long enough that accumulated floating-point error would show.
#include "driver/schedule.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

namespace tracerig {
namespace {

constexpr uint64_t kMs = 1'000'000;
constexpr uint64_t kSecond = 1'000'000'000;

TEST(ConstantRateScheduleTest, SizesAndOffsets) {
  struct Row {
    std::string name;
    double rate;
    uint64_t duration_ns;
    size_t size;
    // (n, intended offset) pairs; the last pair is always the last request.
    std::vector<std::pair<size_t, uint64_t>> offsets;
  };
  const std::vector<Row> rows = {
      {"1_per_s_2.5s", 1, 2'500 * kMs, 2, {{0, 0}, {1, kSecond}}},
      {"1_per_s_exact_3s", 1, 3 * kSecond, 3, {{0, 0}, {2, 2 * kSecond}}},
      {"3_per_s_1s", 3, kSecond, 3, {{0, 0}, {1, 333'333'333}, {2, 666'666'667}}},
      {"3_per_s_1.5s", 3, 1'500 * kMs, 4, {{1, 333'333'333}, {3, kSecond}}},
      {"3_per_s_10h",
       3,
       36'000 * kSecond,
       108'000,
       {{100'000, 33'333'333'333'333}, {107'999, 35'999'666'666'667}}},
      {"200_per_s_1.234s", 200, 1'234 * kMs, 246, {{1, 5 * kMs}, {245, 1'225 * kMs}}},
      {"10000_per_s_0.50005s", 10'000, 500'050'000, 5'000, {{1, 100'000}, {4'999, 499'900'000}}},
      {"10000_per_s_999999ns", 10'000, 999'999, 9, {{8, 800'000}}},
      {"fraction_2.5_per_s_1s", 2.5, kSecond, 2, {{1, 400'000'000}}},
      // 0.3 is stored a hair low; 3 requests are still what "0.3 per second for 10 s" means.
      {"fraction_0.3_per_s_10s", 0.3, 10 * kSecond, 3, {{1, 3'333'333'333}, {2, 6'666'666'667}}},
      {"zero_duration", 200, 0, 0, {}},
      {"shorter_than_one_interval", 3, 333 * kMs, 0, {}},
  };
  for (const auto& r : rows) {
    const ConstantRateSchedule schedule(r.rate, r.duration_ns);
    const Schedule& s = schedule;  // used through the interface, as the driver does
    EXPECT_EQ(s.size(), r.size) << r.name;
    for (const auto& [n, offset] : r.offsets) {
      EXPECT_EQ(s.IntendedOffset(n), offset) << r.name << " n=" << n;
    }
    if (!r.offsets.empty()) {
      EXPECT_EQ(r.offsets.back().first + 1, r.size) << r.name;
    }
  }
}

TEST(ConstantRateScheduleTest, RatesThatAreNotPositiveAndFiniteGiveNoRequests) {
  for (double rate : {0.0, -5.0, std::nan(""), std::numeric_limits<double>::infinity()}) {
    const ConstantRateSchedule s(rate, 10 * kSecond);
    EXPECT_EQ(s.size(), 0u) << rate;
    EXPECT_EQ(s.IntendedOffset(3), 0u) << rate;
  }
}

TEST(ConstantRateScheduleTest, OffsetsAreExactFarIntoALongRun) {
  // Summing a 333333333.33 ns period would drift; the offset is computed from n alone.
  const ConstantRateSchedule s(3, std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(s.IntendedOffset(3'000'000'000), 1'000'000'000'000'000'000u);
  EXPECT_EQ(s.IntendedOffset(3'000'000'001), 1'000'000'000'333'333'333u);
  EXPECT_EQ(s.IntendedOffset(3'000'000'002), 1'000'000'000'666'666'667u);
  // Offsets that do not fit in 64 bits saturate rather than wrap.
  EXPECT_EQ(s.IntendedOffset(std::numeric_limits<size_t>::max()),
            std::numeric_limits<uint64_t>::max());
}

TEST(ConstantRateScheduleTest, OffsetsIncreaseAndStayWithinTheDuration) {
  for (double rate : {1.0, 3.0, 7.5, 200.0, 9'999.0}) {
    const uint64_t duration = 2 * kSecond + 123'456;
    const ConstantRateSchedule s(rate, duration);
    ASSERT_GT(s.size(), 0u);
    EXPECT_EQ(s.size(), static_cast<size_t>(std::floor(rate * 2.000123456))) << rate;
    for (size_t n = 1; n < s.size(); ++n) {
      ASSERT_LT(s.IntendedOffset(n - 1), s.IntendedOffset(n)) << rate << " n=" << n;
    }
    EXPECT_LT(s.IntendedOffset(s.size() - 1), duration) << rate;
  }
}

TEST(ConstantRateScheduleTest, HugeRateSaturatesInsteadOfOverflowing) {
  const ConstantRateSchedule s(1e30, 10 * kSecond);
  EXPECT_EQ(s.size(), std::numeric_limits<size_t>::max());
  EXPECT_EQ(s.IntendedOffset(0), 0u);
}

}  // namespace
}  // namespace tracerig
