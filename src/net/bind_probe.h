// Whether a server could listen on an address now, found by binding a probe socket the way
// tracerig's servers bind (SO_REUSEADDR: only a listener holds the port, not a closing socket).
// Lets a command say "port N is in use" before it starts anything.
#pragma once

#include "net/beast.h"

namespace tracerig {

// The error binding `endpoint` gives now (asio::error::address_in_use when a listener holds it);
// success for port 0. The probe is closed before it returns: the port is not held.
beast::error_code ProbeBind(const tcp::endpoint& endpoint);

}  // namespace tracerig
