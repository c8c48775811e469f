// Attributes written in a scenario: static resource, route and event attributes, route attributes
// generated per request (choice, int range, id), and a route's events.
#include <fmt/format.h>
#include <toml++/toml.h>

#include <algorithm>

#include "topology/parse_internal.h"

namespace tracerig::parse_internal {
namespace {

constexpr std::string_view kEventKeys[] = {"name", "at", "attributes"};
// Keys that mark an attribute table as a generator; "choose" is a likely slip for "choice".
constexpr std::string_view kGeneratorKeys[] = {"choice", "weights", "int", "id"};
constexpr std::string_view kGeneratorMarkers[] = {"choice", "weights", "int", "id", "choose"};

}  // namespace

// Static attribute values: string, integer, boolean or float. A table here is most often an
// unquoted dotted key (http.route = ...), which TOML turns into a nested table; the message says
// so. `what` is "attribute", "resource attribute" or "event attribute".
std::vector<Attribute> ScenarioParser::ParseStaticAttributes(const toml::table& t,
                                                             std::string_view what) {
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

bool ScenarioParser::CheckAttributeKey(const toml::key& key, std::string_view what) {
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

void ScenarioParser::BadAttributeValue(std::string_view k, const toml::node& value,
                                       std::string_view what) {
  if (const auto* table = value.as_table()) {
    const std::string dotted =
        table->empty() ? std::string(k) : fmt::format("{}.{}", k, table->begin()->first.str());
    Error(value.source(),
          fmt::format("{} \"{}\" must be a string, integer, boolean or float, got table (to "
                      "name an attribute \"{}\", put the key in quotes)",
                      what, k, dotted));
    return;
  }
  Error(value.source(), fmt::format("{} \"{}\" must be a string, integer, boolean or float, got {}",
                                    what, k, TypeName(value)));
}

// A route's attributes: static values, or generators drawn per request:
// { choice = [...], weights = [...] }, { int = [min, max] }, { id = "prefix" }.
void ScenarioParser::ParseRouteAttributes(const toml::table& t, Route& route) {
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

std::optional<AttributeGenerator> ScenarioParser::ParseGenerator(std::string_view attribute,
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
      Error(t.source(), fmt::format("{} needs exactly one of \"choice\", \"int\" or \"id\"", what));
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
              fmt::format("\"weights\" of {} must be an array of {} numbers, one per choice", what,
                          array->size()));
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

std::vector<EventSpec> ScenarioParser::ParseEvents(const toml::node& node) {
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

}  // namespace tracerig::parse_internal
