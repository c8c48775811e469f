// gRPC writes its own log lines to stderr (a server that cannot bind prints "chttp2_server.cc ...
// errno:98" before tracerig can say "port 4317 is in use"); tracerig reports failures itself.
#pragma once

namespace tracerig {

// Stops gRPC from writing its log to stderr, unless GRPC_VERBOSITY asks for it.
void SilenceGrpcLog();

}  // namespace tracerig
