// The OpenSSL side of tls.h, for the net component's own sources (http_client.cc, tls.cc): the
// shared context and the per-connection steps every TLS client connection takes.
#pragma once

#include <boost/asio/ssl.hpp>
#include <string>

#include "core/result.h"
#include "net/beast.h"
#include "net/tls.h"

namespace tracerig {

class TlsClientContext {
 public:
  TlsClientContext() : ssl_(asio::ssl::context::tls_client) {}
  // asio's streams take the context by non-const reference; they only read it once loaded.
  asio::ssl::context& native() const { return ssl_; }

 private:
  mutable asio::ssl::context ssl_;
};

// Before the handshake: SNI (for a DNS name, as RFC 6066 forbids it for an IP literal) and the
// name the server's certificate must carry (DNS name or IP address, checked by OpenSSL during
// the handshake, so a mismatch fails it with "hostname mismatch").
Status PrepareTlsClientSession(SSL* ssl, const std::string& host);

// A TLS failure as a sentence: OpenSSL's reason, plus the certificate verification result when
// verification is what failed ("certificate verify failed: unable to get local issuer
// certificate"). `ssl` may be null.
std::string DescribeTlsError(const beast::error_code& ec, SSL* ssl);

}  // namespace tracerig
