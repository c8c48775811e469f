// The expected call tree of one root request: every span a complete trace must contain, derived
// from the scenario (and, per request, from its seeded decisions). The verifier matches what a
// backend returns against it, hop by hop.
//
// Hops. "0" is the driver->entry edge. Under a SERVER span at hop H, each execution of each call
// takes the next child index in call order ("H.0", "H.1", ...): parallel groups are flattened in
// order, a call with repeat = 3 takes three consecutive indices, and an execution keeps its index
// whether or not its probability lets it happen, so hops never shift between requests. A retry of
// the attempt at hop H is hop "Hr1", then "Hr2", ... (children of a retry: "Hr1.0", ...). The
// CLIENT span of an attempt and the SERVER span it reaches carry the same hop.
//
// An external service's route may declare the calls the real service makes: each becomes a
// SERVER span of the callee directly under the external service's SERVER span
// (ExpectedSpan::parent_external), numbered as simulated calls are ("H.0", "H.1", ...), so hops
// stay stable; the real service is taken to be parent-based (it passes the sampled flag on).
//
// A publish (Call::IsPublish) at hop H is the publisher's PRODUCER span "send {destination}" at
// H, and, for the consumer the message reaches (ConsumersOf, topology/messaging.h), a CONSUMER
// span "process {destination}" at H whose parent is the PRODUCER span, with the consumer's calls
// below it as a route's (H.0, ...). A delivery whose processing fails (RouteErrors at its hop with
// the consumer's error_rate) is redelivered at RedeliveryHop(H, k), up to `redeliveries` times;
// after that the dead-letter queue's consumer, when there is one, processes it once at
// DeadLetterHop(H): each a CONSUMER span under the same PRODUCER span. A batch consumer's CONSUMER
// span is `linked`: it roots a trace of its own, so its calls are not in the tree. Consumers
// sample as a server does, on the flag the message's headers carry. The tree without random
// decisions marks redeliveries optional when the error rate is strictly between 0 and 1.
//
// Per-request trees apply the seeded decisions of decisions.h exactly as the simulated services
// do; sampling, external services, timeouts and the known limits are documented in
// docs/VERIFYING.md under "The expected tree".
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/span.h"
#include "topology/scenario.h"

namespace tracerig {

// The load driver is itself a traced client: its CLIENT span is the root of every trace.
inline constexpr std::string_view kDriverServiceName = "tracerig-driver";

struct ExpectedSpan {
  std::string hop;                         // see above
  std::string service;                     // the service that records the span
  SpanKind kind = SpanKind::kUnspecified;  // kClient/kServer, or kProducer/kConsumer (async)
  // The route name, for both the CLIENT and the SERVER span of an edge; an async edge's PRODUCER
  // span is "send {exchange}:{routing key}", its CONSUMER spans "process {exchange}:{routing key}".
  std::string name;
  // Index in ExpectedTree::spans of the parent span, or of the nearest exported ancestor when
  // parent_unexported; -1 for the root (the driver's CLIENT span).
  int parent = -1;
  std::string peer;  // CLIENT: the callee service; SERVER: the caller service
  // The span's real parent was sampled out and is never exported (see above).
  bool parent_unexported{false};
  // The span may be absent (part of a retry that may or may not be made: see "Timeouts" above);
  // when present it is checked like any other.
  bool optional{false};
  // A SERVER span of an attempt that may time out: it may end after its CLIENT span ends.
  bool may_outlive_parent{false};
  // Recorded by an external service: it carries no tracerig ground truth (hop, request id), so
  // it is identified by structure (a SERVER span of `service` whose parent is the span of
  // `parent`), and spans below it are the real service's own.
  bool external{false};
  // A SERVER span of a call an external service's route declares (its `calls`): its caller is
  // the real service, whose CLIENT span carries no ground truth and so is not in the tree.
  // `parent` is the external service's SERVER span (or, sampled out, the nearest exported
  // ancestor, with parent_unexported); the span's real parent is some span of the real service
  // under it. `peer` is the external service.
  bool parent_external{false};
  // The entry's SERVER span of a request the driver sent without trace context
  // (LoadEntry::SendsContext() false): the root of a trace of its own, under a trace id the
  // entry service chose (not the ledger's). `parent` is still the driver's CLIENT span, which
  // stays alone under the ledger's trace id.
  bool starts_trace{false};
  // Sampled by a debug flag the request carries (LoadEntry::sampled debug, passed on in B3 or
  // Jaeger): recorded whatever the service's sampler says.
  bool debug{false};
  // Async edges (Call::IsPublish). A CONSUMER span: the queue it was consumed from (a dead-lettered
  // message: the dead-letter queue). A PRODUCER span: empty.
  std::string queue{};
  // A CONSUMER span of a batch consumer: it roots a trace of its own and links to `parent` (the
  // PRODUCER span) instead of being its child; its calls belong to the batch's trace and are not
  // in this tree.
  bool linked{false};

