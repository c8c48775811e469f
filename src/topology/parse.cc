// Scenario parsing and validation (see parse.h and docs/SCENARIOS.md): the entry points, and the
// order of the passes over a scenario. The passes themselves live in parse_*.cc
// (parse_internal.h).
#include "topology/parse.h"

#include <fmt/format.h>
#include <toml++/toml.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <tuple>
#include <utility>

#include "topology/parse_internal.h"

namespace tracerig {
namespace parse_internal {
namespace {

constexpr std::string_view kScenarioKeys[] = {"name", "description", "seed"};

ParseEnvironment FillIn(const ParseEnvironment& environment) {
  ParseEnvironment filled = environment;
  if (!filled.read_file)
    filled.read_file = [](const std::string&) -> Result<std::string> {
      return MakeError("no file reader was given");
    };
  if (!filled.get_env)
    filled.get_env = [](const std::string&) -> std::optional<std::string> { return std::nullopt; };
  return filled;
}

}  // namespace

ScenarioParser::ScenarioParser(std::string_view source_name, const ParseEnvironment& environment)
    : source_name_(source_name), environment_(FillIn(environment)) {}

ParseResult ScenarioParser::Run(std::string_view text) {
  ParseResult result;
  scenario_.source_name = source_name_;
  file_order_[source_name_] = 0;
  std::vector<std::string> stack;
  if (LoadDocument(source_name_, text, stack)) {
    const toml::table& root = documents_.front().root;
    ParseScenarioTable(root);
    ParseLoad(root);
    ParseBackend(root);
    ParseBroker(root);
    ParseDefaults(root);
    for (const Document& doc : documents_) ParseTemplates(doc.root);
    for (const Document& doc : documents_) ParseServices(doc.root);
    if (scenario_.services.empty() && !services_written_) {
      Error(root.source(), "scenario defines no services (add a [[services]] table)");
    }
    for (const Document& doc : documents_) ParseFaults(doc.root);
    ParseExpect(root);
    ResolveNames();
    CheckLoadEntries();
    CheckExternalCallers();
    CheckMessaging();
    CheckCycles();
    CheckReachable();
    CheckFaults();
    CheckExpectedServices();
    WarnEntrySamplingUnused();
    WarnMessagingUnused();
  }

  auto sort = [&](std::vector<Diagnostic>& list) {
    std::stable_sort(list.begin(), list.end(), [&](const Diagnostic& x, const Diagnostic& y) {
      return std::tuple(FileOrder(x.where.file), x.where.line, x.where.column) <
             std::tuple(FileOrder(y.where.file), y.where.line, y.where.column);
    });
    // A template used by several services would otherwise repeat its own problems once per use.
    list.erase(std::unique(list.begin(), list.end(),
                           [](const Diagnostic& x, const Diagnostic& y) {
                             return x.ToString() == y.ToString();
                           }),
               list.end());
  };
  sort(diagnostics_);
  sort(warnings_);
  result.diagnostics = std::move(diagnostics_);
  result.warnings = std::move(warnings_);
  if (result.diagnostics.empty()) result.scenario = std::move(scenario_);
  return result;
}

size_t ScenarioParser::FileOrder(const std::string& file) const {
  auto it = file_order_.find(file);
  return it == file_order_.end() ? file_order_.size() : it->second;
}

void ScenarioParser::ParseScenarioTable(const toml::table& root) {
  const toml::node* node = root.get("scenario");
  if (node == nullptr) {
    Error(root.source(), "missing required table [scenario]");
    return;
  }
  const toml::table* t = AsTable(*node, "scenario");
  if (t == nullptr) return;
  CheckKeys(*t, "[scenario]", kScenarioKeys);
  if (const auto* n = Require(*t, "name", "[scenario]")) {
    if (auto v = AsNonEmptyString(*n, "name")) scenario_.name = *v;
  }
  if (const auto* n = t->get("description")) {
    if (auto v = AsString(*n, "description")) scenario_.description = *v;
  }
  if (const auto* n = t->get("seed")) {
    if (auto v = AsNonNegativeInteger(*n, "seed")) scenario_.seed = *v;
  }
}

}  // namespace parse_internal

std::string Diagnostic::ToString() const {
  return fmt::format("{}: {}", where.ToString(), message);
}

ParseEnvironment SystemParseEnvironment() {
  ParseEnvironment environment;
  environment.read_file = ReadScenarioFile;
  environment.get_env = [](const std::string& name) -> std::optional<std::string> {
    const char* value = std::getenv(name.c_str());
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  };
  return environment;
}

Result<std::string> ReadScenarioFile(const std::string& path) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) return MakeError(std::strerror(errno));
  std::string text;
  char buffer[65536];
  size_t n = 0;
  while ((n = std::fread(buffer, 1, sizeof buffer, file)) > 0) text.append(buffer, n);
  const int error = std::ferror(file) != 0 ? errno : 0;
  std::fclose(file);
  if (error != 0) return MakeError(std::strerror(error));  // a directory: "Is a directory"
  return text;
}

ParseResult ParseScenario(std::string_view source_name, std::string_view text,
                          const ParseEnvironment& environment) {
  return parse_internal::ScenarioParser(source_name, environment).Run(text);
}

ParseResult ParseScenario(std::string_view source_name, std::string_view text) {
  return ParseScenario(source_name, text, SystemParseEnvironment());
}

}  // namespace tracerig
