// The messaging runtime on tracerig's embedded broker (what a scenario without [broker] url runs
// on): the order pipeline's publish -> consume -> call chain, a dead-lettered message keeping its
// trace, and a batch's links, as on the fake broker.
#include <gtest/gtest.h>

#include "core/ledger.h"
#include "tests/topology/messaging_test_support.h"

namespace tracerig {
namespace {

using messaging_test_support::Attr;
using messaging_test_support::Cons;
using messaging_test_support::Find;
using messaging_test_support::MessagingRig;
using messaging_test_support::OrderPipeline;
using runtime_test_support::kTrace;
using runtime_test_support::Svc;

TEST(EmbeddedMessaging, PublishConsumeCallChainAndDeadLetter) {
  Scenario s = OrderPipeline();
  // fulfilment fails every delivery: one redelivery, then the dead-letter queue janitor reads.
  Consumer& c = s.services[1].consumers[0];
  c.error_rate = 1.0;
  c.redeliveries = 1;
  c.dead_letter = "fulfil.dlq";
  s.services.push_back(Svc("janitor", {}));
  s.services.back().consumers = {Cons("fulfil.dlq", "")};
  MessagingRig rig(std::move(s), /*fake=*/false);
  auto started = rig.Start();
  ASSERT_TRUE(started.ok()) << started.error().message;
  ASSERT_EQ(rig.Send("orders", "GET /order", 0), 200u);
  ASSERT_TRUE(rig.WaitFor([](const std::vector<Span>& spans) {
    return Find(spans, "janitor", SpanKind::kConsumer, "0.0q") != nullptr;
  }));
  rig.Stop();
  const auto spans = rig.spans();
  const Span* producer = Find(spans, "orders", SpanKind::kProducer, "0.0");
  const Span* first = Find(spans, "fulfilment", SpanKind::kConsumer, "0.0");
  const Span* retry = Find(spans, "fulfilment", SpanKind::kConsumer, "0.0d1");
  const Span* dead = Find(spans, "janitor", SpanKind::kConsumer, "0.0q");
  const Span* ship = Find(spans, "ship", SpanKind::kServer, "0.0.0");
  ASSERT_TRUE(producer && first && retry && dead && ship);
  EXPECT_EQ(first->parent_span_id, producer->span_id);
  EXPECT_EQ(retry->parent_span_id, producer->span_id);
  EXPECT_EQ(dead->parent_span_id, producer->span_id);
  EXPECT_EQ(dead->trace_id, kTrace);
  EXPECT_EQ(ship->trace_id, kTrace);
  const TopologyStats stats = rig.runtime().stats();
  EXPECT_EQ(stats.messages_published, 1u);
  EXPECT_EQ(stats.messages_redelivered, 1u);
  EXPECT_EQ(stats.messages_dead_lettered, 1u);
  EXPECT_EQ(stats.messages_consumed, 3u);
  EXPECT_EQ(stats.messages_unroutable, 0u);
}

TEST(EmbeddedMessaging, BatchLinksEveryMessage) {
  Scenario s = OrderPipeline();
  s.services[1].consumers[0].batch = BatchSpec{4, 60'000'000'000ull};
  MessagingRig rig(std::move(s), /*fake=*/false);
  auto started = rig.Start();
  ASSERT_TRUE(started.ok()) << started.error().message;
  for (uint64_t seq = 0; seq < 4; ++seq) ASSERT_EQ(rig.Send("orders", "GET /order", seq), 200u);
  ASSERT_TRUE(rig.WaitFor([](const std::vector<Span>& spans) {
    return Find(spans, "fulfilment", SpanKind::kConsumer, "0.0") != nullptr;
  }));
  rig.Stop();
  const auto spans = rig.spans();
  const Span* batch = Find(spans, "fulfilment", SpanKind::kConsumer, "0.0");
  ASSERT_NE(batch, nullptr);
  EXPECT_EQ(Attr(*batch, "messaging.batch.message_count"), "4");
  ASSERT_EQ(batch->links.size(), 4u);
  for (uint64_t seq = 0; seq < 4; ++seq) {
    SCOPED_TRACE(seq);
    const Span* producer = nullptr;
    for (const Span& span : spans) {
      if (span.kind == SpanKind::kProducer &&
          Attr(span, std::string(kRequestIdAttribute)) == FormatRequestId(seq + 1)) {
        producer = &span;
      }
    }
    ASSERT_NE(producer, nullptr);
    EXPECT_EQ(batch->links[seq].span_id, producer->span_id);
    auto record = rig.runtime().batch_log().Find(FormatRequestId(seq + 1), "0.0");
    ASSERT_TRUE(record.has_value());
    EXPECT_EQ(record->span_id, batch->span_id);
  }
}

}  // namespace
}  // namespace tracerig
