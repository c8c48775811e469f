// TLS for BlockingHttpClient (https exporters and query clients): which CA to trust and which
// client certificate to present, loaded once into a context that every connection shares. The
// OpenSSL types stay in tls_context.h so that users of the HTTP client compile without them.
#pragma once

#include <memory>
#include <string>

#include "core/result.h"

namespace tracerig {

// PEM files, as [backend] ca_file / client_cert / client_key or OTEL_EXPORTER_OTLP_CERTIFICATE /
// _CLIENT_CERTIFICATE / _CLIENT_KEY name them.
struct TlsConfig {
  std::string ca_file;           // trusted roots; empty = the system's default roots
  std::string client_cert_file;  // set together with client_key_file for mutual TLS
  std::string client_key_file;   // unencrypted PEM key
};

// An OpenSSL client context with the roots and the client certificate loaded: peer verification
// on, TLS 1.2 at least. Immutable once loaded, so threads share it (each connection verifies the
// host name it dialled: SNI and certificate name check, see tls_context.h).
class TlsClientContext;

// Loads `config`'s files. Errors name the setting and the file, never the file's contents:
// "ca_file /x/ca.pem: no such file", "client_key /k.pem does not match client_cert /c.pem".
Result<std::shared_ptr<const TlsClientContext>> LoadTlsClientContext(const TlsConfig& config);

}  // namespace tracerig
