// The Broker contract (src/broker/broker.h) every implementation passes: publish/consume/ack,
// topic routing, the prefetch bound, Stop requeueing unacked deliveries, header tables with
// repeated names, unroutable messages and Declare purging queues. Instantiated per broker by
// embedded_broker_test.cc and rabbit_broker_test.cc.
#include "tests/broker/broker_contract.h"

#include <atomic>
#include <future>
#include <set>

namespace tracerig::test_support {

void BrokerContract::SetUp() {
  auto made = GetParam().make();
  if (!made.ok()) GTEST_SKIP() << made.error().message;
  broker_ = std::move(made).value();
}

std::string BrokerContract::Name(const std::string& suffix) const {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string name = std::string("tr.") + info->name();
  for (char& c : name) {
    if (c == '/') c = '.';
  }
  return name + "." + suffix;
}

Status BrokerContract::PublishAndWait(OutgoingMessage message) {
  std::promise<Status> done;
  auto future = done.get_future();
  broker_->Publish(std::move(message), [&done](Status s) { done.set_value(std::move(s)); });
  if (future.wait_for(std::chrono::seconds(10)) != std::future_status::ready) {
    return MakeError(ErrorCode::kInternal, "publish not confirmed within 10 s");
  }
  return future.get();
}

namespace {

OutgoingMessage Message(std::string exchange, std::string routing_key, std::string body) {
  OutgoingMessage m;
  m.exchange = std::move(exchange);
  m.routing_key = std::move(routing_key);
  m.message_id = "id-" + body;
  m.body = std::move(body);
  return m;
}

std::vector<std::string> Bodies(const std::vector<Delivery>& deliveries) {
  std::vector<std::string> bodies;
  for (const Delivery& d : deliveries) bodies.push_back(d.body);
  return bodies;
}

// Waits until `condition` holds or 10 s pass.
template <typename F>
bool Eventually(F condition) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

TEST_P(BrokerContract, PublishConsumeAck) {
  const std::string ex = Name("x"), q = Name("q");
  ASSERT_TRUE(broker_->Declare({{ex}, {{q}}, {{ex, "a.*", q}}}).ok());
  for (const char* body : {"one", "two", "three"}) {
    auto s = PublishAndWait(Message(ex, "a.b", body));
    ASSERT_TRUE(s.ok()) << s.error().message;
  }
  DeliveryLog log;
  auto sub = broker_->Consume(q, 10, [&](Delivery d) { log.Add(std::move(d)); });
  ASSERT_TRUE(sub.ok()) << sub.error().message;
  ASSERT_TRUE(log.WaitFor(3));
  const auto got = log.Snapshot();
  EXPECT_EQ(Bodies(got), (std::vector<std::string>{"one", "two", "three"}));
  std::set<uint64_t> tags;
  for (const Delivery& d : got) {
    EXPECT_EQ(d.queue, q);
    EXPECT_EQ(d.exchange, ex);
    EXPECT_EQ(d.routing_key, "a.b");
    EXPECT_EQ(d.message_id, "id-" + d.body);
    EXPECT_FALSE(d.redelivered);
    EXPECT_NE(d.delivery_tag, 0u);
    tags.insert(d.delivery_tag);
  }
  EXPECT_EQ(tags.size(), 3u);
  for (const Delivery& d : got) (*sub)->Ack(d.delivery_tag);
  (*sub)->Ack(999999);  // unknown tags are ignored
  EXPECT_TRUE(Eventually([&] { return broker_->stats().acked == 3; }));
  (*sub)->Stop();
  // Acked messages are gone for good: a new consumer gets only what is published next.
  DeliveryLog again;
  auto sub2 = broker_->Consume(q, 10, [&](Delivery d) { again.Add(std::move(d)); });
  ASSERT_TRUE(sub2.ok());
  ASSERT_TRUE(PublishAndWait(Message(ex, "a.c", "four")).ok());
  ASSERT_TRUE(again.WaitFor(1));
  EXPECT_EQ(again.Snapshot()[0].body, "four");
  EXPECT_FALSE(again.Snapshot()[0].redelivered);
  const BrokerStats stats = broker_->stats();
  EXPECT_EQ(stats.published, 4u);
  EXPECT_EQ(stats.delivered, 4u);
  EXPECT_EQ(stats.unroutable, 0u);
  EXPECT_EQ(stats.publish_failures, 0u);
}

TEST_P(BrokerContract, TopicRoutingAndDefaultExchange) {
  const std::string ex = Name("x");
  const std::string q1 = Name("star"), q2 = Name("hash"), q3 = Name("created"), q4 = Name("dq");
  BrokerTopology topology{{ex},
                          {{q1}, {q2}, {q3}, {q4}},
                          {{ex, "order.*", q1},
                           {ex, "order.#", q2},
                           {ex, "#.created", q3},
                           {ex, "order.created", q3}}};  // a second binding: still one copy
  ASSERT_TRUE(broker_->Declare(topology).ok());
  for (const char* key : {"order.created", "order", "order.a.b", "x.created", "nothing"}) {
    ASSERT_TRUE(PublishAndWait(Message(ex, key, key)).ok());
  }
  ASSERT_TRUE(PublishAndWait(Message("", q4, "direct")).ok());  // the default exchange
  const std::vector<std::string> queues = {q1, q2, q3, q4};
  std::vector<std::unique_ptr<DeliveryLog>> logs;
  std::vector<std::unique_ptr<Subscription>> subs;
  for (const std::string& q : queues) {
    logs.push_back(std::make_unique<DeliveryLog>());
    auto sub = broker_->Consume(q, 0, [log = logs.back().get()](Delivery d) {
      log->Add(std::move(d));
    });
    ASSERT_TRUE(sub.ok()) << sub.error().message;
    subs.push_back(std::move(sub).value());
  }
  const std::vector<std::vector<std::string>> want = {
      {"order.created"}, {"order.created", "order", "order.a.b"}, {"order.created", "x.created"},
      {"direct"}};
  for (size_t i = 0; i < want.size(); ++i) {
    ASSERT_TRUE(logs[i]->WaitFor(want[i].size())) << i;
  }
  // Messages routed later would land after these; publish a marker to each queue through the
  // default exchange and wait for it, so nothing unexpected is still in flight.
  for (size_t i = 0; i < subs.size(); ++i) {
    ASSERT_TRUE(PublishAndWait(Message("", queues[i], "end")).ok());
    ASSERT_TRUE(logs[i]->WaitFor(want[i].size() + 1));
    auto bodies = Bodies(logs[i]->Snapshot());
    bodies.pop_back();
    EXPECT_EQ(bodies, want[i]) << "queue " << i;
  }
  const Delivery direct = logs[3]->Snapshot()[0];
  EXPECT_EQ(direct.exchange, "");
  EXPECT_EQ(direct.routing_key, q4);
  EXPECT_EQ(broker_->stats().unroutable, 1u);  // "nothing"
}

TEST_P(BrokerContract, PrefetchBoundsUnackedDeliveries) {
  const std::string ex = Name("x"), q = Name("q");
  ASSERT_TRUE(broker_->Declare({{ex}, {{q}}, {{ex, "#", q}}}).ok());
  constexpr int kMessages = 12;
  constexpr uint32_t kPrefetch = 3;
  for (int i = 0; i < kMessages; ++i) {
    ASSERT_TRUE(PublishAndWait(Message(ex, "k", std::to_string(i))).ok());
  }
  // The callback sees how many deliveries are unacked when each arrives; the test acks one at a
  // time, counting the ack before sending it so the count never overstates what is unacked.
  std::atomic<int> acked{0};
  std::atomic<int> max_unacked{0};
  std::atomic<int> received{0};
  DeliveryLog log;
  auto sub = broker_->Consume(q, kPrefetch, [&](Delivery d) {
    const int unacked = received.fetch_add(1) + 1 - acked.load();
    int seen = max_unacked.load();
    while (unacked > seen && !max_unacked.compare_exchange_weak(seen, unacked)) {
    }
    log.Add(std::move(d));
  });
  ASSERT_TRUE(sub.ok());
  ASSERT_TRUE(log.WaitFor(kPrefetch));  // a full window before the first ack
  for (int i = 0; i < kMessages; ++i) {
    ASSERT_TRUE(log.WaitFor(i + 1)) << i;
    const Delivery d = log.Snapshot()[i];
    EXPECT_EQ(d.body, std::to_string(i));
    acked.fetch_add(1);
    (*sub)->Ack(d.delivery_tag);
  }
  EXPECT_EQ(max_unacked.load(), static_cast<int>(kPrefetch));
  EXPECT_EQ(log.size(), static_cast<size_t>(kMessages));
}

TEST_P(BrokerContract, StopRequeuesUnackedAsRedelivered) {
  const std::string ex = Name("x"), q = Name("q");
  ASSERT_TRUE(broker_->Declare({{ex}, {{q}}, {{ex, "k", q}}}).ok());
  for (const char* body : {"1", "2", "3", "4", "5"}) {
    ASSERT_TRUE(PublishAndWait(Message(ex, "k", body)).ok());
  }
  DeliveryLog first;
  auto a = broker_->Consume(q, 2, [&](Delivery d) { first.Add(std::move(d)); });
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(first.WaitFor(2));
  (*a)->Stop();
  (*a)->Stop();  // idempotent
  const size_t before = first.size();
  EXPECT_EQ(Bodies(first.Snapshot()), (std::vector<std::string>{"1", "2"}));
  (*a)->Ack(first.Snapshot()[0].delivery_tag);  // after Stop: ignored, the message is requeued

  DeliveryLog second;
  auto b = broker_->Consume(q, 10, [&](Delivery d) { second.Add(std::move(d)); });
  ASSERT_TRUE(b.ok());
  ASSERT_TRUE(second.WaitFor(5));
  const auto got = second.Snapshot();
  EXPECT_EQ(Bodies(got), (std::vector<std::string>{"1", "2", "3", "4", "5"}));
  EXPECT_TRUE(got[0].redelivered);
  EXPECT_TRUE(got[1].redelivered);
  EXPECT_FALSE(got[2].redelivered);
  EXPECT_EQ(got[0].message_id, "id-1");
  EXPECT_EQ(first.size(), before);  // no callback after Stop returned
}

TEST_P(BrokerContract, HeadersWithRepeatedNamesRoundTripInOrder) {
  const std::string ex = Name("x"), q = Name("q");
  ASSERT_TRUE(broker_->Declare({{ex}, {{q}}, {{ex, "k", q}}}).ok());
  OutgoingMessage m = Message(ex, "k", std::string("body\0with nul", 13));
  m.headers = {{"traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"},
               {"tracestate", "congo=t61rcWkgMzE"},
               {"traceparent", "00-0af7651916cd43dd8448eb211c80319c-00f067aa0ba902b7-01"},
               {"empty", ""},
               {"tracerig-hop", "0.1"},
               {"utf8", "grüße"}};
  const auto sent = m.headers;
  ASSERT_TRUE(PublishAndWait(std::move(m)).ok());
  DeliveryLog log;
  auto sub = broker_->Consume(q, 1, [&](Delivery d) { log.Add(std::move(d)); });
  ASSERT_TRUE(sub.ok());
  ASSERT_TRUE(log.WaitFor(1));
  EXPECT_EQ(log.Snapshot()[0].headers, sent);
  EXPECT_EQ(log.Snapshot()[0].body, std::string("body\0with nul", 13));
}

TEST_P(BrokerContract, UnroutableMessagesAreCountedAndDropped) {
  const std::string ex = Name("x"), q = Name("q");
  ASSERT_TRUE(broker_->Declare({{ex}, {{q}}, {{ex, "wanted", q}}}).ok());
  ASSERT_TRUE(PublishAndWait(Message(ex, "unwanted", "lost")).ok());
  ASSERT_TRUE(PublishAndWait(Message("", Name("no-such-queue"), "lost too")).ok());
  ASSERT_TRUE(PublishAndWait(Message(ex, "wanted", "kept")).ok());
  const BrokerStats stats = broker_->stats();
  EXPECT_EQ(stats.published, 3u);
  EXPECT_EQ(stats.unroutable, 2u);
  DeliveryLog log;
  auto sub = broker_->Consume(q, 0, [&](Delivery d) { log.Add(std::move(d)); });
  ASSERT_TRUE(sub.ok());
  ASSERT_TRUE(log.WaitFor(1));
  EXPECT_EQ(log.Snapshot()[0].body, "kept");
}

TEST_P(BrokerContract, DeclareEmptiesDeclaredQueues) {
  const std::string ex = Name("x"), q = Name("q");
  const BrokerTopology topology{{ex}, {{q}}, {{ex, "k", q}}};
  ASSERT_TRUE(broker_->Declare(topology).ok());
  ASSERT_TRUE(PublishAndWait(Message(ex, "k", "stale-1")).ok());
  ASSERT_TRUE(PublishAndWait(Message(ex, "k", "stale-2")).ok());
  ASSERT_TRUE(broker_->Declare(topology).ok());  // idempotent, and empties q
  ASSERT_TRUE(PublishAndWait(Message(ex, "k", "fresh")).ok());
  DeliveryLog log;
  auto sub = broker_->Consume(q, 0, [&](Delivery d) { log.Add(std::move(d)); });
  ASSERT_TRUE(sub.ok());
  ASSERT_TRUE(log.WaitFor(1));
  ASSERT_TRUE(PublishAndWait(Message("", q, "marker")).ok());
  ASSERT_TRUE(log.WaitFor(2));
  EXPECT_EQ(Bodies(log.Snapshot()), (std::vector<std::string>{"fresh", "marker"}));
}

TEST_P(BrokerContract, ConsumingAnUndeclaredQueueIsAnError) {
  auto sub = broker_->Consume(Name("missing"), 1, [](Delivery) {});
  ASSERT_FALSE(sub.ok());
  EXPECT_NE(sub.error().message.find(Name("missing")), std::string::npos) << sub.error().message;
  // The broker still works afterwards.
  const std::string q = Name("q");
  ASSERT_TRUE(broker_->Declare({{}, {{q}}, {}}).ok());
  ASSERT_TRUE(PublishAndWait(Message("", q, "after")).ok());
  DeliveryLog log;
  auto ok = broker_->Consume(q, 1, [&](Delivery d) { log.Add(std::move(d)); });
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  ASSERT_TRUE(log.WaitFor(1));
}

TEST_P(BrokerContract, CloseStopsSubscriptionsAndRefusesPublishes) {
  const std::string q = Name("q");
  ASSERT_TRUE(broker_->Declare({{}, {{q}}, {}}).ok());
  DeliveryLog log;
  auto sub = broker_->Consume(q, 1, [&](Delivery d) { log.Add(std::move(d)); });
  ASSERT_TRUE(sub.ok());
  ASSERT_TRUE(PublishAndWait(Message("", q, "1")).ok());
  ASSERT_TRUE(log.WaitFor(1));
  broker_->Close();
  broker_->Close();  // idempotent
  EXPECT_FALSE(PublishAndWait(Message("", q, "2")).ok());
  (*sub)->Stop();  // after Close: harmless
  EXPECT_EQ(log.size(), 1u);
}

}  // namespace
}  // namespace tracerig::test_support
