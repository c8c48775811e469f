// [[services]]: each service (with its template and the [defaults]), its routes (latency, errors,
// sizes) and the calls each route makes, remembered for the second pass.
#include <fmt/format.h>
#include <toml++/toml.h>

#include <algorithm>
#include <iterator>

#include "core/text.h"
#include "core/units.h"
#include "net/address.h"
#include "topology/expected_tree.h"
#include "topology/parse_internal.h"
#include "topology/parse_values.h"

namespace tracerig::parse_internal {
namespace {

constexpr std::string_view kServiceKeys[] = {
    "name",    "template", "protocol",    "listen",     "url",      "propagation",
    "extract", "inject",   "forward",     "resource",   "sampling", "export",
    "routes",  "ca_file",  "client_cert", "client_key", "command",  "start_timeout",
    "consumers"};
// Keys that make no sense for an external service, which tracerig calls but does not run.
constexpr std::string_view kNotForExternal[] = {"listen",  "resource", "sampling",
                                                "export",  "forward",  "consumers"};
constexpr std::string_view kRouteKeys[] = {"name",       "latency",      "attributes",     "events",
                                           "error_rate", "error_status", "response_bytes", "calls"};
// An external route declares only the calls its real service makes.
constexpr std::string_view kExternalRouteKeys[] = {"name", "calls"};
constexpr std::string_view kCallKeys[] = {"service", "route",   "probability",   "repeat",
                                          "timeout", "retries", "retry_backoff", "request_bytes"};
constexpr std::string_view kParallelKeys[] = {"parallel", "service", "route"};
constexpr std::string_view kProtocols[] = {"http", "grpc"};
// Planned formats: they get "not supported yet" instead of "unknown".
constexpr std::string_view kPropagationsNotYet[] = {"xray"};

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

}  // namespace

std::optional<Protocol> ScenarioParser::ParseProtocol(const toml::node& node) {
  auto v = AsString(node, "protocol");
  if (!v) return std::nullopt;
  if (!CheckChoice(node, *v, "protocol", kProtocols)) return std::nullopt;
  return *v == "grpc" ? Protocol::kGrpc : Protocol::kHttp;
}

std::optional<SamplingPolicy> ScenarioParser::ParseSampling(const toml::node& node) {
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

std::optional<std::vector<std::string>> ScenarioParser::ParseFormats(const toml::node& node,
                                                                     std::string_view key,
                                                                     bool may_be_empty) {
  const auto* array = node.as_array();
  if (array == nullptr) {
    Error(node.source(),
          fmt::format("\"{}\" must be an array of strings, got {}", key, TypeName(node)));
    return std::nullopt;
  }
  if (array->empty() && !may_be_empty) {
    Error(node.source(), fmt::format("\"{}\" must list at least one format", key));
    return std::nullopt;
  }
  std::vector<std::string> formats;
  bool ok = true;
  for (const toml::node& element : *array) {
    const auto* s = element.as_string();
    if (s == nullptr) {
      Error(element.source(),
            fmt::format("each entry of \"{}\" must be a string, got {}", key, TypeName(element)));
      ok = false;
      continue;
    }
    const std::string& format = s->get();
    if (std::find(formats.begin(), formats.end(), format) != formats.end()) {
      Error(element.source(), fmt::format("{} format \"{}\" is listed twice", key, format));
      ok = false;
      continue;
    }
    if (Contains(kPropagations, format)) {
      formats.push_back(format);
      continue;
    }
    ok = false;
    if (Contains(kPropagationsNotYet, format)) {
      Error(element.source(), fmt::format("{} format \"{}\" is not supported yet (supported: {})",
                                          key, format, QuotedList(kPropagations)));
      continue;
    }
    std::string hint = PropagationHint(format);
    if (hint.empty()) hint = fmt::format(" (supported: {})", QuotedList(kPropagations));
    Error(element.source(), fmt::format("{} format \"{}\" is unknown{}", key, format, hint));
  }
  if (!ok) return std::nullopt;
  return formats;
}

// The format keys of one table ([defaults], a template, a service) over what the tables below it
// set: "propagation" replaces both sides, "extract" and "inject" one each, "forward" the list.
// `simulated`: false for an external service, whose "forward" is reported as not allowed.
void ScenarioParser::ReadFormatKeys(const toml::table& t, FormatSides& sides, bool simulated) {
  const toml::node* both = t.get("propagation");
  const toml::node* extract = t.get("extract");
  const toml::node* inject = t.get("inject");
  for (const toml::node* side : {extract, inject}) {
    if (both == nullptr || side == nullptr) continue;
    Error(side->source(),
          fmt::format("\"{}\" and \"propagation\" in the same table: \"propagation\" sets both "
                      "extract and inject; write \"extract\" and \"inject\" instead",
                      side == extract ? "extract" : "inject"));
  }
  if (both != nullptr) {
    if (auto p = ParseFormats(*both, "propagation", false)) {
      sides.extract = std::move(*p);
      sides.inject.reset();  // the same as extract
    }
  } else if (extract != nullptr) {
    // The inject side stays what it was, even when it was "the same as extract".
    if (!sides.inject) sides.inject = sides.extract;
    if (auto p = ParseFormats(*extract, "extract", false)) sides.extract = std::move(*p);
  }
  if (inject != nullptr && both == nullptr) {
    if (auto p = ParseFormats(*inject, "inject", true)) sides.inject = std::move(*p);
  }
  const toml::node* forward = simulated ? t.get("forward") : nullptr;
  if (forward != nullptr) {
    if (auto p = ParseFormats(*forward, "forward", true)) {
      sides.forward = std::move(*p);
      sides.forward_at.clear();
      for (const toml::node& element : *forward->as_array()) {
        sides.forward_at.push_back(Loc(element.source()));
      }
    }
  }
}

// A forwarded format the service also injects would never be forwarded: its own header wins.
void ScenarioParser::CheckForward(const Service& service, const FormatSides& sides) {
  const std::vector<std::string>& injects = service.Injects();
  for (size_t i = 0; i < sides.forward.size(); ++i) {
    const std::string& format = sides.forward[i];
    if (std::find(injects.begin(), injects.end(), format) == injects.end()) continue;
    Error(sides.forward_at[i],
          fmt::format("service \"{}\" forwards {} and also injects it: its own {} header wins, so "
                      "nothing would be forwarded (remove \"{}\" from \"forward\" or from "
                      "\"inject\")",
                      service.name, format, format, format));
  }
}

void ScenarioParser::ParseServices(const toml::table& root) {
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

Service ScenarioParser::ParseService(const ServiceBody& body) {
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
        Error(n->source(), fmt::format("service name \"{}\" is reserved for the load driver", *v));
      } else if (!IsValidServiceName(*v)) {
        Error(n->source(), fmt::format("invalid service name \"{}\" (use lowercase letters, "
                                       "digits, '_', '.' and '-', starting with a letter or "
                                       "digit)",
                                       *v));
      }
      auto [it, inserted] = service_lines_.emplace(*v, Loc(n->source()));
      if (!inserted) {
        const SourceLocation& first = it->second;
        Error(n->source(), first.file == Loc(n->source()).file
                               ? fmt::format("duplicate service \"{}\" (first defined at line {})",
                                             *v, first.line)
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
  std::string url_scheme;  // of a valid external URL
  if (const auto* n = body.get("url")) {
    if (auto v = AsString(*n, "url")) {
      auto url = ParseUrl(*v);
      if (!url || (url->scheme != "http" && url->scheme != "https")) {
        const bool grpc_scheme = v->starts_with("grpc://") || v->starts_with("grpcs://");
        Error(n->source(),
              fmt::format("invalid external service URL \"{}\" (expected http://HOST:PORT or "
                          "https://HOST:PORT){}",
                          *v,
                          grpc_scheme ? ": a gRPC service is written protocol = \"grpc\" with "
                                        "http:// (plaintext) or https:// (TLS)"
                                      : ""));
      } else {
        url_scheme = url->scheme;
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
  ParseExternalOnlyKeys(body, service, url_scheme);
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
  FormatSides formats = default_formats_;
  if (body.base != nullptr) ReadFormatKeys(*body.base, formats, !external);
  ReadFormatKeys(t, formats, !external);
  service.extract = formats.extract;
  service.inject = formats.inject;
  if (!external) {
    service.forward = formats.forward;
    CheckForward(service, formats);
  }
  if (const auto* n = external ? nullptr : body.get("resource")) {
    if (const auto* table = AsTable(*n, "resource")) {
      service.resource = ParseStaticAttributes(*table, "resource attribute");
    }
  }
  if (const auto* n = external ? nullptr : body.get("sampling")) {
    if (auto p = ParseSampling(*n)) {
      service.sampling = *p;
      sampling_at_[index] = Loc(n->source());
    }
  } else if (default_sampling_) {
    service.sampling = *default_sampling_;
    sampling_at_[index] = default_sampling_at_;
  }
  if (const auto* n = external ? nullptr : body.get("export")) {
    auto v = AsString(*n, "export");
    if (v && CheckBackendUrl(*n, *v, "export", kExportSchemes)) service.export_url = *v;
  }
  const toml::node* routes = body.get("routes");
  std::vector<const toml::table*> route_tables;
  if (routes != nullptr) route_tables = AsTableArray(*routes, "routes", "services.routes");
  // A service that only consumes messages needs no routes.
  const bool consumes = !external && body.get("consumers") != nullptr;
  if (route_tables.empty() && (routes == nullptr || routes->is_array()) && !consumes) {
    Error(routes != nullptr ? routes->source() : t.source(),
          fmt::format("{} has no routes (add a [[services.routes]] table)", who));
  }
  std::map<std::string, int, std::less<>> route_lines;
  for (const toml::table* rt : route_tables) {
    Route route = ParseRoute(*rt, index, service.routes.size(), service);
    if (!route.name.empty()) {
      auto [it, inserted] = route_lines.emplace(route.name, route.where.line);
      if (!inserted) {
        Error(route.where, fmt::format("duplicate route \"{}\" in service \"{}\" (first defined at "
                                       "line {})",
                                       route.name, service.name, it->second));
      }
    }
    service.routes.push_back(std::move(route));
  }
  if (consumes) ParseConsumers(body, index, service);
  return service;
}

void ScenarioParser::NotForExternal(const toml::node& node, std::string_view key,
                                    std::string_view service) {
  Error(node.source(), fmt::format("\"{}\" is not allowed on external service \"{}\": tracerig "
                                   "calls it but does not simulate it",
                                   key, service));
}

Route ScenarioParser::ParseRoute(const toml::table& t, size_t service_index, size_t route_index,
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
    if (!route.name.empty()) CheckExternalRouteName(*t.get("name"), route.name, service);
    for (auto&& [key, value] : t) {
      if (!Contains(kExternalRouteKeys, key.str()) && Contains(kRouteKeys, key.str())) {
        NotForExternal(value, key.str(), service.name);
      }
    }
    if (const auto* n = t.get("calls")) {
      route.calls = ParseCalls(*n, CallOwner{service_index, route_index, std::nullopt}, service);
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
    route.calls = ParseCalls(*n, CallOwner{service_index, route_index, std::nullopt}, service);
  }
  return route;
}

// An HTTP status (100..599) for http services; a gRPC status name or code (0..16) for grpc ones.
std::optional<int> ScenarioParser::ParseErrorStatus(const toml::node& node, Protocol protocol) {
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
  Error(node.source(),
        fmt::format("\"error_status\" must be a gRPC status name or code, got {}", TypeName(node)));
  return std::nullopt;
}

// A table with a distribution and its parameters, or a duration string for a fixed latency
// ("2ms" is { distribution = "fixed", value = "2ms" }).
std::optional<LatencyModel> ScenarioParser::ParseLatency(const toml::node& node) {
  if (node.is_string()) {
    auto value = AsDuration(node, "latency");
    if (!value) return std::nullopt;
    return LatencyModel{LatencyModel::Kind::kFixed, *value, 0};
  }
  const toml::table* t = node.as_table();
  if (t == nullptr) {
    Error(node.source(), fmt::format("\"latency\" must be a duration such as \"2ms\" or a table "
                                     "such as {{ distribution = \"uniform\", min = \"1ms\", "
                                     "max = \"5ms\" }}, got {}",
                                     TypeName(node)));
    return std::nullopt;
  }
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
    Error(b_node->source(), fmt::format("\"{}\" ({}) must not be less than \"{}\" ({})", dist->b,
                                        FormatDuration(model.b), dist->a, FormatDuration(model.a)));
    return std::nullopt;
  }
  return model;
}

// Every call whose callee is written goes into call_sites_, whatever its options, so that the
// second pass sees the graph as written. calls_incomplete_ marks a call whose callee is unknown.
std::vector<CallStep> ScenarioParser::ParseCalls(const toml::node& node, const CallOwner& owner,
                                                 const Service& caller) {
  std::vector<CallStep> steps;
  const auto* array = node.as_array();
  if (array == nullptr) {
    Error(node.source(),
          fmt::format("\"calls\" must be an array of calls, got {}", TypeName(node)));
    calls_incomplete_ = true;
    return steps;
  }
  for (const toml::node& element : *array) {
    const auto* t = element.as_table();
    if (t == nullptr) {
      Error(element.source(), fmt::format("each entry of \"calls\" must be a table such as "
                                          "{{ service = \"cart\", route = \"GetCart\" }}, got {}",
                                          TypeName(element)));
      calls_incomplete_ = true;
      continue;
    }
    const toml::node* group = t->get("parallel");
    if (group == nullptr) {
      if (auto call = ParseCall(*t, owner, caller)) {
        steps.push_back(CallStep{false, {std::move(*call)}});
      }
      continue;
    }
    CheckKeys(*t, "call", kParallelKeys);
    if (t->contains("service") || t->contains("route")) {
      Error(t->source(), "a call has either \"parallel\" or \"service\" and \"route\", not both");
      calls_incomplete_ = true;
    } else if (t->contains("publish")) {
      Error(t->source(),
            "a call has either \"parallel\" or \"publish\", not both (put the "
            "publish inside the group)");
      calls_incomplete_ = true;
    }
    const auto* members = group->as_array();
    if (members == nullptr) {
      Error(group->source(),
            fmt::format("\"parallel\" must be an array of calls, got {}", TypeName(*group)));
      calls_incomplete_ = true;
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
        Error(member.source(), fmt::format("each entry of \"parallel\" must be a table such as "
                                           "{{ service = \"cart\", route = \"GetCart\" }}, got {}",
                                           TypeName(member)));
        calls_incomplete_ = true;
      } else if (mt->contains("parallel")) {
        Error(member.source(), "nested \"parallel\" groups are not supported");
        calls_incomplete_ = true;
      } else if (auto call = ParseCall(*mt, owner, caller)) {
        step.calls.push_back(std::move(*call));
      }
    }
    if (step.calls.size() == members->size()) steps.push_back(std::move(step));
  }
  return steps;
}

std::optional<Call> ScenarioParser::ParseCall(const toml::table& t, const CallOwner& owner,
                                              const Service& caller) {
  if (t.contains("publish") || t.contains("routing_key")) return ParsePublish(t, owner, caller);
  CheckKeys(t, "call", kCallKeys);
  const toml::node* s = Require(t, "service", "call");
  const toml::node* r = Require(t, "route", "call");
  std::optional<std::string> callee_service = s ? AsString(*s, "service") : std::nullopt;
  std::optional<std::string> callee_route = r ? AsString(*r, "route") : std::nullopt;
  Call call;
  bool ok = true;
  // An external route's call keeps only its callee; the options below are the real service's.
  const bool external = caller.IsExternal();
  if (external) ok = CheckExternalCallKeys(t, caller.name);
  if (const auto* n = external ? nullptr : t.get("probability")) {
    auto v = AsFraction(*n, "probability");
    if (v && *v == 0) {
      Error(n->source(), "probability 0 means the call never happens; remove it");
      v.reset();
    }
    ok = ok && v.has_value();
    call.probability = v.value_or(1.0);
  }
  if (const auto* n = external ? nullptr : t.get("repeat")) {
    auto v = AsInteger(*n, "repeat", 1, 1000);
    ok = ok && v.has_value();
    call.repeat = static_cast<uint32_t>(v.value_or(1));
  }
  if (const auto* n = external ? nullptr : t.get("timeout")) {
    auto v = AsPositiveDuration(*n, "timeout");
    ok = ok && v.has_value();
    call.timeout_ns = v.value_or(0);
  }
  if (const auto* n = external ? nullptr : t.get("retries")) {
    auto v = AsInteger(*n, "retries", 0, 100);
    ok = ok && v.has_value();
    call.retries = static_cast<uint32_t>(v.value_or(0));
  }
  if (const auto* n = external ? nullptr : t.get("retry_backoff")) {
    auto v = AsDuration(*n, "retry_backoff");
    ok = ok && v.has_value();
    call.retry_backoff_ns = v.value_or(0);
    if (v && !t.contains("retries")) {
      Error(n->source(), "\"retry_backoff\" needs \"retries\" (the wait before each retry)");
      ok = false;
    }
  }
  if (const auto* n = external ? nullptr : t.get("request_bytes")) {
    auto v = AsSize(*n, "request_bytes");
    ok = ok && v.has_value();
    call.request_bytes = v.value_or(0);
  }
  if (!callee_service || !callee_route) {
    calls_incomplete_ = true;
    return std::nullopt;
  }
  call.service = *callee_service;
  call.route = *callee_route;
  call.where = Loc(t.source());
  call_sites_.push_back(CallSite{owner.service, owner.route, owner.consumer, *callee_service,
                                 *callee_route, call.where, Loc(s->source()), Loc(r->source())});
  if (!ok) return std::nullopt;
  return call;
}

}  // namespace tracerig::parse_internal
