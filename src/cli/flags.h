// A strict command-line flag parser: every flag is declared with its help text (so --help is
// generated from the same table that parses), unknown flags are errors, values are checked by type.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace tracerig {

struct FlagSpec {
  std::string name;         // "duration" for --duration
  std::string value_name;   // "DURATION"; empty for a boolean switch
  std::string help;
};

struct ParsedFlags {
  std::map<std::string, std::string, std::less<>> values;  // switches map to "true"
  std::vector<std::string> positional;
  bool help = false;

  bool Has(std::string_view name) const { return values.count(name) > 0; }
  std::optional<std::string> Get(std::string_view name) const;
};

// Accepts --name VALUE, --name=VALUE, switches, "--" ending flags, -h/--help.
Result<ParsedFlags> ParseFlags(const std::vector<std::string>& args, const std::vector<FlagSpec>& specs);

// The "Flags:" section of a --help text.
std::string FormatFlagHelp(const std::vector<FlagSpec>& specs);

// A command's whole --help text: usage line, description, then the flags.
std::string CommandHelp(std::string_view usage, std::string_view description,
                        const std::vector<FlagSpec>& specs);

// The first step of every command: parses `args` into `out`, or says why the command must stop
// now and with which exit status: --help printed `help` (0), or a usage error was printed to
// stderr as "tracerig COMMAND: PROBLEM (see 'tracerig COMMAND --help')" (2). `command` is what
// the user typed after "tracerig": "run", "report merge".
std::optional<int> ParseCommandFlags(std::string_view command, const std::vector<std::string>& args,
                                     const std::vector<FlagSpec>& specs, const std::string& help,
                                     ParsedFlags& out);

}  // namespace tracerig
