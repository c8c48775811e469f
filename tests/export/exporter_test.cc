// BatchingExporter with a scripted fake sender and a recording fake waiter: batching, flushing,
// drops, retries, partial success, Retry-After and shutdown, with exact counts and no sleeping.
// Tests synchronise on what the sender has seen; the 10 s limits only stop a broken build hanging.
#include "export/exporter.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <deque>
#include <thread>

namespace tracerig {
namespace {

using std::chrono::milliseconds;
using ::testing::Each;
using ::testing::ElementsAre;
using ::testing::Le;

constexpr auto kSafetyTimeout = std::chrono::seconds(10);
constexpr uint64_t kHour = 3'600'000;

// What the fake sender saw and what it answers; shared between the test and the exporter thread.
struct SenderScript {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::vector<Span>> calls;  // every Send, retries included
  std::deque<SendResult> results;        // answers in order; kOk once exhausted
  bool gate_open = true;                 // Send blocks (after recording the call) while false

  bool WaitForCalls(size_t n) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, kSafetyTimeout, [&] { return calls.size() >= n; });
  }
  bool WaitForSpans(size_t n) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, kSafetyTimeout, [&] {
      size_t total = 0;
      for (const auto& c : calls) total += c.size();
      return total >= n;
    });
  }
  void OpenGate() {
    {
      std::lock_guard lock(mu);
      gate_open = true;
    }
    cv.notify_all();
  }
  std::vector<size_t> BatchSizes() {
    std::lock_guard lock(mu);
    std::vector<size_t> sizes;
    for (const auto& c : calls) sizes.push_back(c.size());
    return sizes;
  }
};

class FakeSender final : public BatchSender {
 public:
  explicit FakeSender(SenderScript& script) : script_(script) {}
  SendResult Send(const std::vector<Span>& batch) override {
    std::unique_lock lock(script_.mu);
    script_.calls.push_back(batch);
    script_.cv.notify_all();
    script_.cv.wait(lock, [&] { return script_.gate_open; });
    if (script_.results.empty()) return SendResult{};
    SendResult r = script_.results.front();
    script_.results.pop_front();
    return r;
  }

 private:
  SenderScript& script_;
};

// Records every requested delay and returns at once (or false once interrupted).
class FakeWaiter final : public RetryWaiter {
 public:
  bool Wait(milliseconds delay) override {
    std::lock_guard lock(mu_);
    delays_.push_back(static_cast<uint64_t>(delay.count()));
    return !interrupted_;
  }
  void Interrupt() override {
    std::lock_guard lock(mu_);
    interrupted_ = true;
  }
  std::vector<uint64_t> delays() {
    std::lock_guard lock(mu_);
    return delays_;
  }

 private:
  std::mutex mu_;
  std::vector<uint64_t> delays_;
  bool interrupted_ = false;
};

Span NumberedSpan(uint64_t n) {
  Span s;
  s.trace_id = TraceId{1, n};
  s.span_id = SpanId{n};
  s.name = "span " + std::to_string(n);
  s.service_name = "svc";
  return s;
}

ExporterOptions Options(size_t batch, uint64_t delay_ms = kHour) {
  ExporterOptions o;
  o.max_batch_spans = batch;
  o.max_batch_delay_ms = delay_ms;
  return o;
}

SendResult Retryable(uint64_t retry_after_ms = 0) {
  return SendResult{SendResult::Kind::kRetryable, "503 Service Unavailable", retry_after_ms, 0};
}

void ExpectAllAccountedFor(const ExporterStats& s) {
  EXPECT_EQ(s.submitted, s.exported + s.rejected + s.dropped_queue_full + s.dropped_failed);
}

struct Harness {
  explicit Harness(ExporterOptions options, uint64_t seed = 7) {
    auto waiter_owned = std::make_unique<FakeWaiter>();
    waiter = waiter_owned.get();
    exporter = std::make_unique<BatchingExporter>(std::make_unique<FakeSender>(script), options,
                                                  seed, std::move(waiter_owned));
  }
  SenderScript script;  // declared first: outlives the exporter thread
  FakeWaiter* waiter = nullptr;
  std::unique_ptr<BatchingExporter> exporter;
};

