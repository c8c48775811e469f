// One rabbitmq-c connection with channel 1 open: connecting and logging in with deadlines, turning
// RPC replies and server closes into errors that name the URL and carry the server's reply text,
// and waiting for the socket or a wake-up descriptor. Not thread-safe: one thread uses it.
#pragma once

#include <amqp.h>

#include <memory>
#include <string>
#include <string_view>

#include "broker/amqp_url.h"
#include "core/result.h"

namespace tracerig {

class AmqpConnection {
 public:
  static constexpr amqp_channel_t kChannel = 1;

  // Connects to `url` (5 s deadline), logs in and opens kChannel. kUnavailable when the broker
  // cannot be reached or refuses the login.
  static Result<std::unique_ptr<AmqpConnection>> Open(const AmqpUrl& url);
  ~AmqpConnection();  // closes the channel and the connection politely when they are still up
  AmqpConnection(const AmqpConnection&) = delete;
  AmqpConnection& operator=(const AmqpConnection&) = delete;

  amqp_connection_state_t state() const { return state_; }
  const std::string& described() const { return described_; }
  bool broken() const { return broken_; }
  bool channel_open() const { return channel_open_ && !broken_; }

  // The last synchronous RPC's outcome (after a framing call such as amqp_queue_declare): OK, or
  // an error "RabbitMQ at URL: `what`: <the server's or the library's reason>". A server close is
  // answered (close-ok), leaving the channel (or the connection) closed.
  Status CheckRpc(std::string_view what);
  // The same for a reply a call returned (amqp_login).
  Status CheckReply(const amqp_rpc_reply_t& reply, std::string_view what);
  // The error for a channel.close or connection.close the server sent unasked (read as a frame),
  // answered with close-ok.
  Error ServerClosed(const amqp_method_t& method, std::string_view what);
  // An error for a library status code (a failed send or read); marks the connection broken.
  Error LibraryError(int status, std::string_view what);
  // Reopens kChannel after the server closed it.
  Status ReopenChannel();

  // True when frames are already buffered, or when the socket or `wake_fd` (-1: none) becomes
  // readable within `timeout_ms` (-1: no limit).
  bool WaitReadable(int wake_fd, int timeout_ms);

 private:
  AmqpConnection(amqp_connection_state_t state, std::string described)
      : state_(state), described_(std::move(described)) {}
  Error Fail(ErrorCode code, std::string_view what, std::string_view why);

  amqp_connection_state_t state_;
  std::string described_;
  bool channel_open_ = false;
  bool broken_ = false;
};

}  // namespace tracerig
