#include "report/merge.h"

#include <algorithm>
#include <map>
#include <optional>
#include <tuple>

#include <fmt/format.h>

#include "report/async_edges.h"
#include "report/run_identity.h"
#include "verifier/orphan_causes.h"

namespace tracerig {
namespace {

void AppendLimited(std::vector<TraceVerdict>& into, const std::vector<TraceVerdict>& from,
                   size_t max_examples) {
  for (const auto& v : from) {
    const size_t same = static_cast<size_t>(std::count_if(
        into.begin(), into.end(), [&v](const TraceVerdict& x) { return x.status == v.status; }));
    if (same < max_examples) into.push_back(v);
  }
}

// Violation examples: up to max_examples per kind, each trace once.
void AppendViolationExamples(std::vector<TraceVerdict>& into, const std::vector<TraceVerdict>& from,
                             size_t max_examples) {
  for (const auto& v : from) {
    bool wanted = false;
    for (const auto& x : v.violations) {
      size_t with_kind = 0;
      for (const auto& kept : into) {
        with_kind += std::any_of(kept.violations.begin(), kept.violations.end(),
                                 [&x](const Violation& y) { return y.kind == x.kind; });
      }
      wanted |= with_kind < max_examples;
    }
    if (wanted) into.push_back(v);
  }
}

// Percentiles of the whole cannot be rebuilt from the parts' percentiles; the largest part's is
// an upper bound of the whole's (each part has at most the same fraction of samples above it), so
// a merged expectation is judged conservatively. Counts add up; late hops add up per hop and kind
// with the largest max_ns.
// `[expect] sampling` verdicts by name: trials add up and the verdict is judged again on them
// (ratios by the same Wilson rule as the verifier, the others pass only when every one was kept).
void MergeSamplingExpectations(std::vector<SamplingExpectationVerdict>& into,
                               const std::vector<SamplingExpectationVerdict>& from) {
  for (const SamplingExpectationVerdict& f : from) {
    auto it = std::find_if(into.begin(), into.end(),
                           [&](const SamplingExpectationVerdict& x) { return x.name == f.name; });
    if (it == into.end()) {
      into.push_back(f);
      continue;
    }
    it->n += f.n;
    it->k += f.k;
    const bool ratio = it->confidence > 0;
    if (ratio) {
      auto test = JudgeSamplingRate(it->k, it->n, it->expected, it->confidence);
      if (test) {
        it->interval_low = test->interval.low;
        it->interval_high = test->interval.high;
        it->verdict = std::string(SamplingJudgementName(test->judgement));
      }
      it->message = fmt::format("{}: {} of {} kept over the merged runs ({:.4f}); expected {:g}, "
                                "{:g}% interval [{:.4f}, {:.4f}]",
                                it->name, it->k, it->n,
                                it->n == 0 ? 0.0 : static_cast<double>(it->k) /
                                                       static_cast<double>(it->n),
                                it->expected, it->confidence * 100, it->interval_low,
                                it->interval_high);
    } else {
      it->verdict = it->k == it->n ? "pass" : "fail";
      it->message = fmt::format("{}: {} of {} over the merged runs, expected all", it->name,
                                it->k, it->n);
    }
  }
}

void MergeTimeToQueryable(TimeToQueryable& into, const TimeToQueryable& from) {
  into.traces += from.traces;
  into.upper_bounds += from.upper_bounds;
  into.late_traces += from.late_traces;
  for (uint64_t TimeToQueryable::*field :
       {&TimeToQueryable::p50_ns, &TimeToQueryable::p90_ns, &TimeToQueryable::p99_ns,
        &TimeToQueryable::max_ns, &TimeToQueryable::precision_ns,
        &TimeToQueryable::observed_p99_ns, &TimeToQueryable::observed_max_ns,
        &TimeToQueryable::late_floor_ns}) {
    into.*field = std::max(into.*field, from.*field);
  }
  for (const LateHop& hop : from.late_hops) {
    auto it = std::find_if(into.late_hops.begin(), into.late_hops.end(), [&hop](const LateHop& h) {
      return h.hop == hop.hop && h.caller == hop.caller && h.callee == hop.callee &&
             h.kind == hop.kind;
    });
    if (it == into.late_hops.end()) {
      into.late_hops.push_back(hop);
    } else {
      it->traces += hop.traces;
      it->max_ns = std::max(it->max_ns, hop.max_ns);
    }
  }
}

// Each run asked the backend about its own time window, and shards side by side ask about
// overlapping ones, so per edge: missing or unexpected in any served list stays so (a flaky
// backend is not averaged away), expected calls add up (they are per verified request) and the
// backend's call count is the largest one (overlapping windows would count calls twice). A run
// whose list was not served or not fetched is named in `error`; the lists that were served are
// still compared. `report` numbers it in that note.
void MergeBackendGraph(std::optional<BackendGraph>& into, const std::optional<BackendGraph>& from,
                       size_t report) {
  if (!from) return;
  if (!into) {
    into.emplace();
    into->start_unix_micros = from->start_unix_micros;
    into->end_unix_micros = from->end_unix_micros;
  }
  BackendGraph& g = *into;
  if (!from->fetched) {
    g.error += fmt::format("{}report {}: {}", g.error.empty() ? "" : "; ", report, from->error);
    return;
  }
  g.start_unix_micros = g.fetched ? std::min(g.start_unix_micros, from->start_unix_micros)
                                  : from->start_unix_micros;
  g.end_unix_micros = g.fetched ? std::max(g.end_unix_micros, from->end_unix_micros)
                                : from->end_unix_micros;
  g.fetched = true;
  for (const EdgeComparison& edge : from->comparison.edges) {
    auto it = std::find_if(g.comparison.edges.begin(), g.comparison.edges.end(),
                           [&edge](const EdgeComparison& e) {
                             return e.caller == edge.caller && e.callee == edge.callee;
                           });
    if (it == g.comparison.edges.end()) {
      g.comparison.edges.push_back(edge);
      continue;
    }
    it->in_topology = it->in_topology || edge.in_topology;
    it->expected_calls += edge.expected_calls;
    it->expected_variance += edge.expected_variance;
    it->observed_calls = std::max(it->observed_calls, edge.observed_calls);
    // The worst status wins: missing, then unexpected, then count-mismatch, then ok.
    for (const char* status : {"missing", "unexpected", "count-mismatch"}) {
      if (it->status == status) break;
      if (edge.status == status) {
        it->status = status;
        break;
      }
    }
  }
  for (const DependencyLink& link : from->links) {
    auto it = std::find_if(g.links.begin(), g.links.end(), [&link](const DependencyLink& l) {
      return l.parent == link.parent && l.child == link.child;
    });
    if (it == g.links.end()) {
      g.links.push_back(link);
    } else {
      it->call_count = std::max(it->call_count, link.call_count);
    }
  }
}

// Sorted as CompareGraphs sorts, with the totals recounted from the merged edges.
void FinishBackendGraph(BackendGraph& g) {
  auto& edges = g.comparison.edges;
  std::sort(edges.begin(), edges.end(), [](const EdgeComparison& a, const EdgeComparison& b) {
    return std::tie(a.caller, a.callee) < std::tie(b.caller, b.callee);
  });
  g.comparison.missing = 0;
  g.comparison.unexpected = 0;
  g.comparison.count_mismatches = 0;
  for (const auto& e : edges) {
    g.comparison.missing += e.status == "missing";
    g.comparison.unexpected += e.status == "unexpected";
    g.comparison.count_mismatches += e.status == "count-mismatch";
  }
  std::sort(g.links.begin(), g.links.end(), [](const DependencyLink& a, const DependencyLink& b) {
    return std::tie(a.parent, a.child) < std::tie(b.parent, b.child);
  });
}

void MergeVerification(VerificationSummary& into, const VerificationSummary& from,
                       size_t max_examples, size_t report) {
  into.checked += from.checked;
  into.complete += from.complete;
  into.incomplete += from.incomplete;
  into.broken += from.broken;
  into.missing += from.missing;
  into.evicted += from.evicted;
  into.not_exported += from.not_exported;
  into.skipped_unsampled += from.skipped_unsampled;
  for (const auto& edge : from.break_edges) {
    auto it = std::find_if(into.break_edges.begin(), into.break_edges.end(),
                           [&edge](const BreakEdgeCount& e) {
                             return e.hop == edge.hop && e.caller == edge.caller &&
                                    e.callee == edge.callee;
                           });
    if (it == into.break_edges.end()) {
      into.break_edges.push_back(edge);
    } else {
      it->traces += edge.traces;
    }
  }
  AppendLimited(into.examples, from.examples, max_examples);
  for (const auto& [kind, traces] : from.violation_counts) into.violation_counts[kind] += traces;
  into.traces_with_violations += from.traces_with_violations;
  AppendViolationExamples(into.violation_examples, from.violation_examples, max_examples);
  MergeOrphanCauses(into.orphan_causes, from.orphan_causes);
  into.polls += from.polls;
  into.backend_requests += from.backend_requests;
  into.elapsed_ns = std::max(into.elapsed_ns, from.elapsed_ns);
  into.streamed = into.streamed || from.streamed;
  into.after_load_ns = std::max(into.after_load_ns, from.after_load_ns);
  into.deadline_hit |= from.deadline_hit;
  MergeTimeToQueryable(into.time_to_queryable, from.time_to_queryable);
  MergeSamplingExpectations(into.sampling_expectations, from.sampling_expectations);
  MergeBackendGraph(into.backend_graph, from.backend_graph, report);
  MergeQueueLatency(into.queue_latency, from.queue_latency);  // report/async_edges.h
  MergeLinks(into.links, from.links);
}

}  // namespace

Result<RunReport> MergeReports(const std::vector<RunReport>& reports,
                               std::optional<FailOn> fail_on, size_t max_examples,
                               const std::vector<std::string>& files) {
  if (reports.empty()) return MakeError("no reports to merge");
  auto file = [&files](size_t i) {
    return i < files.size() ? files[i] : fmt::format("report {}", i + 1);
  };
  std::vector<MergedRun> runs;
  std::vector<size_t> holder;  // the report each run came from
  for (size_t i = 0; i < reports.size(); ++i) {
    for (const MergedRun& run : RunsOf(reports[i], file(i))) {
      auto same = std::find_if(runs.begin(), runs.end(), [&run](const MergedRun& r) {
        return !run.run_id.empty() && r.run_id == run.run_id;
      });
      if (same != runs.end()) {
        const size_t j = holder[static_cast<size_t>(same - runs.begin())];
        const bool plain = reports[i].merged_from.empty() && reports[j].merged_from.empty();
        return MakeError(fmt::format(
            "{} and {} {} (run_id {}): merged, its {} requests would count twice", file(j),
            file(i), plain ? "are the same run" : "both hold one run", run.run_id, run.requests));
      }
      runs.push_back(run);
      holder.push_back(i);
    }
  }
  const RunReport& first = reports.front();
  RunReport m;
  if (reports.size() == 1) {  // a merge of one is that report
    m.run_id = first.run_id;
    m.merged_from = first.merged_from;
  } else {
    m.merged_from = runs;
    std::string ids;
    for (const MergedRun& run : runs) ids += "\x1f" + run.run_id;
    m.run_id = ContentRunId("merged" + ids);  // the same runs merged again: the same id
  }
  m.tracerig_version = first.tracerig_version;
  m.scenario_name = first.scenario_name;
  m.scenario_file = first.scenario_file;
  m.seed = first.seed;
  m.backend = first.backend;
  m.started_unix_nano = first.started_unix_nano;
  m.finished_unix_nano = first.finished_unix_nano;
  m.load_model = first.load_model;
  m.expect = first.expect;
  m.ingest = first.ingest;  // the others are added below
  m.fail_on = fail_on.value_or(first.fail_on);
  m.verification_skipped = true;
  bool any_verified = false;
  for (size_t i = 0; i < reports.size(); ++i) {
    const RunReport& r = reports[i];
    if (r.scenario_name != first.scenario_name) {
      return MakeError(fmt::format("report {} is of scenario \"{}\", report 1 of \"{}\": only "
                                   "runs of one scenario can be merged",
                                   i + 1, r.scenario_name, first.scenario_name));
    }
    if (r.expect.completeness != first.expect.completeness || r.expect.broken != first.expect.broken) {
      return MakeError(fmt::format(
          "report {} expects completeness {} and at most {} broken, report 1 completeness {} and "
          "at most {}: runs with different [expect] cannot be judged together",
          i + 1, r.expect.completeness, r.expect.broken, first.expect.completeness,
          first.expect.broken));
    }
    if (r.expect.time_to_queryable_p99_ns != first.expect.time_to_queryable_p99_ns ||
        r.expect.time_to_queryable_max_ns != first.expect.time_to_queryable_max_ns) {
      auto bounds = [](const Expectations& e) {
        auto text = [](const std::optional<uint64_t>& ns) {
          return ns ? fmt::format("{} ns", *ns) : std::string("unset");
        };
        return fmt::format("p99 {}, max {}", text(e.time_to_queryable_p99_ns),
                           text(e.time_to_queryable_max_ns));
      };
      return MakeError(fmt::format(
          "report {} expects time to queryable {}, report 1 {}: runs with different [expect] "
          "cannot be judged together",
          i + 1, bounds(r.expect), bounds(first.expect)));
    }
    if (i > 0) {
      if (r.backend != first.backend && m.backend.find(r.backend) == std::string::npos) {
        m.backend += "; " + r.backend;
      }
      m.started_unix_nano = std::min(m.started_unix_nano, r.started_unix_nano);
      m.finished_unix_nano = std::max(m.finished_unix_nano, r.finished_unix_nano);
      if (r.load_model != m.load_model) m.load_model = "mixed";
    }
    m.target_rate += r.target_rate;
    m.target_duration_ns = std::max(m.target_duration_ns, r.target_duration_ns);
    for (const auto& s : r.services) {
      if (std::none_of(m.services.begin(), m.services.end(),
                       [&s](const RunningService& x) { return x.name == s.name; })) {
        m.services.push_back(s);
      }
    }
    for (const auto& e : r.expected_edges) {
      if (std::find(m.expected_edges.begin(), m.expected_edges.end(), e) == m.expected_edges.end()) {
        m.expected_edges.push_back(e);
      }
    }
    auto& l = m.load;
    l.planned += r.load.planned;
    l.sent += r.load.sent;
    l.warmup += r.load.warmup;
    l.ok += r.load.ok;
    l.http_errors += r.load.http_errors;
    l.transport_errors += r.load.transport_errors;
    // Per kind: the counts add up; the first message stays the first report's that had one.
    for (const TransportErrorReason& t : r.load.transport_error_reasons) {
      auto it = std::find_if(l.transport_error_reasons.begin(), l.transport_error_reasons.end(),
                             [&t](const TransportErrorReason& u) { return u.reason == t.reason; });
      if (it == l.transport_error_reasons.end()) {
        l.transport_error_reasons.push_back(t);
      } else {
        it->count += t.count;
        if (it->first_message.empty()) it->first_message = t.first_message;
      }
    }
    l.unfinished += r.load.unfinished;
    l.root_spans_unsampled += r.load.root_spans_unsampled;
    l.elapsed_ns = std::max(l.elapsed_ns, r.load.elapsed_ns);
    l.interrupted |= r.load.interrupted;
    l.corrected.Merge(r.load.corrected);
    l.uncorrected.Merge(r.load.uncorrected);
    l.schedule_lag.Merge(r.load.schedule_lag);
    // Point by point, by offset from each run's start (shards run side by side); differing
    // intervals are widened to a common one (LatencyTimeline::Merge).
    l.timeline.Merge(r.load.timeline);
    m.topology.requests += r.topology.requests;
    m.topology.unknown_route += r.topology.unknown_route;
    m.topology.spans_recorded += r.topology.spans_recorded;
    m.topology.spans_unsampled += r.topology.spans_unsampled;
    m.topology.call_failures += r.topology.call_failures;
    m.topology.spans_dropped += r.topology.spans_dropped;
    m.topology.spans_delayed += r.topology.spans_delayed;
    m.topology.messages_published += r.topology.messages_published;
    m.topology.publish_failures += r.topology.publish_failures;
    m.topology.messages_consumed += r.topology.messages_consumed;
    m.topology.messages_redelivered += r.topology.messages_redelivered;
    m.topology.messages_dead_lettered += r.topology.messages_dead_lettered;
    m.topology.batches += r.topology.batches;
    m.topology.messages_unroutable += r.topology.messages_unroutable;
    m.topology.messages_left_queued += r.topology.messages_left_queued;
    // Shards drain side by side: the merged run waited as long as its slowest shard.
    m.topology.queue_drain_ns = std::max(m.topology.queue_drain_ns, r.topology.queue_drain_ns);
    m.exporter.submitted += r.exporter.submitted;
    m.exporter.exported += r.exporter.exported;
    m.exporter.dropped_queue_full += r.exporter.dropped_queue_full;
    m.exporter.dropped_failed += r.exporter.dropped_failed;
    m.exporter.rejected += r.exporter.rejected;
    m.exporter.retries += r.exporter.retries;
    m.exporter.batches += r.exporter.batches;
    m.exporter.flushed = m.exporter.flushed && r.exporter.flushed;
    m.exporter.lost_traces += r.exporter.lost_traces;
    m.exporter.lost_untracked_spans += r.exporter.lost_untracked_spans;
    if (m.exporter.endpoint.empty()) m.exporter.endpoint = r.exporter.endpoint;
    // Per drop reason: the spans add up; the first error said stays the first report's.
    for (const ExportFailure& f : r.exporter.failures) {
      auto it = std::find_if(m.exporter.failures.begin(), m.exporter.failures.end(),
                             [&f](const ExportFailure& g) { return g.reason == f.reason; });
      if (it == m.exporter.failures.end()) {
        m.exporter.failures.push_back(f);
      } else {
        it->spans += f.spans;
      }
    }
    // Shards run side by side: their deliveries add up over the longest window.
    if (i > 0) {
      m.ingest.spans_exported += r.ingest.spans_exported;
      m.ingest.window_ns = std::max(m.ingest.window_ns, r.ingest.window_ns);
      m.ingest.spans_per_second =
          m.ingest.window_ns == 0 ? 0
                                  : static_cast<double>(m.ingest.spans_exported) * 1e9 /
                                        static_cast<double>(m.ingest.window_ns);
      auto add = [](std::optional<uint64_t>& into, const std::optional<uint64_t>& from) {
        into = into && from ? std::optional<uint64_t>(*into + *from) : std::nullopt;
      };
      add(m.ingest.backend_spans_accepted, r.ingest.backend_spans_accepted);
      add(m.ingest.backend_requests_rejected, r.ingest.backend_requests_rejected);
    }
    if (!r.verification_error.empty() && m.verification_error.empty()) {
      m.verification_error = fmt::format("report {}: {}", i + 1, r.verification_error);
      m.verification_error_code = r.verification_error_code;
    }
    m.verification_skipped = m.verification_skipped && r.verification_skipped;
    if (r.verification) {
      if (!any_verified) m.verification.emplace();
      any_verified = true;
      MergeVerification(*m.verification, *r.verification, max_examples, i + 1);
    }
  }
  // Most frequent first, as the driver orders them; ties keep the order they were first seen in.
  std::stable_sort(m.load.transport_error_reasons.begin(), m.load.transport_error_reasons.end(),
                   [](const TransportErrorReason& a, const TransportErrorReason& b) {
                     return a.count > b.count;
                   });
  if (m.verification) {
    m.verification_skipped = false;
    std::stable_sort(m.verification->break_edges.begin(), m.verification->break_edges.end(),
                     [](const BreakEdgeCount& a, const BreakEdgeCount& b) {
                       return std::tie(b.traces, a.hop) < std::tie(a.traces, b.hop);
                     });
    // As the verifier orders them: most traces first, then by hop.
    std::stable_sort(m.verification->time_to_queryable.late_hops.begin(),
                     m.verification->time_to_queryable.late_hops.end(),
                     [](const LateHop& a, const LateHop& b) {
                       return std::tie(b.traces, a.hop) < std::tie(a.traces, b.hop);
                     });
    if (auto& g = m.verification->backend_graph) {
      FinishBackendGraph(*g);
      // No backend served a list: when they all said the same ("not served by this backend"),
      // say it as they did, so the merge is judged as each report was.
      if (!g->fetched) {
        std::optional<std::string> same;
        bool differ = false;
        for (const RunReport& r : reports) {
          if (!r.verification || !r.verification->backend_graph) continue;
          if (same && *same != r.verification->backend_graph->error) differ = true;
          same = r.verification->backend_graph->error;
        }
        if (same && !differ) g->error = *same;
      }
    }
  }
  Judge(m);
  return m;
}

}  // namespace tracerig
