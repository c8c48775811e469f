// HOST:PORT parsing for listen and connect addresses, and URL splitting for backend addresses.
// Plain values, no Asio: resolving a HostPort to an endpoint is in net/resolve.h.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.h"

namespace tracerig {

struct HostPort {
  std::string host;
  uint16_t port = 0;
  std::string ToString() const;  // "host:port", IPv6 hosts in brackets
};

// "127.0.0.1:4318", "[::1]:0", "localhost:9411". The port is required.
Result<HostPort> ParseHostPort(std::string_view text);

struct Url {
  std::string scheme;  // "http", "otlp-http", "jaeger", ...
  HostPort address;
  std::string path;    // "" or starting with '/'
};
// "scheme://host:port[/path]"; the port may be omitted when default_port != 0.
Result<Url> ParseUrl(std::string_view text, uint16_t default_port = 0);

}  // namespace tracerig
