// The HOST:PORT addresses tracerig's servers listen on, as given on the command line: a bad one is
// a usage error (kInvalidArgument), a port in use is said in those words (kUnavailable).
#pragma once

#include <string>
#include <string_view>

#include "core/result.h"
#include "net/beast.h"

namespace tracerig {

// The endpoint `text` names; errors read `--FLAG: PROBLEM` (the problem quotes the text).
Result<tcp::endpoint> ParseListenAddress(std::string_view flag, const std::string& text);

// Whether a server could listen on `endpoint` now (port 0 always can). A port taken reads
// `--FLAG HOST:PORT: port PORT is in use`; the port is not held after the check.
Status CheckCanListen(std::string_view flag, const tcp::endpoint& endpoint);

}  // namespace tracerig
