// Scenario parsing and validation (see parse.h and docs/SCENARIOS.md). Two passes: the first reads
// each table with toml++ and checks its keys, types and ranges; the second resolves names across
// the file (calls, load entries, faults) and looks for call cycles. Both only collect diagnostics,
// so one run of `tracerig validate` shows every problem.
#include "topology/parse.h"

#include <fmt/format.h>
#include <toml++/toml.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <span>
#include <utility>

#include "core/units.h"
#include "topology/expected_tree.h"

namespace tracerig {
namespace {

using Keys = std::span<const std::string_view>;

// ---- Allowed keys per table. *NotYet lists keys of the proposed format (shared/reference/
// scenario-example.toml) that this version does not implement: they get "not supported yet"
// instead of "unknown key".
constexpr std::string_view kTopKeys[] = {"scenario", "load",   "backend", "defaults",
                                         "services", "faults", "expect"};
constexpr std::string_view kScenarioKeys[] = {"name", "description", "seed"};
constexpr std::string_view kLoadKeys[] = {"model",      "rate",     "duration", "warmup",
                                          "start_rate", "requests", "stages",   "entries"};
constexpr std::string_view kLoadEntryKeys[] = {"service", "route", "weight"};
constexpr std::string_view kLoadStageKeys[] = {"duration", "target"};
constexpr std::string_view kBackendKeys[] = {"export", "query"};
constexpr std::string_view kBackendNotYet[] = {"headers"};
constexpr std::string_view kDefaultsKeys[] = {"protocol", "propagation"};
constexpr std::string_view kDefaultsNotYet[] = {"sampling"};
constexpr std::string_view kServiceKeys[] = {"name",        "protocol", "listen",
                                             "propagation", "resource", "routes"};
constexpr std::string_view kServiceNotYet[] = {"sampling", "external"};
constexpr std::string_view kRouteKeys[] = {"name", "latency", "attributes", "calls"};
constexpr std::string_view kRouteNotYet[] = {"error", "events"};
constexpr std::string_view kCallKeys[] = {"service", "route"};
constexpr std::string_view kCallNotYet[] = {"timeout", "retries", "probability"};
constexpr std::string_view kParallelKeys[] = {"parallel", "service", "route"};
constexpr std::string_view kFaultKeys[] = {"kind", "service", "probability"};
constexpr std::string_view kFaultNotYet[] = {"edge", "window"};
constexpr std::string_view kExpectKeys[] = {"completeness", "broken"};
constexpr std::string_view kExpectNotYet[] = {"time_to_queryable_p99", "sampling", "attributes"};

// ---- Enumerated values.
constexpr std::string_view kLoadModels[] = {"constant", "ramp", "poisson", "count"};
constexpr std::string_view kLoadModelsNotYet[] = {"closed"};
constexpr std::string_view kProtocols[] = {"http"};
constexpr std::string_view kProtocolsNotYet[] = {"grpc"};
constexpr std::string_view kPropagations[] = {"tracecontext", "baggage", "b3", "b3multi", "jaeger"};
constexpr std::string_view kPropagationsNotYet[] = {"xray"};
constexpr std::string_view kFaultKinds[] = {"drop-context"};
// Keys that mark an attribute table as a generator ({ choose = [...], weights = [...] }).
constexpr std::string_view kGeneratorKeys[] = {"choose", "weights"};

struct Distribution {
  std::string_view name;
  LatencyModel::Kind kind;
  std::string_view a;  // parameter stored in LatencyModel::a
  std::string_view b;  // parameter stored in LatencyModel::b; empty when there is none
};
constexpr Distribution kDistributions[] = {
    {"fixed", LatencyModel::Kind::kFixed, "value", ""},
    {"uniform", LatencyModel::Kind::kUniform, "min", "max"},
    {"normal", LatencyModel::Kind::kNormal, "mean", "stddev"},
    {"lognormal", LatencyModel::Kind::kLognormal, "p50", "p99"},
    {"exponential", LatencyModel::Kind::kExponential, "mean", ""},
};
constexpr std::string_view kDistributionNames[] = {"fixed", "uniform", "normal", "lognormal",
                                                   "exponential"};

bool Contains(Keys keys, std::string_view key) {
  return std::find(keys.begin(), keys.end(), key) != keys.end();
}

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// " (did you mean "x"?)" for the closest candidate within a third of the name's length (at least
// one edit), or "" when nothing is close enough to be a plausible typo.
std::string DidYouMean(std::string_view name, Keys candidates) {
  const size_t limit = std::max<size_t>(1, name.size() / 3);
  std::string_view best;
  size_t best_distance = limit + 1;
  for (std::string_view c : candidates) {
    const size_t d = EditDistance(name, c);
    if (d < best_distance && d < c.size()) {
      best = c;
      best_distance = d;
    }
  }
  if (best_distance > limit) return "";
  return fmt::format(" (did you mean \"{}\"?)", best);
}

// "\"a\", \"b\"".
std::string QuotedList(Keys values) {
  std::string out;
  for (std::string_view v : values) {
    if (!out.empty()) out += ", ";
    out += fmt::format("\"{}\"", v);
  }
  return out;
}

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

bool IsValidServiceName(std::string_view name) {
  auto lower_or_digit = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (name.empty() || !lower_or_digit(name[0])) return false;
  return std::all_of(name.begin(), name.end(),
                     [&](char c) { return lower_or_digit(c) || c == '_' || c == '.' || c == '-'; });
}

// HOST:PORT with a decimal port in 0..65535; an IPv6 host must be bracketed ("[::1]:8080").
bool IsValidListen(std::string_view address) {
  const size_t colon = address.rfind(':');
  if (colon == std::string_view::npos) return false;
  const std::string_view host = address.substr(0, colon);
  const std::string_view port = address.substr(colon + 1);
  if (host.empty() || port.empty() || port.size() > 5) return false;
  uint32_t value = 0;
  for (char c : port) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + static_cast<uint32_t>(c - '0');
  }
  if (value > 65535) return false;
  if (host.front() == '[') return host.size() > 2 && host.back() == ']';
  return std::none_of(host.begin(), host.end(),
                      [](char c) { return c == ':' || c == ' ' || c == '\t' || c == ']'; });
}

bool ListensOnFixedPort(std::string_view address) {
  return address.substr(address.rfind(':') + 1).find_first_not_of('0') != std::string_view::npos;
}

// What the first pass remembers about a name written in the file, for the second pass.
struct CallSite {
  size_t service = 0;  // the caller, as indices into Scenario::services / Service::routes
  size_t route = 0;
  std::string callee_service;
  std::string callee_route;
  SourceLocation where;  // the call's table
  SourceLocation service_at;
  SourceLocation route_at;
};

struct EntrySite {
  SourceLocation service_at;
  SourceLocation route_at;
};

class ScenarioParser {
 public:
  explicit ScenarioParser(std::string_view source_name) : source_name_(source_name) {}

