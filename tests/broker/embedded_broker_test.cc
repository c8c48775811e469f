// The embedded broker: the shared Broker contract, plus what only an in-process broker can be
// asked cheaply: many concurrent publishers and consumers, and subscriptions stopped or destroyed
// from inside their own callback.
#include "broker/embedded_broker.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <optional>
#include <set>
#include <thread>

#include "broker/broker_factory.h"
#include "tests/broker/broker_contract.h"

namespace tracerig::test_support {
namespace {

INSTANTIATE_TEST_SUITE_P(Embedded, BrokerContract,
                         ::testing::Values(BrokerUnderTest{
                             "Embedded",
                             [] { return MakeBroker(""); }}),
                         BrokerName);

OutgoingMessage Direct(std::string queue, std::string body) {
  OutgoingMessage m;
  m.routing_key = std::move(queue);
  m.body = std::move(body);
  return m;
}

TEST(EmbeddedBroker, DescribesItself) {
  EXPECT_EQ(MakeEmbeddedBroker()->Describe(), "embedded broker");
}

TEST(EmbeddedBroker, ConcurrentPublishersAndCompetingConsumersLoseNothing) {
  auto broker = MakeEmbeddedBroker();
  ASSERT_TRUE(broker->Declare({{"x"}, {{"q"}}, {{"x", "work.#", "q"}}}).ok());
  constexpr int kPublishers = 4;
  constexpr int kPerPublisher = 5000;
  std::mutex mu;
  std::multiset<std::string> seen;
  std::atomic<int> received{0};
  std::vector<std::unique_ptr<Subscription>> subs(3);
  for (size_t i = 0; i < subs.size(); ++i) {
    auto sub = broker->Consume("q", 16, [&, i](Delivery d) {
      {
        std::lock_guard lock(mu);
        seen.insert(d.body);
      }
      subs[i]->Ack(d.delivery_tag);
      received.fetch_add(1);
    });
    ASSERT_TRUE(sub.ok());
    subs[i] = std::move(sub).value();
  }
  std::atomic<int> confirmed{0};
  std::vector<std::thread> publishers;
  for (int p = 0; p < kPublishers; ++p) {
    publishers.emplace_back([&, p] {
      for (int i = 0; i < kPerPublisher; ++i) {
        OutgoingMessage m;
        m.exchange = "x";
        m.routing_key = "work.item";
        m.body = std::to_string(p) + ":" + std::to_string(i);
        broker->Publish(std::move(m), [&](Status s) {
          if (s.ok()) confirmed.fetch_add(1);
        });
      }
    });
  }
  for (auto& t : publishers) t.join();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (received.load() < kPublishers * kPerPublisher &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  for (auto& s : subs) s->Stop();
  EXPECT_EQ(confirmed.load(), kPublishers * kPerPublisher);
  EXPECT_EQ(received.load(), kPublishers * kPerPublisher);
  std::lock_guard lock(mu);
  EXPECT_EQ(seen.size(), static_cast<size_t>(kPublishers * kPerPublisher));
  EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()).size(), seen.size());  // no duplicates
  const BrokerStats stats = broker->stats();
  EXPECT_EQ(stats.delivered, static_cast<uint64_t>(kPublishers * kPerPublisher));
  EXPECT_EQ(stats.acked, stats.delivered);
}

TEST(EmbeddedBroker, StopFromInsideTheCallbackRequeuesTheRest) {
  auto broker = MakeEmbeddedBroker();
  ASSERT_TRUE(broker->Declare({{}, {{"q"}}, {}}).ok());
  for (const char* body : {"1", "2", "3"}) broker->Publish(Direct("q", body), nullptr);
  std::unique_ptr<Subscription> sub;
  std::atomic<int> calls{0};
  std::promise<void> stopped;
  auto made = broker->Consume("q", 10, [&](Delivery) {
    if (calls.fetch_add(1) == 0) {
      sub->Stop();  // the three are already taken as one batch: the other two must not arrive
      stopped.set_value();
    }
  });
  ASSERT_TRUE(made.ok());
  sub = std::move(made).value();
  ASSERT_EQ(stopped.get_future().wait_for(std::chrono::seconds(10)), std::future_status::ready);
  sub.reset();  // joins the delivery thread
  EXPECT_EQ(calls.load(), 1);
  DeliveryLog log;
  auto again = broker->Consume("q", 10, [&](Delivery d) { log.Add(std::move(d)); });
  ASSERT_TRUE(again.ok());
  ASSERT_TRUE(log.WaitFor(3));
  const auto got = log.Snapshot();
  EXPECT_EQ(got[0].body, "1");
  EXPECT_EQ(got[2].body, "3");
  for (const Delivery& d : got) EXPECT_TRUE(d.redelivered);
}

TEST(EmbeddedBroker, SubscriptionDestroyedInsideItsCallback) {
  auto broker = MakeEmbeddedBroker();
  ASSERT_TRUE(broker->Declare({{}, {{"q"}}, {}}).ok());
  std::unique_ptr<Subscription> sub;
  std::promise<void> destroyed;
  std::mutex mu;
  auto made = broker->Consume("q", 1, [&](Delivery) {
    std::unique_ptr<Subscription> self;
    {
      std::lock_guard lock(mu);
      self = std::move(sub);
    }
    self.reset();
    destroyed.set_value();
  });
  ASSERT_TRUE(made.ok());
  {
    std::lock_guard lock(mu);
    sub = std::move(made).value();
  }
  broker->Publish(Direct("q", "1"), nullptr);
  ASSERT_EQ(destroyed.get_future().wait_for(std::chrono::seconds(10)), std::future_status::ready);
  broker.reset();
}

TEST(EmbeddedBroker, FanOutGivesEachQueueItsOwnCopy) {
  auto broker = MakeEmbeddedBroker();
  ASSERT_TRUE(broker->Declare({{"x"}, {{"a"}, {"b"}}, {{"x", "#", "a"}, {"x", "k", "b"}}}).ok());
  OutgoingMessage m;
  m.exchange = "x";
  m.routing_key = "k";
  m.message_id = "m1";
  m.headers = {{"h", "v"}};
  m.body = "payload";
  broker->Publish(std::move(m), nullptr);
  DeliveryLog a, b;
  auto sa = broker->Consume("a", 0, [&](Delivery d) { a.Add(std::move(d)); });
  auto sb = broker->Consume("b", 0, [&](Delivery d) { b.Add(std::move(d)); });
  ASSERT_TRUE(sa.ok() && sb.ok());
  ASSERT_TRUE(a.WaitFor(1) && b.WaitFor(1));
  for (DeliveryLog* log : {&a, &b}) {
    const Delivery d = log->Snapshot()[0];
    EXPECT_EQ(d.body, "payload");
    EXPECT_EQ(d.message_id, "m1");
    EXPECT_EQ(d.headers, (std::vector<MessageHeader>{{"h", "v"}}));
  }
  EXPECT_EQ(a.Snapshot()[0].queue, "a");
  EXPECT_EQ(b.Snapshot()[0].queue, "b");
}

TEST(EmbeddedBroker, DeclareErrorsNameTheMissingPart) {
  auto broker = MakeEmbeddedBroker();
  auto s = broker->Declare({{"x"}, {{"q"}}, {{"y", "#", "q"}}});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().message,
            "embedded broker: binding of queue \"q\" names undeclared exchange \"y\"");
  s = broker->Declare({{"x"}, {}, {{"x", "#", "nope"}}});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().message,
            "embedded broker: binding to exchange \"x\" names undeclared queue \"nope\"");
  std::optional<Status> published;
  OutgoingMessage m;
  m.exchange = "absent";
  broker->Publish(std::move(m), [&](Status st) { published = std::move(st); });
  ASSERT_TRUE(published.has_value());
  ASSERT_FALSE(published->ok());
  EXPECT_EQ(published->error().code, ErrorCode::kNotFound);
  EXPECT_EQ(broker->stats().publish_failures, 1u);
}

}  // namespace
}  // namespace tracerig::test_support
