// Requests split below a sampled-out visit: spans of a request recorded under another trace id
// at a hop where its expected tree has no span, because the request reached that service
// unsampled (a service that starts a trace of its own for unsampled requests). Pure: the poller
// searches, these functions judge what was found.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/ids.h"
#include "core/ledger.h"
#include "core/span.h"
#include "topology/expected_tree.h"
#include "topology/scenario.h"
#include "verifier/classify.h"

namespace tracerig {

// The services to search for a request's spans recorded where its tree expects none: the
// distinct services of the tree's sampled-out visits, in pre-order; the entry service when only
// the driver's flag was unsampled (LoadEntry::sampled false). Empty when nothing of the request
// was sampled out: then no extra search is needed.
std::vector<std::string> SampledOutSearchServices(const ExpectedTree& tree, const LoadEntry& load);

// Whether any request of the scenario may be split (part of it recorded under another trace id):
// a fault that restarts or loses the context, a real service, an entry or a call whose formats
// share no trace ids. Without one, the sampled-out visits are not searched (a clean run with
// ratio sampling would otherwise search most of its requests, and find nothing).
bool RequestsMaySplit(const Scenario& scenario);

// The service that serves the visit at `hop` of a request to `load` ("0": the entry service),
// following the scenario's calls as hops number them (expected_tree.h); "" when the hop does not
// resolve (an unknown route, or an index past the route's calls).
std::string ServiceAtHop(const Scenario& scenario, const LoadEntry& load, std::string_view hop);

// The topmost splits below sampled-out visits, in hop order: spans of `fragments` carrying the
// entry's request id, under a trace id that is neither the ledger's nor `started_trace`, whose
// (hop, kind, service) the tree has no span for. One break per topmost visit (a visit below
// another split one is a consequence): at the visit's hop (a CLIENT span's visit is the hop
// above its own), the callee the service that recorded it, the caller the service that called it
// there (ServiceAtHop of the hop above; the driver for hop "0").
std::vector<PropagationBreak> FindUnsampledSplits(const Scenario& scenario, const LoadEntry& load,
                                                  const ExpectedTree& tree,
                                                  const LedgerEntry& entry, TraceId started_trace,
                                                  const std::vector<Span>& fragments);

// Makes `verdict` broken by `splits` (from FindUnsampledSplits; nothing when empty): appends
// them to its breaks and says in its explanation that each callee recorded spans under another
// trace id although the request reached it unsampled.
void AddUnsampledSplits(const LedgerEntry& entry, std::vector<PropagationBreak> splits,
                        TraceVerdict& verdict);

}  // namespace tracerig
