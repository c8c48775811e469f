#include "broker/embedded_broker.h"

// SEAM: replaced by the embedded broker's implementation.
namespace tracerig {

std::unique_ptr<Broker> MakeEmbeddedBroker() { return nullptr; }

}  // namespace tracerig
