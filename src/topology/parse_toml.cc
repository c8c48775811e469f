// Reading one TOML value with its source position: diagnostics at a value's location, unknown and
// missing keys, and typed reads that report a wrong type or range and return nullopt/nullptr.
#include <fmt/format.h>
#include <toml++/toml.h>

#include <cmath>
#include <limits>

#include "core/text.h"
#include "core/units.h"
#include "topology/parse_internal.h"
#include "topology/parse_values.h"

namespace tracerig::parse_internal {
namespace {

// Renamed keys that people still copy from older examples: the message says what to write now.
struct RenamedKey {
  std::string_view key;
  std::string_view now;  // what to write instead
};
constexpr RenamedKey kRenamedKeys[] = {
    {"external", "\"url\""},
    {"error", "\"error_rate\" and \"error_status\""},
    {"edge", "\"service\" and \"callee\""},
    {"headers", "\"export_headers\" or \"query_headers\""},
};

}  // namespace

std::string_view TypeName(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::table:
      return "table";
    case toml::node_type::array:
      return "array";
    case toml::node_type::string:
      return "string";
    case toml::node_type::integer:
      return "integer";
    case toml::node_type::floating_point:
      return "float";
    case toml::node_type::boolean:
      return "boolean";
    case toml::node_type::date:
      return "date";
    case toml::node_type::time:
      return "time";
    case toml::node_type::date_time:
      return "date-time";
    case toml::node_type::none:
      break;
  }
  return "nothing";
}

// A static attribute value, or nullopt for tables, arrays and dates.
std::optional<AttributeValue> StaticValue(const toml::node& value) {
  if (const auto* s = value.as_string()) return AttributeValue(s->get());
  if (const auto* i = value.as_integer()) return AttributeValue(i->get());
  if (const auto* b = value.as_boolean()) return AttributeValue(b->get());
  if (const auto* f = value.as_floating_point()) return AttributeValue(f->get());
  return std::nullopt;
}

SourceLocation ScenarioParser::Loc(const toml::source_region& region) const {
  return SourceLocation{region.path ? *region.path : source_name_,
                        static_cast<int>(region.begin.line), static_cast<int>(region.begin.column)};
}

void ScenarioParser::Error(SourceLocation where, std::string message) {
  diagnostics_.push_back({std::move(where), std::move(message)});
}

void ScenarioParser::Error(const toml::source_region& region, std::string message) {
  Error(Loc(region), std::move(message));
}

// Reports every key of `table` outside `allowed`; `what` names the table in the message ("" for
// the document's top level). False when there was any.
bool ScenarioParser::CheckKeys(const toml::table& table, std::string_view what, Keys allowed) {
  bool ok = true;
  for (auto&& [key, value] : table) {
    const std::string_view k = key.str();
    if (Contains(allowed, k)) continue;
    ok = false;
    const std::string where = what.empty() ? "at the top level" : fmt::format("in {}", what);
    std::string hint = DidYouMean(k, allowed);
    for (const RenamedKey& r : kRenamedKeys) {
      if (r.key == k && hint.empty()) hint = fmt::format(" (write {} instead)", r.now);
    }
    Error(key.source(), fmt::format("unknown key \"{}\" {}{}", k, where, hint));
  }
  return ok;
}

// The value of a required key, or nullptr after reporting that it is missing.
const toml::node* ScenarioParser::Require(const toml::table& table, std::string_view key,
                                          std::string_view what) {
  const toml::node* node = table.get(key);
  if (node == nullptr) {
    Error(table.source(), fmt::format("missing required key \"{}\" in {}", key, what));
  }
  return node;
}

std::optional<std::string> ScenarioParser::AsString(const toml::node& node, std::string_view key) {
  if (const auto* s = node.as_string()) return s->get();
  Error(node.source(), fmt::format("\"{}\" must be a string, got {}", key, TypeName(node)));
  return std::nullopt;
}

std::optional<std::string> ScenarioParser::AsNonEmptyString(const toml::node& node,
                                                            std::string_view key) {
  auto s = AsString(node, key);
  if (s && s->empty()) {
    Error(node.source(), fmt::format("\"{}\" must not be empty", key));
    return std::nullopt;
  }
  return s;
}

std::optional<double> ScenarioParser::AsNumber(const toml::node& node, std::string_view key) {
  if (const auto* i = node.as_integer()) return static_cast<double>(i->get());
  if (const auto* f = node.as_floating_point()) return f->get();
  Error(node.source(), fmt::format("\"{}\" must be a number, got {}", key, TypeName(node)));
  return std::nullopt;
}

std::optional<double> ScenarioParser::AsPositive(const toml::node& node, std::string_view key) {
  auto v = AsNumber(node, key);
  if (!v) return std::nullopt;
  if (!std::isfinite(*v)) {
    Error(node.source(), fmt::format("\"{}\" must be a finite number, got {}", key, *v));
    return std::nullopt;
  }
  if (*v <= 0) {
    Error(node.source(), fmt::format("\"{}\" must be greater than 0, got {}", key, *v));
    return std::nullopt;
  }
  return v;
}

