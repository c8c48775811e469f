// Counting one poller's classified traces: statuses and examples, sampling trials, the service
// graph, `[expect] sampling` trials, time to queryable and late spans.
#include "verifier/verify_internal.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>

namespace tracerig::verify_internal {
namespace {

// The requests a trace-level `[expect] sampling` entry is about: answered with an error, or
// slower (send to answer) than some slower_than entry's bound. The others are what a trace
// ratio is judged on.
bool IsErrorRequest(const LedgerEntry& e) { return e.outcome == RequestOutcome::kHttpError; }
uint64_t RequestLatency(const LedgerEntry& e) {
  return e.end_unix_nano > e.start_unix_nano && e.start_unix_nano != 0
             ? e.end_unix_nano - e.start_unix_nano
             : 0;
}

}  // namespace

void TraceTally::Add(const TraceState& s, const PreparedTree& prepared,
                     const TraceVerdict& verdict, const std::vector<Span>& spans,
                     const std::vector<Span>& fragments) {
  Record(verdict);
  RecordAnalytics(s, *s.entry, prepared, verdict, spans, fragments);
}

// Sampling trials, parent-based consistency, the service graph and time to queryable of one
// classified trace: counts only.
void TraceTally::RecordAnalytics(const TraceState& s, const LedgerEntry& entry,
                                 const PreparedTree& prepared, const TraceVerdict& verdict,
                                 const std::vector<Span>& spans,
                                 const std::vector<Span>& fragments) {
  const std::vector<ExpectedSpan>& expected = prepared.tree.spans;
  const TreeSamplingModel& model = prepared.sampling;
  // Which expected spans were found anywhere (under the trace id or in fragments).
  found_.assign(expected.size(), 1);
  for (const MissingSpan& m : verdict.missing) {
    for (size_t i = 0; i < expected.size(); ++i) {
      const ExpectedSpan& e = expected[i];
      if (e.hop == m.hop && e.kind == m.kind && e.service == m.service) found_[i] = 0;
    }
  }
  // Counters of this tree's services and edges: looked up by name once per shared tree (map
  // nodes do not move), on every trace when trees vary per request.
  TreeSlots local;
  TreeSlots& slots = in_.per_request_trees ? local : slots_[entry.entry];
  if (slots.sampling.empty() && slots.edges.empty()) {
    for (const TreeSamplingModel::ServiceTrials& t : model.services) {
      auto it = result_.sampling.find(t.service);
      if (it == result_.sampling.end()) {
        it = result_.sampling.emplace(t.service, SamplingCounts{}).first;
        it->second.policy = t.policy;
      }
      slots.sampling.push_back(&it->second);
    }
    for (const TreeEdge& e : prepared.edges) {
      auto it = result_.expected_edges.find(e.key);
      if (it == result_.expected_edges.end()) {
        it = result_.expected_edges.emplace(e.key, EdgeExpectation{e.caller, e.callee, 0, 0})
                 .first;
      }
      slots.edges.push_back(&it->second);
    }
    for (const auto& [caller, callee] : prepared.clean_calls) {
      slots.clean_calls.push_back(&result_.observed_edges.Count(caller, callee));
    }
  }
  for (size_t j = 0; j < model.services.size(); ++j) {
    const TreeSamplingModel::ServiceTrials& t = model.services[j];
    SamplingCounts& c = *slots.sampling[j];
    ++c.n;
    c.expected_sum += t.expected;
    c.deterministic = c.deterministic && (t.expected == 0 || t.expected == 1);
    if (std::any_of(t.spans.begin(), t.spans.end(), [&](uint32_t i) { return found_[i]; })) {
      ++c.k;
    }
  }
  // A visit's decision shows as any of its spans being there; compared only where presence is
  // about sampling (not a lost trace or a broken one, whose parts follow other decisions).
  if (!prepared.follows.empty() && (verdict.status == TraceStatus::kComplete ||
                                    verdict.status == TraceStatus::kIncomplete)) {
    decided_.assign(expected.size(), 0);
    for (size_t i = 0; i < expected.size(); ++i) decided_[model.visit[i]] |= found_[i];
    for (const auto& [visit, caller_visit, service] : prepared.follows) {
      if (decided_[visit] != decided_[caller_visit]) {
        ++slots.sampling[service]->inconsistencies;
      }
    }
  }
  for (size_t j = 0; j < prepared.edges.size(); ++j) {
    slots.edges[j]->calls += prepared.edges[j].calls;
    slots.edges[j]->variance += prepared.edges[j].variance;
  }
  if (verdict.status == TraceStatus::kComplete && verdict.violations.empty()) {
    for (uint64_t* count : slots.clean_calls) ++*count;
  } else {
    result_.observed_edges.AddSpans(spans);
    if (!fragments.empty()) result_.observed_edges.AddSpans(fragments, entry.trace_id);
  }

  RecordSamplingExpectations(entry, prepared, verdict);

  if (verdict.status != TraceStatus::kComplete || s.first_full_unix_ns == 0) return;
  const uint64_t exported = in_.options.last_export_unix_nano
                                ? in_.options.last_export_unix_nano(entry)
                                : entry.end_unix_nano;
  if (exported == 0) return;
  const uint64_t sample = s.first_full_unix_ns > exported ? s.first_full_unix_ns - exported : 0;
  result_.time_to_queryable.push_back(sample);
  // Full at its first poll: it became queryable at some time up to `sample`. Within a poll
  // interval of the export, that is as precise as a measured sample (which overestimates by up
  // to the interval), so it counts as one; beyond, it is only an upper bound.
  if (s.full_at_first_poll && sample > in_.ttq_precision_ns) {
    ++result_.ttq_upper_bounds;
    return;
  }
  result_.ttq_exact.push_back(sample);
  if (sample > in_.late_floor_ns) RecordLateSpans(s, expected, sample);
}

// The trials of the scenario's `[expect] sampling` entries for one classified trace; found_
// holds which expected spans were found.
void TraceTally::RecordSamplingExpectations(const LedgerEntry& entry,
                                            const PreparedTree& prepared,
                                            const TraceVerdict& verdict) {
  const std::vector<SamplingExpectation>& expectations = in_.scenario.expect.sampling;
  if (expectations.empty()) return;
  std::vector<ExpectationCounts>& counts = result_.expectations;
  counts.resize(expectations.size());
  const bool kept = verdict.status != TraceStatus::kMissing;
  const uint64_t latency = RequestLatency(entry);
  bool special = IsErrorRequest(entry);  // kept whatever the ratio says
  for (const SamplingExpectation& e : expectations) {
    if (e.kind == SamplingExpectation::Kind::kSlowerThan && latency > e.slower_than_ns) {
      special = true;
    }
  }
  const std::vector<ExpectedSpan>& spans = prepared.tree.spans;
  for (size_t j = 0; j < expectations.size(); ++j) {
    const SamplingExpectation& e = expectations[j];
    ExpectationCounts& c = counts[j];
    switch (e.kind) {
      case SamplingExpectation::Kind::kServiceRatio: {
        bool reached = std::find(prepared.tree.unsampled_visits.begin(),
                                 prepared.tree.unsampled_visits.end(),
                                 e.service) != prepared.tree.unsampled_visits.end();
        bool found = false;
        for (size_t i = 0; i < spans.size(); ++i) {
          if (spans[i].service != e.service) continue;
          reached = true;
          found = found || found_[i] != 0;
        }
        c.n += reached ? 1 : 0;
        c.k += reached && found ? 1 : 0;
        break;
      }
      case SamplingExpectation::Kind::kErrors:
        if (IsErrorRequest(entry)) {
          ++c.n;
          c.k += kept ? 1 : 0;
        }
        break;
      case SamplingExpectation::Kind::kSlowerThan:
        if (latency > e.slower_than_ns) {
          ++c.n;
          c.k += kept ? 1 : 0;
        }
        break;
      case SamplingExpectation::Kind::kTraceRatio:
        if (!special) {
          ++c.n;
          c.k += kept ? 1 : 0;
        }
        break;
      case SamplingExpectation::Kind::kWholeTraces:
        if (kept) {
          ++c.n;
          c.k += verdict.status == TraceStatus::kComplete ? 1 : 0;
        }
        break;
    }
  }
}

// The edges of the spans a complete trace lacked at its first poll, each once per trace.
void TraceTally::RecordLateSpans(const TraceState& s, const std::vector<ExpectedSpan>& expected,
                                 uint64_t sample) {
  if (s.first_poll_present == kAllPresent) return;
  std::set<LateHopKey> late;
  for (size_t i = 0; i < expected.size() && i < kMaskBits; ++i) {
    if ((s.first_poll_present >> i) & 1) continue;
    const ExpectedSpan& e = expected[i];
    // A CLIENT span's peer is its callee, a SERVER span's its caller.
    const bool client = e.kind == SpanKind::kClient;
    late.emplace(e.hop, client ? e.service : e.peer, client ? e.peer : e.service, e.kind);
  }
  if (late.empty()) return;
  ++result_.late_traces;
  for (const auto& key : late) {
    auto& [traces, max_ns] = result_.late_hops[key];
    ++traces;
    max_ns = std::max(max_ns, sample);
  }
}

void TraceTally::Record(const TraceVerdict& verdict) {
  VerificationSummary& c = result_.counts;
  ++c.checked;
  switch (verdict.status) {
    case TraceStatus::kComplete:
      ++c.complete;
      break;
    case TraceStatus::kIncomplete:
      ++c.incomplete;
      break;
    case TraceStatus::kBroken:
      ++c.broken;
      break;
    case TraceStatus::kMissing:
      ++c.missing;
      break;
    case TraceStatus::kNotExported:
      ++c.not_exported;
      break;
  }
  for (const PropagationBreak& b : verdict.breaks) {
    ++result_.edge_counts[{b.hop, b.caller, b.callee}];
  }
  if (verdict.status != TraceStatus::kComplete) {
    result_.examples[verdict.status].Offer(verdict, in_.options.max_examples);
  }
  if (in_.options.export_loss && (verdict.status == TraceStatus::kMissing ||
                                  verdict.status == TraceStatus::kIncomplete)) {
    loss_candidates_.push_back(
        {verdict.trace_id, verdict.sequence, verdict.request_id, verdict.status});
  }
  if (verdict.violations.empty()) return;
  ++c.traces_with_violations;
  std::set<std::string_view> kinds;
  for (const Violation& v : verdict.violations) kinds.insert(v.kind);
  for (std::string_view kind : kinds) {
    ++c.violation_counts[std::string(kind)];
    result_.violation_examples[std::string(kind)].Offer(verdict, in_.options.max_examples);
  }
}

void TraceTally::ReclassifyNotExported() {
  if (!in_.options.export_loss) return;
  VerificationSummary& c = result_.counts;
  for (const LossCandidate& t : loss_candidates_) {
    const std::string why = in_.options.export_loss(t.trace_id);
    if (why.empty()) continue;
    --(t.status == TraceStatus::kMissing ? c.missing : c.incomplete);
    ++c.not_exported;
    TraceVerdict verdict;
    if (auto kept = result_.examples[t.status].Remove(t.sequence)) {
      verdict = std::move(*kept);
    } else {
      verdict.sequence = t.sequence;
      verdict.trace_id = t.trace_id;
      verdict.request_id = t.request_id;
    }
    verdict.status = TraceStatus::kNotExported;
    verdict.explanation = "spans never left tracerig: " + why +
                          (verdict.explanation.empty() ? "" : " (" + verdict.explanation + ")");
    result_.examples[TraceStatus::kNotExported].Offer(verdict, in_.options.max_examples);
  }
  loss_candidates_.clear();
}

}  // namespace tracerig::verify_internal
