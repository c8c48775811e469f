// Parsing and checking listen addresses.
#include "cli/listen.h"

#include <fmt/format.h>

#include "net/address.h"
#include "net/bind_probe.h"
#include "net/resolve.h"

namespace tracerig {

Result<tcp::endpoint> ParseListenAddress(std::string_view flag, const std::string& text) {
  auto address = ParseHostPort(text);
  if (!address) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("--{}: {}", flag, address.error().message));
  }
  auto endpoint = ResolveEndpoint(*address);
  if (!endpoint) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("--{}: {}", flag, endpoint.error().message));
  }
  return *endpoint;
}

Status CheckCanListen(std::string_view flag, const tcp::endpoint& endpoint) {
  const beast::error_code ec = ProbeBind(endpoint);
  if (ec == asio::error::address_in_use) {
    return MakeError(ErrorCode::kUnavailable,
                     fmt::format("--{} {}:{}: port {} is in use", flag,
                                 endpoint.address().to_string(), endpoint.port(), endpoint.port()));
  }
  if (ec) {
    return MakeError(ErrorCode::kUnavailable,
                     fmt::format("--{} {}:{}: cannot listen there: {}", flag,
                                 endpoint.address().to_string(), endpoint.port(), ec.message()));
  }
  return Ok{};
}

}  // namespace tracerig
