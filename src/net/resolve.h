// Resolving a HOST:PORT address to an Asio TCP endpoint, for code that opens sockets.
#pragma once

#include "core/result.h"
#include "net/address.h"
#include "net/beast.h"

namespace tracerig {

// Resolves numerically or via the system resolver (first result).
Result<tcp::endpoint> ResolveEndpoint(const HostPort& address);

}  // namespace tracerig