TEST(BatchingExporterTest, SendsFullBatchesBySizeAndTheRestOnFlush) {
  Harness h(Options(100));
  for (uint64_t i = 0; i < 250; ++i) h.exporter->Submit(NumberedSpan(i));
  ASSERT_TRUE(h.script.WaitForCalls(2));
  // The batch delay is an hour, so the 50 left over wait for Flush.
  ASSERT_TRUE(h.exporter->Flush(kSafetyTimeout));
  EXPECT_THAT(h.script.BatchSizes(), ElementsAre(100, 100, 50));
  std::vector<uint64_t> order;
  for (const auto& batch : h.script.calls) {
    for (const Span& s : batch) order.push_back(s.span_id.value);
  }
  ASSERT_EQ(order.size(), 250u);
  for (uint64_t i = 0; i < 250; ++i) EXPECT_EQ(order[i], i);  // submission order kept
  const ExporterStats s = h.exporter->stats();
  EXPECT_EQ(s.submitted, 250u);
  EXPECT_EQ(s.exported, 250u);
  EXPECT_EQ(s.batches, 3u);
  EXPECT_EQ(s.retries, 0u);
  EXPECT_EQ(s.dropped_queue_full + s.dropped_failed + s.rejected, 0u);
}

TEST(BatchingExporterTest, FlushSendsAPartialBatchAndWaitsForIt) {
  Harness h(Options(512));
  for (uint64_t i = 1; i <= 3; ++i) h.exporter->Submit(NumberedSpan(i));
  ASSERT_TRUE(h.exporter->Flush(kSafetyTimeout));
  EXPECT_THAT(h.script.BatchSizes(), ElementsAre(3));
  EXPECT_EQ(h.exporter->stats().exported, 3u);
  // Nothing queued: a flush is immediate and sends nothing.
  ASSERT_TRUE(h.exporter->Flush(kSafetyTimeout));
  EXPECT_EQ(h.script.BatchSizes().size(), 1u);
}

TEST(BatchingExporterTest, FlushTimesOutWhileTheSenderIsStuck) {
  Harness h(Options(512));
  h.script.gate_open = false;
  h.exporter->Submit(NumberedSpan(1));
  EXPECT_FALSE(h.exporter->Flush(milliseconds(0)));
  ASSERT_TRUE(h.script.WaitForCalls(1));
  h.script.OpenGate();
  EXPECT_TRUE(h.exporter->Flush(kSafetyTimeout));
  EXPECT_EQ(h.exporter->stats().exported, 1u);
}

TEST(BatchingExporterTest, PartialBatchGoesOutAfterTheBatchDelay) {
  Harness h(Options(512, /*delay_ms=*/1));
  h.exporter->Submit(NumberedSpan(1));
  h.exporter->Submit(NumberedSpan(2));
  // No Flush and no full batch: only the delay can send them (together, or one by one if the
  // delay ran out between the two Submits).
  ASSERT_TRUE(h.script.WaitForSpans(2));
  EXPECT_EQ(h.exporter->stats().submitted, 2u);
}

TEST(BatchingExporterTest, CountsQueueFullDropsExactly) {
  ExporterOptions o = Options(5);
  o.max_queue_spans = 10;
  Harness h(o);
  h.script.gate_open = false;
  for (uint64_t i = 0; i < 5; ++i) h.exporter->Submit(NumberedSpan(i));
  ASSERT_TRUE(h.script.WaitForCalls(1));  // the thread holds 5 spans inside Send
  // The bound covers spans being sent too: 5 more fit, the next 10 are dropped.
  for (uint64_t i = 5; i < 20; ++i) h.exporter->Submit(NumberedSpan(i));
  ExporterStats s = h.exporter->stats();
  EXPECT_EQ(s.submitted, 20u);
  EXPECT_EQ(s.dropped_queue_full, 10u);
  h.script.OpenGate();
  ASSERT_TRUE(h.exporter->Flush(kSafetyTimeout));
  s = h.exporter->stats();
  EXPECT_EQ(s.exported, 10u);
  EXPECT_EQ(s.dropped_queue_full, 10u);
  EXPECT_THAT(h.script.BatchSizes(), ElementsAre(5, 5));
  EXPECT_EQ(s.lost_traces, 10u);  // the dropped spans' traces: {1, 10} .. {1, 19}
  const TraceLoss dropped = h.exporter->LossOf(TraceId{1, 19});
  EXPECT_TRUE(dropped.queue_full);
  EXPECT_FALSE(dropped.export_failed);
  EXPECT_FALSE(h.exporter->LossOf(TraceId{1, 9}).any());
  // Room again once sent.
  h.exporter->Submit(NumberedSpan(99));
  ASSERT_TRUE(h.exporter->Flush(kSafetyTimeout));
  EXPECT_EQ(h.exporter->stats().exported, 11u);
  ExpectAllAccountedFor(h.exporter->stats());
}

