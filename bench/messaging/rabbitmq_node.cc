// Starts a private RabbitMQ node (tests/support/rabbitmq_server.h: free ports, its own node name,
// data and logs in a temp dir, never the system broker) for bench/messaging/throughput.sh, prints
// "url: amqp://..." once it accepts logins, and stops it when stdin closes.
#include <cstdio>
#include <iostream>
#include <string>

#include "tests/support/rabbitmq_server.h"

int main() {
  using tracerig::test_support::RabbitMqServer;
  if (const std::string why = RabbitMqServer::Unavailable(); !why.empty()) {
    std::fprintf(stderr, "rabbitmq_node: %s\n", why.c_str());
    return 2;
  }
  std::string error;
  auto server = RabbitMqServer::Start(error);
  if (!server) {
    std::fprintf(stderr, "rabbitmq_node: %s\n", error.c_str());
    return 1;
  }
  std::printf("url: %s\n", server->url().c_str());
  std::fflush(stdout);
  std::string line;
  while (std::getline(std::cin, line)) {
  }
  return 0;  // the destructor stops the node and removes its files
}
