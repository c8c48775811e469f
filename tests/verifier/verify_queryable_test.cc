// VerifyLedger's time to queryable: first full polls after the export, late spans per hop, and
// traces polled from a streaming ledger feed as their requests end.
#include "verifier/verify.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <mutex>
#include <optional>
#include <utility>
#include <vector>

#include "tests/verifier/verify_test_support.h"

namespace tracerig {
namespace {

using verify_test_support::FakeBackend;
using verify_test_support::kMs;
using verify_test_support::kSec;
using verify_test_support::VerifyLedgerTest;

TEST_F(VerifyLedgerTest, TimeToQueryableIsTheFirstFullPollAfterTheExport) {
  // All three requests ended 21 ms after the clock's start (AddEntry). Polls of an unfinished
  // trace come every 100 ms: at 0, 100 ms, 200 ms, 300 ms.
  backend_.Add(Spans(AddEntry()), 50 * kMs);   // first full at 100 ms: 79 ms
  backend_.Add(Spans(AddEntry()), 250 * kMs);  // first full at 300 ms: 279 ms
  backend_.Add(Spans(AddEntry()), 0);          // full at the first poll, before the export: 0
  std::vector<Span> partial = Spans(AddEntry());
  partial.pop_back();
  backend_.Add(partial);  // never complete: no sample
  options_.settle_incomplete_ns = 500 * kMs;
  auto summary = Run();
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  const TimeToQueryable& t = summary->time_to_queryable;
  EXPECT_EQ(t.traces, 3u);
  // Full at a first poll within the poll interval of its end: as precise as a measured sample.
  EXPECT_EQ(t.upper_bounds, 0u);
  EXPECT_EQ(t.p50_ns, 79 * kMs);
  EXPECT_EQ(t.p90_ns, 279 * kMs);
  EXPECT_EQ(t.p99_ns, 279 * kMs);
  EXPECT_EQ(t.max_ns, 279 * kMs);
  EXPECT_EQ(t.precision_ns, 100 * kMs);
}

TEST_F(VerifyLedgerTest, TimeToQueryableUsesTheCallersExportTimes) {
  backend_.Add(Spans(AddEntry()), 250 * kMs);  // first full at 300 ms
  // The caller knows when the last span left: 30 ms after the response (21 ms).
  options_.last_export_unix_nano = [](const LedgerEntry& e) { return e.end_unix_nano + 30 * kMs; };
  auto summary = Run();
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  EXPECT_EQ(summary->time_to_queryable.traces, 1u);
  EXPECT_EQ(summary->time_to_queryable.upper_bounds, 0u);
  EXPECT_EQ(summary->time_to_queryable.max_ns, 249 * kMs);
  // Unknown export times give no samples.
  options_.last_export_unix_nano = [](const LedgerEntry&) { return uint64_t{0}; };
  summary = Run();
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  EXPECT_EQ(summary->time_to_queryable.traces, 0u);
  EXPECT_EQ(summary->time_to_queryable.max_ns, 0u);
}

TEST_F(VerifyLedgerTest, OnTraceHearsOfEachTraceAsClassifiedWithItsSample) {
  const LedgerEntry whole = AddEntry();
  backend_.Add(Spans(whole), 50 * kMs);  // first full at 100 ms: 79 ms
  const LedgerEntry part = AddEntry();
  std::vector<Span> partial = Spans(part);
  partial.pop_back();
  backend_.Add(partial);
  AddEntry();  // never there
  options_.settle_incomplete_ns = 500 * kMs;
  struct Heard {
    uint64_t sequence;
    TraceStatus status;
    size_t expected;
    size_t found;
    std::optional<uint64_t> ttq;
  };
  std::mutex mu;
  std::vector<Heard> heard;
  options_.on_trace = [&](const TraceOutcome& o) {
    std::lock_guard lock(mu);
    heard.push_back({o.entry->sequence, o.verdict->status, o.verdict->expected_spans,
                     o.verdict->found_spans, o.time_to_queryable_ns});
    EXPECT_FALSE(o.evicted);
  };
  auto summary = Run();
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  ASSERT_EQ(heard.size(), 3u);
  std::sort(heard.begin(), heard.end(),
            [](const Heard& a, const Heard& b) { return a.sequence < b.sequence; });
  EXPECT_EQ(heard[0].status, TraceStatus::kComplete);
  EXPECT_EQ(heard[0].ttq, std::optional<uint64_t>(79 * kMs));
  EXPECT_EQ(heard[0].found, heard[0].expected);
  EXPECT_EQ(heard[1].status, TraceStatus::kIncomplete);
  EXPECT_EQ(heard[1].ttq, std::nullopt);
  EXPECT_EQ(heard[1].found + 1, heard[1].expected);
  EXPECT_EQ(heard[2].status, TraceStatus::kMissing);
  EXPECT_EQ(heard[2].found, 0u);
}

// checkout's SERVER and CLIENT spans (indices 5 and 6) become visible at `late_at`, the others at
// once.
void AddWithLateCheckout(FakeBackend& backend, std::vector<Span> spans, uint64_t late_at) {
  std::vector<Span> late = {spans[5], spans[6]};
  spans.erase(spans.begin() + 5, spans.begin() + 7);
  backend.Add(std::move(spans));
  backend.Add(std::move(late), late_at);
}

TEST_F(VerifyLedgerTest, SpansMissingAtTheFirstPollOfALateTraceAreLateAtTheirHops) {
  // Ledger ends at 21 ms; polls of an incomplete trace every 100 ms, so late spans visible at
  // 1.45 s are first seen at 1.5 s (1.479 s after the export) and at 1.25 s at 1.3 s (1.279 s).
  AddWithLateCheckout(backend_, Spans(AddEntry()), 1450 * kMs);
  AddWithLateCheckout(backend_, Spans(AddEntry()), 1250 * kMs);
  backend_.Add(Spans(AddEntry()));  // full at its first poll: never late
  auto summary = Run();
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  const TimeToQueryable& t = summary->time_to_queryable;
  EXPECT_EQ(summary->complete, 3u);
  EXPECT_EQ(t.traces, 3u);
  EXPECT_EQ(t.upper_bounds, 0u);  // that first poll came at once: a measured 0
  EXPECT_EQ(t.late_traces, 2u);
  EXPECT_EQ(t.late_floor_ns, 1 * kSec);
  EXPECT_EQ(t.late_hops,
            (std::vector<LateHop>{{"0.1", "frontend", "checkout", SpanKind::kServer, 2, 1479 * kMs},
                                  {"0.1.0", "checkout", "payment", SpanKind::kClient, 2,
                                   1479 * kMs}}));
  // p99 of three samples is the largest.
  EXPECT_EQ(t.observed_p99_ns, 1479 * kMs);
  EXPECT_EQ(t.observed_max_ns, 1479 * kMs);
}

TEST_F(VerifyLedgerTest, LateSpansBelowTheFloorAreNotAttributed) {
  // 179 ms late: what a first poll racing the exporter's batch delay sees on a healthy backend.
  AddWithLateCheckout(backend_, Spans(AddEntry()), 150 * kMs);
  auto summary = Run();
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  const TimeToQueryable& t = summary->time_to_queryable;
  EXPECT_EQ(t.observed_max_ns, 179 * kMs);
  EXPECT_EQ(t.late_traces, 0u);
  EXPECT_TRUE(t.late_hops.empty());
}

TEST_F(VerifyLedgerTest, TheScenariosExpectationIsTheLateSpanFloor) {
  scenario_.expect.time_to_queryable_max_ns = 500 * kMs;
  scenario_.expect.time_to_queryable_p99_ns = 100 * kMs;  // the smaller one
  AddWithLateCheckout(backend_, Spans(AddEntry()), 150 * kMs);
  auto summary = Run();
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  EXPECT_EQ(summary->time_to_queryable.late_floor_ns, 100 * kMs);
  EXPECT_EQ(summary->time_to_queryable.late_traces, 1u);
  ASSERT_EQ(summary->time_to_queryable.late_hops.size(), 2u);
  EXPECT_EQ(summary->time_to_queryable.late_hops[0].max_ns, 179 * kMs);
}

TEST_F(VerifyLedgerTest, TracesFullAtTheirFirstPollAreNeverLate) {
  // A run verified after everything was exported: every trace full at its first poll. The first
  // request ended 3 s before: its figure only bounds its time to queryable. The second ended
  // just now: a first poll within the poll interval of its end is as good as a measured sample.
  backend_.Add(Spans(AddEntry()));
  clock_.Advance(3 * kSec);
  backend_.Add(Spans(AddEntry()));
  auto summary = Run();
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  const TimeToQueryable& t = summary->time_to_queryable;
  EXPECT_EQ(t.traces, 2u);
  EXPECT_EQ(t.upper_bounds, 1u);
  EXPECT_GE(t.p99_ns, 2 * kSec);  // the bound: how long ago the first request ended
  // Judged without the bound: the second trace's measured 0.
  EXPECT_EQ(t.observed_p99_ns, 0u);
  EXPECT_EQ(t.observed_max_ns, 0u);
  EXPECT_TRUE(t.late_hops.empty());
}

// Streaming: advances the fake clock, then hands the feed every entry whose request has ended by
// then (monotonic times), and closes it once the last is in and `close_at` has come.
class FeedingSleeper final : public Sleeper {
 public:
  FeedingSleeper(FakeClock& clock, LedgerFeed& feed,
                 std::vector<std::pair<uint64_t, LedgerEntry>> arrivals, uint64_t close_at)
      : clock_(clock), feed_(feed), arrivals_(std::move(arrivals)), close_at_(close_at) {
    Deliver();
  }
  void SleepFor(uint64_t nanos) override {
    clock_.Advance(nanos);
    Deliver();
  }

