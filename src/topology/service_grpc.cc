// A simulated service's gRPC transport: a GrpcInbound in, a gRPC status out; an attempt as a call
// on the callee's GrpcSimClient, the call's timeout becoming its deadline.
#include "topology/runtime_internal.h"

#include <fmt/format.h>

#include "propagation/metadata_carrier.h"
#include "topology/ground_truth.h"

namespace tracerig {

using SimulatedService = TopologyRuntime::SimulatedService;

void SimulatedService::HandleGrpc(GrpcInbound inbound, GrpcRespond respond) {
  auto it = grpc_routes_.find(inbound.route);
  if (it == grpc_routes_.end()) {
    unknown_route_++;
    respond(kGrpcUnimplemented,
            fmt::format("service \"{}\" has no route \"{}\"", service_.name, inbound.route), 0);
    return;
  }
  // OnRequest reads the metadata before it returns.
  const MetadataPairs& metadata = inbound.metadata;
  MetadataReader reader(metadata);
  Inbound in{it->second, {}, {}, &reader,
                    FirstMetadataValue(metadata, kRequestIdHeader),
                    FirstMetadataValue(metadata, kSequenceHeader),
                    FirstMetadataValue(metadata, kHopHeader),
                    FirstMetadataValue(metadata, kOffsetHeader),
                    [respond = std::move(respond)](unsigned status, uint64_t bytes) {
                      const int code = static_cast<int>(status);
                      respond(code, code == kGrpcOk ? std::string() : GrpcStatusName(code),
                              code == kGrpcOk ? static_cast<size_t>(bytes) : 0);
                    },
                    GroundTruthSource::kHeaders, {}};
  RecoveredGroundTruth recovered;
  RecoverGroundTruth(in, recovered);
  OnRequest(std::move(in));
}

void SimulatedService::SendGrpc(const std::shared_ptr<Attempt>& attempt,
                                const PreparedCall& prepared) {
  const Call& call = attempt->run->call;
  if (prepared.client == nullptr) {
    OnAttemptDone(attempt, CallOutcome{0, "host_not_found"});
    return;
  }
  GrpcMetadata metadata;
  metadata.reserve(8);
  MetadataWriter writer(metadata);
  WriteOutboundHeaders(*attempt, writer);
  auto done = [this, attempt, deadline = call.timeout_ns > 0](int code, std::string) {
    // Without a deadline of ours, DEADLINE_EXCEEDED is the callee's answer.
    if (deadline && code == kGrpcDeadlineExceeded) timeouts_++;
    OnAttemptDone(attempt, CallOutcome{static_cast<unsigned>(code), {}});
  };
  if (!prepared.full_method.empty()) {
    // A real gRPC service's own method: an empty request message (request_bytes do not apply).
    prepared.client->CallMethod(prepared.full_method, std::move(metadata), call.timeout_ns,
                                std::move(done));
    return;
  }
  prepared.client->Call(call.route, std::move(metadata), call.request_bytes, call.timeout_ns,
                        std::move(done));
}

}  // namespace tracerig