TEST(BatchingExporterTest, RetriesWithExponentialBackoffThenSucceeds) {
  ExporterOptions o = Options(512);
  o.initial_backoff_ms = 100;
  o.max_backoff_ms = 5000;
  Harness h(o);
  h.script.results = {Retryable(), Retryable(), Retryable()};
  for (uint64_t i = 0; i < 4; ++i) h.exporter->Submit(NumberedSpan(i));
  ASSERT_TRUE(h.exporter->Flush(kSafetyTimeout));
  EXPECT_THAT(h.script.BatchSizes(), ElementsAre(4, 4, 4, 4));  // the same batch each time
  const std::vector<uint64_t> delays = h.waiter->delays();
  ASSERT_EQ(delays.size(), 3u);
  // Equal jitter: each delay in [base/2, base], base 100, 200, 400.
  for (size_t i = 0; i < delays.size(); ++i) {
    const uint64_t base = 100u << i;
    EXPECT_GE(delays[i], base / 2) << i;
    EXPECT_LE(delays[i], base) << i;
  }
  const ExporterStats s = h.exporter->stats();
  EXPECT_EQ(s.exported, 4u);
  EXPECT_EQ(s.retries, 3u);
  EXPECT_EQ(s.batches, 1u);
  EXPECT_EQ(s.dropped_failed, 0u);
}

TEST(BatchingExporterTest, JitterIsReproducibleFromTheSeed) {
  auto delays_for = [](uint64_t seed) {
    ExporterOptions o = Options(512);
    o.max_retries = 4;
    Harness h(o, seed);
    h.script.results = {Retryable(), Retryable(), Retryable(), Retryable()};
    h.exporter->Submit(NumberedSpan(1));
    EXPECT_TRUE(h.exporter->Flush(kSafetyTimeout));
    return h.waiter->delays();
  };
  EXPECT_EQ(delays_for(1), delays_for(1));
  EXPECT_NE(delays_for(1), delays_for(2));
}

TEST(BatchingExporterTest, GivesUpAfterMaxRetriesWithCappedBackoff) {
  ExporterOptions o = Options(512);
  o.max_retries = 3;
  o.initial_backoff_ms = 100;
  o.max_backoff_ms = 250;
  Harness h(o);
  h.script.results = {Retryable(), Retryable(), Retryable(), Retryable(), SendResult{}};
  for (uint64_t i = 0; i < 6; ++i) h.exporter->Submit(NumberedSpan(i));
  ASSERT_TRUE(h.exporter->Flush(kSafetyTimeout));
  EXPECT_EQ(h.script.BatchSizes().size(), 4u);  // first attempt + 3 retries
  EXPECT_THAT(h.waiter->delays(), Each(Le(250u)));
  const ExporterStats s = h.exporter->stats();
  EXPECT_EQ(s.dropped_failed, 6u);
  EXPECT_EQ(s.exported, 0u);
  EXPECT_EQ(s.retries, 3u);
  EXPECT_EQ(s.last_error, "gave up after 3 retries: 503 Service Unavailable");
  ExpectAllAccountedFor(s);
}

TEST(BatchingExporterTest, PermanentFailureDropsTheBatchWithoutRetrying) {
  Harness h(Options(3));
  h.script.results = {SendResult{SendResult::Kind::kPermanent, "400 Bad Request", 0, 0}};
  for (uint64_t i = 0; i < 5; ++i) h.exporter->Submit(NumberedSpan(i));
  ASSERT_TRUE(h.exporter->Flush(kSafetyTimeout));
  EXPECT_THAT(h.script.BatchSizes(), ElementsAre(3, 2));  // the next batch is unaffected
  EXPECT_TRUE(h.waiter->delays().empty());
  const ExporterStats s = h.exporter->stats();
  EXPECT_EQ(s.dropped_failed, 3u);
  EXPECT_EQ(s.exported, 2u);
  EXPECT_EQ(s.retries, 0u);
  EXPECT_EQ(s.last_error, "permanent failure: 400 Bad Request");
}

