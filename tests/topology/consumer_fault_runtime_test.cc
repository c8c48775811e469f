// The five consumer faults (and an edge fault on a publish) over a FakeBroker: each one's effect
// on the spans, the headers republished, and faults_applied; Fault::queue restricts them.
#include <gtest/gtest.h>

#include "core/ledger.h"
#include "propagation/w3c.h"
#include "tests/topology/messaging_test_support.h"
#include "topology/ground_truth.h"
#include "topology/message_headers.h"

namespace tracerig {
namespace {

using messaging_test_support::Attr;
using messaging_test_support::Cons;
using messaging_test_support::CountHeader;
using messaging_test_support::Find;
using messaging_test_support::HeaderOf;
using messaging_test_support::MessagingRig;
using messaging_test_support::OrderPipeline;
using runtime_test_support::kTrace;
using runtime_test_support::MakeFault;
using runtime_test_support::Svc;

Fault OnQueue(FaultKind kind, std::string service, std::string queue = {}) {
  Fault f = MakeFault(kind, std::move(service));
  f.queue = std::move(queue);
  return f;
}

bool HasConsumer(const std::vector<Span>& spans, std::string_view service, std::string_view hop) {
  return Find(spans, service, SpanKind::kConsumer, hop) != nullptr;
}

TEST(ConsumerFaults, ConsumerNewTraceIgnoresTheHeaders) {
  Scenario s = OrderPipeline();
  s.faults = {OnQueue(FaultKind::kConsumerNewTrace, "fulfilment")};
  MessagingRig rig(std::move(s));
  ASSERT_TRUE(rig.Start().ok());
  ASSERT_EQ(rig.Send("orders", "GET /order", 0), 200u);
  ASSERT_TRUE(rig.WaitFor([](const auto& spans) {
    return Find(spans, "ship", SpanKind::kServer, "0.0.0") != nullptr &&
           HasConsumer(spans, "fulfilment", "0.0");
  }));
  rig.Stop();
  const auto spans = rig.spans();
  const Span* consumer = Find(spans, "fulfilment", SpanKind::kConsumer, "0.0");
  const Span* ship = Find(spans, "ship", SpanKind::kServer, "0.0.0");
  ASSERT_TRUE(consumer && ship);
  EXPECT_NE(consumer->trace_id, kTrace);
  EXPECT_FALSE(consumer->parent_span_id.IsValid());
  EXPECT_EQ(ship->trace_id, consumer->trace_id);  // the new trace goes on downstream
  EXPECT_EQ(rig.runtime().stats().FaultsApplied(FaultKind::kConsumerNewTrace), 1u);
  // What arrived is recorded as it was: the context was there.
  auto seen = rig.runtime().wire_log().Find(FormatRequestId(1), "0.0", "fulfilment");
  ASSERT_TRUE(seen.has_value());
  EXPECT_TRUE(seen->has_context);
}

TEST(ConsumerFaults, FaultOnAnotherQueueDoesNothing) {
  Scenario s = OrderPipeline();
  s.faults = {OnQueue(FaultKind::kConsumerNewTrace, "fulfilment", "other")};
  MessagingRig rig(std::move(s));
  ASSERT_TRUE(rig.Start().ok());
  ASSERT_EQ(rig.Send("orders", "GET /order", 0), 200u);
  ASSERT_TRUE(
      rig.WaitFor([](const auto& spans) { return HasConsumer(spans, "fulfilment", "0.0"); }));
  rig.Stop();
  const auto spans = rig.spans();
  const Span* consumer = Find(spans, "fulfilment", SpanKind::kConsumer, "0.0");
  ASSERT_NE(consumer, nullptr);
  EXPECT_EQ(consumer->trace_id, kTrace);
  EXPECT_EQ(rig.runtime().stats().FaultsApplied(FaultKind::kConsumerNewTrace), 0u);
}

// fulfilment always fails, no redeliveries: straight to fulfil.dlq, which janitor reads.
Scenario DeadLettering() {
  Scenario s = OrderPipeline();
  Consumer& c = s.services[1].consumers[0];
  c.error_rate = 1.0;
  c.dead_letter = "fulfil.dlq";
  s.services.push_back(Svc("janitor", {}));
  s.services.back().consumers = {Cons("fulfil.dlq", "")};
  return s;
}

TEST(ConsumerFaults, DlqDropsHeadersStartsANewTraceAtTheDeadLetterConsumer) {
  Scenario s = DeadLettering();
  s.faults = {OnQueue(FaultKind::kDlqDropsHeaders, "fulfilment", "fulfil.dlq")};
  MessagingRig rig(std::move(s));
  ASSERT_TRUE(rig.Start().ok());
  ASSERT_EQ(rig.Send("orders", "GET /order", 0), 200u);
  ASSERT_TRUE(rig.WaitFor([](const auto& spans) { return HasConsumer(spans, "janitor", "0.0q"); }));
  rig.Stop();
  const auto spans = rig.spans();
  const Span* dead = Find(spans, "janitor", SpanKind::kConsumer, "0.0q");
  ASSERT_NE(dead, nullptr);
  EXPECT_NE(dead->trace_id, kTrace);
  EXPECT_FALSE(dead->parent_span_id.IsValid());
  const auto published = rig.broker.published();
  ASSERT_EQ(published.size(), 2u);
  EXPECT_EQ(HeaderOf(published[1], "traceparent"), "<absent>");
  EXPECT_EQ(HeaderOf(published[1], std::string(kHopHeader)), "0.0");  // ground truth stays
  EXPECT_EQ(rig.runtime().stats().FaultsApplied(FaultKind::kDlqDropsHeaders), 1u);
  // The verifier's explanation: what janitor received.
  auto seen = rig.runtime().wire_log().Find(FormatRequestId(1), "0.0q", "janitor");
  ASSERT_TRUE(seen.has_value());
  EXPECT_FALSE(seen->has_context);
  EXPECT_EQ(seen->DescribeHeaders({"tracecontext"}), "no trace context headers (no traceparent)");
}

TEST(ConsumerFaults, RetryDuplicatesHeadersAppendsTheFailedDeliverysContext) {
  Scenario s = OrderPipeline();
  s.services[1].consumers[0].error_rate = 1.0;
  s.services[1].consumers[0].redeliveries = 1;
  s.faults = {OnQueue(FaultKind::kRetryDuplicatesHeaders, "fulfilment", "fulfil")};
  MessagingRig rig(std::move(s));
  ASSERT_TRUE(rig.Start().ok());
  ASSERT_EQ(rig.Send("orders", "GET /order", 0), 200u);
  ASSERT_TRUE(
      rig.WaitFor([](const auto& spans) { return HasConsumer(spans, "fulfilment", "0.0d1"); }));
  rig.Stop();
  const auto spans = rig.spans();
  const Span* first = Find(spans, "fulfilment", SpanKind::kConsumer, "0.0");
  const Span* retry = Find(spans, "fulfilment", SpanKind::kConsumer, "0.0d1");
  ASSERT_TRUE(first && retry);
  const auto published = rig.broker.published();
  ASSERT_EQ(published.size(), 2u);
  ASSERT_EQ(CountHeader(published[1], "traceparent"), 2u);
  std::vector<std::string> values;
  for (const MessageHeader& h : published[1].headers) {
    if (h.name == "traceparent") values.push_back(h.value);
  }
  EXPECT_EQ(values[0], HeaderOf(published[0], "traceparent"));
  EXPECT_EQ(values[1], FormatTraceparent(first->trace_id, first->span_id, 0x01));
  // Two traceparents are no context to a W3C reader: the retry starts a new trace.
  EXPECT_NE(retry->trace_id, kTrace);
  EXPECT_EQ(rig.runtime().stats().FaultsApplied(FaultKind::kRetryDuplicatesHeaders), 1u);
}

Scenario BatchOfTwo(std::vector<Fault> faults) {
  Scenario s = OrderPipeline();
  s.services[1].consumers[0].batch = BatchSpec{2, 60'000'000'000ull};
  s.faults = std::move(faults);
  return s;
}

TEST(ConsumerFaults, BatchFirstParentOnlyParentsTheBatchToItsFirstMessage) {
  MessagingRig rig(BatchOfTwo({OnQueue(FaultKind::kBatchFirstParentOnly, "fulfilment")}));
  ASSERT_TRUE(rig.Start().ok());
  for (uint64_t seq = 0; seq < 2; ++seq) ASSERT_EQ(rig.Send("orders", "GET /order", seq), 200u);
  ASSERT_TRUE(
      rig.WaitFor([](const auto& spans) { return HasConsumer(spans, "fulfilment", "0.0"); }));
  rig.Stop();
  const auto spans = rig.spans();
  const Span* batch = Find(spans, "fulfilment", SpanKind::kConsumer, "0.0");
  ASSERT_NE(batch, nullptr);
  const auto published = rig.broker.published();
  ASSERT_EQ(published.size(), 2u);
  const auto first = ParseTraceparent(HeaderOf(published[0], "traceparent"));
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(batch->trace_id, first->trace_id);
  EXPECT_EQ(batch->parent_span_id, first->parent_id);
  EXPECT_TRUE(batch->links.empty());
  EXPECT_EQ(Attr(*batch, "messaging.batch.message_count"), "2");
  EXPECT_EQ(rig.runtime().stats().FaultsApplied(FaultKind::kBatchFirstParentOnly), 1u);
  // Still in the batch log: the verifier finds the batch by either message.
  EXPECT_TRUE(rig.runtime().batch_log().Find(FormatRequestId(2), "0.0").has_value());
}

TEST(ConsumerFaults, LinkMissingOmitsTheLinksItPicks) {
  Fault missing = OnQueue(FaultKind::kLinkMissing, "fulfilment");
  missing.probability = 1.0;
  MessagingRig rig(BatchOfTwo({missing}));
  ASSERT_TRUE(rig.Start().ok());
  for (uint64_t seq = 0; seq < 2; ++seq) ASSERT_EQ(rig.Send("orders", "GET /order", seq), 200u);
  ASSERT_TRUE(
      rig.WaitFor([](const auto& spans) { return HasConsumer(spans, "fulfilment", "0.0"); }));
  rig.Stop();
  const auto spans = rig.spans();
  const Span* batch = Find(spans, "fulfilment", SpanKind::kConsumer, "0.0");
  ASSERT_NE(batch, nullptr);
  EXPECT_TRUE(batch->links.empty());
  EXPECT_FALSE(batch->parent_span_id.IsValid());
  EXPECT_EQ(rig.runtime().stats().FaultsApplied(FaultKind::kLinkMissing), 2u);
}

TEST(ConsumerFaults, DropContextOnAPublishToTheConsumersService) {
  Scenario s = OrderPipeline();
  Fault drop = MakeFault(FaultKind::kDropContext, "orders");
  drop.callee = "fulfilment";
  s.faults = {drop};
  MessagingRig rig(std::move(s));
  ASSERT_TRUE(rig.Start().ok());
  ASSERT_EQ(rig.Send("orders", "GET /order", 0), 200u);
  ASSERT_TRUE(
      rig.WaitFor([](const auto& spans) { return HasConsumer(spans, "fulfilment", "0.0"); }));
  rig.Stop();
  const auto published = rig.broker.published();
  ASSERT_EQ(published.size(), 1u);
  EXPECT_EQ(HeaderOf(published[0], "traceparent"), "<absent>");
  EXPECT_EQ(HeaderOf(published[0], std::string(kHopHeader)), "0.0");
  const auto spans = rig.spans();
  const Span* consumer = Find(spans, "fulfilment", SpanKind::kConsumer, "0.0");
  ASSERT_NE(consumer, nullptr);
  EXPECT_NE(consumer->trace_id, kTrace);
  EXPECT_EQ(rig.runtime().stats().FaultsApplied(FaultKind::kDropContext), 1u);
  auto seen = rig.runtime().wire_log().Find(FormatRequestId(1), "0.0", "fulfilment");
  ASSERT_TRUE(seen.has_value());
  EXPECT_EQ(seen->DescribeHeaders({"tracecontext"}), "no trace context headers (no traceparent)");
}

TEST(ConsumerFaults, CorruptActsOnThePublishedHeaders) {
  Scenario s = OrderPipeline();
  s.faults = {MakeFault(FaultKind::kCorrupt, "orders")};
  MessagingRig rig(std::move(s));
  ASSERT_TRUE(rig.Start().ok());
  ASSERT_EQ(rig.Send("orders", "GET /order", 0), 200u);
  ASSERT_TRUE(
      rig.WaitFor([](const auto& spans) { return HasConsumer(spans, "fulfilment", "0.0"); }));
  rig.Stop();
  const auto spans = rig.spans();
  const Span* producer = Find(spans, "orders", SpanKind::kProducer, "0.0");
  const Span* consumer = Find(spans, "fulfilment", SpanKind::kConsumer, "0.0");
  ASSERT_TRUE(producer && consumer);
  const auto published = rig.broker.published();
  ASSERT_EQ(published.size(), 1u);
  EXPECT_EQ(HeaderOf(published[0], "traceparent"),
            "ff-" + kTrace.ToHex() + "-" + producer->span_id.ToHex() + "-01");
  EXPECT_NE(consumer->trace_id, kTrace);
  EXPECT_EQ(rig.runtime().stats().FaultsApplied(FaultKind::kCorrupt), 1u);
}

TEST(ConsumerFaults, EdgeFaultsActOnAConsumersCalls) {
  Scenario s = OrderPipeline();
  Fault drop = MakeFault(FaultKind::kDropContext, "fulfilment");
  drop.callee = "ship";
  s.faults = {drop};
  MessagingRig rig(std::move(s));
  ASSERT_TRUE(rig.Start().ok());
  ASSERT_EQ(rig.Send("orders", "GET /order", 0), 200u);
  ASSERT_TRUE(rig.WaitFor([](const auto& spans) {
    return Find(spans, "ship", SpanKind::kServer, "0.0.0") != nullptr &&
           HasConsumer(spans, "fulfilment", "0.0");
  }));
  rig.Stop();
  const auto spans = rig.spans();
  const Span* consumer = Find(spans, "fulfilment", SpanKind::kConsumer, "0.0");
  const Span* ship = Find(spans, "ship", SpanKind::kServer, "0.0.0");
  ASSERT_TRUE(consumer && ship);
  EXPECT_EQ(consumer->trace_id, kTrace);
  EXPECT_NE(ship->trace_id, kTrace);
  EXPECT_EQ(rig.runtime().stats().FaultsApplied(FaultKind::kDropContext), 1u);
}

}  // namespace
}  // namespace tracerig
