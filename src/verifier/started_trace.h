// Edge-started traces: a request the driver sent without trace context (LoadEntry::SendsContext()
// false), whose entry SERVER span (ExpectedSpan::starts_trace) roots a trace of its own under an
// id the entry service chose, while the driver's CLIENT span stays alone under the ledger's.
#pragma once

#include <cstddef>
#include <vector>

#include "topology/expected_tree.h"

namespace tracerig {

// Per expected span, whether it is a starts_trace span or below one (so it lives under the id
// the entry chose, not the ledger's).
std::vector<bool> InStartedTrace(const ExpectedTree& tree);

// Whether the tree has a starts_trace span.
bool StartsOwnTrace(const ExpectedTree& tree);

// How many of the tree's spans that are not optional belong under the ledger's trace id: the
// ones outside every starts_trace subtree (RequiredSpanCount without the entry's own trace).
size_t RequiredUnderLedgerTrace(const ExpectedTree& tree);

}  // namespace tracerig
