// Scenario parsing and validation (see parse.h and docs/SCENARIOS.md). The top-level file and the
// files it includes are read first (each keeps its own name in locations); then two passes: the
// first reads each table with toml++ and checks its keys, types and ranges; the second resolves
// names across the scenario (calls, load entries, faults, [expect] entries), finds call cycles and
// unreachable services. Both only collect diagnostics, so one run of `tracerig validate` shows
// every problem.
#include "topology/parse.h"

#include <fmt/format.h>
#include <toml++/toml.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <limits>
#include <map>
#include <set>
#include <span>
#include <sstream>
#include <utility>

#include "core/span.h"
#include "core/units.h"
#include "net/address.h"
#include "topology/expected_tree.h"
#include "topology/parse_values.h"

namespace tracerig {
namespace {

using Keys = std::span<const std::string_view>;

// ---- Allowed keys per table.
constexpr std::string_view kTopKeys[] = {"include",  "scenario", "load",      "backend", "defaults",
                                         "services", "faults",   "templates", "expect"};
// An included file contributes these only: the scenario as a whole stays in the including file.
constexpr std::string_view kIncludedTopKeys[] = {"include", "services", "templates", "faults"};
constexpr std::string_view kScenarioKeys[] = {"name", "description", "seed"};
constexpr std::string_view kLoadKeys[] = {
    "model",  "rate",    "duration", "warmup",        "start_rate", "requests",
    "stages", "entries", "threads",  "virtual_users", "think_time", "connections"};
constexpr std::string_view kLoadEntryKeys[] = {"service", "route", "weight"};
constexpr std::string_view kLoadStageKeys[] = {"duration", "target"};
constexpr std::string_view kBackendKeys[] = {
    "export", "query", "export_headers", "query_headers", "ca_file", "client_cert", "client_key"};
constexpr std::string_view kDefaultsKeys[] = {"protocol", "propagation", "sampling"};
constexpr std::string_view kServiceKeys[] = {"name",   "template",    "protocol", "listen",
                                             "url",    "propagation", "resource", "sampling",
                                             "export", "routes"};
constexpr std::string_view kTemplateKeys[] = {
    "name", "protocol", "listen", "url", "propagation", "resource", "sampling", "export", "routes"};
// Keys that make no sense for an external service, which tracerig calls but does not run.
constexpr std::string_view kNotForExternal[] = {"listen", "resource", "sampling", "export"};
constexpr std::string_view kRouteKeys[] = {"name",       "latency",      "attributes",     "events",
                                           "error_rate", "error_status", "response_bytes", "calls"};
constexpr std::string_view kEventKeys[] = {"name", "at", "attributes"};
constexpr std::string_view kCallKeys[] = {"service", "route",   "probability",   "repeat",
                                          "timeout", "retries", "retry_backoff", "request_bytes"};
constexpr std::string_view kParallelKeys[] = {"parallel", "service", "route"};
constexpr std::string_view kFaultKeys[] = {"kind",        "service", "route",  "callee",
                                           "probability", "window",  "amount", "format"};
constexpr std::string_view kExpectKeys[] = {
    "completeness",          "broken",     "time_to_queryable_p99",
    "time_to_queryable_max", "attributes", "sampling"};
constexpr std::string_view kExpectAttributeKeys[] = {"service", "kind", "required", "values"};
constexpr std::string_view kExpectSamplingKeys[] = {"service", "ratio",       "confidence",
                                                    "errors",  "slower_than", "traces"};

// Keys of the first proposal (shared/reference/scenario-example.toml) that were renamed when they
// were implemented: people copy from it, so the message says what to write now.
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

// ---- Enumerated values. *NotYet lists values of the first proposal (shared/reference/
// scenario-example.toml) that this version does not implement: they get "not supported yet"
// instead of "unknown".
constexpr std::string_view kLoadModels[] = {"constant", "ramp", "poisson", "count", "closed"};
constexpr std::string_view kProtocols[] = {"http", "grpc"};
constexpr std::string_view kPropagations[] = {"tracecontext", "baggage", "b3", "b3multi", "jaeger"};
constexpr std::string_view kPropagationsNotYet[] = {"xray"};
// The span kinds an `[expect] attributes` entry may name.
constexpr std::string_view kExpectSpanKinds[] = {"server", "client"};
// The forms of an `[expect] sampling` entry, for messages.
constexpr std::string_view kSamplingForms =
    "{ service, ratio }, { ratio }, { errors = \"always\" }, { slower_than = DURATION } or "
    "{ traces = \"whole\" }";
// The TLS forms are the ones cli/backend_plan.cc reads: otlp-https, otlp-grpcs, zipkin+https...
constexpr std::string_view kExportSchemes[] = {
    "otlp-http",  "otlp-http-json",  "otlp-grpc",  "zipkin",
    "otlp-https", "otlp-https-json", "otlp-grpcs", "zipkin+https"};
// "tracerig": the embedded backend's own batch endpoint (`tracerig backend`).
constexpr std::string_view kQuerySchemes[] = {
    "jaeger",          "jaeger-v3",    "zipkin",      "tempo",   "jaeger+https",
    "jaeger-v3+https", "zipkin+https", "tempo+https", "tracerig"};
// Keys that mark an attribute table as a generator; "choose" is a likely slip for "choice".
constexpr std::string_view kGeneratorKeys[] = {"choice", "weights", "int", "id"};
constexpr std::string_view kGeneratorMarkers[] = {"choice", "weights", "int", "id", "choose"};

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
// A grpc route's error status when the file gives none: UNAVAILABLE, what a failing server
// answers and what clients retry.
constexpr int kDefaultGrpcErrorStatus = 14;

constexpr std::string_view kDistributionNames[] = {"fixed", "uniform", "normal", "lognormal",
                                                   "exponential"};

// Default ports per URL scheme, so "jaeger://host" means the port the real system listens on.
uint16_t DefaultPort(std::string_view scheme) {
  // "zipkin+https" has zipkin's port: TLS changes the transport, not the system's port.
  if (const size_t plus = scheme.find('+'); plus != std::string_view::npos) {
    scheme = scheme.substr(0, plus);
  }
  if (scheme == "otlp-grpc" || scheme == "otlp-grpcs") return 4317;
  if (scheme == "otlp-http" || scheme == "otlp-http-json") return 4318;
  if (scheme == "otlp-https" || scheme == "otlp-https-json") return 4318;
  if (scheme == "zipkin") return 9411;
  if (scheme == "jaeger" || scheme == "jaeger-v3" || scheme == "tracerig") return 16686;
  if (scheme == "tempo") return 3200;
  return 80;
}

bool Contains(Keys keys, std::string_view key) {
  return std::find(keys.begin(), keys.end(), key) != keys.end();
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

// A static attribute value, or nullopt for tables, arrays and dates.
std::optional<AttributeValue> StaticValue(const toml::node& value) {
  if (const auto* s = value.as_string()) return AttributeValue(s->get());
  if (const auto* i = value.as_integer()) return AttributeValue(i->get());
  if (const auto* b = value.as_boolean()) return AttributeValue(b->get());
  if (const auto* f = value.as_floating_point()) return AttributeValue(f->get());
  return std::nullopt;
}

ParseEnvironment FillIn(const ParseEnvironment& environment) {
  ParseEnvironment filled = environment;
  if (!filled.read_file)
    filled.read_file = [](const std::string&) -> std::optional<std::string> {
      return std::nullopt;
    };
  if (!filled.get_env)
    filled.get_env = [](const std::string&) -> std::optional<std::string> { return std::nullopt; };
  return filled;
}

// A service's keys: its own, then its template's (all but "name"), so a service overrides the
// template key by key, and a template-provided value keeps the template's location.
struct ServiceBody {
  const toml::table* own = nullptr;
  const toml::table* base = nullptr;  // the template, if any
  const toml::node* get(std::string_view key) const {
    if (const toml::node* n = own->get(key)) return n;
    if (base != nullptr && key != "name") return base->get(key);
    return nullptr;
  }
};

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

// Where each written part of a fault is, for messages of the second pass.
struct FaultSite {
  SourceLocation service_at;
  std::optional<SourceLocation> route_at;
  std::optional<SourceLocation> callee_at;
  std::optional<SourceLocation> format_at;
  std::optional<SourceLocation> window_at;
};

// A service named by an [expect] entry; `who` says which kind of entry ("sampling entry").
struct ServiceReference {
  std::string who;
  std::string service;
  SourceLocation at;
};

// One parsed document: the top-level file or an included one.
struct Document {
  std::string path;
  toml::table root;
};

class ScenarioParser {
 public:
  ScenarioParser(std::string_view source_name, const ParseEnvironment& environment)
      : source_name_(source_name), environment_(FillIn(environment)) {}

  ParseResult Run(std::string_view text) {
    ParseResult result;
    scenario_.source_name = source_name_;
    file_order_[source_name_] = 0;
    std::vector<std::string> stack;
    if (LoadDocument(source_name_, text, stack)) {
      const toml::table& root = documents_.front().root;
      ParseScenarioTable(root);
      ParseLoad(root);
      ParseBackend(root);
      ParseDefaults(root);
      for (const Document& doc : documents_) ParseTemplates(doc.root);
      for (const Document& doc : documents_) ParseServices(doc.root);
      if (scenario_.services.empty() && !services_written_) {
        Error(root.source(), "scenario defines no services (add a [[services]] table)");
      }
      for (const Document& doc : documents_) ParseFaults(doc.root);
      ParseExpect(root);
      ResolveNames();
      CheckCycles();
      CheckReachable();
      CheckFaults();
      CheckExpectedServices();
    }

    std::stable_sort(diagnostics_.begin(), diagnostics_.end(),
                     [&](const Diagnostic& x, const Diagnostic& y) {
                       return std::tuple(FileOrder(x.where.file), x.where.line, x.where.column) <
                              std::tuple(FileOrder(y.where.file), y.where.line, y.where.column);
                     });
    // A template used by several services would otherwise repeat its own problems once per use.
    diagnostics_.erase(std::unique(diagnostics_.begin(), diagnostics_.end(),
                                   [](const Diagnostic& x, const Diagnostic& y) {
                                     return x.ToString() == y.ToString();
                                   }),
                       diagnostics_.end());
    result.diagnostics = std::move(diagnostics_);
    if (result.diagnostics.empty()) result.scenario = std::move(scenario_);
    return result;
  }

 private:
  size_t FileOrder(const std::string& file) const {
    auto it = file_order_.find(file);
    return it == file_order_.end() ? file_order_.size() : it->second;
  }

  // Parses `text` as `path` and, recursively, the files it includes. `stack` holds the files
  // being included, to report cycles. False when the top-level file is not valid TOML.
  bool LoadDocument(const std::string& path, std::string_view text,
                    std::vector<std::string>& stack) {
    Document doc;
    doc.path = path;
    try {
      doc.root = toml::parse(text, path);
    } catch (const toml::parse_error& e) {
      Error(Loc(e.source()), std::string(e.description()));
      return false;
    }
    documents_.push_back(std::move(doc));
    const toml::table& root = documents_.back().root;
    const bool top = stack.empty();
    if (top) {
      CheckKeys(root, "", kTopKeys);
    } else {
      for (auto&& [key, value] : root) {
        if (Contains(kIncludedTopKeys, key.str())) continue;
        Error(key.source(), fmt::format("key \"{}\" is not allowed in an included file (only {})",
                                        key.str(), QuotedList(kIncludedTopKeys)));
      }
    }
    const toml::node* includes = root.get("include");
    if (includes == nullptr) return true;
    const auto* array = includes->as_array();
    if (array == nullptr) {
      Error(includes->source(),
            fmt::format("\"include\" must be an array of file names, as in [\"common.toml\"], "
                        "got {}",
                        TypeName(*includes)));
      return true;
    }
    stack.push_back(path);
    for (const toml::node& element : *array) {
      const auto* name = element.as_string();
      if (name == nullptr || name->get().empty()) {
        Error(element.source(),
              fmt::format("each entry of \"include\" must be a file name, got {}",
                          name == nullptr ? TypeName(element) : "an empty string"));
        continue;
      }
      const std::string resolved = ResolveIncludePath(path, name->get());
      if (std::find(stack.begin(), stack.end(), resolved) != stack.end()) {
        std::string cycle;
        for (auto it = std::find(stack.begin(), stack.end(), resolved); it != stack.end(); ++it) {
          cycle += *it + " -> ";
        }
        Error(element.source(), fmt::format("include cycle: {}{}", cycle, resolved));
        continue;
      }
      if (file_order_.count(resolved) != 0) {
        Error(element.source(), fmt::format("\"{}\" is included more than once", resolved));
        continue;
      }
      const std::optional<std::string> contents = environment_.read_file(resolved);
      if (!contents) {
        Error(element.source(), fmt::format("cannot read included file \"{}\"", resolved));
        continue;
      }
      file_order_.emplace(resolved, file_order_.size());
      LoadDocument(resolved, *contents, stack);
    }
    stack.pop_back();
    return true;
  }

  SourceLocation Loc(const toml::source_region& region) const {
    return SourceLocation{region.path ? *region.path : source_name_,
                          static_cast<int>(region.begin.line),
                          static_cast<int>(region.begin.column)};
  }
  void Error(SourceLocation where, std::string message) {
    diagnostics_.push_back({std::move(where), std::move(message)});
  }
  void Error(const toml::source_region& region, std::string message) {
    Error(Loc(region), std::move(message));
  }

  // Reports every key of `table` outside `allowed`; `what` names the table in the message ("" for
  // the document's top level). False when there was any.
  bool CheckKeys(const toml::table& table, std::string_view what, Keys allowed) {
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
    return AsInteger(node, key, 0, std::numeric_limits<int64_t>::max());
  }

  // An integer in [min, max].
  std::optional<uint64_t> AsInteger(const toml::node& node, std::string_view key, int64_t min,
                                    int64_t max) {
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

  std::optional<uint64_t> AsPositiveDuration(const toml::node& node, std::string_view key) {
    auto v = AsDuration(node, key);
    if (v && *v == 0) {
      Error(node.source(), fmt::format("\"{}\" must be greater than 0", key));
      return std::nullopt;
    }
    return v;
  }

  std::optional<uint64_t> AsSize(const toml::node& node, std::string_view key) {
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
      model_ok = v && CheckChoice(*n, *v, "load model", kLoadModels);
      if (model_ok) {
        for (LoadModel m : {LoadModel::kConstant, LoadModel::kRamp, LoadModel::kPoisson,
                            LoadModel::kCount, LoadModel::kClosed}) {
          if (LoadModelName(m) == *v) load.model = m;
        }
      }
    }
    const std::string_view model = LoadModelName(load.model);
    const bool ramp = load.model == LoadModel::kRamp;
    const bool count = load.model == LoadModel::kCount;
    const bool closed = load.model == LoadModel::kClosed;
    // A key that the chosen model does not use is a mistake, not something to ignore.
    auto only_for = [&](std::string_view key, std::string_view owner, bool applies) {
      const auto* n = t->get(key);
      if (n == nullptr || applies || !model_ok) return false;
      Error(n->source(),
            fmt::format("\"{}\" applies only to model \"{}\", not \"{}\"", key, owner, model));
      return true;
    };
    const bool stray_rate =
        only_for("rate", "constant\", \"poisson\" or \"count", !ramp && !closed);
    const bool stray_duration =
        only_for("duration", "constant\", \"poisson\" or \"closed", !ramp && !count);
    const bool stray_users = only_for("virtual_users", "closed", closed);
    const bool stray_think = only_for("think_time", "closed", closed);
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
    if (closed && model_ok) {
      if (const auto* n = Require(*t, "virtual_users", "[load] for model \"closed\"")) {
        if (auto v = AsInteger(*n, "virtual_users", 1, 100'000)) {
          load.virtual_users = static_cast<uint32_t>(*v);
        }
      }
    } else if (const auto* n = stray_users ? nullptr : t->get("virtual_users")) {
      (void)AsInteger(*n, "virtual_users", 1, 100'000);
    }
    if (const auto* n = stray_think ? nullptr : t->get("think_time")) {
      if (auto v = AsDuration(*n, "think_time")) load.think_time_ns = *v;
    }
    if (const auto* n = t->get("threads")) {
      if (auto v = AsInteger(*n, "threads", 0, 1024)) load.threads = static_cast<uint32_t>(*v);
    }
    if (const auto* n = t->get("connections")) {
      if (auto v = AsInteger(*n, "connections", 0, 1'000'000)) {
        load.connections = static_cast<uint32_t>(*v);
      }
    }
    const toml::node* warmup_node = t->get("warmup");
    const std::optional<uint64_t> warmup =
        warmup_node ? AsDuration(*warmup_node, "warmup") : std::nullopt;
    if (const auto* n = t->get("entries")) ParseLoadEntries(*n);
    if (!planned_ok) {
      load_ok_ = false;
      return;
    }

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
      load_ok_ = false;
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
      } else {
        entries_incomplete_ = true;
      }
    }
    // Only a missing [[load.entries]] means "use the default": an invalid one is reported above
    // and must not be silently replaced.
    entries_written_ = true;
  }

  // A backend URL: a known scheme (with a suggestion for a near miss) and a valid HOST[:PORT]
  // (the port defaults to the real system's). `what` is "export" or "query".
  bool CheckBackendUrl(const toml::node& node, const std::string& url, std::string_view what,
                       Keys schemes) {
    const size_t sep = url.find("://");
    if (sep == std::string::npos || sep == 0) {
      Error(node.source(),
            fmt::format(
                "invalid {} URL \"{}\" (expected SCHEME://HOST[:PORT], as in \"{}\")", what, url,
                what == "export" ? "otlp-http://127.0.0.1:4318" : "jaeger://127.0.0.1:16686"));
      return false;
    }
    const std::string scheme = url.substr(0, sep);
    if (!Contains(schemes, scheme)) {
      std::string hint = DidYouMean(scheme, schemes);
      if (hint.empty()) hint = fmt::format(" (supported: {})", QuotedList(schemes));
      Error(node.source(),
            fmt::format("unknown {} scheme \"{}\" in \"{}\"{}", what, scheme, url, hint));
      return false;
    }
    if (!ParseUrl(url, DefaultPort(scheme))) {
      Error(node.source(),
            fmt::format("invalid {} URL \"{}\" (expected SCHEME://HOST[:PORT][/PATH])", what, url));
      return false;
    }
    return true;
  }

  // A table of header name -> string, values expanded from the environment ("${TOKEN}").
  std::vector<Header> ParseHeaders(const toml::node& node, std::string_view key) {
    std::vector<Header> headers;
    const toml::table* t = AsTable(node, key);
    if (t == nullptr) return headers;
    for (auto&& [name, value] : *t) {
      const std::string_view n = name.str();
      const bool token = !n.empty() && std::all_of(n.begin(), n.end(), [](char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
               std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
      });
      if (!token) {
        Error(name.source(), fmt::format("invalid header name \"{}\" in \"{}\"", n, key));
        continue;
      }
      const auto* s = value.as_string();
      if (s == nullptr) {
        Error(value.source(), fmt::format("header \"{}\" in \"{}\" must be a string, got {}", n,
                                          key, TypeName(value)));
        continue;
      }
      auto expanded = ExpandEnvironmentReferences(s->get(), environment_.get_env);
      if (!expanded) {
        Error(value.source(),
              fmt::format("header \"{}\" in \"{}\": {}", n, key, expanded.error().message));
        continue;
      }
      headers.push_back(Header{std::string(n), std::move(*expanded)});
    }
    return headers;
  }

  void ParseBackend(const toml::table& root) {
    const toml::node* node = root.get("backend");
    if (node == nullptr) return;
    const toml::table* t = AsTable(*node, "backend");
    if (t == nullptr) return;
    CheckKeys(*t, "[backend]", kBackendKeys);
    BackendConfig& backend = scenario_.backend;
    if (const auto* n = t->get("export")) {
      auto v = AsString(*n, "export");
      if (v && CheckBackendUrl(*n, *v, "export", kExportSchemes)) backend.export_url = *v;
    }
    if (const auto* n = t->get("query")) {
      auto v = AsString(*n, "query");
      if (v && CheckBackendUrl(*n, *v, "query", kQuerySchemes)) backend.query_url = *v;
    }
    if (const auto* n = t->get("export_headers")) {
      backend.export_headers = ParseHeaders(*n, "export_headers");
    }
    if (const auto* n = t->get("query_headers")) {
      backend.query_headers = ParseHeaders(*n, "query_headers");
    }
    const std::pair<std::string_view, std::string*> files[] = {
        {"ca_file", &backend.ca_file},
        {"client_cert", &backend.client_cert_file},
        {"client_key", &backend.client_key_file}};
    for (const auto& [key, target] : files) {
      if (const auto* n = t->get(key)) {
        if (auto v = AsNonEmptyString(*n, key)) *target = *v;
      }
    }
    const bool has_cert = t->contains("client_cert");
    const bool has_key = t->contains("client_key");
    if (has_cert != has_key) {
      const toml::node* given = t->get(has_cert ? "client_cert" : "client_key");
      Error(given->source(),
            fmt::format("\"{}\" needs \"{}\" too (a client certificate and its key go together)",
                        has_cert ? "client_cert" : "client_key",
                        has_cert ? "client_key" : "client_cert"));
    }
  }

  void ParseDefaults(const toml::table& root) {
    const toml::node* node = root.get("defaults");
    if (node == nullptr) return;
    const toml::table* t = AsTable(*node, "defaults");
    if (t == nullptr) return;
    CheckKeys(*t, "[defaults]", kDefaultsKeys);
    if (const auto* n = t->get("protocol")) default_protocol_ = ParseProtocol(*n);
    if (const auto* n = t->get("propagation")) default_propagation_ = ParsePropagation(*n);
    if (const auto* n = t->get("sampling")) default_sampling_ = ParseSampling(*n);
  }

  std::optional<Protocol> ParseProtocol(const toml::node& node) {
    auto v = AsString(node, "protocol");
    if (!v) return std::nullopt;
    if (!CheckChoice(node, *v, "protocol", kProtocols)) return std::nullopt;
    return *v == "grpc" ? Protocol::kGrpc : Protocol::kHttp;
  }

  std::optional<SamplingPolicy> ParseSampling(const toml::node& node) {
    const auto* s = node.as_string();
    if (s == nullptr) {
      Error(node.source(), fmt::format("\"sampling\" must be a string such as \"always\", "
                                       "\"ratio(0.25)\" or \"parent-based(0.5)\", got {}",
                                       TypeName(node)));
      return std::nullopt;
    }
    auto policy = ParseSamplingPolicy(s->get());
    if (!policy) {
      Error(node.source(), policy.error().message);
      return std::nullopt;
    }
    return *policy;
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

  // [[templates]]: service bodies with a name, used by `template = "name"` in [[services]]. Their
  // values are checked where a service uses them (the location stays the template's).
  void ParseTemplates(const toml::table& root) {
    const toml::node* node = root.get("templates");
    if (node == nullptr) return;
    for (const toml::table* t : AsTableArray(*node, "templates", "templates")) {
      CheckKeys(*t, "template", kTemplateKeys);
      const toml::node* n = Require(*t, "name", "template");
      if (n == nullptr) continue;
      auto name = AsNonEmptyString(*n, "name");
      if (!name) continue;
      auto [it, inserted] = templates_.emplace(*name, std::pair(t, Loc(n->source())));
      if (!inserted) {
        Error(n->source(), fmt::format("duplicate template \"{}\" (first defined at {})", *name,
                                       it->second.second.ToString()));
      }
    }
  }

  void ParseServices(const toml::table& root) {
    const toml::node* node = root.get("services");
    if (node == nullptr) return;
    services_written_ = services_written_ || !node->is_array();
    const auto tables = AsTableArray(*node, "services", "services");
    if (tables.empty() && node->is_array()) {
      Error(node->source(), "scenario defines no services (add a [[services]] table)");
      services_written_ = true;
    }
    for (const toml::table* t : tables) {
      ServiceBody body{t, nullptr};
      if (const toml::node* n = t->get("template")) {
        if (auto name = AsString(*n, "template")) {
          auto it = templates_.find(*name);
          if (it == templates_.end()) {
            std::vector<std::string_view> names;
            for (const auto& [k, v] : templates_) names.push_back(k);
            Error(n->source(),
                  fmt::format("unknown template \"{}\"{}", *name, DidYouMean(*name, names)));
          } else {
            body.base = it->second.first;
          }
        }
      }
      scenario_.services.push_back(ParseService(body));
    }
  }

  Service ParseService(const ServiceBody& body) {
    const toml::table& t = *body.own;
    const size_t index = scenario_.services.size();
    CheckKeys(t, "service", kServiceKeys);
    Service service;
    service.where = Loc(t.source());
    if (const auto* n = Require(t, "name", "service")) {
      if (auto v = AsNonEmptyString(*n, "name")) {
        service.name = *v;
        service_at_.emplace(*v, Loc(n->source()));
        if (*v == kDriverServiceName) {
          Error(n->source(),
                fmt::format("service name \"{}\" is reserved for the load driver", *v));
        } else if (!IsValidServiceName(*v)) {
          Error(n->source(), fmt::format("invalid service name \"{}\" (use lowercase letters, "
                                         "digits, '_', '.' and '-', starting with a letter or "
                                         "digit)",
                                         *v));
        }
        auto [it, inserted] = service_lines_.emplace(*v, Loc(n->source()));
        if (!inserted) {
          const SourceLocation& first = it->second;
          Error(n->source(),
                first.file == Loc(n->source()).file
                    ? fmt::format("duplicate service \"{}\" (first defined at line {})", *v,
                                  first.line)
                    : fmt::format("duplicate service \"{}\" (first defined at {})", *v,
                                  first.ToString()));
        }
      }
    }
    if (const auto* n = body.get("protocol")) {
      if (auto p = ParseProtocol(*n)) service.protocol = *p;
    } else if (default_protocol_) {
      service.protocol = *default_protocol_;
    }
    if (const auto* n = body.get("url")) {
      if (auto v = AsString(*n, "url")) {
        auto url = ParseUrl(*v);
        if (!url || (url->scheme != "http" && url->scheme != "https")) {
          Error(n->source(), fmt::format("invalid external service URL \"{}\" (expected "
                                         "http://HOST:PORT or https://HOST:PORT)",
                                         *v));
        }
        // Marked external even when invalid, so its other keys are judged as an external's.
        service.external_url = *v;
      }
    }
    const bool external = service.IsExternal();
    const std::string who =
        service.name.empty() ? std::string("service") : fmt::format("service \"{}\"", service.name);
    if (external) {
      for (std::string_view key : kNotForExternal) {
        if (const toml::node* n = body.get(key)) NotForExternal(*n, key, service.name);
      }
    }
    if (const auto* n = external ? nullptr : body.get("listen")) {
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
    if (const auto* n = body.get("propagation")) {
      if (auto p = ParsePropagation(*n)) service.propagation = std::move(*p);
    } else if (default_propagation_) {
      service.propagation = *default_propagation_;
    }
    if (const auto* n = external ? nullptr : body.get("resource")) {
      if (const auto* table = AsTable(*n, "resource")) {
        service.resource = ParseStaticAttributes(*table, "resource attribute");
      }
    }
    if (const auto* n = external ? nullptr : body.get("sampling")) {
      if (auto p = ParseSampling(*n)) service.sampling = *p;
    } else if (default_sampling_) {
      service.sampling = *default_sampling_;
    }
    if (const auto* n = external ? nullptr : body.get("export")) {
      auto v = AsString(*n, "export");
      if (v && CheckBackendUrl(*n, *v, "export", kExportSchemes)) service.export_url = *v;
    }
    const toml::node* routes = body.get("routes");
    std::vector<const toml::table*> route_tables;
    if (routes != nullptr) route_tables = AsTableArray(*routes, "routes", "services.routes");
    if (route_tables.empty() && (routes == nullptr || routes->is_array())) {
      Error(routes != nullptr ? routes->source() : t.source(),
            fmt::format("{} has no routes (add a [[services.routes]] table)", who));
    }
    std::map<std::string, int, std::less<>> route_lines;
    for (const toml::table* rt : route_tables) {
      Route route = ParseRoute(*rt, index, service.routes.size(), service);
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

  void NotForExternal(const toml::node& node, std::string_view key, std::string_view service) {
    Error(node.source(), fmt::format("\"{}\" is not allowed on external service \"{}\": tracerig "
                                     "calls it but does not simulate it",
                                     key, service));
  }

  Route ParseRoute(const toml::table& t, size_t service_index, size_t route_index,
                   const Service& service) {
    CheckKeys(t, "route", kRouteKeys);
    Route route;
    route.where = Loc(t.source());
    if (const auto* n = Require(t, "name", "route")) {
      if (auto v = AsNonEmptyString(*n, "name")) {
        route.name = *v;
        route.where = Loc(n->source());  // so messages about the route point at its name
        if (service.protocol == Protocol::kGrpc && LooksLikeHttpRoute(*v)) {
          Error(n->source(), fmt::format("route \"{}\" of grpc service \"{}\" looks like an HTTP "
                                         "route; name gRPC methods like \"GetCart\"",
                                         *v, service.name));
        }
      }
    }
    if (service.IsExternal()) {
      for (auto&& [key, value] : t) {
        if (key.str() != "name" && Contains(kRouteKeys, key.str())) {
          NotForExternal(value, key.str(), service.name);
        }
      }
      return route;
    }
    if (service.protocol == Protocol::kGrpc) route.error_status = kDefaultGrpcErrorStatus;
    if (const auto* n = t.get("latency")) {
      if (auto latency = ParseLatency(*n)) route.latency = *latency;
    }
    if (const auto* n = t.get("attributes")) {
      if (const auto* table = AsTable(*n, "attributes")) ParseRouteAttributes(*table, route);
    }
    if (const auto* n = t.get("events")) route.events = ParseEvents(*n);
    if (const auto* n = t.get("error_rate")) {
      if (auto v = AsFraction(*n, "error_rate")) route.error_rate = *v;
    }
    if (const auto* n = t.get("error_status")) {
      if (auto v = ParseErrorStatus(*n, service.protocol)) route.error_status = *v;
    }
    if (const auto* n = t.get("response_bytes")) {
      if (auto v = AsSize(*n, "response_bytes")) route.response_bytes = *v;
    }
    if (const auto* n = t.get("calls")) {
      const size_t errors_before = diagnostics_.size();
      route.calls = ParseCalls(*n, service_index, route_index);
      // A call dropped after an error may be the one that reaches some service.
      if (diagnostics_.size() != errors_before) calls_incomplete_ = true;
    }
    return route;
  }

  // An HTTP status (100..599) for http services; a gRPC status name or code (0..16) for grpc ones.
  std::optional<int> ParseErrorStatus(const toml::node& node, Protocol protocol) {
    if (protocol == Protocol::kHttp) {
      if (node.is_string()) {
        Error(node.source(), fmt::format("\"error_status\" of an http service must be an HTTP "
                                         "status code (100-599), got string"));
        return std::nullopt;
      }
      if (auto v = AsInteger(node, "error_status", 100, 599)) return static_cast<int>(*v);
      return std::nullopt;
    }
    if (const auto* s = node.as_string()) {
      if (auto code = GrpcStatusFromName(s->get())) return *code;
      std::string hint = DidYouMean(s->get(), GrpcStatusNames());
      if (hint.empty()) hint = " (a name such as \"UNAVAILABLE\" or a code 0-16)";
      Error(node.source(), fmt::format("unknown gRPC status \"{}\"{}", s->get(), hint));
      return std::nullopt;
    }
    if (node.is_integer()) {
      const int64_t code = node.as_integer()->get();
      if (code >= 0 && code <= 16) return static_cast<int>(code);
      Error(node.source(),
            fmt::format("\"error_status\" of a grpc service must be a gRPC status code 0-16 or "
                        "its name, got {}",
                        code));
      return std::nullopt;
    }
    Error(node.source(), fmt::format("\"error_status\" must be a gRPC status name or code, got {}",
                                     TypeName(node)));
    return std::nullopt;
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

  // Static attribute values: string, integer, boolean or float. A table here is most often an
  // unquoted dotted key (http.route = ...), which TOML turns into a nested table; the message says
  // so. `what` is "attribute", "resource attribute" or "event attribute".
  std::vector<Attribute> ParseStaticAttributes(const toml::table& t, std::string_view what) {
    std::vector<Attribute> attributes;
    for (auto&& [key, value] : t) {
      if (!CheckAttributeKey(key, what)) continue;
      const std::string_view k = key.str();
      if (auto v = StaticValue(value)) {
        attributes.push_back({std::string(k), std::move(*v)});
      } else {
        BadAttributeValue(k, value, what);
      }
    }
    return attributes;
  }

  bool CheckAttributeKey(const toml::key& key, std::string_view what) {
    const std::string_view k = key.str();
    if (what == "resource attribute" && k == "service.name") {
      Error(key.source(),
            "resource attribute \"service.name\" is set from the service's \"name\"; remove it");
      return false;
    }
    if (k.starts_with("tracerig.")) {
      Error(key.source(), fmt::format("{} \"{}\" is reserved: the \"tracerig.\" prefix is set by "
                                      "tracerig itself",
                                      what, k));
      return false;
    }
    return true;
  }

  void BadAttributeValue(std::string_view k, const toml::node& value, std::string_view what) {
    if (const auto* table = value.as_table()) {
      const std::string dotted =
          table->empty() ? std::string(k) : fmt::format("{}.{}", k, table->begin()->first.str());
      Error(value.source(),
            fmt::format("{} \"{}\" must be a string, integer, boolean or float, got table (to "
                        "name an attribute \"{}\", put the key in quotes)",
                        what, k, dotted));
      return;
    }
    Error(value.source(),
          fmt::format("{} \"{}\" must be a string, integer, boolean or float, got {}", what, k,
                      TypeName(value)));
  }

  // A route's attributes: static values, or generators drawn per request:
  // { choice = [...], weights = [...] }, { int = [min, max] }, { id = "prefix" }.
  void ParseRouteAttributes(const toml::table& t, Route& route) {
    for (auto&& [key, value] : t) {
      if (!CheckAttributeKey(key, "attribute")) continue;
      const std::string_view k = key.str();
      if (auto v = StaticValue(value)) {
        route.attributes.push_back({std::string(k), std::move(*v)});
        continue;
      }
      const auto* table = value.as_table();
      const bool generator =
          table != nullptr && std::any_of(table->begin(), table->end(), [](const auto& kv) {
            return Contains(kGeneratorMarkers, kv.first.str());
          });
      if (!generator) {
        BadAttributeValue(k, value, "attribute");
        continue;
      }
      if (auto g = ParseGenerator(k, *table)) {
        route.generated_attributes.push_back({std::string(k), std::move(*g), Loc(value.source())});
      }
    }
  }

  std::optional<AttributeGenerator> ParseGenerator(std::string_view attribute,
                                                   const toml::table& t) {
    const std::string what = fmt::format("generated attribute \"{}\"", attribute);
    CheckKeys(t, what, kGeneratorKeys);
    const toml::node* choice = t.get("choice");
    const toml::node* weights = t.get("weights");
    const toml::node* range = t.get("int");
    const toml::node* id = t.get("id");
    const int kinds = (choice != nullptr) + (range != nullptr) + (id != nullptr);
    if (kinds != 1) {
      if (kinds > 1 || !t.contains("choose")) {
        Error(t.source(),
              fmt::format("{} needs exactly one of \"choice\", \"int\" or \"id\"", what));
      }
      return std::nullopt;
    }
    AttributeGenerator g;
    if (weights != nullptr && choice == nullptr) {
      Error(weights->source(), fmt::format("\"weights\" of {} applies only to \"choice\"", what));
      return std::nullopt;
    }
    if (choice != nullptr) {
      g.kind = AttributeGenerator::Kind::kChoice;
      const auto* array = choice->as_array();
      if (array == nullptr || array->empty()) {
        Error(choice->source(),
              fmt::format("\"choice\" of {} must be a non-empty array of values, got {}", what,
                          array == nullptr ? TypeName(*choice) : "an empty array"));
        return std::nullopt;
      }
      bool ok = true;
      for (const toml::node& element : *array) {
        if (auto v = StaticValue(element)) {
          g.choices.push_back(std::move(*v));
        } else {
          Error(element.source(),
                fmt::format("each choice of {} must be a string, integer, boolean or float, got {}",
                            what, TypeName(element)));
          ok = false;
        }
      }
      g.weights.assign(g.choices.size(), 1.0);
      if (weights != nullptr) {
        const auto* w = weights->as_array();
        if (w == nullptr || w->size() != array->size()) {
          Error(weights->source(),
                fmt::format("\"weights\" of {} must be an array of {} numbers, one per choice",
                            what, array->size()));
          return std::nullopt;
        }
        for (size_t i = 0; i < w->size(); ++i) {
          if (auto v = AsPositive(*w->get(i), "weights")) {
            if (i < g.weights.size()) g.weights[i] = *v;
          } else {
            ok = false;
          }
        }
      }
      if (!ok) return std::nullopt;
      return g;
    }
    if (range != nullptr) {
      g.kind = AttributeGenerator::Kind::kIntRange;
      const auto* array = range->as_array();
      if (array == nullptr || array->size() != 2 || !array->get(0)->is_integer() ||
          !array->get(1)->is_integer()) {
        Error(range->source(),
              fmt::format("\"int\" of {} must be two integers [min, max], as in [1, 20]", what));
        return std::nullopt;
      }
      g.min = array->get(0)->as_integer()->get();
      g.max = array->get(1)->as_integer()->get();
      if (g.max < g.min) {
        Error(range->source(), fmt::format("\"int\" of {}: max ({}) must not be less than min ({})",
                                           what, g.max, g.min));
        return std::nullopt;
      }
      return g;
    }
    g.kind = AttributeGenerator::Kind::kId;
    auto prefix = AsString(*id, "id");
    if (!prefix) return std::nullopt;
    g.prefix = *prefix;
    return g;
  }

  std::vector<EventSpec> ParseEvents(const toml::node& node) {
    std::vector<EventSpec> events;
    for (const toml::table* t : AsTableArray(node, "events", "services.routes.events")) {
      CheckKeys(*t, "event", kEventKeys);
      EventSpec event;
      bool complete = true;
      if (const auto* n = Require(*t, "name", "event")) {
        auto v = AsNonEmptyString(*n, "name");
        complete = v.has_value();
        event.name = v.value_or("");
      } else {
        complete = false;
      }
      if (const auto* n = t->get("at")) {
        if (auto v = AsFraction(*n, "at")) event.at = *v;
      }
      if (const auto* n = t->get("attributes")) {
        if (const auto* table = AsTable(*n, "attributes")) {
          event.attributes = ParseStaticAttributes(*table, "event attribute");
        }
      }
      if (complete) events.push_back(std::move(event));
    }
    return events;
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
    CheckKeys(t, "call", kCallKeys);
    const toml::node* s = Require(t, "service", "call");
    const toml::node* r = Require(t, "route", "call");
    std::optional<std::string> callee_service = s ? AsString(*s, "service") : std::nullopt;
    std::optional<std::string> callee_route = r ? AsString(*r, "route") : std::nullopt;
    Call call;
    bool ok = true;
    if (const auto* n = t.get("probability")) {
      auto v = AsFraction(*n, "probability");
      if (v && *v == 0) {
        Error(n->source(), "probability 0 means the call never happens; remove it");
        v.reset();
      }
      ok = ok && v.has_value();
      call.probability = v.value_or(1.0);
    }
    if (const auto* n = t.get("repeat")) {
      auto v = AsInteger(*n, "repeat", 1, 1000);
      ok = ok && v.has_value();
      call.repeat = static_cast<uint32_t>(v.value_or(1));
    }
    if (const auto* n = t.get("timeout")) {
      auto v = AsPositiveDuration(*n, "timeout");
      ok = ok && v.has_value();
      call.timeout_ns = v.value_or(0);
    }
    if (const auto* n = t.get("retries")) {
      auto v = AsInteger(*n, "retries", 0, 100);
      ok = ok && v.has_value();
      call.retries = static_cast<uint32_t>(v.value_or(0));
    }
    if (const auto* n = t.get("retry_backoff")) {
      auto v = AsDuration(*n, "retry_backoff");
      ok = ok && v.has_value();
      call.retry_backoff_ns = v.value_or(0);
      if (v && !t.contains("retries")) {
        Error(n->source(), "\"retry_backoff\" needs \"retries\" (the wait before each retry)");
        ok = false;
      }
    }
    if (const auto* n = t.get("request_bytes")) {
      auto v = AsSize(*n, "request_bytes");
      ok = ok && v.has_value();
      call.request_bytes = v.value_or(0);
    }
    if (!callee_service || !callee_route || !ok) {
      calls_incomplete_ = true;
      return std::nullopt;
    }
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
      CheckKeys(*t, "fault", kFaultKeys);
      Fault fault;
      FaultSite site;
      fault.where = Loc(t->source());
      bool complete = true;
      std::optional<FaultKind> kind;
      if (const auto* n = Require(*t, "kind", "fault")) {
        if (auto v = AsString(*n, "kind")) {
          std::vector<std::string_view> names;
          for (FaultKind k : AllFaultKinds()) {
            names.push_back(FaultKindName(k));
            if (FaultKindName(k) == *v) kind = k;
          }
          if (!kind) CheckChoice(*n, *v, "fault kind", names);
        }
      }
      complete = kind.has_value();
      if (kind) fault.kind = *kind;
      if (const auto* n = Require(*t, "service", "fault")) {
        auto v = AsString(*n, "service");
        if (v) fault.service = *v;
        site.service_at = Loc(n->source());
        complete = complete && v.has_value();
      } else {
        complete = false;
      }
      if (const auto* n = t->get("route")) {
        auto v = AsNonEmptyString(*n, "route");
        fault.route = v.value_or("");
        site.route_at = Loc(n->source());
        complete = complete && v.has_value();
      }
      if (const auto* n = t->get("callee")) {
        auto v = AsNonEmptyString(*n, "callee");
        complete = complete && v.has_value();
        if (v && kind && !IsEdgeFault(*kind)) {
          Error(n->source(), fmt::format("\"callee\" applies only to faults on outgoing calls "
                                         "({}), not \"{}\"",
                                         EdgeFaultList(), FaultKindName(*kind)));
          complete = false;
        }
        fault.callee = v.value_or("");
        site.callee_at = Loc(n->source());
      }
      if (const auto* n = t->get("probability")) {
        auto v = AsFraction(*n, "probability");
        if (v && *v == 0) {
          Error(n->source(), "probability 0 means the fault never happens; remove it");
          v.reset();
        }
        complete = complete && v.has_value();
        fault.probability = v.value_or(1.0);
      }
      if (const auto* n = t->get("window")) {
        site.window_at = Loc(n->source());
        complete = ParseWindow(*n, fault) && complete;
      }
      const bool needs_amount =
          kind && (*kind == FaultKind::kClockSkew || *kind == FaultKind::kDelayExport);
      if (const auto* n = t->get("amount")) {
        if (kind && !needs_amount) {
          Error(n->source(), fmt::format("\"amount\" applies only to \"clock-skew\" and "
                                         "\"delay-export\" faults, not \"{}\"",
                                         FaultKindName(*kind)));
          complete = false;
        } else if (kind) {
          complete = ParseAmount(*n, *kind, fault) && complete;
        }
      } else if (needs_amount) {
        Error(t->source(),
              fmt::format("missing required key \"amount\" in \"{}\" fault", FaultKindName(*kind)));
        complete = false;
      }
      const bool needs_format = kind && *kind == FaultKind::kWrongFormat;
      if (const auto* n = t->get("format")) {
        if (kind && !needs_format) {
          Error(n->source(), fmt::format("\"format\" applies only to \"wrong-format\" faults, not "
                                         "\"{}\"",
                                         FaultKindName(*kind)));
          complete = false;
        } else if (auto v = AsString(*n, "format")) {
          if (CheckChoice(*n, *v, "propagation format", kPropagations)) {
            fault.format = *v;
            site.format_at = Loc(n->source());
          } else {
            complete = false;
          }
        } else {
          complete = false;
        }
      } else if (needs_format) {
        Error(t->source(), "missing required key \"format\" in \"wrong-format\" fault");
        complete = false;
      }
      if (complete) {
        scenario_.faults.push_back(std::move(fault));
        fault_sites_.push_back(std::move(site));
      }
    }
  }

  static std::string EdgeFaultList() {
    std::vector<std::string_view> names;
    for (FaultKind k : AllFaultKinds()) {
      if (IsEdgeFault(k)) names.push_back(FaultKindName(k));
    }
    return QuotedList(names);
  }

  // window = ["10s", "20s"]: offsets into the load, start < end.
  bool ParseWindow(const toml::node& node, Fault& fault) {
    const auto* array = node.as_array();
    if (array == nullptr || array->size() != 2) {
      Error(node.source(),
            "\"window\" must be two durations [start, end], as in [\"10s\", \"20s\"]");
      return false;
    }
    auto start = AsDuration(*array->get(0), "window");
    auto end = AsDuration(*array->get(1), "window");
    if (!start || !end) return false;
    if (*start >= *end) {
      Error(node.source(), fmt::format("fault window start ({}) must be before its end ({})",
                                       FormatDuration(*start), FormatDuration(*end)));
      return false;
    }
    fault.window_start_ns = *start;
    fault.window_end_ns = *end;
    return true;
  }

  bool ParseAmount(const toml::node& node, FaultKind kind, Fault& fault) {
    const auto* s = node.as_string();
    if (s == nullptr) {
      Error(node.source(), fmt::format("\"amount\" must be a duration string such as \"250ms\", "
                                       "got {}",
                                       TypeName(node)));
      return false;
    }
    const auto amount = ParseSignedDuration(s->get());
    if (!amount) {
      Error(node.source(),
            fmt::format("invalid duration \"{}\" for \"amount\" (expected a number and one of the "
                        "units ns, us, ms, s, m, h, as in \"250ms\"{})",
                        s->get(), kind == FaultKind::kClockSkew ? " or \"-250ms\"" : ""));
      return false;
    }
    if (*amount == 0) {
      Error(node.source(), "\"amount\" 0 means the fault changes nothing; remove the fault");
      return false;
    }
    if (*amount < 0 && kind != FaultKind::kClockSkew) {
      Error(node.source(), fmt::format("\"amount\" of a \"{}\" fault must not be negative, got "
                                       "\"{}\"",
                                       FaultKindName(kind), s->get()));
      return false;
    }
    fault.amount_ns = *amount;
    return true;
  }

  void ParseExpect(const toml::table& root) {
    const toml::node* node = root.get("expect");
    if (node == nullptr) return;
    const toml::table* t = AsTable(*node, "expect");
    if (t == nullptr) return;
    CheckKeys(*t, "[expect]", kExpectKeys);
    if (const auto* n = t->get("completeness")) {
      if (auto v = AsFraction(*n, "completeness")) scenario_.expect.completeness = *v;
    }
    if (const auto* n = t->get("broken")) {
      if (auto v = AsNonNegativeInteger(*n, "broken")) scenario_.expect.broken = *v;
    }
    if (const auto* n = t->get("time_to_queryable_p99")) {
      if (auto v = AsPositiveDuration(*n, "time_to_queryable_p99")) {
        scenario_.expect.time_to_queryable_p99_ns = *v;
      }
    }
    if (const auto* n = t->get("time_to_queryable_max")) {
      if (auto v = AsPositiveDuration(*n, "time_to_queryable_max")) {
        scenario_.expect.time_to_queryable_max_ns = *v;
      }
    }
    if (const auto* n = t->get("attributes")) {
      for (const toml::table* e : AsTableArray(*n, "attributes", "expect.attributes")) {
        if (auto entry = ParseAttributeRequirement(*e)) {
          scenario_.expect.attributes.push_back(std::move(*entry));
        }
      }
    }
    if (const auto* n = t->get("sampling")) {
      std::map<std::string, int, std::less<>> ratio_lines;  // service -> line of its ratio entry
      for (const toml::table* e : AsTableArray(*n, "sampling", "expect.sampling")) {
        if (auto entry = ParseSamplingExpectation(*e, ratio_lines)) {
          scenario_.expect.sampling.push_back(std::move(*entry));
        }
      }
    }
  }

  // A service an expectation names, remembered for the second pass. Nullopt after an error.
  std::optional<std::string> ExpectedService(const toml::node& node, std::string_view who) {
    auto v = AsNonEmptyString(node, "service");
    if (v) expect_services_.push_back(ServiceReference{std::string(who), *v, Loc(node.source())});
    return v;
  }

  // { service = "frontend", kind = "server", required = ["http.route"],
  //   values = { "http.request.method" = "GET" } }; nullopt after reporting a problem.
  std::optional<AttributeRequirement> ParseAttributeRequirement(const toml::table& t) {
    bool ok = CheckKeys(t, "attributes entry", kExpectAttributeKeys);
    AttributeRequirement entry;
    entry.where = Loc(t.source());
    if (const auto* n = t.get("service")) {
      auto v = ExpectedService(*n, "attributes entry");
      ok = ok && v.has_value();
      entry.service = v.value_or("");
    }
    if (const auto* n = t.get("kind")) {
      auto v = AsString(*n, "kind");
      if (v && CheckChoice(*n, *v, "span kind", kExpectSpanKinds)) {
        entry.kind = *v == "server" ? SpanKind::kServer : SpanKind::kClient;
      } else {
        ok = false;
      }
    }
    const toml::node* required = t.get("required");
    if (required != nullptr) {
      auto keys = ParseRequiredKeys(*required);
      ok = ok && keys.has_value();
      if (keys) entry.required = std::move(*keys);
    }
    const toml::node* values = t.get("values");
    if (values != nullptr) {
      auto pairs = ParseExpectedValues(*values);
      ok = ok && pairs.has_value();
      if (pairs) entry.values = std::move(*pairs);
    }
    if (required == nullptr && values == nullptr) {
      Error(t.source(), "attributes entry needs \"required\" or \"values\"");
      ok = false;
    }
    if (!ok) return std::nullopt;
    return entry;
  }

  std::optional<std::vector<std::string>> ParseRequiredKeys(const toml::node& node) {
    const auto* array = node.as_array();
    if (array == nullptr) {
      Error(node.source(),
            fmt::format("\"required\" must be an array of attribute keys, got {}", TypeName(node)));
      return std::nullopt;
    }
    if (array->empty()) {
      Error(node.source(), "\"required\" must list at least one attribute key");
      return std::nullopt;
    }
    std::vector<std::string> keys;
    bool ok = true;
    for (const toml::node& element : *array) {
      const auto* s = element.as_string();
      if (s == nullptr || s->get().empty()) {
        Error(element.source(),
              fmt::format("each entry of \"required\" must be an attribute key, got {}",
                          s == nullptr ? TypeName(element) : "an empty string"));
        ok = false;
        continue;
      }
      keys.push_back(s->get());
    }
    if (!ok) return std::nullopt;
    return keys;
  }

  // Each value rendered as AttributeValueToString renders a span's, so the verifier compares text
  // with text: 200 -> "200", true -> "true", 0.5 -> "0.5" (and 2.0 -> "2", like a span's 2.0).
  std::optional<std::vector<std::pair<std::string, std::string>>> ParseExpectedValues(
      const toml::node& node) {
    const toml::table* t = AsTable(node, "values");
    if (t == nullptr) return std::nullopt;
    if (t->empty()) {
      Error(node.source(), "\"values\" must list at least one attribute");
      return std::nullopt;
    }
    std::vector<std::pair<std::string, std::string>> values;
    bool ok = true;
    for (auto&& [key, value] : *t) {
      if (auto v = StaticValue(value)) {
        values.emplace_back(std::string(key.str()), AttributeValueToString(*v));
      } else {
        BadAttributeValue(key.str(), value, "attribute");
        ok = false;
      }
    }
    if (!ok) return std::nullopt;
    return values;
  }

  // One of the forms in kSamplingForms; nullopt after reporting a problem. `ratio_lines` holds the
  // services given a ratio so far, to report a second ratio for one of them.
  std::optional<SamplingExpectation> ParseSamplingExpectation(
      const toml::table& t, std::map<std::string, int, std::less<>>& ratio_lines) {
    const bool keys_ok = CheckKeys(t, "sampling entry", kExpectSamplingKeys);
    SamplingExpectation entry;
    entry.where = Loc(t.source());
    // The keys that mark each form; service, ratio and confidence make one group, told apart by
    // whether a service is named.
    std::vector<std::string_view> markers;
    for (std::string_view key : {"service", "ratio", "confidence"}) {
      if (t.contains(key)) {
        markers.push_back(key);
        break;
      }
    }
    for (std::string_view key : {"errors", "slower_than", "traces"}) {
      if (t.contains(key)) markers.push_back(key);
    }
    if (markers.size() > 1) {
      std::string names = fmt::format("\"{}\"", markers[0]);
      for (size_t i = 1; i < markers.size(); ++i) {
        names += fmt::format("{}\"{}\"", i + 1 == markers.size() ? " and " : ", ", markers[i]);
      }
      Error(t.source(), fmt::format("sampling entry mixes forms ({}): an entry is one of {}", names,
                                    kSamplingForms));
      return std::nullopt;
    }
    if (markers.empty()) {
      // An unknown key is reported already, most likely a misspelt form.
      if (keys_ok) {
        Error(t.source(), fmt::format("sampling entry needs one of the forms {}", kSamplingForms));
      }
      return std::nullopt;
    }
    bool ok = keys_ok;
    const std::string_view form = markers[0];
    if (form == "errors" || form == "traces") {
      const std::string_view wanted = form == "errors" ? "always" : "whole";
      const toml::node& n = *t.get(form);
      const auto* s = n.as_string();
      if (s == nullptr || s->get() != wanted) {
        Error(n.source(), fmt::format("\"{}\" must be \"{}\", got {}", form, wanted,
                                      s == nullptr ? std::string(TypeName(n))
                                                   : fmt::format("\"{}\"", s->get())));
        return std::nullopt;
      }
      entry.kind = form == "errors" ? SamplingExpectation::Kind::kErrors
                                    : SamplingExpectation::Kind::kWholeTraces;
      if (!ok) return std::nullopt;
      return entry;
    }
    if (form == "slower_than") {
      auto v = AsPositiveDuration(*t.get("slower_than"), "slower_than");
      if (!v || !ok) return std::nullopt;
      entry.kind = SamplingExpectation::Kind::kSlowerThan;
      entry.slower_than_ns = *v;
      return entry;
    }
    entry.kind = SamplingExpectation::Kind::kTraceRatio;
    if (const auto* n = t.get("service")) {
      entry.kind = SamplingExpectation::Kind::kServiceRatio;
      auto v = ExpectedService(*n, "sampling entry");
      if (v) {
        entry.service = *v;
        auto [it, inserted] = ratio_lines.emplace(*v, Loc(n->source()).line);
        if (!inserted) {
          Error(n->source(),
                fmt::format("duplicate sampling ratio for service \"{}\" (first given at line {})",
                            *v, it->second));
          ok = false;
        }
      } else {
        ok = false;
      }
    }
    if (const auto* n = Require(t, "ratio", "sampling entry")) {
      auto v = AsFraction(*n, "ratio");
      ok = ok && v.has_value();
      entry.ratio = v.value_or(1.0);
    } else {
      ok = false;
    }
    if (const auto* n = t.get("confidence")) {
      auto v = AsNumber(*n, "confidence");
      if (v && !(*v > 0 && *v < 1)) {
        Error(n->source(),
              fmt::format("\"confidence\" must be greater than 0 and less than 1, got {}", *v));
        v.reset();
      }
      ok = ok && v.has_value();
      entry.confidence = v;
    }
    if (!ok) return std::nullopt;
    return entry;
  }

  // ---- Second pass: names across the scenario.
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
      names_resolved_ &=
          CheckTarget("call to", c.callee_service, c.callee_route, c.service_at, c.route_at);
    }
    for (size_t i = 0; i < scenario_.load.entries.size(); ++i) {
      const LoadEntry& e = scenario_.load.entries[i];
      names_resolved_ &= CheckTarget("load entry names", e.service, e.route,
                                     entry_sites_[i].service_at, entry_sites_[i].route_at);
    }
    if (!entries_written_ && !scenario_.services.empty() && !scenario_.services[0].routes.empty()) {
      const Service& first = scenario_.services[0];
      scenario_.load.entries.push_back(LoadEntry{first.name, first.routes[0].name, 1.0});
    }
  }

  // A simulated service that no call and no load entry names would never receive a request: the
  // file has a typo or a leftover. Checked only when every call and entry resolved and parsed:
  // an unknown or broken name is most likely the one meant, and is reported already.
  void CheckReachable() {
    if (!names_resolved_ || calls_incomplete_ || entries_incomplete_) return;
    std::set<std::string, std::less<>> named;
    for (const CallSite& c : call_sites_) named.insert(c.callee_service);
    for (const LoadEntry& e : scenario_.load.entries) named.insert(e.service);
    for (const Service& s : scenario_.services) {
      // A service without routes is reported as such; it cannot be reached either way.
      if (s.name.empty() || s.routes.empty() || named.count(s.name) != 0) continue;
      auto at = service_at_.find(s.name);
      Error(
          at != service_at_.end() ? at->second : s.where,
          fmt::format("service \"{}\" is unreachable: no call and no load entry names it", s.name));
    }
  }

  // Faults against the services they name: every part must exist and the fault must be able to
  // act (an edge fault needs outgoing calls; a wrong format must be one the callee cannot read).
  void CheckFaults() {
    for (size_t i = 0; i < scenario_.faults.size(); ++i) {
      const Fault& f = scenario_.faults[i];
      const FaultSite& site = fault_sites_[i];
      const Service* service = scenario_.FindService(f.service);
      if (service == nullptr) {
        Error(site.service_at, fmt::format("fault names unknown service \"{}\"{}", f.service,
                                           DidYouMean(f.service, ServiceNames())));
        continue;
      }
      if (service->IsExternal()) {
        Error(site.service_at, fmt::format("fault on external service \"{}\": tracerig does not "
                                           "simulate it, so it cannot inject faults there",
                                           f.service));
        continue;
      }
      if (!f.route.empty() && service->FindRoute(f.route) == nullptr) {
        Error(*site.route_at,
              fmt::format("fault names unknown route \"{}\" of service \"{}\"{}", f.route,
                          f.service, DidYouMean(f.route, RouteNames(*service))));
        continue;
      }
      if (site.window_at && load_ok_ && f.window_start_ns >= scenario_.load.duration_ns) {
        Error(*site.window_at,
              fmt::format("fault window starts at {}, when the load is over (it lasts {})",
                          FormatDuration(f.window_start_ns),
                          FormatDuration(scenario_.load.duration_ns)));
      }
      if (!IsEdgeFault(f.kind)) continue;
      // The services this service (or the fault's route) calls.
      std::vector<std::string_view> callees;
      const size_t index = static_cast<size_t>(service - scenario_.services.data());
      for (const CallSite& c : call_sites_) {
        if (c.service != index) continue;
        if (!f.route.empty() && service->routes[c.route].name != f.route) continue;
        if (std::find(callees.begin(), callees.end(), c.callee_service) == callees.end()) {
          callees.push_back(c.callee_service);
        }
      }
      const std::string who =
          f.route.empty() ? fmt::format("service \"{}\"", f.service)
                          : fmt::format("route \"{}\" of service \"{}\"", f.route, f.service);
      if (f.callee.empty()) {
        if (callees.empty()) {
          Error(f.where, fmt::format("\"{}\" acts on outgoing calls, but {} makes none",
                                     FaultKindName(f.kind), who));
        }
        continue;
      }
      if (std::find(callees.begin(), callees.end(), f.callee) == callees.end()) {
        Error(*site.callee_at, fmt::format("{} makes no call to \"{}\"{}", who, f.callee,
                                           DidYouMean(f.callee, callees)));
        continue;
      }
      const Service* callee = scenario_.FindService(f.callee);
      if (callee != nullptr && !f.format.empty() &&
          std::find(callee->propagation.begin(), callee->propagation.end(), f.format) !=
              callee->propagation.end()) {
        Error(*site.format_at, fmt::format("callee \"{}\" reads {}, so injecting it is not a fault",
                                           f.callee, f.format));
      }
    }
  }

  // Services named by [expect] attributes and sampling entries must exist (simulated or external:
  // an external service's spans are expected in the backend too).
  void CheckExpectedServices() {
    for (const ServiceReference& r : expect_services_) {
      if (scenario_.FindService(r.service) != nullptr) continue;
      Error(r.at, fmt::format("{} names unknown service \"{}\"{}", r.who, r.service,
                              DidYouMean(r.service, ServiceNames())));
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
  ParseEnvironment environment_;
  std::deque<Document> documents_;  // stable addresses: the tables are read by pointer
  std::map<std::string, size_t, std::less<>> file_order_;  // for sorting diagnostics
  Scenario scenario_;
  std::vector<Diagnostic> diagnostics_;
  std::optional<Protocol> default_protocol_;
  std::optional<std::vector<std::string>> default_propagation_;
  std::optional<SamplingPolicy> default_sampling_;
  std::map<std::string, std::pair<const toml::table*, SourceLocation>, std::less<>> templates_;
  std::map<std::string, SourceLocation, std::less<>> service_lines_;  // name -> first definition
  std::map<std::string, SourceLocation, std::less<>> service_at_;
  std::map<std::string, std::string, std::less<>> listen_owner_;
  std::vector<CallSite> call_sites_;
  std::vector<EntrySite> entry_sites_;  // parallel to scenario_.load.entries
  std::vector<FaultSite> fault_sites_;  // parallel to scenario_.faults
  std::vector<ServiceReference> expect_services_;
  bool entries_written_ = false;
  bool entries_incomplete_ = false;  // a load entry was dropped after an error
  bool calls_incomplete_ = false;    // a call was dropped after an error
  bool names_resolved_ = true;       // every call and load entry names an existing route
  bool services_written_ = false;
  bool load_ok_ = true;  // the load's duration is known (the default's, or as written)
};

}  // namespace

std::string Diagnostic::ToString() const {
  return fmt::format("{}: {}", where.ToString(), message);
}

ParseEnvironment SystemParseEnvironment() {
  ParseEnvironment environment;
  environment.read_file = [](const std::string& path) -> std::optional<std::string> {
    std::ifstream in(path, std::ios::binary);
    if (!in) return std::nullopt;
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
  };
  environment.get_env = [](const std::string& name) -> std::optional<std::string> {
    const char* value = std::getenv(name.c_str());
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  };
  return environment;
}

ParseResult ParseScenario(std::string_view source_name, std::string_view text,
                          const ParseEnvironment& environment) {
  return ScenarioParser(source_name, environment).Run(text);
}

ParseResult ParseScenario(std::string_view source_name, std::string_view text) {
  return ParseScenario(source_name, text, SystemParseEnvironment());
}

}  // namespace tracerig
