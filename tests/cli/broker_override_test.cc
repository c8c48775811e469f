// --broker over a scenario's [broker] url: "embedded" clears it, an amqp:// URL replaces it, and
// anything else is an error that names the flag (and never repeats a password).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "cli/flags.h"
#include "cli/scenario_overrides.h"
#include "topology/scenario.h"

namespace tracerig {
namespace {

TEST(BrokerOverrideTest, TheFlagWinsOverTheFile) {
  struct Case {
    std::vector<std::string> args;
    std::string file_url;  // [broker] url as the scenario had it
    std::string url;       // after the override; "" = embedded
  };
  const Case cases[] = {
      {{}, "amqp://rabbit:5672", "amqp://rabbit:5672"},
      {{}, "", ""},
      {{"--broker", "embedded"}, "amqp://rabbit:5672", ""},
      {{"--broker", "amqp://127.0.0.1:35672"}, "", "amqp://127.0.0.1:35672"},
      {{"--broker=amqp://u:p@rabbit:5672/vh"}, "amqp://other:5672", "amqp://u:p@rabbit:5672/vh"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.args.empty() ? std::string("no flag") : c.args.back());
    auto flags = ParseFlags(c.args, {kBrokerFlag});
    ASSERT_TRUE(flags) << flags.error().message;
    Scenario scenario;
    scenario.broker.url = c.file_url;
    ASSERT_TRUE(ApplyBrokerOverride(*flags, scenario));
    EXPECT_EQ(scenario.broker.url, c.url);
    EXPECT_EQ(scenario.broker.IsEmbedded(), c.url.empty());
  }
}

TEST(BrokerOverrideTest, BadURLsNameTheFlag) {
  struct Case {
    const char* value;
    const char* message;
  };
  const Case cases[] = {
      {"rabbit:5672",
       "--broker: invalid broker URL \"rabbit:5672\" (expected "
       "amqp://[USER:PASSWORD@]HOST:PORT[/VHOST], as in \"amqp://127.0.0.1:5672\"; the embedded "
       "broker needs no URL); --broker embedded picks the in-process broker"},
      {"amqp://guest:s3cret@rabbit",
       "--broker: broker URL \"amqp://guest:****@rabbit\" has no port (write amqp://HOST:PORT, as "
       "in \"amqp://127.0.0.1:5672\": tracerig does not assume RabbitMQ's default port); --broker "
       "embedded picks the in-process broker"},
      {"Embedded",
       "--broker: invalid broker URL \"Embedded\" (expected "
       "amqp://[USER:PASSWORD@]HOST:PORT[/VHOST], as in \"amqp://127.0.0.1:5672\"; the embedded "
       "broker needs no URL); --broker embedded picks the in-process broker"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.value);
    auto flags = ParseFlags({"--broker", c.value}, {kBrokerFlag});
    ASSERT_TRUE(flags) << flags.error().message;
    Scenario scenario;
    scenario.broker.url = "amqp://file:5672";
    const Status status = ApplyBrokerOverride(*flags, scenario);
    ASSERT_FALSE(status);
    EXPECT_EQ(status.error().message, c.message);
    EXPECT_EQ(scenario.broker.url, "amqp://file:5672");  // left as the file had it
  }
}

}  // namespace
}  // namespace tracerig
