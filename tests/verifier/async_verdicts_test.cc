// VerifyLedger over async edges, against a fake backend: a clean publish -> consume passes, each
// consumer fault shows as the named async edge, batch spans' links are checked through the batch
// log, and publish-to-process latency is given per queue.
#include <gtest/gtest.h>

#include "core/ledger.h"
#include "tests/verifier/verify_test_support.h"
#include "topology/batch_log.h"
#include "topology/wire_log.h"
#include "verifier/async_edges.h"

namespace tracerig {
namespace {

using namespace verify_test_support;  // NOLINT(google-build-using-namespace)

Call Publish(std::string exchange, std::string routing_key) {
  Call call;
  call.publish = std::move(exchange);
  call.routing_key = std::move(routing_key);
  return call;
}

Consumer MakeConsumer(std::string queue, std::string exchange, std::string binding) {
  Consumer c;
  c.queue = std::move(queue);
  c.exchange = std::move(exchange);
  c.binding_key = std::move(binding);
  return c;
}

// orders "POST /orders" publishes orders:created; fulfilment reads queue "fulfil" and calls stock
// "Reserve"; dlq-reader reads "orders-dlq", fulfil's dead-letter queue.
Scenario Pipeline() {
  Scenario s;
  s.name = "pipeline";
  s.load.entries = {LoadEntry{"orders", "POST /orders", 1.0}};
  Service orders;
  orders.name = "orders";
  Route post;
  post.name = "POST /orders";
  post.calls = {CallStep{false, {Publish("orders", "created")}}};
  orders.routes = {post};
  Service fulfilment;
  fulfilment.name = "fulfilment";
  Consumer fulfil = MakeConsumer("fulfil", "orders", "created");
  fulfil.calls = {CallStep{false, {verifier_testing::CallTo("stock", "Reserve")}}};
  fulfil.dead_letter = "orders-dlq";
  fulfilment.consumers = {fulfil};
  Service stock;
  stock.name = "stock";
  Route reserve;
  reserve.name = "Reserve";
  stock.routes = {reserve};
  Service dlq;
  dlq.name = "dlq-reader";
  dlq.consumers = {MakeConsumer("orders-dlq", "", "")};
  s.services = {orders, fulfilment, stock, dlq};
  return s;
}

// Index of the expected span (hop, kind, service) in `tree`.
size_t IndexOf(const ExpectedTree& tree, std::string_view hop, SpanKind kind,
               std::string_view service) {
  for (size_t i = 0; i < tree.spans.size(); ++i) {
    const ExpectedSpan& e = tree.spans[i];
    if (e.hop == hop && e.kind == kind && e.service == service) return i;
  }
  ADD_FAILURE() << "no " << hop << " " << SpanKindName(kind) << " " << service;
  return 0;
}

// Moves span `root` and everything below it (by parent ids) to trace `to`, `root` becoming a
// root there: the consumer ignored (or never got) the message's context.
void StartNewTrace(std::vector<Span>& spans, size_t root, TraceId to) {
  std::vector<uint64_t> moved = {spans[root].span_id.value};
  spans[root].parent_span_id = SpanId{};
  for (bool grew = true; grew;) {
    grew = false;
    for (Span& s : spans) {
      const bool below = std::find(moved.begin(), moved.end(), s.parent_span_id.value) !=
                         moved.end();
      if (below && std::find(moved.begin(), moved.end(), s.span_id.value) == moved.end()) {
        moved.push_back(s.span_id.value);
        grew = true;
      }
    }
  }
  for (Span& s : spans) {
    if (std::find(moved.begin(), moved.end(), s.span_id.value) != moved.end()) s.trace_id = to;
  }
}

bool HasViolation(const VerificationSummary& summary, std::string_view kind,
                  std::string_view text) {
  for (const TraceVerdict& v : summary.violation_examples) {
    for (const Violation& violation : v.violations) {
      if (violation.kind == kind && violation.explanation.find(text) != std::string::npos) {
        return true;
      }
    }
  }
  return false;
}

std::string Explanations(const VerificationSummary& summary) {
  std::string text;
  for (const TraceVerdict& v : summary.examples) text += v.explanation + "\n";
  for (const TraceVerdict& v : summary.violation_examples) {
    for (const Violation& violation : v.violations) text += violation.explanation + "\n";
  }
  return text;
}

class AsyncVerdictsTest : public VerifyLedgerTest {
 protected:
  void SetUp() override {
    scenario_ = Pipeline();
    Rebuild();
  }
  void Rebuild() { tree_ = BuildExpectedTree(scenario_, scenario_.load.entries[0], 0); }
  Span& At(std::vector<Span>& spans, std::string_view hop, SpanKind kind,
           std::string_view service) {
    return spans[IndexOf(tree_, hop, kind, service)];
  }
};

TEST_F(AsyncVerdictsTest, ACleanPublishAndConsumePasses) {
  const LedgerEntry e = AddEntry();
  backend_.Add(Spans(e));
  auto summary = Run();
  ASSERT_TRUE(summary) << summary.error().message;
  EXPECT_EQ(summary->complete, 1u) << Explanations(*summary);
  EXPECT_EQ(summary->traces_with_violations, 0u) << Explanations(*summary);
  ASSERT_EQ(summary->queue_latency.size(), 1u);
  EXPECT_EQ(summary->queue_latency[0].queue, "fulfil");
  EXPECT_EQ(summary->queue_latency[0].consumer, "fulfilment");
  EXPECT_EQ(summary->queue_latency[0].messages, 1u);
  EXPECT_FALSE(summary->links);  // no consumer batches
  // The async edge is an edge of the service graph, as backends' dependency lists show it.
  const EdgeComparison* edge = EdgeOf(*summary, "orders", "fulfilment");
  ASSERT_NE(edge, nullptr);
  EXPECT_EQ(edge->status, "ok");
  EXPECT_EQ(edge->expected_calls, 1.0);
  EXPECT_TRUE(summary->graph.Matches());
}

// The consumer's spans not (yet) in the backend: exported only when its processing ends.
std::vector<Span> WithoutConsumer(std::vector<Span> spans) {
  std::erase_if(spans, [](const Span& s) {
    return s.service_name == "fulfilment" || s.service_name == "stock";
  });
  return spans;
}

TEST_F(AsyncVerdictsTest, ASlowConsumersTraceWaitsItsWorstCaseBeforeItIsJudged) {
  // 3 s of processing: longer than the settle time alone.
  scenario_.services[1].consumers[0].latency =
      LatencyModel{LatencyModel::Kind::kFixed, 3'000'000'000, 0};
  Rebuild();
  ASSERT_EQ(tree_.async_settle_ns, 3'000'000'000u);
  const LedgerEntry e = AddEntry();
  backend_.Add(WithoutConsumer(Spans(e)));
  auto summary = Run();
  ASSERT_TRUE(summary) << summary.error().message;
  EXPECT_EQ(summary->incomplete, 1u) << Explanations(*summary);
  // Unchanged from the first poll: judged after the settle time plus the consumer's worst case.
  EXPECT_GE(summary->elapsed_ns, options_.settle_incomplete_ns + tree_.async_settle_ns);
  EXPECT_LT(summary->elapsed_ns,
            options_.settle_incomplete_ns + tree_.async_settle_ns + 2 * options_.poll_interval_ns);
}

TEST_F(AsyncVerdictsTest, ATraceWithConsumersIsHeldWhileMessagesAreQueued) {
  const LedgerEntry e = AddEntry();
  backend_.Add(WithoutConsumer(Spans(e)));
  const uint64_t start = clock_.NowUnixNano();
  // A backlog: messages queued for 10 s, far beyond any one delivery's worst case.
  int asked = 0;
  options_.messages_outstanding = [&] {
    ++asked;
    return clock_.NowUnixNano() < start + 10 * kSec ? uint64_t{5} : uint64_t{0};
  };
  auto summary = Run();
  ASSERT_TRUE(summary) << summary.error().message;
  EXPECT_EQ(summary->incomplete, 1u) << Explanations(*summary);
  EXPECT_GT(asked, 0);
  EXPECT_GE(summary->elapsed_ns, 10 * kSec);
  EXPECT_LT(summary->elapsed_ns, 10 * kSec + 2 * options_.poll_interval_ns);
}

TEST_F(AsyncVerdictsTest, QueuedMessagesHoldATraceAtMostThirtySecondsPastItsSettleTime) {
  const LedgerEntry e = AddEntry();
  backend_.Add(WithoutConsumer(Spans(e)));
  options_.messages_outstanding = [] { return uint64_t{5}; };  // never drained
  auto summary = Run();
  ASSERT_TRUE(summary) << summary.error().message;
  EXPECT_EQ(summary->incomplete, 1u) << Explanations(*summary);
  EXPECT_FALSE(summary->deadline_hit);
  EXPECT_GE(summary->elapsed_ns, options_.settle_incomplete_ns + 30 * kSec);
  EXPECT_LT(summary->elapsed_ns,
            options_.settle_incomplete_ns + 30 * kSec + 2 * options_.poll_interval_ns);
}

TEST_F(AsyncVerdictsTest, QueuedMessagesDoNotHoldATraceWithoutConsumers) {
  scenario_.services[0].routes[0].calls.clear();
  Rebuild();
  const LedgerEntry e = AddEntry();
  std::vector<Span> spans = Spans(e);
  spans.pop_back();  // orders's SERVER span never arrives
  backend_.Add(spans);
  options_.messages_outstanding = [] { return uint64_t{5}; };
  auto summary = Run();
  ASSERT_TRUE(summary) << summary.error().message;
  EXPECT_EQ(summary->incomplete, 1u) << Explanations(*summary);
  EXPECT_EQ(summary->elapsed_ns, options_.settle_incomplete_ns);
}

TEST_F(AsyncVerdictsTest, AConsumerStartingANewTraceIsNamedAsTheAsyncEdge) {
  const LedgerEntry e = AddEntry();
  std::vector<Span> spans = Spans(e);
  StartNewTrace(spans, IndexOf(tree_, "0.0", SpanKind::kConsumer, "fulfilment"), TraceId{9, 9});
  backend_.Add(spans);
  Fault fault;
  fault.kind = FaultKind::kConsumerNewTrace;
  fault.service = "fulfilment";
  scenario_.faults = {fault};
  WireLog wire;
  WireObservation o;
  o.service = "fulfilment";
  o.route = "fulfil";
  o.request_id = FormatRequestId(e.request_id);
  o.hop = "0.0";
  o.source = GroundTruthSource::kHeaders;
  o.headers = {{"tracerig-hop", "0.0"}};
  wire.Record(o);
  options_.wire_log = &wire;
  auto summary = Run();
  ASSERT_TRUE(summary) << summary.error().message;
  ASSERT_EQ(summary->broken, 1u) << Explanations(*summary);
  const std::string text = Explanations(*summary);
  EXPECT_NE(text.find("trace id changed at an async edge: orders publishes to orders:created; "
                      "fulfilment starts a new trace (hop 0.0: its CONSUMER span is under trace "
                      "00000000000000090000000000000009)"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("fulfilment received from orders:created: no trace context headers "
                      "(no traceparent)"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("orders injects tracecontext into the message's headers; fulfilment "
                      "extracts tracecontext (consumer-new-trace fault on fulfilment)"),
            std::string::npos)
      << text;
  ASSERT_EQ(summary->break_edges.size(), 1u);
  EXPECT_EQ(summary->break_edges[0].caller, "orders");
  EXPECT_EQ(summary->break_edges[0].callee, "fulfilment");
}

TEST_F(AsyncVerdictsTest, ADeadLetteredMessageThatLostItsHeadersIsNamedAsDeadLettered) {
  scenario_.services[1].consumers[0].error_rate = 1.0;
  Rebuild();
  const LedgerEntry e = AddEntry();
  std::vector<Span> spans = Spans(e);
  StartNewTrace(spans, IndexOf(tree_, "0.0q", SpanKind::kConsumer, "dlq-reader"), TraceId{7, 7});
  backend_.Add(spans);
  Fault fault;
  fault.kind = FaultKind::kDlqDropsHeaders;
  fault.service = "fulfilment";
  scenario_.faults = {fault};
  auto summary = Run();
  ASSERT_TRUE(summary) << summary.error().message;
  ASSERT_EQ(summary->broken, 1u) << Explanations(*summary);
  EXPECT_NE(Explanations(*summary)
                .find("orders:created dead-lettered to orders-dlq; dlq-reader starts a new trace"),
            std::string::npos)
      << Explanations(*summary);
  EXPECT_NE(Explanations(*summary).find("dlq-reader extracts tracecontext (dlq-drops-headers "
                                        "fault on fulfilment)"),
            std::string::npos)
      << Explanations(*summary);
  // Both deliveries' latencies count, each under the queue it was read from.
  ASSERT_EQ(summary->queue_latency.size(), 2u);
  EXPECT_EQ(summary->queue_latency[0].queue, "fulfil");
  EXPECT_EQ(summary->queue_latency[1].queue, "orders-dlq");
  EXPECT_EQ(summary->queue_latency[1].consumer, "dlq-reader");
}

TEST_F(AsyncVerdictsTest, ADeadLetteredMessageNeverProcessedUnderItsRequestIsMissingAndNamed) {
  scenario_.services[1].consumers[0].error_rate = 1.0;
  Rebuild();
  const LedgerEntry e = AddEntry();
  std::vector<Span> spans = Spans(e);
  // dlq-drops-headers dropping tracerig's ground truth too: nothing ties the span to the request.
  spans.erase(spans.begin() +
              static_cast<std::ptrdiff_t>(IndexOf(tree_, "0.0q", SpanKind::kConsumer, "dlq-reader")));
  backend_.Add(spans);
  auto summary = Run();
  ASSERT_TRUE(summary) << summary.error().message;
  ASSERT_EQ(summary->incomplete, 1u) << Explanations(*summary);
  EXPECT_NE(Explanations(*summary)
                .find("dlq-reader CONSUMER process orders:created (hop 0.0q; orders:created "
                      "dead-lettered to orders-dlq)"),
            std::string::npos)
      << Explanations(*summary);
}

TEST_F(AsyncVerdictsTest, ARedeliveryParentedToTheFailedDeliveryIsAWrongParentOfThatRedelivery) {
  scenario_.services[1].consumers[0].error_rate = 1.0;
  scenario_.services[1].consumers[0].redeliveries = 2;
  Rebuild();
  const LedgerEntry e = AddEntry();
  std::vector<Span> spans = Spans(e);
  // retry-duplicates-headers: the redelivery read the failed delivery's own context.
  At(spans, "0.0d2", SpanKind::kConsumer, "fulfilment").parent_span_id =
      At(spans, "0.0d1", SpanKind::kConsumer, "fulfilment").span_id;
  backend_.Add(spans);
  auto summary = Run();
  ASSERT_TRUE(summary) << summary.error().message;
  EXPECT_EQ(summary->complete, 1u);
  EXPECT_TRUE(HasViolation(*summary, "wrong-parent",
                           "redelivery 2 of orders:created to fulfilment: fulfilment CONSUMER "
                           "process orders:created (hop 0.0d2)'s parent is fulfilment CONSUMER "
                           "process orders:created (hop 0.0d1)"))
      << Explanations(*summary);
}

TEST_F(AsyncVerdictsTest, ARedeliveryStartingANewTraceIsNamedAsThatRedelivery) {
  scenario_.services[1].consumers[0].error_rate = 1.0;
  scenario_.services[1].consumers[0].redeliveries = 1;
  scenario_.services[3].consumers.clear();
  Rebuild();
  const LedgerEntry e = AddEntry();
  std::vector<Span> spans = Spans(e);
  StartNewTrace(spans, IndexOf(tree_, "0.0d1", SpanKind::kConsumer, "fulfilment"), TraceId{5, 5});
  backend_.Add(spans);
  Fault fault;
  fault.kind = FaultKind::kRetryDuplicatesHeaders;
  fault.service = "fulfilment";
  scenario_.faults = {fault};
  auto summary = Run();
  ASSERT_TRUE(summary) << summary.error().message;
  ASSERT_EQ(summary->broken, 1u);
  EXPECT_NE(Explanations(*summary)
                .find("redelivery 1 of orders:created to fulfilment; fulfilment starts a new "
                      "trace (hop 0.0d1"),
            std::string::npos)
      << Explanations(*summary);
  EXPECT_NE(Explanations(*summary).find("(retry-duplicates-headers fault on fulfilment)"),
            std::string::npos)
      << Explanations(*summary);
}

TEST_F(AsyncVerdictsTest, QueueLatencyIsPublishToProcessPerQueue) {
  const uint64_t gaps[] = {5 * kMs, 9 * kMs, 1 * kMs};
  for (uint64_t gap : gaps) {
    const LedgerEntry e = AddEntry();
    std::vector<Span> spans = Spans(e);
    const uint64_t sent = At(spans, "0.0", SpanKind::kProducer, "orders").start_unix_nano;
    At(spans, "0.0", SpanKind::kConsumer, "fulfilment").start_unix_nano = sent + gap;
    backend_.Add(spans);
  }
  auto summary = Run();
  ASSERT_TRUE(summary) << summary.error().message;
  ASSERT_EQ(summary->queue_latency.size(), 1u);
  const QueueLatency& q = summary->queue_latency[0];
  EXPECT_EQ(q.messages, 3u);
  EXPECT_EQ(q.p50_ns, 5 * kMs);
  EXPECT_EQ(q.p90_ns, 9 * kMs);
  EXPECT_EQ(q.p99_ns, 9 * kMs);
  EXPECT_EQ(q.max_ns, 9 * kMs);
}

class BatchLinksTest : public AsyncVerdictsTest {
 protected:
  void SetUp() override {
    scenario_ = Pipeline();
    scenario_.services[1].consumers[0].batch = BatchSpec{4, kMs};
    Rebuild();
    options_.batch_log = &batches_;
  }
  // The request's spans (the linked batch span left out: it is in a trace of its own), and the
  // batch span as `fault` leaves it, recorded in the batch log (when `log`; else kept in
  // record_). `batch_visible_at_ns`: when the backend has the batch span (a span of its calls is
  // there from the start).
  void AddBatch(const LedgerEntry& e, std::string_view fault, bool log = true,
                uint64_t batch_visible_at_ns = 0) {
    std::vector<Span> spans = Spans(e);
    const size_t linked = IndexOf(tree_, "0.0", SpanKind::kConsumer, "fulfilment");
    ASSERT_TRUE(tree_.spans[linked].linked);
    Span batch = spans[linked];
    spans.erase(spans.begin() + static_cast<std::ptrdiff_t>(linked));
    const Span& producer = At(spans, "0.0", SpanKind::kProducer, "orders");
    batch.trace_id = kBatchTrace;
    batch.span_id = SpanId{0xba7c};
    batch.parent_span_id = SpanId{};
    batch.attributes.clear();
    batch.start_unix_nano = producer.start_unix_nano + 3 * kMs;
    SpanLink link{producer.trace_id, producer.span_id, "", {}, 1};
    link.attributes = {{std::string(kRequestIdAttribute), FormatRequestId(e.request_id)},
                       {std::string(kHopAttribute), std::string("0.0")}};
    if (fault == "batch-first-parent-only") {
      batch.trace_id = producer.trace_id;
      batch.parent_span_id = producer.span_id;
    } else if (fault == "link-missing") {
      link.trace_id = TraceId{3, 3};
      link.span_id = SpanId{0x33};
      link.attributes.clear();
      batch.links = {link};
    } else if (fault == "wrong-link") {
      link.span_id = SpanId{0x44};
      batch.links = {link};
    } else {
      batch.links = {link};
    }
    if (batch_visible_at_ns == 0) {
      spans.push_back(batch);
    } else {
      Span call = batch;
      call.span_id = SpanId{0xca11};
      call.parent_span_id = batch.span_id;
      call.kind = SpanKind::kClient;
      call.links.clear();
      spans.push_back(call);
      backend_.Add({batch}, batch_visible_at_ns);
    }
    backend_.Add(spans);
    BatchRecord record;
    record.service = "fulfilment";
    record.queue = "fulfil";
    record.trace_id = batch.trace_id;
    record.span_id = batch.span_id;
    record.sampled = true;
    record.start_unix_nano = batch.start_unix_nano;
    record.members = {BatchMember{FormatRequestId(e.request_id), "0.0"}};
    if (log) batches_.Add(record);
    record_ = record;
  }

  static constexpr TraceId kBatchTrace{0xb, 0xb};
  BatchLog batches_;
  BatchRecord record_;
};

// Sleeps on the fake clock; once it reaches `at` (monotonic), the consumer logs `record`.
class BatchLoggedLateSleeper final : public Sleeper {
 public:
  BatchLoggedLateSleeper(FakeClock& clock, BatchLog& log, BatchRecord record, uint64_t at)
      : clock_(clock), log_(log), record_(std::move(record)), at_(at) {}
  void SleepFor(uint64_t nanos) override {
    clock_.Advance(nanos);
    if (!logged_ && clock_.NowMonotonicNano() >= at_) {
      log_.Add(record_);
      logged_ = true;
    }
  }

 private:
  FakeClock& clock_;
  BatchLog& log_;
  BatchRecord record_;
  uint64_t at_;
  bool logged_ = false;
};

struct LateBatchCase {
  const char* name;
  uint64_t batch_wait_ns;
  uint64_t consumer_latency_ns;
  uint64_t callee_latency_ns;  // stock Reserve, the consumer's call
  uint64_t logged_after_ns;    // when the consumer logs the batch, from the start
  bool found;                  // within the wait: the link is checked and found
};

void PrintTo(const LateBatchCase& c, std::ostream* os) { *os << c.name; }

class LateBatchTest : public BatchLinksTest, public ::testing::WithParamInterface<LateBatchCase> {};

TEST_P(LateBatchTest, TheWaitForABatchIsTheConsumersBatchWaitLatencyAndCallsPlusAMargin) {
  const LateBatchCase& c = GetParam();
  Consumer& consumer = scenario_.services[1].consumers[0];
  consumer.batch = BatchSpec{4, c.batch_wait_ns};
  consumer.latency.a = c.consumer_latency_ns;
  scenario_.services[2].routes[0].latency.a = c.callee_latency_ns;
  Rebuild();
  BatchLog log;
  options_.batch_log = &log;
  const LedgerEntry e = AddEntry();
  AddBatch(e, "", false);
  BatchLoggedLateSleeper sleeper(clock_, log, record_,
                                 clock_.NowMonotonicNano() + c.logged_after_ns);
  auto summary = VerifyLedger(scenario_, ledger_, backend_, options_, clock_, sleeper, {});
  ASSERT_TRUE(summary) << summary.error().message;
  ASSERT_TRUE(summary->links);
  EXPECT_EQ(summary->links->expected, 1u);
  EXPECT_EQ(summary->links->found, c.found ? 1u : 0u) << Explanations(*summary);
  EXPECT_EQ(HasViolation(*summary, "link", "no batch of fulfilment from queue fulfil processed"),
            !c.found)
      << Explanations(*summary);
}

INSTANTIATE_TEST_SUITE_P(
    Waits, LateBatchTest,
    ::testing::Values(
        // Bound 5 s + 2 s.
        LateBatchCase{"LongBatchWait", 5 * kSec, 0, 0, 4 * kSec, true},
        LateBatchCase{"AfterTheBatchWaitAndMargin", 5 * kSec, 0, 0, 9 * kSec, false},
        // Bound 1 ms + 10 s + 5 s + 2 s: the consumer's latency and its call count.
        LateBatchCase{"SlowConsumerAndCallee", kMs, 10 * kSec, 5 * kSec, 14 * kSec, true},
        LateBatchCase{"AfterSlowConsumersWorstCase", kMs, 10 * kSec, 5 * kSec, 19 * kSec, false},
        // Capped at 30 s.
        LateBatchCase{"MinuteBatchWaitWithinTheCap", 60 * kSec, 0, 0, 25 * kSec, true},
        LateBatchCase{"MinuteBatchWaitBeyondTheCap", 60 * kSec, 0, 0, 35 * kSec, false}),
    [](const ::testing::TestParamInfo<LateBatchCase>& info) { return info.param.name; });

TEST_F(BatchLinksTest, OnceAWaitForABatchRanOutTheNextMessageIsNotWaitedForUntilABatchIsLogged) {
  // No batch is ever logged (the consumers are gone): the first message waits its consumer's
  // bound (1 ms + 2 s), the second is not waited for, and both are said never processed.
  const LedgerEntry first = AddEntry();
  AddBatch(first, "", false);
  const LedgerEntry second = AddEntry();
  AddBatch(second, "", false);
  auto summary = Run();
  ASSERT_TRUE(summary) << summary.error().message;
  EXPECT_EQ(summary->violation_counts["link"], 2u) << Explanations(*summary);
  EXPECT_GE(sleeper_.slept(), 2 * kSec);
  EXPECT_LT(sleeper_.slept(), 3 * kSec);  // waiting for both: over 4 s
}

TEST_F(BatchLinksTest, ABatchTraceWithoutItsBatchSpanYetIsFetchedAgain) {
  // The batch's call is in the backend before the batch span itself: the first fetch finds the
  // trace without the span, which is neither cached nor taken as the span's absence.
  const LedgerEntry e = AddEntry();
  AddBatch(e, "", true, clock_.NowMonotonicNano() + 500 * kMs);
  auto summary = Run();
  ASSERT_TRUE(summary) << summary.error().message;
  ASSERT_TRUE(summary->links);
  EXPECT_EQ(summary->links->found, 1u) << Explanations(*summary);
  EXPECT_EQ(summary->violation_counts.count("link"), 0u) << Explanations(*summary);
}

TEST_F(BatchLinksTest, ABatchSpanLinkingToTheMessagesProducerSpanPasses) {
  const LedgerEntry e = AddEntry();
  AddBatch(e, "");
  auto summary = Run();
  ASSERT_TRUE(summary) << summary.error().message;
  EXPECT_EQ(summary->complete, 1u) << Explanations(*summary);
  EXPECT_EQ(summary->traces_with_violations, 0u) << Explanations(*summary);
  ASSERT_TRUE(summary->links);
  EXPECT_TRUE(summary->links->checkable);
  EXPECT_EQ(summary->links->expected, 1u);
  EXPECT_EQ(summary->links->found, 1u);
  ASSERT_EQ(summary->queue_latency.size(), 1u);
  EXPECT_EQ(summary->queue_latency[0].p50_ns, 3 * kMs);
}

TEST_F(BatchLinksTest, AMissingLinkIsALinkViolationNamingWhatTheBatchLinksTo) {
  const LedgerEntry e = AddEntry();
  AddBatch(e, "link-missing");
  auto summary = Run();
  ASSERT_TRUE(summary) << summary.error().message;
  ASSERT_TRUE(summary->links);
  EXPECT_EQ(summary->links->expected, 1u);
  EXPECT_EQ(summary->links->found, 0u);
  EXPECT_EQ(summary->violation_counts["link"], 1u);
  EXPECT_TRUE(HasViolation(
      *summary, "link",
      "fulfilment's batch span from queue fulfil (span 000000000000ba7c of trace "
      "000000000000000b000000000000000b) has no link to request " +
          FormatRequestId(e.request_id) +
          "'s message (orders PRODUCER span 0000000000000102 of trace "
          "00000000000000010000000000001000): its 1 link points at span 0000000000000033 of "
          "trace 00000000000000030000000000000003"))
      << Explanations(*summary);
}

TEST_F(BatchLinksTest, ALinkToAnotherSpanIsSaidWithWhereItPoints) {
  const LedgerEntry e = AddEntry();
  AddBatch(e, "wrong-link");
  auto summary = Run();
  ASSERT_TRUE(summary) << summary.error().message;
  EXPECT_TRUE(HasViolation(*summary, "link",
                           "to span 0000000000000044 of trace 00000000000000010000000000001000 "
                           "instead"))
      << Explanations(*summary);
}

TEST_F(BatchLinksTest, ABatchParentedToItsFirstMessageInsteadOfLinkingIsNamedAsSuch) {
  const LedgerEntry e = AddEntry();
  AddBatch(e, "batch-first-parent-only");
  auto summary = Run();
  ASSERT_TRUE(summary) << summary.error().message;
  EXPECT_EQ(summary->links->found, 0u);
  EXPECT_TRUE(HasViolation(*summary, "link",
                           "is parented to a message (span 0000000000000102 of trace "
                           "00000000000000010000000000001000) instead of linking to each of its "
                           "1 messages"))
      << Explanations(*summary);
  // In the first message's trace, the batch span is said once: as the link it lacks.
  EXPECT_EQ(summary->violation_counts.count("unexpected-span"), 0u) << Explanations(*summary);
  EXPECT_EQ(summary->violation_counts["link"], 1u);
}

TEST_F(BatchLinksTest, ABatchThatNeverReachedTheBackendIsALinkViolation) {
  const LedgerEntry e = AddEntry();
  std::vector<Span> spans = Spans(e);
  spans.erase(spans.begin() +
              static_cast<std::ptrdiff_t>(IndexOf(tree_, "0.0", SpanKind::kConsumer, "fulfilment")));
  backend_.Add(spans);
  BatchRecord record{"fulfilment", "fulfil", kBatchTrace, SpanId{0xba7c}, true, 1, {}};
  record.members = {BatchMember{FormatRequestId(e.request_id), "0.0"}};
  batches_.Add(record);
  auto summary = Run();
  ASSERT_TRUE(summary) << summary.error().message;
  EXPECT_EQ(summary->complete, 1u) << Explanations(*summary);
  EXPECT_TRUE(HasViolation(*summary, "link", "is not in the backend")) << Explanations(*summary);
}

TEST_F(BatchLinksTest, WithoutABatchLogLinksAreNotCheckable) {
  options_.batch_log = nullptr;
  const LedgerEntry e = AddEntry();
  AddBatch(e, "link-missing");
  auto summary = Run();
  ASSERT_TRUE(summary) << summary.error().message;
  ASSERT_TRUE(summary->links);
  EXPECT_FALSE(summary->links->checkable);
  EXPECT_EQ(summary->links->reason, "batch log unavailable (tracerig verify)");
  EXPECT_EQ(summary->violation_counts.count("link"), 0u);
}

// A backend whose traces hold no links (Zipkin v2).
class LinklessBackend final : public BackendClient {
 public:
  explicit LinklessBackend(BackendClient& inner) : inner_(inner) {}
  std::string Describe() const override { return "zipkin v2 at http://z"; }
  bool SupportsLinks() const override { return false; }
  Result<std::optional<std::vector<Span>>> GetTrace(TraceId id) override {
    return inner_.GetTrace(id);
  }
  Result<std::vector<Span>> FindSpans(std::string_view service, std::string_view key,
                                      std::string_view value, uint64_t start,
                                      uint64_t end) override {
    return inner_.FindSpans(service, key, value, start, end);
  }

 private:
  BackendClient& inner_;
};

TEST_F(BatchLinksTest, ABackendWithoutLinksSaysSoInsteadOfGuessing) {
  const LedgerEntry e = AddEntry();
  AddBatch(e, "");
  LinklessBackend linkless(backend_);
  auto summary = VerifyLedger(scenario_, ledger_, linkless, options_, clock_, sleeper_, {});
  ASSERT_TRUE(summary) << summary.error().message;
  ASSERT_TRUE(summary->links);
  EXPECT_FALSE(summary->links->checkable);
  EXPECT_EQ(summary->links->reason,
            "zipkin v2 at http://z returns no span links (Zipkin v2 has none): batch links not "
            "checked");
}

TEST(AsyncEdgesTest, DeliveryHopsAndEdgeNames) {
  EXPECT_EQ(ParseDeliveryHop("0.1").kind, DeliveryOfHop::Kind::kFirst);
  EXPECT_EQ(ParseDeliveryHop("0.1q").kind, DeliveryOfHop::Kind::kDeadLetter);
  EXPECT_EQ(ParseDeliveryHop("0.1d12").kind, DeliveryOfHop::Kind::kRedelivery);
  EXPECT_EQ(ParseDeliveryHop("0.1d12").redelivery, 12u);
  EXPECT_EQ(ParseDeliveryHop("0.1r1").kind, DeliveryOfHop::Kind::kFirst);
  EXPECT_EQ(ParseDeliveryHop("0.1d2.0").kind, DeliveryOfHop::Kind::kFirst);
  EXPECT_EQ(DestinationOfSpanName("send orders:created"), "orders:created");
  EXPECT_EQ(DestinationOfSpanName("process orders:created"), "orders:created");

  Scenario s = Pipeline();
  s.services[1].consumers[0].error_rate = 1.0;
  s.services[1].consumers[0].redeliveries = 1;
  const ExpectedTree tree = BuildExpectedTree(s, s.load.entries[0], 0);
  EXPECT_EQ(DescribeAsyncEdge(tree, IndexOf(tree, "0.0", SpanKind::kProducer, "orders")),
            "orders publishes to orders:created");
  EXPECT_EQ(DescribeAsyncEdge(tree, IndexOf(tree, "0.0", SpanKind::kConsumer, "fulfilment")),
            "orders publishes to orders:created");
  EXPECT_EQ(DescribeAsyncEdge(tree, IndexOf(tree, "0.0d1", SpanKind::kConsumer, "fulfilment")),
            "redelivery 1 of orders:created to fulfilment");
  EXPECT_EQ(DescribeAsyncEdge(tree, IndexOf(tree, "0.0q", SpanKind::kConsumer, "dlq-reader")),
            "orders:created dead-lettered to orders-dlq");
  // A trace id changed but not replaced is said as for a call.
  EXPECT_EQ(DescribeAsyncBreak(tree, IndexOf(tree, "0.0", SpanKind::kConsumer, "fulfilment"),
                               TraceId{0, 2}, TraceId{1, 2}),
            "at an async edge: orders publishes to orders:created; fulfilment's CONSUMER span is "
            "under trace 00000000000000000000000000000002, the trace id truncated to its low 64 "
            "bits (hop 0.0)");
}

}  // namespace
}  // namespace tracerig
