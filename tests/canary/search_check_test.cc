// The search check against a fake backend on a fake clock: found, found late, never found,
// errors.
#include "canary/search_check.h"

#include <gtest/gtest.h>

#include <deque>
#include <string>
#include <vector>

#include "topology/expected_tree.h"

namespace tracerig {
namespace {

constexpr uint64_t kMs = 1'000'000ull;
constexpr uint64_t kSecond = 1000 * kMs;

// Answers FindSpans from a script: each call takes the next answer (the last one repeats).
class ScriptedSearchBackend final : public BackendClient {
 public:
  struct Answer {
    bool error = false;
    bool found = false;
  };
  explicit ScriptedSearchBackend(std::deque<Answer> answers) : answers_(std::move(answers)) {}

  std::string Describe() const override { return "scripted"; }
  Result<std::optional<std::vector<Span>>> GetTrace(TraceId) override {
    return std::optional<std::vector<Span>>{};
  }
  Result<std::vector<Span>> FindSpans(std::string_view service, std::string_view key,
                                      std::string_view value, uint64_t start_unix_micros,
                                      uint64_t end_unix_micros) override {
    calls.push_back({std::string(service), std::string(key), std::string(value), start_unix_micros,
                     end_unix_micros});
    const Answer a = answers_.front();
    if (answers_.size() > 1) answers_.pop_front();
    if (a.error) return MakeError(ErrorCode::kUnavailable, "connection refused");
    Span other;  // another trace's span with the same attribute: never counts
    other.trace_id = TraceId{0, 99};
    std::vector<Span> spans{other};
    if (a.found) {
      Span s;
      s.trace_id = trace;
      spans.push_back(s);
    }
    return spans;
  }

  struct Call {
    std::string service, key, value;
    uint64_t start, end;
  };
  std::vector<Call> calls;
  TraceId trace{7, 42};

 private:
  std::deque<Answer> answers_;
};

class SearchCheckTest : public ::testing::Test {
 protected:
  LedgerEntry Entry() const {
    LedgerEntry e;
    e.sequence = 3;
    e.trace_id = TraceId{7, 42};
    e.request_id = 0xabc;
    e.start_unix_nano = clock_.NowUnixNano();
    e.end_unix_nano = clock_.NowUnixNano() + 10 * kMs;
    return e;
  }
  SearchCheckOptions Options() const {
    SearchCheckOptions o;
    o.queryable_within_ns = 2 * kSecond;
    o.poll_interval_ns = 100 * kMs;
    return o;
  }
  // Steps until nothing is pending, advancing the clock to each next due time.
  std::vector<SearchChecks::Finished> RunToEnd(SearchChecks& checks) {
    std::vector<SearchChecks::Finished> all;
    for (int i = 0; i < 10000 && checks.pending() > 0; ++i) {
      const uint64_t next = checks.NextDueNs();
      if (next > clock_.NowUnixNano()) clock_.Advance(next - clock_.NowUnixNano());
      for (auto& f : checks.Step()) all.push_back(f);
    }
    return all;
  }

  FakeClock clock_;
};

TEST_F(SearchCheckTest, FoundAtTheFirstSearchOnTheDriversRootSpan) {
  ScriptedSearchBackend backend({{false, true}});
  SearchChecks checks(backend, Options(), clock_);
  const LedgerEntry e = Entry();
  checks.Add(e);
  auto done = RunToEnd(checks);
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].result, SearchResult::kFound);
  ASSERT_EQ(backend.calls.size(), 1u);
  EXPECT_EQ(backend.calls[0].service, kDriverServiceName);
  EXPECT_EQ(backend.calls[0].key, "tracerig.request_id");
  EXPECT_EQ(backend.calls[0].value, "0000000000000abc");
  // The window holds the request, widened each side.
  EXPECT_LT(backend.calls[0].start, e.start_unix_nano / 1000);
  EXPECT_GT(backend.calls[0].end, e.end_unix_nano / 1000);
}

TEST_F(SearchCheckTest, RetriedEachPollIntervalUntilFound) {
  ScriptedSearchBackend backend({{false, false}, {false, false}, {false, false}, {false, true}});
  SearchChecks checks(backend, Options(), clock_);
  const uint64_t start = clock_.NowUnixNano();
  checks.Add(Entry());
  auto done = RunToEnd(checks);
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].result, SearchResult::kFound);
  EXPECT_EQ(backend.calls.size(), 4u);
  EXPECT_EQ(clock_.NowUnixNano() - start, 300 * kMs);
}

TEST_F(SearchCheckTest, NotFoundByTheRequestsEndPlusQueryableWithin) {
  ScriptedSearchBackend backend({{false, false}});
  SearchChecks checks(backend, Options(), clock_);
  const LedgerEntry e = Entry();
  checks.Add(e);
  auto done = RunToEnd(checks);
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].result, SearchResult::kNotFound);
  // The last search is made at the deadline, not before.
  EXPECT_EQ(clock_.NowUnixNano(), e.end_unix_nano + 2 * kSecond);
  EXPECT_GE(backend.calls.size(), 20u);
}