  ParseResult Run(std::string_view text) {
    ParseResult result;
    toml::table root;
    try {
      root = toml::parse(text, std::string(source_name_));
    } catch (const toml::parse_error& e) {
      result.diagnostics.push_back({Loc(e.source()), std::string(e.description())});
      return result;
    }
    scenario_.source_name = source_name_;
    CheckKeys(root, "", kTopKeys);
    ParseScenarioTable(root);
    ParseLoad(root);
    ParseBackend(root);
    ParseDefaults(root);
    ParseServices(root);
    ParseFaults(root);
    ParseExpect(root);
    ResolveNames();
    CheckCycles();

    std::stable_sort(
        diagnostics_.begin(), diagnostics_.end(), [](const Diagnostic& x, const Diagnostic& y) {
          return std::pair(x.where.line, x.where.column) < std::pair(y.where.line, y.where.column);
        });
    result.diagnostics = std::move(diagnostics_);
    if (result.diagnostics.empty()) result.scenario = std::move(scenario_);
    return result;
  }

 private:
  SourceLocation Loc(const toml::source_region& region) const {
    return SourceLocation{source_name_, static_cast<int>(region.begin.line),
                          static_cast<int>(region.begin.column)};
  }
  void Error(SourceLocation where, std::string message) {
    diagnostics_.push_back({std::move(where), std::move(message)});
  }
  void Error(const toml::source_region& region, std::string message) {
    Error(Loc(region), std::move(message));
  }

  // Reports every key of `table` outside `allowed`; `what` names the table in the message ("" for
  // the document's top level).
  void CheckKeys(const toml::table& table, std::string_view what, Keys allowed, Keys not_yet = {}) {
    for (auto&& [key, value] : table) {
      const std::string_view k = key.str();
      if (Contains(allowed, k)) continue;
      const std::string where = what.empty() ? "at the top level" : fmt::format("in {}", what);
      if (Contains(not_yet, k)) {
        Error(key.source(), fmt::format("key \"{}\" {} is not supported yet", k, where));
        continue;
      }
      std::vector<std::string_view> candidates(allowed.begin(), allowed.end());
      candidates.insert(candidates.end(), not_yet.begin(), not_yet.end());
      Error(key.source(),
            fmt::format("unknown key \"{}\" {}{}", k, where, DidYouMean(k, candidates)));
    }
  }

  // The value of a required key, or nullptr after reporting that it is missing.
  const toml::node* Require(const toml::table& table, std::string_view key, std::string_view what) {
    const toml::node* node = table.get(key);
    if (node == nullptr) {
      Error(table.source(), fmt::format("missing required key \"{}\" in {}", key, what));
    }
    return node;
  }

  // ---- Typed reads of one value: nullopt/nullptr after reporting a wrong type or range.
  std::optional<std::string> AsString(const toml::node& node, std::string_view key) {
    if (const auto* s = node.as_string()) return s->get();
    Error(node.source(), fmt::format("\"{}\" must be a string, got {}", key, TypeName(node)));
    return std::nullopt;
  }

  std::optional<std::string> AsNonEmptyString(const toml::node& node, std::string_view key) {
    auto s = AsString(node, key);
    if (s && s->empty()) {
      Error(node.source(), fmt::format("\"{}\" must not be empty", key));
      return std::nullopt;
    }
    return s;
  }

  std::optional<double> AsNumber(const toml::node& node, std::string_view key) {
    if (const auto* i = node.as_integer()) return static_cast<double>(i->get());
    if (const auto* f = node.as_floating_point()) return f->get();
    Error(node.source(), fmt::format("\"{}\" must be a number, got {}", key, TypeName(node)));
    return std::nullopt;
  }

