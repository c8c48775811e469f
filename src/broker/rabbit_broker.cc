#include "broker/rabbit_broker.h"

// SEAM: replaced by the RabbitMQ implementation.
namespace tracerig {

Result<std::unique_ptr<Broker>> MakeRabbitBroker(std::string_view url) {
  (void)url;
  return MakeError(ErrorCode::kUnavailable, "RabbitMQ support is not built yet");
}

}  // namespace tracerig
