// [[faults]]: each fault's kind, target, window and kind-specific keys; then, once every service
// is known, whether the services, routes and callees it names exist and it can act there.
#include <fmt/format.h>
#include <toml++/toml.h>

#include <algorithm>

#include "core/text.h"
#include "core/units.h"
#include "topology/messaging.h"
#include "topology/parse_internal.h"
#include "topology/parse_values.h"

namespace tracerig::parse_internal {
namespace {

constexpr std::string_view kFaultKeys[] = {"kind",   "service", "route",  "callee", "probability",
                                           "window", "amount",  "format", "when",   "queue"};
constexpr std::string_view kWhenKeys[] = {"sampled", "format"};
constexpr std::string_view kDebugFormats[] = {"b3", "b3multi", "jaeger"};

bool Has(const std::vector<std::string>& formats, std::string_view format) {
  return std::find(formats.begin(), formats.end(), format) != formats.end();
}

}  // namespace

void ScenarioParser::ParseFaults(const toml::table& root) {
  const toml::node* node = root.get("faults");
  if (node == nullptr) return;
  for (const toml::table* t : AsTableArray(*node, "faults", "faults")) {
    CheckKeys(*t, "fault", kFaultKeys);
    Fault fault;
    FaultSite site;
    fault.where = Loc(t->source());
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
    site.kind_ok = kind.has_value();
    if (kind) fault.kind = *kind;
    bool service_ok = false;
    if (const auto* n = Require(*t, "service", "fault")) {
      auto v = AsString(*n, "service");
      if (v) fault.service = *v;
      site.service_at = Loc(n->source());
      service_ok = v.has_value();
    }
    if (const auto* n = t->get("route")) {
      auto v = AsNonEmptyString(*n, "route");
      if (v && kind && IsConsumerFault(*kind)) {
        Error(n->source(), fmt::format("\"route\" does not apply to \"{}\": a consumer fault acts "
                                       "on messages, not on requests to a route (name the "
                                       "consumer's \"queue\" instead)",
                                       FaultKindName(*kind)));
        v.reset();
      }
      fault.route = v.value_or("");
      site.route_at = Loc(n->source());
      site.route_ok = v.has_value();
    }
    if (const auto* n = t->get("queue")) {
      auto v = AsNonEmptyString(*n, "queue");
      if (v && kind && !IsConsumerFault(*kind)) {
        Error(n->source(), fmt::format("\"queue\" applies only to faults on consumers ({}), not "
                                       "\"{}\"",
                                       ConsumerFaultList(), FaultKindName(*kind)));
        v.reset();
      }
      if (v) {
        fault.queue = *v;
        site.queue_at = Loc(n->source());
      }
    }
    if (const auto* n = t->get("callee")) {
      auto v = AsNonEmptyString(*n, "callee");
      site.callee_ok = v.has_value();
      if (v && kind && !IsEdgeFault(*kind)) {
        Error(n->source(), fmt::format("\"callee\" applies only to faults on outgoing calls "
                                       "({}), not \"{}\"",
                                       EdgeFaultList(), FaultKindName(*kind)));
        site.callee_ok = false;
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
      fault.probability = v.value_or(1.0);
    }
    if (const auto* n = t->get("window")) {
      if (ParseWindow(*n, fault)) site.window_at = Loc(n->source());
    }
    const bool needs_amount =
        kind && (*kind == FaultKind::kClockSkew || *kind == FaultKind::kDelayExport);
    if (const auto* n = t->get("amount")) {
      if (kind && !needs_amount) {
        Error(n->source(), fmt::format("\"amount\" applies only to \"clock-skew\" and "
                                       "\"delay-export\" faults, not \"{}\"",
                                       FaultKindName(*kind)));
      } else if (kind) {
        ParseAmount(*n, *kind, fault);
      }
    } else if (needs_amount) {
      Error(t->source(),
            fmt::format("missing required key \"amount\" in \"{}\" fault", FaultKindName(*kind)));
    }
    const bool needs_format = kind && *kind == FaultKind::kWrongFormat;
    if (const auto* n = t->get("format")) {
      if (kind && !needs_format) {
        Error(n->source(), fmt::format("\"format\" applies only to \"wrong-format\" faults, not "
                                       "\"{}\"",
                                       FaultKindName(*kind)));
      } else if (auto v = ParseFormatName(*n, "format")) {
        fault.format = *v;
        site.format_at = Loc(n->source());
      }
    } else if (needs_format) {
      Error(t->source(), "missing required key \"format\" in \"wrong-format\" fault");
    }
    if (const auto* n = t->get("when")) {
      ParseWhen(*n, fault, site);
    }
    // Kept after an error in its other keys too, so that the second pass still checks the names
    // it gives (the scenario is not returned then).
    if (service_ok) {
      scenario_.faults.push_back(std::move(fault));
      fault_sites_.push_back(std::move(site));
    }
  }
}

// One propagation format's name, as a string; nullopt after reporting it.
std::optional<std::string> ScenarioParser::ParseFormatName(const toml::node& node,
                                                           std::string_view key) {
  auto v = AsString(node, key);
  if (!v) return std::nullopt;
  if (Contains(kPropagations, *v)) return v;
  std::string hint = PropagationHint(*v);
  if (hint.empty()) hint = fmt::format(" (supported: {})", QuotedList(kPropagations));
  Error(node.source(), fmt::format("unknown propagation format \"{}\"{}", *v, hint));
  return std::nullopt;
}

// when = { sampled = BOOL, format = "FMT" }: what the request must have brought in. A field with
// a problem is reported and left unset (the scenario is not returned then).
void ScenarioParser::ParseWhen(const toml::node& node, Fault& fault, FaultSite& site) {
  const toml::table* t = node.as_table();
  if (t == nullptr) {
    Error(node.source(), fmt::format("\"when\" must be a table such as {{ sampled = false }} or "
                                     "{{ format = \"b3\" }}, got {}",
                                     TypeName(node)));
    return;
  }
  CheckKeys(*t, "\"when\"", kWhenKeys);
  if (t->empty()) {
    Error(node.source(),
          "\"when\" is empty: give \"sampled\", \"format\" or both (a fault "
          "for every request needs no \"when\")");
    return;
  }
  if (const auto* n = t->get("sampled")) {
    if (const auto* b = n->as_boolean()) {
      fault.when.sampled = b->get();
    } else {
      std::string hint;
      if (const auto* i = n->as_integer(); i != nullptr && (i->get() == 0 || i->get() == 1)) {
        hint = i->get() == 1 ? " (write true)" : " (write false)";
      }
      Error(n->source(), fmt::format("\"sampled\" in \"when\" must be true or false, got {}{}",
                                     TypeName(*n), hint));
    }
  }
  if (const auto* n = t->get("format")) {
    if (auto v = ParseFormatName(*n, "format")) {
      if (*v == "baggage") {
        Error(n->source(),
              "\"when\" format \"baggage\" carries no trace context, so no "
              "request matches it (name a format with ids: \"tracecontext\", "
              "\"b3\", \"b3multi\" or \"jaeger\")");
      } else {
        fault.when.format = *v;
        site.when_format_at = Loc(n->source());
      }
    }
  }
}

std::string ScenarioParser::ConsumerFaultList() {
  std::vector<std::string_view> names;
  for (FaultKind k : AllFaultKinds()) {
    if (IsConsumerFault(k)) names.push_back(FaultKindName(k));
  }
  return QuotedList(names);
}

std::string ScenarioParser::EdgeFaultList() {
  std::vector<std::string_view> names;
  for (FaultKind k : AllFaultKinds()) {
    if (IsEdgeFault(k)) names.push_back(FaultKindName(k));
  }
  return QuotedList(names);
}

// window = ["10s", "20s"]: offsets into the load, start < end.
bool ScenarioParser::ParseWindow(const toml::node& node, Fault& fault) {
  const auto* array = node.as_array();
  if (array == nullptr || array->size() != 2) {
    Error(node.source(), "\"window\" must be two durations [start, end], as in [\"10s\", \"20s\"]");
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

bool ScenarioParser::ParseAmount(const toml::node& node, FaultKind kind, Fault& fault) {
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

// Faults against the services they name: every part must exist and the fault must be able to
// act (an edge fault needs outgoing calls; a wrong format must be one the callee cannot read).
void ScenarioParser::CheckFaults() {
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
    if (site.route_ok && !f.route.empty() && service->FindRoute(f.route) == nullptr) {
      Error(*site.route_at,
            fmt::format("fault names unknown route \"{}\" of service \"{}\"{}", f.route, f.service,
                        DidYouMean(f.route, RouteNames(*service))));
      continue;
    }
    if (site.window_at && load_ok_ && f.window_start_ns >= scenario_.load.duration_ns) {
      Error(*site.window_at,
            fmt::format("fault window starts at {}, when the load is over (it lasts {})",
                        FormatDuration(f.window_start_ns),
                        FormatDuration(scenario_.load.duration_ns)));
    }
    if (site.when_format_at && !Has(service->extract, f.when.format)) {
      Error(*site.when_format_at,
            fmt::format("service \"{}\" does not read {}, so no request arrives in it (it "
                        "extracts {})",
                        f.service, f.when.format,
                        QuotedList(std::vector<std::string_view>(service->extract.begin(),
                                                                 service->extract.end()))));
    }
    // An invalid kind, route or callee would make what follows guess.
    if (!site.kind_ok || !site.route_ok || !site.callee_ok) continue;
    if (IsConsumerFault(f.kind)) CheckConsumerFault(f, site, *service);
    if (!IsEdgeFault(f.kind)) continue;
    // The services this service (or the fault's route) calls; a publish is an outgoing edge to
    // the service consuming its message, as the runtime applies edge faults to it.
    std::vector<std::string_view> callees;
    auto add = [&](std::string_view callee) {
      if (std::find(callees.begin(), callees.end(), callee) == callees.end()) {
        callees.push_back(callee);
      }
    };
    const size_t index = static_cast<size_t>(service - scenario_.services.data());
    auto in_scope = [&](size_t owner, size_t route, const std::optional<size_t>& consumer) {
      return owner == index &&
             (f.route.empty() || (!consumer && service->routes[route].name == f.route));
    };
    for (const CallSite& c : call_sites_) {
      if (in_scope(c.service, c.route, c.consumer)) add(c.callee_service);
    }
    bool unrouted = false;  // a publish of the service reaching no single consumer (reported)
    for (const PublishSite& p : publish_sites_) {
      if (!in_scope(p.owner.service, p.owner.route, p.owner.consumer)) continue;
      Call call;
      call.publish = p.exchange;
      call.routing_key = p.routing_key;
      const std::vector<ConsumerRef> reached =
          consumers_incomplete_ ? std::vector<ConsumerRef>{} : ConsumersOf(scenario_, call);
      if (reached.size() == 1) {
        add(reached.front().service->name);
      } else {
        unrouted = true;
      }
    }
    const std::string who = f.route.empty()
                                ? fmt::format("service \"{}\"", f.service)
                                : fmt::format("route \"{}\" of service \"{}\"", f.route, f.service);
    if (f.callee.empty()) {
      if (!callees.empty()) {
        CheckFaultCanAct(f, *service, who);
      } else if (!unrouted) {
        Error(f.where, fmt::format("\"{}\" acts on outgoing calls, but {} makes none",
                                   FaultKindName(f.kind), who));
      }
      continue;
    }
    // A publish whose consumer is unknown may be the edge meant: its routing error says why.
    if (unrouted && std::find(callees.begin(), callees.end(), f.callee) == callees.end()) continue;
    if (std::find(callees.begin(), callees.end(), f.callee) == callees.end()) {
      Error(*site.callee_at, fmt::format("{} makes no call to \"{}\"{}", who, f.callee,
                                         DidYouMean(f.callee, callees)));
      continue;
    }
    CheckFaultCanAct(f, *service, who);
    const Service* callee = scenario_.FindService(f.callee);
    if (callee != nullptr && !f.format.empty() &&
        std::find(callee->extract.begin(), callee->extract.end(), f.format) !=
            callee->extract.end()) {
      Error(*site.format_at, fmt::format("callee \"{}\" reads {}, so injecting it is not a fault",
                                         f.callee, f.format));
    }
  }
}

// Edge faults that change one part of what the service injects: the service must inject that
// part, or the fault could never act. `who` is the service or route, as messages name it.
void ScenarioParser::CheckFaultCanAct(const Fault& f, const Service& service,
                                      const std::string& who) {
  const std::vector<std::string>& injects = service.Injects();
  const std::string injected =
      injects.empty() ? std::string("nothing: inject = []")
                      : QuotedList(std::vector<std::string_view>(injects.begin(), injects.end()));
  const std::string_view kind = FaultKindName(f.kind);
  auto needs = [&](std::string_view what, std::string_view format) {
    if (Has(injects, format)) return;
    Error(f.where, fmt::format("\"{}\" {}, but service \"{}\" does not inject \"{}\" (it "
                               "injects {})",
                               kind, what, f.service, format, injected));
  };
  switch (f.kind) {
    case FaultKind::kDropTracestate:
      needs("drops the tracestate header", "tracecontext");
      return;
    case FaultKind::kDropBaggage:
      needs("drops the baggage header", "baggage");
      return;
    case FaultKind::kUrlencode:
      needs("URL-encodes uber-trace-id", "jaeger");
      return;
    case FaultKind::kDebugIgnored:
      if (std::none_of(std::begin(kDebugFormats), std::end(kDebugFormats),
                       [&](std::string_view format) { return Has(injects, format); })) {
        Error(f.where, fmt::format("\"{}\" clears the debug flag, but service \"{}\" injects "
                                   "none of \"b3\", \"b3multi\", \"jaeger\", the formats that "
                                   "carry it (it injects {})",
                                   kind, f.service, injected));
      }
      return;
    case FaultKind::kForceSampled:
      if (std::all_of(injects.begin(), injects.end(),
                      [](const std::string& format) { return format == "baggage"; })) {
        Error(f.where, fmt::format("\"{}\" sets the sampled flag, but service \"{}\" injects "
                                   "no format that carries one (it injects {})",
                                   kind, f.service, injected));
      }
      return;
    case FaultKind::kStaleRetryContext: {
      bool retries = false;
      auto scan = [&](const std::vector<CallStep>& steps) {
        for (const CallStep& step : steps) {
          for (const Call& call : step.calls) {
            if (f.callee.empty() || call.service == f.callee) retries |= call.retries > 0;
          }
        }
      };
      for (const Route& route : service.routes) {
        if (f.route.empty() || route.name == f.route) scan(route.calls);
      }
      if (f.route.empty()) {
        for (const Consumer& consumer : service.consumers) scan(consumer.calls);
      }
      if (!retries) {
        const std::string calls = f.callee.empty()
                                      ? fmt::format("no call of {}", who)
                                      : fmt::format("no call of {} to \"{}\"", who, f.callee);
        Error(f.where, fmt::format("\"{}\" acts on retries, but {} has \"retries\" (add "
                                   "retries = 1 or more to the call)",
                                   kind, calls));
      }
      return;
    }
    default:
      return;
  }
}

}  // namespace tracerig::parse_internal
