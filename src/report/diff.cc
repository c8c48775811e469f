#include "report/diff.h"

#include <algorithm>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "core/units.h"

namespace tracerig {
namespace {

std::optional<double> Throughput(const RunReport& r) {
  if (r.load.elapsed_ns == 0) return std::nullopt;
  return static_cast<double>(r.load.ok) / (static_cast<double>(r.load.elapsed_ns) / 1e9);
}

std::optional<double> Percentile(const LatencyHistogram& h, double p) {
  if (h.count() == 0) return std::nullopt;
  return static_cast<double>(p >= 100 ? h.max() : h.Percentile(p));
}

std::optional<double> Fraction(const RunReport& r, size_t VerificationSummary::*field) {
  if (!r.verification || r.verification->checked == 0) return std::nullopt;
  return static_cast<double>((*r.verification).*field) /
         static_cast<double>(r.verification->checked);
}

std::optional<double> DroppedFraction(const RunReport& r) {
  if (r.exporter.submitted == 0) return std::nullopt;
  return static_cast<double>(r.exporter.dropped_queue_full + r.exporter.dropped_failed) /
         static_cast<double>(r.exporter.submitted);
}

enum class Format { kRate, kDuration, kPercent };

std::string FormatValue(std::optional<double> v, Format format) {
  if (!v) return "—";
  switch (format) {
    case Format::kRate:
      return fmt::format("{:.1f}/s", *v);
    case Format::kDuration:
      return FormatDuration(static_cast<uint64_t>(*v));
    case Format::kPercent:
      return fmt::format("{:.2f}%", *v * 100);
  }
  return "—";
}

DiffRow Compare(std::string metric, std::optional<double> a, std::optional<double> b,
                Format format, bool higher_is_better, double threshold_pct) {
  DiffRow row;
  row.metric = std::move(metric);
  row.a = FormatValue(a, format);
  row.b = FormatValue(b, format);
  row.higher_is_better = higher_is_better;
  row.comparable = a.has_value() && b.has_value();
  if (!row.comparable) return row;
  row.a_value = *a;
  row.b_value = *b;
  if (*a != 0) {
    row.change_pct = (*b - *a) / *a * 100;
    row.regressed = higher_is_better ? row.change_pct < -threshold_pct
                                     : row.change_pct > threshold_pct;
  } else {
    row.regressed = !higher_is_better && *b > 0;  // from none to some broken/dropped
  }
  return row;
}

}  // namespace

std::vector<std::string> RunDifferences(const RunReport& a, const RunReport& b) {
  std::vector<std::string> out;
  if (a.scenario_name != b.scenario_name) {
    out.push_back(fmt::format("scenario \"{}\" vs \"{}\"", a.scenario_name, b.scenario_name));
  } else if (a.expected_edges != b.expected_edges) {
    out.push_back(fmt::format("scenario \"{}\" with a different call graph ({} vs {} edges)",
                              a.scenario_name, a.expected_edges.size(), b.expected_edges.size()));
  }
  const Expectations& ea = a.expect;
  const Expectations& eb = b.expect;
  if (ea.completeness != eb.completeness || ea.broken != eb.broken ||
      ea.time_to_queryable_p99_ns != eb.time_to_queryable_p99_ns ||
      ea.time_to_queryable_max_ns != eb.time_to_queryable_max_ns) {
    out.push_back("different [expect]");
  }
  if (a.load_measured != b.load_measured) {
    const auto measured = [](const RunReport& r) {
      return r.load_measured ? "measured" : "not measured (verify only)";
    };
    out.push_back(fmt::format("load {} vs {}", measured(a), measured(b)));
  }
  if (!a.load_measured || !b.load_measured) return out;  // a verify-only run's load is not known
  if (a.target_rate != b.target_rate) {
    out.push_back(fmt::format("target rate {:g}/s vs {:g}/s", a.target_rate, b.target_rate));
  }
  if (a.target_duration_ns != b.target_duration_ns) {
    out.push_back(fmt::format("duration {} vs {}", FormatDuration(a.target_duration_ns),
                              FormatDuration(b.target_duration_ns)));
  }
  if (a.load_model != b.load_model) {
    out.push_back(fmt::format("load model {} vs {}", a.load_model, b.load_model));
  }
  return out;
}

ReportDiff DiffReports(const RunReport& a, const RunReport& b, double threshold_pct) {
  ReportDiff diff;
  diff.threshold_pct = threshold_pct;
  diff.differences = RunDifferences(a, b);
  auto add = [&](std::string metric, std::optional<double> va, std::optional<double> vb,
                 Format format, bool higher_is_better) {
    diff.rows.push_back(Compare(std::move(metric), va, vb, format, higher_is_better, threshold_pct));
  };
  const bool load_measured = a.load_measured && b.load_measured;
  if (!load_measured) {
    diff.load_not_compared = fmt::format(
        "throughput, latency and spans dropped are left out: {} not measured (verify only)",
        !a.load_measured && !b.load_measured ? "neither run's load was"
        : !a.load_measured                   ? "A's load was"
                                             : "B's load was");
  }
  if (load_measured) {
    add("throughput (ok/s)", Throughput(a), Throughput(b), Format::kRate, true);
    for (double p : {50.0, 90.0, 99.0, 99.9, 100.0}) {
      add(p >= 100 ? "latency max (corrected)" : fmt::format("latency p{} (corrected)", p),
          Percentile(a.load.corrected, p), Percentile(b.load.corrected, p), Format::kDuration,
          false);
    }
    for (double p : {50.0, 99.0}) {
      add(fmt::format("latency p{} (uncorrected)", p), Percentile(a.load.uncorrected, p),
          Percentile(b.load.uncorrected, p), Format::kDuration, false);
    }
  }
  add("completeness", Fraction(a, &VerificationSummary::complete),
      Fraction(b, &VerificationSummary::complete), Format::kPercent, true);
  add("broken traces", Fraction(a, &VerificationSummary::broken),
      Fraction(b, &VerificationSummary::broken), Format::kPercent, false);
  if (load_measured) {
    add("spans dropped", DroppedFraction(a), DroppedFraction(b), Format::kPercent, false);
  }
  // Async edges: p99 publish -> process latency per queue either run has, and the share of span
  // links found where either run could check them.
  std::vector<std::pair<std::string, std::string>> queues;  // (queue, consumer)
  for (const RunReport* r : {&a, &b}) {
    if (!r->verification) continue;
    for (const QueueLatency& q : r->verification->queue_latency) {
      if (std::find(queues.begin(), queues.end(), std::pair(q.queue, q.consumer)) == queues.end()) {
        queues.emplace_back(q.queue, q.consumer);
      }
    }
  }
  std::sort(queues.begin(), queues.end());
  for (const auto& [queue, consumer] : queues) {
    auto p99 = [&queue, &consumer](const RunReport& r) -> std::optional<double> {
      if (!r.verification) return std::nullopt;
      for (const QueueLatency& q : r.verification->queue_latency) {
        if (q.queue == queue && q.consumer == consumer && q.messages > 0) {
          return static_cast<double>(q.p99_ns);
        }
      }
      return std::nullopt;
    };
    add(fmt::format("queue {} ({}) p99", queue, consumer), p99(a), p99(b), Format::kDuration,
        false);
  }
  auto links_found = [](const RunReport& r) -> std::optional<double> {
    if (!r.verification || !r.verification->links || !r.verification->links->checkable ||
        r.verification->links->expected == 0) {
      return std::nullopt;
    }
    return static_cast<double>(r.verification->links->found) /
           static_cast<double>(r.verification->links->expected);
  };
  if (links_found(a) || links_found(b)) {
    add("span links found", links_found(a), links_found(b), Format::kPercent, true);
  }
  diff.regressed = std::any_of(diff.rows.begin(), diff.rows.end(),
                               [](const DiffRow& r) { return r.regressed; });
  return diff;
}

std::string RenderDiff(const ReportDiff& diff, const std::string& a_name,
                       const std::string& b_name) {
  size_t metric_width = 6, a_width = 1, b_width = 1;
  for (const auto& r : diff.rows) {
    metric_width = std::max(metric_width, r.metric.size());
    a_width = std::max(a_width, r.a.size());
    b_width = std::max(b_width, r.b.size());
  }
  std::string out = fmt::format("A: {}\nB: {}\n", a_name, b_name);
  if (!diff.differences.empty()) {
    out += fmt::format("warning: A and B are runs of different load ({}): the changes compare "
                       "unlike runs\n",
                       fmt::join(diff.differences, "; "));
  }
  if (!diff.load_not_compared.empty()) out += "note: " + diff.load_not_compared + "\n";
  out += "\n";
  out += fmt::format("{:<{}}  {:>{}}  {:>{}}  {:>8}\n", "metric", metric_width, "A", a_width, "B",
                     b_width, "change");
  size_t regressions = 0;
  for (const auto& r : diff.rows) {
    std::string change = !r.comparable              ? "—"
                         : r.a_value == r.b_value   ? "="
                         : r.a_value == 0           ? "from 0"
                                                    : fmt::format("{:+.1f}%", r.change_pct);
    out += fmt::format("{:<{}}  {:>{}}  {:>{}}  {:>8}{}\n", r.metric, metric_width, r.a, a_width,
                       r.b, b_width, change, r.regressed ? "  REGRESSED" : "");
    regressions += r.regressed;
  }
  out += diff.regressed
             ? fmt::format("\nB regressed: {} metric{} worse than A by more than {}%\n",
                           regressions, regressions == 1 ? "" : "s", diff.threshold_pct)
             : fmt::format("\nno regression beyond {}%\n", diff.threshold_pct);
  return out;
}

}  // namespace tracerig
