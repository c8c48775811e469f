// Scenario files: TOML text in, a validated Scenario out, or every problem in the file at once,
// each as "file:line:col: message" so editors and CI logs can jump to it. The format is documented
// in docs/SCENARIOS.md; keep the two in step.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "topology/scenario.h"

namespace tracerig {

struct Diagnostic {
  SourceLocation where;  // the offending key or value
  std::string message;
  std::string ToString() const;  // "file:line:col: message"
};

struct ParseResult {
  std::optional<Scenario> scenario;     // set exactly when there are no diagnostics
  std::vector<Diagnostic> diagnostics;  // every problem found, sorted by position
  bool ok() const { return scenario.has_value() && diagnostics.empty(); }
};

// Parses and validates a scenario. Pure: `source_name` is only used in locations and stored as
// Scenario::source_name; the caller reads the file.
ParseResult ParseScenario(std::string_view source_name, std::string_view text);

}  // namespace tracerig
