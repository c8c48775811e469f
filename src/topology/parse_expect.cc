// [expect]: the thresholds a run is judged by, [[expect.attributes]] requirements and
// [[expect.sampling]] entries; then whether the services they name exist.
#include <fmt/format.h>
#include <toml++/toml.h>

#include "core/text.h"
#include "topology/parse_internal.h"

namespace tracerig::parse_internal {
namespace {

constexpr std::string_view kExpectKeys[] = {
    "completeness",          "broken",     "time_to_queryable_p99",
    "time_to_queryable_max", "attributes", "sampling"};
constexpr std::string_view kExpectAttributeKeys[] = {"service", "kind", "required", "values"};
constexpr std::string_view kExpectSamplingKeys[] = {"service", "ratio",       "confidence",
                                                    "errors",  "slower_than", "traces"};
// The span kinds an `[expect] attributes` entry may name.
constexpr std::string_view kExpectSpanKinds[] = {"server", "client"};
// The forms of an `[expect] sampling` entry, for messages.
constexpr std::string_view kSamplingForms =
    "{ service, ratio }, { ratio }, { errors = \"always\" }, { slower_than = DURATION } or "
    "{ traces = \"whole\" }";

}  // namespace

void ScenarioParser::ParseExpect(const toml::table& root) {
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
std::optional<std::string> ScenarioParser::ExpectedService(const toml::node& node,
                                                           std::string_view who) {
  auto v = AsNonEmptyString(node, "service");
  if (v) expect_services_.push_back(ServiceReference{std::string(who), *v, Loc(node.source())});
  return v;
}

// { service = "frontend", kind = "server", required = ["http.route"],
//   values = { "http.request.method" = "GET" } }; nullopt after reporting a problem.
std::optional<AttributeRequirement> ScenarioParser::ParseAttributeRequirement(
    const toml::table& t) {
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

std::optional<std::vector<std::string>> ScenarioParser::ParseRequiredKeys(const toml::node& node) {
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
std::optional<std::vector<std::pair<std::string, std::string>>> ScenarioParser::ParseExpectedValues(
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
std::optional<SamplingExpectation> ScenarioParser::ParseSamplingExpectation(
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
    // The service it names is checked all the same.
    if (const auto* n = t.get("service")) ExpectedService(*n, "sampling entry");
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
      Error(n.source(),
            fmt::format("\"{}\" must be \"{}\", got {}", form, wanted,
                        s == nullptr ? std::string(TypeName(n)) : fmt::format("\"{}\"", s->get())));
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

// Services named by [expect] attributes and sampling entries must exist (simulated or external:
// an external service's spans are expected in the backend too).
void ScenarioParser::CheckExpectedServices() {
  for (const ServiceReference& r : expect_services_) {
    if (scenario_.FindService(r.service) != nullptr) continue;
    Error(r.at, fmt::format("{} names unknown service \"{}\"{}", r.who, r.service,
                            DidYouMean(r.service, ServiceNames())));
  }
}

}  // namespace tracerig::parse_internal
