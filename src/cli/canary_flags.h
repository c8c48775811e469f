// The flags of `tracerig canary` that shape the loop (--rate, --round, --queryable-within,
// --reread, --reread-every, --once, --no-search), parsed into CanaryOptions. Pure.
#pragma once

#include <string>
#include <vector>

#include "canary/canary_loop.h"
#include "cli/flags.h"
#include "core/result.h"

namespace tracerig {

inline constexpr const char* kDefaultRereadAges = "1m,15m,1h,24h";

// --reread AGES: comma-separated durations ("1m,15m"), each above 0, distinct; "none": none.
// Sorted ascending; each label is the age as written (trimmed).
Result<std::vector<RereadAge>> ParseRereadAges(const std::string& text);

// Every loop flag over its default (--once: no re-reads unless --reread names them). Errors
// name the flag and quote the value.
Result<CanaryOptions> ParseCanaryOptions(const ParsedFlags& flags);

}  // namespace tracerig
