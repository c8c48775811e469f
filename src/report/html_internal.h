// What the pieces of the HTML report (report/html.h) share: a few formatting helpers
// (html_page.cc) and one function per page section, each returning its whole <section> element.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "report/html.h"
#include "report/run_report.h"

namespace tracerig::html_internal {

inline std::string Esc(std::string_view s) { return EscapeHtml(s); }

// "2026-01-31 12:00:00 UTC".
std::string UtcTime(uint64_t unix_nano);
// The verdict's CSS class: "pass", "fail", "error" or "done".
std::string VerdictClass(const RunReport& r);

// The sections, in page order.
std::string Summary(const RunReport& r);          // html_summary.cc: verdict, run facts, checks
std::string GraphSection(const RunReport& r);     // html_graph.cc
std::string LoadSection(const RunReport& r);      // html_summary.cc: load and span counts
std::string LatencySection(const RunReport& r);   // html_charts.cc
std::string SamplingSection(const RunReport& r);  // html_charts.cc
std::string TracesSection(const RunReport& r);    // html_waterfall.cc
// Queue latency and links not checked, inside the latency section ("" without either).
std::string AsyncEdgesHtml(const RunReport& r);  // html_async.cc

}  // namespace tracerig::html_internal
