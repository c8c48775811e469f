// LiveVerification against an in-memory backend on the real clock: entries added while the "load"
// runs are verified on the verifier's thread, Finish hands over the summary or the error, and the
// progress given to Finish hears of traces that settle after the load.
#include "verifier/live_verification.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <thread>
#include <utility>
#include <vector>

#include "tests/verifier/test_spans.h"

namespace tracerig {
namespace {

using ::testing::StartsWith;
using verifier_testing::AllSpans;
using verifier_testing::QuickstartScenario;
using verifier_testing::QuickstartTree;

// Spans every verifier worker's client reads: shown once `visible` is set, refused while
// `unreachable` is.
struct SharedSpans {
  std::vector<Span> spans;
  std::atomic<bool> visible{true};
  std::atomic<bool> unreachable{false};
};

class InMemoryBackend final : public BackendClient {
 public:
  explicit InMemoryBackend(std::shared_ptr<const SharedSpans> store) : store_(std::move(store)) {}

  std::string Describe() const override { return "in-memory backend"; }

  Result<std::optional<std::vector<Span>>> GetTrace(TraceId id) override {
    if (store_->unreachable.load()) return MakeError("connection refused");
    std::vector<Span> found;
    for (const Span& s : Visible()) {
      if (s.trace_id == id) found.push_back(s);
    }
    if (found.empty()) return std::optional<std::vector<Span>>{};
    return std::optional<std::vector<Span>>{std::move(found)};
  }

  Result<std::vector<Span>> FindSpans(std::string_view /*service*/, std::string_view key,
                                      std::string_view value, uint64_t /*start_us*/,
                                      uint64_t /*end_us*/) override {
    if (store_->unreachable.load()) return MakeError("connection refused");
    std::vector<Span> found;
    for (const Span& s : Visible()) {
      const AttributeValue* v = s.FindAttribute(key);
      if (v != nullptr && AttributeValueToString(*v) == value) found.push_back(s);
    }
    return found;
  }

 private:
  std::vector<Span> Visible() const {
    return store_->visible.load() ? store_->spans : std::vector<Span>{};
  }

  std::shared_ptr<const SharedSpans> store_;
};

constexpr uint64_t kMs = 1'000'000;

class LiveVerificationTest : public ::testing::Test {
 protected:
  LiveVerificationTest() {
    options_.concurrency = 1;
    options_.poll_interval_ns = 10 * kMs;
    options_.settle_incomplete_ns = 100 * kMs;
    options_.deadline_ns = 30'000 * kMs;
  }

  // A finished request; with `spans` (all but `drop` of them) its trace is in the backend.
  LedgerEntry Request(uint64_t sequence, bool spans = true, size_t drop = 0) {
    LedgerEntry e;
    e.sequence = sequence;
    e.trace_id = TraceId{0x1, 0x1000 + sequence};
    e.root_span_id = SpanId{0x100};
    e.request_id = 0x500 + sequence;
    e.end_unix_nano = SystemClock::Instance().NowUnixNano();
    e.start_unix_nano = e.end_unix_nano - 20 * kMs;
    e.intended_unix_nano = e.start_unix_nano - kMs;
    if (spans) {
      std::vector<Span> all = AllSpans(tree_, e.trace_id, e.request_id);
      all.resize(all.size() - drop);
      store_->spans.insert(store_->spans.end(), all.begin(), all.end());
    }
    return e;
  }

  BackendClientFactory Clients() const {
    return [store = store_] { return std::make_unique<InMemoryBackend>(store); };
  }

