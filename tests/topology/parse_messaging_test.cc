// ParseScenario on messaging (issue 18), the accepted forms: publish calls, consumers with every
// key and their defaults, [broker], consumer faults with a queue, and the warnings for queues that
// receive nothing; and the broker URL helpers --broker shares.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/topology/parse_test_support.h"
#include "topology/messaging.h"
#include "topology/parse.h"
#include "topology/parse_values.h"

namespace tracerig {
namespace {

using parse_test_support::kHead;
using parse_test_support::kScenario;
using parse_test_support::Render;

ParseResult Parse(const std::string& text) { return ParseScenario("t.toml", text); }

std::vector<std::string> Warnings(const ParseResult& result) {
  std::vector<std::string> lines;
  for (const auto& w : result.warnings) lines.push_back(w.ToString());
  return lines;
}

TEST(ParseMessagingTest, PublishCallForms) {
  struct Case {
    const char* label;
    std::string call;  // a's calls, bound below to b's queue "q" with binding "orders:#"
    std::string exchange;
    std::string routing_key;
    double probability;
    uint32_t repeat;
    uint64_t request_bytes;
    bool parallel;
  };
  const Case cases[] = {
      {"exchange and routing key", "{ publish = \"orders\", routing_key = \"created\" }", "orders",
       "created", 1.0, 1, 0, false},
      {"routing key defaults to empty", "{ publish = \"orders\" }", "orders", "", 1.0, 1, 0, false},
      {"dotted routing key", "{ publish = \"orders\", routing_key = \"order.eu.created\" }",
       "orders", "order.eu.created", 1.0, 1, 0, false},
      {"with probability, repeat and a body",
       "{ publish = \"orders\", routing_key = \"x\", probability = 0.5, repeat = 3, "
       "request_bytes = \"2KiB\" }",
       "orders", "x", 0.5, 3, 2048, false},
      {"in a parallel group", "{ parallel = [{ publish = \"orders\", routing_key = \"x\" }] }",
       "orders", "x", 1.0, 1, 0, true},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.label);
    const ParseResult result =
        Parse(kHead + "calls = [" + c.call + "]\n" +
              "[[services]]\nname = \"b\"\n[[services.consumers]]\nqueue = \"q\"\n"
              "binding = \"orders:#\"\n");
    ASSERT_TRUE(result.ok()) << ::testing::PrintToString(Render(result));
    EXPECT_EQ(Warnings(result), std::vector<std::string>{});
    const Route& route = result.scenario->services[0].routes[0];
    ASSERT_EQ(route.calls.size(), 1u);
    EXPECT_EQ(route.calls[0].parallel, c.parallel);
    ASSERT_EQ(route.calls[0].calls.size(), 1u);
    const Call& call = route.calls[0].calls[0];
    EXPECT_TRUE(call.IsPublish());
    EXPECT_EQ(call.publish, c.exchange);
    EXPECT_EQ(call.routing_key, c.routing_key);
    EXPECT_EQ(call.Destination(), c.exchange + ":" + c.routing_key);
    EXPECT_EQ(call.service, "");
    EXPECT_EQ(call.route, "");
    EXPECT_EQ(call.probability, c.probability);
    EXPECT_EQ(call.repeat, c.repeat);
    EXPECT_EQ(call.request_bytes, c.request_bytes);
    EXPECT_EQ(call.where.line, 7);
    const std::vector<ConsumerRef> reached = ConsumersOf(*result.scenario, call);
    ASSERT_EQ(reached.size(), 1u);
    EXPECT_EQ(reached[0].consumer->queue, "q");
  }
}

// Which binding a publish reaches, by the topic rules RabbitMQ applies.
TEST(ParseMessagingTest, PublishReachesTheMatchingBinding) {
  struct Case {
    const char* routing_key;
    const char* queue;  // the one queue it must reach
  };
  const Case cases[] = {
      {"order.created", "created"},
      {"order.eu.created", "deep"},
      {"order.x.eu", "deep"},
      {"invoice.paid", "paid"},
      {"", "empty"},
  };
  const std::string consumers =
      "[[services]]\nname = \"b\"\n"
      "[[services.consumers]]\nqueue = \"created\"\nbinding = \"orders:order.*\"\n"
      "[[services.consumers]]\nqueue = \"paid\"\nbinding = \"orders:*.paid\"\n"
      "[[services.consumers]]\nqueue = \"empty\"\nbinding = \"orders:\"\n"
      "[[services]]\nname = \"c\"\n"
      "[[services.consumers]]\nqueue = \"deep\"\nbinding = \"orders:order.#.eu.#\"\n"
      "[[services.consumers]]\nqueue = \"other\"\nbinding = \"payments:order.created\"\n";
  for (const Case& c : cases) {
    SCOPED_TRACE(c.routing_key);
    const ParseResult result = Parse(kHead + "calls = [{ publish = \"orders\", routing_key = \"" +
                                     c.routing_key + "\" }]\n" + consumers);
    ASSERT_TRUE(result.ok()) << ::testing::PrintToString(Render(result));
    const std::vector<ConsumerRef> reached =
        ConsumersOf(*result.scenario, result.scenario->services[0].routes[0].calls[0].calls[0]);
    ASSERT_EQ(reached.size(), 1u);
    EXPECT_EQ(reached[0].consumer->queue, c.queue);
  }
}

TEST(ParseMessagingTest, ConsumerKeysAndDefaults) {
  const ParseResult result =
      Parse(kHead + "calls = [{ publish = \"orders\", routing_key = \"order.created\" }]\n" +
            "[[services]]\nname = \"fulfilment\"\nprotocol = \"grpc\"\n"
            "  [[services.consumers]]\n"
            "  queue = \"orders.created\"\n"
            "  binding = \"orders:order.*\"\n"
            "  prefetch = 32\n"
            "  batch = { size = 8, wait = \"50ms\" }\n"
            "  latency = { distribution = \"uniform\", min = \"1ms\", max = \"3ms\" }\n"
            "  error_rate = 0.1\n"
            "  redeliveries = 2\n"
            "  dead_letter = \"orders.dead\"\n"
            "  calls = [{ service = \"store\", route = \"Put\", timeout = \"1s\", retries = 1 },\n"
            "           { publish = \"audit\", routing_key = \"order\" }]\n"
            "  [[services.consumers]]\n"
            "  queue = \"orders.dead\"\n"
            "  latency = \"2ms\"\n"
            "[[services]]\nname = \"store\"\nroutes = [{ name = \"Put\" }]\n"
            "[[services]]\nname = \"audit\"\n"
            "  [[services.consumers]]\n"
            "  queue = \"audit\"\n"
            "  binding = \"audit:#\"\n"
            "  batch = { size = 20, wait = \"1s\" }\n");
  ASSERT_TRUE(result.ok()) << ::testing::PrintToString(Render(result));
  EXPECT_EQ(Warnings(result), std::vector<std::string>{});
  const Scenario& s = *result.scenario;
  ASSERT_EQ(s.services.size(), 4u);
  const Service& fulfilment = s.services[1];
  EXPECT_TRUE(fulfilment.routes.empty());  // a service that only consumes needs no routes
  ASSERT_EQ(fulfilment.consumers.size(), 2u);
  const Consumer& c = fulfilment.consumers[0];
  EXPECT_EQ(c.queue, "orders.created");
  EXPECT_EQ(c.exchange, "orders");
  EXPECT_EQ(c.binding_key, "order.*");
  EXPECT_EQ(c.prefetch, 32u);
  EXPECT_EQ(c.batch.size, 8u);
  EXPECT_EQ(c.batch.wait_ns, 50'000'000u);
  EXPECT_TRUE(c.IsBatch());
  EXPECT_EQ(c.latency.kind, LatencyModel::Kind::kUniform);
  EXPECT_EQ(c.latency.a, 1'000'000u);
  EXPECT_EQ(c.latency.b, 3'000'000u);
  EXPECT_EQ(c.error_rate, 0.1);
  EXPECT_EQ(c.redeliveries, 2u);
  EXPECT_EQ(c.dead_letter, "orders.dead");
  ASSERT_EQ(c.calls.size(), 2u);
  EXPECT_EQ(c.calls[0].calls[0].service, "store");
  EXPECT_EQ(c.calls[0].calls[0].retries, 1u);
  EXPECT_EQ(c.calls[1].calls[0].Destination(), "audit:order");
  EXPECT_EQ(c.where.line, 12);  // the queue's line

  // The dead-letter queue: no binding, every default.
  const Consumer& dead = fulfilment.consumers[1];
  EXPECT_EQ(dead.queue, "orders.dead");
  EXPECT_EQ(dead.exchange, "");
  EXPECT_EQ(dead.binding_key, "");
  EXPECT_EQ(dead.prefetch, 10u);
  EXPECT_EQ(dead.batch.size, 1u);
  EXPECT_EQ(dead.batch.wait_ns, 0u);
  EXPECT_FALSE(dead.IsBatch());
  EXPECT_EQ(dead.latency.kind, LatencyModel::Kind::kFixed);
  EXPECT_EQ(dead.latency.a, 2'000'000u);
  EXPECT_EQ(dead.error_rate, 0.0);
  EXPECT_EQ(dead.redeliveries, 0u);
  EXPECT_EQ(dead.dead_letter, "");
  EXPECT_TRUE(dead.calls.empty());
  EXPECT_EQ(ConsumerOfQueue(s, "orders.dead").service, &fulfilment);

  // Without "prefetch", a batch larger than 10 gets its size.
  EXPECT_EQ(s.services[3].consumers[0].prefetch, 20u);

  EXPECT_TRUE(s.broker.IsEmbedded());
  EXPECT_TRUE(UsesBroker(s));
  const BrokerTopology topology = BrokerTopologyOf(s);
  EXPECT_EQ(topology.exchanges, (std::vector<std::string>{"orders", "audit"}));
  EXPECT_EQ(topology.bindings.size(), 2u);
  EXPECT_EQ(topology.queues.size(), 3u);
}

TEST(ParseMessagingTest, BrokerUrlForms) {
  const char* urls[] = {"amqp://127.0.0.1:5672", "amqp://rabbit.example:35672",
                        "amqp://guest:guest@127.0.0.1:5672", "amqp://u:p@[::1]:5672/%2F",
                        "amqp://127.0.0.1:5672/tracerig"};
  for (const char* url : urls) {
    SCOPED_TRACE(url);
    EXPECT_EQ(BrokerUrlProblem(url), "");
    const ParseResult result =
        Parse(kHead + "calls = [{ publish = \"o\" }]\n" +
              "[[services]]\nname = \"b\"\n[[services.consumers]]\n" +
              "queue = \"q\"\nbinding = \"o:\"\n[broker]\nurl = \"" + url + "\"\n");
    ASSERT_TRUE(result.ok()) << ::testing::PrintToString(Render(result));
    EXPECT_EQ(result.scenario->broker.url, url);
    EXPECT_FALSE(result.scenario->broker.IsEmbedded());
    EXPECT_EQ(result.scenario->broker.where.line, 14);
  }
  EXPECT_EQ(RedactedBrokerUrl("amqp://guest:s3cret@rabbit:5672/v"),
            "amqp://guest:****@rabbit:5672/v");
  EXPECT_EQ(RedactedBrokerUrl("amqp://guest@rabbit:5672"), "amqp://guest@rabbit:5672");
  EXPECT_EQ(RedactedBrokerUrl("amqp://rabbit:5672"), "amqp://rabbit:5672");
  EXPECT_EQ(BrokerUrlProblem("amqp://rabbit:65536"),
            "invalid broker URL \"amqp://rabbit:65536\" (HOST:PORT with a port from 1 to 65535, "
            "as in \"amqp://127.0.0.1:5672\")");
  EXPECT_EQ(BrokerUrlProblem("amqp://:5672"),
            "invalid broker URL \"amqp://:5672\" (HOST:PORT with a port from 1 to 65535, as in "
            "\"amqp://127.0.0.1:5672\")");
}

TEST(ParseMessagingTest, ConsumerFaultsAimAtAQueue) {
  struct Case {
    const char* kind;
    const char* queue;  // "" = every consumer of b
  };
  const Case cases[] = {
      {"consumer-new-trace", ""},
      {"consumer-new-trace", "single"},
      {"dlq-drops-headers", "single"},
      {"retry-duplicates-headers", ""},
      {"batch-first-parent-only", "batched"},
      {"link-missing", ""},
  };
  const std::string consumers =
      "[[services]]\nname = \"b\"\n"
      "[[services.consumers]]\nqueue = \"single\"\nbinding = \"orders:one\"\n"
      "error_rate = 0.2\nredeliveries = 1\ndead_letter = \"dead\"\n"
      "[[services.consumers]]\nqueue = \"batched\"\nbinding = \"orders:many\"\n"
      "batch = { size = 4, wait = \"10ms\" }\n"
      "[[services.consumers]]\nqueue = \"dead\"\n";
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(c.kind) + " " + c.queue);
    std::string fault = std::string("[[faults]]\nkind = \"") + c.kind + "\"\nservice = \"b\"\n" +
                        "probability = 0.5\nwindow = [\"0s\", \"1s\"]\n";
    if (*c.queue != '\0') fault += std::string("queue = \"") + c.queue + "\"\n";
    const ParseResult result =
        Parse(kHead + "calls = [{ publish = \"orders\", routing_key = \"one\" }, " +
              "{ publish = \"orders\", routing_key = \"many\" }]\n" + consumers + fault);
    ASSERT_TRUE(result.ok()) << ::testing::PrintToString(Render(result));
    ASSERT_EQ(result.scenario->faults.size(), 1u);
    const Fault& f = result.scenario->faults[0];
    EXPECT_TRUE(IsConsumerFault(f.kind));
    EXPECT_EQ(FaultKindName(f.kind), c.kind);
    EXPECT_EQ(f.queue, c.queue);
    EXPECT_EQ(f.callee, "");
    EXPECT_EQ(f.route, "");
  }
}

