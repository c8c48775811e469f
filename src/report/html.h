// The HTML report: one self-contained page (inline CSS, SVG and a little JS; no network access)
// that a person opens in a browser after a run. Pure and deterministic: the same RunReport always
// renders to the same bytes. Layout and element ids documented in docs/REPORT.md.
#pragma once

#include <string>
#include <string_view>

#include "report/run_report.h"

namespace tracerig {

// Sections, each with a stable id: #summary (verdict, run facts, checks failing first), #load,
// #graph (expected vs observed service graph as SVG, edges coloured by health), #latency
// (percentiles and histograms: corrected, uncorrected, schedule lag), #sampling, #traces (a
// waterfall per example trace, faulty hop highlighted, with filters by status/violation and by
// service). Everything is readable without JS; the script only adds the filters and sets
// <body data-ready="yes"> when it has run.
std::string RenderHtmlReport(const RunReport& report);

// Escapes text for HTML element content and quoted attribute values: & < > " ' as entities.
std::string EscapeHtml(std::string_view text);

}  // namespace tracerig