  Scenario scenario_ = QuickstartScenario();
  ExpectedTree tree_ = QuickstartTree();
  std::shared_ptr<SharedSpans> store_ = std::make_shared<SharedSpans>();
  VerifyOptions options_;
};

TEST_F(LiveVerificationTest, EntriesAddedDuringTheLoadAreVerified) {
  std::vector<LedgerEntry> entries;
  for (uint64_t i = 0; i < 3; ++i) entries.push_back(Request(i));
  const BackendClientFactory clients = Clients();
  LiveVerification live(scenario_, clients, options_, SystemClock::Instance());
  EXPECT_EQ(live.ProgressSuffix(), ", 0 verified");
  for (const LedgerEntry& e : entries) live.Add(e);
  auto summary = live.Finish({});
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  EXPECT_TRUE(summary->streamed);
  EXPECT_EQ(summary->checked, 3u);
  EXPECT_EQ(summary->complete, 3u);
  EXPECT_EQ(live.ProgressSuffix(), ", 3 verified");
}

TEST_F(LiveVerificationTest, TracesShortOfSpansOrAbsentAreJudgedSo) {
  const LedgerEntry whole = Request(0);
  const LedgerEntry short_of_two = Request(1, /*spans=*/true, /*drop=*/2);
  const LedgerEntry absent = Request(2, /*spans=*/false);
  const BackendClientFactory clients = Clients();
  LiveVerification live(scenario_, clients, options_, SystemClock::Instance());
  live.Add(whole);
  live.Add(short_of_two);
  live.Add(absent);
  auto summary = live.Finish({});
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  EXPECT_EQ(summary->checked, 3u);
  EXPECT_EQ(summary->complete, 1u);
  EXPECT_EQ(summary->incomplete, 1u);
  EXPECT_EQ(summary->missing, 1u);
}

TEST_F(LiveVerificationTest, UnsampledEntriesAreNotVerified) {
  LedgerEntry unsampled = Request(0, /*spans=*/false);
  unsampled.sampled = false;
  const BackendClientFactory clients = Clients();
  LiveVerification live(scenario_, clients, options_, SystemClock::Instance());
  live.Add(unsampled);
  live.Add(Request(1));
  auto summary = live.Finish({});
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  EXPECT_EQ(summary->checked, 1u);
  EXPECT_EQ(summary->complete, 1u);
  EXPECT_EQ(summary->skipped_unsampled, 1u);
}

TEST_F(LiveVerificationTest, FinishHandsOverTheVerifiersError) {
  LedgerEntry e = Request(0);
  e.entry = 7;
  const BackendClientFactory clients = Clients();
  LiveVerification live(scenario_, clients, options_, SystemClock::Instance());
  live.Add(e);
  auto summary = live.Finish({});
  ASSERT_FALSE(summary.ok());
  EXPECT_EQ(summary.error().message,
            "ledger entry 0 names load entry 7, but scenario \"quickstart\" has 1 load entries");
}

TEST_F(LiveVerificationTest, AnUnreachableBackendIsAnErrorNotMissingTraces) {
  store_->unreachable = true;
  options_.error_backoff_ns = kMs;
  options_.error_backoff_max_ns = kMs;
  const BackendClientFactory clients = Clients();
  LiveVerification live(scenario_, clients, options_, SystemClock::Instance());
  live.Add(Request(0));
  auto summary = live.Finish({});
  ASSERT_FALSE(summary.ok());
  EXPECT_THAT(summary.error().message, StartsWith("backend unreachable"));
}

TEST_F(LiveVerificationTest, FinishesProgressHearsOfTracesSettlingAfterTheLoad) {
  store_->visible = false;  // nothing queryable until well after Finish was called
  options_.settle_incomplete_ns = 20'000 * kMs;  // absent until then, not judged missing
  std::vector<LedgerEntry> entries;
  for (uint64_t i = 0; i < 4; ++i) entries.push_back(Request(i));
  const BackendClientFactory clients = Clients();
  LiveVerification live(scenario_, clients, options_, SystemClock::Instance());
  for (const LedgerEntry& e : entries) live.Add(e);
  std::thread release([store = store_] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    store->visible = true;
  });
  std::vector<std::pair<size_t, size_t>> progress;  // only the verifier thread appends
  auto summary =
      live.Finish([&](size_t done, size_t total) { progress.emplace_back(done, total); });
  release.join();
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  EXPECT_EQ(summary->complete, 4u);
  ASSERT_FALSE(progress.empty());
  EXPECT_EQ(progress.back(), (std::pair<size_t, size_t>{4, 4}));
  EXPECT_TRUE(std::is_sorted(progress.begin(), progress.end()));
}

TEST_F(LiveVerificationTest, DestroyedUnfinishedItStopsItsThread) {
  const BackendClientFactory clients = Clients();
  {
    LiveVerification live(scenario_, clients, options_, SystemClock::Instance());
    live.Add(Request(0));
  }  // the destructor closes the feed and joins: returning at all is the test
  SUCCEED();
}

}  // namespace
}  // namespace tracerig
