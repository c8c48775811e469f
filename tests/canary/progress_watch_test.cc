// /healthz's rule on a fake clock: unhealthy only when no round has finished for the limit.
#include "canary/progress_watch.h"

#include <gtest/gtest.h>

namespace tracerig {
namespace {

constexpr uint64_t kSecond = 1'000'000'000ull;

TEST(ProgressWatchTest, LimitIsTwiceARoundAndQueryableWithinAndSlack) {
  EXPECT_EQ(ProgressWatch::LimitFor(10 * kSecond, 30 * kSecond), 320 * kSecond);
}

TEST(ProgressWatchTest, HealthyUntilTheLimitPassesSinceTheStart) {
  FakeClock clock;
  ProgressWatch watch(clock, 100 * kSecond);
  EXPECT_EQ(watch.UnhealthyReason(), "");
  clock.Advance(100 * kSecond);
  EXPECT_EQ(watch.UnhealthyReason(), "");
  clock.Advance(1);
  const std::string reason = watch.UnhealthyReason();
  EXPECT_NE(reason.find("no round has finished"), std::string::npos) << reason;
  EXPECT_NE(reason.find("since the start"), std::string::npos) << reason;
}

TEST(ProgressWatchTest, AFinishedRoundMakesItHealthyAgainAndRestartsTheCount) {
  FakeClock clock;
  ProgressWatch watch(clock, 100 * kSecond);
  clock.Advance(150 * kSecond);
  EXPECT_NE(watch.UnhealthyReason(), "");
  watch.RoundFinished();  // however its checks went: a backend outage still finishes rounds
  EXPECT_EQ(watch.UnhealthyReason(), "");
  clock.Advance(90 * kSecond);
  watch.RoundFinished();
  clock.Advance(90 * kSecond);
  EXPECT_EQ(watch.UnhealthyReason(), "");
  clock.Advance(11 * kSecond);
  const std::string reason = watch.UnhealthyReason();
  EXPECT_NE(reason.find("since the last one finished"), std::string::npos) << reason;
}

}  // namespace
}  // namespace tracerig
