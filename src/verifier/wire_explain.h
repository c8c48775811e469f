// Explanations from the wire: what a simulated service actually received at a hop, quoted from
// the WireLog (topology/wire_log.h) into the verifier's explanations of broken edges, missing
// spans and structural violations: "payment received `b3: 80f1...-1` and no traceparent".
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/ids.h"
#include "topology/scenario.h"
#include "topology/wire_log.h"
#include "verifier/classify.h"

namespace tracerig {

// "payment received <what>", pure: the trace-context headers `o` holds (DescribeHeaders, naming
// the headers of `formats`, the receiver's own, that were absent), then what the receiver made
// of them:
//   "... which it could not read"            a header of its formats arrived, no context came out;
//   "... with trace id X (expected Y)"        it read a context of another trace than `expected`;
//   "... with the sampled flag off"           it read an unsampled context.
// A message a consumer received (`from`, the publish's destination, not empty) reads "fulfilment
// received from orders:created: no traceparent".
std::string DescribeReceived(const WireObservation& o, const std::vector<std::string>& formats,
                             std::optional<TraceId> expected, std::string_view from = {});

// The same from the log: what `service` (a simulated service of `scenario`) received at `hop` of
// request `request_id`; "" when the log has no such observation (never recorded, forgotten, or
// not a simulated service).
std::string DescribeReceived(const WireLog& log, const Scenario& scenario, uint64_t request_id,
                             std::string_view hop, std::string_view service,
                             std::optional<TraceId> expected, std::string_view from = {});

// Appends what was received to a verdict's explanations, where it explains something:
//   - each topmost break: what its callee received at the break's hop;
//   - each missing SERVER or CONSUMER span (broken and incomplete traces; the first few): what that service
//     received at its hop (it arrived: the span was lost after);
//   - each orphan, wrong-parent and multiple-roots violation: what the offending span's service
//     received at its hop.
// Each is "; <service> received ...", said once per (hop, service) in the verdict's explanation.
// Leaves complete and missing traces' explanations alone.
void AddWireExplanations(const WireLog& log, const Scenario& scenario, const LedgerEntry& entry,
                         TraceVerdict& verdict);

}  // namespace tracerig
