// Requests split below a sampled-out visit (unexpected_fragments.h): which services to search,
// and which spans found under another trace id where the tree expects none make a break.
#include "verifier/unexpected_fragments.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <tuple>
#include <utility>

namespace tracerig {
namespace {

// One segment of a hop: the call index and the retry ("3r2": 3, 2; "3": 3, 0).
std::optional<std::pair<size_t, size_t>> ParseSegment(std::string_view segment) {
  const size_t r = segment.find('r');
  const std::string_view index = segment.substr(0, r);
  size_t call = 0;
  size_t retry = 0;
  auto [end, ec] = std::from_chars(index.data(), index.data() + index.size(), call);
  if (ec != std::errc() || end != index.data() + index.size() || index.empty()) {
    return std::nullopt;
  }
  if (r != std::string_view::npos) {
    const std::string_view tail = segment.substr(r + 1);
    auto [tend, tec] = std::from_chars(tail.data(), tail.data() + tail.size(), retry);
    if (tec != std::errc() || tend != tail.data() + tail.size() || tail.empty()) {
      return std::nullopt;
    }
  }
  return std::make_pair(call, retry);
}

// The segments of a hop, parsed; nullopt when one is malformed.
std::optional<std::vector<std::pair<size_t, size_t>>> ParseHop(std::string_view hop) {
  std::vector<std::pair<size_t, size_t>> out;
  while (true) {
    const size_t dot = hop.find('.');
    auto segment = ParseSegment(hop.substr(0, dot));
    if (!segment) return std::nullopt;
    out.push_back(*segment);
    if (dot == std::string_view::npos) return out;
    hop.remove_prefix(dot + 1);
  }
}

// The hop above `hop` ("0.1.2" -> "0.1"); "" for the entry's.
std::string_view HopAbove(std::string_view hop) {
  const size_t dot = hop.rfind('.');
  return dot == std::string_view::npos ? std::string_view() : hop.substr(0, dot);
}

// Whether `below` is `above` or a hop under it.
bool AtOrUnder(std::string_view below, std::string_view above) {
  return below == above || (below.size() > above.size() && below.substr(0, above.size()) == above &&
                            below[above.size()] == '.');
}

// One visit whose spans were found split off.
struct SplitVisit {
  std::vector<std::pair<size_t, size_t>> order;  // parsed hop, for pre-order
  std::string hop;
  std::string service;
  TraceId found_under;
};

}  // namespace

std::vector<std::string> SampledOutSearchServices(const ExpectedTree& tree, const LoadEntry& load) {
  std::vector<std::string> services;
  for (const std::string& s : tree.unsampled_visits) {
    if (std::find(services.begin(), services.end(), s) == services.end()) services.push_back(s);
  }
  if (services.empty() && load.sampled == EntrySampling::kNotSampled) {
    services.push_back(load.service);
  }
  return services;
}

namespace {

// Whether a caller writing `sent` gives a callee reading `read` trace ids (a shared format other
// than baggage).
bool SharesIds(const std::vector<std::string>& sent, const std::vector<std::string>& read) {
  for (const std::string& format : sent) {
    if (format == "baggage") continue;
    if (std::find(read.begin(), read.end(), format) != read.end()) return true;
  }
  return false;
}

}  // namespace

bool RequestsMaySplit(const Scenario& scenario) {
  for (const Fault& fault : scenario.faults) {
    switch (fault.kind) {
      case FaultKind::kNewTrace:
      case FaultKind::kDropContext:
      case FaultKind::kWrongFormat:
      case FaultKind::kCorrupt:
      case FaultKind::kTruncateTraceId:
        return true;
      default:
        break;
    }
  }
  for (const LoadEntry& entry : scenario.load.entries) {
    const Service* service = scenario.FindService(entry.service);
    if (service == nullptr || !entry.SendsContext()) return true;
    if (entry.inject && !SharesIds(*entry.inject, service->extract)) return true;
  }
  for (const Service& service : scenario.services) {
    if (service.IsExternal()) return true;
    for (const Route& route : service.routes) {
      for (const CallStep& step : route.calls) {
        for (const Call& call : step.calls) {
          const Service* callee = scenario.FindService(call.service);
          if (callee == nullptr || !SharesIds(service.Injects(), callee->extract)) return true;
        }
      }
    }
  }
  return false;
}

std::string ServiceAtHop(const Scenario& scenario, const LoadEntry& load, std::string_view hop) {
  auto segments = ParseHop(hop);
  if (!segments || segments->empty() || (*segments)[0].first != 0) return "";
  std::string service = load.service;
  std::string route = load.route;
  for (size_t k = 1; k < segments->size(); ++k) {
    const Service* s = scenario.FindService(service);
    const Route* r = s == nullptr ? nullptr : s->FindRoute(route);
    if (r == nullptr) return "";
    // Executions numbered as expected_tree.h does: steps in order, parallel groups flattened,
    // each repeat its own index.
    const size_t want = (*segments)[k].first;
    size_t index = 0;
    const Call* found = nullptr;
    for (const CallStep& step : r->calls) {
      for (const Call& call : step.calls) {
        if (want >= index && want < index + call.repeat) found = &call;
        index += call.repeat;
      }
      if (found != nullptr) break;
    }
    if (found == nullptr) return "";
    service = found->service;
    route = found->route;
  }
  return service;
}

std::vector<PropagationBreak> FindUnsampledSplits(const Scenario& scenario, const LoadEntry& load,
                                                  const ExpectedTree& tree,
                                                  const LedgerEntry& entry, TraceId started_trace,
                                                  const std::vector<Span>& fragments) {
  std::set<std::tuple<std::string_view, SpanKind, std::string_view>> expected;
  for (const ExpectedSpan& e : tree.spans) expected.emplace(e.hop, e.kind, e.service);
  // By visit hop: the first span found there names the service and the trace id.
  std::map<std::string, SplitVisit> visits;
  for (const Span& span : fragments) {
    if (span.trace_id == entry.trace_id ||
        (started_trace.IsValid() && span.trace_id == started_trace) ||
        !CarriesRequestId(span, entry.request_id)) {
      continue;
    }
    const AttributeValue* value = span.FindAttribute(kHopAttribute);
    const std::string* hop = value == nullptr ? nullptr : std::get_if<std::string>(value);
    if (hop == nullptr || expected.contains({*hop, span.kind, span.service_name})) continue;
    // A CLIENT (or PRODUCER) span carries its call's hop; the service recording it was visited
    // at the hop above.
    const bool outgoing = span.kind == SpanKind::kClient || span.kind == SpanKind::kProducer;
    const std::string visit(outgoing ? HopAbove(*hop) : *hop);
    if (visit.empty()) continue;
    auto order = ParseHop(visit);
    if (!order) continue;
    auto [it, added] = visits.try_emplace(visit);
    if (added) it->second = SplitVisit{std::move(*order), visit, span.service_name, span.trace_id};
  }
  std::vector<const SplitVisit*> sorted;
  for (const auto& [hop, v] : visits) sorted.push_back(&v);
  std::sort(sorted.begin(), sorted.end(),
            [](const SplitVisit* a, const SplitVisit* b) { return a->order < b->order; });
  std::vector<PropagationBreak> breaks;
  std::vector<std::string_view> tops;
  for (const SplitVisit* v : sorted) {
    if (std::any_of(tops.begin(), tops.end(),
                    [&](std::string_view top) { return AtOrUnder(v->hop, top); })) {
      continue;
    }
    tops.push_back(v->hop);
    PropagationBreak b;
    b.hop = v->hop;
    b.callee = v->service;
    const std::string_view above = HopAbove(v->hop);
    b.caller =
        above.empty() ? std::string(kDriverServiceName) : ServiceAtHop(scenario, load, above);
    if (b.caller.empty()) b.caller = "unknown";
    b.found_under = v->found_under;
    breaks.push_back(std::move(b));
  }
  return breaks;
}

void AddUnsampledSplits(const LedgerEntry& entry, std::vector<PropagationBreak> splits,
                        TraceVerdict& verdict) {
  if (splits.empty()) return;
  std::string text;
  for (const PropagationBreak& b : splits) {
    if (!text.empty()) text += "; ";
    text += fmt::format(
        "request split between {} and {} at hop {}: {} recorded spans under trace {} ({}) "
        "although the request reached it unsampled, where no span was expected",
        b.caller, b.callee, b.hop, b.callee, b.found_under.ToHex(),
        DescribeTraceIdChange(entry.trace_id, b.found_under));
  }
  if (verdict.status == TraceStatus::kComplete) {
    verdict.explanation = fmt::format("{}; otherwise {}", text, verdict.explanation);
  } else {
    verdict.explanation = fmt::format("{}; {}", text, verdict.explanation);
  }
  verdict.status = TraceStatus::kBroken;
  for (PropagationBreak& b : splits) verdict.breaks.push_back(std::move(b));
}

}  // namespace tracerig