 private:
  void Deliver() {
    const uint64_t now = clock_.NowMonotonicNano();
    while (next_ < arrivals_.size() && arrivals_[next_].first <= now) {
      feed_.Add(arrivals_[next_++].second);
    }
    if (next_ == arrivals_.size() && now >= close_at_) feed_.Close();
  }

  FakeClock& clock_;
  LedgerFeed& feed_;
  std::vector<std::pair<uint64_t, LedgerEntry>> arrivals_;  // by time
  size_t next_ = 0;
  uint64_t close_at_;
};

class StreamingVerifyTest : public VerifyLedgerTest {
 protected:
  // A request that ended at monotonic `end_ns` (the clock starts at 0), in the ledger and due to
  // arrive in the feed then; its spans become queryable `lag_ns` later.
  void AddStreamed(uint64_t end_ns, uint64_t lag_ns) {
    LedgerEntry e = AddEntry();
    e.end_unix_nano = unix_at_zero_ + end_ns;
    e.start_unix_nano = e.end_unix_nano - 20 * kMs;
    e.intended_unix_nano = e.start_unix_nano - kMs;
    ledger_.back() = e;
    backend_.Add(Spans(e), end_ns + lag_ns);
    arrivals_.emplace_back(end_ns, e);
  }
  Result<VerificationSummary> Stream(uint64_t close_at, size_t shards = 1) {
    LedgerFeed feed(shards, 100);
    FeedingSleeper sleeper(clock_, feed, arrivals_, close_at);
    return VerifyLedgerFeed(
        scenario_, feed, [this] { return std::make_unique<FakeBackend>(backend_); }, options_,
        clock_, sleeper,
        [this](size_t done, size_t total) { progress_.emplace_back(done, total); });
  }