std::optional<double> ScenarioParser::AsNonNegative(const toml::node& node, std::string_view key) {
  auto v = AsNumber(node, key);
  if (!v) return std::nullopt;
  if (!std::isfinite(*v)) {
    Error(node.source(), fmt::format("\"{}\" must be a finite number, got {}", key, *v));
    return std::nullopt;
  }
  if (*v < 0) {
    Error(node.source(), fmt::format("\"{}\" must be 0 or greater, got {}", key, *v));
    return std::nullopt;
  }
  return v;
}

std::optional<double> ScenarioParser::AsFraction(const toml::node& node, std::string_view key) {
  auto v = AsNumber(node, key);
  if (!v) return std::nullopt;
  if (!(*v >= 0 && *v <= 1)) {
    Error(node.source(), fmt::format("\"{}\" must be between 0 and 1, got {}", key, *v));
    return std::nullopt;
  }
  return v;
}

std::optional<uint64_t> ScenarioParser::AsNonNegativeInteger(const toml::node& node,
                                                             std::string_view key) {
  return AsInteger(node, key, 0, std::numeric_limits<int64_t>::max());
}

// An integer in [min, max].
std::optional<uint64_t> ScenarioParser::AsInteger(const toml::node& node, std::string_view key,
                                                  int64_t min, int64_t max) {
  const auto* i = node.as_integer();
  if (i == nullptr) {
    Error(node.source(), fmt::format("\"{}\" must be an integer, got {}", key, TypeName(node)));
    return std::nullopt;
  }
  if (i->get() < min) {
    Error(node.source(), fmt::format("\"{}\" must be {} or greater, got {}", key, min, i->get()));
    return std::nullopt;
  }
  if (i->get() > max) {
    Error(node.source(), fmt::format("\"{}\" must be at most {}, got {}", key, max, i->get()));
    return std::nullopt;
  }
  return static_cast<uint64_t>(i->get());
}

std::optional<uint64_t> ScenarioParser::AsDuration(const toml::node& node, std::string_view key) {
  const auto* s = node.as_string();
  if (s == nullptr) {
    Error(node.source(), fmt::format("\"{}\" must be a duration string such as \"30s\", got {}",
                                     key, TypeName(node)));
    return std::nullopt;
  }
  auto nanos = ParseDuration(s->get());
  if (!nanos) {
    Error(node.source(),
          fmt::format("invalid duration \"{}\" for \"{}\" (expected a number and one of the "
                      "units ns, us, ms, s, m, h, as in \"30s\")",
                      s->get(), key));
  }
  return nanos;
}

std::optional<uint64_t> ScenarioParser::AsPositiveDuration(const toml::node& node,
                                                           std::string_view key) {
  auto v = AsDuration(node, key);
  if (v && *v == 0) {
    Error(node.source(), fmt::format("\"{}\" must be greater than 0", key));
    return std::nullopt;
  }
  return v;
}

std::optional<uint64_t> ScenarioParser::AsSize(const toml::node& node, std::string_view key) {
  if (const auto* i = node.as_integer()) {
    if (i->get() >= 0) return static_cast<uint64_t>(i->get());
    Error(node.source(), fmt::format("\"{}\" must be 0 or greater, got {}", key, i->get()));
    return std::nullopt;
  }
  const auto* s = node.as_string();
  if (s == nullptr) {
    Error(node.source(),
          fmt::format("\"{}\" must be a size such as \"2KiB\", got {}", key, TypeName(node)));
    return std::nullopt;
  }
  auto bytes = ParseSize(s->get());
  if (!bytes) {
    Error(node.source(),
          fmt::format("invalid size \"{}\" for \"{}\" (expected a number and one of the units "
                      "B, KiB, MiB, GiB, KB, MB, GB, as in \"2KiB\")",
                      s->get(), key));
  }
  return bytes;
}

const toml::table* ScenarioParser::AsTable(const toml::node& node, std::string_view key) {
  if (const auto* t = node.as_table()) return t;
  Error(node.source(), fmt::format("\"{}\" must be a table, got {}", key, TypeName(node)));
  return nullptr;
}

// An array of tables such as [[services]] (`header` is how to write one); reports other values
// and elements that are not tables.
std::vector<const toml::table*> ScenarioParser::AsTableArray(const toml::node& node,
                                                             std::string_view key,
                                                             std::string_view header) {
  std::vector<const toml::table*> tables;
  const auto* array = node.as_array();
  if (array == nullptr) {
    Error(node.source(), fmt::format("\"{}\" must be an array of tables ([[{}]]), got {}", key,
                                     header, TypeName(node)));
    return tables;
  }
  for (const toml::node& element : *array) {
    if (const auto* t = element.as_table()) {
      tables.push_back(t);
    } else {
      Error(element.source(),
            fmt::format("each entry of \"{}\" must be a table, got {}", key, TypeName(element)));
    }
  }
  return tables;
}

// A value one of `supported`; `not_yet` values are planned and say so.
bool ScenarioParser::CheckChoice(const toml::node& node, std::string_view value,
                                 std::string_view what, Keys supported, Keys not_yet) {
  if (Contains(supported, value)) return true;
  if (Contains(not_yet, value)) {
    Error(node.source(), fmt::format("{} \"{}\" is not supported yet", what, value));
    return false;
  }
  std::string hint = DidYouMean(value, supported);
  if (hint.empty()) hint = fmt::format(" (supported: {})", QuotedList(supported));
  Error(node.source(), fmt::format("unknown {} \"{}\"{}", what, value, hint));
  return false;
}

}  // namespace tracerig::parse_internal
