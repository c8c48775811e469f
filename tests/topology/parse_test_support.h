// Shared by the ParseScenario tests: small scenario fragments and the diagnostics of a result as
// "file:line:column: message" lines.
#pragma once

#include <gtest/gtest.h>

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

// One table row of the error tests: a scenario text and the diagnostics it must give, exactly.
struct InvalidCase {
  const char* label;
  std::string text;
  std::vector<std::string> diagnostics;
};

// Parses the row's text as "t.toml": no scenario, exactly its diagnostics.
inline void ExpectDiagnostics(const InvalidCase& c) {
  SCOPED_TRACE(c.label);
  const ParseResult result = ParseScenario("t.toml", c.text);
  EXPECT_FALSE(result.scenario.has_value());
  EXPECT_EQ(Render(result), c.diagnostics);
}

}  // namespace tracerig::parse_test_support
