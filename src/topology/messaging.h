// Where a scenario's messages go: which consumer a publish reaches, and what the broker must
// declare for the consumers. Shared by the validator, the simulated services and the expected tree,
// so all three route a publish the same way the broker (broker/topic.h) does.
//
// Seeded decisions of a delivery reuse decisions.h at the delivery's hop (H, RedeliveryHop(H, k),
// DeadLetterHop(H); expected_tree.h) for the consuming service: its processing latency from
// DecisionStream::kLatency, its failure as RouteErrors(point, consumer.error_rate), its sampling
// as SamplingDecision with the message context's flag. Consumer faults decide with FaultApplies at
// the delivery's hop (link-missing: at the message's hop H).
#pragma once

#include <string_view>
#include <vector>

#include "broker/broker.h"
#include "topology/scenario.h"

namespace tracerig {

// A consumer and the service it belongs to.
struct ConsumerRef {
  const Service* service = nullptr;
  const Consumer* consumer = nullptr;
};

// The consumers whose queue binding matches the publish `call` (exchange equal, binding key
// matching the routing key by topic rules), in service then consumer order. A validated scenario
// has at most one.
std::vector<ConsumerRef> ConsumersOf(const Scenario& scenario, const Call& call);

// The consumer reading `queue` (a validated scenario has at most one consumer per queue); empty
// ConsumerRef when none.
ConsumerRef ConsumerOfQueue(const Scenario& scenario, std::string_view queue);

// The exchanges every publish names and every binding uses, the consumers' queues and their
// dead-letter queues, and one binding per bound consumer.
BrokerTopology BrokerTopologyOf(const Scenario& scenario);

// Whether the scenario publishes or consumes at all (a scenario that does not needs no broker).
bool UsesBroker(const Scenario& scenario);

}  // namespace tracerig
