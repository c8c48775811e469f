#include "report/render.h"

#include <algorithm>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <optional>

#include <fmt/format.h>

#include "core/units.h"
#include "report/async_edges.h"
#include "report/run_identity.h"
#include "verifier/orphan_causes.h"

namespace tracerig {
namespace {

std::string UtcStamp(uint64_t unix_nano, const char* format) {
  std::time_t seconds = static_cast<std::time_t>(unix_nano / 1'000'000'000ull);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, format, &tm);
  return buf;
}

std::string Percentiles(const LatencyHistogram& h) {
  if (h.count() == 0) return "no samples";
  return fmt::format("p50 {}  p90 {}  p99 {}  max {}", FormatDuration(h.Percentile(50)),
                     FormatDuration(h.Percentile(90)), FormatDuration(h.Percentile(99)),
                     FormatDuration(h.max()));
}

// Where every span of a run went, each recorded span in exactly one category. Spans flow:
// recorded (by a service, or by the driver as its root CLIENT span) -> not sampled (dropped at
// once) -> withheld by a drop-span fault -> SpanSink::Submit -> the exporter counts each
// submitted span once as exported, rejected, dropped (queue full) or dropped (export failed), or
// still holds it when its final flush timed out.
struct SpanAccount {
  uint64_t by_services = 0;
  uint64_t by_driver = 0;  // one root span per request answered or failed (not the unfinished)
  uint64_t recorded = 0;
  uint64_t exported = 0;
  uint64_t sampled_out = 0;
  uint64_t withheld_by_faults = 0;
  uint64_t rejected = 0;
  uint64_t dropped_queue_full = 0;
  uint64_t dropped_failed = 0;
  uint64_t in_flight = 0;  // still in the exporter when the report was written
  // recorded minus the sum of the categories above: 0 unless a counter is wrong.
  int64_t unaccounted = 0;
};

SpanAccount AccountSpans(const RunReport& r) {
  SpanAccount a;
  a.by_services = r.topology.spans_recorded;
  // The driver hands a request's root span to the exporter when the request completes; those still
  // unanswered at the drain deadline never do.
  a.by_driver = r.load.sent - std::min(r.load.sent, r.load.unfinished);
  a.recorded = a.by_services + a.by_driver;
  a.exported = r.exporter.exported;
  a.sampled_out = r.topology.spans_unsampled + r.load.root_spans_unsampled;
  a.withheld_by_faults = r.topology.spans_dropped;
  a.rejected = r.exporter.rejected;
  a.dropped_queue_full = r.exporter.dropped_queue_full;
  a.dropped_failed = r.exporter.dropped_failed;
  const uint64_t settled = a.exported + a.rejected + a.dropped_queue_full + a.dropped_failed;
  a.in_flight = r.exporter.submitted - std::min(r.exporter.submitted, settled);
  a.unaccounted = static_cast<int64_t>(a.recorded) -
                  static_cast<int64_t>(settled + a.in_flight + a.sampled_out + a.withheld_by_faults);
  return a;
}

// "messages: 60 published (0 refused); 69 deliveries processed (9 redelivered, 0 dead-lettered,
// 9 batches); 0 unroutable; queues drained 52ms after the load".
std::string MessagesLine(const TopologyStats& t) {
  std::string text = fmt::format(
      "messages: {} published ({} refused); {} deliveries processed ({} redelivered, {} "
      "dead-lettered{}); {} unroutable",
      t.messages_published, t.publish_failures, t.messages_consumed, t.messages_redelivered,
      t.messages_dead_lettered, t.batches > 0 ? fmt::format(", {} batches", t.batches) : "",
      t.messages_unroutable);
  if (t.messages_left_queued > 0) {
    text += fmt::format("; {} still queued or in processing when the run stopped waiting ({})",
                        t.messages_left_queued, FormatDuration(t.queue_drain_ns));
  } else if (t.queue_drain_ns > 0) {
    text += fmt::format("; queues drained {} after the load", FormatDuration(t.queue_drain_ns));
  }
  return text;
}

nlohmann::ordered_json MessagesJson(const TopologyStats& t) {
  return {{"published", t.messages_published},
          {"publish_failures", t.publish_failures},
          {"consumed", t.messages_consumed},
          {"redelivered", t.messages_redelivered},
          {"dead_lettered", t.messages_dead_lettered},
          {"batches", t.batches},
          {"unroutable", t.messages_unroutable},
          {"queue_drain_ns", t.queue_drain_ns},
          {"left_queued", t.messages_left_queued}};
}

std::string SpansLine(const RunReport& r) {
  const SpanAccount a = AccountSpans(r);
  std::string text = fmt::format(
      "spans: {} recorded ({} by services, {} by the driver) = {} exported + {} not exported "
      "(sampled out) + {} withheld by faults + {} rejected by the backend + {} dropped (queue "
      "full) + {} dropped (export failed)",
      a.recorded, a.by_services, a.by_driver, a.exported, a.sampled_out, a.withheld_by_faults,
      a.rejected, a.dropped_queue_full, a.dropped_failed);
  if (a.in_flight > 0) text += fmt::format(" + {} still in the exporter", a.in_flight);
  if (a.unaccounted != 0) text += fmt::format(" + {} unaccounted", a.unaccounted);
  // Why the export failed, first error per reason: right after its count when that ends the sum.
  if (const std::string why = DescribeExportFailures(r.exporter); !why.empty()) {
    text += text.ends_with("dropped (export failed)") ? ": " + why : "; export failed: " + why;
  }
  if (!r.exporter.flushed) text += ", final flush timed out";
  return text;
}

nlohmann::ordered_json SpansJson(const RunReport& r) {
  const SpanAccount a = AccountSpans(r);
  return {{"recorded", a.recorded},
          {"recorded_by_services", a.by_services},
          {"recorded_by_driver", a.by_driver},
          {"exported", a.exported},
          {"sampled_out", a.sampled_out},
          {"withheld_by_faults", a.withheld_by_faults},
          {"rejected", a.rejected},
          {"dropped_queue_full", a.dropped_queue_full},
          {"dropped_failed", a.dropped_failed},
          {"in_flight", a.in_flight},
          {"unaccounted", a.unaccounted}};
}

nlohmann::ordered_json HistogramJson(const LatencyHistogram& h) {
  nlohmann::ordered_json j;
  j["count"] = h.count();
  j["min_ns"] = h.min();
  j["max_ns"] = h.max();
  j["mean_ns"] = h.mean();
  j["p50_ns"] = h.Percentile(50);
  j["p90_ns"] = h.Percentile(90);
  j["p99_ns"] = h.Percentile(99);
  j["p999_ns"] = h.Percentile(99.9);
  auto buckets = nlohmann::ordered_json::array();
  for (const auto& [lower, count] : h.NonEmptyBuckets()) buckets.push_back({lower, count});
  j["buckets"] = std::move(buckets);  // [lower bound ns, count]: enough to merge reports
  return j;
}

// Latency over time: one point per interval, each with the same histogram object as the whole run.
nlohmann::ordered_json TimelineJson(const LatencyTimeline& t) {
  auto points = nlohmann::ordered_json::array();
  for (size_t i = 0; i < t.points().size(); ++i) {
    const TimelinePoint& p = t.points()[i];
    nlohmann::ordered_json point;
    point["start_ns"] = static_cast<uint64_t>(i) * t.interval_ns();
    point["requests"] = p.requests;
    point["errors"] = p.errors;
    point["latency_corrected"] = HistogramJson(p.corrected.ToDense());
    points.push_back(std::move(point));
  }
  nlohmann::ordered_json j;
  j["interval_ns"] = t.interval_ns();
  j["points"] = std::move(points);
  return j;
}

nlohmann::ordered_json VerdictJson(const TraceVerdict& v) {
  nlohmann::ordered_json j;
  j["status"] = std::string(TraceStatusName(v.status));
  j["sequence"] = v.sequence;
  j["trace_id"] = v.trace_id.ToHex();
  j["request_id"] = FormatRequestId(v.request_id);
  j["expected_spans"] = v.expected_spans;
  j["found_spans"] = v.found_spans;
  auto missing = nlohmann::ordered_json::array();
  for (const auto& m : v.missing) {
    missing.push_back({{"hop", m.hop},
                       {"service", m.service},
                       {"kind", std::string(SpanKindName(m.kind))},
                       {"name", m.name}});
  }
  j["missing"] = std::move(missing);
  auto breaks = nlohmann::ordered_json::array();
  for (const auto& b : v.breaks) {
    breaks.push_back({{"hop", b.hop},
                      {"caller", b.caller},
                      {"callee", b.callee},
                      {"found_under", b.found_under.ToHex()}});
  }
  j["breaks"] = std::move(breaks);
  j["explanation"] = v.explanation;
  auto violations = nlohmann::ordered_json::array();
  for (const auto& x : v.violations) {
    violations.push_back(
        {{"kind", x.kind}, {"hop", x.hop}, {"service", x.service}, {"explanation", x.explanation}});
  }
  j["violations"] = std::move(violations);
  auto timings = nlohmann::ordered_json::array();
  for (const auto& t : v.timings) {
    timings.push_back({{"hop", t.hop},
                       {"kind", std::string(SpanKindName(t.kind))},
                       {"service", t.service},
                       {"start_unix_nano", t.start_unix_nano},
                       {"end_unix_nano", t.end_unix_nano}});
  }
  j["timings"] = std::move(timings);
  return j;
}

// verification.graph, and the comparison part of verification.backend_graph: one shape for both.
nlohmann::ordered_json GraphJson(const GraphComparison& g) {
  auto edges = nlohmann::ordered_json::array();
  for (const auto& e : g.edges) {
    edges.push_back({{"caller", e.caller},
                     {"callee", e.callee},
                     {"in_topology", e.in_topology},
                     {"expected_calls", e.expected_calls},
                     {"observed_calls", e.observed_calls},
                     {"status", e.status}});
  }
  return {{"missing", g.missing},
          {"unexpected", g.unexpected},
          {"count_mismatches", g.count_mismatches},
          {"edges", std::move(edges)}};
}

nlohmann::ordered_json TimeToQueryableJson(const TimeToQueryable& t) {
  auto late_hops = nlohmann::ordered_json::array();
  for (const auto& h : t.late_hops) {
    late_hops.push_back({{"hop", h.hop},
                         {"caller", h.caller},
                         {"callee", h.callee},
                         {"kind", std::string(SpanKindName(h.kind))},
                         {"traces", h.traces},
                         {"max_ns", h.max_ns}});
  }
  return {{"traces", t.traces},
          {"upper_bounds", t.upper_bounds},
          {"p50_ns", t.p50_ns},
          {"p90_ns", t.p90_ns},
          {"p99_ns", t.p99_ns},
          {"max_ns", t.max_ns},
          {"precision_ns", t.precision_ns},
          {"observed_p99_ns", t.observed_p99_ns},
          {"observed_max_ns", t.observed_max_ns},
          {"late_traces", t.late_traces},
          {"late_floor_ns", t.late_floor_ns},
          {"late_hops", std::move(late_hops)}};
}

// The backend's own dependency list: whether it was served, the window asked for, and the
// comparison with the expected edges in verification.graph's shape. The links themselves are not
// written: every one of them is an edge of the comparison (observed_calls).
nlohmann::ordered_json BackendGraphJson(const BackendGraph& g) {
  nlohmann::ordered_json j = {{"served", g.fetched},
                              {"error", g.error},
                              {"window_start_unix_micros", g.start_unix_micros},
                              {"window_end_unix_micros", g.end_unix_micros}};
  const nlohmann::ordered_json comparison = GraphJson(g.comparison);
  for (const auto& item : comparison.items()) j[item.key()] = item.value();
  return j;
}

nlohmann::ordered_json ExportFailuresJson(const std::vector<ExportFailure>& failures) {
  auto j = nlohmann::ordered_json::array();
  for (const ExportFailure& f : failures) {
    j.push_back({{"reason", f.reason}, {"spans", f.spans}, {"first_error", f.first_error}});
  }
  return j;
}

nlohmann::ordered_json TransportErrorReasonsJson(const std::vector<TransportErrorReason>& reasons) {
  auto j = nlohmann::ordered_json::array();
  for (const TransportErrorReason& r : reasons) {
    j.push_back({{"reason", r.reason}, {"count", r.count}, {"first_message", r.first_message}});
  }
  return j;
}

// "transport errors: 511288 (511288 connection refused: connect: Connection refused)": why the
// requests failed, by kind, as wrk's "Socket errors" line. Only when the kinds are known.
std::string TransportErrorsLine(const DriverResult& l) {
  if (l.transport_errors == 0 || l.transport_error_reasons.empty()) return "";
  return fmt::format("transport errors: {} ({})", l.transport_errors, DescribeTransportErrors(l));
}

}  // namespace

std::string RenderTerminalSummary(const RunReport& r) {
  std::string out;
  auto line = [&out](const std::string& s) {
    out += s;
    out += '\n';
  };
  line(fmt::format("tracerig {} · scenario \"{}\" ({}) · seed {}", r.tracerig_version,
                   r.scenario_name, r.scenario_file, r.seed));
  line(fmt::format("backend: {}", r.backend));
  const auto& l = r.load;
  if (!r.load_measured) {
    line("load: not known (verify only): the requests were sent by an earlier run");
    line(
        fmt::format("ledger: {} requests: {} ok, {} HTTP errors, {} transport errors (as the run "
                    "recorded them)",
                    l.sent, l.ok, l.http_errors, l.transport_errors));
    if (const std::string why = TransportErrorsLine(l); !why.empty()) line(why);
  } else {
    const double seconds = static_cast<double>(l.elapsed_ns) / 1e9;
    line(fmt::format(
        "load: {} requests sent in {:.1f}s ({}){}{}{}", l.sent, seconds,
        r.load_model == "constant"
            ? fmt::format("target {}/s for {}", r.target_rate, FormatDuration(r.target_duration_ns))
            : fmt::format("model {} over {}", r.load_model, FormatDuration(r.target_duration_ns)),
        l.warmup ? fmt::format(", {} in warm-up left out of latency", l.warmup) : "",
        l.interrupted ? " — interrupted" : "",
        l.unsent ? fmt::format(" ({} more were due but never sent)", l.unsent) : ""));
    // transport_errors counts the unfinished requests too: the sum is over the first three.
    line(fmt::format("      = {} ok + {} HTTP errors + {} transport errors{}", l.ok, l.http_errors,
                     l.transport_errors,
                     l.unfinished ? fmt::format(" ({} of them unfinished: no answer by the drain "
                                                "deadline)",
                                                l.unfinished)
                                  : ""));
    if (const std::string why = TransportErrorsLine(l); !why.empty()) line(why);
    line(fmt::format("latency (from intended start): {}", Percentiles(l.corrected)));
    line(fmt::format("latency (from actual send):    {}", Percentiles(l.uncorrected)));
    line(SpansLine(r));
    if (r.topology.UsedMessaging()) line(MessagesLine(r.topology));
    if (r.ingest.window_ns > 0) {
      std::string backend_says;
      if (r.ingest.backend_spans_accepted) {
        backend_says =
            fmt::format("; the backend counted {} accepted", *r.ingest.backend_spans_accepted);
        if (r.ingest.backend_requests_rejected.value_or(0) > 0) {
          backend_says +=
              fmt::format(", {} requests rejected", *r.ingest.backend_requests_rejected);
        }
      }
      line(fmt::format("ingest: {} spans delivered in {} = {:.0f} spans/s{}",
                       r.ingest.spans_exported, FormatDuration(r.ingest.window_ns),
                       r.ingest.spans_per_second, backend_says));
    }
  }
  if (r.verification) {
    const auto& v = *r.verification;
    line(fmt::format("traces checked: {} · complete {} · incomplete {} · broken {} · missing {}{}{} "
                     "({} backend queries {})",
                     v.checked, v.complete, v.incomplete, v.broken, v.missing,
                     v.evicted > 0 ? fmt::format(" · evicted by the backend {}", v.evicted) : "",
                     v.not_exported ? fmt::format(" · not exported {}", v.not_exported) : "",
                     v.backend_requests, VerificationTime(v)));
    if (v.evicted > 0) {
      std::string figures;
      if (v.backend_store) {
        const BackendStoreStats& s = *v.backend_store;
        figures = fmt::format(" (it evicted {} traces, {} spans in all", s.traces_evicted,
                              s.spans_evicted);
        if (s.max_spans > 0) figures += fmt::format("; max spans {}", s.max_spans);
        if (s.max_bytes > 0) figures += fmt::format("; max bytes {}", s.max_bytes);
        figures += ")";
      }
      line(fmt::format("  evicted by the backend: {} traces were in the backend and dropped by it "
                       "to stay within its bounds{}; not lost on the way, but not verifiable: "
                       "raise its limits (tracerig backend --max-spans / --max-bytes) or verify "
                       "sooner (without --verify-after-load)",
                       v.evicted, figures));
    }
    for (const auto& e : v.break_edges) {
      line(fmt::format("  propagation breaks {} -> {} (hop {}): {} traces", e.caller, e.callee, e.hop,
                       e.traces));
    }
    for (const auto& h : v.external_hops) line("  " + DescribeExternalHop(h));
    for (const auto& ex : v.examples) {
      line(fmt::format("  {} trace {}: {}", TraceStatusName(ex.status), ex.trace_id.ToHex(),
                       ex.explanation));
    }
    for (const auto& [kind, traces] : v.violation_counts) {
      line(fmt::format("  {} traces with {} violations", traces, kind));
    }
    for (const auto& c : v.orphan_causes) line("  orphans: " + DescribeOrphanCause(c));
    if (v.time_to_queryable.traces > 0) {
      const auto& t = v.time_to_queryable;
      // A trace complete at its first poll only bounds its time to queryable from above, and
      // polls start after the load, so a long run inflates those bounds: say how many there are,
      // and give the figures judged (traces seen incomplete, then complete) on a line of their own.
      std::string text = fmt::format(
          "time to queryable: p50 {}  p90 {}  p99 {}  max {} ({} traces, each +{} at most)",
          FormatDuration(t.p50_ns), FormatDuration(t.p90_ns), FormatDuration(t.p99_ns),
          FormatDuration(t.max_ns), t.traces, FormatDuration(t.precision_ns));
      if (t.upper_bounds > 0) {
        text += fmt::format("; {} of them already complete at a first poll long after their end, which only bounds them",
                            t.upper_bounds);
      }
      line(text);
      if (t.upper_bounds > 0 && t.upper_bounds < t.traces) {
        line(fmt::format("  seen becoming queryable ({} traces): p99 {}  max {}",
                         t.traces - t.upper_bounds, FormatDuration(t.observed_p99_ns),
                         FormatDuration(t.observed_max_ns)));
      }
    }
    for (const auto& h : v.time_to_queryable.late_hops) {
      line(fmt::format("  late spans {} -> {} (hop {}, {}): {} traces, up to {}", h.caller,
                       h.callee, h.hop, SpanKindName(h.kind), h.traces, FormatDuration(h.max_ns)));
    }
    if (const std::string q = QueueLatencyLine(v.queue_latency, r.merged_from.size()); !q.empty()) {
      line(q);
    }
    // Checkable links are the "links" check below; otherwise no verdict, only why.
    if (v.links && !v.links->checkable) line(DescribeLinks(*v.links));
    if (v.backend_graph && v.backend_graph->fetched && !v.backend_graph->comparison.Matches()) {
      line(fmt::format("backend dependency list: {} expected edges missing, {} unexpected",
                       v.backend_graph->comparison.missing,
                       v.backend_graph->comparison.unexpected));
    }
    if (!v.graph.Matches()) {
      line(fmt::format("service graph: {} expected edges missing, {} unexpected, {} call counts off",
                       v.graph.missing, v.graph.unexpected, v.graph.count_mismatches));
    }
  }
  for (const auto& c : r.checks) {
    line(fmt::format("  [{}] {}: {}", c.passed ? "pass" : (c.enforced ? "FAIL" : "warn"), c.name,
                     c.message));
  }
  line(r.verdict);
  return out;
}

nlohmann::ordered_json ReportToJson(const RunReport& r) {
  nlohmann::ordered_json j;
  j["schema_version"] = kReportSchemaVersion;
  j["tracerig_version"] = r.tracerig_version;
  j["run_id"] = RunIdOf(r);
  auto merged_from = nlohmann::ordered_json::array();
  for (const MergedRun& run : r.merged_from) {
    merged_from.push_back({{"run_id", run.run_id},
                           {"file", run.file},
                           {"requests", run.requests},
                           {"verified", run.verified}});
  }
  j["merged_from"] = std::move(merged_from);
  j["scenario"] = {{"name", r.scenario_name}, {"file", r.scenario_file}, {"seed", r.seed}};
  j["backend"] = r.backend;
  j["started_at"] = UtcStamp(r.started_unix_nano, "%Y-%m-%dT%H:%M:%SZ");
  j["finished_at"] = UtcStamp(r.finished_unix_nano, "%Y-%m-%dT%H:%M:%SZ");
  j["verdict"] = {{"exit_code", r.exit_code}, {"summary", r.verdict}};
  auto checks = nlohmann::ordered_json::array();
  for (const auto& c : r.checks) {
    checks.push_back({{"name", c.name},
                      {"passed", c.passed},
                      {"enforced", c.enforced},
                      {"message", c.message}});
  }
  j["checks"] = std::move(checks);
  j["fail_on"] = FormatFailOn(r.fail_on);
  auto optional_ns = [](const std::optional<uint64_t>& ns) {
    return ns ? nlohmann::ordered_json(*ns) : nlohmann::ordered_json(nullptr);
  };
  j["expect"] = {{"completeness", r.expect.completeness},
                 {"broken", r.expect.broken},
                 {"time_to_queryable_p99_ns", optional_ns(r.expect.time_to_queryable_p99_ns)},
                 {"time_to_queryable_max_ns", optional_ns(r.expect.time_to_queryable_max_ns)}};
  auto services = nlohmann::ordered_json::array();
  for (const auto& s : r.services) services.push_back({{"name", s.name}, {"url", s.url}});
  j["services"] = std::move(services);
  auto expected_edges = nlohmann::ordered_json::array();
  for (const auto& e : r.expected_edges) {
    expected_edges.push_back({{"hop", e.hop}, {"caller", e.caller}, {"callee", e.callee}});
    if (e.async) expected_edges.back()["async"] = true;  // publish -> consume
  }
  j["expected_edges"] = std::move(expected_edges);
  const auto& l = r.load;
  j["load"] = {{"measured", r.load_measured},
               {"model", r.load_model},
               {"target_rate", r.target_rate},
               {"target_duration_ns", r.target_duration_ns},
               {"planned", l.planned},
               {"sent", l.sent},
               {"warmup", l.warmup},
               {"ok", l.ok},
               {"http_errors", l.http_errors},
               {"transport_errors", l.transport_errors},
               {"transport_error_reasons", TransportErrorReasonsJson(l.transport_error_reasons)},
               {"unfinished", l.unfinished},
               {"root_spans_unsampled", l.root_spans_unsampled},
               {"unsent", l.unsent},
               {"elapsed_ns", l.elapsed_ns},
               {"interrupted", l.interrupted},
               {"latency_corrected", HistogramJson(l.corrected)},
               {"latency_uncorrected", HistogramJson(l.uncorrected)},
               {"schedule_lag", HistogramJson(l.schedule_lag)},
               {"timeline", TimelineJson(l.timeline)}};
  j["topology"] = {{"requests", r.topology.requests},
                   {"unknown_route", r.topology.unknown_route},
                   {"spans_recorded", r.topology.spans_recorded},
                   {"spans_unsampled", r.topology.spans_unsampled},
                   {"spans_withheld_by_faults", r.topology.spans_dropped},
                   {"call_failures", r.topology.call_failures}};
  if (r.topology.UsedMessaging()) j["topology"]["messages"] = MessagesJson(r.topology);
  j["export"] = {{"submitted", r.exporter.submitted},
                 {"exported", r.exporter.exported},
                 {"dropped_queue_full", r.exporter.dropped_queue_full},
                 {"dropped_failed", r.exporter.dropped_failed},
                 {"rejected", r.exporter.rejected},
                 {"retries", r.exporter.retries},
                 {"batches", r.exporter.batches},
                 {"flushed", r.exporter.flushed},
                 {"endpoint", r.exporter.endpoint},
                 {"failures", ExportFailuresJson(r.exporter.failures)},
                 {"lost_traces", r.exporter.lost_traces},
                 {"lost_untracked_spans", r.exporter.lost_untracked_spans}};
  j["spans"] = r.load_measured ? SpansJson(r) : nlohmann::ordered_json(nullptr);
  auto nullable = [](const std::optional<uint64_t>& v) {
    return v ? nlohmann::ordered_json(*v) : nlohmann::ordered_json(nullptr);
  };
  j["ingest"] = {{"spans_exported", r.ingest.spans_exported},
                 {"window_ns", r.ingest.window_ns},
                 {"spans_per_second", r.ingest.spans_per_second},
                 {"backend_spans_accepted", nullable(r.ingest.backend_spans_accepted)},
                 {"backend_requests_rejected", nullable(r.ingest.backend_requests_rejected)}};
  if (r.verification) {
    const auto& v = *r.verification;
    auto examples = nlohmann::ordered_json::array();
    for (const auto& ex : v.examples) examples.push_back(VerdictJson(ex));
    auto violation_examples = nlohmann::ordered_json::array();
    for (const auto& ex : v.violation_examples) violation_examples.push_back(VerdictJson(ex));
    nlohmann::ordered_json violation_counts = nlohmann::ordered_json::object();
    for (const auto& [kind, traces] : v.violation_counts) violation_counts[kind] = traces;
    auto orphan_causes = nlohmann::ordered_json::array();
    for (const auto& c : v.orphan_causes) {
      orphan_causes.push_back({{"service", c.service},
                               {"policy", c.policy},
                               {"cause_service", c.cause_service},
                               {"cause_policy", c.cause_policy},
                               {"parent_service", c.parent_service},
                               {"traces", c.traces},
                               {"example_sequence", c.example_sequence},
                               {"example_trace_id", c.example_trace.ToHex()}});
    }
    auto edges = nlohmann::ordered_json::array();
    for (const auto& e : v.break_edges) {
      edges.push_back({{"hop", e.hop}, {"caller", e.caller}, {"callee", e.callee}, {"traces", e.traces}});
    }
    j["verification"] = {{"checked", v.checked},
                         {"complete", v.complete},
                         {"incomplete", v.incomplete},
                         {"broken", v.broken},
                         {"missing", v.missing},
                         {"evicted", v.evicted},
                         {"not_exported", v.not_exported},
                         {"skipped_unsampled", v.skipped_unsampled},
                         {"break_edges", std::move(edges)},
                         {"examples", std::move(examples)},
                         {"traces_with_violations", v.traces_with_violations},
                         {"violation_counts", std::move(violation_counts)},
                         {"violation_examples", std::move(violation_examples)},
                         {"orphan_causes", std::move(orphan_causes)},
                         {"polls", v.polls},
                         {"backend_requests", v.backend_requests},
                         {"elapsed_ns", v.elapsed_ns},
                         {"streamed", v.streamed},
                         {"after_load_ns", v.after_load_ns},
                         {"deadline_hit", v.deadline_hit}};
    auto sampling = nlohmann::ordered_json::array();
    for (const auto& s : v.sampling) {
      sampling.push_back({{"service", s.service},
                          {"policy", s.policy},
                          {"n", s.n},
                          {"k", s.k},
                          {"observed", s.observed},
                          {"expected", s.expected},
                          {"interval_low", s.interval_low},
                          {"interval_high", s.interval_high},
                          {"confidence", s.confidence},
                          {"verdict", s.verdict},
                          {"parent_based_inconsistencies", s.parent_based_inconsistencies},
                          {"withheld_by_faults", s.withheld_by_faults},
                          {"reason", s.reason}});
    }
    j["verification"]["sampling"] = std::move(sampling);
    if (!v.external_hops.empty()) {
      auto hops = nlohmann::ordered_json::array();
      for (const auto& h : v.external_hops) {
        hops.push_back({{"external", h.external},
                        {"callee", h.callee},
                        {"requests", h.requests},
                        {"tied", h.tied},
                        {"untied_continued", h.untied_continued},
                        {"untied_not_continued", h.untied_not_continued},
                        {"broken_traces", h.broken_traces},
                        {"attribution", h.attribution}});
      }
      j["verification"]["external_hops"] = std::move(hops);
    }
    // Only when the scenario publishes (queue latency) or batches (links).
    if (!v.queue_latency.empty()) {
      j["verification"]["queue_latency"] = QueueLatencyJson(v.queue_latency);
    }
    if (v.links) j["verification"]["links"] = LinksJson(*v.links);
    auto expectations = nlohmann::ordered_json::array();
    for (const auto& e : v.sampling_expectations) {
      expectations.push_back({{"name", e.name},
                              {"n", e.n},
                              {"k", e.k},
                              {"expected", e.expected},
                              {"interval_low", e.interval_low},
                              {"interval_high", e.interval_high},
                              {"confidence", e.confidence},
                              {"verdict", e.verdict},
                              {"message", e.message},
                              {"trace_level", e.trace_level}});
    }
    j["verification"]["sampling_expectations"] = std::move(expectations);
    j["verification"]["graph"] = GraphJson(v.graph);
    j["verification"]["time_to_queryable"] = TimeToQueryableJson(v.time_to_queryable);
    j["verification"]["backend_store"] =
        v.backend_store ? nlohmann::ordered_json{{"traces_evicted", v.backend_store->traces_evicted},
                                                 {"spans_evicted", v.backend_store->spans_evicted},
                                                 {"evicted_through_unix_nano",
                                                  v.backend_store->evicted_through_unix_nano},
                                                 {"max_spans", v.backend_store->max_spans},
                                                 {"max_bytes", v.backend_store->max_bytes}}
                        : nlohmann::ordered_json(nullptr);
    j["verification"]["backend_graph"] =
        v.backend_graph ? BackendGraphJson(*v.backend_graph) : nlohmann::ordered_json(nullptr);
  } else {
    j["verification"] = {{"skipped", r.verification_skipped},
                         {"error", r.verification_error},
                         {"error_code", std::string(ErrorCodeName(r.verification_error_code))}};
  }
  return j;
}

std::string ReportDirName(const RunReport& report) {
  std::string name;
  for (char c : report.scenario_name) {
    bool safe = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '-' || c == '_' || c == '.';
    name += safe ? c : '_';
  }
  if (name.empty()) name = "run";
  return name + "-" + UtcStamp(report.started_unix_nano, "%Y%m%dT%H%M%SZ");
}

Result<std::string> WriteReportFile(const std::string& dir, const std::string& name,
                                    const std::string& content) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return MakeError(fmt::format("cannot create report directory {}: {}", dir, ec.message()));
  std::string path = (std::filesystem::path(dir) / name).string();
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << content;
    if (!out) return MakeError(fmt::format("cannot write {}", tmp));
  }
  std::filesystem::rename(tmp, path, ec);
  if (ec) return MakeError(fmt::format("cannot write {}: {}", path, ec.message()));
  return path;
}

Result<std::string> WriteJsonReport(const RunReport& report, const std::string& dir) {
  return WriteReportFile(dir, "report.json", ReportToJson(report).dump(2) + "\n");
}

}  // namespace tracerig
