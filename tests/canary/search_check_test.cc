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

TEST_F(SearchCheckTest, ThreeErrorsInARowAreARequestFailed) {
  ScriptedSearchBackend backend({{true, false}});
  SearchChecks checks(backend, Options(), clock_);
  const uint64_t start = clock_.NowUnixNano();
  checks.Add(Entry());
  auto done = RunToEnd(checks);
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].result, SearchResult::kRequestFailed);
  EXPECT_EQ(backend.calls.size(), 3u);
  // Backoff 100 ms, then 200 ms.
  EXPECT_EQ(clock_.NowUnixNano() - start, 300 * kMs);
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
