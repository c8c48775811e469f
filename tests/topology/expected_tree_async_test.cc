// BuildExpectedTree through a broker: a publish's PRODUCER span and the CONSUMER spans of its
// deliveries (first, redeliveries, dead-lettered), batch consumers, and the seeded decisions.
#include <gtest/gtest.h>

#include "topology/decisions.h"
#include "topology/expected_tree.h"

namespace tracerig {
namespace {

Call Publish(std::string exchange, std::string routing_key) {
  Call call;
  call.publish = std::move(exchange);
  call.routing_key = std::move(routing_key);
  return call;
}

Call CallTo(std::string service, std::string route) {
  Call call;
  call.service = std::move(service);
  call.route = std::move(route);
  return call;
}

Route MakeRoute(std::string name, std::vector<CallStep> calls = {}) {
  Route r;
  r.name = std::move(name);
  r.calls = std::move(calls);
  return r;
}

Consumer MakeConsumer(std::string queue, std::string exchange, std::string binding,
                      std::vector<CallStep> calls = {}) {
  Consumer c;
  c.queue = std::move(queue);
  c.exchange = std::move(exchange);
  c.binding_key = std::move(binding);
  c.calls = std::move(calls);
  return c;
}

Service MakeService(std::string name, std::vector<Route> routes = {},
                    std::vector<Consumer> consumers = {}) {
  Service s;
  s.name = std::move(name);
  s.routes = std::move(routes);
  s.consumers = std::move(consumers);
  return s;
}

// orders POST /orders publishes orders:created; fulfilment consumes it from queue "fulfil" and
// calls stock Reserve; dlq-reader reads the dead-letter queue "orders-dlq".
Scenario Pipeline() {
  Scenario s;
  s.seed = 5;
  Consumer fulfil = MakeConsumer("fulfil", "orders", "created",
                                 {CallStep{false, {CallTo("stock", "Reserve")}}});
  fulfil.dead_letter = "orders-dlq";
  s.services = {
      MakeService("orders", {MakeRoute("POST /orders", {CallStep{false, {Publish("orders", "created")}}})}),
      MakeService("fulfilment", {}, {fulfil}),
      MakeService("stock", {MakeRoute("Reserve")}),
      MakeService("dlq-reader", {}, {MakeConsumer("orders-dlq", "", "")}),
  };
  return s;
}

std::vector<std::string> Shape(const ExpectedTree& tree) {
  std::vector<std::string> out;
  for (const auto& s : tree.spans) {
    std::string line = s.hop + " " + std::string(SpanKindName(s.kind)) + " " + s.service +
                       " <- " + std::to_string(s.parent);
    if (!s.queue.empty()) line += " [" + s.queue + "]";
    if (s.optional) line += " (optional)";
    if (s.linked) line += " (linked)";
    if (s.parent_unexported) line += " (parent unexported)";
    out.push_back(line);
  }
  return out;
}

const LoadEntry kEntry{"orders", "POST /orders"};

TEST(ExpectedTreeAsyncTest, SinglePublishIsAProducerAndAConsumerSpanWithTheConsumersCalls) {
  const Scenario s = Pipeline();
  const std::vector<std::string> want = {
      "0 CLIENT tracerig-driver <- -1", "0 SERVER orders <- 0",
      "0.0 PRODUCER orders <- 1",       "0.0 CONSUMER fulfilment <- 2 [fulfil]",
      "0.0.0 CLIENT fulfilment <- 3",   "0.0.0 SERVER stock <- 4"};
  const ExpectedTree tree = BuildExpectedTree(s, kEntry);
  EXPECT_EQ(Shape(tree), want);
  EXPECT_EQ(Shape(BuildExpectedTree(s, kEntry, 9)), want);
  EXPECT_FALSE(TreeVariesPerRequest(s));
  EXPECT_EQ(tree.spans[2].name, "send orders:created");
  EXPECT_EQ(tree.spans[2].peer, "fulfilment");
  EXPECT_EQ(tree.spans[3].name, "process orders:created");
  EXPECT_EQ(tree.spans[3].peer, "orders");
  EXPECT_EQ(RequiredSpanCount(tree), 6u);
}

TEST(ExpectedTreeAsyncTest, APublishNoConsumerBindsIsAProducerSpanAlone) {
  Scenario s = Pipeline();
  s.services[0].routes[0].calls[0].calls[0].routing_key = "cancelled";
  const std::vector<std::string> want = {"0 CLIENT tracerig-driver <- -1", "0 SERVER orders <- 0",
                                         "0.0 PRODUCER orders <- 1"};
  const ExpectedTree tree = BuildExpectedTree(s, kEntry);
  EXPECT_EQ(Shape(tree), want);
  EXPECT_EQ(tree.spans[2].peer, "");
}

TEST(ExpectedTreeAsyncTest, ABatchConsumersSpanIsLinkedAndItsCallsAreInItsOwnTrace) {
  Scenario s = Pipeline();
  s.services[1].consumers[0].batch = BatchSpec{10, 5'000'000};
  const std::vector<std::string> want = {"0 CLIENT tracerig-driver <- -1", "0 SERVER orders <- 0",
                                         "0.0 PRODUCER orders <- 1",
                                         "0.0 CONSUMER fulfilment <- 2 [fulfil] (linked)"};
  const ExpectedTree tree = BuildExpectedTree(s, kEntry, 1);
  EXPECT_EQ(Shape(tree), want);
  // The batch span is not under the request's trace id: a poll need not wait for it.
  EXPECT_EQ(RequiredSpanCount(tree), 3u);
}

TEST(ExpectedTreeAsyncTest, FailingDeliveriesAreRedeliveredThenDeadLettered) {
  Scenario s = Pipeline();
  s.services[1].consumers[0].error_rate = 1.0;
  s.services[1].consumers[0].redeliveries = 2;
  const std::vector<std::string> want = {
      "0 CLIENT tracerig-driver <- -1",      "0 SERVER orders <- 0",
      "0.0 PRODUCER orders <- 1",            "0.0 CONSUMER fulfilment <- 2 [fulfil]",
      "0.0.0 CLIENT fulfilment <- 3",        "0.0.0 SERVER stock <- 4",
      "0.0d1 CONSUMER fulfilment <- 2 [fulfil]", "0.0d1.0 CLIENT fulfilment <- 6",
      "0.0d1.0 SERVER stock <- 7",           "0.0d2 CONSUMER fulfilment <- 2 [fulfil]",
      "0.0d2.0 CLIENT fulfilment <- 9",      "0.0d2.0 SERVER stock <- 10",
      "0.0q CONSUMER dlq-reader <- 2 [orders-dlq]"};
  // An error rate of 1 decides the same for every request, and the tree without decisions knows.
  EXPECT_FALSE(TreeVariesPerRequest(s));
  EXPECT_EQ(Shape(BuildExpectedTree(s, kEntry, 4)), want);
  EXPECT_EQ(Shape(BuildExpectedTree(s, kEntry)), want);

  // Nobody reads the dead-letter queue: the message is dropped there.
  s.services[3].consumers.clear();
  std::vector<std::string> without_dlq = want;
  without_dlq.pop_back();
  EXPECT_EQ(Shape(BuildExpectedTree(s, kEntry, 4)), without_dlq);
}

TEST(ExpectedTreeAsyncTest, RedeliveriesFollowTheSeededDecisionAtEachDeliveryHop) {
  Scenario s = Pipeline();
  s.services[1].consumers[0].error_rate = 0.5;
  s.services[1].consumers[0].redeliveries = 1;
  s.services[1].consumers[0].calls.clear();
  ASSERT_TRUE(TreeVariesPerRequest(s));
  int redelivered = 0;
  int dead_lettered = 0;
  for (uint64_t seq = 0; seq < 200; ++seq) {
    const bool first_fails = RouteErrors(DecisionPoint(5, seq, "0.0", "fulfilment"), 0.5);
    const bool second_fails =
        first_fails && RouteErrors(DecisionPoint(5, seq, "0.0d1", "fulfilment"), 0.5);
    std::vector<std::string> want = {"0 CLIENT tracerig-driver <- -1", "0 SERVER orders <- 0",
                                     "0.0 PRODUCER orders <- 1",
                                     "0.0 CONSUMER fulfilment <- 2 [fulfil]"};
    if (first_fails) want.push_back("0.0d1 CONSUMER fulfilment <- 2 [fulfil]");
    if (second_fails) want.push_back("0.0q CONSUMER dlq-reader <- 2 [orders-dlq]");
    EXPECT_EQ(Shape(BuildExpectedTree(s, kEntry, seq)), want) << seq;
    redelivered += first_fails;
    dead_lettered += second_fails;
  }
  EXPECT_GT(redelivered, 70);
  EXPECT_LT(redelivered, 130);
  EXPECT_GT(dead_lettered, 25);
  EXPECT_LT(dead_lettered, 75);

  // Without decisions, the later deliveries may or may not happen.
  const std::vector<std::string> static_want = {
      "0 CLIENT tracerig-driver <- -1",
      "0 SERVER orders <- 0",
      "0.0 PRODUCER orders <- 1",
      "0.0 CONSUMER fulfilment <- 2 [fulfil]",
      "0.0d1 CONSUMER fulfilment <- 2 [fulfil] (optional)",
      "0.0q CONSUMER dlq-reader <- 2 [orders-dlq] (optional)"};
  EXPECT_EQ(Shape(BuildExpectedTree(s, kEntry)), static_want);

  // No redelivery and no dead-letter queue: a failure changes nothing in the tree.
  s.services[1].consumers[0].redeliveries = 0;
  s.services[1].consumers[0].dead_letter.clear();
  EXPECT_FALSE(TreeVariesPerRequest(s));
}

TEST(ExpectedTreeAsyncTest, APublishWithAProbabilityFollowsTheCallersDecision) {
  Scenario s = Pipeline();
  s.services[0].routes[0].calls[0].calls[0].probability = 0.5;
  ASSERT_TRUE(TreeVariesPerRequest(s));
  int published = 0;
  for (uint64_t seq = 0; seq < 200; ++seq) {
    const bool happens = CallHappens(DecisionPoint(5, seq, "0.0", "orders"), 0.5);
    EXPECT_EQ(BuildExpectedTree(s, kEntry, seq).spans.size(), happens ? 6u : 2u) << seq;
    published += happens;
  }
  EXPECT_GT(published, 70);
  EXPECT_LT(published, 130);

  // A consumer's own call with a probability makes trees vary as a route's does.
  Scenario c = Pipeline();
  c.services[1].consumers[0].calls[0].calls[0].probability = 0.5;
  EXPECT_TRUE(TreeVariesPerRequest(c));
}

TEST(ExpectedTreeAsyncTest, ConsumersSampleOnTheMessagesFlag) {
  Scenario s = Pipeline();
  s.services[0].sampling.kind = SamplingPolicy::Kind::kNever;
  s.services[1].sampling.kind = SamplingPolicy::Kind::kParentBased;
  s.services[2].sampling.kind = SamplingPolicy::Kind::kAlways;
  // orders samples nothing: no PRODUCER span, and parent-based fulfilment follows the headers'
  // flag; stock samples always, below an unexported parent.
  const std::vector<std::string> want = {"0 CLIENT tracerig-driver <- -1",
                                         "0.0.0 SERVER stock <- 0 (parent unexported)"};
  const ExpectedTree tree = BuildExpectedTree(s, kEntry, 2);
  EXPECT_EQ(Shape(tree), want);
  EXPECT_EQ(tree.unsampled_visits, (std::vector<std::string>{"orders", "fulfilment"}));
  EXPECT_EQ(Shape(BuildExpectedTree(s, kEntry)), want);
}

TEST(ExpectedTreeAsyncTest, PublishingCostsThePublisherNoTime) {
  Scenario s = Pipeline();
  s.services[0].routes[0].latency = LatencyModel{LatencyModel::Kind::kFixed, 1'000'000, 0};
  s.services[2].routes[0].latency = LatencyModel{LatencyModel::Kind::kFixed, 900'000'000, 0};
  EXPECT_EQ(CalleeWorstCaseNs(s, "orders", "POST /orders"), 1'000'000u);
}

TEST(ExpectedTreeAsyncTest, AConsumerCycleThatSlippedPastValidationStillTerminates) {
  // fulfilment's consumer publishes back to its own binding.
  Scenario s = Pipeline();
  s.services[1].consumers[0].calls = {CallStep{false, {Publish("orders", "created")}}};
  const ExpectedTree tree = BuildExpectedTree(s, kEntry);
  EXPECT_GT(tree.spans.size(), 4u);
  EXPECT_LT(tree.spans.size(), 40u);
}

TEST(ExpectedTreeAsyncTest, ABatchSpanUnderAnUnsampledPublisherIsNoSampledOutVisit) {
  // The batch span decides as a root (its own trace), never on the message's sampled=0.
  Scenario s = Pipeline();
  s.services[0].sampling.kind = SamplingPolicy::Kind::kNever;
  s.services[1].sampling.kind = SamplingPolicy::Kind::kParentBased;
  s.services[1].consumers[0].batch = BatchSpec{10, 5'000'000};
  for (const ExpectedTree& tree : {BuildExpectedTree(s, kEntry), BuildExpectedTree(s, kEntry, 2)}) {
    EXPECT_EQ(tree.unsampled_visits, (std::vector<std::string>{"orders"}));
    EXPECT_EQ(Shape(tree), (std::vector<std::string>{
                               "0 CLIENT tracerig-driver <- -1",
                               "0.0 CONSUMER fulfilment <- 0 [fulfil] (linked) (parent unexported)"}));
  }
}

TEST(ExpectedTreeAsyncTest, ConsumersWorstCasesExtendTheSettleTime) {
  Scenario s = Pipeline();
  EXPECT_EQ(BuildExpectedTree(s, kEntry).async_settle_ns, 0u);  // no latencies at all
  s.services[1].consumers[0].latency = LatencyModel{LatencyModel::Kind::kFixed, 3'000'000'000, 0};
  s.services[2].routes[0].latency = LatencyModel{LatencyModel::Kind::kFixed, 200'000'000, 0};
  // One delivery: the consumer's latency and its call to stock.
  EXPECT_EQ(BuildExpectedTree(s, kEntry).async_settle_ns, 3'200'000'000u);
  // A batch waits to fill first.
  s.services[1].consumers[0].batch = BatchSpec{10, 500'000'000};
  EXPECT_EQ(BuildExpectedTree(s, kEntry).async_settle_ns, 3'700'000'000u);
  // Without a publish nothing is added.
  s.services[0].routes[0].calls.clear();
  EXPECT_EQ(BuildExpectedTree(s, kEntry).async_settle_ns, 0u);
}

TEST(ExpectedTreeAsyncTest, DeliveryHops) {
  EXPECT_EQ(RedeliveryHop("0.1", 2), "0.1d2");
  EXPECT_EQ(DeadLetterHop("0.1"), "0.1q");
}

}  // namespace
}  // namespace tracerig
