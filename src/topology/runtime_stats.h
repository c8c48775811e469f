// What the simulated-services runtime reports, as plain values: its counters and the services it
// started. No Asio, Beast or gRPC here, so a report can hold them without parsing the runtime.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>

#include "topology/scenario.h"

namespace tracerig {

inline constexpr size_t kFaultKindCount = 22;  // FaultKind's values, for per-kind counters

struct TopologyStats {
  uint64_t requests = 0;       // requests handled by simulated routes
  uint64_t unknown_route = 0;  // answered 404
  uint64_t spans_recorded = 0;
  uint64_t spans_unsampled = 0;  // recorded but not exported (not sampled)
  uint64_t call_failures = 0;    // downstream calls that failed (transport, timeout, 5xx or a
                                 // retryable gRPC status, see AnswerFailsCall) after their last
                                 // retry
  uint64_t route_errors = 0;     // requests a route answered with its error_status (error_rate)
  uint64_t calls_skipped = 0;    // call executions their probability left out
  uint64_t retries = 0;          // retry attempts made
  uint64_t timeouts = 0;         // call attempts that timed out
  uint64_t spans_dropped = 0;    // SERVER spans not exported because of drop-span
  uint64_t spans_delayed = 0;    // spans submitted late by delay-export (all reach the sink: those
                                 // still waiting when the runtime stops are submitted by Stop())
  // Messaging (through the broker; topology/messaging.h).
  uint64_t messages_published = 0;      // publishes the broker accepted (PRODUCER spans OK)
  uint64_t publish_failures = 0;        // publishes the broker refused (PRODUCER spans ERROR),
                                        // redelivery and dead-letter republishes included
  uint64_t messages_consumed = 0;       // deliveries processed (each message of a batch counts)
  uint64_t messages_redelivered = 0;    // failed deliveries republished for another try
  uint64_t messages_dead_lettered = 0;  // failed after their last redelivery (to the dead-letter
                                        // queue, or dropped when the consumer names none)
  uint64_t batches = 0;                 // batch CONSUMER spans (one per batch processed)
  uint64_t messages_unroutable = 0;     // the broker's count: accepted, routed to no queue
  // Set by `tracerig run`, not the runtime: how long after the load the consumers took to finish
  // with every queued message (0 when nothing was left), and how many were still left when it
  // stopped waiting (its deadline or Ctrl-C).
  uint64_t queue_drain_ns = 0;
  uint64_t messages_left_queued = 0;
  bool UsedMessaging() const {
    return messages_published + publish_failures + messages_consumed + messages_unroutable > 0;
  }
  // Faults that took effect, indexed by FaultKind: service faults count requests, edge faults
  // (IsEdgeFault) count call attempts (and publishes) whose injection they changed, consumer
  // faults (IsConsumerFault) the deliveries, republished copies, batches or links they changed.
  std::array<uint64_t, kFaultKindCount> faults_applied{};

  uint64_t FaultsApplied(FaultKind kind) const { return faults_applied[static_cast<size_t>(kind)]; }
};

// The address a simulated service is bound to, as text and port (TopologyRuntime::EndpointOf
// gives it as a tcp::endpoint).
class ServiceEndpoint {
 public:
  ServiceEndpoint() = default;
  ServiceEndpoint(std::string address, uint16_t port) : address_(std::move(address)), port_(port) {}

  const std::string& address() const { return address_; }  // "127.0.0.1", "::1"
  uint16_t port() const { return port_; }

 private:
  std::string address_;
  uint16_t port_ = 0;
};

struct RunningService {
  std::string name;
  ServiceEndpoint endpoint;
  std::string url;  // "http://127.0.0.1:40123"; gRPC services: "grpc://127.0.0.1:40123"
};

}  // namespace tracerig
