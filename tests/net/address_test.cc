#include "net/address.h"

#include <gtest/gtest.h>

namespace tracerig {
namespace {

TEST(AddressTest, ParseHostPortTable) {
  struct Case {
    const char* text;
    bool ok;
    const char* host;
    uint16_t port;
  };
  const Case cases[] = {
      {"127.0.0.1:4318", true, "127.0.0.1", 4318}, {"localhost:0", true, "localhost", 0},
      {"[::1]:9411", true, "::1", 9411},           {"127.0.0.1", false, "", 0},
      {":4318", false, "", 0},                      {"host:65536", false, "", 0},
      {"host:12a", false, "", 0},                   {"::1:80", false, "", 0},
      {"[::1]80", false, "", 0},
  };
  for (const auto& c : cases) {
    auto r = ParseHostPort(c.text);
    EXPECT_EQ(r.ok(), c.ok) << c.text;
    if (r.ok() && c.ok) {
      EXPECT_EQ(r->host, c.host) << c.text;
      EXPECT_EQ(r->port, c.port) << c.text;
    }
  }
  EXPECT_EQ(ParseHostPort("nohost").error().message, "\"nohost\" is not HOST:PORT");
}

TEST(AddressTest, ParseUrl) {
  auto u = ParseUrl("jaeger://127.0.0.1:16686");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->scheme, "jaeger");
  EXPECT_EQ(u->address.port, 16686);
  EXPECT_EQ(u->path, "");
  auto d = ParseUrl("otlp-http://collector/v1/traces", 4318);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->address.host, "collector");
  EXPECT_EQ(d->address.port, 4318);
  EXPECT_EQ(d->path, "/v1/traces");
  EXPECT_FALSE(ParseUrl("collector:4318"));
  EXPECT_EQ(ParseUrl("jaeger://host").error().message, "\"jaeger://host\" has no port");
}

}  // namespace
}  // namespace tracerig
