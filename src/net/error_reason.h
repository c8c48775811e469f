// Transport errors by kind, as wrk reports socket errors by kind: which of a few reasons a
// connect/handshake/write/read failure was, so a run can say "connection refused" rather than
// "transport error". Plain values; the Asio/Beast/OpenSSL categories are looked at in the .cc.
#pragma once

#include <boost/system/error_code.hpp>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace tracerig {

// Where in an exchange a transport error happened.
enum class TransportPhase : uint8_t { kConnect, kTlsHandshake, kWrite, kRead };
std::string_view TransportPhaseName(TransportPhase phase);  // "connect", "tls handshake", ...

enum class TransportErrorKind : uint8_t {
  kConnectionRefused,
  kConnectionReset,  // reset, broken pipe, or closed before a whole response
  kTimeout,
  kTlsHandshake,
  kNameResolution,
  kProtocolError,     // the peer's bytes were not HTTP (or not TLS records after the handshake)
  kUnansweredAtDrain, // never an error code: still in flight at the drain deadline
  kOther,
};
inline constexpr size_t kTransportErrorKindCount = 8;

// "connection refused", "connection reset", "timeout", "tls handshake", "name resolution",
// "protocol error", "unanswered at drain", "other" (DriverResult::transport_error_reasons).
std::string_view TransportErrorKindName(TransportErrorKind kind);

// A timeout is a timeout in any phase; any other failure during the TLS handshake is a handshake
// failure (a plain HTTP server answering a ClientHello, a certificate that does not verify).
TransportErrorKind ClassifyTransportError(const boost::system::error_code& ec,
                                          TransportPhase phase);

// A gRPC call's failure that never reached a server: gRPC reports it as UNAVAILABLE with the
// socket's reason in the message ("failed to connect to all addresses; ... Connection refused").
// nullopt for every other status, and for an UNAVAILABLE the server answered itself.
std::optional<TransportErrorKind> ClassifyGrpcTransportFailure(int grpc_status,
                                                               std::string_view message);

}  // namespace tracerig
