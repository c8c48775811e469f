// RabbitMQ through rabbitmq-c (Debian's librabbitmq-dev): the Broker semantics of broker.h over
// AMQP 0-9-1.
#pragma once

#include <memory>
#include <string_view>

#include "broker/broker.h"
#include "core/result.h"

namespace tracerig {

// Connects to `url` ("amqp://[user:password@]host:port[/vhost]"; guest/guest and "/" when not
// given). Error (kUnavailable) when the broker cannot be reached or refuses the login.
Result<std::unique_ptr<Broker>> MakeRabbitBroker(std::string_view url);

}  // namespace tracerig