  std::optional<double> AsPositive(const toml::node& node, std::string_view key) {
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

  std::optional<double> AsNonNegative(const toml::node& node, std::string_view key) {
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

  std::optional<double> AsFraction(const toml::node& node, std::string_view key) {
    auto v = AsNumber(node, key);
    if (!v) return std::nullopt;
    if (!(*v >= 0 && *v <= 1)) {
      Error(node.source(), fmt::format("\"{}\" must be between 0 and 1, got {}", key, *v));
      return std::nullopt;
    }
    return v;
  }

  std::optional<uint64_t> AsNonNegativeInteger(const toml::node& node, std::string_view key) {
    const auto* i = node.as_integer();
    if (i == nullptr) {
      Error(node.source(), fmt::format("\"{}\" must be an integer, got {}", key, TypeName(node)));
      return std::nullopt;
    }
    if (i->get() < 0) {
      Error(node.source(), fmt::format("\"{}\" must be 0 or greater, got {}", key, i->get()));
      return std::nullopt;
    }
    return static_cast<uint64_t>(i->get());
  }

  std::optional<uint64_t> AsDuration(const toml::node& node, std::string_view key) {
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

  const toml::table* AsTable(const toml::node& node, std::string_view key) {
    if (const auto* t = node.as_table()) return t;
    Error(node.source(), fmt::format("\"{}\" must be a table, got {}", key, TypeName(node)));
    return nullptr;
  }

  // An array of tables such as [[services]] (`header` is how to write one); reports other values
  // and elements that are not tables.
  std::vector<const toml::table*> AsTableArray(const toml::node& node, std::string_view key,
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
  bool CheckChoice(const toml::node& node, std::string_view value, std::string_view what,
                   Keys supported, Keys not_yet = {}) {
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

  // ---- First pass: one function per table.
  void ParseScenarioTable(const toml::table& root) {
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

  void ParseLoad(const toml::table& root) {
    const toml::node* node = root.get("load");
    if (node == nullptr) return;
    const toml::table* t = AsTable(*node, "load");
    if (t == nullptr) return;
    CheckKeys(*t, "[load]", kLoadKeys);
    Load& load = scenario_.load;
    // The model decides which other keys apply, so it is read first; an invalid model skips the
    // model-specific checks rather than piling guesses on top of its error.
    bool model_ok = true;
    if (const auto* n = t->get("model")) {
      auto v = AsString(*n, "model");
      model_ok = v && CheckChoice(*n, *v, "load model", kLoadModels, kLoadModelsNotYet);
      if (model_ok) {
        for (LoadModel m :
             {LoadModel::kConstant, LoadModel::kRamp, LoadModel::kPoisson, LoadModel::kCount}) {
          if (LoadModelName(m) == *v) load.model = m;
        }
      }
    }
    const std::string_view model = LoadModelName(load.model);
    const bool ramp = load.model == LoadModel::kRamp;
    const bool count = load.model == LoadModel::kCount;
    // A key that the chosen model does not use is a mistake, not something to ignore.
    auto only_for = [&](std::string_view key, std::string_view owner, bool applies) {
      const auto* n = t->get(key);
      if (n == nullptr || applies || !model_ok) return false;
      Error(n->source(),
            fmt::format("\"{}\" applies only to model \"{}\", not \"{}\"", key, owner, model));
      return true;
    };
    const bool stray_rate = only_for("rate", "constant\", \"poisson\" or \"count", !ramp);
    const bool stray_duration = only_for("duration", "constant\" or \"poisson", !ramp && !count);
    const bool stray_start = only_for("start_rate", "ramp", ramp);
    const bool stray_requests = only_for("requests", "count", count);
    const bool stray_stages = only_for("stages", "ramp", ramp);
    bool planned_ok = model_ok;

    const toml::node* rate_node = stray_rate ? nullptr : t->get("rate");
    if (rate_node != nullptr) {
      if (auto v = AsPositive(*rate_node, "rate")) {
        load.rate = *v;
      } else {
        planned_ok = false;
      }
    }
    const toml::node* duration_node = stray_duration ? nullptr : t->get("duration");
    if (duration_node != nullptr) {
      if (auto v = AsDuration(*duration_node, "duration")) {
        if (*v == 0) {
          Error(duration_node->source(), "\"duration\" must be greater than 0");
          planned_ok = false;
        } else {
          load.duration_ns = *v;
        }
      } else {
        planned_ok = false;
      }
    }
    if (const auto* n = stray_start ? nullptr : t->get("start_rate")) {
      if (auto v = AsNonNegative(*n, "start_rate")) {
        load.start_rate = *v;
      } else {
        planned_ok = false;
      }
    }
    const toml::node* requests_node = nullptr;
    if (count && model_ok) {
      requests_node = Require(*t, "requests", "[load] for model \"count\"");
      if (requests_node == nullptr) planned_ok = false;
    } else if (!stray_requests) {
      requests_node = t->get("requests");
    }
    if (requests_node != nullptr) {
      const auto* i = requests_node->as_integer();
      if (i == nullptr) {
        Error(requests_node->source(),
              fmt::format("\"requests\" must be an integer, got {}", TypeName(*requests_node)));
        planned_ok = false;
      } else if (i->get() <= 0) {
        Error(requests_node->source(),
              fmt::format("\"requests\" must be greater than 0, got {}", i->get()));
        planned_ok = false;
      } else {
        load.requests = static_cast<uint64_t>(i->get());
      }
    }
    if (ramp && model_ok) {
      if (!ParseStages(*t)) planned_ok = false;
    } else if (!stray_stages && t->contains("stages")) {
      ParseStages(*t);
    }
    const toml::node* warmup_node = t->get("warmup");
    const std::optional<uint64_t> warmup =
        warmup_node ? AsDuration(*warmup_node, "warmup") : std::nullopt;
    if (const auto* n = t->get("entries")) ParseLoadEntries(*n);
    if (!planned_ok) return;

    // Derived lengths: the ramp runs for its stages, a count for its requests at its rate.
    if (ramp) {
      uint64_t total = 0;
      for (const LoadStage& s : load.stages) {
        total = s.duration_ns > std::numeric_limits<uint64_t>::max() - total
                    ? std::numeric_limits<uint64_t>::max()
                    : total + s.duration_ns;
      }
      load.duration_ns = total;
    } else if (count) {
      load.duration_ns = static_cast<uint64_t>(
          std::min(std::ceil(static_cast<double>(load.requests) * 1e9 / load.rate), 0x1p63));
    }

    const double planned = PlannedRequests(load);
    if (!(planned <= static_cast<double>(kMaxLoadRequests))) {
      if (count) {
        Error(requests_node->source(),
              fmt::format("\"requests\" ({}) is more than the limit of {} requests", load.requests,
                          kMaxLoadRequests));
      } else if (ramp) {
        Error(t->get("stages")->source(),
              fmt::format("the ramp's stages plan {} requests, more than the limit of {}",
                          FormatRequestCount(planned), kMaxLoadRequests));
      } else {
        const toml::node* at = rate_node ? rate_node : duration_node ? duration_node : t;
        Error(at->source(),
              fmt::format("rate {}/s for {} plans {} requests, more than the limit of {}",
                          load.rate, FormatDuration(load.duration_ns), FormatRequestCount(planned),
                          kMaxLoadRequests));
      }
      return;
    }

    if (warmup && warmup_node) {
      if (*warmup >= load.duration_ns) {
        Error(warmup_node->source(),
              fmt::format("\"warmup\" ({}) must be shorter than the load's duration ({})",
                          FormatDuration(*warmup), FormatDuration(load.duration_ns)));
      } else {
        load.warmup_ns = *warmup;
      }
    }
  }

  // [[load.stages]] of a ramp; false after reporting a problem.
  bool ParseStages(const toml::table& load_table) {
    const toml::node* node = load_table.get("stages");
    if (node == nullptr) {
      Error(load_table.source(), "model \"ramp\" needs at least one [[load.stages]] table");
      return false;
    }
    if (const auto* array = node->as_array(); array != nullptr && array->empty()) {
      Error(node->source(), "\"stages\" must list at least one stage");
      return false;
    }
    bool ok = true;
    const auto tables = AsTableArray(*node, "stages", "load.stages");
    if (tables.empty() || tables.size() != node->as_array()->size()) ok = false;
    for (const toml::table* st : tables) {
      CheckKeys(*st, "load stage", kLoadStageKeys);
      LoadStage stage;
      bool complete = true;
      if (const toml::node* d = Require(*st, "duration", "load stage")) {
        const auto v = AsDuration(*d, "duration");
        if (v && *v == 0) Error(d->source(), "\"duration\" must be greater than 0");
        complete = v.has_value() && *v > 0;
        stage.duration_ns = v.value_or(0);
      } else {
        complete = false;
      }
      if (const toml::node* r = Require(*st, "target", "load stage")) {
        const auto v = AsNonNegative(*r, "target");
        complete = complete && v.has_value();
        stage.target_rate = v.value_or(0);
      } else {
        complete = false;
      }
      ok = ok && complete;
      if (complete) scenario_.load.stages.push_back(stage);
    }
    return ok;
  }

  void ParseLoadEntries(const toml::node& n) {
    Load& load = scenario_.load;
    for (const toml::table* e : AsTableArray(n, "entries", "load.entries")) {
      CheckKeys(*e, "load entry", kLoadEntryKeys);
      LoadEntry entry;
      EntrySite site;
      bool complete = true;
      if (const auto* s = Require(*e, "service", "load entry")) {
        auto v = AsString(*s, "service");
        complete = complete && v.has_value();
        if (v) entry.service = *v;
        site.service_at = Loc(s->source());
      } else {
        complete = false;
      }
      if (const auto* r = Require(*e, "route", "load entry")) {
        auto v = AsString(*r, "route");
        complete = complete && v.has_value();
        if (v) entry.route = *v;
        site.route_at = Loc(r->source());
      } else {
        complete = false;
      }
      if (const auto* w = e->get("weight")) {
        if (auto v = AsPositive(*w, "weight")) entry.weight = *v;
      }
      if (complete) {
        load.entries.push_back(std::move(entry));
        entry_sites_.push_back(std::move(site));
      }
    }
    // Only a missing [[load.entries]] means "use the default": an invalid one is reported above
    // and must not be silently replaced.
    entries_written_ = true;
  }

  void ParseBackend(const toml::table& root) {
    const toml::node* node = root.get("backend");
    if (node == nullptr) return;
    const toml::table* t = AsTable(*node, "backend");
    if (t == nullptr) return;
    CheckKeys(*t, "[backend]", kBackendKeys, kBackendNotYet);
    if (const auto* n = t->get("export")) {
      if (auto v = AsString(*n, "export")) scenario_.backend.export_url = *v;
    }
    if (const auto* n = t->get("query")) {
      if (auto v = AsString(*n, "query")) scenario_.backend.query_url = *v;
    }
  }

  void ParseDefaults(const toml::table& root) {
    const toml::node* node = root.get("defaults");
    if (node == nullptr) return;
    const toml::table* t = AsTable(*node, "defaults");
    if (t == nullptr) return;
    CheckKeys(*t, "[defaults]", kDefaultsKeys, kDefaultsNotYet);
    if (const auto* n = t->get("protocol")) default_protocol_ = ParseProtocol(*n);
    if (const auto* n = t->get("propagation")) default_propagation_ = ParsePropagation(*n);
  }

  std::optional<Protocol> ParseProtocol(const toml::node& node) {
    auto v = AsString(node, "protocol");
    if (!v) return std::nullopt;
    if (!CheckChoice(node, *v, "protocol", kProtocols, kProtocolsNotYet)) return std::nullopt;
    return Protocol::kHttp;
  }

  std::optional<std::vector<std::string>> ParsePropagation(const toml::node& node) {
    const auto* array = node.as_array();
    if (array == nullptr) {
      Error(node.source(),
            fmt::format("\"propagation\" must be an array of strings, got {}", TypeName(node)));
      return std::nullopt;
    }
    if (array->empty()) {
      Error(node.source(), "\"propagation\" must list at least one format");
      return std::nullopt;
    }
    std::vector<std::string> formats;
    bool ok = true;
    for (const toml::node& element : *array) {
      const auto* s = element.as_string();
      if (s == nullptr) {
        Error(element.source(),
              fmt::format("each entry of \"propagation\" must be a string, got {}",
                          TypeName(element)));
        ok = false;
        continue;
      }
      const std::string& format = s->get();
      if (Contains(kPropagations, format)) {
        formats.push_back(format);
        continue;
      }
      ok = false;
      const std::string_view problem =
          Contains(kPropagationsNotYet, format) ? "is not supported yet" : "is unknown";
      Error(element.source(), fmt::format("propagation format \"{}\" {} (supported: {})", format,
                                          problem, QuotedList(kPropagations)));
    }
    if (!ok) return std::nullopt;
    return formats;
  }

  void ParseServices(const toml::table& root) {
    const toml::node* node = root.get("services");
    if (node == nullptr) {
      Error(root.source(), "scenario defines no services (add a [[services]] table)");
      return;
    }
    const auto tables = AsTableArray(*node, "services", "services");
    if (tables.empty() && node->is_array()) {
      Error(node->source(), "scenario defines no services (add a [[services]] table)");
    }
    for (const toml::table* t : tables) scenario_.services.push_back(ParseService(*t));
  }

  Service ParseService(const toml::table& t) {
    const size_t index = scenario_.services.size();
    CheckKeys(t, "service", kServiceKeys, kServiceNotYet);
    Service service;
    service.where = Loc(t.source());
    if (const auto* n = Require(t, "name", "service")) {
      if (auto v = AsNonEmptyString(*n, "name")) {
        service.name = *v;
        if (*v == kDriverServiceName) {
          Error(n->source(),
                fmt::format("service name \"{}\" is reserved for the load driver", *v));
        } else if (!IsValidServiceName(*v)) {
          Error(n->source(), fmt::format("invalid service name \"{}\" (use lowercase letters, "
                                         "digits, '_', '.' and '-', starting with a letter or "
                                         "digit)",
                                         *v));
        }
        auto [it, inserted] = service_lines_.emplace(*v, n->source().begin.line);
        if (!inserted) {
          Error(n->source(),
                fmt::format("duplicate service \"{}\" (first defined at line {})", *v, it->second));
        }
      }
    }
    if (const auto* n = t.get("protocol")) {
      if (auto p = ParseProtocol(*n)) service.protocol = *p;
    } else if (default_protocol_) {
      service.protocol = *default_protocol_;
    }
    if (const auto* n = t.get("listen")) {
      if (auto v = AsString(*n, "listen")) {
        if (!IsValidListen(*v)) {
          Error(n->source(), fmt::format("invalid listen address \"{}\" (expected HOST:PORT, as in "
                                         "\"127.0.0.1:8080\"; port 0 picks a free port)",
                                         *v));
        } else {
          service.listen = *v;
          if (ListensOnFixedPort(*v)) {
            auto [it, inserted] = listen_owner_.emplace(*v, service.name);
            if (!inserted) {
              Error(n->source(), fmt::format("listen address \"{}\" is already used by service "
                                             "\"{}\"",
                                             *v, it->second));
            }
          }
        }
      }
    }
    if (const auto* n = t.get("propagation")) {
      if (auto p = ParsePropagation(*n)) service.propagation = std::move(*p);
    } else if (default_propagation_) {
      service.propagation = *default_propagation_;
    }
    if (const auto* n = t.get("resource")) {
      if (const auto* table = AsTable(*n, "resource")) {
        service.resource = ParseAttributes(*table, /*resource=*/true);
      }
    }
    const toml::node* routes = t.get("routes");
    std::vector<const toml::table*> route_tables;
    if (routes != nullptr) route_tables = AsTableArray(*routes, "routes", "services.routes");
    // An external service (not supported yet, reported above) has no routes of its own.
    const bool external = t.contains("external");
    if (route_tables.empty() && !external && (routes == nullptr || routes->is_array())) {
      const std::string who = service.name.empty() ? std::string("service")
                                                   : fmt::format("service \"{}\"", service.name);
      Error(routes != nullptr ? routes->source() : t.source(),
            fmt::format("{} has no routes (add a [[services.routes]] table)", who));
    }
    std::map<std::string, int, std::less<>> route_lines;
    for (const toml::table* rt : route_tables) {
      Route route = ParseRoute(*rt, index, service.routes.size());
      if (!route.name.empty()) {
        auto [it, inserted] = route_lines.emplace(route.name, route.where.line);
        if (!inserted) {
          Error(route.where,
                fmt::format("duplicate route \"{}\" in service \"{}\" (first defined at "
                            "line {})",
                            route.name, service.name, it->second));
        }
      }
      service.routes.push_back(std::move(route));
    }
    return service;
  }

  Route ParseRoute(const toml::table& t, size_t service_index, size_t route_index) {
    CheckKeys(t, "route", kRouteKeys, kRouteNotYet);
    Route route;
    route.where = Loc(t.source());
    if (const auto* n = Require(t, "name", "route")) {
      if (auto v = AsNonEmptyString(*n, "name")) {
        route.name = *v;
        route.where = Loc(n->source());  // so messages about the route point at its name
      }
    }
    if (const auto* n = t.get("latency")) {
      if (auto latency = ParseLatency(*n)) route.latency = *latency;
    }
    if (const auto* n = t.get("attributes")) {
      if (const auto* table = AsTable(*n, "attributes")) {
        route.attributes = ParseAttributes(*table, /*resource=*/false);
      }
    }
    if (const auto* n = t.get("calls")) route.calls = ParseCalls(*n, service_index, route_index);
    return route;
  }

  std::optional<LatencyModel> ParseLatency(const toml::node& node) {
    const toml::table* t = AsTable(node, "latency");
    if (t == nullptr) return std::nullopt;
    const toml::node* dist_node = t->get("distribution");
    if (dist_node == nullptr) {
      Error(t->source(), fmt::format("missing required key \"distribution\" in latency (one of {})",
                                     QuotedList(kDistributionNames)));
      return std::nullopt;
    }
    auto name = AsString(*dist_node, "distribution");
    if (!name) return std::nullopt;
    const auto* dist = std::find_if(std::begin(kDistributions), std::end(kDistributions),
                                    [&](const Distribution& d) { return d.name == *name; });
    if (dist == std::end(kDistributions)) {
      CheckChoice(*dist_node, *name, "latency distribution", kDistributionNames);
      return std::nullopt;
    }
    const std::string what = fmt::format("\"{}\" latency", dist->name);
    std::vector<std::string_view> allowed = {"distribution", dist->a};
    if (!dist->b.empty()) allowed.push_back(dist->b);
    CheckKeys(*t, what, allowed);

    LatencyModel model;
    model.kind = dist->kind;
    const toml::node* a_node = Require(*t, dist->a, what);
    const toml::node* b_node = dist->b.empty() ? nullptr : Require(*t, dist->b, what);
    std::optional<uint64_t> a = a_node ? AsDuration(*a_node, dist->a) : std::nullopt;
    std::optional<uint64_t> b = b_node ? AsDuration(*b_node, dist->b) : std::nullopt;
    if (!a || (!dist->b.empty() && !b)) return std::nullopt;
    model.a = *a;
    model.b = b.value_or(0);
    if (model.kind == LatencyModel::Kind::kLognormal && model.a == 0) {
      Error(a_node->source(), "\"p50\" must be greater than 0");
      return std::nullopt;
    }
    const bool ordered =
        model.kind == LatencyModel::Kind::kUniform || model.kind == LatencyModel::Kind::kLognormal;
    if (ordered && model.b < model.a) {
      Error(b_node->source(),
            fmt::format("\"{}\" ({}) must not be less than \"{}\" ({})", dist->b,
                        FormatDuration(model.b), dist->a, FormatDuration(model.a)));
      return std::nullopt;
    }
    return model;
  }

  // Static attribute values: string, integer, boolean or float. A table is either a generator
  // (planned) or, more often, an unquoted dotted key (http.route = ...), which TOML turns into a
  // nested table; the message says which.
  std::vector<Attribute> ParseAttributes(const toml::table& t, bool resource) {
    const std::string_view what = resource ? "resource attribute" : "attribute";
    std::vector<Attribute> attributes;
    for (auto&& [key, value] : t) {
      const std::string_view k = key.str();
      if (resource && k == "service.name") {
        Error(key.source(),
              "resource attribute \"service.name\" is set from the service's "
              "\"name\"; remove it");
        continue;
      }
      if (k.starts_with("tracerig.")) {
        Error(key.source(), fmt::format("{} \"{}\" is reserved: the \"tracerig.\" prefix is set by "
                                        "tracerig itself",
                                        what, k));
        continue;
      }
      if (const auto* s = value.as_string()) {
        attributes.push_back({std::string(k), s->get()});
      } else if (const auto* i = value.as_integer()) {
        attributes.push_back({std::string(k), i->get()});
      } else if (const auto* b = value.as_boolean()) {
        attributes.push_back({std::string(k), b->get()});
      } else if (const auto* f = value.as_floating_point()) {
        attributes.push_back({std::string(k), f->get()});
      } else if (const auto* table = value.as_table()) {
        const bool generator = std::any_of(table->begin(), table->end(), [](const auto& kv) {
          return Contains(kGeneratorKeys, kv.first.str());
        });
        if (generator && !resource) {
          Error(value.source(),
                fmt::format("attribute \"{}\": generated attributes are not supported yet", k));
        } else {
          const std::string dotted = table->empty()
                                         ? std::string(k)
                                         : fmt::format("{}.{}", k, table->begin()->first.str());
          Error(value.source(),
                fmt::format("{} \"{}\" must be a string, integer, boolean or float, got table (to "
                            "name an attribute \"{}\", put the key in quotes)",
                            what, k, dotted));
        }
      } else {
        Error(value.source(),
              fmt::format("{} \"{}\" must be a string, integer, boolean or float, got {}", what, k,
                          TypeName(value)));
      }
    }
    return attributes;
  }

  std::vector<CallStep> ParseCalls(const toml::node& node, size_t service, size_t route) {
    std::vector<CallStep> steps;
    const auto* array = node.as_array();
    if (array == nullptr) {
      Error(node.source(),
            fmt::format("\"calls\" must be an array of calls, got {}", TypeName(node)));
      return steps;
    }
    for (const toml::node& element : *array) {
      const auto* t = element.as_table();
      if (t == nullptr) {
        Error(element.source(), fmt::format("each entry of \"calls\" must be a table such as "
                                            "{{ service = \"cart\", route = \"GetCart\" }}, got {}",
                                            TypeName(element)));
        continue;
      }
      const toml::node* group = t->get("parallel");
      if (group == nullptr) {
        if (auto call = ParseCall(*t, service, route)) {
          steps.push_back(CallStep{false, {std::move(*call)}});
        }
        continue;
      }
      CheckKeys(*t, "call", kParallelKeys);
      if (t->contains("service") || t->contains("route")) {
        Error(t->source(), "a call has either \"parallel\" or \"service\" and \"route\", not both");
      }
      const auto* members = group->as_array();
      if (members == nullptr) {
        Error(group->source(),
              fmt::format("\"parallel\" must be an array of calls, got {}", TypeName(*group)));
        continue;
      }
      if (members->empty()) {
        Error(group->source(), "\"parallel\" must list at least one call");
        continue;
      }
      CallStep step{true, {}};
      for (const toml::node& member : *members) {
        const auto* mt = member.as_table();
        if (mt == nullptr) {
          Error(member.source(),
                fmt::format("each entry of \"parallel\" must be a table such as "
                            "{{ service = \"cart\", route = \"GetCart\" }}, got {}",
                            TypeName(member)));
        } else if (mt->contains("parallel")) {
          Error(member.source(), "nested \"parallel\" groups are not supported");
        } else if (auto call = ParseCall(*mt, service, route)) {
          step.calls.push_back(std::move(*call));
        }
      }
      if (step.calls.size() == members->size()) steps.push_back(std::move(step));
    }
    return steps;
  }

  std::optional<Call> ParseCall(const toml::table& t, size_t service, size_t route) {
    CheckKeys(t, "call", kCallKeys, kCallNotYet);
    const toml::node* s = Require(t, "service", "call");
    const toml::node* r = Require(t, "route", "call");
    std::optional<std::string> callee_service = s ? AsString(*s, "service") : std::nullopt;
    std::optional<std::string> callee_route = r ? AsString(*r, "route") : std::nullopt;
    if (!callee_service || !callee_route) return std::nullopt;
    Call call;
    call.service = *callee_service;
    call.route = *callee_route;
    call.where = Loc(t.source());
    call_sites_.push_back(CallSite{service, route, *callee_service, *callee_route, call.where,
                                   Loc(s->source()), Loc(r->source())});
    return call;
  }

  void ParseFaults(const toml::table& root) {
    const toml::node* node = root.get("faults");
    if (node == nullptr) return;
    for (const toml::table* t : AsTableArray(*node, "faults", "faults")) {
      CheckKeys(*t, "fault", kFaultKeys, kFaultNotYet);
      Fault fault;
      fault.where = Loc(t->source());
      bool complete = true;
      if (const auto* n = Require(*t, "kind", "fault")) {
        auto v = AsString(*n, "kind");
        if (v && !Contains(kFaultKinds, *v)) {
          // A near miss of a supported kind is a typo; anything else is a kind still to come.
          std::string hint = DidYouMean(*v, kFaultKinds);
          Error(n->source(), hint.empty()
                                 ? fmt::format("fault kind \"{}\" is not supported yet", *v)
                                 : fmt::format("unknown fault kind \"{}\"{}", *v, hint));
          complete = false;
        }
        complete = complete && v.has_value();
      } else {
        complete = false;
      }
      if (t->contains("edge")) {
        // A fault on an edge (not supported yet, reported above) names no service.
        complete = false;
      } else if (const auto* n = Require(*t, "service", "fault")) {
        auto v = AsString(*n, "service");
        if (v) {
          fault.service = *v;
          fault_services_.emplace_back(*v, Loc(n->source()));
        }
        complete = complete && v.has_value();
      } else {
        complete = false;
      }
      if (const auto* n = t->get("probability")) {
        if (auto v = AsFraction(*n, "probability")) fault.probability = *v;
      }
      if (complete) scenario_.faults.push_back(std::move(fault));
    }
  }

  void ParseExpect(const toml::table& root) {
    const toml::node* node = root.get("expect");
    if (node == nullptr) return;
    const toml::table* t = AsTable(*node, "expect");
    if (t == nullptr) return;
    CheckKeys(*t, "[expect]", kExpectKeys, kExpectNotYet);
    if (const auto* n = t->get("completeness")) {
      if (auto v = AsFraction(*n, "completeness")) scenario_.expect.completeness = *v;
    }
    if (const auto* n = t->get("broken")) {
      if (auto v = AsNonNegativeInteger(*n, "broken")) scenario_.expect.broken = *v;
    }
  }

  // ---- Second pass: names across the file.
  std::vector<std::string_view> ServiceNames() const {
    std::vector<std::string_view> names;
    for (const auto& s : scenario_.services) {
      if (!s.name.empty()) names.push_back(s.name);
    }
    return names;
  }

  static std::vector<std::string_view> RouteNames(const Service& service) {
    std::vector<std::string_view> names;
    for (const auto& r : service.routes) names.push_back(r.name);
    return names;
  }

  // Reports an unknown service or route; `prefix` says who names it ("call to", ...).
  bool CheckTarget(std::string_view prefix, std::string_view service, std::string_view route,
                   const SourceLocation& service_at, const SourceLocation& route_at) {
    const Service* target = scenario_.FindService(service);
    if (target == nullptr) {
      Error(service_at, fmt::format("{} unknown service \"{}\"{}", prefix, service,
                                    DidYouMean(service, ServiceNames())));
      return false;
    }
    if (target->FindRoute(route) == nullptr) {
      Error(route_at, fmt::format("{} unknown route \"{}\" of service \"{}\"{}", prefix, route,
                                  service, DidYouMean(route, RouteNames(*target))));
      return false;
    }
    return true;
  }

  void ResolveNames() {
    for (const CallSite& c : call_sites_) {
      CheckTarget("call to", c.callee_service, c.callee_route, c.service_at, c.route_at);
    }
    for (size_t i = 0; i < scenario_.load.entries.size(); ++i) {
      const LoadEntry& e = scenario_.load.entries[i];
      CheckTarget("load entry names", e.service, e.route, entry_sites_[i].service_at,
                  entry_sites_[i].route_at);
    }
    if (!entries_written_ && !scenario_.services.empty() && !scenario_.services[0].routes.empty()) {
      const Service& first = scenario_.services[0];
      scenario_.load.entries.push_back(LoadEntry{first.name, first.routes[0].name, 1.0});
    }
    for (const auto& [service, where] : fault_services_) {
      if (scenario_.FindService(service) == nullptr) {
        Error(where, fmt::format("fault names unknown service \"{}\"{}", service,
                                 DidYouMean(service, ServiceNames())));
      }
    }
  }

  // Depth-first search over (service, route) nodes; every edge back into the current path closes a
  // cycle, reported at the call that closes it. A cycle would make every request recurse forever.
  void CheckCycles() {
    std::vector<size_t> first_node;  // node id of each service's first route
    size_t nodes = 0;
    for (const auto& s : scenario_.services) {
      first_node.push_back(nodes);
      nodes += s.routes.size();
    }
    struct Edge {
      size_t to;
      const CallSite* site;
    };
    std::vector<std::vector<Edge>> edges(nodes);
    std::vector<std::pair<size_t, size_t>> labels(nodes);  // node -> (service, route)
    for (size_t s = 0; s < scenario_.services.size(); ++s) {
      for (size_t r = 0; r < scenario_.services[s].routes.size(); ++r) {
        labels[first_node[s] + r] = {s, r};
      }
    }
    auto node_of = [&](std::string_view service, std::string_view route) -> std::optional<size_t> {
      const Service* target = scenario_.FindService(service);
      if (target == nullptr) return std::nullopt;
      const Route* r = target->FindRoute(route);
      if (r == nullptr) return std::nullopt;
      const size_t s = static_cast<size_t>(target - scenario_.services.data());
      return first_node[s] + static_cast<size_t>(r - target->routes.data());
    };
    for (const CallSite& c : call_sites_) {
      if (auto to = node_of(c.callee_service, c.callee_route)) {
        edges[first_node[c.service] + c.route].push_back(Edge{*to, &c});
      }
    }
    auto label = [&](size_t node) {
      const Service& s = scenario_.services[labels[node].first];
      return fmt::format("{} {}", s.name, s.routes[labels[node].second].name);
    };

    enum class Color { kUnvisited, kOnPath, kDone };
    std::vector<Color> color(nodes, Color::kUnvisited);
    std::vector<size_t> path;
    auto visit = [&](auto& self, size_t node) -> void {
      color[node] = Color::kOnPath;
      path.push_back(node);
      for (const Edge& e : edges[node]) {
        if (color[e.to] == Color::kOnPath) {
          std::string cycle;
          for (auto it = std::find(path.begin(), path.end(), e.to); it != path.end(); ++it) {
            cycle += label(*it) + " -> ";
          }
          Error(e.site->where, "call cycle: " + cycle + label(e.to));
        } else if (color[e.to] == Color::kUnvisited) {
          self(self, e.to);
        }
      }
      path.pop_back();
      color[node] = Color::kDone;
    };
    for (size_t n = 0; n < nodes; ++n) {
      if (color[n] == Color::kUnvisited) visit(visit, n);
    }
  }

  std::string source_name_;
  Scenario scenario_;
  std::vector<Diagnostic> diagnostics_;
  std::optional<Protocol> default_protocol_;
  std::optional<std::vector<std::string>> default_propagation_;
  std::map<std::string, int64_t, std::less<>> service_lines_;  // name -> line first defined
  std::map<std::string, std::string, std::less<>> listen_owner_;
  std::vector<CallSite> call_sites_;
  std::vector<EntrySite> entry_sites_;  // parallel to scenario_.load.entries
  std::vector<std::pair<std::string, SourceLocation>> fault_services_;  // as written, where
  bool entries_written_ = false;
};

}  // namespace

std::string Diagnostic::ToString() const {
  return fmt::format("{}: {}", where.ToString(), message);
}

ParseResult ParseScenario(std::string_view source_name, std::string_view text) {
  return ScenarioParser(source_name).Run(text);
}

}  // namespace tracerig
