// amqp:// URLs as scenarios and --broker give them: parsed into the parts rabbitmq-c's login
// needs, and rendered back without the password for messages and reports.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.h"

namespace tracerig {

struct AmqpUrl {
  std::string user = "guest";
  std::string password = "guest";
  bool user_given = false;  // the URL named a user (Describe shows it then)
  std::string host;
  uint16_t port = 5672;
  std::string vhost = "/";
};

// "amqp://[user[:password]@]host[:port][/vhost]": user, password and vhost percent-decoded
// ("%2f" is "/"); an IPv6 host in brackets; no path or an empty one is the default vhost "/".
// Errors (kInvalidArgument) quote the URL with its password masked.
Result<AmqpUrl> ParseAmqpUrl(std::string_view url);

// "amqp://user@host:port/vhost" (vhost percent-encoded, "/" as "%2F"; the user only when the URL
// named one): never the password.
std::string DescribeAmqpUrl(const AmqpUrl& url);

// `url` with the password of its userinfo replaced by "***", for messages about URLs that did
// not parse.
std::string MaskAmqpPassword(std::string_view url);

}  // namespace tracerig
