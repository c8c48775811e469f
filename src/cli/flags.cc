#include "cli/flags.h"

#include <algorithm>
#include <cstdio>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "core/text.h"
#include "report/run_report.h"

namespace tracerig {

std::optional<std::string> ParsedFlags::Get(std::string_view name) const {
  auto it = values.find(name);
  if (it == values.end()) return std::nullopt;
  return it->second;
}

Result<ParsedFlags> ParseFlags(const std::vector<std::string>& args,
                               const std::vector<FlagSpec>& specs) {
  ParsedFlags parsed;
  bool only_positional = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (only_positional || arg.size() < 2 || arg[0] != '-') {
      parsed.positional.push_back(arg);
      continue;
    }
    if (arg == "--") {
      only_positional = true;
      continue;
    }
    if (arg == "-h" || arg == "--help") {
      parsed.help = true;
      continue;
    }
    if (arg.rfind("--", 0) != 0) {
      return MakeError(fmt::format("unknown flag \"{}\" (flags are written --name)", arg));
    }
    std::string name = arg.substr(2);
    std::optional<std::string> value;
    if (size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name.resize(eq);
    }
    auto spec = std::find_if(specs.begin(), specs.end(), [&](const FlagSpec& s) { return s.name == name; });
    if (spec == specs.end()) {
      std::vector<std::string> known;
      for (const auto& s : specs) known.push_back("--" + s.name);
      known.emplace_back("--help");
      const std::vector<std::string_view> candidates(known.begin(), known.end());
      return MakeError(
          fmt::format("unknown flag \"--{}\"{}", name, DidYouMean("--" + name, candidates)));
    }
    if (spec->value_name.empty()) {
      if (value) return MakeError(fmt::format("--{} takes no value", name));
      parsed.values[name] = "true";
      continue;
    }
    if (!value) {
      if (i + 1 >= args.size()) {
        return MakeError(fmt::format("--{} needs a value ({})", name, spec->value_name));
      }
      // "--duration --rate 5" forgot the duration: say so rather than take "--rate" as one.
      if (args[i + 1].size() > 2 && args[i + 1].rfind("--", 0) == 0) {
        return MakeError(fmt::format("--{} needs a value; got the flag {}", name, args[i + 1]));
      }
      value = args[++i];
    }
    parsed.values[name] = *value;
  }
  return parsed;
}

std::string FormatFlagHelp(const std::vector<FlagSpec>& specs) {
  std::string out = "Flags:\n";
  for (const auto& s : specs) {
    std::string left = s.value_name.empty() ? fmt::format("--{}", s.name)
                                            : fmt::format("--{} {}", s.name, s.value_name);
    out += fmt::format("  {:<28} {}\n", left, s.help);
  }
  out += fmt::format("  {:<28} {}\n", "-h, --help", "show this help");
  return out;
}

std::string CommandHelp(std::string_view usage, std::string_view description,
                        const std::vector<FlagSpec>& specs) {
  return fmt::format("Usage: {}\n\n{}\n\n{}", usage, description, FormatFlagHelp(specs));
}

std::optional<int> ParseCommandFlags(std::string_view command, const std::vector<std::string>& args,
                                     const std::vector<FlagSpec>& specs, const std::string& help,
                                     ParsedFlags& out) {
  auto parsed = ParseFlags(args, specs);
  if (!parsed) {
    std::fputs(fmt::format("tracerig {}: {} (see 'tracerig {} --help')\n", command,
                           parsed.error().message, command)
                   .c_str(),
               stderr);
    return kExitUsage;
  }
  if (parsed->help) {
    std::fputs(help.c_str(), stdout);
    return kExitPass;
  }
  out = std::move(*parsed);
  return std::nullopt;
}

}  // namespace tracerig