// Valid settings that have no effect: warned about, and the scenario still runs.
TEST(ParseMessagingTest, WarningsForQueuesThatReceiveNothing) {
  struct Case {
    const char* label;
    std::string text;
    std::vector<std::string> warnings;
  };
  const std::string publish = kHead + "calls = [{ publish = \"orders\", routing_key = \"a\" }]\n";
  const std::string consumer_b =
      "[[services]]\nname = \"b\"\n[[services.consumers]]\nqueue = \"q\"\nbinding = \"orders:a\"\n";
  const Case cases[] = {
      {"dead-letter queue nobody reads",
       publish + consumer_b + "error_rate = 0.5\ndead_letter = \"dead\"\n",
       {"t.toml:14:15: no consumer reads dead-letter queue \"dead\": messages dead-lettered there "
        "are dropped (add a [[services.consumers]] with queue = \"dead\")"}},
      {"bound queue no publish matches",
       publish + consumer_b + "[[services.consumers]]\nqueue = \"r\"\nbinding = \"orders:b.*\"\n",
       {"t.toml:15:11: queue \"r\" receives nothing: no publish in the scenario matches its "
        "binding \"orders:b.*\""}},
      {"unbound queue that is no dead letter",
       publish + consumer_b + "[[services.consumers]]\nqueue = \"r\"\n",
       {"t.toml:14:9: queue \"r\" receives nothing: it has no \"binding\" and no consumer "
        "dead-letters to it"}},
      {"batch wait with size 1",
       publish + consumer_b + "batch = { size = 1, wait = \"10ms\" }\n",
       {"t.toml:11:9: batch \"wait\" of queue \"q\" has no effect: its batch size is 1, so each "
        "message is processed on its own"}},
      {"broker for a scenario without messages",
       kHead + "[broker]\nurl = \"amqp://127.0.0.1:5672\"\n",
       {"t.toml:8:7: [broker] has no effect: the scenario neither publishes nor consumes "
        "messages"}},
      {"a queue fed only by dead letters",
       publish + consumer_b + "error_rate = 0.5\ndead_letter = \"dead\"\n" +
           "[[services.consumers]]\nqueue = \"dead\"\n",
       {}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.label);
    const ParseResult result = Parse(c.text);
    ASSERT_TRUE(result.ok()) << ::testing::PrintToString(Render(result));
    EXPECT_EQ(Warnings(result), c.warnings);
  }
}

