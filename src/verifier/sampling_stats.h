// Sampling statistics: whether an observed sampled fraction is consistent with a configured
// probability (Wilson score interval, equivalently a two-sided binomial score test), and where
// the sampling decisions of one expected call tree come from under the scenario's policies, so the
// verifier knows what fraction of requests should have left spans at each service. Pure.
//
// The judging rule (JudgeSamplingRate):
//   - n = 0: "not enough traces".
//   - expected fraction exactly 0 or 1 (always, never, or parent-based under either): nothing is
//     random, so any n >= 1 is judged exactly: pass iff k == n * p.
//   - otherwise the normal approximation behind the interval needs at least
//     kMinExpectedPerOutcome expected outcomes of each kind: n * p < 10 or n * (1 - p) < 10 is
//     "not enough traces" (refuse to judge rather than guess);
//   - else pass iff p lies in the Wilson score interval of k/n at the confidence. p inside the
//     interval is exactly |k - n p| <= z sqrt(n p (1 - p)), the two-sided score test at level
//     1 - confidence, so a correctly sampling service fails with probability 1 - confidence.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "topology/expected_tree.h"
#include "topology/scenario.h"

namespace tracerig {

inline constexpr double kDefaultSamplingConfidence = 0.99;
// Expected successes and failures each needed before a random rate is judged.
inline constexpr double kMinExpectedPerOutcome = 10;

enum class SamplingJudgement { kPass, kFail, kNotEnoughTraces };
std::string_view SamplingJudgementName(SamplingJudgement j);  // "pass", "fail", "not enough traces"

// z such that a standard normal lies in [-z, z] with probability `confidence`, in (0, 1).
// Errors name the value: "sampling confidence 1.5 is not between 0 and 1 (exclusive)".
Result<double> TwoSidedZ(double confidence);

struct ProportionInterval {
  double low = 0;
  double high = 0;
};

// The Wilson score interval of k successes in n > 0 trials for the two-sided quantile z:
// (k + z^2/2 ± z sqrt(k (n - k) / n + z^2 / 4)) / (n + z^2), clamped to [0, 1]. n = 0 gives [0, 1].
ProportionInterval WilsonInterval(uint64_t k, uint64_t n, double z);

struct SamplingRateTest {
  uint64_t n = 0;         // trials
  uint64_t k = 0;         // successes
  double observed = 0;    // k / n (0 when n = 0)
  double expected = 0;    // the configured fraction
  ProportionInterval interval;  // Wilson interval of k/n at `confidence`
  double confidence = kDefaultSamplingConfidence;
  SamplingJudgement judgement = SamplingJudgement::kNotEnoughTraces;
};

// Judges k of n against `expected` by the rule at the top of this file. Errors: k > n, expected
// outside [0, 1], confidence outside (0, 1).
Result<SamplingRateTest> JudgeSamplingRate(uint64_t k, uint64_t n, double expected,
                                           double confidence = kDefaultSamplingConfidence);

// Where the sampling decisions of one expected tree come from. A visit is one execution of a
// route (its SERVER span and the CLIENT spans of the calls it makes) or the driver's root span.
// A visit's decision is fresh (always, never, ratio; the driver's root is "sampled" for every
// verified ledger entry) or follows its caller visit's (parent-based: the entry service follows
// the driver). Fresh decisions are independent of each other. A visit the request's debug flag
// reaches (ExpectedSpan::debug) is a certain fresh "sampled", whatever the service's policy.
struct TreeSamplingModel {
  // Per expected span, indices into ExpectedTree::spans.
  std::vector<uint32_t> visit;   // the span that opens its visit (a SERVER span or the root)
  std::vector<uint32_t> source;  // the span opening the visit whose fresh decision it follows
  std::vector<double> probability;  // of that fresh decision being "sampled"
  // Per visit opener: whether the visit follows its caller's decision (false for other spans).
  std::vector<bool> parent_based;
  struct ServiceTrials {
    std::string service;
    std::string policy;            // SamplingPolicyName of the service's own policy
    double expected = 0;           // chance that at least one of its spans is sampled
    std::vector<uint32_t> spans;   // its expected spans
  };
  // Each scenario service in the tree (the driver excluded), in pre-order of first appearance.
  std::vector<ServiceTrials> services;
};

// The model for `tree` under `scenario`'s policies. A service the scenario does not know (and
// the driver) makes a fresh decision that is always "sampled" for the driver, parent-based for
// unknown ones. A service's expected fraction is 1 - prod(1 - p) over the distinct fresh
// decisions its visits follow.
TreeSamplingModel ModelTreeSampling(const Scenario& scenario, const ExpectedTree& tree);

// The probability that the spans `a` and `b` are both sampled: the product over the distinct
// fresh decisions they follow.
double BothSampled(const TreeSamplingModel& model, uint32_t a, uint32_t b);

}  // namespace tracerig
