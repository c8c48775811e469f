// What the canary's check by id makes of one classified trace: passed, or the reason it failed
// (label `reason` of check_failures_total). Pure, so the mapping is tested row by row.
#pragma once

#include <optional>

#include "canary/canary_metrics.h"
#include "verifier/classify.h"

namespace tracerig {

// Passed (nullopt): complete with no structure violation. Otherwise: evicted when the backend
// evicted it; a missing or incomplete trace tracerig's exporter lost spans of (`export_lost`)
// is not_exported; then missing, incomplete, broken (whatever its violations), and structure
// for a complete trace with violations. kNotExported as classified is not_exported.
std::optional<CheckFailure> TraceCheckFailure(const TraceVerdict& verdict, bool evicted,
                                              bool export_lost);

}  // namespace tracerig
