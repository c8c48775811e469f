// Scenario files: TOML text in, a validated Scenario out, or every problem in the file (and in the
// files it includes) at once, each as "file:line:col: message" so editors and CI logs can jump to
// it. The format is documented in docs/SCENARIOS.md; keep the two in step.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "topology/scenario.h"

namespace tracerig {

struct Diagnostic {
  SourceLocation where;  // the offending key or value
  std::string message;
  std::string ToString() const;  // "file:line:col: message"
};

struct ParseResult {
  std::optional<Scenario> scenario;     // set exactly when there are no diagnostics
  std::vector<Diagnostic> diagnostics;  // every problem found, sorted by file and position
  // Problems that do not stop a run (a setting that has no effect), sorted the same way; found
  // whether or not there are diagnostics. Printed as "file:line:col: warning: message".
  std::vector<Diagnostic> warnings;
  bool ok() const { return scenario.has_value() && diagnostics.empty(); }
};

// The two things parsing needs from the outside world, so that parsing itself stays pure and tests
// can fake them: the text of an included file, and environment variables referenced as "${NAME}"
// in backend header values.
struct ParseEnvironment {
  // The contents of the file at `path` (as resolved against the including file's directory), or
  // why it cannot be read ("No such file or directory").
  std::function<Result<std::string>(const std::string& path)> read_file;
  // The value of environment variable `name`, or nullopt when it is unset.
  std::function<std::optional<std::string>(const std::string& name)> get_env;
};

// The real file system and process environment.
ParseEnvironment SystemParseEnvironment();

// The text of the file at `path`, or the system's reason why it cannot be read (strerror's text,
// as in "No such file or directory"). SystemParseEnvironment reads included files with it.
Result<std::string> ReadScenarioFile(const std::string& path);

// Parses and validates a scenario. `source_name` is used in locations, stored as
// Scenario::source_name, and is the base that relative include paths resolve against; the caller
// reads the top-level file itself.
ParseResult ParseScenario(std::string_view source_name, std::string_view text,
                          const ParseEnvironment& environment);
// The same with SystemParseEnvironment().
ParseResult ParseScenario(std::string_view source_name, std::string_view text);

}  // namespace tracerig
