// Naming async edges (a publish and its deliveries, topology/expected_tree.h) in verdicts the way
// HTTP edges are named: "orders publishes to orders:created", "redelivery 2 of orders:created to
// fulfilment", "orders:created dead-lettered to orders-dlq". Pure.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/ids.h"
#include "topology/expected_tree.h"
#include "topology/scenario.h"
#include "verifier/classify.h"

namespace tracerig {

// Which delivery of a message a CONSUMER span's hop is (RedeliveryHop, DeadLetterHop).
struct DeliveryOfHop {
  enum class Kind { kFirst, kRedelivery, kDeadLetter };
  Kind kind = Kind::kFirst;
  uint32_t redelivery = 0;  // kRedelivery: its number, from 1
};
DeliveryOfHop ParseDeliveryHop(std::string_view hop);

// "orders:created" from "send orders:created" / "process orders:created" (the name itself when it
// has neither prefix).
std::string_view DestinationOfSpanName(std::string_view name);

// Whether the expected span is one end of an async edge.
bool IsAsync(const ExpectedSpan& e);

// The async edge the expected span `index` of `tree` belongs to (a PRODUCER or CONSUMER span):
//   first delivery:  "orders publishes to orders:created"
//   redelivery k:    "redelivery 2 of orders:created to fulfilment"
//   dead-lettered:   "orders:created dead-lettered to orders-dlq"
// A PRODUCER span names its publish ("orders publishes to orders:created").
std::string DescribeAsyncEdge(const ExpectedTree& tree, size_t index);

// A break at the CONSUMER span `index` (found under `found_under`, the request's trace being
// `sent`), as ClassifyTrace writes it after "trace id changed ":
// "at an async edge: orders publishes to orders:created; fulfilment starts a new trace (hop 0.1:
// its CONSUMER span is under trace X)", or, for a trace id changed but not new, "...; fulfilment's
// CONSUMER span is under trace X, the trace id truncated to its low 64 bits (hop 0.1)".
std::string DescribeAsyncBreak(const ExpectedTree& tree, size_t index, TraceId found_under,
                               TraceId sent);

// The consumer faults of the scenario that may break the async edge `b` (b.destination set):
// " (consumer-new-trace fault on fulfilment)", " (dlq-drops-headers fault on fulfilment)" for a
// dead-lettered delivery, " (retry-duplicates-headers fault on fulfilment)" for a redelivery; ""
// when none may. What DescribeEdgeFormats appends to what the consumer extracts.
std::string DescribeConsumerFaults(const Scenario& scenario, const PropagationBreak& b);

}  // namespace tracerig
