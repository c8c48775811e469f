// Which broker a scenario runs on: BrokerConfig::url (or --broker) empty = the embedded one.
#pragma once

#include <memory>
#include <string_view>

#include "broker/broker.h"
#include "core/result.h"

namespace tracerig {

// "" -> the embedded broker; "amqp://..." -> RabbitMQ (connected and checked here: an unreachable
// broker is an ErrorCode::kUnavailable error naming the URL); anything else -> kInvalidArgument.
Result<std::unique_ptr<Broker>> MakeBroker(std::string_view url);

}  // namespace tracerig
