// ClassifyTransportError: Asio, Beast and OpenSSL error codes to the kinds a report shows.
#include "net/error_reason.h"

#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>

namespace tracerig {

namespace asio = boost::asio;
namespace beast = boost::beast;

std::string_view TransportPhaseName(TransportPhase phase) {
  switch (phase) {
    case TransportPhase::kConnect:
      return "connect";
    case TransportPhase::kTlsHandshake:
      return "tls handshake";
    case TransportPhase::kWrite:
      return "write";
    case TransportPhase::kRead:
      return "read";
  }
  return "transport";
}

std::string_view TransportErrorKindName(TransportErrorKind kind) {
  switch (kind) {
    case TransportErrorKind::kConnectionRefused:
      return "connection refused";
    case TransportErrorKind::kConnectionReset:
      return "connection reset";
    case TransportErrorKind::kTimeout:
      return "timeout";
    case TransportErrorKind::kTlsHandshake:
      return "tls handshake";
    case TransportErrorKind::kNameResolution:
      return "name resolution";
    case TransportErrorKind::kProtocolError:
      return "protocol error";
    case TransportErrorKind::kUnansweredAtDrain:
      return "unanswered at drain";
    case TransportErrorKind::kOther:
      return "other";
  }
  return "other";
}

TransportErrorKind ClassifyTransportError(const boost::system::error_code& ec,
                                          TransportPhase phase) {
  if (ec == beast::error::timeout || ec == asio::error::timed_out) {
    return TransportErrorKind::kTimeout;
  }
  if (phase == TransportPhase::kTlsHandshake) return TransportErrorKind::kTlsHandshake;
  if (ec == asio::error::connection_refused) return TransportErrorKind::kConnectionRefused;
  if (ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
      ec == asio::error::connection_aborted || ec == asio::error::eof ||
      ec == asio::ssl::error::stream_truncated || ec == beast::http::error::end_of_stream ||
      ec == beast::http::error::partial_message) {
    return TransportErrorKind::kConnectionReset;
  }
  if (ec == asio::error::host_not_found || ec == asio::error::host_not_found_try_again ||
      ec == asio::error::no_data || ec == asio::error::no_recovery ||
      ec == asio::error::service_not_found) {
    return TransportErrorKind::kNameResolution;
  }
  if (ec.category() == beast::http::make_error_code(beast::http::error::bad_version).category() ||
      ec.category() == asio::error::get_ssl_category()) {
    return TransportErrorKind::kProtocolError;
  }
  return TransportErrorKind::kOther;
}

std::optional<TransportErrorKind> ClassifyGrpcTransportFailure(int grpc_status,
                                                               std::string_view message) {
  constexpr int kUnavailable = 14;
  if (grpc_status != kUnavailable || message.empty()) return std::nullopt;
  auto has = [message](std::string_view needle) {
    return message.find(needle) != std::string_view::npos;
  };
  // Table order matters: the socket's own reason first, then what gRPC says around it.
  if (has("Connection refused")) return TransportErrorKind::kConnectionRefused;
  if (has("DNS resolution failed") || has("Name or service not known") ||
      has("Domain name not found")) {
    return TransportErrorKind::kNameResolution;
  }
  if (has("andshake") || has("SSL") || has("certificate")) return TransportErrorKind::kTlsHandshake;
  if (has("Connection reset") || has("Socket closed") || has("Broken pipe") ||
      has("connection reset")) {
    return TransportErrorKind::kConnectionReset;
  }
  if (has("Timeout occurred") || has("timed out")) return TransportErrorKind::kTimeout;
  if (has("failed to connect")) return TransportErrorKind::kOther;
  return std::nullopt;
}

}  // namespace tracerig
