// Arrival schedules: exact request counts and intended offsets for every load model (constant,
// ramp, Poisson, fixed count), including durations that do not divide evenly, stage transitions,
// runs long enough that accumulated floating-point error would show, and MakeSchedule's errors.
#include "driver/schedule.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
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

std::vector<uint64_t> Offsets(const Schedule& s) {
  std::vector<uint64_t> out;
  for (size_t n = 0; n < s.size(); ++n) out.push_back(s.IntendedOffset(n));
  return out;
}

void ExpectNonDecreasingAndBelow(const Schedule& s, uint64_t end, const std::string& label) {
  for (size_t n = 1; n < s.size(); ++n) {
    ASSERT_LE(s.IntendedOffset(n - 1), s.IntendedOffset(n)) << label << " n=" << n;
  }
  if (s.size() > 0) {
    EXPECT_LT(s.IntendedOffset(s.size() - 1), end) << label;
  }
}

TEST(RampScheduleTest, RampUpThenHold) {
  // 0 -> 200/s over 10 s: rate 20t, integral 10t^2, so request n starts at sqrt(n / 10) s. Then
  // 200/s for 5 s: request 1000 + k at 10 s + k * 5 ms. Total 1000 + 1000 requests.
  const RampSchedule s(0, {{10 * kSecond, 200}, {5 * kSecond, 200}});
  ASSERT_EQ(s.size(), 2'000u);
  const std::vector<std::pair<size_t, uint64_t>> expected = {
      {0, 0},                 // integral 0 at t = 0
      {1, 316'227'766},       // sqrt(0.1) = 0.316227766017 s
      {2, 447'213'595},       // sqrt(0.2) = 0.447213595500 s
      {10, kSecond},          // sqrt(1)
      {40, 2 * kSecond},      // sqrt(4)
      {999, 9'994'998'749},   // sqrt(99.9) = 9.994998749375 s
      {1'000, 10 * kSecond},  // the stage transition: the first request of the hold
      {1'001, 10'005 * kMs},  // 10 s + 1/200 s
      {1'999, 14'995 * kMs},  // 10 s + 999/200 s, the last
  };
  for (const auto& [n, offset] : expected) EXPECT_EQ(s.IntendedOffset(n), offset) << "n=" << n;
  ExpectNonDecreasingAndBelow(s, 15 * kSecond, "ramp up then hold");
}

TEST(RampScheduleTest, RampDown) {
  // 100 -> 0/s over 10 s: rate 100 - 10t, integral 100t - 5t^2 (500 in all), so request n starts
  // at t = 10 - sqrt(100 - 2n).
  const RampSchedule s(100, {{10 * kSecond, 0}});
  ASSERT_EQ(s.size(), 500u);
  EXPECT_EQ(s.IntendedOffset(0), 0u);
  EXPECT_EQ(s.IntendedOffset(100), 1'055'728'090u);  // 10 - sqrt(80) = 1.05572809000 s
  EXPECT_EQ(s.IntendedOffset(375), 5 * kSecond);     // 10 - sqrt(25)
  EXPECT_EQ(s.IntendedOffset(480), 8 * kSecond);     // 10 - sqrt(4)
  EXPECT_EQ(s.IntendedOffset(499), 9'552'786'405u);  // 10 - sqrt(0.2) = 9.55278640450 s
  ExpectNonDecreasingAndBelow(s, 10 * kSecond, "ramp down");
}

TEST(RampScheduleTest, StagesAtZeroHaveNoArrivalsAndTransitionsAreExact) {
  // start 0:  [0 s, 2 s)  0 -> 0     no arrivals
  //           [2 s, 4 s)  0 -> 10    rate 5t, integral 2.5t^2: requests 0..9 (10 in all)
  //           [4 s, 7 s)  10 -> 10   requests 10..39, every 100 ms
  //           [7 s, 9 s)  10 -> 0    integral 10t - 2.5t^2: requests 40..49
  //           [9 s, 11 s) 0 -> 0     no arrivals
  const RampSchedule s(
      0,
      {{2 * kSecond, 0}, {2 * kSecond, 10}, {3 * kSecond, 10}, {2 * kSecond, 0}, {2 * kSecond, 0}});
  ASSERT_EQ(s.size(), 50u);
  const std::vector<std::pair<size_t, uint64_t>> expected = {
      {0, 2 * kSecond},     // not at 0: nothing arrives while the rate is 0
      {1, 2'632'455'532},   // 2 + sqrt(1 / 2.5) = 2.632455532034 s
      {9, 3'897'366'596},   // 2 + sqrt(9 / 2.5) = 3.897366596101 s
      {10, 4 * kSecond},    // the integral reaches 10 exactly at the transition
      {11, 4'100 * kMs},    // 4 s + 1/10 s
      {39, 6'900 * kMs},    // 4 s + 29/10 s
      {40, 7 * kSecond},    // the next transition
      {46, 7'735'088'936},  // 7 + 2 - sqrt(4 - 6 / 2.5) = 7.735088935933 s
      {49, 8'367'544'468},  // 7 + 2 - sqrt(4 - 9 / 2.5) = 8.367544467966 s
  };
  for (const auto& [n, offset] : expected) EXPECT_EQ(s.IntendedOffset(n), offset) << "n=" << n;
  ExpectNonDecreasingAndBelow(s, 9 * kSecond, "zero stages");
}

TEST(RampScheduleTest, NoErrorAccumulatesOverLongRunsOrManyStages) {
  // A flat ramp is a constant rate: the same offsets as ConstantRateSchedule, 10 h in.
  const RampSchedule flat(3, {{36'000 * kSecond, 3}});
  const ConstantRateSchedule constant(3, 36'000 * kSecond);
  ASSERT_EQ(flat.size(), constant.size());
  for (size_t n : {size_t{1}, size_t{100'000}, size_t{107'999}}) {
    EXPECT_EQ(flat.IntendedOffset(n), constant.IntendedOffset(n)) << "n=" << n;
  }
  // 10,000 one-second stages at 1/s: request n at exactly n s, across every boundary.
  const std::vector<RampSchedule::Stage> stages(10'000, RampSchedule::Stage{kSecond, 1});
  const RampSchedule many(1, stages);
  ASSERT_EQ(many.size(), 10'000u);
  for (size_t n = 0; n < many.size(); ++n) ASSERT_EQ(many.IntendedOffset(n), n * kSecond);
}

TEST(RampScheduleTest, EmptyOrInvalidRampsHaveNoRequests) {
  EXPECT_EQ(RampSchedule(0, {}).size(), 0u);
  EXPECT_EQ(RampSchedule(0, {{10 * kSecond, 0}}).size(), 0u);
  EXPECT_EQ(RampSchedule(-1, {{10 * kSecond, 5}}).size(), 0u);
  EXPECT_EQ(RampSchedule(0, {{10 * kSecond, std::nan("")}}).size(), 0u);
  EXPECT_EQ(RampSchedule(0, {{kSecond, 1}, {kSecond, -1}}).size(), 0u);
  // Shorter than one request's worth: 0 -> 1/s over 1 s integrates to 0.5.
  EXPECT_EQ(RampSchedule(0, {{kSecond, 1}}).size(), 0u);
}

TEST(RampScheduleTest, HugeRampsClampAtTheRequestLimit) {
  const RampSchedule s(1e9, {{kSecond, 1e9}});
  EXPECT_EQ(s.size(), kMaxLoadRequests);
  EXPECT_EQ(s.IntendedOffset(kMaxLoadRequests - 1), 49'999'999u);  // 1 ns apart
}

TEST(PoissonScheduleTest, SeededOffsetsAreExact) {
  // Rng(42) draws U = 0.0838629710599, 0.378980250663, 0.680043411028, 0.924692945325; each gap
  // is -ln(1 - U) * 10 ms at 100/s: 0.875893 ms, 4.763924 ms, 11.395700 ms, 25.861815 ms. Offsets
  // are the running sums, rounded down to the nanosecond.
  const PoissonSchedule s(100, kSecond, 42);
  ASSERT_GE(s.size(), 4u);
  EXPECT_EQ(s.IntendedOffset(0), 875'893u);
  EXPECT_EQ(s.IntendedOffset(1), 5'639'817u);
  EXPECT_EQ(s.IntendedOffset(2), 17'035'516u);
  EXPECT_EQ(s.IntendedOffset(3), 42'897'331u);
  EXPECT_EQ(s.size(), 94u);  // the 95th arrival falls after 1 s
  ExpectNonDecreasingAndBelow(s, kSecond, "poisson");
}

TEST(PoissonScheduleTest, SameSeedSameScheduleOtherSeedAnother) {
  const PoissonSchedule a(500, 10 * kSecond, 7);
  const PoissonSchedule b(500, 10 * kSecond, 7);
  const PoissonSchedule c(500, 10 * kSecond, 8);
  EXPECT_EQ(Offsets(a), Offsets(b));
  EXPECT_NE(Offsets(a), Offsets(c));
}

TEST(PoissonScheduleTest, MeanRateWithinThreeSigmaOverALongRun) {
  // 1000/s for 1000 s: the count is Poisson with mean 1e6 and standard deviation 1000.
  const PoissonSchedule s(1'000, 1'000 * kSecond, 20'261'125);
  EXPECT_NEAR(static_cast<double>(s.size()), 1e6, 3'000);
  ExpectNonDecreasingAndBelow(s, 1'000 * kSecond, "long poisson");
}

TEST(PoissonScheduleTest, ClampsAtMaxRequestsAndRejectsBadRates) {
  const PoissonSchedule clamped(1'000, 10 * kSecond, 1, 10);
  EXPECT_EQ(clamped.size(), 10u);
  const PoissonSchedule unclamped(1'000, 10 * kSecond, 1);
  ASSERT_GT(unclamped.size(), 10u);
  for (size_t n = 0; n < 10; ++n) EXPECT_EQ(clamped.IntendedOffset(n), unclamped.IntendedOffset(n));
  for (double rate : {0.0, -5.0, std::nan(""), std::numeric_limits<double>::infinity()}) {
    EXPECT_EQ(PoissonSchedule(rate, 10 * kSecond, 1).size(), 0u) << rate;
  }
}

TEST(FixedCountScheduleTest, CountRequestsAtTheRate) {
  // 5 requests at 2/s: every 500 ms from 0, however long that takes.
  const FixedCountSchedule s(5, 2);
  EXPECT_EQ(Offsets(s), (std::vector<uint64_t>{0, 500 * kMs, kSecond, 1'500 * kMs, 2 * kSecond}));
  // 3/s: n / 3 s rounded to the nanosecond, as ConstantRateSchedule spaces them.
  EXPECT_EQ(Offsets(FixedCountSchedule(3, 3)),
            (std::vector<uint64_t>{0, 333'333'333, 666'666'667}));
  EXPECT_EQ(FixedCountSchedule(0, 100).size(), 0u);
  EXPECT_EQ(FixedCountSchedule(5, 0).size(), 0u);
  // Offsets past 2^64 ns do not exist: at one request per 1e9 s only 18 fit.
  EXPECT_EQ(FixedCountSchedule(1'000, 1e-9).size(), 18u);
}

Load MakeLoad(LoadModel model) {
  Load load;
  load.model = model;
  load.rate = 4;
  load.duration_ns = kSecond;
  return load;
}

TEST(MakeScheduleTest, EachModelGetsItsSchedule) {
  auto constant = MakeSchedule(MakeLoad(LoadModel::kConstant), 1);
  ASSERT_TRUE(constant.ok()) << constant.error().message;
  EXPECT_EQ(Offsets(**constant), (std::vector<uint64_t>{0, 250 * kMs, 500 * kMs, 750 * kMs}));

  Load ramp = MakeLoad(LoadModel::kRamp);
  ramp.start_rate = 0;
  ramp.stages = {{10 * kSecond, 200}, {5 * kSecond, 200}};
  auto r = MakeSchedule(ramp, 1);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ((*r)->size(), 2'000u);
  EXPECT_EQ((*r)->IntendedOffset(1'001), 10'005 * kMs);

  Load count = MakeLoad(LoadModel::kCount);
  count.requests = 3;
  auto c = MakeSchedule(count, 1);
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(Offsets(**c), (std::vector<uint64_t>{0, 250 * kMs, 500 * kMs}));

  Load poisson = MakeLoad(LoadModel::kPoisson);
  poisson.rate = 1'000;
  auto p1 = MakeSchedule(poisson, 42);
  auto p2 = MakeSchedule(poisson, 42);
  auto p3 = MakeSchedule(poisson, 43);
  ASSERT_TRUE(p1.ok() && p2.ok() && p3.ok());
  EXPECT_EQ(Offsets(**p1), Offsets(**p2));
  EXPECT_NE(Offsets(**p1), Offsets(**p3));
  EXPECT_NEAR(static_cast<double>((*p1)->size()), 1'000, 100);  // mean 1000, sigma 31.6
  // Arrivals draw from their own stream, not Rng(seed) itself.
  EXPECT_NE(Offsets(**p1), Offsets(PoissonSchedule(1'000, kSecond, 42)));
}

TEST(MakeScheduleTest, InvalidLoadsAreErrors) {
  struct Row {
    std::string name;
    Load load;
    std::string error;
  };
  Load zero_rate = MakeLoad(LoadModel::kConstant);
  zero_rate.rate = 0;
  Load nan_rate = MakeLoad(LoadModel::kPoisson);
  nan_rate.rate = std::nan("");
  Load no_stages = MakeLoad(LoadModel::kRamp);
  Load bad_start = MakeLoad(LoadModel::kRamp);
  bad_start.start_rate = -1;
  bad_start.stages = {{kSecond, 1}};
  Load bad_target = MakeLoad(LoadModel::kRamp);
  bad_target.stages = {{kSecond, 1}, {kSecond, -3}};
  Load no_requests = MakeLoad(LoadModel::kCount);
  Load too_many = MakeLoad(LoadModel::kConstant);
  too_many.rate = 100'000;
  too_many.duration_ns = 600 * kSecond;
  Load too_many_count = MakeLoad(LoadModel::kCount);
  too_many_count.requests = kMaxLoadRequests + 1;
  Load too_big_ramp = MakeLoad(LoadModel::kRamp);
  too_big_ramp.stages = {{1'000 * kSecond, 100'001}};
  const std::vector<Row> rows = {
      {"zero rate", zero_rate,
       "load model \"constant\": rate must be a number of requests per second > 0, got 0"},
      {"nan rate", nan_rate,
       "load model \"poisson\": rate must be a number of requests per second > 0, got nan"},
      {"no stages", no_stages, "load model \"ramp\" needs at least one stage"},
      {"negative start", bad_start,
       "load model \"ramp\": start rate must be a number >= 0, got -1"},
      {"negative target", bad_target,
       "load model \"ramp\": stage 2 target must be a number >= 0, got -3"},
      {"no requests", no_requests, "load model \"count\" needs requests > 0"},
      {"over the limit", too_many,
       "load model \"constant\" plans 60000000 requests, more than the limit of 50000000"},
      {"count over the limit", too_many_count,
       "load model \"count\" plans 50000001 requests, more than the limit of 50000000"},
      {"ramp over the limit", too_big_ramp,
       "load model \"ramp\" plans 50000500 requests, more than the limit of 50000000"},
  };
  for (const auto& r : rows) {
    auto s = MakeSchedule(r.load, 1);
    ASSERT_FALSE(s.ok()) << r.name;
    EXPECT_EQ(s.error().message, r.error) << r.name;
  }
}

// The progress line's target over an interval (from, to] of a run, as a driver's clock reports
// it: what the schedule intended over that interval, whatever the phase of the ticks against the
// arrivals. A request at offset 0 is not a burst above the rate.
TEST(IntendedRateTest, IsTheScheduledRateOverTheInterval) {
  struct Row {
    std::string name;
    std::function<std::unique_ptr<Schedule>()> make;
    uint64_t from_ns;
    uint64_t to_ns;
    double want;
  };
  const auto constant = [](double rate, uint64_t duration_ns) {
    return [=] { return std::make_unique<ConstantRateSchedule>(rate, duration_ns); };
  };
  const auto ramp_up_then_hold = [] {
    return std::make_unique<RampSchedule>(
        0, std::vector<RampSchedule::Stage>{{10 * kSecond, 100}, {10 * kSecond, 100}});
  };
  const auto idle_then_ramp = [] {
    return std::make_unique<RampSchedule>(
        0, std::vector<RampSchedule::Stage>{{2 * kSecond, 0}, {2 * kSecond, 40}});
  };
  const auto poisson = [] { return std::make_unique<PoissonSchedule>(30, 10 * kSecond, 7); };
  const auto count = [] { return std::make_unique<FixedCountSchedule>(40, 40); };
  const std::vector<Row> rows = {
      {"constant 40/s, first tick at 0.3s", constant(40, 10 * kSecond), 0, 300 * kMs, 40},
      {"constant 50/s, first tick at 0.3077s", constant(50, 10 * kSecond), 0, 307'700'000, 50},
      {"constant 50/s, second tick", constant(50, 10 * kSecond), 250 * kMs, 500 * kMs, 50},
      {"constant 3/s, tick shorter than a gap", constant(3, 10 * kSecond), 0, 250 * kMs, 3},
      {"constant 40/s, tick across the end", constant(40, 3 * kSecond), 2900 * kMs, 3100 * kMs,
       20},
      {"constant, after the end", constant(40, 3 * kSecond), 4 * kSecond, 5 * kSecond, 0},
      {"ramp stage, first second", ramp_up_then_hold, 0, kSecond, 5},
      {"ramp stage, across into the hold", ramp_up_then_hold, 9 * kSecond, 11 * kSecond, 97.5},
      {"ramp hold", ramp_up_then_hold, 12 * kSecond, 13 * kSecond, 100},
      {"ramp, across the end", ramp_up_then_hold, 19'500 * kMs, 20'500 * kMs, 50},
      {"ramp, idle stage", idle_then_ramp, 0, kSecond, 0},
      {"ramp after an idle stage, first second", idle_then_ramp, 2 * kSecond, 3 * kSecond, 10},
      {"ramp after an idle stage, second second", idle_then_ramp, 3 * kSecond, 4 * kSecond, 30},
      {"poisson, first tick", poisson, 0, 300 * kMs, 30},
      {"poisson, later tick", poisson, 5 * kSecond, 5250 * kMs, 30},
      {"count 40 at 40/s, first tick", count, 0, 300 * kMs, 40},
      {"count 40 at 40/s, across the last request", count, 900 * kMs, 1100 * kMs, 20},
      {"count, after the last request", count, 1500 * kMs, 2 * kSecond, 0},
      {"empty interval", constant(40, 3 * kSecond), kSecond, kSecond, 0},
  };
  for (const Row& row : rows) {
    const std::unique_ptr<Schedule> schedule = row.make();
    EXPECT_NEAR(IntendedRate(*schedule, row.from_ns, row.to_ns), row.want, 1e-6) << row.name;
  }
}

// Over ticks of any length, the targets add up to the schedule's size.
TEST(IntendedRateTest, TargetsAddUpToThePlan) {
  const ConstantRateSchedule schedule(40, 3 * kSecond);
  double planned = 0;
  for (uint64_t t = 0; t < 4 * kSecond; t += 300 * kMs) {
    planned += IntendedRate(schedule, t, t + 300 * kMs) * 0.3;
  }
  EXPECT_NEAR(planned, 120, 1e-6);
}

}  // namespace
}  // namespace tracerig
