#include "broker/broker_factory.h"

#include <string>

#include "broker/embedded_broker.h"
#include "broker/rabbit_broker.h"

namespace tracerig {

Result<std::unique_ptr<Broker>> MakeBroker(std::string_view url) {
  if (url.empty()) return std::unique_ptr<Broker>(MakeEmbeddedBroker());
  if (url.starts_with("amqp://")) return MakeRabbitBroker(url);
  return MakeError(ErrorCode::kInvalidArgument,
                   "broker URL \"" + std::string(url) +
                       "\" is not amqp://HOST:PORT (leave it out for the embedded broker)");
}

}  // namespace tracerig
