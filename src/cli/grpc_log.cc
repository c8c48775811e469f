// Keeping gRPC's own log lines off the terminal.
#include "cli/grpc_log.h"

#include <cstdlib>

#include <grpc/support/log.h>

namespace tracerig {

namespace {
void DiscardGrpcLog(gpr_log_func_args* /*args*/) {}
}  // namespace

void SilenceGrpcLog() {
  const char* verbosity = std::getenv("GRPC_VERBOSITY");
  if (verbosity != nullptr && *verbosity != '\0') return;
  gpr_set_log_function(DiscardGrpcLog);
}

}  // namespace tracerig
