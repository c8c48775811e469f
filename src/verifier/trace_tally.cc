// Counting one poller's classified traces: statuses and examples, sampling trials, the service
// graph, `[expect] sampling` trials, time to queryable and late spans.
#include "verifier/verify_internal.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include "topology/decisions.h"
#include "verifier/context_checks.h"
#include "verifier/orphan_causes.h"

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
  ttq_sample_.reset();
  RecordAnalytics(s, *s.entry, prepared, verdict, spans, fragments);
  if (in_.options.on_trace) {
    in_.options.on_trace(TraceOutcome{s.entry, &verdict, false, ttq_sample_});
  }
}

void TraceTally::AddEvicted(const TraceState& s, const TraceVerdict& verdict) {
  ++result_.counts.checked;
  ++result_.counts.evicted;
  result_.examples[TraceStatus::kMissing].Offer(verdict, in_.options.max_examples);
  if (in_.options.on_trace) in_.options.on_trace(TraceOutcome{s.entry, &verdict, true, {}});
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
  // Subtrees below a span the configuration left unrecorded, by cause.
  std::vector<OrphanCause> orphans =
      FindOrphanCauses(in_.scenario, in_.scenario.load.entries[entry.entry], prepared.tree, found_);
  if (!orphans.empty()) {
    for (OrphanCause& c : orphans) {
      c.example_sequence = entry.sequence;
      c.example_trace = entry.trace_id;
    }
    MergeOrphanCauses(result_.orphan_causes, orphans);
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
  const bool any_withheld = MarkWithheld(entry, prepared);
  RecordSamplingTrials(prepared, slots, any_withheld);
  // A visit's decision shows as any of its spans being there; compared only where presence is
  // about sampling (not a lost trace or a broken one, whose parts follow other decisions), and
  // not where a fault withheld the visit's spans.
  if (!prepared.follows.empty() && (verdict.status == TraceStatus::kComplete ||
                                    verdict.status == TraceStatus::kIncomplete)) {
    decided_.assign(expected.size(), 0);
    for (size_t i = 0; i < expected.size(); ++i) decided_[model.visit[i]] |= found_[i];
    for (const auto& [visit, caller_visit, service] : prepared.follows) {
      if (any_withheld && withheld_by_[visit] >= 0) continue;
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
  ttq_sample_ = sample;
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

// Whether a fault's `when` holds for the visit opened by `server`, from what the tree says came
// in: sampled unless its parent was sampled out (the entry: the flag the driver sent, or no
// context at all), read from the first of the service's extract formats its caller writes (the
// entry's caller is the driver, writing the entry's formats).
bool TraceTally::ConditionHolds(const FaultCondition& when, const LedgerEntry& entry,
                                const ExpectedSpan& server) const {
  const Scenario& scenario = in_.scenario;
  const Service* service = scenario.FindService(server.service);
  if (service == nullptr || entry.entry >= scenario.load.entries.size()) return true;
  const LoadEntry& load = scenario.load.entries[entry.entry];
  const bool at_entry = server.hop == "0";
  if (at_entry && !load.SendsContext()) return false;  // no context matches no condition
  std::optional<bool> sampled = !server.parent_unexported || server.debug;
  if (at_entry) sampled = load.sampled != EntrySampling::kNotSampled;
  const Service* caller = at_entry ? nullptr : scenario.FindService(server.peer);
  const std::vector<std::string>* sent =
      at_entry ? (load.inject ? &*load.inject : &service->extract)
               : (caller != nullptr ? &caller->Injects() : nullptr);
  std::string_view format;
  for (const std::string& f : service->extract) {
    if (f == "baggage" || sent == nullptr) continue;
    if (std::find(sent->begin(), sent->end(), f) != sent->end()) {
      format = f;
      break;
    }
  }
  if (format.empty()) return false;
  return FaultConditionHolds(when, sampled, format);
}

bool TraceTally::MarkWithheld(const LedgerEntry& entry, const PreparedTree& prepared) {
  const std::vector<ExpectedSpan>& spans = prepared.tree.spans;
  const TreeSamplingModel& model = prepared.sampling;
  const std::vector<Fault>& faults = in_.scenario.faults;
  bool any = false;
  for (size_t f = 0; f < faults.size() && !any; ++f) {
    any = faults[f].kind == FaultKind::kDropSpan || faults[f].kind == FaultKind::kUnsampledChild;
  }
  // Visits that followed a sampled=0 their caller sent although its own span was sampled, as seen
  // on the wire (a fault or a real service): the edge's doing, not the visit's policy.
  std::vector<size_t> cleared;  // only a trace missing some span can have any (found_ is set)
  if (in_.options.wire_log != nullptr &&
      std::find(found_.begin(), found_.end(), 0) != found_.end()) {
    cleared = ClearedByTheWire(in_.scenario, prepared.tree, entry, *in_.options.wire_log);
  }
  if (!any && cleared.empty()) return false;
  any = false;
  withheld_by_.assign(spans.size(), -1);
  // Whether fault f applies to the visit opened by SERVER span `server` of `service`. The
  // verifier does not know the load's start, so a fault with a window is taken to apply whenever
  // its seeded draw says so (its window start is passed as the offset).
  auto applies = [&](size_t f, uint32_t server) {
    const Fault& fault = faults[f];
    const ExpectedSpan& s = spans[server];
    if (s.service != fault.service || (!fault.route.empty() && s.name != fault.route)) {
      return false;
    }
    if (fault.when.IsSet() && !ConditionHolds(fault.when, entry, s)) return false;
    return FaultApplies(DecisionPoint(in_.scenario.seed, entry.sequence, s.hop, s.service), fault,
                        f, fault.window_start_ns);
  };
  // Spans in pre-order: a parent's mark is known before its children's.
  std::vector<char> unsampled(spans.size(), 0);  // the visit's decision was turned to "no"
  for (size_t i = 0; i < spans.size(); ++i) {
    const ExpectedSpan& e = spans[i];
    const bool opener = model.visit[i] == i;
    const bool has_parent = e.parent >= 0 && static_cast<size_t>(e.parent) < i;
    if (!opener) {
      // A CLIENT span goes with its visit's decision.
      if (unsampled[model.visit[i]]) {
        unsampled[i] = 1;
        withheld_by_[i] = withheld_by_[model.visit[i]];
      }
      continue;
    }
    if (e.kind != SpanKind::kServer || e.external || !has_parent) continue;
    const auto parent = static_cast<uint32_t>(e.parent);
    // A parent-based visit follows a caller whose decision a fault turned to "no".
    if (model.parent_based[i] && !e.parent_unexported && unsampled[parent]) {
      unsampled[i] = 1;
      withheld_by_[i] = withheld_by_[parent];
      continue;
    }
    for (size_t f = 0; f < faults.size(); ++f) {
      const Fault& fault = faults[f];
      if (fault.kind == FaultKind::kDropSpan && applies(f, static_cast<uint32_t>(i))) {
        withheld_by_[i] = static_cast<int>(f);
      } else if (fault.kind == FaultKind::kUnsampledChild && model.parent_based[i] &&
                 !e.parent_unexported && spans[parent].service == fault.service &&
                 (fault.callee.empty() || fault.callee == e.service) &&
                 applies(f, model.visit[parent])) {
        // The caller injected the sampled flag cleared: the callee samples out, and so does every
        // visit below that follows it.
        withheld_by_[i] = static_cast<int>(f);
        unsampled[i] = 1;
        break;
      }
    }
    if (withheld_by_[i] < 0 && std::find(cleared.begin(), cleared.end(), i) != cleared.end()) {
      withheld_by_[i] = static_cast<int>(faults.size());  // kClearedOnTheWire
      unsampled[i] = 1;
    }
  }
  for (int f : withheld_by_) any = any || f >= 0;
  return any;
}

void TraceTally::RecordSamplingTrials(const PreparedTree& prepared, TreeSlots& slots,
                                      bool any_withheld) {
  const TreeSamplingModel& model = prepared.sampling;
  for (size_t j = 0; j < model.services.size(); ++j) {
    const TreeSamplingModel::ServiceTrials& t = model.services[j];
    SamplingCounts& c = *slots.sampling[j];
    double expected = t.expected;
    bool found = false;
    if (!any_withheld) {
      found = std::any_of(t.spans.begin(), t.spans.end(), [&](uint32_t i) { return found_[i]; });
    } else {
      // Judged on the spans no fault withheld, with the chance they have; a request with none
      // left is no trial of the service's policy.
      std::set<uint32_t> sources;
      int fault = -1;
      for (uint32_t i : t.spans) {
        if (withheld_by_[i] >= 0) {
          if (fault < 0) fault = withheld_by_[i];
          continue;
        }
        sources.insert(model.source[i]);
        found = found || found_[i] != 0;
      }
      if (fault >= 0) {
        const auto f = static_cast<size_t>(fault);
        ++c.withheld[f < in_.scenario.faults.size()
                         ? std::string(FaultKindName(in_.scenario.faults[f].kind))
                         : std::string(kClearedSampledFlag)];
      }
      if (sources.empty()) continue;
      if (fault >= 0) {
        double none = 1;
        for (uint32_t src : sources) none *= 1 - model.probability[src];
        expected = 1 - none;
      }
    }
    ++c.n;
    c.expected_sum += expected;
    c.deterministic = c.deterministic && (expected == 0 || expected == 1);
    if (found) ++c.k;
  }
  // Per-request trees: a service visited only where its own seeded decision said no has no spans
  // in the tree, and is a trial that expects nothing.
  if (!in_.per_request_trees) return;
  std::set<std::string_view> counted;  // once per request, however many visits were sampled out
  for (const std::string& service : prepared.tree.unsampled_visits) {
    if (!counted.insert(service).second ||
        std::any_of(model.services.begin(), model.services.end(),
                    [&](const TreeSamplingModel::ServiceTrials& t) { return t.service == service; })) {
      continue;
    }
    const Service* known = in_.scenario.FindService(service);
    if (known == nullptr) continue;
    auto it = result_.sampling.find(service);
    if (it == result_.sampling.end()) {
      it = result_.sampling.emplace(service, SamplingCounts{}).first;
      it->second.policy = SamplingPolicyName(known->sampling);
    }
    ++it->second.n;
  }
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
    if (e.linked) continue;  // a batch span is in a trace of its own, never polled here
    // A CLIENT (PRODUCER) span's peer is its callee (consumer), a SERVER (CONSUMER) span's its
    // caller (publisher).
    const bool client = e.kind == SpanKind::kClient || e.kind == SpanKind::kProducer;
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
