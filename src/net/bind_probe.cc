// ProbeBind (bind_probe.h).
#include "net/bind_probe.h"

namespace tracerig {

beast::error_code ProbeBind(const tcp::endpoint& endpoint) {
  beast::error_code ec;
  if (endpoint.port() == 0) return ec;
  asio::io_context ioc;
  tcp::acceptor probe(ioc);
  probe.open(endpoint.protocol(), ec);
  if (!ec) probe.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) probe.bind(endpoint, ec);
  return ec;
}

}  // namespace tracerig
