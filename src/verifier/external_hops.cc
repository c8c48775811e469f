// Checks of what arrived below real services (external_hops.h).
#include "verifier/external_hops.h"

#include <fmt/format.h>

#include <algorithm>
#include <utility>

#include "propagation/baggage.h"
#include "topology/ground_truth.h"

namespace tracerig {
namespace {

std::string StringAttribute(const Span& span, std::string_view key) {
  const AttributeValue* v = span.FindAttribute(key);
  if (v == nullptr) return "";
  const auto* text = std::get_if<std::string>(v);
  return text == nullptr ? "" : *text;
}

// The SERVER span recorded for `e` of the request `request_id` (hex), under the ledger's trace id
// first, else among the fragments.
const Span* FindDownstream(const ExpectedSpan& e, const std::string& request_id,
                           const TraceId& trace_id, const std::vector<Span>& trace_spans,
                           const std::vector<Span>& fragments) {
  const Span* found = nullptr;
  for (const auto* list : {&trace_spans, &fragments}) {
    for (const Span& span : *list) {
      if (span.kind != SpanKind::kServer || span.service_name != e.service ||
          StringAttribute(span, kHopAttribute) != e.hop ||
          StringAttribute(span, kRequestIdAttribute) != request_id) {
        continue;
      }
      if (span.trace_id == trace_id) return &span;
      if (found == nullptr) found = &span;
    }
  }
  return found;
}

bool HasHeader(const WireObservation& o, std::string_view name) {
  return std::any_of(o.headers.begin(), o.headers.end(),
                     [&](const auto& h) { return h.first == name; });
}

bool TracestateHasMember(std::string_view tracestate, std::string_view member) {
  while (!tracestate.empty()) {
    const size_t comma = tracestate.find(',');
    std::string_view m = tracestate.substr(0, comma);
    tracestate =
        comma == std::string_view::npos ? std::string_view() : tracestate.substr(comma + 1);
    while (!m.empty() && (m.front() == ' ' || m.front() == '\t')) m.remove_prefix(1);
    while (!m.empty() && (m.back() == ' ' || m.back() == '\t')) m.remove_suffix(1);
    if (m == member) return true;
  }
  return false;
}

bool BaggageHasRequestId(std::string_view baggage, std::string_view request_id) {
  if (baggage.empty()) return false;
  for (const BaggageMember& m : ParseBaggage({baggage})) {
    if (m.key == kRequestIdBaggageKey && m.value == request_id) return true;
  }
  return false;
}

const char* Flag(bool sampled) { return sampled ? "sampled" : "not sampled"; }

// A span of tracerig's own (the driver's or a simulated service's): it carries the ground truth.
const Span* TracerigParent(const Span& span, const std::vector<Span>& trace_spans) {
  if (!span.parent_span_id.IsValid()) return nullptr;
  for (const Span& s : trace_spans) {
    if (s.trace_id == span.trace_id && s.span_id == span.parent_span_id &&
        s.FindAttribute(kHopAttribute) != nullptr) {
      return &s;
    }
  }
  return nullptr;
}

// Whether tracerig's tracestate member went into the real service above `e`: it rides on
// traceparent, so only a caller injecting tracecontext sends it (the driver injects the real
// entry service's own formats; a simulated caller its own).
bool TracestateSent(const Scenario& scenario, const ExpectedTree& tree, const ExpectedSpan& e) {
  if (e.parent < 0 || e.parent_unexported) return false;
  const ExpectedSpan& real = tree.spans[static_cast<size_t>(e.parent)];
  if (!real.external || real.service != e.peer) return false;
  const Service* caller = scenario.FindService(real.peer);
  if (caller == nullptr) caller = scenario.FindService(e.peer);  // the driver
  if (caller == nullptr) return false;
  return std::find(caller->Injects().begin(), caller->Injects().end(), "tracecontext") !=
         caller->Injects().end();
}

}  // namespace

std::vector<Violation> CheckExternalHops(const Scenario& scenario, const ExpectedTree& tree,
                                         const LedgerEntry& entry,
                                         const std::vector<Span>& trace_spans,
                                         const std::vector<Span>& fragments,
                                         const WireLog* wire_log) {
  std::vector<Violation> violations;
  const std::string request_id = FormatRequestId(entry.request_id);
  for (const ExpectedSpan& e : tree.spans) {
    if (!e.parent_external || e.kind != SpanKind::kServer) continue;
    std::optional<WireObservation> seen;
    if (wire_log != nullptr) seen = wire_log->Find(request_id, e.hop, e.service);
    const Span* span = FindDownstream(e, request_id, entry.trace_id, trace_spans, fragments);
    if (!seen && span == nullptr) continue;  // nothing tied to this request arrived
    const std::string edge = fmt::format("{} to {} (hop {})", e.peer, e.service, e.hop);
    std::vector<std::string> problems;
    bool continued = true;
    if (seen && !seen->has_context) {
      const Service* callee = scenario.FindService(e.service);
      problems.push_back(fmt::format(
          "{} did not pass trace context on to {} (hop {}): {} received {}", e.peer, e.service,
          e.hop, e.service,
          seen->DescribeHeaders(callee != nullptr ? callee->extract
                                                  : std::vector<std::string>{})));
      continued = false;
    } else {
      const TraceId got = seen ? seen->trace_id : span->trace_id;
      if (got != entry.trace_id) {
        problems.push_back(fmt::format("{} did not continue the trace into {} (hop {}): {} "
                                       "received trace {}, {}",
                                       e.peer, e.service, e.hop, e.service, got.ToHex(),
                                       DescribeTraceIdChange(entry.trace_id, got)));
        continued = false;
      }
    }
    if (continued && span != nullptr && span->trace_id == entry.trace_id) {
      if (const Span* parent = TracerigParent(*span, trace_spans)) {
        problems.push_back(fmt::format(
            "{} passed on the context it was sent instead of its own span's: {}'s parent is "
            "{}'s {} span at hop {}, not a span of {}",
            e.peer, e.service, parent->service_name, SpanKindName(parent->kind),
            StringAttribute(*parent, kHopAttribute), e.peer));
      }
    }
    if (continued && seen) {
      const bool sent_sampled = !e.parent_unexported;
      if (seen->sampled != sent_sampled) {
        problems.push_back(fmt::format("{} changed the sampled flag on {}: sent {}, {} received {}",
                                       e.peer, edge, Flag(sent_sampled), e.service,
                                       Flag(seen->sampled)));
      }
    }
    if (seen && seen->has_context && HasHeader(*seen, "traceparent") &&
        TracestateSent(scenario, tree, e)) {
      const std::string member = fmt::format("{}={}", kTracestateKey, request_id);
      if (!TracestateHasMember(seen->tracestate, member)) {
        problems.push_back(fmt::format(
            "{} dropped tracestate on {}: {} was sent, {} received {}", e.peer, edge, member,
            e.service,
            seen->tracestate.empty() ? std::string("no tracestate")
                                     : fmt::format("`tracestate: {}`", seen->tracestate)));
      }
    }
    if (seen && seen->has_context && seen->source != GroundTruthSource::kBaggage &&
        !BaggageHasRequestId(seen->baggage, request_id)) {
      problems.push_back(fmt::format(
          "{} dropped baggage on {}: {}={} was sent, {} received {}", e.peer, edge,
          kRequestIdBaggageKey, request_id, e.service,
          seen->baggage.empty() ? std::string("no baggage")
                                : fmt::format("`baggage: {}`", seen->baggage)));
    }
    if (problems.empty()) continue;
    std::string text = fmt::format("{}", fmt::join(problems, "; "));
    if (seen) text += fmt::format(" (request tied by {})", GroundTruthSourceName(seen->source));
    violations.push_back(Violation{std::string(kExternalHopViolation), e.hop, e.peer, text});
  }
  return violations;
}

std::vector<std::string> DescribeUntiedHops(const ExpectedTree& tree, const LedgerEntry& entry,
                                            const std::vector<MissingSpan>& missing,
                                            const WireLog* wire_log) {
  std::vector<std::string> sentences;
  if (wire_log == nullptr) return sentences;
  const std::string request_id = FormatRequestId(entry.request_id);
  for (const ExpectedSpan& e : tree.spans) {
    if (!e.parent_external || e.kind != SpanKind::kServer) continue;
    const bool is_missing = std::any_of(missing.begin(), missing.end(), [&](const MissingSpan& m) {
      return m.hop == e.hop && m.service == e.service && m.kind == e.kind;
    });
    if (!is_missing || wire_log->Find(request_id, e.hop, e.service)) continue;
    sentences.push_back(fmt::format(
        "{} (hop {}), called by {}, received nothing tied to this request (no tracerig baggage, "
        "known trace id or single request in flight): judged by counts below {}",
        e.service, e.hop, e.peer, e.peer));
  }
  return sentences;
}

std::vector<ExternalHopCounts> CountExternalHops(
    const Scenario& scenario, const WireLog& wire_log, const std::set<TraceId>& run_traces,
    const std::map<std::pair<std::string, std::string>, uint64_t>& broken_traces) {
  std::vector<ExternalHopCounts> result;
  auto slot = [&](const std::string& external, const std::string& callee) -> ExternalHopCounts& {
    for (ExternalHopCounts& c : result) {
      if (c.external == external && c.callee == callee) return c;
    }
    ExternalHopCounts added;
    added.external = external;
    added.callee = callee;
    result.push_back(std::move(added));
    return result.back();
  };
  for (const Service& service : scenario.services) {
    if (!service.IsExternal()) continue;
    for (const Route& route : service.routes) {
      for (const CallStep& step : route.calls) {
        for (const Call& call : step.calls) slot(service.name, call.service);
      }
    }
  }
  for (ExternalHopCounts& c : result) {
    for (const WireObservation& o : wire_log.FromExternal(c.external)) {
      if (o.service != c.callee) continue;
      ++c.requests;
      if (o.source != GroundTruthSource::kNone && !o.request_id.empty()) {
        ++c.tied[std::string(GroundTruthSourceName(o.source))];
      } else if (o.has_context && run_traces.contains(o.trace_id)) {
        ++c.untied_continued;
      } else {
        ++c.untied_not_continued;
      }
    }
    if (auto it = broken_traces.find({c.external, c.callee}); it != broken_traces.end()) {
      c.broken_traces = it->second;
    }
    const bool per_request = !c.tied.empty();
    const bool by_counts = c.untied_continued + c.untied_not_continued > 0;
    c.attribution = per_request && by_counts ? "per request and by counts"
                    : per_request            ? "per request"
                    : by_counts              ? "by counts"
                                             : "none";
  }
  return result;
}

std::string DescribeExternalHop(const ExternalHopCounts& c) {
  std::string text = fmt::format("below {}: {} received {} request{}", c.external, c.callee,
                                 c.requests, c.requests == 1 ? "" : "s");
  uint64_t tied = 0;
  std::vector<std::string> by;
  for (const auto& [source, n] : c.tied) {
    tied += n;
    by.push_back(fmt::format("{} {}", source, n));
  }
  if (tied > 0) text += fmt::format(", {} tied per request ({})", tied, fmt::join(by, ", "));
  const uint64_t untied = c.untied_continued + c.untied_not_continued;
  if (untied > 0) {
    text += fmt::format(", {} by counts ({} continuing a trace of the run, {} not)", untied,
                        c.untied_continued, c.untied_not_continued);
  }
  if (c.broken_traces > 0) {
    text += fmt::format("; {} trace{} broken there", c.broken_traces,
                        c.broken_traces == 1 ? "" : "s");
  }
  return text;
}

}  // namespace tracerig
