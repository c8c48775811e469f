#include "report/run_report.h"

#include <fmt/format.h>

namespace tracerig {

void Judge(RunReport& report) {
  report.checks.clear();
  const auto& load = report.load;

  // The topology must actually have served the load: if most requests never got an answer, the
  // run measured nothing about tracing.
  if (load.sent > 0 && load.transport_errors * 2 > load.sent) {
    report.exit_code = kExitInfrastructure;
    report.verdict = fmt::format(
        "ERROR: {} of {} requests failed at the transport level; the topology did not serve the "
        "load",
        load.transport_errors, load.sent);
    return;
  }
  if (!report.verification_error.empty()) {
    report.exit_code = kExitInfrastructure;
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

  const double completeness = static_cast<double>(v.complete) / static_cast<double>(v.checked);
  CheckResult complete{"completeness", completeness >= report.expect.completeness,
                       fmt::format("{:.4f} of traces complete ({} of {}), expected at least {}",
                                   completeness, v.complete, v.checked,
                                   report.expect.completeness)};
  CheckResult broken{"broken-propagation", v.broken <= report.expect.broken,
                     fmt::format("{} traces with broken propagation, at most {} allowed", v.broken,
                                 report.expect.broken)};
  for (const auto& edge : v.break_edges) {
    broken.message += fmt::format("; {} -> {} (hop {}): {} traces", edge.caller, edge.callee,
                                  edge.hop, edge.traces);
  }
  CheckResult exported{"spans-exported",
                       report.exporter.dropped_queue_full == 0 && report.exporter.dropped_failed == 0,
                       fmt::format("{} spans exported, {} dropped (queue full), {} dropped (export "
                                   "failed)",
                                   report.exporter.exported, report.exporter.dropped_queue_full,
                                   report.exporter.dropped_failed)};
  report.checks = {complete, broken, exported};
  // Structure of the traces that arrived: one check when clean, one failing check per kind.
  if (v.violation_counts.empty()) {
    report.checks.push_back({"trace-structure", true,
                             "no orphans, multiple roots, duplicate span ids, wrong parents, wrong "
                             "kinds, unexpected spans or clock skew"});
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
          {"violation:" + kind, false, fmt::format("{} traces{}", traces, example)});
    }
  }
  if (v.deadline_hit) {
    report.checks.push_back({"verification-deadline", false,
                             "the verification deadline passed before every trace settled"});
  }

  size_t failed = 0;
  std::string first;
  for (const auto& c : report.checks) {
    if (!c.passed) {
      if (failed++ == 0) first = c.name + ": " + c.message;
    }
  }
  if (failed == 0) {
    report.exit_code = kExitPass;
    report.verdict = fmt::format("PASS: {} of {} traces complete", v.complete, v.checked);
  } else {
    report.exit_code = kExitConformanceFailure;
    report.verdict = fmt::format("FAIL: {} check{} failed; {}", failed, failed == 1 ? "" : "s", first);
  }
}

}  // namespace tracerig
