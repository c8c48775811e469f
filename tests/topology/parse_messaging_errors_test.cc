// ParseScenario on messaging (issue 18), the errors: publish calls, [[services.consumers]], where
// publishes go, [broker], and the consumer faults. One row per error, exact file:line:column text.
#include <gtest/gtest.h>

#include <string>

#include "tests/topology/parse_test_support.h"
#include "topology/parse.h"

namespace tracerig {
namespace {

using parse_test_support::ExpectDiagnostics;
using parse_test_support::InvalidCase;
using parse_test_support::kHead;
using parse_test_support::kScenario;

// Five lines: service "b" consuming queue "q" bound to orders:created.
const std::string kConsumerB =
    "[[services]]\nname = \"b\"\n[[services.consumers]]\nqueue = \"q\"\n"
    "binding = \"orders:created\"\n";

// a's route R (line 7) publishes to orders:created with `options`; b consumes it (lines 8-12).
std::string Publish(const std::string& options) {
  return kHead + "calls = [{ publish = \"orders\", routing_key = \"created\"" + options + " }]\n" +
         kConsumerB;
}

// The publish and b's consumer, with `keys` among the consumer's keys (line 13 on).
std::string Consumer(const std::string& keys) { return Publish("") + keys; }

// a's route R (line 7) makes `call`; b consumes orders:created (lines 8-12).
std::string Call(const std::string& call) {
  return kHead + "calls = [" + call + "]\n" + kConsumerB;
}

TEST(ParseMessagingTest, PublishCallErrors) {
  const InvalidCase cases[] = {
      {"service with publish",
       Publish(", service = \"b\""),
       {"t.toml:7:67: \"service\" does not go with \"publish\": a publish goes to an exchange, "
        "and the broker routes it to the queue whose binding matches (write the consumer's "
        "\"binding\" to match it instead)"}},
      {"route with publish",
       Publish(", route = \"R\""),
       {"t.toml:7:65: \"route\" does not go with \"publish\": a publish goes to an exchange, and "
        "the broker routes it to the queue whose binding matches (write the consumer's "
        "\"binding\" to match it instead)"}},
      {"timeout with publish",
       Publish(", timeout = \"1s\""),
       {"t.toml:7:67: \"timeout\" does not go with \"publish\": a publish does not wait for its "
        "consumer, so there is nothing to time out"}},
      {"retries with publish",
       Publish(", retries = 2"),
       {"t.toml:7:67: \"retries\" does not go with \"publish\": a publish is not retried; a "
        "consumer redelivers a message it failed (its \"redeliveries\")"}},
      {"retry_backoff with publish",
       Publish(", retry_backoff = \"1s\""),
       {"t.toml:7:73: \"retry_backoff\" does not go with \"publish\": a publish is not retried; a "
        "consumer redelivers a message it failed (its \"redeliveries\")"}},
      {"unknown key in a publish",
       Publish(", probabilty = 0.5"),
       {"t.toml:7:57: unknown key \"probabilty\" in publish call (did you mean \"probability\"?)"}},
      {"routing_key without publish",
       Call("{ routing_key = \"created\" }"),
       {"t.toml:7:26: \"routing_key\" needs \"publish\" (the exchange the message goes to), as in "
        "{ publish = \"orders\", routing_key = \"created\" }"}},
      {"publish empty",
       Call("{ publish = \"\" }"),
       {"t.toml:7:22: \"publish\" must name an exchange, got an empty string"}},
      {"publish not a string",
       Call("{ publish = 1 }"),
       {"t.toml:7:22: \"publish\" must be a string, got integer"}},
      {"exchange with a colon",
       Call("{ publish = \"orders:created\" }"),
       {"t.toml:7:22: exchange name \"orders:created\" must not contain ':' (a destination is "
        "written \"exchange:routing key\")"}},
      {"exchange with a space",
       Call("{ publish = \"my orders\" }"),
       {"t.toml:7:22: invalid exchange name \"my orders\" (use letters, digits, '-', '_' and "
        "'.')"}},
      {"exchange reserved by RabbitMQ",
       Call("{ publish = \"amq.topic\" }"),
       {"t.toml:7:22: exchange name \"amq.topic\" is reserved: RabbitMQ keeps names starting "
        "with \"amq.\" for itself"}},
      {"routing key with a wildcard",
       Call("{ publish = \"orders\", routing_key = \"order.*\" }"),
       {"t.toml:7:46: routing_key \"order.*\" has a wildcard: a publish names one key (wildcards "
        "go in a consumer's \"binding\")"}},
      {"routing key not a string",
       Call("{ publish = \"orders\", routing_key = 3 }"),
       {"t.toml:7:46: \"routing_key\" must be a string, got integer"}},
      {"publish probability 0",
       Publish(", probability = 0"),
       {"t.toml:7:71: probability 0 means the publish never happens; remove it"}},
      {"publish repeat 0",
       Publish(", repeat = 0"),
       {"t.toml:7:66: \"repeat\" must be 1 or greater, got 0"}},
      {"publish request_bytes negative",
       Publish(", request_bytes = -1"),
       {"t.toml:7:73: \"request_bytes\" must be 0 or greater, got -1"}},
      {"parallel and publish in one table",
       Call("{ parallel = [{ publish = \"orders\", routing_key = \"created\" }], "
            "publish = \"orders\" }"),
       {"t.toml:7:10: a call has either \"parallel\" or \"publish\", not both (put the publish "
        "inside the group)",
        "t.toml:7:74: unknown key \"publish\" in call"}},
      {"publish from an external route",
       kScenario + "[[services]]\nname = \"a\"\n"
                   "routes = [{ name = \"R\", calls = [{ service = \"x\", route = \"GET /\" }] }]\n"
                   "[[services]]\nname = \"x\"\nurl = \"http://127.0.0.1:9000\"\n"
                   "routes = [{ name = \"GET /\", calls = [{ publish = \"orders\" }] }]\n",
       {"t.toml:9:50: \"publish\" is not allowed on a call of external service \"x\": tracerig "
        "cannot observe a real service's messages (declare only its calls to simulated "
        "services)"}},
  };
  for (const auto& c : cases) ExpectDiagnostics(c);
}

TEST(ParseMessagingTest, RoutingErrors) {
  const InvalidCase cases[] = {
      {"publish matching no binding",
       Call("{ publish = \"orders\", routing_key = \"deleted\" }"),
       {"t.toml:7:10: publish to orders:deleted reaches no queue: no consumer's binding matches "
        "it (bindings: \"orders:created\" (queue \"q\"))"}},
      {"publish to an exchange nobody binds",
       Call("{ publish = \"payments\", routing_key = \"created\" }"),
       {"t.toml:7:10: publish to payments:created reaches no queue: no consumer's binding "
        "matches it (bindings: \"orders:created\" (queue \"q\"))"}},
      {"publish in a scenario without bindings",
       kHead + "calls = [{ publish = \"orders\" }]\n",
       {"t.toml:7:10: publish to orders: reaches no queue: no consumer's binding matches it (no "
        "queue has a binding; add a [[services.consumers]] with binding = \"orders:\")"}},
      {"publish reaching two queues",
       Publish("") + "[[services]]\nname = \"c\"\n[[services.consumers]]\nqueue = \"audit\"\n"
                     "binding = \"orders:#\"\n",
       {"t.toml:7:10: publish to orders:created reaches 2 queues: \"q\" (binding "
        "\"orders:created\", service \"b\"), \"audit\" (binding \"orders:#\", service \"c\"); "
        "fan-out to several queues is not supported yet (make one binding match it)"}},
      {"consumer publishing back to its own queue",
       Consumer("calls = [{ publish = \"orders\", routing_key = \"created\" }]\n"),
       {"t.toml:13:10: call cycle: b queue q -> b queue q"}},
      {"consumer calling the route that publishes to it",
       Consumer("calls = [{ service = \"a\", route = \"R\" }]\n"),
       {"t.toml:13:10: call cycle: a R -> b queue q -> a R"}},
      {"dead letters going round",
       Consumer("dead_letter = \"q2\"\n") +
           "[[services.consumers]]\nqueue = \"q2\"\ndead_letter = \"q\"\n",
       {"t.toml:16:15: call cycle: b queue q -> b queue q2 -> b queue q"}},
      {"consumer calling an unknown route",
       Consumer("calls = [{ service = \"a\", route = \"S\" }]\n"),
       {"t.toml:13:35: call to unknown route \"S\" of service \"a\""}},
  };
  for (const auto& c : cases) ExpectDiagnostics(c);
}

TEST(ParseMessagingTest, ConsumerErrors) {
  const InvalidCase cases[] = {
      {"consumer without queue",
       Publish("") + "[[services.consumers]]\nbinding = \"x:y\"\n",
       {"t.toml:13:1: missing required key \"queue\" in consumer"}},
      {"queue with a space",
       Publish("") + "[[services.consumers]]\nqueue = \"a b\"\n",
       {"t.toml:14:9: invalid queue name \"a b\" (use letters, digits, '-', '_' and '.')"}},
      {"queue reserved by RabbitMQ",
       Publish("") + "[[services.consumers]]\nqueue = \"amq.gen-1\"\n",
       {"t.toml:14:9: queue name \"amq.gen-1\" is reserved: RabbitMQ keeps names starting with "
        "\"amq.\" for itself"}},
      {"queue empty",
       Publish("") + "[[services.consumers]]\nqueue = \"\"\n",
       {"t.toml:14:9: \"queue\" must name a queue, got an empty string"}},
      {"queue consumed twice",
       Publish("") + "[[services]]\nname = \"c\"\n[[services.consumers]]\nqueue = \"q\"\n",
       {"t.toml:16:9: duplicate queue \"q\" (first consumed at line 11): each queue has one "
        "consumer"}},
      {"binding without a colon",
       Call("{ publish = \"orders\" }") + "[[services.consumers]]\nqueue = \"r\"\n"
                                          "binding = \"orders\"\n",
       {"t.toml:15:11: binding \"orders\" must be \"exchange:binding key\", as in "
        "\"orders:order.*\""}},
      {"binding without an exchange",
       Publish("") + "[[services.consumers]]\nqueue = \"r\"\nbinding = \":created\"\n",
       {"t.toml:15:11: binding \":created\" names no exchange before ':'"}},
      {"binding exchange with a space",
       Publish("") + "[[services.consumers]]\nqueue = \"r\"\nbinding = \"my orders:x\"\n",
       {"t.toml:15:11: binding \"my orders:x\": invalid exchange name \"my orders\" (use "
        "letters, digits, '-', '_' and '.')"}},
      {"binding wildcard inside a word",
       Publish("") + "[[services.consumers]]\nqueue = \"r\"\nbinding = \"orders:order*\"\n",
       {"t.toml:15:11: binding key \"order*\" in \"orders:order*\": '*' and '#' stand for whole "
        "words between dots, as in \"order.*\" (\"order*\" is neither)"}},
      {"binding not a string",
       Publish("") + "[[services.consumers]]\nqueue = \"r\"\nbinding = 1\n",
       {"t.toml:15:11: \"binding\" must be a string, got integer"}},
      {"prefetch 0",
       Consumer("prefetch = 0\n"),
       {"t.toml:13:12: \"prefetch\" must be 1 or greater, got 0"}},
      {"prefetch above AMQP's limit",
       Consumer("prefetch = 70000\n"),
       {"t.toml:13:12: \"prefetch\" must be at most 65535, got 70000"}},
      {"prefetch below the batch size",
       Consumer("batch = { size = 20, wait = \"50ms\" }\nprefetch = 5\n"),
       {"t.toml:14:12: \"prefetch\" (5) must be at least the batch size (20): the broker would "
        "never deliver a full batch"}},
      {"batch not a table",
       Consumer("batch = 10\n"),
       {"t.toml:13:9: \"batch\" must be a table such as { size = 10, wait = \"50ms\" }, got "
        "integer"}},
      {"batch size 0",
       Consumer("batch = { size = 0 }\n"),
       {"t.toml:13:18: \"size\" must be 1 or greater, got 0"}},
      {"batch without size",
       Consumer("batch = { wait = \"50ms\" }\n"),
       {"t.toml:13:9: missing required key \"size\" in batch"}},
      {"batch of several without wait",
       Consumer("batch = { size = 10 }\n"),
       {"t.toml:13:9: missing required key \"wait\" in batch of size 10 (how long a batch waits "
        "for more messages after its first)"}},
      {"batch wait 0",
       Consumer("batch = { size = 10, wait = \"0s\" }\n"),
       {"t.toml:13:29: \"wait\" must be greater than 0"}},
      {"batch key misspelt",
       Consumer("batch = { size = 1, wiat = \"1ms\" }\n"),
       {"t.toml:13:21: unknown key \"wiat\" in batch"}},
      {"consumer error_rate above 1",
       Consumer("error_rate = 2\n"),
       {"t.toml:13:14: \"error_rate\" must be between 0 and 1, got 2"}},
      {"redeliveries negative",
       Consumer("redeliveries = -1\n"),
       {"t.toml:13:16: \"redeliveries\" must be 0 or greater, got -1"}},
      {"dead letter to its own queue",
       Consumer("dead_letter = \"q\"\n"),
       {"t.toml:13:15: \"dead_letter\" \"q\" is the consumer's own queue: a dead-lettered "
        "message would come straight back (name another queue)"}},
      {"dead letter with a bad name",
       Consumer("dead_letter = \"dead letters\"\n"),
       {"t.toml:13:15: invalid queue name \"dead letters\" (use letters, digits, '-', '_' and "
        "'.')"}},
      {"consumer latency without distribution",
       Consumer("latency = { value = \"1ms\" }\n"),
       {"t.toml:13:11: missing required key \"distribution\" in latency (one of \"fixed\", "
        "\"uniform\", \"normal\", \"lognormal\", \"exponential\")"}},
      {"consumer key misspelt",
       Consumer("prefech = 10\n"),
       {"t.toml:13:1: unknown key \"prefech\" in consumer (did you mean \"prefetch\"?)"}},
      {"consumers on an external service",
       kScenario + "[[services]]\nname = \"a\"\n"
                   "routes = [{ name = \"R\", calls = [{ service = \"x\", route = \"GET /\" }] }]\n"
                   "[[services]]\nname = \"x\"\nurl = \"http://127.0.0.1:9000\"\n"
                   "routes = [{ name = \"GET /\" }]\nconsumers = [{ queue = \"q\" }]\n",
       {"t.toml:10:13: \"consumers\" is not allowed on external service \"x\": tracerig calls it "
        "but does not simulate it"}},
      {"consumers empty and no routes",
       kHead + "[[services]]\nname = \"b\"\nconsumers = []\n",
       {"t.toml:9:13: \"consumers\" must list at least one consumer (or leave it out)"}},
      {"first service only consumes and no load entries",
       kScenario + "[[services]]\nname = \"b\"\n[[services.consumers]]\nqueue = \"q\"\n" +
           "binding = \"orders:\"\n[[services]]\nname = \"a\"\n" +
           "routes = [{ name = \"R\", calls = [{ publish = \"orders\" }] }]\n",
       {"t.toml:3:1: the load goes to the first route of the first service, but service \"b\" "
        "only consumes messages (add [[load.entries]] naming a route)"}},
      {"consumers not tables",
       kHead + "[[services]]\nname = \"b\"\nconsumers = \"q\"\n",
       {"t.toml:9:13: \"consumers\" must be an array of tables ([[services.consumers]]), got "
        "string"}},
  };
  for (const auto& c : cases) ExpectDiagnostics(c);
}

TEST(ParseMessagingTest, BrokerErrors) {
  const auto broker = [](const std::string& body) { return kHead + "[broker]\n" + body; };
  const InvalidCase cases[] = {
      {"broker without url", broker(""), {"t.toml:7:1: missing required key \"url\" in [broker]"}},
      {"broker url empty",
       broker("url = \"\"\n"),
       {"t.toml:8:7: \"url\" must not be empty (leave [broker] out for the embedded broker)"}},
      {"broker url of another scheme",
       broker("url = \"http://127.0.0.1:5672\"\n"),
       {"t.toml:8:7: invalid broker URL \"http://127.0.0.1:5672\" (expected "
        "amqp://[USER:PASSWORD@]HOST:PORT[/VHOST], as in \"amqp://127.0.0.1:5672\"; the "
        "embedded broker needs no URL)"}},
      {"broker url with TLS",
       broker("url = \"amqps://127.0.0.1:5671\"\n"),
       {"t.toml:8:7: broker URL \"amqps://127.0.0.1:5671\" uses TLS (amqps://), which is not "
        "supported yet (write amqp://HOST:PORT)"}},
      {"broker url without port",
       broker("url = \"amqp://rabbit\"\n"),
       {"t.toml:8:7: broker URL \"amqp://rabbit\" has no port (write amqp://HOST:PORT, as in "
        "\"amqp://127.0.0.1:5672\": tracerig does not assume RabbitMQ's default port)"}},
      {"broker url with port 0",
       broker("url = \"amqp://rabbit:0\"\n"),
       {"t.toml:8:7: invalid broker URL \"amqp://rabbit:0\" (HOST:PORT with a port from 1 to "
        "65535, as in \"amqp://127.0.0.1:5672\")"}},
      {"broker url password not repeated",
       broker("url = \"amqp://guest:s3cret@rabbit\"\n"),
       {"t.toml:8:7: broker URL \"amqp://guest:****@rabbit\" has no port (write "
        "amqp://HOST:PORT, as in \"amqp://127.0.0.1:5672\": tracerig does not assume "
        "RabbitMQ's default port)"}},
      {"broker url with a path",
       broker("url = \"amqp://rabbit:5672/a/b\"\n"),
       {"t.toml:8:7: broker URL \"amqp://rabbit:5672/a/b\" has more than a virtual host after "
        "HOST:PORT (write amqp://HOST:PORT/VHOST, with a '/' in the vhost written %2F)"}},
      {"broker key misspelt",
       broker("uri = \"amqp://rabbit:5672\"\n"),
       {"t.toml:7:1: missing required key \"url\" in [broker]",
        "t.toml:8:1: unknown key \"uri\" in [broker] (did you mean \"url\"?)"}},
      {"broker not a table",
       "broker = \"amqp://rabbit:5672\"\n" + kHead,
       {"t.toml:1:10: \"broker\" must be a table, got string"}},
  };
  for (const auto& c : cases) ExpectDiagnostics(c);
}

TEST(ParseMessagingTest, ConsumerFaultErrors) {
  // Consumer("") is 12 lines: [[faults]] on 13, kind 14, service 15, the case's keys from 16.
  const auto fault = [](const std::string& consumer_keys, const std::string& kind,
                        const std::string& service, const std::string& more) {
    return Consumer(consumer_keys) + "[[faults]]\nkind = \"" + kind + "\"\nservice = \"" + service +
           "\"\n" + more;
  };
  const std::string batch = "batch = { size = 5, wait = \"10ms\" }\n";
  const InvalidCase cases[] = {
      {"consumer fault on a service without consumers",
       fault("", "consumer-new-trace", "a", ""),
       {"t.toml:13:1: \"consumer-new-trace\" acts on consumers, but service \"a\" has none "
        "(services with consumers: \"b\")"}},
      {"queue of another service",
       fault("", "consumer-new-trace", "b", "queue = \"other\"\n") +
           "[[services]]\nname = \"c\"\n[[services.consumers]]\nqueue = \"other\"\n",
       {"t.toml:16:9: service \"b\" consumes no queue \"other\" (service \"c\" consumes it)"}},
      {"queue misspelt",
       fault("", "consumer-new-trace", "b", "queue = \"qq\"\n"),
       {"t.toml:16:9: service \"b\" consumes no queue \"qq\""}},
      {"route on a consumer fault",
       fault("", "consumer-new-trace", "b", "route = \"R\"\n"),
       {"t.toml:16:9: \"route\" does not apply to \"consumer-new-trace\": a consumer fault acts "
        "on messages, not on requests to a route (name the consumer's \"queue\" instead)"}},
      {"callee on a consumer fault",
       fault("", "link-missing", "b", "callee = \"a\"\n"),
       {"t.toml:16:10: \"callee\" applies only to faults on outgoing calls (\"drop-context\", "
        "\"wrong-format\", \"corrupt\", \"truncate-trace-id\", \"unsampled-child\", "
        "\"drop-tracestate\", \"drop-baggage\", \"stale-retry-context\", \"force-sampled\", "
        "\"debug-ignored\", \"urlencode\"), not \"link-missing\""}},
      {"queue on a fault that is not a consumer's",
       fault("", "drop-span", "b", "queue = \"q\"\n"),
       {"t.toml:16:9: \"queue\" applies only to faults on consumers (\"consumer-new-trace\", "
        "\"dlq-drops-headers\", \"retry-duplicates-headers\", \"batch-first-parent-only\", "
        "\"link-missing\"), not \"drop-span\""}},
      {"batch-first-parent-only on a single-message consumer",
       fault("", "batch-first-parent-only", "b", ""),
       {"t.toml:13:1: \"batch-first-parent-only\" acts on batches, but no consumer of service "
        "\"b\" batches (give it batch = { size = 10, wait = \"50ms\" })"}},
      {"link-missing on the named single-message consumer",
       fault(batch, "link-missing", "b", "queue = \"r\"\n") +
           "[[services.consumers]]\nqueue = \"r\"\nbinding = \"orders:other\"\n",
       {"t.toml:14:1: \"link-missing\" acts on batches, but the consumer of queue \"r\" does not "
        "batch (give it batch = { size = 10, wait = \"50ms\" })"}},
      {"dlq-drops-headers without dead_letter",
       fault("error_rate = 0.5\n", "dlq-drops-headers", "b", ""),
       {"t.toml:14:1: \"dlq-drops-headers\" acts on dead-lettered messages, but no consumer of "
        "service \"b\" has a \"dead_letter\" queue"}},
      {"dlq-drops-headers on a consumer that never fails",
       fault("dead_letter = \"dead\"\n", "dlq-drops-headers", "b", "queue = \"q\"\n"),
       {"t.toml:14:1: \"dlq-drops-headers\" acts on dead-lettered messages, but the consumer "
        "of queue \"q\" never fails a message (error_rate is 0), so none is dead-lettered"}},
      {"retry-duplicates-headers without redeliveries",
       fault("error_rate = 0.5\n", "retry-duplicates-headers", "b", "queue = \"q\"\n"),
       {"t.toml:14:1: \"retry-duplicates-headers\" acts on redelivered messages, but the "
        "consumer of queue \"q\" does not have \"redeliveries\" (add redeliveries = 1 or more)"}},
      {"retry-duplicates-headers on a consumer that never fails",
       fault("redeliveries = 2\n", "retry-duplicates-headers", "b", ""),
       {"t.toml:14:1: \"retry-duplicates-headers\" acts on redelivered messages, but no "
        "consumer of service \"b\" with \"redeliveries\" ever fails a message (error_rate is "
        "0), so none is redelivered"}},
      {"retry-duplicates-headers on a consumer that reads only b3",
       kHead + "calls = [{ publish = \"orders\", routing_key = \"created\" }]\n" +
           "[[services]]\nname = \"b\"\nextract = [\"b3\", \"jaeger\"]\n[[services.consumers]]\n"
           "queue = \"q\"\nbinding = \"orders:created\"\nerror_rate = 0.5\nredeliveries = 1\n"
           "[[faults]]\nkind = \"retry-duplicates-headers\"\nservice = \"b\"\n",
       {"t.toml:16:1: \"retry-duplicates-headers\" needs a consumer that reads tracecontext: "
        "service \"b\" extracts \"b3\", \"jaeger\", and a reader of those takes the first of "
        "duplicated headers, the message's own context, so the duplicate changes nothing (add "
        "\"tracecontext\" to its extract)"}},
  };
  for (const auto& c : cases) ExpectDiagnostics(c);
}

// A publish is an outgoing edge to the service consuming its message: edge faults on a publishing
// service are checked against it as against a called service.
TEST(ParseMessagingTest, EdgeFaultOnPublishErrors) {
  const auto fault = [](const std::string& kind, const std::string& more) {
    return Consumer("") + "[[faults]]\nkind = \"" + kind + "\"\nservice = \"a\"\n" + more;
  };
  const InvalidCase cases[] = {
      {"callee that is not the consumer's service",
       fault("drop-context", "callee = \"bb\"\n"),
       {"t.toml:16:10: service \"a\" makes no call to \"bb\""}},
      {"urlencode on a publisher that does not inject jaeger",
       fault("urlencode", ""),
       {"t.toml:13:1: \"urlencode\" URL-encodes uber-trace-id, but service \"a\" does not "
        "inject \"jaeger\" (it injects \"tracecontext\")"}},
      {"wrong-format naming what the consumer reads",
       fault("wrong-format", "callee = \"b\"\nformat = \"tracecontext\"\n"),
       {"t.toml:17:10: callee \"b\" reads tracecontext, so injecting it is not a fault"}},
      {"stale-retry-context on a publish (never retried)",
       fault("stale-retry-context", "callee = \"b\"\n"),
       {"t.toml:13:1: \"stale-retry-context\" acts on retries, but no call of service \"a\" to "
        "\"b\" has \"retries\" (add retries = 1 or more to the call)"}},
  };
  for (const auto& c : cases) ExpectDiagnostics(c);
}

// The consumer of a dead-letter queue processes each dead-lettered message once.
TEST(ParseMessagingTest, DeadLetterConsumerErrors) {
  const std::string dead = Consumer("error_rate = 0.5\ndead_letter = \"dead\"\n") +
                           "[[services.consumers]]\nqueue = \"dead\"\n";
  const InvalidCase cases[] = {
      {"redeliveries on a dead-letter queue's consumer",
       dead + "redeliveries = 2\n",
       {"t.toml:17:16: \"redeliveries\" on the consumer of queue \"dead\", which reads the "
        "dead-letter queue \"dead\" of queue \"q\": a dead-lettered message is processed once; "
        "\"redeliveries\" and \"dead_letter\" are not supported there yet (remove "
        "\"redeliveries\")"}},
      {"dead_letter on a dead-letter queue's consumer",
       dead + "dead_letter = \"dead2\"\n[[services.consumers]]\nqueue = \"dead2\"\n",
       {"t.toml:17:15: \"dead_letter\" on the consumer of queue \"dead\", which reads the "
        "dead-letter queue \"dead\" of queue \"q\": a dead-lettered message is processed once; "
        "\"redeliveries\" and \"dead_letter\" are not supported there yet (remove "
        "\"dead_letter\")"}},
  };
  for (const auto& c : cases) ExpectDiagnostics(c);
}

}  // namespace
}  // namespace tracerig
