// A private RabbitMQ node for tests: Debian's rabbitmq-server started on free loopback ports with
// its own node name, data, log and epmd, run as the rabbitmq user when the tests run as root, and
// stopped afterwards. Never the system broker on 5672.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

namespace tracerig::test_support {

class RabbitMqServer {
 public:
  // The Debian package's server script.
  static constexpr const char* kServerBinary = "/usr/lib/rabbitmq/bin/rabbitmq-server";

  // Why no server can be started here ("" when one can be tried): the package is not installed,
  // or the tests run as root and there is no rabbitmq user to run it as.
  static std::string Unavailable();

  // Starts a node and waits (up to `timeout_s`) until an AMQP login succeeds. On failure `error`
  // says why, with the end of the server's output.
  static std::unique_ptr<RabbitMqServer> Start(std::string& error, int timeout_s = 60);

  ~RabbitMqServer();  // stops the node (SIGTERM, then SIGKILL) and its epmd, removes its files
  RabbitMqServer(const RabbitMqServer&) = delete;
  RabbitMqServer& operator=(const RabbitMqServer&) = delete;

  const std::string& url() const { return url_; }  // "amqp://127.0.0.1:PORT/"
  uint16_t port() const { return port_; }

 private:
  RabbitMqServer() = default;
  void Stop();
  std::string OutputTail() const;

  std::filesystem::path dir_;
  pid_t pid_ = -1;  // leader of the server's process group
  uint16_t port_ = 0;
  uint16_t epmd_port_ = 0;
  std::string url_;
};

// Availability of the one server a test binary shares (started on first use, stopped when the
// tests end): its URL, or why it is missing (skip) or broken (fail).
struct SharedRabbitMq {
  std::string url;
  std::string skip_reason;  // not installed here
  std::string failure;      // installed but would not start
};
const SharedRabbitMq& SharedRabbitMqServer();

}  // namespace tracerig::test_support
