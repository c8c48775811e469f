// Seeded per-request decisions shared by the simulated services (topology_runtime.h) and the
// expected call tree (expected_tree.h), so both agree on every request: whether a call is made,
// whether a route answers with its error, whether a service samples, whether a fault applies.
// Each decision is a pure function of the scenario seed, the request number, the hop and the
// deciding service, and draws from its own stream, so adding a decision never shifts another.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "core/rng.h"
#include "topology/scenario.h"

namespace tracerig {

inline constexpr uint64_t kFnv1aOffset = 0xcbf29ce484222325ull;
// FNV-1a: stable across platforms and runs (std::hash is not), so the same seed gives the same
// decisions everywhere.
uint64_t Fnv1a(std::string_view s, uint64_t h = kFnv1aOffset);

// The independent random streams of one decision point. The values are arbitrary but fixed:
// changing one changes every seeded experiment.
enum class DecisionStream : uint64_t {
  kLatency = 0x6c6174656e6379,  // the route's own latency
  kCall = 0x63616c6c,           // CallHappens (decided by the caller at the call's hop)
  kError = 0x6572726f72,        // RouteErrors
  kSampling = 0x73616d706c65,   // SamplingDecision
  kAttributes = 0x61747472,     // generated attributes, in the order the route lists them
  kFault = 0x6661756c74,        // FaultApplies, salted with the fault's index
  kFaultValue = 0x76616c7565,   // values a fault invents (the orphan's parent id)
};

// Where a decision is made: one service at one hop of one request. Hashes the hop and service
// once, so each decision costs a mix and an Rng seeding, no allocation.
class DecisionPoint {
 public:
  DecisionPoint(uint64_t scenario_seed, uint64_t sequence, std::string_view hop,
                std::string_view service);
  // The stream for one decision; `salt` separates several decisions of one kind (fault index).
  Rng Stream(DecisionStream stream, uint64_t salt = 0) const;

 private:
  uint64_t base_;
};

// Whether a call execution happens. Decided by the calling service at the execution's own hop
// ("0.1"), never at a retry hop: retries repeat a call that happened.
bool CallHappens(const DecisionPoint& caller_at_call_hop, double probability);
// Whether the route answers its error status for this request, decided by the serving service at
// its hop (a retry hop decides afresh, like a real flaky server).
bool RouteErrors(const DecisionPoint& server, double error_rate);
// Whether the service's spans for this request are sampled. `parent_sampled` is the incoming
// context's flag, nullopt when there is no valid incoming context (or new-trace ignores it).
bool SamplingDecision(const DecisionPoint& server, const SamplingPolicy& policy,
                      std::optional<bool> parent_sampled);
// Whether `fault` (number `fault_index` in Scenario::faults) applies to this request at this
// service: the request's intended offset is inside the fault's window and the probability says
// so. Service and route matching are the caller's (they are plain comparisons).
bool FaultApplies(const DecisionPoint& server, const Fault& fault, size_t fault_index,
                  uint64_t offset_ns);
// Whether a request matches a fault's `when`: `incoming_sampled` is the sampled flag of the
// context the service extracted (nullopt: no valid context, which matches neither flag nor any
// format), `incoming_format` the extract format it was read from. An unset condition matches
// every request. Not random: it needs no decision point.
bool FaultConditionHolds(const FaultCondition& when, std::optional<bool> incoming_sampled,
                         std::string_view incoming_format);

// Whether an answer counts as a failed call attempt: it is retried (when the call has retries
// left) and, after the last retry, makes the caller fail too (HTTP 502, gRPC UNAVAILABLE). HTTP:
// a 5xx status. gRPC: the codes OpenTelemetry's retry policy treats as retryable (UNAVAILABLE,
// DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, ABORTED). `status` is in the callee's protocol.
// BuildExpectedTree must apply the same rule to a route's error_status.
bool AnswerFailsCall(Protocol callee_protocol, int status);

}  // namespace tracerig
