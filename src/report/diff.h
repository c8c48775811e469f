// Comparing two runs (`tracerig report diff A B`), e.g. the same scenario against two backend
// versions: throughput, latency percentiles and completeness side by side, and whether B
// regressed against A by more than a threshold. Pure: reports in, table out.
#pragma once

#include <string>
#include <vector>

#include "report/run_report.h"

namespace tracerig {

struct DiffRow {
  std::string metric;      // "throughput", "latency p99 (corrected)", "completeness", ...
  std::string a;           // formatted values ("48.9/s", "12ms", "96.00%"); "—" when not known
  std::string b;
  double a_value = 0;      // in the metric's unit: per second, nanoseconds, or a fraction
  double b_value = 0;
  double change_pct = 0;   // (b - a) / a * 100; 0 when a is 0 or either side is not known
  bool comparable = true;  // both sides have a value
  bool higher_is_better = false;
  bool regressed = false;  // B worse than A by more than the threshold
};

struct ReportDiff {
  std::vector<DiffRow> rows;
  double threshold_pct = 10;
  bool regressed = false;  // any row regressed
  // What makes A and B runs of different load (RunDifferences): `tracerig report diff` refuses
  // them unless forced, and RenderDiff then prints them as a warning.
  std::vector<std::string> differences;
  // Set when either run is verify-only (load_measured false): the rows of load figures
  // (throughput, latency, spans dropped) are left out, and this says why.
  std::string load_not_compared;
};

// Why two runs are not a like-for-like comparison, one phrase each ("target rate 40/s vs 80/s"):
// scenario name, scenario content as far as the reports record it (call graph, [expect]), target
// rate, target duration and load model, and whether the load was measured (a verify-only run's
// was not; its target rate, duration and model are then not known and not compared). Empty when
// they match. The seed is not compared (--seed varies it on purpose).
std::vector<std::string> RunDifferences(const RunReport& a, const RunReport& b);

// Rows: throughput (ok responses per second of load), latency p50/p90/p99/p99.9/max corrected
// and p50/p99 uncorrected, completeness (complete / checked), broken traces per checked trace,
// and spans dropped by the exporter per span submitted; then, for scenarios with async edges, the
// p99 publish -> process latency of each queue either run has ("queue orders (fulfilment) p99")
// and the share of span links found ("span links found", when either run could check links). A row
// regresses when B is worse than A by more than threshold_pct percent of A (relative change, so 10
// means "10% slower", or "completeness fell from 1.0 below 0.9"). Rates that are 0 in A regress
// when B is above 0 (any broken trace where there was none). Rows where either side has no data
// never regress. The max rows use the exact maxima (kept in report.json), the percentiles the
// histograms' buckets. When either run is verify-only, only completeness and broken traces are
// compared (load_not_compared says so).
ReportDiff DiffReports(const RunReport& a, const RunReport& b, double threshold_pct);

// A fixed-width table for the terminal, one row per metric, then a one-line conclusion; first a
// warning line when the runs differ (diff.differences), and a note when the load rows are left
// out (diff.load_not_compared).
std::string RenderDiff(const ReportDiff& diff, const std::string& a_name, const std::string& b_name);

}  // namespace tracerig
