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

#include "topology/messaging.h"

namespace tracerig {
namespace {

// One segment of a hop: the call index, the retry and the delivery ("3r2": 3, 2, 0; "3": 3, 0, 0;
// "3d2": its message's second redelivery; "3q": its dead-lettered copy, after every redelivery).
struct Segment {
  size_t call = 0;
  size_t retry = 0;
  size_t delivery = 0;  // kDeadLetter: the dead-letter queue's delivery
  static constexpr size_t kDeadLetter = SIZE_MAX;
  auto operator<=>(const Segment&) const = default;
};

// A decimal number that is the whole of `text`.
std::optional<size_t> Decimal(std::string_view text) {
  size_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

std::optional<Segment> ParseSegment(std::string_view segment) {
  Segment out;
  if (segment.ends_with('q')) {
    out.delivery = Segment::kDeadLetter;
    segment.remove_suffix(1);
  } else if (const size_t d = segment.find('d'); d != std::string_view::npos) {
    auto delivery = Decimal(segment.substr(d + 1));
    if (!delivery || *delivery == 0) return std::nullopt;
    out.delivery = *delivery;
    segment = segment.substr(0, d);
  }
  const size_t r = segment.find('r');
  auto call = Decimal(segment.substr(0, r));
  if (!call) return std::nullopt;
  out.call = *call;
  if (r != std::string_view::npos) {
    auto retry = Decimal(segment.substr(r + 1));
    if (!retry) return std::nullopt;
    out.retry = *retry;
  }
  return out;
}

// The segments of a hop, parsed; nullopt when one is malformed.
std::optional<std::vector<Segment>> ParseHop(std::string_view hop) {
  std::vector<Segment> out;
  while (true) {
    const size_t dot = hop.find('.');
    auto segment = ParseSegment(hop.substr(0, dot));
    if (!segment) return std::nullopt;
    out.push_back(*segment);
    if (dot == std::string_view::npos) return out;
    hop.remove_prefix(dot + 1);
  }
}

// The visit at a hop: who serves it, and whether it is (or is below) a batch consumer's delivery,
// whose spans live in the batch's own trace.
struct VisitAt {
  std::string service;
  bool in_batch = false;
};

// Follows the scenario's calls as hops number them (expected_tree.h): a route's calls, a
// publish's consumer (its delivery, redelivery or dead-letter delivery) and that consumer's calls.
std::optional<VisitAt> WalkToHop(const Scenario& scenario, const LoadEntry& load,
                                 std::string_view hop) {
  auto segments = ParseHop(hop);
  if (!segments || segments->empty() || (*segments)[0].call != 0 ||
      (*segments)[0].delivery != 0) {
    return std::nullopt;
  }
  VisitAt at{load.service, false};
  const std::vector<CallStep>* steps = nullptr;
  if (const Service* s = scenario.FindService(load.service)) {
    if (const Route* r = s->FindRoute(load.route)) steps = &r->calls;
  }
  for (size_t k = 1; k < segments->size(); ++k) {
    if (steps == nullptr) return std::nullopt;
    // Executions numbered as expected_tree.h does: steps in order, parallel groups flattened,
    // each repeat its own index.
    const Segment& want = (*segments)[k];
    size_t index = 0;
    const Call* found = nullptr;
    for (const CallStep& step : *steps) {
      for (const Call& call : step.calls) {
        if (want.call >= index && want.call < index + call.repeat) found = &call;
        index += call.repeat;
      }
      if (found != nullptr) break;
    }
    if (found == nullptr) return std::nullopt;
    if (!found->IsPublish()) {
      if (want.delivery != 0) return std::nullopt;
      at.service = found->service;
      steps = nullptr;
      if (const Service* s = scenario.FindService(found->service)) {
        if (const Route* r = s->FindRoute(found->route)) steps = &r->calls;
      }
      continue;
    }
    const std::vector<ConsumerRef> consumers = ConsumersOf(scenario, *found);
    if (consumers.empty()) return std::nullopt;
    ConsumerRef ref = consumers.front();
    if (want.delivery == Segment::kDeadLetter) {
      ref = ConsumerOfQueue(scenario, ref.consumer->dead_letter);
      if (ref.consumer == nullptr) return std::nullopt;
    } else if (want.delivery > ref.consumer->redeliveries) {
      return std::nullopt;
    }
    at.service = ref.service->name;
    at.in_batch = at.in_batch || ref.consumer->IsBatch();
    steps = &ref.consumer->calls;
  }
  return at;
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
  std::vector<Segment> order;  // parsed hop, for pre-order
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
      case FaultKind::kConsumerNewTrace:
      case FaultKind::kDlqDropsHeaders:
      case FaultKind::kRetryDuplicatesHeaders:
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
  // Whether some call of `steps` reaches a service that cannot read what `service` injects. A
  // publish reaches its consumer's service (a batch consumer's span roots a trace of its own by
  // design: that is no split).
  auto splits = [&](const Service& service, const std::vector<CallStep>& steps) {
    for (const CallStep& step : steps) {
      for (const Call& call : step.calls) {
        const Service* callee = scenario.FindService(call.service);
        if (call.IsPublish()) {
          const std::vector<ConsumerRef> consumers = ConsumersOf(scenario, call);
          if (consumers.size() != 1) return true;
          if (consumers[0].consumer->IsBatch()) continue;
          callee = consumers[0].service;
        }
        if (callee == nullptr || !SharesIds(service.Injects(), callee->extract)) return true;
      }
    }
    return false;
  };
  for (const Service& service : scenario.services) {
    if (service.IsExternal()) return true;
    for (const Route& route : service.routes) {
      if (splits(service, route.calls)) return true;
    }
    for (const Consumer& consumer : service.consumers) {
      if (splits(service, consumer.calls)) return true;
    }
  }
  return false;
}

std::string ServiceAtHop(const Scenario& scenario, const LoadEntry& load, std::string_view hop) {
  const std::optional<VisitAt> at = WalkToHop(scenario, load, hop);
  return at ? at->service : "";
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
    // A batch consumer's span and its calls are in the batch's own trace, whatever the flag of
    // the message (it carries its first message's request id): no split of this request.
    const std::optional<VisitAt> at = WalkToHop(scenario, load, visit);
    if (at && at->in_batch) continue;
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
