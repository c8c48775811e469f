// tracerig's in-process broker: the Broker semantics of broker.h with no network, for scenarios
// that name no [broker] url.
#pragma once

#include <memory>

#include "broker/broker.h"

namespace tracerig {

std::unique_ptr<Broker> MakeEmbeddedBroker();

}  // namespace tracerig