  const uint64_t unix_at_zero_ = clock_.NowUnixNano();
  std::vector<std::pair<uint64_t, LedgerEntry>> arrivals_;
};

TEST_F(StreamingVerifyTest, TracesPolledAsTheyEndAreMeasuredNotBounded) {
  // Five requests ending 300 ms apart, each queryable 150 ms after its end. Each is polled at
  // once (nothing yet), 100 ms later (nothing), 200 ms later (full): 200 ms, measured.
  for (uint64_t k = 0; k < 5; ++k) AddStreamed(k * 300 * kMs, 150 * kMs);
  auto streamed = Stream(/*close_at=*/1200 * kMs);
  ASSERT_TRUE(streamed.ok()) << streamed.error().message;
  EXPECT_EQ(streamed->complete, 5u);
  const TimeToQueryable& t = streamed->time_to_queryable;
  EXPECT_EQ(t.traces, 5u);
  EXPECT_EQ(t.upper_bounds, 0u);
  EXPECT_EQ(t.p50_ns, 200 * kMs);
  EXPECT_EQ(t.max_ns, 200 * kMs);
  EXPECT_EQ(t.observed_p99_ns, 200 * kMs);
  EXPECT_EQ(t.precision_ns, 125 * kMs);  // poll interval + the 25 ms poll step
  EXPECT_TRUE(streamed->streamed);
  // The last request ended at 1.2 s (the feed closed then); it was full at 1.4 s and confirmed on
  // the next step after min_repoll_interval (20 ms): 1.425 s.
  EXPECT_EQ(streamed->elapsed_ns, 1425 * kMs);
  EXPECT_EQ(streamed->after_load_ns, 225 * kMs);
  EXPECT_EQ(progress_.back(), (std::pair<size_t, size_t>{5, 5}));

  // The same ledger verified after the load: every trace is full at its first poll, long after
  // its end, so its figure only bounds its time to queryable, and nothing is judged on it.
  auto after = Run();
  ASSERT_TRUE(after.ok()) << after.error().message;
  EXPECT_FALSE(after->streamed);
  EXPECT_EQ(after->time_to_queryable.upper_bounds, 5u);
  EXPECT_GE(after->time_to_queryable.max_ns, 1400 * kMs);
  EXPECT_EQ(after->time_to_queryable.observed_p99_ns, 0u);
}

TEST_F(StreamingVerifyTest, TracesTricklingInAreAskedForInBatchesOnePerStep) {
  // 40 requests 5 ms apart: one request per worker and 25 ms step, each with every trace due.
  for (uint64_t k = 0; k < 40; ++k) AddStreamed(k * 5 * kMs, 150 * kMs);
  backend_.batch_limit = 100;
  auto summary = Stream(/*close_at=*/195 * kMs);
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  EXPECT_EQ(summary->complete, 40u);
  EXPECT_EQ(summary->time_to_queryable.upper_bounds, 0u);
  const uint64_t steps = summary->elapsed_ns / options_.stream_wait_ns + 1;
  EXPECT_LE(summary->backend_requests, steps);
  EXPECT_GE(summary->polls, 3 * 40u);  // nothing, full, confirmed: at least three polls each
}

TEST_F(StreamingVerifyTest, TheDeadlineCountsFromTheEndOfTheLoad) {
  options_.deadline_ns = 1 * kSec;
  options_.settle_incomplete_ns = 10 * kSec;  // the incomplete trace never settles
  AddStreamed(0, 100 * kMs);
  AddEntry();  // a second request, never complete, ending at 2.5 s: after a deadline from 0
  ledger_.back().end_unix_nano = unix_at_zero_ + 2500 * kMs;
  std::vector<Span> partial = Spans(ledger_.back());
  partial.pop_back();
  backend_.Add(partial, 2500 * kMs);
  arrivals_.emplace_back(2500 * kMs, ledger_.back());
  auto summary = Stream(/*close_at=*/3 * kSec);
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  EXPECT_EQ(summary->checked, 2u);
  EXPECT_EQ(summary->complete, 1u);
  EXPECT_EQ(summary->incomplete, 1u);
  EXPECT_TRUE(summary->deadline_hit);
  // Closed at 3 s, deadline 1 s later; the last poll is on the step grid.
  EXPECT_GE(summary->elapsed_ns, 4 * kSec);
  EXPECT_LE(summary->elapsed_ns, 4 * kSec + options_.stream_wait_ns);
  EXPECT_EQ(summary->after_load_ns, summary->elapsed_ns - 3 * kSec);
}

TEST_F(StreamingVerifyTest, SeveralWorkersEachTakeTheirShare) {
  // 300 requests (three deals of 100) in the feed before it closes, four workers on their own
  // threads sharing the fake clock: every trace is verified once.
  for (uint64_t k = 0; k < 300; ++k) AddStreamed(0, (k % 7) * 40 * kMs);
  auto summary = Stream(/*close_at=*/0, /*shards=*/4);
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  EXPECT_EQ(summary->checked, 300u);
  EXPECT_EQ(summary->complete, 300u);
  EXPECT_EQ(summary->time_to_queryable.traces, 300u);
  EXPECT_EQ(progress_.back(), (std::pair<size_t, size_t>{300, 300}));
}

TEST_F(StreamingVerifyTest, AnEntryNamingAnUnknownLoadEntryIsAnError) {
  AddStreamed(0, 0);
  arrivals_.back().second.entry = 7;
  auto summary = Stream(/*close_at=*/0);
  ASSERT_FALSE(summary.ok());
  EXPECT_EQ(summary.error().message,
            "ledger entry 0 names load entry 7, but scenario \"quickstart\" has 1 load entries");
}

TEST_F(VerifyLedgerTest, LateHopsAreBoundedMostFrequentFirst) {
  AddWithLateCheckout(backend_, Spans(AddEntry()), 1500 * kMs);
  std::vector<Span> late_cart = Spans(AddEntry());
  std::vector<Span> cart = {late_cart[3]};
  late_cart.erase(late_cart.begin() + 3);
  backend_.Add(late_cart);
  backend_.Add(cart, 1500 * kMs);
  AddWithLateCheckout(backend_, Spans(AddEntry()), 1500 * kMs);
  options_.max_late_hops = 2;
  auto summary = Run();
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  const TimeToQueryable& t = summary->time_to_queryable;
  EXPECT_EQ(t.late_traces, 3u);
  ASSERT_EQ(t.late_hops.size(), 2u);  // cart's hop (1 trace) is the one left out
  EXPECT_EQ(t.late_hops[0].callee, "checkout");
  EXPECT_EQ(t.late_hops[0].traces, 2u);
  EXPECT_EQ(t.late_hops[1].hop, "0.1.0");
}

TEST_F(VerifyLedgerTest, ATraceAbsentAtItsFirstPollIsLateAtEveryHop) {
  backend_.Add(Spans(AddEntry()), 1500 * kMs);
  auto summary = Run();
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  const TimeToQueryable& t = summary->time_to_queryable;
  EXPECT_EQ(t.late_traces, 1u);
  // Every span: the driver's and frontend's at hop 0, then a CLIENT and a SERVER span per call.
  ASSERT_EQ(t.late_hops.size(), 8u);
  for (const LateHop& h : t.late_hops) EXPECT_EQ(h.traces, 1u) << h.hop;
}

}  // namespace
}  // namespace tracerig
