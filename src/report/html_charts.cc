// The HTML report's latency and sampling charts: percentile tables, histograms, latency and
// request rate over time, time to queryable, and the sampling checks as bars.
#include "report/html_internal.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "core/units.h"

namespace tracerig {
using namespace html_internal;  // report/html_internal.h
namespace {

std::string PercentileRow(std::string_view label, const LatencyHistogram& h) {
  if (h.count() == 0) {
    return fmt::format("<tr><th>{}</th><td colspan=\"7\" class=\"placeholder\">no samples</td></tr>\n",
                       label);
  }
  return fmt::format(
      "<tr><th>{}</th><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>"
      "<td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>"
      "<td class=\"num\">{}</td></tr>\n",
      label, FormatDuration(h.Percentile(50)), FormatDuration(h.Percentile(90)),
      FormatDuration(h.Percentile(99)), FormatDuration(h.Percentile(99.9)),
      FormatDuration(h.max()), FormatDuration(static_cast<uint64_t>(h.mean())), h.count());
}

// Quarter-octave bins: coarse enough to draw, fine enough to see a second mode.
int64_t Bin(uint64_t nanos) {
  return static_cast<int64_t>(std::floor(4 * std::log2(static_cast<double>(std::max<uint64_t>(nanos, 1)))));
}

std::string HistogramSvg(std::string_view id, std::string_view title, const LatencyHistogram& h) {
  std::string out = fmt::format("<figure class=\"hist\" id=\"{}\"><figcaption>{}</figcaption>\n",
                                id, title);
  if (h.count() == 0) return out + "<p class=\"placeholder\">no samples</p></figure>\n";
  std::map<int64_t, uint64_t> bins;
  for (const auto& [lower, count] : h.NonEmptyBuckets()) bins[Bin(lower)] += count;
  const int64_t first = bins.begin()->first;
  const int64_t last = bins.rbegin()->first;
  uint64_t tallest = 0;
  for (const auto& [bin, count] : bins) tallest = std::max(tallest, count);
  constexpr double kWidth = 340, kHeight = 110, kBase = 120;
  const double bar = kWidth / static_cast<double>(last - first + 1);
  out += fmt::format("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"360\" height=\"150\" "
                     "viewBox=\"0 0 360 150\" role=\"img\" aria-label=\"{}\">\n",
                     title);
  for (const auto& [bin, count] : bins) {
    const double height = kHeight * static_cast<double>(count) / static_cast<double>(tallest);
    out += fmt::format("<rect class=\"bar\" x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" "
                       "height=\"{:.1f}\"><title>{}: {}</title></rect>\n",
                       10 + static_cast<double>(bin - first) * bar, kBase - height,
                       std::max(bar - 1, 1.0), height,
                       FormatDuration(static_cast<uint64_t>(std::exp2(static_cast<double>(bin) / 4))),
                       count);
  }
  for (double p : {50.0, 99.0}) {
    const double x = 10 + (static_cast<double>(Bin(h.Percentile(p)) - first) + 0.5) * bar;
    out += fmt::format("<line class=\"pct\" x1=\"{0:.1f}\" x2=\"{0:.1f}\" y1=\"8\" y2=\"{1:.0f}\"/>"
                       "<text x=\"{0:.1f}\" y=\"8\" text-anchor=\"middle\">p{2:.0f}</text>\n",
                       x, kBase, p);
  }
  out += fmt::format("<text x=\"10\" y=\"136\">{}</text><text x=\"350\" y=\"136\" "
                     "text-anchor=\"end\">{}</text></svg></figure>\n",
                     FormatDuration(h.min()), FormatDuration(h.max()));
  return out;
}

// Latency over time: p50, p99 and max of the corrected latency of each interval on a log scale,
// and below it, on the same time axis, the requests completed per second (errors in red). One
// <g class="interval"> per point, with its figures in a tooltip.
std::string TimelineSvg(const LatencyTimeline& t) {
  std::string out =
      "<figure class=\"timeline\"><figcaption>corrected latency and achieved request rate over "
      "time, by intended start</figcaption>\n";
  const auto& points = t.points();
  if (points.empty()) {
    return out + "<p class=\"placeholder\">no timeline in this report</p></figure>\n";
  }
  struct Figures {
    uint64_t p50 = 0, p99 = 0, max = 0;
  };
  std::vector<Figures> figures(points.size());
  uint64_t low = UINT64_MAX, high = 1;
  double top_rate = 0;
  const double seconds = static_cast<double>(t.interval_ns()) / 1e9;
  for (size_t i = 0; i < points.size(); ++i) {
    top_rate = std::max(top_rate, static_cast<double>(points[i].requests) / seconds);
    if (points[i].corrected.count() == 0) continue;
    const LatencyHistogram h = points[i].corrected.ToDense();
    figures[i] = {std::max<uint64_t>(h.Percentile(50), 1), std::max<uint64_t>(h.Percentile(99), 1),
                  std::max<uint64_t>(h.max(), 1)};
    low = std::min(low, figures[i].p50);
    high = std::max(high, figures[i].max);
  }
  if (low == UINT64_MAX) low = 1;
  constexpr double kLeft = 70, kPlotWidth = 670, kTop = 24, kHeight = 160, kRateTop = 220,
                   kRateHeight = 70, kAxis = 306;
  const double slot = kPlotWidth / static_cast<double>(points.size());
  auto x = [&](size_t i) { return kLeft + (static_cast<double>(i) + 0.5) * slot; };
  // Whole decades, so the grid lines read 1ms, 10ms, 100ms.
  const double first_decade = std::floor(std::log10(static_cast<double>(low)));
  double last_decade = std::ceil(std::log10(static_cast<double>(high)));
  if (last_decade <= first_decade) last_decade = first_decade + 1;
  auto y = [&](uint64_t v) {
    const double f = (std::log10(static_cast<double>(v)) - first_decade) /
                     (last_decade - first_decade);
    return kTop + kHeight * (1 - f);
  };
  out += fmt::format(
      "<svg id=\"latency-over-time\" xmlns=\"http://www.w3.org/2000/svg\" width=\"760\" "
      "height=\"330\" viewBox=\"0 0 760 330\" role=\"img\" aria-label=\"latency and request "
      "rate over time\" data-interval-ns=\"{}\" data-points=\"{}\">\n",
      t.interval_ns(), points.size());
  for (double d = first_decade; d <= last_decade; d += 1) {
    const double gy = kTop + kHeight * (1 - (d - first_decade) / (last_decade - first_decade));
    out += fmt::format("<line class=\"grid\" x1=\"{0:.0f}\" x2=\"{1:.0f}\" y1=\"{2:.1f}\" "
                       "y2=\"{2:.1f}\"/><text x=\"{3:.0f}\" y=\"{4:.1f}\" "
                       "text-anchor=\"end\">{5}</text>\n",
                       kLeft, kLeft + kPlotWidth, gy, kLeft - 4, gy + 3,
                       FormatDuration(static_cast<uint64_t>(std::pow(10.0, d))));
  }
  out += fmt::format("<text x=\"{:.0f}\" y=\"14\">latency (log scale): <tspan class=\"p50\">"
                     "— p50</tspan>  <tspan class=\"p99\">— p99</tspan>  <tspan class=\"max\">"
                     "— max</tspan></text>\n",
                     kLeft);
  for (const auto& [name, field] : {std::pair{"p50", &Figures::p50},
                                    std::pair{"p99", &Figures::p99},
                                    std::pair{"max", &Figures::max}}) {
    std::string line;
    for (size_t i = 0; i < points.size(); ++i) {
      if (figures[i].*field == 0) continue;  // no latency in this interval: the line skips it
      line += fmt::format("{}{:.1f},{:.1f}", line.empty() ? "" : " ", x(i), y(figures[i].*field));
    }
    out += fmt::format("<polyline class=\"line {}\" points=\"{}\"/>\n", name, line);
  }
  out += fmt::format("<line class=\"grid\" x1=\"{0:.0f}\" x2=\"{1:.0f}\" y1=\"{2:.0f}\" "
                     "y2=\"{2:.0f}\"/><text x=\"{3:.0f}\" y=\"{2:.0f}\" text-anchor=\"end\">0/s"
                     "</text><text x=\"{3:.0f}\" y=\"{4:.0f}\" text-anchor=\"end\">{5:.4g}/s</text>"
                     "<text x=\"{0:.0f}\" y=\"{6:.0f}\">requests completed per second "
                     "(<tspan class=\"max\">errors</tspan>)</text>\n",
                     kLeft, kLeft + kPlotWidth, kRateTop + kRateHeight, kLeft - 4, kRateTop + 8,
                     top_rate, kRateTop - 6);
  for (size_t i = 0; i < points.size(); ++i) {
    const TimelinePoint& p = points[i];
    const uint64_t start = static_cast<uint64_t>(i) * t.interval_ns();
    const double rate = static_cast<double>(p.requests) / seconds;
    const double bar = top_rate > 0 ? kRateHeight * rate / top_rate : 0;
    const double errors = p.requests > 0 ? bar * static_cast<double>(p.errors) /
                                               static_cast<double>(p.requests)
                                         : 0;
    const double width = std::max(slot * 0.8, 0.5);
    std::string tip =
        fmt::format("{} – {}: {} requests ({:.4g}/s), {} errors", FormatDuration(start),
                    FormatDuration(start + t.interval_ns()), p.requests, rate, p.errors);
    if (figures[i].max != 0) {
      tip += fmt::format("; p50 {}, p99 {}, max {}", FormatDuration(figures[i].p50),
                         FormatDuration(figures[i].p99), FormatDuration(figures[i].max));
    }
    out += fmt::format("<g class=\"interval\" data-start-ns=\"{}\" data-requests=\"{}\" "
                       "data-errors=\"{}\"><title>{}</title>",
                       start, p.requests, p.errors, tip);
    if (figures[i].max != 0) {
      for (const auto& [name, v] : {std::pair{"p50", figures[i].p50},
                                    std::pair{"p99", figures[i].p99},
                                    std::pair{"max", figures[i].max}}) {
        out += fmt::format("<circle class=\"{}\" cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"2\"/>", name,
                           x(i), y(v));
      }
    }
    out += fmt::format("<rect class=\"rate\" x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" "
                       "height=\"{:.1f}\"/>",
                       x(i) - width / 2, kRateTop + kRateHeight - bar, width, bar);
    if (errors > 0) {
      out += fmt::format("<rect class=\"rate-errors\" x=\"{:.1f}\" y=\"{:.1f}\" "
                         "width=\"{:.1f}\" height=\"{:.1f}\"/>",
                         x(i) - width / 2, kRateTop + kRateHeight - errors, width, errors);
    }
    out += "</g>\n";
  }
  // Time axis: at most about eight labels, at interval boundaries.
  const size_t step = (points.size() + 7) / 8;
  for (size_t i = 0; i <= points.size(); i += step) {
    const double tx = kLeft + static_cast<double>(i) * slot;
    out += fmt::format("<text x=\"{:.1f}\" y=\"{:.0f}\" text-anchor=\"middle\">{}</text>", tx,
                       kAxis, FormatDuration(static_cast<uint64_t>(i) * t.interval_ns()));
  }
  out += fmt::format("\n<text x=\"{:.0f}\" y=\"{:.0f}\" text-anchor=\"middle\">time since the "
                     "first intended start ({} intervals)</text></svg></figure>\n",
                     kLeft + kPlotWidth / 2, kAxis + 18, FormatDuration(t.interval_ns()));
  return out;
}

// Time to queryable and, when some spans arrived after their trace's first poll, the late spans.
std::string TimeToQueryableHtml(const TimeToQueryable& t) {
  std::string out = "<h3>Time to queryable</h3>\n";
  if (t.traces == 0) {
    return out + "<p class=\"placeholder\" id=\"time-to-queryable\">no complete trace gave a "
                 "time-to-queryable sample</p>\n";
  }
  out += "<table id=\"time-to-queryable\"><thead><tr><th>traces</th><th>full at first poll</th>"
         "<th>p50</th><th>p90</th><th>p99</th><th>max</th><th>precision</th></tr></thead>"
         "<tbody>\n";
  out += fmt::format("<tr><td class=\"num\">{}</td><td class=\"num\">{}</td>"
                     "<td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>"
                     "<td class=\"num\">{}</td><td class=\"num\">± {}</td></tr>\n",
                     t.traces, t.upper_bounds, FormatDuration(t.p50_ns), FormatDuration(t.p90_ns),
                     FormatDuration(t.p99_ns), FormatDuration(t.max_ns),
                     FormatDuration(t.precision_ns));
  out += "</tbody></table>\n";
  if (t.late_hops.empty()) return out;
  out += fmt::format("<h3>Late spans</h3>\n<p>{} traces were complete only after their first poll "
                     "(later than {}); the spans they lacked at that poll:</p>\n",
                     t.late_traces, FormatDuration(t.late_floor_ns));
  out += "<table id=\"late-spans\"><thead><tr><th>hop</th><th>edge</th><th>kind</th>"
         "<th>traces</th><th>max</th></tr></thead><tbody>\n";
  for (const LateHop& h : t.late_hops) {
    out += fmt::format("<tr data-hop=\"{0}\"><td class=\"mono\">{0}</td><td>{1} → {2}</td>"
                       "<td>{3}</td><td class=\"num\">{4}</td><td class=\"num\">{5}</td></tr>\n",
                       Esc(h.hop), Esc(h.caller), Esc(h.callee), SpanKindName(h.kind), h.traces,
                       FormatDuration(h.max_ns));
  }
  return out + "</tbody></table>\n";
}

}  // namespace

std::string html_internal::LatencySection(const RunReport& r) {
  const auto& l = r.load;
  std::string out = "<section id=\"latency\">\n<h2>Latency</h2>\n";
  if (!r.load_measured) {
    out += "<p class=\"placeholder\" id=\"latency-not-measured\">not measured (verify only): the "
           "requests were sent by an earlier run</p>\n";
    if (r.verification) out += TimeToQueryableHtml(r.verification->time_to_queryable);
    out += AsyncEdgesHtml(r);
    return out + "</section>\n";
  }
  out += "<table id=\"percentiles\"><thead><tr><th></th><th>p50</th><th>p90</th><th>p99</th>"
         "<th>p99.9</th><th>max</th><th>mean</th><th>samples</th></tr></thead><tbody>\n";
  out += PercentileRow("corrected (from intended start)", l.corrected);
  out += PercentileRow("uncorrected (from actual send)", l.uncorrected);
  out += PercentileRow("schedule lag (send − intended)", l.schedule_lag);
  out += "</tbody></table>\n<div class=\"hists\">\n";
  out += HistogramSvg("hist-corrected", "corrected latency", l.corrected);
  out += HistogramSvg("hist-uncorrected", "uncorrected latency", l.uncorrected);
  out += HistogramSvg("hist-lag", "schedule lag", l.schedule_lag);
  out += "</div>\n";
  out += TimelineSvg(l.timeline);
  if (r.verification) out += TimeToQueryableHtml(r.verification->time_to_queryable);
  out += AsyncEdgesHtml(r);
  out += "</section>\n";
  return out;
}

std::string html_internal::SamplingSection(const RunReport& r) {
  std::string out = "<section id=\"sampling\">\n<h2>Sampling</h2>\n";
  if (!r.verification || r.verification->sampling.empty()) {
    out += "<p class=\"placeholder\" id=\"sampling-checks\">no sampling checks in this run</p>\n";
  } else {
    // Observed fraction as a bar, the configured one as a tick, the interval as a band.
    out += "<table id=\"sampling-checks\"><tr><th>service</th><th>policy</th><th>sampled</th>"
           "<th>observed vs expected</th><th>verdict</th></tr>\n";
    for (const auto& s : r.verification->sampling) {
      auto x = [](double f) { return std::clamp(f, 0.0, 1.0) * 200; };
      out += fmt::format(
          "<tr><td>{}</td><td><code>{}</code></td><td>{} of {} ({:.3f})</td><td><svg width=\"204\" "
          "height=\"14\" role=\"img\" aria-label=\"observed {:.3f}, expected {:.3f}\">"
          "<rect x=\"2\" y=\"3\" width=\"200\" height=\"8\" fill=\"#eee\"/>"
          "<rect x=\"{:.1f}\" y=\"3\" width=\"{:.1f}\" height=\"8\" fill=\"#cde\"/>"
          "<rect x=\"2\" y=\"5\" width=\"{:.1f}\" height=\"4\" fill=\"#357\"/>"
          "<rect x=\"{:.1f}\" y=\"0\" width=\"2\" height=\"14\" fill=\"#c00\"/></svg></td>"
          "<td class=\"{}\">{}</td></tr>\n",
          Esc(s.service), Esc(s.policy), s.k, s.n, s.observed, s.observed, s.expected,
          2 + x(s.interval_low), x(s.interval_high) - x(s.interval_low), x(s.observed),
          1 + x(s.expected), s.verdict == "fail" ? "fail" : "pass", Esc(s.verdict));
    }
    out += "</table>\n";
  }
  const size_t unsampled_requests = r.verification ? r.verification->skipped_unsampled : 0;
  if (r.load_measured) {
    out += fmt::format("<p>{} spans recorded but not exported (not sampled); {} requests sent "
                       "unsampled by the driver.</p>\n",
                       r.topology.spans_unsampled, unsampled_requests);
  } else {
    out += fmt::format("<p>Spans recorded but not exported (not sampled): not measured (verify "
                       "only); {} requests sent unsampled by the driver.</p>\n",
                       unsampled_requests);
  }
  out += "</section>\n";
  return out;
}

}  // namespace tracerig
