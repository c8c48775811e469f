// rabbitmq-c connection handling shared by the RabbitMQ broker's publisher, subscriptions and
// declarations.
#include "broker/amqp_connection.h"

#include <amqp_tcp_socket.h>
#include <poll.h>
#include <sys/time.h>

#include <string>

namespace tracerig {
namespace {

std::string_view View(const amqp_bytes_t& b) { return {static_cast<const char*>(b.bytes), b.len}; }

// 404 -> kNotFound, 406/403 on declarations -> kInvalidArgument; the rest kUnavailable.
ErrorCode CodeForReply(uint16_t reply_code) {
  switch (reply_code) {
    case 404:
      return ErrorCode::kNotFound;
    case 406:  // PRECONDITION_FAILED: a queue or exchange exists with other properties
      return ErrorCode::kInvalidArgument;
    default:
      return ErrorCode::kUnavailable;
  }
}

}  // namespace

Result<std::unique_ptr<AmqpConnection>> AmqpConnection::Open(const AmqpUrl& url) {
  amqp_connection_state_t state = amqp_new_connection();
  if (state == nullptr) {
    return MakeError(ErrorCode::kInternal, "rabbitmq-c could not allocate a connection");
  }
  std::unique_ptr<AmqpConnection> c(new AmqpConnection(state, DescribeAmqpUrl(url)));
  amqp_socket_t* socket = amqp_tcp_socket_new(state);
  if (socket == nullptr) {
    c->broken_ = true;
    return c->Fail(ErrorCode::kInternal, "connecting", "cannot create a TCP socket");
  }
  timeval connect_deadline{5, 0};
  const int rc = amqp_socket_open_noblock(socket, url.host.c_str(), url.port, &connect_deadline);
  if (rc != AMQP_STATUS_OK) {
    c->broken_ = true;
    // rabbitmq-c's non-blocking connect reports a refused or unreachable peer only as "a socket
    // error occurred" (errno is stale by then).
    const std::string why = rc == AMQP_STATUS_SOCKET_ERROR
                                ? std::string("connection refused or host unreachable")
                                : std::string(amqp_error_string2(rc));
    return c->Fail(ErrorCode::kUnavailable, "connecting", why);
  }
  // No RPC (declare, consume, login) may hang a run on a stuck broker.
  timeval rpc_deadline{30, 0};
  amqp_set_rpc_timeout(state, &rpc_deadline);
  const amqp_rpc_reply_t login =
      amqp_login(state, url.vhost.c_str(), 0, 131072, 0, AMQP_SASL_METHOD_PLAIN, url.user.c_str(),
                 url.password.c_str());
  if (login.reply_type != AMQP_RESPONSE_NORMAL) {
    Status s =
        c->CheckReply(login, "logging in as \"" + url.user + "\" to vhost \"" + url.vhost + "\"");
    c->broken_ = true;
    Error e = s.ok() ? c->Fail(ErrorCode::kUnavailable, "logging in", "login failed") : s.error();
    e.code = ErrorCode::kUnavailable;
    return e;
  }
  auto reopened = c->ReopenChannel();
  if (!reopened.ok()) {
    Error e = reopened.error();
    e.code = ErrorCode::kUnavailable;
    return e;
  }
  return c;
}

AmqpConnection::~AmqpConnection() {
  if (!broken_) {
    if (channel_open_) amqp_channel_close(state_, kChannel, AMQP_REPLY_SUCCESS);
    amqp_connection_close(state_, AMQP_REPLY_SUCCESS);
  }
  amqp_destroy_connection(state_);
}

Error AmqpConnection::Fail(ErrorCode code, std::string_view what, std::string_view why) {
  return MakeError(
      code, "RabbitMQ at " + described_ + ": " + std::string(what) + ": " + std::string(why));
}

Status AmqpConnection::CheckRpc(std::string_view what) {
  return CheckReply(amqp_get_rpc_reply(state_), what);
}

Status AmqpConnection::CheckReply(const amqp_rpc_reply_t& reply, std::string_view what) {
  switch (reply.reply_type) {
    case AMQP_RESPONSE_NORMAL:
      return Ok{};
    case AMQP_RESPONSE_NONE:
      broken_ = true;
      return Fail(ErrorCode::kUnavailable, what, "no reply from the broker");
    case AMQP_RESPONSE_LIBRARY_EXCEPTION:
      return LibraryError(reply.library_error, what);
    case AMQP_RESPONSE_SERVER_EXCEPTION:
      return ServerClosed(reply.reply, what);
  }
  return Fail(ErrorCode::kInternal, what, "unknown rabbitmq-c reply type");
}

Error AmqpConnection::ServerClosed(const amqp_method_t& method, std::string_view what) {
  if (method.id == AMQP_CHANNEL_CLOSE_METHOD) {
    const auto* close = static_cast<const amqp_channel_close_t*>(method.decoded);
    amqp_channel_close_ok_t ok{};
    amqp_send_method(state_, kChannel, AMQP_CHANNEL_CLOSE_OK_METHOD, &ok);
    channel_open_ = false;
    return Fail(CodeForReply(close->reply_code), what,
                "the broker closed the channel: " + std::to_string(close->reply_code) + " " +
                    std::string(View(close->reply_text)));
  }
  if (method.id == AMQP_CONNECTION_CLOSE_METHOD) {
    const auto* close = static_cast<const amqp_connection_close_t*>(method.decoded);
    amqp_connection_close_ok_t ok{};
    amqp_send_method(state_, 0, AMQP_CONNECTION_CLOSE_OK_METHOD, &ok);
    broken_ = true;
    return Fail(ErrorCode::kUnavailable, what,
                "the broker closed the connection: " + std::to_string(close->reply_code) + " " +
                    std::string(View(close->reply_text)));
  }
  return Fail(ErrorCode::kUnavailable, what,
              std::string("unexpected method ") + amqp_method_name(method.id));
}

Error AmqpConnection::LibraryError(int status, std::string_view what) {
  broken_ = true;
  return Fail(ErrorCode::kUnavailable, what, amqp_error_string2(status));
}

Status AmqpConnection::ReopenChannel() {
  if (broken_) return Fail(ErrorCode::kUnavailable, "opening a channel", "connection is down");
  amqp_channel_open(state_, kChannel);
  auto s = CheckRpc("opening a channel");
  if (s.ok()) channel_open_ = true;
  return s;
}

bool AmqpConnection::WaitReadable(int wake_fd, int timeout_ms) {
  if (amqp_frames_enqueued(state_) || amqp_data_in_buffer(state_)) return true;
  pollfd fds[2] = {{amqp_get_sockfd(state_), POLLIN, 0}, {wake_fd, POLLIN, 0}};
  const int n = poll(fds, wake_fd >= 0 ? 2 : 1, timeout_ms);
  return n > 0 && fds[0].revents != 0;
}

}  // namespace tracerig
