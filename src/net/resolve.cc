// ResolveEndpoint: numeric addresses directly, host names through the system resolver.
#include "net/resolve.h"

#include <string>

#include <fmt/format.h>

namespace tracerig {

Result<tcp::endpoint> ResolveEndpoint(const HostPort& address) {
  boost::system::error_code ec;
  auto ip = asio::ip::make_address(address.host, ec);
  if (!ec) return tcp::endpoint(ip, address.port);
  asio::io_context ioc;
  tcp::resolver resolver(ioc);
  auto results = resolver.resolve(address.host, std::to_string(address.port), ec);
  if (ec || results.empty()) {
    return MakeError(fmt::format("cannot resolve \"{}\": {}", address.host, ec.message()));
  }
  return results.begin()->endpoint();
}

}  // namespace tracerig
