#include "report/run_report.h"

#include <algorithm>
#include <charconv>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include <fmt/format.h>

#include "core/text.h"
#include "core/units.h"
#include "report/async_edges.h"
#include "report/run_identity.h"
#include "topology/expected_tree.h"
#include "verifier/orphan_causes.h"

namespace tracerig {

std::vector<uint64_t> HopPath(std::string_view hop) {
  std::vector<uint64_t> path;
  while (!hop.empty()) {
    const size_t dot = hop.find('.');
    const std::string_view part = hop.substr(0, dot);
    uint64_t n = 0;
    std::from_chars(part.data(), part.data() + part.size(), n);
    path.push_back(n);
    hop = dot == std::string_view::npos ? std::string_view{} : hop.substr(dot + 1);
  }
  return path;
}

namespace {

// "2.13 s", "1 s": three significant digits, as the time-to-queryable message compares them.
std::string Seconds(uint64_t nanos) {
  return fmt::format("{:.3g} s", static_cast<double>(nanos) / 1e9);
}

// The time-to-queryable check, when the scenario sets an expectation: judged on the observed
// figures (TimeToQueryable: traces complete at their first poll count as on time), naming the
// hops whose spans arrived late.
CheckResult TimeToQueryableCheck(const TimeToQueryable& t, const Expectations& expect) {
  CheckResult check{"time-to-queryable", true, "", true};
  if (t.traces == 0) {
    check.message = "not judged: no complete trace gave a time-to-queryable sample";
    return check;
  }
  std::vector<std::string> exceeded;
  std::vector<std::string> within;
  auto compare = [&](const char* what, uint64_t observed, const std::optional<uint64_t>& bound) {
    if (!bound) return;
    const bool over = observed > *bound;
    (over ? exceeded : within)
        .push_back(fmt::format("{} {} {} {}", what, Seconds(observed), over ? ">" : "<=",
                               Seconds(*bound)));
  };
  compare("p99", t.observed_p99_ns, expect.time_to_queryable_p99_ns);
  compare("max", t.observed_max_ns, expect.time_to_queryable_max_ns);
  check.passed = exceeded.empty();
  std::vector<std::string> parts = exceeded;
  parts.insert(parts.end(), within.begin(), within.end());
  check.message = fmt::format("time to queryable {}", fmt::join(parts, ", "));
  const size_t late = t.traces - t.upper_bounds;
  check.message += fmt::format(" ({} of {} traces seen incomplete first, then complete", late,
                               t.traces);
  check.message += t.upper_bounds > 0
                       ? fmt::format("; {} complete at their first poll count as on time)",
                                     t.upper_bounds)
                       : ")";
  if (!t.late_hops.empty()) {
    std::vector<std::string> hops;
    for (const LateHop& h : t.late_hops) {
      hops.push_back(fmt::format("{} -> {} (hop {}, {} span): {} traces, up to {}", h.caller,
                                 h.callee, h.hop, SpanKindName(h.kind), h.traces,
                                 Seconds(h.max_ns)));
    }
    check.message += fmt::format("; late spans at {}", fmt::join(hops, "; "));
  }
  return check;
}

// The backend's own dependency list: fails on expected edges it lacks. Unexpected edges and call
// counts are reported, never failed: the backend aggregates every trace in the window, other
// applications' included.
std::optional<CheckResult> BackendGraphCheck(const BackendGraph& g) {
  if (!g.fetched) {
    // A backend without the endpoint has nothing to compare: no check, the report says why.
    if (g.error.starts_with("not served")) return std::nullopt;
    return CheckResult{"backend-graph", true, "not compared: " + g.error, true};
  }
  std::vector<std::string> missing;
  std::vector<std::string> unexpected;
  for (const EdgeComparison& e : g.comparison.edges) {
    if (e.status == "missing") missing.push_back(fmt::format("{} -> {}", e.caller, e.callee));
    if (e.status == "unexpected") {
      unexpected.push_back(
          fmt::format("{} -> {} ({} calls)", e.caller, e.callee, e.observed_calls));
    }
  }
  CheckResult check{"backend-graph", missing.empty(), "", true};
  const size_t expected = g.comparison.edges.size() - unexpected.size();
  check.message = missing.empty()
                      ? fmt::format("the backend's dependency list has all {} expected edges",
                                    expected)
                      : fmt::format("the backend's dependency list lacks {} of {} expected edges: "
                                    "{}",
                                    missing.size(), expected, fmt::join(missing, ", "));
  if (!unexpected.empty()) {
    check.message += fmt::format("; edges not in the topology (other traffic in the window?): {}",
                                 fmt::join(unexpected, ", "));
  }
  return check;
}

// "drop-span in 6 requests, unsampled-child in 2 requests".
std::string WithheldByFaults(const SamplingVerdict& s) {
  std::vector<std::string> parts;
  for (const auto& [fault, requests] : s.withheld_by_faults) {
    parts.push_back(fmt::format("{} in {} request{}", fault, requests, requests == 1 ? "" : "s"));
  }
  return fmt::format("{}", fmt::join(parts, ", "));
}

std::string SamplingMessage(const SamplingVerdict& s) {
  if (s.verdict == "not judged") return fmt::format("{} not judged: {}", s.service, s.reason);
  const bool withheld = !s.withheld_by_faults.empty();
  if (s.n == 0 && withheld) {
    return fmt::format("{} not judged: its spans were withheld by fault {} (every request that "
                       "reached it), as configured",
                       s.service, WithheldByFaults(s));
  }
  std::string message =
      s.verdict != "not enough traces"
          ? fmt::format("{}: {} of {} requests sampled ({:.4f}); policy {} expects {:.4f}, "
                        "{:g}% interval [{:.4f}, {:.4f}]",
                        s.service, s.k, s.n, s.observed, s.policy, s.expected,
                        s.confidence * 100, s.interval_low, s.interval_high)
          : fmt::format("not enough traces to judge {} ({} requests, policy {})", s.service, s.n,
                        s.policy);
  if (withheld) {
    message += fmt::format("; {}: spans withheld by fault {}, as configured (left out of the "
                           "count, not sampled out)",
                           s.service, WithheldByFaults(s));
  }
  return message;
}

}  // namespace

std::string_view CheckKind(std::string_view check_name) {
  if (check_name.starts_with("violation:")) return "trace-structure";
  if (check_name.starts_with("sampling:")) return "sampling";
  if (check_name.starts_with("orphans:")) return "orphans";
  if (check_name == "links") return "trace-structure";  // a batch span's links are its structure
  return check_name;
}

Result<FailOn> ParseFailOn(std::string_view text) {
  FailOn fail_on;
  const std::string_view trimmed = TrimSpaceAndTab(text);
  if (trimmed == "all") return fail_on;
  fail_on.kinds.clear();
  if (trimmed == "none") return fail_on;
  std::string_view rest = trimmed;
  if (rest.empty()) {
    return MakeError(fmt::format("--fail-on: give check kinds, \"all\" or \"none\"; kinds: {}",
                                 fmt::join(kCheckKinds, ", ")));
  }
  while (true) {
    const size_t comma = rest.find(',');
    const std::string_view word = TrimSpaceAndTab(rest.substr(0, comma));
    if (word.empty()) {
      return MakeError(fmt::format("--fail-on \"{}\": an empty check kind between commas", text));
    }
    if (std::find(std::begin(kCheckKinds), std::end(kCheckKinds), word) == std::end(kCheckKinds)) {
      return MakeError(
          fmt::format("--fail-on: unknown check kind \"{}\"{}; kinds: {} (or all, none)", word,
                      DidYouMean(word, kCheckKinds), fmt::join(kCheckKinds, ", ")));
    }
    fail_on.kinds.emplace(word);  // repeats are harmless
    if (comma == std::string_view::npos) break;
    rest = rest.substr(comma + 1);
  }
  return fail_on;
}

std::string FormatFailOn(const FailOn& fail_on) {
  if (fail_on.kinds.empty()) return "none";
  if (fail_on == FailOn{}) return "all";
  std::vector<std::string_view> kinds;
  for (std::string_view kind : kCheckKinds) {  // judgement order, not alphabetical
    if (fail_on.kinds.count(kind)) kinds.push_back(kind);
  }
  return fmt::format("{}", fmt::join(kinds, ","));
}

std::vector<GraphEdge> ExpectedGraphEdges(const Scenario& scenario) {
  std::vector<GraphEdge> edges;
  for (const auto& entry : scenario.load.entries) {
    const ExpectedTree tree = BuildExpectedTree(scenario, entry);
    for (const auto& span : tree.spans) {
      // A retry that only a timeout would cause is no edge of the topology's own shape. A call a
      // real service makes has no CLIENT span of tracerig's: its callee's SERVER span stands in.
      if (span.optional) continue;
      GraphEdge edge{span.hop, span.service, span.peer};
      if (span.kind == SpanKind::kServer && span.parent_external) {
        edge = GraphEdge{span.hop, span.peer, span.service};
      } else if (span.kind == SpanKind::kConsumer && span.parent >= 0 &&
                 tree.spans[static_cast<size_t>(span.parent)].kind == SpanKind::kProducer) {
        // The publisher's PRODUCER span is the CONSUMER span's parent (or, batched, its link).
        edge = GraphEdge{span.hop, tree.spans[static_cast<size_t>(span.parent)].service,
                         span.service, true};
      } else if (span.kind != SpanKind::kClient) {
        continue;
      }
      if (std::find(edges.begin(), edges.end(), edge) == edges.end()) edges.push_back(edge);
    }
  }
  std::stable_sort(edges.begin(), edges.end(), [](const GraphEdge& a, const GraphEdge& b) {
    return std::make_tuple(HopPath(a.hop), a.caller, a.callee) <
           std::make_tuple(HopPath(b.hop), b.caller, b.callee);
  });
  return edges;
}

std::string VerificationTime(const VerificationSummary& v) {
  if (!v.streamed) return "in " + FormatDuration(v.elapsed_ns);
  return "alongside the load, then " + FormatDuration(v.after_load_ns);
}

std::string DescribeExportFailures(const ExportFigures& e) {
  std::vector<std::string> parts;
  for (const ExportFailure& f : e.failures) {
    parts.push_back(fmt::format("{} {}", f.spans, f.first_error));
  }
  return fmt::format("{}", fmt::join(parts, "; "));
}

std::string DescribeTransportErrors(const DriverResult& load) {
  if (load.transport_error_reasons.empty()) return "";
  std::vector<std::string> parts;
  uint64_t counted = 0;
  for (const TransportErrorReason& r : load.transport_error_reasons) {
    counted += r.count;
    parts.push_back(r.first_message.empty()
                        ? fmt::format("{} {}", r.count, r.reason)
                        : fmt::format("{} {}: {}", r.count, r.reason, r.first_message));
  }
  if (counted < load.transport_errors) {
    parts.push_back(fmt::format("{} of no recorded kind", load.transport_errors - counted));
  }
  return fmt::format("{}", fmt::join(parts, "; "));
}

namespace {

// How much of the plan an interrupted load ran: the requests of the open loop's schedule, else
// (the closed loop plans a duration; older reports have no count) the time.
std::string PlanRan(const RunReport& report) {
  const DriverResult& load = report.load;
  if (load.planned > 0) {
    return fmt::format("{} of {} planned requests sent", load.sent, load.planned);
  }
  if (report.target_duration_ns == 0) return fmt::format("{} requests sent", load.sent);
  return fmt::format("{} requests sent in {} of {} planned", load.sent,
                     FormatDuration(load.elapsed_ns), FormatDuration(report.target_duration_ns));
}

void JudgeRun(RunReport& report);

}  // namespace

void Judge(RunReport& report) {
  JudgeRun(report);
  // Spans the exporter could not deliver: the checks judged a backend that did not get the whole
  // load. An earlier infrastructure error or an interrupt before anything ran says more.
  const ExportFigures& e = report.exporter;
  if (e.dropped_failed > 0 && report.exit_code != kExitInfrastructure &&
      report.exit_code != kExitInterrupted) {
    report.exit_code = kExitInfrastructure;
    report.verdict = fmt::format("ERROR: the exporter could not deliver {} of {} spans to {}: {}",
                                 e.dropped_failed, e.submitted,
                                 e.endpoint.empty() ? "the backend" : e.endpoint,
                                 DescribeExportFailures(e));
  }
  // "PASS: ..." -> "PASS (interrupted): ...; 2 of 120 planned requests sent".
  if (!report.load.interrupted) return;
  const size_t colon = report.verdict.find(':');
  if (colon == std::string::npos) return;
  report.verdict.insert(colon, " (interrupted)");
  report.verdict += "; " + PlanRan(report);
}

namespace {

void JudgeRun(RunReport& report) {
  report.checks.clear();
  const auto& load = report.load;

  // The topology must actually have served the load: if most requests never got an answer, the
  // run measured nothing about tracing.
  if (load.sent > 0 && load.transport_errors * 2 > load.sent) {
    report.exit_code = kExitInfrastructure;
    // Why they failed, so a reader of the verdict alone sees "connection refused".
    const std::string why = DescribeTransportErrors(load);
    report.verdict = fmt::format(
        "ERROR: {} of {} requests failed at the transport level{}; the topology did not serve the "
        "load",
        load.transport_errors, load.sent, why.empty() ? "" : " (" + why + ")");
    return;
  }
  if (!report.verification_error.empty()) {
    report.exit_code = ExitCodeForError(report.verification_error_code);
    report.verdict = "ERROR: " + report.verification_error;
    return;
  }
  if (report.verification_skipped || !report.verification) {
    report.exit_code = load.interrupted && load.sent == 0 ? kExitInterrupted : kExitPass;
    report.verdict = report.verification_skipped ? "DONE: verification skipped (--no-verify)"
                                                 : "DONE: nothing to verify";
    return;
  }
  const auto& v = *report.verification;
  if (v.checked == 0) {
    report.exit_code = load.interrupted ? kExitInterrupted : kExitPass;
    report.verdict = "DONE: no sampled traces to verify";
    return;
  }

  // A backend expected to sample whole traces itself (trace-level `[expect] sampling` entries)
  // keeps only some: completeness is then over the traces it kept.
  const bool backend_samples =
      std::any_of(v.sampling_expectations.begin(), v.sampling_expectations.end(),
                  [](const SamplingExpectationVerdict& e) { return e.trace_level; });
  // Traces tracerig failed to export say nothing about the backend.
  const size_t judged =
      (backend_samples ? v.checked - v.missing : v.checked) - v.not_exported;
  const double completeness =
      judged == 0 ? 1.0 : static_cast<double>(v.complete) / static_cast<double>(judged);
  CheckResult complete{
      "completeness", completeness >= report.expect.completeness,
      fmt::format("{:.4f} of {}traces complete ({} of {}), expected at least {}", completeness,
                  backend_samples ? "kept " : "", v.complete, judged, report.expect.completeness),
      true};
  if (v.evicted > 0) {
    complete.message += fmt::format(
        "; {} evicted by the backend to stay within its bounds (not lost on the way)", v.evicted);
  }
  CheckResult broken{"broken-propagation", v.broken <= report.expect.broken,
                     fmt::format("{} traces with broken propagation, at most {} allowed", v.broken,
                                 report.expect.broken),
                     true};
  for (const auto& edge : v.break_edges) {
    broken.message += fmt::format("; {} -> {} (hop {}): {} traces", edge.caller, edge.callee,
                                  edge.hop, edge.traces);
  }
  CheckResult exported{"spans-exported",
                       report.exporter.dropped_queue_full == 0 && report.exporter.dropped_failed == 0,
                       fmt::format("{} spans exported, {} dropped (queue full), {} dropped (export "
                                   "failed)",
                                   report.exporter.exported, report.exporter.dropped_queue_full,
                                   report.exporter.dropped_failed),
                       true};
  if (!report.load_measured) {
    exported.message = "not known: the spans were exported by the run that wrote the ledger";
  } else if (!report.exporter.failures.empty()) {
    exported.message += ": " + DescribeExportFailures(report.exporter);
  }
  report.checks = {complete, broken, exported};
  // Structure of the traces that arrived: one check when clean, one failing check per kind.
  if (v.violation_counts.empty()) {
    // Subtrees below a sampled-out parent are not structural orphans: their own checks follow.
    report.checks.push_back({"trace-structure", true,
                             fmt::format("no {}orphans, multiple roots, duplicate span ids, wrong "
                                         "parents, wrong kinds, unexpected spans or clock skew",
                                         v.orphan_causes.empty() ? "" : "structural "),
                             true});
  } else {
    for (const auto& [kind, traces] : v.violation_counts) {
      std::string example;
      for (const auto& verdict : v.violation_examples) {
        for (const auto& violation : verdict.violations) {
          if (violation.kind == kind && example.empty()) {
            example = fmt::format("; e.g. trace {}: {}", verdict.trace_id.ToHex(),
                                  violation.explanation);
          }
        }
      }
      report.checks.push_back(
          {"violation:" + kind, false, fmt::format("{} traces{}", traces, example), true});
    }
  }
  // Subtrees below a parent the configuration left unrecorded: one failing check per cause.
  for (const auto& c : v.orphan_causes) {
    std::string message = DescribeOrphanCause(c);
    if (c.example_trace.IsValid()) message += fmt::format("; e.g. trace {}", c.example_trace.ToHex());
    report.checks.push_back({OrphanCheckName(c), false, std::move(message), true});
  }
  // One check per service with a sampling verdict; "not enough traces" and "not judged" pass and
  // say so. Spans a fault withheld are the fault's: named, and not counted as sampled out.
  for (const auto& s : v.sampling) {
    report.checks.push_back({"sampling:" + s.service,
                             s.verdict != "fail", SamplingMessage(s), true});
  }
  // The scenario's `[expect] sampling` entries; "not enough traces" passes and says so.
  for (const auto& e : v.sampling_expectations) {
    report.checks.push_back(
        {"sampling:expect:" + e.name, e.verdict != "fail", e.message, true});
  }
  if (report.expect.time_to_queryable_p99_ns || report.expect.time_to_queryable_max_ns) {
    report.checks.push_back(TimeToQueryableCheck(v.time_to_queryable, report.expect));
  }
  if (v.backend_graph) {
    if (auto check = BackendGraphCheck(*v.backend_graph)) report.checks.push_back(*check);
  }
  // Span links of batch consumers, when the backend can hold them: links not checkable get no
  // check (no verdict either way); every format says why instead.
  if (v.links && v.links->checkable) {
    report.checks.push_back({"links", !LinksFailed(*v.links), DescribeLinks(*v.links), true});
  }
  if (v.deadline_hit) {
    report.checks.push_back({"verification-deadline", false,
                             "the verification deadline passed before every trace settled", true});
  }

  size_t failed = 0;
  std::string first;
  std::vector<std::string> warnings;
  for (auto& c : report.checks) {
    c.enforced = report.fail_on.Enforces(c.name);
    if (c.passed) continue;
    if (!c.enforced) {
      warnings.push_back(c.name);
    } else if (failed++ == 0) {
      first = c.name + ": " + c.message;
    }
  }
  if (failed == 0) {
    report.exit_code = kExitPass;
    report.verdict = fmt::format("PASS: {} of {} traces complete", v.complete, v.checked);
    if (!warnings.empty()) {
      report.verdict += fmt::format(" ({} warning{} not in --fail-on: {})", warnings.size(),
                                    warnings.size() == 1 ? "" : "s", fmt::join(warnings, ", "));
    }
  } else {
    report.exit_code = kExitConformanceFailure;
    report.verdict = fmt::format("FAIL: {} check{} failed; {}", failed, failed == 1 ? "" : "s", first);
  }
  // A merged report whose runs were not all verified must not read as if every request was.
  report.verdict += UnverifiedNote(report);
}

}  // namespace

}  // namespace tracerig
