// Checks below a real (external) service: whether what arrived at each simulated service it
// called continues the trace (context present, same trace id, a parent of the real service's,
// tracestate and baggage passed on, sampled flag kept), per request where the request was tied to
// its root request, and by counts where it was not. Pure: spans and the wire log in, findings out.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/ids.h"
#include "core/ledger.h"
#include "core/span.h"
#include "topology/expected_tree.h"
#include "topology/scenario.h"
#include "topology/wire_log.h"
#include "verifier/classify.h"

namespace tracerig {

// The violation kind of a downstream hop a real service broke.
inline constexpr std::string_view kExternalHopViolation = "external-hop";

// One trace's downstream hops below real services (the expected tree's parent_external SERVER
// spans), each checked on the wire observation of its request (`wire_log`, null when unknown) and
// the span found for it (in `trace_spans` or `fragments`, by ground truth). One violation per
// broken hop, in tree order, naming the real service and the edge, e.g. "fraud-check did not pass
// trace context on to payment (hop 0.0): payment received no trace context headers". In order of
// what is checked: no context, a new trace id, a parent that is not a span of the real service (a
// span tracerig recorded: the context it was sent passed on unchanged), a changed sampled flag, a
// dropped `tracerig=` tracestate member (when a traceparent arrived), dropped baggage members (when
// some context arrived and the request was not tied by them).
std::vector<Violation> CheckExternalHops(const Scenario& scenario, const ExpectedTree& tree,
                                         const LedgerEntry& entry,
                                         const std::vector<Span>& trace_spans,
                                         const std::vector<Span>& fragments,
                                         const WireLog* wire_log);

// For each expected span of `tree` below a real service that `missing` lists and that no wire
// observation ties to this request: a sentence saying that it is judged by counts, e.g. "payment
// (hop 0.0.0), called by fraud-check, received nothing tied to this request (no tracerig baggage,
// known trace id or single request in flight): judged by counts below fraud-check".
std::vector<std::string> DescribeUntiedHops(const ExpectedTree& tree, const LedgerEntry& entry,
                                            const std::vector<MissingSpan>& missing,
                                            const WireLog* wire_log);

// What arrived at one simulated service from one real service over the run (the wire log).
struct ExternalHopCounts {
  std::string external;  // the real service
  std::string callee;    // the simulated service it called
  uint64_t requests = 0;  // requests the callee received from it
  // Tied to their root request, by GroundTruthSourceName ("headers", "baggage", ...): checked
  // per request (CheckExternalHops).
  std::map<std::string, uint64_t> tied;
  // Not tied: judged by counts, continuing one of the run's traces (context with its trace id)
  // or not (no context, or another trace id).
  uint64_t untied_continued = 0;
  uint64_t untied_not_continued = 0;
  // Traces with an external-hop violation at this edge (per request).
  uint64_t broken_traces = 0;
  // "per request", "by counts" or "per request and by counts": how requests were attributed.
  std::string attribution;

  bool operator==(const ExternalHopCounts&) const = default;
};

// Counts per (real service, callee) edge the scenario declares, from the wire log's observations
// below each real service; `run_traces` are the trace ids of the run's requests, `broken_traces`
// the traces per edge with an external-hop violation. Edges without requests are listed too
// (requests 0, attribution "none").
std::vector<ExternalHopCounts> CountExternalHops(
    const Scenario& scenario, const WireLog& wire_log, const std::set<TraceId>& run_traces,
    const std::map<std::pair<std::string, std::string>, uint64_t>& broken_traces);

// One line for a summary: "below fraud-check: payment received 40 requests, 37 tied per request
// (baggage 37), 3 by counts (1 continuing a trace of the run, 2 not); 2 traces broken there".
std::string DescribeExternalHop(const ExternalHopCounts& counts);

}  // namespace tracerig
