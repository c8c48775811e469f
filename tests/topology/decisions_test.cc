// Seeded decisions shared by the runtime and the expected tree: pure, stable across runs and
// platforms, independent per stream, and exact at certain probabilities and window edges.
#include "topology/decisions.h"

#include <gtest/gtest.h>

namespace tracerig {
namespace {

TEST(DecisionsTest, Fnv1aKnownValues) {
  EXPECT_EQ(Fnv1a(""), 0xcbf29ce484222325ull);
  EXPECT_EQ(Fnv1a("a"), 0xaf63dc4c8601ec8cull);
  EXPECT_EQ(Fnv1a("foobar"), 0x85944171f73967e8ull);
}

TEST(DecisionsTest, SamePointSameStreamIsReproducible) {
  const DecisionPoint a(7, 42, "0.1", "cart");
  const DecisionPoint b(7, 42, "0.1", "cart");
  EXPECT_EQ(a.Stream(DecisionStream::kLatency).Next(), b.Stream(DecisionStream::kLatency).Next());
  EXPECT_NE(a.Stream(DecisionStream::kLatency).Next(), a.Stream(DecisionStream::kError).Next());
  EXPECT_NE(a.Stream(DecisionStream::kFault, 0).Next(), a.Stream(DecisionStream::kFault, 1).Next());
}

TEST(DecisionsTest, EveryInputChangesThePoint) {
  const uint64_t base = DecisionPoint(7, 42, "0.1", "cart").Stream(DecisionStream::kCall).Next();
  EXPECT_NE(base, DecisionPoint(8, 42, "0.1", "cart").Stream(DecisionStream::kCall).Next());
  EXPECT_NE(base, DecisionPoint(7, 43, "0.1", "cart").Stream(DecisionStream::kCall).Next());
  EXPECT_NE(base, DecisionPoint(7, 42, "0.2", "cart").Stream(DecisionStream::kCall).Next());
  EXPECT_NE(base, DecisionPoint(7, 42, "0.1", "carts").Stream(DecisionStream::kCall).Next());
  // The service and hop are not simply concatenated.
  EXPECT_NE(DecisionPoint(7, 42, "0.1a", "b").Stream(DecisionStream::kCall).Next(),
            DecisionPoint(7, 42, "0.1", "ab").Stream(DecisionStream::kCall).Next());
}

TEST(DecisionsTest, CertainProbabilitiesDrawNothing) {
  for (uint64_t seq = 0; seq < 100; ++seq) {
    const DecisionPoint p(1, seq, "0", "a");
    EXPECT_TRUE(CallHappens(p, 1.0));
    EXPECT_FALSE(CallHappens(p, 0.0));
    EXPECT_TRUE(RouteErrors(p, 1.0));
    EXPECT_FALSE(RouteErrors(p, 0.0));
  }
}

TEST(DecisionsTest, ProbabilityIsHonouredOverManyRequests) {
  int calls = 0;
  int errors = 0;
  int both = 0;
  for (uint64_t seq = 0; seq < 10000; ++seq) {
    const DecisionPoint p(3, seq, "0.0", "a");
    const bool c = CallHappens(p, 0.3);
    const bool e = RouteErrors(p, 0.3);
    calls += c;
    errors += e;
    both += c && e;
  }
  EXPECT_NEAR(calls, 3000, 200);
  EXPECT_NEAR(errors, 3000, 200);
  // Separate streams: the two decisions are independent (0.09 of requests), not the same draw.
  EXPECT_NEAR(both, 900, 120);
}

TEST(DecisionsTest, SamplingPolicies) {
  using K = SamplingPolicy::Kind;
  struct Case {
    SamplingPolicy policy;
    std::optional<bool> parent;
    bool want;
  };
  const Case cases[] = {
      {{K::kAlways, 0.0}, false, true},       {{K::kAlways, 0.0}, std::nullopt, true},
      {{K::kNever, 1.0}, true, false},        {{K::kNever, 1.0}, std::nullopt, false},
      {{K::kParentBased, 0.0}, true, true},   {{K::kParentBased, 1.0}, false, false},
      {{K::kParentBased, 1.0}, std::nullopt, true}, {{K::kParentBased, 0.0}, std::nullopt, false},
      {{K::kRatio, 1.0}, false, true},        {{K::kRatio, 0.0}, true, false},
  };
  const DecisionPoint p(1, 2, "0", "a");
  for (const Case& c : cases) {
    EXPECT_EQ(SamplingDecision(p, c.policy, c.parent), c.want)
        << SamplingPolicyName(c.policy) << " parent " << (c.parent ? (*c.parent ? "1" : "0") : "-");
  }
}

TEST(DecisionsTest, RatioSamplingIgnoresTheParentAndHonoursTheRatio) {
  const SamplingPolicy ratio{SamplingPolicy::Kind::kRatio, 0.25};
  int sampled = 0;
  for (uint64_t seq = 0; seq < 4000; ++seq) {
    const DecisionPoint p(9, seq, "0", "a");
    const bool with_parent = SamplingDecision(p, ratio, true);
    EXPECT_EQ(with_parent, SamplingDecision(p, ratio, false));
    EXPECT_EQ(with_parent, SamplingDecision(p, ratio, std::nullopt));
    sampled += with_parent;
  }
  EXPECT_NEAR(sampled, 1000, 100);
}

TEST(DecisionsTest, FaultWindowIsHalfOpen) {
  Fault fault;
  fault.window_start_ns = 1000;
  fault.window_end_ns = 2000;
  const DecisionPoint p(1, 2, "0", "a");
  EXPECT_FALSE(FaultApplies(p, fault, 0, 0));
  EXPECT_FALSE(FaultApplies(p, fault, 0, 999));
  EXPECT_TRUE(FaultApplies(p, fault, 0, 1000));
  EXPECT_TRUE(FaultApplies(p, fault, 0, 1999));
  EXPECT_FALSE(FaultApplies(p, fault, 0, 2000));
}

TEST(DecisionsTest, FaultProbabilityIsPerFaultIndex) {
  Fault fault;
  fault.probability = 0.5;
  int first = 0;
  int same = 0;
  for (uint64_t seq = 0; seq < 2000; ++seq) {
    const DecisionPoint p(5, seq, "0", "a");
    const bool a = FaultApplies(p, fault, 0, 0);
    const bool b = FaultApplies(p, fault, 1, 0);
    first += a;
    same += a == b;
  }
  EXPECT_NEAR(first, 1000, 100);
  EXPECT_NEAR(same, 1000, 100);  // two faults with the same probability decide independently
}

}  // namespace
}  // namespace tracerig
