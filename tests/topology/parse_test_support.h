// Shared by the ParseScenario tests: small scenario fragments and the diagnostics of a result as
// "file:line:column: message" lines.
#pragma once

#include <string>
#include <vector>

#include "topology/parse.h"

namespace tracerig::parse_test_support {

// Building blocks for the cases, so each one shows only what it breaks. kHead is six
// lines: a case's own text starts on line 7, inside route "R" of service "a".
inline const std::string kScenario = "[scenario]\nname = \"t\"\n";
inline const std::string kServices =
    "[[services]]\nname = \"a\"\n[[services.routes]]\nname = \"R\"\n";
inline const std::string kHead = kScenario + kServices;

inline std::vector<std::string> Render(const ParseResult& result) {
  std::vector<std::string> lines;
  for (const auto& d : result.diagnostics) lines.push_back(d.ToString());
  return lines;
}

}  // namespace tracerig::parse_test_support
