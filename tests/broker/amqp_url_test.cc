// ParseAmqpUrl, DescribeAmqpUrl and MaskAmqpPassword, one row per URL.
#include "broker/amqp_url.h"

#include <gtest/gtest.h>

namespace tracerig {
namespace {

struct ValidCase {
  std::string_view url;
  std::string_view user, password, host;
  uint16_t port;
  std::string_view vhost;
  std::string_view described;
};

constexpr ValidCase kValid[] = {
    {"amqp://127.0.0.1:5672/", "guest", "guest", "127.0.0.1", 5672, "/", "amqp://127.0.0.1:5672/"},
    {"amqp://127.0.0.1:5672", "guest", "guest", "127.0.0.1", 5672, "/", "amqp://127.0.0.1:5672/"},
    {"amqp://localhost", "guest", "guest", "localhost", 5672, "/", "amqp://localhost:5672/"},
    {"amqp://rabbit:15999/%2f", "guest", "guest", "rabbit", 15999, "/", "amqp://rabbit:15999/"},
    {"amqp://rabbit/prod", "guest", "guest", "rabbit", 5672, "prod", "amqp://rabbit:5672/prod"},
    {"amqp://rabbit/a%2Fb", "guest", "guest", "rabbit", 5672, "a/b", "amqp://rabbit:5672/a%2Fb"},
    {"amqp://alice:s3cret@rabbit:5673/v", "alice", "s3cret", "rabbit", 5673, "v",
     "amqp://alice@rabbit:5673/v"},
    {"amqp://alice@rabbit", "alice", "", "rabbit", 5672, "/", "amqp://alice@rabbit:5672/"},
    {"amqp://al%40ice:p%3Aw%2Fd@h:1/", "al@ice", "p:w/d", "h", 1, "/", "amqp://al%40ice@h:1/"},
    {"amqp://u:p@ss@h/", "u", "p@ss", "h", 5672, "/", "amqp://u@h:5672/"},
    {"amqp://[::1]:5680/", "guest", "guest", "::1", 5680, "/", "amqp://[::1]:5680/"},
    {"amqp://[::1]", "guest", "guest", "::1", 5672, "/", "amqp://[::1]:5672/"},
    {"amqp://h:65535", "guest", "guest", "h", 65535, "/", "amqp://h:65535/"},
};

TEST(ParseAmqpUrl, Valid) {
  for (const ValidCase& c : kValid) {
    auto parsed = ParseAmqpUrl(c.url);
    ASSERT_TRUE(parsed.ok()) << c.url << ": " << parsed.error().message;
    EXPECT_EQ(parsed->user, c.user) << c.url;
    EXPECT_EQ(parsed->password, c.password) << c.url;
    EXPECT_EQ(parsed->host, c.host) << c.url;
    EXPECT_EQ(parsed->port, c.port) << c.url;
    EXPECT_EQ(parsed->vhost, c.vhost) << c.url;
    EXPECT_EQ(DescribeAmqpUrl(*parsed), c.described) << c.url;
  }
}

struct InvalidCase {
  std::string_view url;
  std::string_view message;
};

constexpr InvalidCase kInvalid[] = {
    {"http://h:5672", "broker URL \"http://h:5672\": not an amqp://HOST:PORT URL"},
    {"amqps://h:5671", "broker URL \"amqps://h:5671\": amqps (TLS) is not supported; use amqp://"},
    {"amqp://", "broker URL \"amqp://\": no host"},
    {"amqp://:5672", "broker URL \"amqp://:5672\": no host"},
    {"amqp://h:", "broker URL \"amqp://h:\": empty port after ':'"},
    {"amqp://h:0", "broker URL \"amqp://h:0\": port \"0\" is not a number 1-65535"},
    {"amqp://h:65536", "broker URL \"amqp://h:65536\": port \"65536\" is not a number 1-65535"},
    {"amqp://h:56x", "broker URL \"amqp://h:56x\": port \"56x\" is not a number 1-65535"},
    {"amqp://h:-1", "broker URL \"amqp://h:-1\": port \"-1\" is not a number 1-65535"},
    {"amqp://[::1", "broker URL \"amqp://[::1\": unterminated '[' in IPv6 host"},
    {"amqp://[::1]x", "broker URL \"amqp://[::1]x\": expected ':PORT' after ']'"},
    {"amqp://h/a/b", "broker URL \"amqp://h/a/b\": a vhost containing '/' must be written %2F"},
    {"amqp://h/%zz", "broker URL \"amqp://h/%zz\": bad %-escape in vhost"},
    {"amqp://h/%2", "broker URL \"amqp://h/%2\": bad %-escape in vhost"},
    {"amqp://h?heartbeat=10",
     "broker URL \"amqp://h?heartbeat=10\": query parameters and fragments are not supported"},
    {"amqp://:pw@h", "broker URL \"amqp://:***@h\": empty user name before '@'"},
    // The password never appears in a message.
    {"amqp://u:hunter2@h:99999",
     "broker URL \"amqp://u:***@h:99999\": port \"99999\" is not a "
     "number 1-65535"},
    {"amqp://u%zz:hunter2@h", "broker URL \"amqp://u%zz:***@h\": bad %-escape in user"},
    {"amqp://u:hun%zzter2@h", "broker URL \"amqp://u:***@h\": bad %-escape in password"},
};

TEST(ParseAmqpUrl, Invalid) {
  for (const InvalidCase& c : kInvalid) {
    auto parsed = ParseAmqpUrl(c.url);
    ASSERT_FALSE(parsed.ok()) << c.url;
    EXPECT_EQ(parsed.error().message, c.message) << c.url;
    EXPECT_EQ(parsed.error().code, ErrorCode::kInvalidArgument) << c.url;
  }
}

TEST(MaskAmqpPassword, Table) {
  const std::pair<std::string_view, std::string_view> cases[] = {
      {"amqp://u:p@h:1/v", "amqp://u:***@h:1/v"},
      {"amqp://u@h:1/v", "amqp://u@h:1/v"},
      {"amqp://h:1/v", "amqp://h:1/v"},
      {"amqp://u:p@ss@h/", "amqp://u:***@h/"},
      {"amqp://h/v@x:y", "amqp://h/v@x:y"},  // '@' after the path starts is no userinfo
      {"not a url", "not a url"},
  };
  for (const auto& [url, masked] : cases) EXPECT_EQ(MaskAmqpPassword(url), masked) << url;
}

}  // namespace
}  // namespace tracerig
