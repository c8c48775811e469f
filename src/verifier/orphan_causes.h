// Orphaned fragments the configuration causes: which subtrees of a request were recorded below a
// span that was sampled out, and the cause named (the services and their sampling policies).
#pragma once

#include <string>
#include <vector>

#include "topology/expected_tree.h"
#include "topology/scenario.h"
#include "verifier/verify.h"

namespace tracerig {

// The causes behind the subtrees found in one request: an expected SERVER span whose real parent
// was sampled out (ExpectedSpan::parent_unexported) that was found (`found[i]`, per expected
// span, anywhere) tops one. One entry per distinct cause (traces = 1), in expected-tree order.
// The cause is the topmost ancestor not recorded: the callee of the nearest recorded CLIENT span
// above, or the driver when nothing above was recorded (it sent the request with sampled=0).
std::vector<OrphanCause> FindOrphanCauses(const Scenario& scenario, const LoadEntry& load_entry,
                                          const ExpectedTree& tree, const std::vector<char>& found);

// Adds `more` into `into`: the same cause (service, cause and parent) sums its traces and keeps
// the example with the lower sequence number. `into` ends ordered most traces first, then by
// check name.
void MergeOrphanCauses(std::vector<OrphanCause>& into, const std::vector<OrphanCause>& more);

// The check of a cause: "orphans:checkout->recommender" (cause -> service), or
// "orphans:checkout->cart->recommender" when the unrecorded parent is a third service's span.
std::string OrphanCheckName(const OrphanCause& cause);

// One line for reports: recommender samples "always" below checkout's "ratio(0.25)": 113 traces
// hold a subtree whose parent checkout CLIENT span was not recorded.
std::string DescribeOrphanCause(const OrphanCause& cause);

}  // namespace tracerig
