// ClassifyTransportError, one row per error code and phase: the kinds a run's transport errors are
// reported by.
#include "net/error_reason.h"

#include <gtest/gtest.h>

#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>
#include <set>
#include <string>

namespace tracerig {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
using boost::system::error_code;

struct Row {
  const char* what;
  error_code ec;
  TransportPhase phase;
  std::string_view kind;
};

error_code SslError() { return error_code(336130315, asio::error::get_ssl_category()); }

TEST(ErrorReasonTest, ClassifiesByCodeAndPhase) {
  using P = TransportPhase;
  const Row rows[] = {
      {"refused", asio::error::connection_refused, P::kConnect, "connection refused"},
      {"reset while reading", asio::error::connection_reset, P::kRead, "connection reset"},
      {"reset while writing", asio::error::connection_reset, P::kWrite, "connection reset"},
      {"broken pipe", asio::error::broken_pipe, P::kWrite, "connection reset"},
      {"aborted", asio::error::connection_aborted, P::kRead, "connection reset"},
      {"eof", asio::error::eof, P::kRead, "connection reset"},
      {"closed before a response", beast::http::error::end_of_stream, P::kRead,
       "connection reset"},
      {"closed mid-response", beast::http::error::partial_message, P::kRead, "connection reset"},
      {"TLS closed without close_notify", asio::ssl::error::stream_truncated, P::kRead,
       "connection reset"},
      {"our deadline, connecting", beast::error::timeout, P::kConnect, "timeout"},
      {"our deadline, reading", beast::error::timeout, P::kRead, "timeout"},
      {"our deadline, in the handshake", beast::error::timeout, P::kTlsHandshake, "timeout"},
      {"the kernel's timeout", asio::error::timed_out, P::kConnect, "timeout"},
      {"certificate rejected", SslError(), P::kTlsHandshake, "tls handshake"},
      {"reset in the handshake", asio::error::connection_reset, P::kTlsHandshake,
       "tls handshake"},
      {"eof in the handshake", asio::error::eof, P::kTlsHandshake, "tls handshake"},
      {"host not found", asio::error::host_not_found, P::kConnect, "name resolution"},
      {"host not found, try again", asio::error::host_not_found_try_again, P::kConnect,
       "name resolution"},
      {"no address", asio::error::no_data, P::kConnect, "name resolution"},
      {"not HTTP", beast::http::error::bad_version, P::kRead, "protocol error"},
      {"bad status line", beast::http::error::bad_status, P::kRead, "protocol error"},
      {"body too large", beast::http::error::body_limit, P::kRead, "protocol error"},
      {"TLS record error after the handshake", SslError(), P::kRead, "protocol error"},
      {"unreachable network", asio::error::network_unreachable, P::kConnect, "other"},
      {"cancelled", asio::error::operation_aborted, P::kRead, "other"},
  };
  for (const Row& row : rows) {
    EXPECT_EQ(TransportErrorKindName(ClassifyTransportError(row.ec, row.phase)), row.kind)
        << row.what << " (" << row.ec.message() << ", " << TransportPhaseName(row.phase) << ")";
  }
}

TEST(ErrorReasonTest, EveryKindHasItsOwnName) {
  std::set<std::string_view> names;
  for (size_t k = 0; k < kTransportErrorKindCount; ++k) {
    names.insert(TransportErrorKindName(static_cast<TransportErrorKind>(k)));
  }
  EXPECT_EQ(names, (std::set<std::string_view>{"connection refused", "connection reset", "timeout",
                                               "tls handshake", "name resolution",
                                               "protocol error", "unanswered at drain", "other"}));
}

// gRPC hands over a failure to reach a server as UNAVAILABLE with the socket's reason in the
// message (texts as gRPC 1.51 writes them); the server's own answers are never transport errors.
TEST(ErrorReasonTest, GrpcFailuresThatNeverReachedAServer) {
  struct GrpcRow {
    const char* what;
    int status;
    std::string_view message;
    std::string_view kind;  // "" = not a transport error
  };
  const GrpcRow rows[] = {
      {"refused", 14,
       "failed to connect to all addresses; last error: UNKNOWN: ipv4:127.0.0.1:1: Failed to "
       "connect to remote host: Connection refused",
       "connection refused"},
      {"dns", 14, "DNS resolution failed for nowhere.invalid:443: C-ares status is not ARES_SUCCESS",
       "name resolution"},
      {"tls", 14,
       "failed to connect to all addresses; last error: UNKNOWN: ipv4:127.0.0.1:8443: Ssl "
       "handshake failed: SSL_ERROR_SSL: error:1000007d:SSL routines:OPENSSL_internal:"
       "CERTIFICATE_VERIFY_FAILED",
       "tls handshake"},
      {"reset", 14, "Socket closed", "connection reset"},
      {"connect, no reason", 14, "failed to connect to all addresses", "other"},
      {"the server's own UNAVAILABLE", 14, "", ""},
      {"the server's own message", 14, "inventory is draining", ""},
      {"another status", 4, "Deadline Exceeded", ""},
      {"OK", 0, "", ""},
  };
  for (const GrpcRow& row : rows) {
    const auto kind = ClassifyGrpcTransportFailure(row.status, row.message);
    EXPECT_EQ(kind ? TransportErrorKindName(*kind) : std::string_view(), row.kind) << row.what;
  }
}

TEST(ErrorReasonTest, PhaseNames) {
  EXPECT_EQ(TransportPhaseName(TransportPhase::kConnect), "connect");
  EXPECT_EQ(TransportPhaseName(TransportPhase::kTlsHandshake), "tls handshake");
  EXPECT_EQ(TransportPhaseName(TransportPhase::kWrite), "write");
  EXPECT_EQ(TransportPhaseName(TransportPhase::kRead), "read");
}

}  // namespace
}  // namespace tracerig