TEST_F(SearchCheckTest, ErrorsUntilTheDeadlineAreARequestFailed) {
  ScriptedSearchBackend backend({{true, false}});
  SearchCheckOptions o = Options();
  o.min_error_retry_ns = 0;
  SearchChecks checks(backend, o, clock_);
  const LedgerEntry e = Entry();
  checks.Add(e);
  auto done = RunToEnd(checks);
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].result, SearchResult::kRequestFailed);
  // Backoff 100, 200, 400, 800 ms, then the last search at the deadline.
  EXPECT_EQ(backend.calls.size(), 6u);
  EXPECT_EQ(clock_.NowUnixNano(), e.end_unix_nano + 2 * kSecond);
}

TEST_F(SearchCheckTest, AnOutageShorterThanTheDeadlineCostsNothing) {
  // Five failed searches (1.5 s of backoff), then the backend is back.
  ScriptedSearchBackend backend(
      {{true, false}, {true, false}, {true, false}, {true, false}, {true, false}, {false, true}});
  SearchCheckOptions o = Options();
  o.min_error_retry_ns = 0;
  SearchChecks checks(backend, o, clock_);
  checks.Add(Entry());
  auto done = RunToEnd(checks);
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].result, SearchResult::kFound);
  EXPECT_EQ(backend.calls.size(), 6u);
}

TEST_F(SearchCheckTest, ATraceAddedAfterItsDeadlineStillRidesOutABlip) {
  ScriptedSearchBackend backend({{true, false}, {true, false}, {true, false}, {false, true}});
  SearchChecks checks(backend, Options(), clock_);
  const LedgerEntry e = Entry();
  clock_.Advance(5 * kSecond);  // passed its check by id late
  checks.Add(e);
  auto done = RunToEnd(checks);
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].result, SearchResult::kFound);
  // Errors alone: retried until min_error_retry_ns after it was added.
  ScriptedSearchBackend down({{true, false}});
  SearchChecks failing(down, Options(), clock_);
  const uint64_t added = clock_.NowUnixNano();
  failing.Add(e);
  auto failed = RunToEnd(failing);
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].result, SearchResult::kRequestFailed);
  EXPECT_EQ(clock_.NowUnixNano(), added + Options().min_error_retry_ns);
}

class RecordingSleeper final : public Sleeper {
 public:
  void SleepFor(uint64_t nanos) override { slept.push_back(nanos); }
  std::vector<uint64_t> slept;
};

TEST_F(SearchCheckTest, AReReadSearchRetriesErrorsWithBackoffForABoundedTime) {
  ScriptedSearchBackend blip({{true, false}, {true, false}, {false, true}});
  RecordingSleeper sleeper;
  auto found = SearchRetryingErrors(blip, Entry(), Options(), 10 * kSecond, sleeper, nullptr);
  ASSERT_TRUE(found);
  EXPECT_TRUE(*found);
  EXPECT_EQ(sleeper.slept, (std::vector<uint64_t>{100 * kMs, 200 * kMs}));

  ScriptedSearchBackend down({{true, false}});
  RecordingSleeper bounded;
  EXPECT_FALSE(SearchRetryingErrors(down, Entry(), Options(), 10 * kSecond, bounded, nullptr));
  uint64_t total = 0;
  for (uint64_t n : bounded.slept) total += n;
  EXPECT_EQ(total, 10 * kSecond);

  std::atomic<bool> stop{true};
  ScriptedSearchBackend stopped({{true, false}});
  RecordingSleeper none;
  EXPECT_FALSE(SearchRetryingErrors(stopped, Entry(), Options(), 10 * kSecond, none, &stop));
  EXPECT_TRUE(none.slept.empty());
  EXPECT_EQ(stopped.calls.size(), 1u);
}

TEST_F(SearchCheckTest, AnErrorBetweenAnswersIsRetriedAndForgotten) {
  ScriptedSearchBackend backend(
      {{true, false}, {true, false}, {false, false}, {true, false}, {true, false}, {false, true}});
  SearchChecks checks(backend, Options(), clock_);
  checks.Add(Entry());
  auto done = RunToEnd(checks);
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].result, SearchResult::kFound);
  EXPECT_EQ(backend.calls.size(), 6u);
}

TEST_F(SearchCheckTest, SearchOnceSaysWhatTheBackendAnswered) {
  ScriptedSearchBackend found({{false, true}});
  auto a = SearchOnce(found, Entry(), kSecond);
  ASSERT_TRUE(a);
  EXPECT_TRUE(*a);
  ScriptedSearchBackend other_trace({{false, false}});
  auto b = SearchOnce(other_trace, Entry(), kSecond);
  ASSERT_TRUE(b);
  EXPECT_FALSE(*b);
  ScriptedSearchBackend down({{true, false}});
  EXPECT_FALSE(SearchOnce(down, Entry(), kSecond));
}

TEST_F(SearchCheckTest, AbandonEndsPendingSearches) {
  ScriptedSearchBackend backend({{false, false}});
  SearchChecks checks(backend, Options(), clock_);
  checks.Add(Entry());
  checks.Add(Entry());
  (void)checks.Step();
  EXPECT_EQ(checks.pending(), 2u);
  EXPECT_EQ(checks.Abandon().size(), 2u);
  EXPECT_EQ(checks.pending(), 0u);
  EXPECT_EQ(checks.NextDueNs(), 0u);
}

}  // namespace
}  // namespace tracerig