  bool operator==(const ExpectedSpan&) const = default;
};

struct ExpectedTree {
  std::vector<ExpectedSpan> spans;  // pre-order: a parent always comes before its children
  // Simulated services visited whose visit was sampled out (so it has no spans here), once per
  // visit, in pre-order: with `spans`, every service the request reached.
  std::vector<std::string> unsampled_visits;
  // How long the consumers of the request's messages may still be working after its synchronous
  // part is done, at most: per delivery its consumer's latency worst case plus its calls' (and a
  // batch's wait), summed over the deliveries. A CONSUMER span is exported only when processing
  // ends, so the verifier waits this much longer before judging an incomplete trace. 0 without
  // messaging.
  uint64_t async_settle_ns = 0;
};

// How many of the tree's spans are neither optional nor `linked` (a batch span is in another
// trace): a poll that returned at least this many spans
// may hold the whole trace (the tree's size counts every optional retry too).
size_t RequiredSpanCount(const ExpectedTree& tree);

// The tree for a request to `entry` when nothing random happens: every call execution with a
// probability above 0 is made, no route errors (so only attempts that may time out are retried,
// optionally), sampling as the policies decide below the root the entry describes (a `ratio`
// policy, or a parent-based one deciding as a root, counts as sampled when its ratio is above 0).
//
// The root follows the entry: its `sampled` flag is the entry service's parent flag, and the
// driver's CLIENT span is in the tree only when that flag is sampled or debug (when not, spans
// below that are sampled anyway have parent -1 and parent_unexported). Debug: every span below is
// expected whatever the policies say, marked `debug` (a hop that loses the flag shows as missing
// spans). No context sent (LoadEntry::SendsContext() false): the entry samples as a root and its
// SERVER span has starts_trace. Faults are not modelled. Equal
// to every per-request tree when !TreeVariesPerRequest(scenario), so verifiers may cache it.
// Expects a validated scenario (ParseScenario); on an invalid one it stays total: an unknown
// callee gets its two spans and no children, and expansion stops at a depth no acyclic scenario
// can reach.
ExpectedTree BuildExpectedTree(const Scenario& scenario, const LoadEntry& entry);

// The tree for request number `sequence` (the driver's tracerig-seq) to `entry`, with the seeded
// decisions applied.
ExpectedTree BuildExpectedTree(const Scenario& scenario, const LoadEntry& entry, uint64_t sequence);

// Whether per-request trees can differ from one another: a call probability strictly between 0
// and 1, a `ratio` policy strictly between 0 and 1, an entry sent without context to a
// parent-based service whose ratio is strictly between 0 and 1, or a route error rate above 0 in
// a scenario that retries calls, or a consumer error rate strictly between 0 and 1 with
// redeliveries or a dead-letter queue (or, in a consumer's calls, what applies to a route's).
bool TreeVariesPerRequest(const Scenario& scenario);

// The longest a call to `route_name` of `service_name` takes, in nanoseconds, in practice: the
// route's own latency at most (fixed: its value; uniform: its maximum; normal, lognormal and
// exponential, which have no maximum: their 1 - 1e-9 quantile, exceeded once in a billion calls),
// plus its calls' worst cases (a sequential step adds, a parallel group takes its longest call;
// each execution and retry counted with its backoff, an attempt bounded by its own timeout).
// UINT64_MAX for an external or unknown callee (nothing bounds a real service) or a cycle.
uint64_t CalleeWorstCaseNs(const Scenario& scenario, std::string_view service_name,
                           std::string_view route_name);
// The margin for transport and scheduling between a callee's worst case and a timeout: 5 ms or a
// tenth of the timeout, whichever is larger.
uint64_t TimeoutSlackNs(uint64_t timeout_ns);
// Whether an attempt of `call` may time out: it has a timeout and the callee's worst case plus the
// slack reaches it.
bool CallMayTimeOut(const Scenario& scenario, const Call& call);

// The hop of call number `index` (from 0) under `hop`: hop + "." + index.
std::string ChildHop(std::string_view hop, size_t index);
// The hop of retry number `retry` (from 1) of the attempt at `hop`: hop + "r" + retry.
std::string RetryHop(std::string_view hop, uint32_t retry);
// Async edges. A publish at hop H: the PRODUCER span and the first delivery's CONSUMER span are
// at H; redelivery number `redelivery` (from 1) of the message is at H + "d" + redelivery; the
// delivery from the dead-letter queue is at H + "q". The calls a delivery's processing makes are
// its children as a route's are (H.0, Hd1.0, Hq.0, ...).
std::string RedeliveryHop(std::string_view hop, uint32_t redelivery);
std::string DeadLetterHop(std::string_view hop);

}  // namespace tracerig
