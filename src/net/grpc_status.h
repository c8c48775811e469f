// gRPC status codes and the names of the simulated SimService, as plain values: code that only
// classifies or records a status needs neither gRPC's nor Asio's headers.
#pragma once

#include <string>
#include <string_view>

namespace tracerig {

// For span attributes (rpc.service, rpc.method) on both sides of a hop.
inline constexpr std::string_view kSimRpcService = "tracerig.sim.v1.SimService";
inline constexpr std::string_view kSimRpcMethod = "Call";

// gRPC status codes (grpc::StatusCode values), so callers need no gRPC header.
inline constexpr int kGrpcOk = 0;
inline constexpr int kGrpcCancelled = 1;
inline constexpr int kGrpcUnknown = 2;
inline constexpr int kGrpcInvalidArgument = 3;
inline constexpr int kGrpcDeadlineExceeded = 4;
inline constexpr int kGrpcNotFound = 5;
inline constexpr int kGrpcResourceExhausted = 8;
inline constexpr int kGrpcAborted = 10;
inline constexpr int kGrpcOutOfRange = 11;
inline constexpr int kGrpcUnimplemented = 12;
inline constexpr int kGrpcInternal = 13;
inline constexpr int kGrpcUnavailable = 14;
inline constexpr int kGrpcDataLoss = 15;
inline constexpr int kGrpcUnauthenticated = 16;

// "UNAVAILABLE", "DEADLINE_EXCEEDED", ...; "CODE_<n>" outside 0..16.
std::string GrpcStatusName(int code);

// The HTTP status a gRPC status code corresponds to, per the mapping in google/rpc/code.proto
// (OK 200, NOT_FOUND 404, UNAVAILABLE 503, DEADLINE_EXCEEDED 504, CANCELLED 499, ...); 500 for
// codes outside 0..16. For records that only hold an HTTP status (the driver's ledger).
int GrpcStatusToHttp(int code);

}  // namespace tracerig