// Each drop reason keeps its first error (later ones are mostly its consequences), worded to
// follow the count; last_error is still the latest.
TEST(BatchingExporterTest, KeepsTheFirstErrorOfEachDropReason) {
  ExporterOptions o = Options(2);
  o.max_retries = 1;
  Harness h(o);
  auto permanent = [](const char* reason) {
    return SendResult{SendResult::Kind::kPermanent, reason, 0, 0};
  };
  auto retryable = [](const char* reason) {
    return SendResult{SendResult::Kind::kRetryable, reason, 0, 0};
  };
  h.script.results = {permanent("HTTP 400: first"),
                      retryable("connect: Connection refused"),
                      retryable("connect: Connection refused"),
                      permanent("HTTP 413: second"),
                      retryable("HTTP 503: later"),
                      retryable("HTTP 503: later")};
  for (uint64_t i = 0; i < 8; ++i) h.exporter->Submit(NumberedSpan(i));
  ASSERT_TRUE(h.exporter->Flush(kSafetyTimeout));
  const ExporterStats s = h.exporter->stats();
  EXPECT_EQ(s.dropped_permanent, 4u);
  EXPECT_EQ(s.dropped_retries_exhausted, 4u);
  EXPECT_EQ(s.first_permanent_error, "refused for good: HTTP 400: first");
  EXPECT_EQ(s.first_retries_exhausted_error, "after 1 retries: connect: Connection refused");
  EXPECT_EQ(s.first_shutdown_error, "");
  EXPECT_EQ(s.last_error, "gave up after 1 retries: HTTP 503: later");
  ExpectAllAccountedFor(s);
}

// The traces of dropped spans are remembered up to a bound; beyond it, drops are only counted.
TEST(BatchingExporterTest, RemembersTheTracesOfDroppedSpansUpToABound) {
  ExporterOptions o = Options(4);
  o.max_lost_traces = 2;
  Harness h(o);
  h.script.results = {SendResult{SendResult::Kind::kPermanent, "HTTP 400: no", 0, 0}};
  for (uint64_t i = 0; i < 8; ++i) h.exporter->Submit(NumberedSpan(i));  // traces {1, i}
  ASSERT_TRUE(h.exporter->Flush(kSafetyTimeout));
  const ExporterStats s = h.exporter->stats();
  EXPECT_EQ(s.dropped_failed, 4u);
  EXPECT_EQ(s.exported, 4u);
  EXPECT_EQ(s.lost_traces, 2u);
  EXPECT_EQ(s.lost_untracked_spans, 2u);
  EXPECT_TRUE(h.exporter->LossOf(TraceId{1, 0}).export_failed);
  EXPECT_TRUE(h.exporter->LossOf(TraceId{1, 1}).export_failed);
  EXPECT_FALSE(h.exporter->LossOf(TraceId{1, 2}).any());  // beyond the bound
  EXPECT_FALSE(h.exporter->LossOf(TraceId{1, 5}).any());  // exported
}

// A process that exports for days forgets the oldest lost traces instead, and keeps counting.
TEST(BatchingExporterTest, ForgetsTheOldestLostTracesWhenAskedTo) {
  ExporterOptions o = Options(4);
  o.max_lost_traces = 2;
  o.forget_oldest_losses = true;
  Harness h(o);
  h.script.results = {SendResult{SendResult::Kind::kPermanent, "HTTP 400: no", 0, 0}};
  for (uint64_t i = 0; i < 8; ++i) h.exporter->Submit(NumberedSpan(i));  // traces {1, i}
  ASSERT_TRUE(h.exporter->Flush(kSafetyTimeout));
  const ExporterStats s = h.exporter->stats();
  EXPECT_EQ(s.dropped_failed, 4u);
  EXPECT_EQ(s.lost_traces, 4u);  // every lost trace counted, though only 2 are remembered
  EXPECT_EQ(s.lost_untracked_spans, 0u);
  EXPECT_FALSE(h.exporter->LossOf(TraceId{1, 0}).any());  // forgotten, oldest first
  EXPECT_FALSE(h.exporter->LossOf(TraceId{1, 1}).any());
  EXPECT_TRUE(h.exporter->LossOf(TraceId{1, 2}).export_failed);
  EXPECT_TRUE(h.exporter->LossOf(TraceId{1, 3}).export_failed);
  ExpectAllAccountedFor(s);
}

TEST(BatchingExporterTest, PartialSuccessCountsRejectedSpans) {
  Harness h(Options(5));
  h.script.results = {SendResult{SendResult::Kind::kOk, "2 spans had no name", 0, 2},
                      SendResult{SendResult::Kind::kOk, "nonsense count", 0, 99}};
  for (uint64_t i = 0; i < 8; ++i) h.exporter->Submit(NumberedSpan(i));
  ASSERT_TRUE(h.exporter->Flush(kSafetyTimeout));
  const ExporterStats s = h.exporter->stats();
  EXPECT_EQ(s.rejected, 2u + 3u);  // a count above the batch size is clamped to it
  EXPECT_EQ(s.exported, 3u);
  EXPECT_EQ(s.last_error, "backend rejected 3 of 3 spans: nonsense count");
  ExpectAllAccountedFor(s);
}

