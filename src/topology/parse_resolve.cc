// What a scenario refers to: the files it includes, its [[templates]] and [defaults]; then, once
// every table is read, the names across it: calls and load entries name existing routes, every
// service is reachable, and no calls (nor publishes through their consumers) form a cycle.
#include <fmt/format.h>
#include <toml++/toml.h>

#include <algorithm>
#include <set>

#include "core/text.h"
#include "topology/messaging.h"
#include "topology/parse_internal.h"
#include "topology/parse_values.h"

namespace tracerig::parse_internal {
namespace {

constexpr std::string_view kTopKeys[] = {"include",  "scenario", "load",      "backend", "defaults",
                                         "services", "faults",   "templates", "expect",  "broker"};
// An included file contributes these only: the scenario as a whole stays in the including file.
constexpr std::string_view kIncludedTopKeys[] = {"include", "services", "templates", "faults"};
constexpr std::string_view kDefaultsKeys[] = {"protocol", "propagation", "extract",
                                              "inject",   "forward",     "sampling"};
constexpr std::string_view kTemplateKeys[] = {
    "name",    "protocol",    "listen",     "url",      "propagation",   "extract",
    "inject",  "forward",     "resource",   "sampling", "export",        "routes",
    "ca_file", "client_cert", "client_key", "command",  "start_timeout", "consumers"};

}  // namespace

// Parses `text` as `path` and, recursively, the files it includes. `stack` holds the files
// being included, to report cycles. False when the top-level file is not valid TOML.
bool ScenarioParser::LoadDocument(const std::string& path, std::string_view text,
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
      Error(element.source(), fmt::format("each entry of \"include\" must be a file name, got {}",
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
    const Result<std::string> contents = environment_.read_file(resolved);
    if (!contents) {
      Error(element.source(), fmt::format("cannot read included file \"{}\": {}", resolved,
                                          contents.error().message));
      continue;
    }
    file_order_.emplace(resolved, file_order_.size());
    LoadDocument(resolved, *contents, stack);
  }
  stack.pop_back();
  return true;
}

void ScenarioParser::ParseDefaults(const toml::table& root) {
  const toml::node* node = root.get("defaults");
  if (node == nullptr) return;
  const toml::table* t = AsTable(*node, "defaults");
  if (t == nullptr) return;
  CheckKeys(*t, "[defaults]", kDefaultsKeys);
  if (const auto* n = t->get("protocol")) default_protocol_ = ParseProtocol(*n);
  ReadFormatKeys(*t, default_formats_, true);
  if (const auto* n = t->get("sampling")) {
    default_sampling_ = ParseSampling(*n);
    default_sampling_at_ = Loc(n->source());
  }
}

// [[templates]]: service bodies with a name, used by `template = "name"` in [[services]]. Their
// values are checked where a service uses them (the location stays the template's).
void ScenarioParser::ParseTemplates(const toml::table& root) {
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

std::vector<std::string_view> ScenarioParser::ServiceNames() const {
  std::vector<std::string_view> names;
  for (const auto& s : scenario_.services) {
    if (!s.name.empty()) names.push_back(s.name);
  }
  return names;
}

std::vector<std::string_view> ScenarioParser::RouteNames(const Service& service) {
  std::vector<std::string_view> names;
  for (const auto& r : service.routes) names.push_back(r.name);
  return names;
}

// Reports an unknown service or route; `prefix` says who names it ("call to", ...).
bool ScenarioParser::CheckTarget(std::string_view prefix, std::string_view service,
                                 std::string_view route, const SourceLocation& service_at,
                                 const SourceLocation& route_at) {
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

void ScenarioParser::ResolveNames() {
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
  } else if (!entries_written_ && !scenario_.services.empty() &&
             !scenario_.services[0].consumers.empty()) {
    const Service& first = scenario_.services[0];
    Error(first.where, fmt::format("the load goes to the first route of the first service, but "
                                   "service \"{}\" only consumes messages (add "
                                   "[[load.entries]] naming a route)",
                                   first.name));
    entries_incomplete_ = true;  // the entry meant is unknown: no reachability guesses
  }
}

// A simulated service that no call and no load entry names would never receive a request: the
// file has a typo or a leftover. Checked only when every call and entry resolved and parsed:
// an unknown or broken name is most likely the one meant, and is reported already.
void ScenarioParser::CheckReachable() {
  if (!names_resolved_ || calls_incomplete_ || entries_incomplete_) return;
  std::set<std::string, std::less<>> named;
  for (const CallSite& c : call_sites_) named.insert(c.callee_service);
  for (const LoadEntry& e : scenario_.load.entries) named.insert(e.service);
  for (const Service& s : scenario_.services) {
    // A service without routes is reported as such; it cannot be reached either way. One with
    // consumers is reached by messages (parse_consumers.cc warns about queues that get none).
    if (s.name.empty() || s.routes.empty() || !s.consumers.empty() || named.count(s.name) != 0) {
      continue;
    }
    auto at = service_at_.find(s.name);
    Error(at != service_at_.end() ? at->second : s.where,
          fmt::format("service \"{}\" is unreachable: no call and no load entry names it", s.name));
  }
}

std::string ScenarioParser::OwnerLabel(size_t service, size_t route,
                                       std::optional<size_t> consumer) const {
  const Service& s = scenario_.services[service];
  if (consumer) return fmt::format("{} queue {}", s.name, s.consumers[*consumer].queue);
  return fmt::format("{} {}", s.name, s.routes[route].name);
}

// Depth-first search over (service, route) and (service, consumer) nodes; a call leads to its
// route, a publish to the consumer its binding reaches, a consumer to the consumer of its
// dead-letter queue. Every edge back into the current path closes a cycle, reported at the call
// (or dead_letter) that closes it. A cycle would make every request recurse forever.
void ScenarioParser::CheckCycles() {
  std::vector<size_t> first_node;           // node id of each service's first route
  std::vector<size_t> first_consumer_node;  // node id of each service's first consumer
  size_t nodes = 0;
  for (const auto& s : scenario_.services) {
    first_node.push_back(nodes);
    nodes += s.routes.size();
  }
  for (const auto& s : scenario_.services) {
    first_consumer_node.push_back(nodes);
    nodes += s.consumers.size();
  }
  struct Edge {
    size_t to;
    SourceLocation where;
  };
  std::vector<std::vector<Edge>> edges(nodes);
  struct Label {
    size_t service = 0;
    size_t route = 0;
    std::optional<size_t> consumer;
  };
  std::vector<Label> labels(nodes);
  for (size_t s = 0; s < scenario_.services.size(); ++s) {
    for (size_t r = 0; r < scenario_.services[s].routes.size(); ++r) {
      labels[first_node[s] + r] = {s, r, std::nullopt};
    }
    for (size_t c = 0; c < scenario_.services[s].consumers.size(); ++c) {
      labels[first_consumer_node[s] + c] = {s, 0, c};
    }
  }
  auto owner_node = [&](size_t service, size_t route, std::optional<size_t> consumer) {
    return consumer ? first_consumer_node[service] + *consumer : first_node[service] + route;
  };
  auto consumer_node = [&](const ConsumerRef& ref) -> std::optional<size_t> {
    if (ref.consumer == nullptr) return std::nullopt;
    const size_t s = static_cast<size_t>(ref.service - scenario_.services.data());
    return first_consumer_node[s] +
           static_cast<size_t>(ref.consumer - ref.service->consumers.data());
  };
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
      edges[owner_node(c.service, c.route, c.consumer)].push_back(Edge{*to, c.where});
    }
  }
  for (const PublishSite& p : publish_sites_) {
    Call call;
    call.publish = p.exchange;
    call.routing_key = p.routing_key;
    for (const ConsumerRef& ref : ConsumersOf(scenario_, call)) {
      const size_t from = owner_node(p.owner.service, p.owner.route, p.owner.consumer);
      edges[from].push_back(Edge{*consumer_node(ref), p.where});
    }
  }
  for (const ConsumerSite& site : consumer_sites_) {
    if (!site.dead_letter_at) continue;
    const Consumer& c = scenario_.services[site.service].consumers[site.consumer];
    if (auto to = consumer_node(ConsumerOfQueue(scenario_, c.dead_letter))) {
      edges[first_consumer_node[site.service] + site.consumer].push_back(
          Edge{*to, *site.dead_letter_at});
    }
  }
  auto label = [&](size_t node) {
    return OwnerLabel(labels[node].service, labels[node].route, labels[node].consumer);
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
        Error(e.where, "call cycle: " + cycle + label(e.to));
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

}  // namespace tracerig::parse_internal
