// Completion-queue housekeeping shared by tracerig's async gRPC servers (net/grpc_sim.cc,
// backend/otlp_grpc_receiver.cc). Kept apart from net/grpc_sim.h so that header stays free of
// gRPC's own headers.
#pragma once

#include <grpcpp/grpcpp.h>

namespace tracerig {

// Shuts `cq` down and discards every event still in it. gRPC aborts the process when a completion
// queue is destroyed before Next() has returned false, so a server whose start failed must call
// this before dropping its queue.
inline void ShutdownAndDrain(grpc::CompletionQueue& cq) {
  cq.Shutdown();
  void* tag = nullptr;
  bool ok = false;
  while (cq.Next(&tag, &ok)) {
  }
}

}  // namespace tracerig
