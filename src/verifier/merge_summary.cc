// Merging the pollers' partial results into one VerificationSummary: counts, examples in ledger
// order, sampling verdicts, the service graph and time-to-queryable percentiles.
#include "verifier/verify_internal.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>

#include "core/units.h"
#include "verifier/orphan_causes.h"

namespace tracerig::verify_internal {
namespace {

// The p-th nearest-rank percentile of sorted values (0 when empty).
uint64_t Percentile(const std::vector<uint64_t>& sorted, double p) {
  if (sorted.empty()) return 0;
  const auto rank = static_cast<size_t>(std::ceil(p / 100 * static_cast<double>(sorted.size())));
  return sorted[std::clamp<size_t>(rank, 1, sorted.size()) - 1];
}

// The scenario's `[expect] sampling` entries judged on the pollers' summed trials.
Result<std::vector<SamplingExpectationVerdict>> JudgeSamplingExpectations(
    const Scenario& scenario, const std::vector<PartialSummary>& parts,
    const VerifyOptions& options) {
  std::vector<SamplingExpectationVerdict> out;
  const std::vector<SamplingExpectation>& expectations = scenario.expect.sampling;
  for (size_t j = 0; j < expectations.size(); ++j) {
    const SamplingExpectation& e = expectations[j];
    SamplingExpectationVerdict v;
    for (const PartialSummary& p : parts) {
      if (j < p.expectations.size()) {
        v.n += p.expectations[j].n;
        v.k += p.expectations[j].k;
      }
    }
    using Kind = SamplingExpectation::Kind;
    v.trace_level = e.kind != Kind::kServiceRatio;
    if (e.kind == Kind::kServiceRatio || e.kind == Kind::kTraceRatio) {
      v.name = e.kind == Kind::kServiceRatio ? e.service : "ratio";
      v.expected = e.ratio;
      v.confidence = e.confidence.value_or(options.sampling_confidence);
      auto test = JudgeSamplingRate(v.k, v.n, e.ratio, v.confidence);
      if (!test) {
        return MakeError(ErrorCode::kInvalidArgument,
                         fmt::format("{}: {}", e.where.ToString(), test.error().message));
      }
      v.interval_low = test->interval.low;
      v.interval_high = test->interval.high;
      v.verdict = std::string(SamplingJudgementName(test->judgement));
      const std::string what =
          e.kind == Kind::kServiceRatio
              ? fmt::format("{}: spans kept in {} of {} requests reaching it", e.service, v.k, v.n)
              : fmt::format("{} of {} requests neither errors nor slow kept", v.k, v.n);
      v.message = test->judgement == SamplingJudgement::kNotEnoughTraces
                      ? fmt::format("{}: not enough traces to judge a ratio of {:g}", what, e.ratio)
                      : fmt::format("{} ({:.4f}); expected {:g}, {:g}% interval [{:.4f}, {:.4f}]",
                                    what, test->observed, e.ratio, v.confidence * 100,
                                    v.interval_low, v.interval_high);
    } else {
      const bool all = v.k == v.n;
      v.verdict = all ? "pass" : "fail";
      switch (e.kind) {
        case Kind::kErrors:
          v.name = "errors";
          v.message = fmt::format("{} of {} requests answered with an error kept, expected all",
                                  v.k, v.n);
          break;
        case Kind::kSlowerThan:
          v.name = "slower-than-" + FormatDuration(e.slower_than_ns);
          v.message = fmt::format("{} of {} requests slower than {} kept, expected all", v.k, v.n,
                                  FormatDuration(e.slower_than_ns));
          break;
        default:
          v.name = "whole-traces";
          v.message = fmt::format("{} of {} kept traces whole, expected all ({} kept in part)",
                                  v.k, v.n, v.n - v.k);
          break;
      }
    }
    out.push_back(std::move(v));
  }
  return out;
}

}  // namespace

Result<VerificationSummary> Merge(const Scenario& scenario, std::vector<PartialSummary>& parts,
                                  size_t skipped, const VerifyOptions& options, double z,
                                  bool per_request, uint64_t late_floor_ns,
                                  uint64_t precision_ns) {
  const size_t max_examples = options.max_examples;
  for (PartialSummary& p : parts) {
    if (p.error) return *p.error;
  }
  VerificationSummary summary;
  summary.skipped_unsampled = skipped;
  std::map<std::tuple<std::string, std::string, std::string>, size_t> edge_counts;
  std::map<TraceStatus, FirstVerdicts> examples;
  std::map<std::string, FirstVerdicts> violation_examples;
  std::map<std::string, SamplingCounts, std::less<>> sampling;
  std::map<std::pair<std::string, std::string>, EdgeExpectation> expected_edges;
  ServiceGraphCounter observed_edges;
  std::vector<uint64_t> ttq;
  std::vector<uint64_t> ttq_exact;
  std::map<LateHopKey, std::pair<size_t, uint64_t>> late_hops;
  std::set<TraceId> external_traces;
  std::map<std::pair<std::string, std::string>, uint64_t> external_broken;
  for (PartialSummary& p : parts) {
    external_traces.merge(p.external_traces);
    for (const auto& [edge, traces] : p.external_broken) external_broken[edge] += traces;
    for (const auto& [service, c] : p.sampling) {
      SamplingCounts& m = sampling[service];
      m.policy = c.policy;
      m.n += c.n;
      m.k += c.k;
      m.expected_sum += c.expected_sum;
      m.deterministic = m.deterministic && c.deterministic;
      m.inconsistencies += c.inconsistencies;
      for (const auto& [fault, requests] : c.withheld) m.withheld[fault] += requests;
    }
    for (const auto& [key, e] : p.expected_edges) {
      EdgeExpectation& m = expected_edges[{e.caller, e.callee}];
      m.calls += e.calls;
      m.variance += e.variance;
    }
    observed_edges.Merge(p.observed_edges);
    ttq.insert(ttq.end(), p.time_to_queryable.begin(), p.time_to_queryable.end());
    summary.time_to_queryable.upper_bounds += p.ttq_upper_bounds;
    ttq_exact.insert(ttq_exact.end(), p.ttq_exact.begin(), p.ttq_exact.end());
    summary.time_to_queryable.late_traces += p.late_traces;
    for (const auto& [key, c] : p.late_hops) {
      auto& m = late_hops[key];
      m.first += c.first;
      m.second = std::max(m.second, c.second);
    }
    const VerificationSummary& c = p.counts;
    summary.checked += c.checked;
    summary.complete += c.complete;
    summary.incomplete += c.incomplete;
    summary.broken += c.broken;
    summary.missing += c.missing;
    summary.evicted += c.evicted;
    // The figures read last are the largest: eviction counts only grow.
    if (p.store && (!summary.backend_store ||
                    p.store->traces_evicted >= summary.backend_store->traces_evicted)) {
      summary.backend_store = p.store;
    }
    summary.not_exported += c.not_exported;
    summary.polls += c.polls;
    summary.backend_requests += c.backend_requests;
    summary.deadline_hit = summary.deadline_hit || c.deadline_hit;
    summary.traces_with_violations += c.traces_with_violations;
    for (const auto& [kind, n] : c.violation_counts) summary.violation_counts[kind] += n;
    for (const auto& [edge, n] : p.edge_counts) edge_counts[edge] += n;
    MergeOrphanCauses(summary.orphan_causes, p.orphan_causes);
    for (const auto& [status, first] : p.examples) {
      for (const TraceVerdict& v : first.kept()) examples[status].Offer(v, max_examples);
    }
    for (const auto& [kind, first] : p.violation_examples) {
      for (const TraceVerdict& v : first.kept()) violation_examples[kind].Offer(v, max_examples);
    }
  }
  for (const auto& [status, first] : examples) {
    for (const TraceVerdict& v : first.kept()) summary.examples.push_back(v);
  }
  std::set<uint64_t> seen;
  for (const auto& [kind, first] : violation_examples) {
    for (const TraceVerdict& v : first.kept()) {
      if (seen.insert(v.sequence).second) summary.violation_examples.push_back(v);
    }
  }
  auto by_sequence = [](const TraceVerdict& a, const TraceVerdict& b) {
    return a.sequence < b.sequence;
  };
  std::stable_sort(summary.examples.begin(), summary.examples.end(), by_sequence);
  std::stable_sort(summary.violation_examples.begin(), summary.violation_examples.end(),
                   by_sequence);

  for (const auto& [edge, count] : edge_counts) {
    const auto& [hop, caller, callee] = edge;
    summary.break_edges.push_back(BreakEdgeCount{hop, caller, callee, count});
  }
  std::stable_sort(
      summary.break_edges.begin(), summary.break_edges.end(),
      [](const BreakEdgeCount& a, const BreakEdgeCount& b) { return a.traces > b.traces; });

  MergeAsyncEdges(scenario, parts, options, summary);

  auto judged = JudgeSamplingExpectations(scenario, parts, options);
  if (!judged) return judged.error();
  summary.sampling_expectations = std::move(*judged);

  // Per-request trees apply tracerig's seeded sampling decisions; with statistical sampling those
  // are not the decisions that were made, so there is nothing exact or statistical to judge.
  const bool not_judged = per_request && options.statistical_sampling;
  for (const auto& [service, c] : sampling) {
    // A real service samples by its own sampler, which the scenario does not describe.
    if (const Service* s = scenario.FindService(service); s != nullptr && s->IsExternal()) continue;
    if (not_judged) {
      SamplingVerdict v;
      v.service = service;
      v.policy = c.policy;
      v.confidence = options.sampling_confidence;
      v.verdict = "not judged";
      v.reason =
          "call trees vary per request (call probabilities, errors with retries), and with "
          "statistical sampling the sampling decisions are not tracerig's seeded ones, so neither "
          "the visits to compare nor a single expected rate is known";
      v.withheld_by_faults = c.withheld;
      summary.sampling.push_back(std::move(v));
      continue;
    }
    const double mean =
        c.n == 0 ? 0 : std::clamp(c.expected_sum / static_cast<double>(c.n), 0.0, 1.0);
    auto test = JudgeSamplingRate(c.k, c.n, mean, options.sampling_confidence);
    if (!test) return test.error();
    SamplingVerdict v;
    v.service = service;
    v.policy = c.policy;
    v.n = c.n;
    v.k = c.k;
    v.observed = test->observed;
    v.expected = mean;
    v.interval_low = test->interval.low;
    v.interval_high = test->interval.high;
    v.confidence = options.sampling_confidence;
    SamplingJudgement judgement = test->judgement;
    // Requests certain to be sampled or not, whatever their mix: only the exact count passes.
    if (c.deterministic && c.n > 0) {
      judgement = static_cast<double>(c.k) == std::round(c.expected_sum) ? SamplingJudgement::kPass
                                                                        : SamplingJudgement::kFail;
    }
    v.verdict = std::string(SamplingJudgementName(judgement));
    v.parent_based_inconsistencies = c.inconsistencies;
    v.withheld_by_faults = c.withheld;
    summary.parent_based_inconsistencies += c.inconsistencies;
    summary.sampling.push_back(std::move(v));
  }

  std::vector<ExpectedEdge> expected;
  for (const auto& [name, e] : expected_edges) {
    expected.push_back(ExpectedEdge{name.first, name.second, e.calls, e.variance});
  }
  summary.graph = CompareGraphs(expected, observed_edges.Links(), z);

  std::sort(ttq.begin(), ttq.end());
  TimeToQueryable& t = summary.time_to_queryable;
  t.traces = ttq.size();
  t.p50_ns = Percentile(ttq, 50);
  t.p90_ns = Percentile(ttq, 90);
  t.p99_ns = Percentile(ttq, 99);
  t.max_ns = ttq.empty() ? 0 : ttq.back();
  t.precision_ns = precision_ns;
  // Upper bounds count as 0: they sort first, so rank r falls among the exact samples only when r
  // is above their number.
  std::sort(ttq_exact.begin(), ttq_exact.end());
  const size_t zeros = ttq.size() - ttq_exact.size();
  if (!ttq.empty()) {
    const auto rank = std::clamp<size_t>(
        static_cast<size_t>(std::ceil(0.99 * static_cast<double>(ttq.size()))), 1, ttq.size());
    t.observed_p99_ns = rank <= zeros ? 0 : ttq_exact[rank - zeros - 1];
  }
  t.observed_max_ns = ttq_exact.empty() ? 0 : ttq_exact.back();
  t.late_floor_ns = late_floor_ns;
  for (const auto& [key, c] : late_hops) {
    const auto& [hop, caller, callee, kind] = key;
    t.late_hops.push_back(LateHop{hop, caller, callee, kind, c.first, c.second});
  }
  std::stable_sort(t.late_hops.begin(), t.late_hops.end(),
                   [](const LateHop& a, const LateHop& b) { return a.traces > b.traces; });
  if (t.late_hops.size() > options.max_late_hops) t.late_hops.resize(options.max_late_hops);
  if (options.wire_log != nullptr) {
    summary.external_hops =
        CountExternalHops(scenario, *options.wire_log, external_traces, external_broken);
  }
  return summary;
}

}  // namespace tracerig::verify_internal