// A publish is an outgoing edge to the service consuming its message: edge faults on a service
// that only publishes are accepted, aimed at that service, a route, or a consumer's publish.
TEST(ParseMessagingTest, EdgeFaultsActOnPublishes) {
  const std::string publisher =
      kHead + "calls = [{ publish = \"orders\", routing_key = \"one\" }]\n";
  const std::string consumer_b =
      "[[services]]\nname = \"b\"\n[[services.consumers]]\nqueue = \"q\"\n"
      "binding = \"orders:one\"\n";
  const std::string relay =
      "calls = [{ publish = \"orders\", routing_key = \"two\" }]\n"
      "[[services]]\nname = \"c\"\n[[services.consumers]]\nqueue = \"r\"\n"
      "binding = \"orders:two\"\n";
  struct Case {
    std::string name;
    std::string text;
  };
  const auto fault = [](const std::string& keys) { return "[[faults]]\n" + keys; };
  const Case cases[] = {
      {"drop-context on every publish",
       publisher + consumer_b + fault("kind = \"drop-context\"\nservice = \"a\"\n")},
      {"drop-context to the consumer's service",
       publisher + consumer_b +
           fault("kind = \"drop-context\"\nservice = \"a\"\ncallee = \"b\"\n")},
      {"unsampled-child on a route, when sampled",
       publisher + consumer_b +
           fault("kind = \"unsampled-child\"\nservice = \"a\"\nroute = \"R\"\n"
                 "when = { sampled = true }\n")},
      {"wrong-format the consumer does not read",
       publisher + consumer_b +
           fault("kind = \"wrong-format\"\nservice = \"a\"\ncallee = \"b\"\nformat = \"b3\"\n")},
      {"corrupt on a consumer's publish",
       publisher + consumer_b + relay +
           fault("kind = \"corrupt\"\nservice = \"b\"\ncallee = \"c\"\n")},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const ParseResult result = Parse(c.text);
    ASSERT_TRUE(result.ok()) << ::testing::PrintToString(Render(result));
    ASSERT_EQ(result.scenario->faults.size(), 1u);
    EXPECT_TRUE(IsEdgeFault(result.scenario->faults[0].kind));
  }
}

// A service that consumes is reached by its messages: no "unreachable" error for its routes, and a
// parent-based sampler there may still use its ratio (batches start traces of their own).
TEST(ParseMessagingTest, ConsumingServiceIsReachable) {
  const ParseResult result = Parse(kHead + "calls = [{ publish = \"orders\" }]\n" +
                                   "[[services]]\nname = \"b\"\nsampling = \"parent-based(0.5)\"\n"
                                   "[[services.routes]]\nname = \"Health\"\n"
                                   "[[services.consumers]]\nqueue = \"q\"\nbinding = \"orders:\"\n"
                                   "batch = { size = 4, wait = \"10ms\" }\n"
                                   "[[load.entries]]\nservice = \"a\"\nroute = \"R\"\n"
                                   "[[load.entries]]\nservice = \"b\"\nroute = \"Health\"\n");
  ASSERT_TRUE(result.ok()) << ::testing::PrintToString(Render(result));
  EXPECT_EQ(Warnings(result), std::vector<std::string>{});
}

}  // namespace
}  // namespace tracerig
