// gRPC status names and their HTTP equivalents.
#include "net/grpc_status.h"

#include <fmt/format.h>

#include <array>

namespace tracerig {

std::string GrpcStatusName(int code) {
  // clang-format off
  static constexpr std::array<std::string_view, 17> kNames = {
      "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
      "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
      "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS",
      "UNAUTHENTICATED"};
  // clang-format on
  if (code < 0 || code >= static_cast<int>(kNames.size())) return fmt::format("CODE_{}", code);
  return std::string(kNames[static_cast<size_t>(code)]);
}

int GrpcStatusToHttp(int code) {
  // clang-format off
  static constexpr std::array<int, 17> kHttp = {
      200, 499, 500, 400, 504, 404,
      409, 403, 429, 400,
      409, 400, 501, 500, 503, 500,
      401};
  // clang-format on
  if (code < 0 || code >= static_cast<int>(kHttp.size())) return 500;
  return kHttp[static_cast<size_t>(code)];
}

}  // namespace tracerig
