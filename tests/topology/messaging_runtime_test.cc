// The simulated services publishing and consuming through a broker (a FakeBroker; the embedded and
// RabbitMQ brokers have their own tests): PRODUCER and CONSUMER spans, the context and ground
// truth in the message headers, calls under a consumer, redelivery and dead-lettering, batches.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <set>

#include "core/ledger.h"
#include "propagation/w3c.h"
#include "tests/topology/messaging_test_support.h"
#include "topology/decisions.h"
#include "topology/expected_tree.h"
#include "topology/ground_truth.h"
#include "topology/message_headers.h"

namespace tracerig {
namespace {

using messaging_test_support::Attr;
using messaging_test_support::Cons;
using messaging_test_support::CountHeader;
using messaging_test_support::Find;
using messaging_test_support::HeaderOf;
using messaging_test_support::LinkAttr;
using messaging_test_support::MessagingRig;
using messaging_test_support::OrderPipeline;
using messaging_test_support::Pub;
using runtime_test_support::kTrace;
using runtime_test_support::Rt;
using runtime_test_support::Seq;
using runtime_test_support::Svc;
using runtime_test_support::To;

TEST(MessagingRuntime, PublishConsumeCallChainRecordsProducerConsumerAndCalls) {
  MessagingRig rig(OrderPipeline());
  ASSERT_TRUE(rig.Start().ok());
  ASSERT_EQ(rig.Send("orders", "GET /order", 0), 200u);
  // orders SERVER + PRODUCER, fulfilment CONSUMER + CLIENT, ship SERVER.
  ASSERT_TRUE(rig.WaitForSpans(5)) << rig.spans().size();
  rig.Stop();
  const auto spans = rig.spans();
  const Span* server = Find(spans, "orders", SpanKind::kServer, "0");
  const Span* producer = Find(spans, "orders", SpanKind::kProducer, "0.0");
  const Span* consumer = Find(spans, "fulfilment", SpanKind::kConsumer, "0.0");
  const Span* client = Find(spans, "fulfilment", SpanKind::kClient, "0.0.0");
  const Span* ship = Find(spans, "ship", SpanKind::kServer, "0.0.0");
  ASSERT_TRUE(server && producer && consumer && client && ship);
  const std::string request_id = FormatRequestId(1);
  const std::string message_id = request_id + "-0.0";

  EXPECT_EQ(producer->name, "send orders:created");
  EXPECT_EQ(producer->trace_id, kTrace);
  EXPECT_EQ(producer->parent_span_id, server->span_id);
  EXPECT_EQ(Attr(*producer, "messaging.system"), "rabbitmq");
  EXPECT_EQ(Attr(*producer, "messaging.operation.type"), "send");
  EXPECT_EQ(Attr(*producer, "messaging.operation.name"), "send");
  EXPECT_EQ(Attr(*producer, "messaging.destination.name"), "orders:created");
  EXPECT_EQ(Attr(*producer, "messaging.rabbitmq.destination.routing_key"), "created");
  EXPECT_EQ(Attr(*producer, "messaging.message.id"), message_id);
  EXPECT_EQ(Attr(*producer, std::string(kRequestIdAttribute)), request_id);
  EXPECT_EQ(producer->status_code, StatusCode::kUnset);

  EXPECT_EQ(consumer->name, "process orders:created");
  EXPECT_EQ(consumer->trace_id, kTrace);
  EXPECT_EQ(consumer->parent_span_id, producer->span_id);
  EXPECT_EQ(Attr(*consumer, "messaging.operation.type"), "process");
  EXPECT_EQ(Attr(*consumer, "messaging.operation.name"), "process");
  EXPECT_EQ(Attr(*consumer, "messaging.destination.name"), "orders:created");
  EXPECT_EQ(Attr(*consumer, "messaging.destination.subscription.name"), "fulfil");
  EXPECT_EQ(Attr(*consumer, "messaging.rabbitmq.message.delivery_tag"), "1");
  EXPECT_EQ(Attr(*consumer, "messaging.message.id"), message_id);
  EXPECT_EQ(Attr(*consumer, std::string(kRequestIdAttribute)), request_id);
  EXPECT_TRUE(consumer->links.empty());

  EXPECT_EQ(client->parent_span_id, consumer->span_id);
  EXPECT_EQ(ship->parent_span_id, client->span_id);
  EXPECT_EQ(ship->trace_id, kTrace);

  const auto published = rig.broker.published();
  ASSERT_EQ(published.size(), 1u);
  EXPECT_EQ(published[0].exchange, "orders");
  EXPECT_EQ(published[0].routing_key, "created");
  EXPECT_EQ(published[0].message_id, message_id);
  EXPECT_EQ(HeaderOf(published[0], "traceparent"),
            FormatTraceparent(kTrace, producer->span_id, 0x01));
  EXPECT_EQ(HeaderOf(published[0], std::string(kRequestIdHeader)), request_id);
  EXPECT_EQ(HeaderOf(published[0], std::string(kHopHeader)), "0.0");
  EXPECT_EQ(HeaderOf(published[0], std::string(kSequenceHeader)), "0");

  const TopologyStats stats = rig.runtime().stats();
  EXPECT_EQ(stats.messages_published, 1u);
  EXPECT_EQ(stats.messages_consumed, 1u);
  EXPECT_EQ(stats.publish_failures, 0u);
  EXPECT_EQ(rig.broker.stats().acked, 1u);

  // The delivery is an inbound of fulfilment at hop 0.0, its destination standing for a route.
  auto seen = rig.runtime().wire_log().Find(request_id, "0.0", "fulfilment");
  ASSERT_TRUE(seen.has_value());
  EXPECT_EQ(seen->route, "orders:created");
  EXPECT_TRUE(seen->has_context);
  EXPECT_EQ(seen->parent_span_id, producer->span_id);
}

TEST(MessagingRuntime, UnreachableBrokerFailsStartNamingTheUrl) {
  Scenario s = OrderPipeline();
  s.broker.url = "amqp://127.0.0.1:1";
  MessagingRig rig(std::move(s));
  rig.broker.unreachable = true;
  auto started = rig.Start();
  ASSERT_FALSE(started.ok());
  EXPECT_EQ(started.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(started.error().message,
            "broker unreachable: broker amqp://127.0.0.1:1: declaring the scenario's exchanges "
            "and queues: connection refused");
}

TEST(MessagingRuntime, ScenarioWithoutMessagingNeedsNoBroker) {
  MessagingRig rig(runtime_test_support::JustA());
  rig.broker.unreachable = true;  // never asked
  ASSERT_TRUE(rig.Start().ok());
  EXPECT_EQ(rig.Send("a", "GET /a", 0), 200u);
}

TEST(MessagingRuntime, RefusedPublishMarksProducerErrorAndFailsTheCall) {
  MessagingRig rig(OrderPipeline());
  rig.broker.refuse_publish = true;
  ASSERT_TRUE(rig.Start().ok());
  EXPECT_EQ(rig.Send("orders", "GET /order", 0), 502u);
  ASSERT_TRUE(rig.WaitForSpans(2));
  rig.Stop();
  const auto spans = rig.spans();
  const Span* producer = Find(spans, "orders", SpanKind::kProducer, "0.0");
  ASSERT_NE(producer, nullptr);
  EXPECT_EQ(producer->status_code, StatusCode::kError);
  EXPECT_EQ(Attr(*producer, "error.type"), "unavailable");
  EXPECT_EQ(producer->status_message, "fake broker refuses publishes");
  const TopologyStats stats = rig.runtime().stats();
  EXPECT_EQ(stats.publish_failures, 1u);
  EXPECT_EQ(stats.call_failures, 1u);
  EXPECT_EQ(stats.messages_published, 0u);
}

// fulfilment always fails: two redeliveries, then the dead-letter queue, which janitor reads.
Scenario FailingWithDeadLetter() {
  Scenario s = OrderPipeline();
  Consumer& c = s.services[1].consumers[0];
  c.error_rate = 1.0;
  c.redeliveries = 2;
  c.dead_letter = "fulfil.dlq";
  s.services.push_back(Svc("janitor", {}));
  s.services.back().consumers = {Cons("fulfil.dlq", "")};
  return s;
}

TEST(MessagingRuntime, FailedMessageIsRedeliveredThenDeadLetteredKeepingItsTrace) {
  MessagingRig rig(FailingWithDeadLetter());
  ASSERT_TRUE(rig.Start().ok());
  ASSERT_EQ(rig.Send("orders", "GET /order", 0), 200u);
  ASSERT_TRUE(rig.WaitFor([](const std::vector<Span>& spans) {
    return Find(spans, "janitor", SpanKind::kConsumer, "0.0q") != nullptr &&
           Find(spans, "ship", SpanKind::kServer, "0.0d2.0") != nullptr;
  }));
  rig.Stop();
  const auto spans = rig.spans();
  const Span* producer = Find(spans, "orders", SpanKind::kProducer, "0.0");
  ASSERT_NE(producer, nullptr);
  for (std::string_view hop : {"0.0", "0.0d1", "0.0d2"}) {
    SCOPED_TRACE(hop);
    const Span* consumer = Find(spans, "fulfilment", SpanKind::kConsumer, hop);
    ASSERT_NE(consumer, nullptr);
    EXPECT_EQ(consumer->parent_span_id, producer->span_id);
    EXPECT_EQ(consumer->status_code, StatusCode::kError);
    EXPECT_EQ(Attr(*consumer, "error.type"), "processing_failed");
    // Its calls run under each delivery, at the delivery's child hops.
    const Span* client = Find(spans, "fulfilment", SpanKind::kClient, std::string(hop) + ".0");
    ASSERT_NE(client, nullptr);
    EXPECT_EQ(client->parent_span_id, consumer->span_id);
  }
  const Span* dead = Find(spans, "janitor", SpanKind::kConsumer, "0.0q");
  ASSERT_NE(dead, nullptr);
  EXPECT_EQ(dead->trace_id, kTrace);
  EXPECT_EQ(dead->parent_span_id, producer->span_id);
  EXPECT_EQ(dead->name, "process orders:created");
  EXPECT_EQ(Attr(*dead, "messaging.destination.subscription.name"), "fulfil.dlq");
  EXPECT_EQ(dead->status_code, StatusCode::kUnset);

  const auto published = rig.broker.published();
  ASSERT_EQ(published.size(), 4u);  // the publish, two redeliveries, the dead-lettered copy
  EXPECT_EQ(published[1].exchange, "");
  EXPECT_EQ(published[1].routing_key, "fulfil");
  EXPECT_EQ(HeaderOf(published[1], std::string(kDeliveryHeader)), "1");
  EXPECT_EQ(HeaderOf(published[2], std::string(kDeliveryHeader)), "2");
  EXPECT_EQ(HeaderOf(published[1], "traceparent"), HeaderOf(published[0], "traceparent"));
  EXPECT_EQ(published[3].routing_key, "fulfil.dlq");
  EXPECT_EQ(HeaderOf(published[3], std::string(kDeliveryHeader)), "<absent>");
  EXPECT_EQ(HeaderOf(published[3], std::string(kDeadLetterHeader)), "fulfil");
  EXPECT_EQ(HeaderOf(published[3], "traceparent"), HeaderOf(published[0], "traceparent"));
  EXPECT_EQ(published[3].message_id, published[0].message_id);

  const TopologyStats stats = rig.runtime().stats();
  EXPECT_EQ(stats.messages_redelivered, 2u);
  EXPECT_EQ(stats.messages_dead_lettered, 1u);
  EXPECT_EQ(stats.messages_consumed, 4u);
  EXPECT_EQ(rig.broker.stats().acked, 4u);
}

// fulfilment processes batches of `size` messages, waiting at most `wait_ns` after the first.
Scenario Batching(uint32_t size, uint64_t wait_ns) {
  Scenario s = OrderPipeline();
  s.services[1].consumers[0].batch = BatchSpec{size, wait_ns};
  return s;
}

TEST(MessagingRuntime, BatchSpanRootsItsOwnTraceAndLinksEveryMessage) {
  MessagingRig rig(Batching(3, 60'000'000'000ull));  // a full batch, never the wait
  ASSERT_TRUE(rig.Start().ok());
  for (uint64_t seq = 0; seq < 3; ++seq) ASSERT_EQ(rig.Send("orders", "GET /order", seq), 200u);
  // The batch span ends after its calls.
  ASSERT_TRUE(rig.WaitFor([](const std::vector<Span>& spans) {
    return Find(spans, "fulfilment", SpanKind::kConsumer, "0.0") != nullptr;
  }));
  rig.Stop();
  const auto spans = rig.spans();
  const Span* batch = Find(spans, "fulfilment", SpanKind::kConsumer, "0.0");
  ASSERT_NE(batch, nullptr);
  EXPECT_EQ(batch->name, "process orders:created");
  EXPECT_NE(batch->trace_id, kTrace);
  EXPECT_FALSE(batch->parent_span_id.IsValid());
  EXPECT_EQ(Attr(*batch, "messaging.batch.message_count"), "3");
  ASSERT_EQ(batch->links.size(), 3u);
  const auto published = rig.broker.published();
  ASSERT_EQ(published.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    SCOPED_TRACE(i);
    // Each link is the context its message carried: that request's PRODUCER span.
    const auto context = ParseTraceparent(HeaderOf(published[i], "traceparent"));
    ASSERT_TRUE(context.has_value());
    EXPECT_EQ(batch->links[i].trace_id, context->trace_id);
    EXPECT_EQ(batch->links[i].span_id, context->parent_id);
    EXPECT_EQ(batch->links[i].flags, 0x01u);
    EXPECT_EQ(LinkAttr(batch->links[i], kRequestIdAttribute), FormatRequestId(i + 1));
    EXPECT_EQ(LinkAttr(batch->links[i], kHopAttribute), "0.0");
  }
  // Its calls run under it with the first message's ground truth.
  const Span* client = Find(spans, "fulfilment", SpanKind::kClient, "0.0.0");
  ASSERT_NE(client, nullptr);
  EXPECT_EQ(client->trace_id, batch->trace_id);
  EXPECT_EQ(client->parent_span_id, batch->span_id);
  EXPECT_EQ(Attr(*client, std::string(kRequestIdAttribute)), FormatRequestId(1));

  for (uint64_t seq = 0; seq < 3; ++seq) {
    auto record = rig.runtime().batch_log().Find(FormatRequestId(seq + 1), "0.0");
    ASSERT_TRUE(record.has_value());
    EXPECT_EQ(record->trace_id, batch->trace_id);
    EXPECT_EQ(record->span_id, batch->span_id);
    EXPECT_EQ(record->service, "fulfilment");
    EXPECT_EQ(record->queue, "fulfil");
    EXPECT_TRUE(record->sampled);
    ASSERT_EQ(record->members.size(), 3u);
  }
  EXPECT_EQ(rig.runtime().batch_log().size(), 1u);
  EXPECT_EQ(rig.runtime().stats().batches, 1u);
}

TEST(MessagingRuntime, BatchIsLoggedOnlyOnceItsSpanIsRecorded) {
  // The verifier fetches a batch's span once the batch log has it: the span must be recorded
  // (on its way to the backend) by then, so the log entry comes after it.
  MessagingRig rig(Batching(2, 60'000'000'000ull));
  std::atomic<int> batch_spans{0};
  std::atomic<size_t> logged_at_record{SIZE_MAX};
  rig.OnSubmit([&rig, &batch_spans, &logged_at_record](const Span& span) {
    if (span.kind != SpanKind::kConsumer || span.service_name != "fulfilment") return;
    batch_spans++;
    logged_at_record = rig.runtime().batch_log().size();
  });
  ASSERT_TRUE(rig.Start().ok());
  for (uint64_t seq = 0; seq < 2; ++seq) ASSERT_EQ(rig.Send("orders", "GET /order", seq), 200u);
  ASSERT_TRUE(rig.WaitFor(
      [&rig](const std::vector<Span>&) { return rig.runtime().batch_log().size() == 1; }));
  rig.Stop();
  EXPECT_EQ(batch_spans.load(), 1);
  EXPECT_EQ(logged_at_record.load(), 0u);
  // And once logged, the span is there.
  EXPECT_NE(Find(rig.spans(), "fulfilment", SpanKind::kConsumer, "0.0"), nullptr);
}

TEST(MessagingRuntime, BatchWaitFlushesWhatArrived) {
  MessagingRig rig(Batching(10, 20'000'000));  // 20 ms
  ASSERT_TRUE(rig.Start().ok());
  ASSERT_EQ(rig.Send("orders", "GET /order", 0), 200u);
  ASSERT_TRUE(rig.WaitFor([](const std::vector<Span>& spans) {
    return Find(spans, "fulfilment", SpanKind::kConsumer, "0.0") != nullptr;
  }));
  rig.Stop();
  const auto spans = rig.spans();
  const Span* batch = Find(spans, "fulfilment", SpanKind::kConsumer, "0.0");
  ASSERT_NE(batch, nullptr);
  EXPECT_EQ(Attr(*batch, "messaging.batch.message_count"), "1");
  EXPECT_EQ(batch->links.size(), 1u);
}

TEST(MessagingRuntime, FailedBatchRedeliversEachMessage) {
  Scenario s = Batching(2, 60'000'000'000ull);
  s.services[1].consumers[0].error_rate = 1.0;
  s.services[1].consumers[0].redeliveries = 1;
  MessagingRig rig(std::move(s));
  ASSERT_TRUE(rig.Start().ok());
  for (uint64_t seq = 0; seq < 2; ++seq) ASSERT_EQ(rig.Send("orders", "GET /order", seq), 200u);
  // Both redeliveries form the second batch, which fails too: no dead-letter queue, dropped.
  ASSERT_TRUE(rig.WaitFor([&rig](const std::vector<Span>&) {
    return rig.runtime().stats().messages_dead_lettered == 2;
  }));
  rig.Stop();
  const TopologyStats stats = rig.runtime().stats();
  EXPECT_EQ(stats.batches, 2u);
  EXPECT_EQ(stats.messages_redelivered, 2u);
  auto second = rig.runtime().batch_log().Find(FormatRequestId(1), "0.0d1");
  ASSERT_TRUE(second.has_value());
  ASSERT_EQ(second->members.size(), 2u);
  EXPECT_EQ(second->members[1].request_id, FormatRequestId(2));
  EXPECT_EQ(second->members[1].hop, "0.0d1");
}

TEST(MessagingRuntime, BatchDecidesFailurePerMessageAsTheExpectedTreeDoes) {
  // Half the deliveries fail, each decided at its own delivery hop: only those are redelivered,
  // exactly the ones whose expected tree has a redelivery, and the batch span is an error.
  constexpr uint64_t kMessages = 8;
  Scenario s = Batching(kMessages, 60'000'000'000ull);  // one full batch
  s.services[1].consumers[0].error_rate = 0.5;
  s.services[1].consumers[0].redeliveries = 1;
  std::set<std::string> expected_failed;
  for (uint64_t seq = 0; seq < kMessages; ++seq) {
    const ExpectedTree tree = BuildExpectedTree(s, LoadEntry{"orders", "GET /order"}, seq);
    const bool redelivered = std::any_of(tree.spans.begin(), tree.spans.end(), [](const auto& e) {
      return e.kind == SpanKind::kConsumer && e.hop == "0.0d1";
    });
    EXPECT_EQ(redelivered, RouteErrors(DecisionPoint(s.seed, seq, "0.0", "fulfilment"), 0.5));
    if (redelivered) expected_failed.insert(FormatRequestId(seq + 1));
  }
  // The seed gives a mixed batch, or the test would not tell one decision from eight.
  ASSERT_GT(expected_failed.size(), 0u);
  ASSERT_LT(expected_failed.size(), kMessages);

  MessagingRig rig(std::move(s));
  ASSERT_TRUE(rig.Start().ok());
  for (uint64_t seq = 0; seq < kMessages; ++seq) {
    ASSERT_EQ(rig.Send("orders", "GET /order", seq), 200u);
  }
  ASSERT_TRUE(rig.WaitFor([&](const std::vector<Span>& spans) {
    return Find(spans, "fulfilment", SpanKind::kConsumer, "0.0") != nullptr &&
           rig.broker.published().size() >= kMessages + expected_failed.size();
  }));
  rig.Stop();
  const auto spans = rig.spans();
  const Span* batch = Find(spans, "fulfilment", SpanKind::kConsumer, "0.0");
  ASSERT_NE(batch, nullptr);
  EXPECT_EQ(Attr(*batch, "messaging.batch.message_count"), std::to_string(kMessages));
  EXPECT_EQ(batch->status_code, StatusCode::kError);
  EXPECT_EQ(Attr(*batch, "error.type"), "processing_failed");

  const auto published = rig.broker.published();
  ASSERT_EQ(published.size(), kMessages + expected_failed.size());
  std::set<std::string> redelivered;
  for (size_t i = kMessages; i < published.size(); ++i) {
    EXPECT_EQ(published[i].routing_key, "fulfil");
    EXPECT_EQ(HeaderOf(published[i], std::string(kDeliveryHeader)), "1");
    redelivered.insert(HeaderOf(published[i], std::string(kRequestIdHeader)));
  }
  EXPECT_EQ(redelivered, expected_failed);
  const TopologyStats stats = rig.runtime().stats();
  EXPECT_EQ(stats.messages_redelivered, expected_failed.size());
  EXPECT_EQ(stats.messages_dead_lettered, 0u);
}

TEST(MessagingRuntime, BatchWithoutFailuresIsNoError) {
  Scenario s = Batching(2, 60'000'000'000ull);
  s.services[1].consumers[0].redeliveries = 1;
  MessagingRig rig(std::move(s));
  ASSERT_TRUE(rig.Start().ok());
  for (uint64_t seq = 0; seq < 2; ++seq) ASSERT_EQ(rig.Send("orders", "GET /order", seq), 200u);
  ASSERT_TRUE(rig.WaitFor([](const std::vector<Span>& spans) {
    return Find(spans, "fulfilment", SpanKind::kConsumer, "0.0") != nullptr;
  }));
  rig.Stop();
  const Span* batch = Find(rig.spans(), "fulfilment", SpanKind::kConsumer, "0.0");
  ASSERT_NE(batch, nullptr);
  EXPECT_EQ(batch->status_code, StatusCode::kUnset);
  EXPECT_EQ(rig.broker.published().size(), 2u);
}

TEST(MessagingRuntime, DeadLetterQueueNobodyReadsDropsTheMessage) {
  // fulfil.dlq is declared but has no consumer: a copy there would never be acked, so the run
  // would wait for it to drain. It is dropped (counted dead-lettered), as the expected tree has it.
  Scenario s = OrderPipeline();
  Consumer& c = s.services[1].consumers[0];
  c.error_rate = 1.0;
  c.dead_letter = "fulfil.dlq";
  const ExpectedTree tree = BuildExpectedTree(s, LoadEntry{"orders", "GET /order"}, 0);
  EXPECT_TRUE(std::none_of(tree.spans.begin(), tree.spans.end(),
                           [](const ExpectedSpan& e) { return e.hop == "0.0q"; }));
  MessagingRig rig(std::move(s));
  ASSERT_TRUE(rig.Start().ok());
  ASSERT_EQ(rig.Send("orders", "GET /order", 0), 200u);
  ASSERT_TRUE(rig.WaitFor([&rig](const std::vector<Span>&) {
    return rig.runtime().stats().messages_dead_lettered == 1 && rig.broker.stats().acked == 1;
  }));
  EXPECT_EQ(rig.runtime().MessagesOutstanding(), 0u);
  rig.Stop();
  const auto published = rig.broker.published();
  ASSERT_EQ(published.size(), 1u);  // the publish only
  EXPECT_EQ(published[0].routing_key, "created");
}

TEST(MessagingRuntime, ConsumerPublishesOnward) {
  // fulfilment's consumer publishes to shipping:ready, which ship consumes: hops nest.
  Scenario s = OrderPipeline();
  s.services[1].consumers[0].calls = {Seq(Pub("shipping", "ready"))};
  s.services[2].consumers = {Cons("ship.ready", "shipping:#")};
  MessagingRig rig(std::move(s));
  ASSERT_TRUE(rig.Start().ok());
  ASSERT_EQ(rig.Send("orders", "GET /order", 0), 200u);
  ASSERT_TRUE(rig.WaitFor([](const std::vector<Span>& spans) {
    return Find(spans, "ship", SpanKind::kConsumer, "0.0.0") != nullptr &&
           Find(spans, "fulfilment", SpanKind::kConsumer, "0.0") != nullptr;
  }));
  rig.Stop();
  const auto spans = rig.spans();
  const Span* fulfil = Find(spans, "fulfilment", SpanKind::kConsumer, "0.0");
  const Span* onward = Find(spans, "fulfilment", SpanKind::kProducer, "0.0.0");
  const Span* ship = Find(spans, "ship", SpanKind::kConsumer, "0.0.0");
  ASSERT_TRUE(fulfil && onward && ship);
  EXPECT_EQ(onward->parent_span_id, fulfil->span_id);
  EXPECT_EQ(ship->parent_span_id, onward->span_id);
  EXPECT_EQ(ship->trace_id, kTrace);
  EXPECT_EQ(onward->name, "send shipping:ready");
}

TEST(MessagingRuntime, GrpcServiceConsumesAndCallsOverHttp) {
  Scenario s = OrderPipeline();
  s.services[1].protocol = Protocol::kGrpc;
  MessagingRig rig(std::move(s));
  ASSERT_TRUE(rig.Start().ok());
  ASSERT_EQ(rig.Send("orders", "GET /order", 0), 200u);
  ASSERT_TRUE(rig.WaitFor([](const std::vector<Span>& spans) {
    return Find(spans, "fulfilment", SpanKind::kConsumer, "0.0") != nullptr;
  }));
  rig.Stop();
  const auto spans = rig.spans();
  const Span* consumer = Find(spans, "fulfilment", SpanKind::kConsumer, "0.0");
  const Span* ship = Find(spans, "ship", SpanKind::kServer, "0.0.0");
  ASSERT_TRUE(consumer && ship);
  EXPECT_EQ(consumer->trace_id, kTrace);
  EXPECT_EQ(ship->trace_id, kTrace);
}

}  // namespace
}  // namespace tracerig
