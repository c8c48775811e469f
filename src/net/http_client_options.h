// Connection settings for the HTTP clients (net/http_client.h), as plain data so that options
// structs holding them (driver, services, exporters) need not include Asio or Beast.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "net/tls.h"

namespace tracerig {

struct HttpClientOptions {
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds request_timeout{30000};  // write request + read whole response
  size_t max_idle_connections = 64;
  uint64_t body_limit = 64ull << 20;
  // Set: the client speaks HTTPS, verifying the server against this context's roots
  // (LoadTlsClientContext) and a host name: BlockingHttpClient's host, HttpClientPool's
  // `tls_host` (or, when that is empty, the target's address).
  std::shared_ptr<const TlsClientContext> tls;
  // HttpClientPool with `tls`: the name sent as SNI and checked against the certificate.
  std::string tls_host;
};

}  // namespace tracerig
