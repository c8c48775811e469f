// Markdown rendering of a RunReport: a summary for a pull-request comment or a CI job summary file
// ($GITHUB_STEP_SUMMARY), failing checks first. Pure and deterministic. Layout documented in
// docs/REPORT.md.
#pragma once

#include <string>
#include <string_view>

#include "report/run_report.h"

namespace tracerig {

// Title with the verdict (✅ when the exit code is 0, ❌ otherwise), then tables: checks (failing
// first), load and latency, spans, verification, propagation breaks, the backend's dependency list
// (its missing and unexpected edges), time to queryable with its late spans, up to 5 example
// traces, and a collapsed <details> block with the run's seed, backend, version and services.
std::string RenderMarkdown(const RunReport& report);

// Makes text safe inside a table cell or a line of Markdown: backslash-escapes the characters
// that would start emphasis, code, links or a new cell (\ ` * _ [ ] |), writes < and & as
// entities so no HTML gets through, and turns line breaks and other control characters into spaces.
std::string EscapeMarkdown(std::string_view text);

}  // namespace tracerig
