// The HOST:PORT addresses tracerig's servers listen on, as given on the command line: a bad one is
// a usage error, a port in use is said in those words, and gRPC's own log lines (its server
// prints "chttp2_server.cc ... errno:98" before we can) are kept off the terminal.
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

// Stops gRPC from writing its log to stderr (failures reach the user through tracerig's own
// messages), unless GRPC_VERBOSITY asks for it.
void SilenceGrpcLog();

}  // namespace tracerig
