// Verdicts from what the simulated services received on the wire (topology/wire_log.h), hop by
// hop, against what the scenario makes each caller send: tracestate and baggage passed on end to
// end, the edge where the sampled or debug flag changed, and header forms a strict reader rejects.
// Pure: the scenario, one request's expected tree and the wire log in, violations and sentences
// out.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/ledger.h"
#include "topology/expected_tree.h"
#include "topology/scenario.h"
#include "topology/wire_log.h"
#include "verifier/classify.h"

namespace tracerig {

// Violation kinds of this file.
inline constexpr std::string_view kTracestateViolation = "tracestate";
inline constexpr std::string_view kBaggageViolation = "baggage";
inline constexpr std::string_view kWireFormatViolation = "wire-format";

// What is wrong with a `received` tracestate when `expected` was sent across one participant, by
// W3C's rules: it may add its own member or update it (moving it to the front), the others keep
// their values and order; with 32 members received, members may be dropped from the right.
// tracerig's own member (key `tracerig`) is ignored on both sides. One phrase per problem, e.g.
// "member `congo=t61rcWkgMzE` dropped", "member `rojo=1` changed to `rojo=2` in place (a vendor
// that modifies its member moves it to the front)", "member `x=1` added behind others (new
// members go to the front)", "members reordered: `a=1,b=2,c=3` sent, `a=1,c=3,b=2` received",
// "members `x=1`, `y=2` put at the front (...)"; empty when the change is allowed.
std::vector<std::string> TracestateProblems(std::string_view expected, std::string_view received);

// The same for W3C baggage: every member sent (key, decoded value and properties) must arrive;
// order does not matter and members may be added. tracerig's own keys (tracerig.*) are ignored.
// "member `k=v` dropped", "member `k=v` changed to `k=w`".
std::vector<std::string> BaggageProblems(std::string_view expected, std::string_view received);

// Whether the headers `o` holds carry the debug flag: `b3: ...-d` (or `b3: d`), `X-B3-Flags: 1`,
// or an uber-trace-id whose flags have bit 0x2.
bool ReceivedDebugFlag(const WireObservation& o);

// The checks on one request (`entry`, sent to `load_entry`) whose expected tree is `tree`, walking
// the hops the scenario's routes make possible and looking each one up in `wire_log`. Adds to
// `verdict`:
//   - "tracestate" / "baggage" violations (only when `load_entry` starts with a tracestate /
//     baggage), at the first edge where the value went wrong: "payment received tracestate
//     `rojo=00f067aa0ba902b7` from checkout at hop 0.0.0: member `congo=t61rcWkgMzE` dropped
//     (sent by frontend at hop 0.0)". Violation::service is the caller, hop the edge's.
//   - "wire-format" violations: "payment received `uber-trace-id: 4bf9...%3A...` URL-encoded from
//     checkout at hop 0.0 (readers such as rustracing_jaeger and Kamon do not decode it:
//     jaeger-client-java#720)"; `x-b3-sampled: true` / `false` likewise (B3: send 1 or 0).
//   - explanations of missing spans and orphans at the edge where the sampled or debug flag
//     changed: "orders sent sampled=0 to inventory at hop 0.0.0 (received `traceparent:
//     00-...-00`)", "checkout sent sampled=1 to payment at hop 0.0 but recorded no span of its
//     own", "inventory received no debug flag from orders at hop 0.0.0 (received `b3: ...-1`):
//     ...".
void CheckWireContext(const Scenario& scenario, const LoadEntry& load_entry,
                      const ExpectedTree& tree, const LedgerEntry& entry, const WireLog& wire_log,
                      TraceVerdict& verdict);

// How SamplingVerdict::withheld_by_faults names the requests whose spans ClearedByTheWire
// withheld (beside fault kinds: "drop-span", "unsampled-child").
inline constexpr std::string_view kClearedSampledFlag = "sampled-flag-cleared";

// The SERVER spans of `tree` (indices) whose service followed a sampled=0 it received from a
// caller whose own span was sampled (the edge cleared the flag: unsampled-child, or a real
// service doing so): the spans of that visit, and of the visits below that follow it, are the
// edge's doing, not the service's sampling policy. Likewise a visit the driver's debug flag
// should have reached but did not (its caller's formats or a debug-ignored fault lost it). Empty
// when the wire log holds nothing of it.
std::vector<size_t> ClearedByTheWire(const Scenario& scenario, const ExpectedTree& tree,
                                     const LedgerEntry& entry, const WireLog& wire_log);

}  // namespace tracerig
