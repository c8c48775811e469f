// Parsing and checking listen addresses, and silencing gRPC's logger.
#include "cli/listen.h"

#include <cstdlib>

#include <fmt/format.h>
#include <grpc/support/log.h>

#include "net/address.h"
#include "net/resolve.h"

namespace tracerig {

Result<tcp::endpoint> ParseListenAddress(std::string_view flag, const std::string& text) {
  auto address = ParseHostPort(text);
  if (!address) return MakeError(fmt::format("--{}: {}", flag, address.error().message));
  auto endpoint = ResolveEndpoint(*address);
  if (!endpoint) return MakeError(fmt::format("--{}: {}", flag, endpoint.error().message));
  return *endpoint;
}

Status CheckCanListen(std::string_view flag, const tcp::endpoint& endpoint) {
  if (endpoint.port() == 0) return Ok{};
  asio::io_context ioc;
  tcp::acceptor probe(ioc);
  beast::error_code ec;
  probe.open(endpoint.protocol(), ec);
  // As our servers bind: SO_REUSEADDR, so only a listener (not a closing socket) holds the port.
  if (!ec) probe.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) probe.bind(endpoint, ec);
  if (ec == asio::error::address_in_use) {
    return MakeError(fmt::format("--{} {}:{}: port {} is in use", flag,
                                 endpoint.address().to_string(), endpoint.port(), endpoint.port()));
  }
  if (ec) {
    return MakeError(fmt::format("--{} {}:{}: cannot listen there: {}", flag,
                                 endpoint.address().to_string(), endpoint.port(), ec.message()));
  }
  return Ok{};
}

namespace {
void DiscardGrpcLog(gpr_log_func_args* /*args*/) {}
}  // namespace

void SilenceGrpcLog() {
  const char* verbosity = std::getenv("GRPC_VERBOSITY");
  if (verbosity != nullptr && *verbosity != '\0') return;
  gpr_set_log_function(DiscardGrpcLog);
}

}  // namespace tracerig
