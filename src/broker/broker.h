// A message broker as the simulated services use it: declare a topology of topic exchanges and
// queues, publish messages with a headers table, consume queues with a prefetch bound and
// acknowledge deliveries. Two implementations behind one interface, so the same scenario runs on
// either: tracerig's embedded in-process broker (embedded_broker.h, the default: nothing to
// install, deterministic) and RabbitMQ over AMQP 0-9-1 (rabbit_broker.h, rabbitmq-c).
//
// Semantics both implement:
// - exchanges are topic exchanges: a queue bound with key "order.*" receives routing key
//   "order.created" ('.'-separated words, '*' one word, '#' zero or more); the default exchange
//   "" routes to the queue named by the routing key;
// - a message routed to no queue is dropped (counted), as RabbitMQ drops unroutable messages;
// - a queue delivers to its consumers in publish order, at most `prefetch` unacknowledged
//   deliveries per consumer; Ack removes a delivery for good; a consumer that stops (or a broker
//   that closes) without acking puts its deliveries back at the head of the queue.
// Redelivery and dead-lettering are the consumer's business (topology/): it acks a failed
// message and republishes it, so both brokers behave alike.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace tracerig {

// One entry of an AMQP headers table, as text (tracerig writes and reads only string values; a
// real broker's other field types are rendered as text when received). Order is kept and names
// may repeat (a table with two "traceparent" entries is what retry-duplicates-headers sends).
struct MessageHeader {
  std::string name;
  std::string value;
  bool operator==(const MessageHeader&) const = default;
};

struct OutgoingMessage {
  std::string exchange;     // "" = the default exchange (routing_key names the queue)
  std::string routing_key;
  std::string message_id;   // basic.properties message-id
  std::vector<MessageHeader> headers;  // basic.properties headers
  std::string body;
};

struct Delivery {
  std::string queue;         // the queue it was consumed from
  std::string exchange;      // as published
  std::string routing_key;   // as published
  std::string message_id;
  uint64_t delivery_tag = 0;  // per subscription, from 1
  bool redelivered = false;   // the broker delivered it before (a consumer stopped without ack)
  std::vector<MessageHeader> headers;
  std::string body;
};

struct QueueDeclaration {
  std::string name;
};
struct BindingDeclaration {
  std::string exchange;
  std::string binding_key;  // topic pattern
  std::string queue;
};
// What a scenario needs to exist on the broker (topology/ derives it from the consumers).
struct BrokerTopology {
  std::vector<std::string> exchanges;  // topic exchanges, distinct, never ""
  std::vector<QueueDeclaration> queues;
  std::vector<BindingDeclaration> bindings;
};

// A running consumer of one queue.
class Subscription {
 public:
  virtual ~Subscription() = default;
  // Acknowledges a delivery of this subscription (any thread). Unknown tags are ignored.
  virtual void Ack(uint64_t delivery_tag) = 0;
  // Stops delivering (deliveries not yet acked go back to the queue). Idempotent; no callback
  // runs after it returns.
  virtual void Stop() = 0;
};

struct BrokerStats {
  uint64_t published = 0;    // messages the broker accepted
  uint64_t unroutable = 0;   // accepted but routed to no queue (dropped)
  uint64_t delivered = 0;    // deliveries handed to consumers (redeliveries included)
  uint64_t acked = 0;
  uint64_t publish_failures = 0;
};

class Broker {
 public:
  virtual ~Broker() = default;
  // For messages and reports: "embedded broker", "RabbitMQ at amqp://127.0.0.1:5672/".
  virtual std::string Describe() const = 0;
  // Creates the exchanges, queues and bindings (idempotent), emptying the queues it declares so a
  // run starts from nothing. Blocking; called once before any publish or consume.
  virtual Status Declare(const BrokerTopology& topology) = 0;
  // Publishes from any thread without blocking it for long; `done` runs once, on a broker thread
  // or inline, when the broker has accepted the message (OK) or failed to (an error saying why).
  virtual void Publish(OutgoingMessage message, std::function<void(Status)> done) = 0;
  // Starts consuming `queue`; `deliver` runs on a broker thread for each delivery (the runtime
  // posts it to its own loop). Error: no such queue, or the broker is unreachable.
  virtual Result<std::unique_ptr<Subscription>> Consume(std::string queue, uint32_t prefetch,
                                                        std::function<void(Delivery)> deliver) = 0;
  // Stops every subscription and connection. Idempotent; the destructor calls it.
  virtual void Close() = 0;
  virtual BrokerStats stats() const = 0;
};

}  // namespace tracerig