TEST(BatchingExporterTest, HonoursRetryAfter) {
  Harness h(Options(512));
  h.script.results = {Retryable(/*retry_after_ms=*/1234), Retryable(/*retry_after_ms=*/60000)};
  h.exporter->Submit(NumberedSpan(1));
  ASSERT_TRUE(h.exporter->Flush(kSafetyTimeout));
  // Exactly what the server asked for, even beyond max_backoff_ms.
  EXPECT_THAT(h.waiter->delays(), ElementsAre(1234u, 60000u));
  EXPECT_EQ(h.exporter->stats().exported, 1u);
}

TEST(BatchingExporterTest, ShutdownFlushesAndLaterSubmitsAreDropped) {
  Harness h(Options(512));
  for (uint64_t i = 0; i < 7; ++i) h.exporter->Submit(NumberedSpan(i));
  h.exporter->Shutdown();
  EXPECT_THAT(h.script.BatchSizes(), ElementsAre(7));
  h.exporter->Submit(NumberedSpan(8));
  EXPECT_TRUE(h.exporter->Flush(milliseconds(0)));
  h.exporter->Shutdown();  // idempotent
  const ExporterStats s = h.exporter->stats();
  EXPECT_EQ(s.exported, 7u);
  EXPECT_EQ(s.dropped_queue_full, 1u);
  ExpectAllAccountedFor(s);
}

TEST(BatchingExporterTest, DestructorFlushes) {
  SenderScript script;
  {
    BatchingExporter exporter(std::make_unique<FakeSender>(script), Options(512), 1);
    exporter.Submit(NumberedSpan(1));
    exporter.Submit(NumberedSpan(2));
  }
  EXPECT_THAT(script.BatchSizes(), ElementsAre(2));
}

TEST(BatchingExporterTest, ShutdownTimeoutInterruptsARealBackoffWait) {
  SenderScript script;
  script.results = {Retryable(/*retry_after_ms=*/kHour)};
  ExporterOptions o = Options(512);
  BatchingExporter exporter(std::make_unique<FakeSender>(script), o, 1);  // real waiter
  exporter.Submit(NumberedSpan(1));
  exporter.Submit(NumberedSpan(2));
  EXPECT_FALSE(exporter.Flush(milliseconds(0)));  // starts the send; cannot finish
  ASSERT_TRUE(script.WaitForCalls(1));            // the thread now waits an hour to retry
  exporter.Submit(NumberedSpan(3));               // queued behind the stuck batch
  exporter.Shutdown(milliseconds(0));             // returns only if the wait was interrupted
  const ExporterStats s = exporter.stats();
  EXPECT_EQ(s.submitted, 3u);
  EXPECT_EQ(s.dropped_failed, 3u);
  EXPECT_EQ(s.exported, 0u);
  EXPECT_EQ(script.BatchSizes().size(), 1u);
}

TEST(BatchingExporterTest, ManyConcurrentSubmittersLoseNothing) {
  ExporterOptions o = Options(64);
  o.max_queue_spans = 1'000'000;
  Harness h(o);
  constexpr int kThreads = 4;
  constexpr uint64_t kPerThread = 5000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&h, t] {
      for (uint64_t i = 0; i < kPerThread; ++i)
        h.exporter->Submit(NumberedSpan(t * kPerThread + i + 1));
    });
  }
  for (auto& t : threads) t.join();
  h.exporter->Shutdown(kSafetyTimeout);
  const ExporterStats s = h.exporter->stats();
  EXPECT_EQ(s.submitted, kThreads * kPerThread);
  EXPECT_EQ(s.exported, kThreads * kPerThread);
  EXPECT_THAT(h.script.BatchSizes(), Each(Le(64u)));
  std::vector<bool> seen(kThreads * kPerThread + 1, false);
  for (const auto& batch : h.script.calls) {
    for (const Span& span : batch) {
      ASSERT_FALSE(seen[span.span_id.value]) << "sent twice: " << span.span_id.value;
      seen[span.span_id.value] = true;
    }
  }
}

TEST(InMemorySpanSinkTest, KeepsEverySpanFromManyThreads) {
  InMemorySpanSink sink;
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&sink, t] {
      for (uint64_t i = 0; i < 1000; ++i) sink.Submit(NumberedSpan(t * 1000 + i + 1));
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(sink.size(), 3000u);
  const std::vector<Span> spans = sink.spans();
  ASSERT_EQ(spans.size(), 3000u);
  uint64_t sum = 0;
  for (const Span& s : spans) sum += s.span_id.value;
  EXPECT_EQ(sum, 3000u * 3001u / 2);
}

}  // namespace
}  // namespace tracerig
