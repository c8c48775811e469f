// MergeTransportErrors: per-thread tallies of transport errors by kind merged into the result's
// reasons (counts summed, the earliest first message, unanswered requests at the drain, order).
#include "driver/transport_errors.h"

#include <gtest/gtest.h>

namespace tracerig {
namespace {

TEST(TransportErrorsTest, TalliesMergeIntoReasonsMostFrequentFirst) {
  TransportErrorTally a;
  TransportErrorTally b;
  int described = 0;
  auto text = [&](std::string s) {
    return [&described, s] {
      described++;
      return s;
    };
  };
  a.Count(TransportErrorKind::kTimeout, 50, text("read: timed out (a)"));
  a.Count(TransportErrorKind::kConnectionRefused, 20, text("connect: refused (a)"));
  a.Count(TransportErrorKind::kConnectionRefused, 30, text("never described"));
  b.Count(TransportErrorKind::kConnectionRefused, 10, text("connect: refused (b)"));
  b.Count(TransportErrorKind::kConnectionReset, 40, text("read: reset (b)"));
  EXPECT_EQ(described, 4) << "only the first error of a kind per thread is described";

  const auto reasons = MergeTransportErrors({&a, &b}, /*unanswered=*/2, 10'000'000'000ull);
  ASSERT_EQ(reasons.size(), 4u);
  EXPECT_EQ(reasons[0].reason, "connection refused");
  EXPECT_EQ(reasons[0].count, 3u);
  EXPECT_EQ(reasons[0].first_message, "connect: refused (b)");  // the earlier of the two threads'
  // Ties keep the kinds' order: reset, timeout, unanswered at drain.
  EXPECT_EQ(reasons[1].reason, "unanswered at drain");
  EXPECT_EQ(reasons[1].count, 2u);
  EXPECT_EQ(reasons[1].first_message,
            "no answer within the drain timeout (10000 ms after the load ended)");
  EXPECT_EQ(reasons[2].reason, "connection reset");
  EXPECT_EQ(reasons[2].count, 1u);
  EXPECT_EQ(reasons[3].reason, "timeout");
  EXPECT_EQ(reasons[3].first_message, "read: timed out (a)");
}

TEST(TransportErrorsTest, NoErrorsNoReasons) {
  TransportErrorTally a;
  EXPECT_TRUE(MergeTransportErrors({&a}, 0, 1).empty());
  EXPECT_TRUE(MergeTransportErrors({}, 0, 1).empty());
}

}  // namespace
}  // namespace tracerig
