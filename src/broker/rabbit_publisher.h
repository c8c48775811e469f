// The RabbitMQ broker's publisher (rabbit_publisher.cc): one connection and thread; `done` runs
// on that thread once the broker confirmed or refused the message.
#pragma once

#include <functional>
#include <memory>

#include "broker/amqp_connection.h"
#include "broker/broker.h"
#include "broker/rabbit_shared.h"
#include "core/result.h"

namespace tracerig {

class RabbitPublisher {
 public:
  virtual ~RabbitPublisher() = default;
  // From any thread; never blocks on the network.
  virtual void Enqueue(OutgoingMessage message, std::function<void(Status)> done) = 0;
  // Sends what is queued, waits up to 5 s for its confirms, fails the rest. Idempotent.
  virtual void Close() = 0;
};

// Turns on publisher confirms on `connection` and starts the thread.
Result<std::unique_ptr<RabbitPublisher>> StartRabbitPublisher(
    std::unique_ptr<AmqpConnection> connection, std::shared_ptr<RabbitStats> stats);

}  // namespace tracerig
