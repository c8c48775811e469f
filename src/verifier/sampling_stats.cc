#include "verifier/sampling_stats.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <set>

namespace tracerig {
namespace {

// The standard normal CDF.
double NormalCdf(double x) { return 0.5 * std::erfc(-x / std::sqrt(2.0)); }

double ProbabilityOf(const SamplingPolicy& policy) {
  switch (policy.kind) {
    case SamplingPolicy::Kind::kAlways:
      return 1;
    case SamplingPolicy::Kind::kNever:
      return 0;
    case SamplingPolicy::Kind::kRatio:
    case SamplingPolicy::Kind::kParentBased:  // only used without a parent context
      return std::clamp(policy.ratio, 0.0, 1.0);
  }
  return 1;
}

}  // namespace

std::string_view SamplingJudgementName(SamplingJudgement j) {
  switch (j) {
    case SamplingJudgement::kPass:
      return "pass";
    case SamplingJudgement::kFail:
      return "fail";
    case SamplingJudgement::kNotEnoughTraces:
      return "not enough traces";
  }
  return "unknown";
}

Result<double> TwoSidedZ(double confidence) {
  if (!(confidence > 0 && confidence < 1)) {
    return MakeError(
        fmt::format("sampling confidence {} is not between 0 and 1 (exclusive)", confidence));
  }
  // Bisection on the CDF: 200 halvings of [0, 40] reach double precision, and confidence close
  // to 1 only needs z up to about 38 before 1 - confidence underflows.
  const double target = 1 - (1 - confidence) / 2;
  double low = 0;
  double high = 40;
  for (int i = 0; i < 200 && high - low > 1e-15; ++i) {
    const double mid = (low + high) / 2;
    (NormalCdf(mid) < target ? low : high) = mid;
  }
  return (low + high) / 2;
}

ProportionInterval WilsonInterval(uint64_t k, uint64_t n, double z) {
  if (n == 0) return {0, 1};
  const double nn = static_cast<double>(n);
  const double kk = static_cast<double>(std::min(k, n));
  const double z2 = z * z;
  const double center = (kk + z2 / 2) / (nn + z2);
  const double half = z / (nn + z2) * std::sqrt(kk * (nn - kk) / nn + z2 / 4);
  return {std::max(0.0, center - half), std::min(1.0, center + half)};
}

Result<SamplingRateTest> JudgeSamplingRate(uint64_t k, uint64_t n, double expected,
                                           double confidence) {
  if (k > n) {
    return MakeError(fmt::format("sampling test: {} sampled out of {} trials is more than all",
                                 k, n));
  }
  if (!(expected >= 0 && expected <= 1)) {
    return MakeError(
        fmt::format("sampling test: expected fraction {} is not between 0 and 1", expected));
  }
  auto z = TwoSidedZ(confidence);
  if (!z) return z.error();
  SamplingRateTest t;
  t.n = n;
  t.k = k;
  t.expected = expected;
  t.confidence = confidence;
  t.observed = n == 0 ? 0 : static_cast<double>(k) / static_cast<double>(n);
  t.interval = WilsonInterval(k, n, *z);
  const double nn = static_cast<double>(n);
  if (n == 0) {
    t.judgement = SamplingJudgement::kNotEnoughTraces;
  } else if (expected == 0 || expected == 1) {
    t.judgement = static_cast<double>(k) == nn * expected ? SamplingJudgement::kPass
                                                          : SamplingJudgement::kFail;
  } else if (nn * expected < kMinExpectedPerOutcome ||
             nn * (1 - expected) < kMinExpectedPerOutcome) {
    t.judgement = SamplingJudgement::kNotEnoughTraces;
  } else {
    t.judgement = expected >= t.interval.low && expected <= t.interval.high
                      ? SamplingJudgement::kPass
                      : SamplingJudgement::kFail;
  }
  return t;
}

TreeSamplingModel ModelTreeSampling(const Scenario& scenario, const ExpectedTree& tree) {
  TreeSamplingModel m;
  const size_t n = tree.spans.size();
  m.visit.resize(n);
  m.source.resize(n);
  m.probability.resize(n);
  m.parent_based.assign(n, false);
  for (size_t i = 0; i < n; ++i) {
    const ExpectedSpan& e = tree.spans[i];
    const auto self = static_cast<uint32_t>(i);
    // Pre-order: a parent index is always smaller; anything else is treated as a root.
    const bool has_parent = e.parent >= 0 && static_cast<size_t>(e.parent) < i;
    const auto parent = has_parent ? static_cast<uint32_t>(e.parent) : self;
    if (has_parent && e.kind != SpanKind::kServer && e.kind != SpanKind::kConsumer) {
      // A CLIENT (or PRODUCER) span belongs to the visit of the route making the call; a
      // CONSUMER span opens a visit of its service as a SERVER span does.
      m.visit[i] = m.visit[parent];
      m.source[i] = m.source[parent];
      m.probability[i] = m.probability[parent];
      continue;
    }
    m.visit[i] = self;
    if (e.debug) {
      // The request carries the debug flag: recorded whatever the service's sampler says.
      m.source[i] = self;
      m.probability[i] = 1;
      continue;
    }
    const Service* service = scenario.FindService(e.service);
    const bool follows = has_parent && (service == nullptr ||
                                        service->sampling.kind ==
                                            SamplingPolicy::Kind::kParentBased);
    if (follows) {
      m.parent_based[i] = true;
      m.source[i] = m.source[parent];
      m.probability[i] = m.probability[parent];
    } else {
      m.source[i] = self;
      // The root is the driver's span: every verified entry was sent sampled.
      m.probability[i] = has_parent && service != nullptr ? ProbabilityOf(service->sampling) : 1;
    }
  }
  // Per service: its spans and the distinct fresh decisions behind them.
  for (size_t i = 0; i < n; ++i) {
    const ExpectedSpan& e = tree.spans[i];
    const Service* service = scenario.FindService(e.service);
    if (service == nullptr) continue;
    auto it = std::find_if(m.services.begin(), m.services.end(),
                           [&](const TreeSamplingModel::ServiceTrials& s) {
                             return s.service == e.service;
                           });
    if (it == m.services.end()) {
      TreeSamplingModel::ServiceTrials s;
      s.service = e.service;
      s.policy = SamplingPolicyName(service->sampling);
      m.services.push_back(std::move(s));
      it = m.services.end() - 1;
    }
    it->spans.push_back(static_cast<uint32_t>(i));
  }
  for (TreeSamplingModel::ServiceTrials& s : m.services) {
    std::set<uint32_t> sources;
    for (uint32_t i : s.spans) sources.insert(m.source[i]);
    double none = 1;
    for (uint32_t src : sources) none *= 1 - m.probability[src];
    s.expected = 1 - none;
  }
  return m;
}

double BothSampled(const TreeSamplingModel& model, uint32_t a, uint32_t b) {
  if (model.source[a] == model.source[b]) return model.probability[a];
  return model.probability[a] * model.probability[b];
}

}  // namespace tracerig
