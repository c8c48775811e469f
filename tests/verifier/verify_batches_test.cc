// VerifyLedger spreading a ledger over several workers and asking the fake backend for traces
// in batches: the same verdicts, retries and rate limit as one trace at a time.
#include "verifier/verify.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>

#include "tests/verifier/verify_test_support.h"

namespace tracerig {
namespace {

using verify_test_support::AdvancingSleeper;
using verify_test_support::FakeBackend;
using verify_test_support::kMs;
using verify_test_support::kSec;
using verify_test_support::SharedAdvancingSleeper;
using verify_test_support::VerifyLedgerTest;

// The same ledger verified by 1 and by 4 workers gives the same summary.
TEST_F(VerifyLedgerTest, WorkersShareTheLedgerAndMergeTheSameSummary) {
  options_.settle_incomplete_ns = 200 * kMs;
  for (int i = 0; i < 23; ++i) {
    LedgerEntry e = AddEntry();
    std::vector<Span> spans = Spans(e);
    if (i % 5 == 1) spans.erase(spans.begin() + 3);           // incomplete
    if (i % 5 == 2) spans[7].trace_id = TraceId{0x2, e.sequence};  // broken
    if (i % 5 == 3) spans[5].parent_span_id = SpanId{};        // multiple roots
    if (i % 7 == 6) continue;                                  // missing
    backend_.Add(spans);
  }
  SharedAdvancingSleeper sleeper(clock_);
  auto verify = [&](size_t concurrency, int& clients) {
    options_.concurrency = concurrency;
    clients = 0;
    return VerifyLedger(
        scenario_, ledger_,
        [&]() -> std::unique_ptr<BackendClient> {
          ++clients;
          return std::make_unique<FakeBackend>(backend_);
        },
        options_, clock_, sleeper);
  };
  int one_client = 0;
  int four_clients = 0;
  auto one = verify(1, one_client);
  auto four = verify(4, four_clients);
  ASSERT_TRUE(one.ok()) << one.error().message;
  ASSERT_TRUE(four.ok()) << four.error().message;
  EXPECT_EQ(one_client, 1);
  EXPECT_EQ(four_clients, 4);
  EXPECT_EQ(four->checked, 23u);
  EXPECT_EQ(four->complete, one->complete);
  EXPECT_EQ(four->incomplete, one->incomplete);
  EXPECT_EQ(four->broken, one->broken);
  EXPECT_EQ(four->missing, one->missing);
  EXPECT_GT(four->incomplete, 0u);
  EXPECT_GT(four->broken, 0u);
  EXPECT_GT(four->missing, 0u);
  EXPECT_EQ(four->violation_counts, one->violation_counts);
  EXPECT_EQ(four->traces_with_violations, one->traces_with_violations);
  ASSERT_EQ(four->break_edges.size(), one->break_edges.size());
  EXPECT_EQ(four->break_edges[0].traces, one->break_edges[0].traces);
  auto sequences = [](const std::vector<TraceVerdict>& verdicts) {
    std::vector<uint64_t> out;
    for (const TraceVerdict& v : verdicts) out.push_back(v.sequence);
    return out;
  };
  const std::vector<uint64_t> examples = sequences(four->examples);
  EXPECT_EQ(examples, sequences(one->examples));
  EXPECT_TRUE(std::is_sorted(examples.begin(), examples.end()));
  EXPECT_FALSE(four->violation_examples.empty());
  EXPECT_EQ(sequences(four->violation_examples), sequences(one->violation_examples));
  // Analytics merge to the same figures too.
  EXPECT_EQ(four->graph.edges, one->graph.edges);
  EXPECT_FALSE(four->graph.edges.empty());
  ASSERT_EQ(four->sampling.size(), one->sampling.size());
  for (size_t i = 0; i < four->sampling.size(); ++i) {
    EXPECT_EQ(four->sampling[i].service, one->sampling[i].service);
    EXPECT_EQ(four->sampling[i].n, one->sampling[i].n);
    EXPECT_EQ(four->sampling[i].k, one->sampling[i].k);
    EXPECT_EQ(four->sampling[i].parent_based_inconsistencies,
              one->sampling[i].parent_based_inconsistencies);
  }
  EXPECT_EQ(four->time_to_queryable.traces, one->time_to_queryable.traces);
}

TEST_F(VerifyLedgerTest, OneWorkerPerTraceAtMost) {
  backend_.Add(Spans(AddEntry()));
  int clients = 0;
  options_.concurrency = 8;
  auto summary = VerifyLedger(
      scenario_, ledger_,
      [&]() -> std::unique_ptr<BackendClient> {
        ++clients;
        return std::make_unique<FakeBackend>(backend_);
      },
      options_, clock_, sleeper_);
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  EXPECT_EQ(clients, 1);
  EXPECT_EQ(summary->complete, 1u);
}

TEST_F(VerifyLedgerTest, AWorkersBackendFailureEndsTheWholeRun) {
  for (int i = 0; i < 8; ++i) backend_.Add(Spans(AddEntry()));
  backend_.failures_to_inject = -1;
  SharedAdvancingSleeper sleeper(clock_);
  options_.concurrency = 4;
  auto summary = VerifyLedger(
      scenario_, ledger_,
      [&]() -> std::unique_ptr<BackendClient> { return std::make_unique<FakeBackend>(backend_); },
      options_, clock_, sleeper);
  ASSERT_FALSE(summary.ok());
  EXPECT_EQ(summary.error().message, "backend unreachable: connection refused");
  EXPECT_EQ(summary.error().code, ErrorCode::kUnavailable);
}

TEST_F(VerifyLedgerTest, NullClientFromTheFactoryIsAnError) {
  AddEntry();
  auto summary = VerifyLedger(
      scenario_, ledger_, []() -> std::unique_ptr<BackendClient> { return nullptr; }, options_,
      clock_, sleeper_);
  ASSERT_FALSE(summary.ok());
  EXPECT_EQ(summary.error().message, "verifier: the backend client factory returned null");
}

TEST_F(VerifyLedgerTest, BatchesMixSettledAndUnsettledTracesWithTheSameVerdicts) {
  LedgerEntry complete = AddEntry();
  backend_.Add(Spans(complete));
  std::vector<Span> partial = Spans(AddEntry());
  partial.resize(6);
  backend_.Add(partial);
  AddEntry();  // nothing ever arrives
  backend_.batch_limit = 10;
  auto batched = Run();
  ASSERT_TRUE(batched.ok()) << batched.error().message;
  // All three at 0; the complete one alone at 20ms (settled: a batch of one is a GetTrace); the
  // other two together every 100ms until they have been quiet for settle_incomplete (2s).
  std::vector<size_t> expected_batches = {3};
  expected_batches.insert(expected_batches.end(), 20, 2);
  EXPECT_EQ(backend_.batch_sizes, expected_batches);
  EXPECT_EQ(backend_.get_calls, 1);
  EXPECT_EQ(batched->polls, 44u);
  EXPECT_EQ(batched->complete, 1u);
  EXPECT_EQ(batched->incomplete, 1u);
  EXPECT_EQ(batched->missing, 1u);
  EXPECT_EQ(batched->elapsed_ns, 2 * kSec);

  // The same ledger one trace per request: the same verdicts, times and polls.
  FakeClock clock;
  AdvancingSleeper sleeper(clock);
  FakeBackend unbatched(clock);
  unbatched.Add(Spans(complete));
  unbatched.Add(partial);
  options_.max_traces_per_request = 1;
  auto one_by_one = VerifyLedger(scenario_, ledger_, unbatched, options_, clock, sleeper);
  ASSERT_TRUE(one_by_one.ok()) << one_by_one.error().message;
  EXPECT_TRUE(unbatched.batch_sizes.empty());
  EXPECT_EQ(one_by_one->polls, batched->polls);
  EXPECT_EQ(one_by_one->elapsed_ns, batched->elapsed_ns);
  EXPECT_EQ(one_by_one->complete, batched->complete);
  EXPECT_EQ(one_by_one->incomplete, batched->incomplete);
  EXPECT_EQ(one_by_one->missing, batched->missing);
  ASSERT_EQ(one_by_one->examples.size(), batched->examples.size());
  for (size_t i = 0; i < batched->examples.size(); ++i) {
    EXPECT_EQ(one_by_one->examples[i].sequence, batched->examples[i].sequence);
    EXPECT_EQ(one_by_one->examples[i].status, batched->examples[i].status);
  }
  EXPECT_EQ(one_by_one->backend_requests - batched->backend_requests, 44u - 22u);
}

TEST_F(VerifyLedgerTest, BatchSizeIsTheSmallerOfOptionAndClient) {
  for (int i = 0; i < 5; ++i) backend_.Add(Spans(AddEntry()));
  backend_.batch_limit = 3;
  options_.max_traces_per_request = 4;
  ASSERT_TRUE(Run().ok());
  EXPECT_EQ(backend_.batch_sizes, (std::vector<size_t>{3, 2, 3, 2}));
  backend_.batch_sizes.clear();
  backend_.batch_limit = 10;
  options_.max_traces_per_request = 2;
  ASSERT_TRUE(Run().ok());
  EXPECT_EQ(backend_.batch_sizes, (std::vector<size_t>{2, 2, 2, 2}));  // and 2 GetTrace calls
}

TEST_F(VerifyLedgerTest, AFailedBatchIsRetriedWholeAfterBackoffNeverMissing) {
  for (int i = 0; i < 3; ++i) backend_.Add(Spans(AddEntry()));
  backend_.batch_limit = 10;
  backend_.failures_to_inject = 2;
  auto summary = Run();
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  EXPECT_EQ(summary->complete, 3u);
  EXPECT_EQ(summary->missing, 0u);
  // Two failures (100ms, 200ms backoff), the batch again, then the confirming poll 20ms later.
  EXPECT_EQ(backend_.batch_sizes, (std::vector<size_t>{3, 3, 3, 3}));
  EXPECT_EQ(sleeper_.slept(), (100 + 200 + 20) * kMs);
  EXPECT_EQ(summary->polls, 6u);
  EXPECT_EQ(summary->backend_requests, 4u);
}

TEST_F(VerifyLedgerTest, AnErrorInTheMiddleOfABatchFailsTheBatchNotItsTraces) {
  for (int i = 0; i < 3; ++i) backend_.Add(Spans(AddEntry()));
  backend_.batch_limit = 10;
  backend_.loop_in_batches = true;  // GetTrace per id: the first succeeds, the second fails
  backend_.fail_get_call = 2;
  auto summary = Run();
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  EXPECT_EQ(summary->complete, 3u);
  EXPECT_EQ(summary->missing, 0u);
  EXPECT_EQ(backend_.get_calls, 2 + 3 + 3);
  EXPECT_EQ(sleeper_.slept(), (100 + 20) * kMs);
  EXPECT_EQ(summary->polls, 6u);  // the first trace's answer in the failed batch is not a poll

  // When it keeps failing, the run ends with the backend's error, not with missing traces.
  FakeClock clock;
  AdvancingSleeper sleeper(clock);
  FakeBackend down(clock);
  down.batch_limit = 10;
  down.failures_to_inject = -1;
  auto failed = VerifyLedger(scenario_, ledger_, down, options_, clock, sleeper);
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().message, "backend unreachable: connection reset");
  EXPECT_EQ(failed.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(down.batch_sizes, (std::vector<size_t>{3, 3, 3}));
}

TEST_F(VerifyLedgerTest, ABatchIsOneRequestForTheRateLimit) {
  options_.max_requests_per_second = 10;  // one request per 100ms
  for (int i = 0; i < 3; ++i) backend_.Add(Spans(AddEntry()));
  backend_.batch_limit = 10;
  auto summary = Run();
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  EXPECT_EQ(summary->complete, 3u);
  EXPECT_EQ(summary->backend_requests, 2u);
  // The confirming batch was due at 20ms; the limit moves it to 100ms.
  EXPECT_EQ(summary->elapsed_ns, 100 * kMs);
}

TEST_F(VerifyLedgerTest, LedgerEntriesSharingATraceIdShareOneAnswerInABatch) {
  LedgerEntry first = AddEntry();
  backend_.Add(Spans(first));
  ledger_.push_back(first);  // the same trace id again (and the same request)
  ledger_.back().sequence = 1;
  backend_.Add(Spans(AddEntry()));
  backend_.batch_limit = 10;
  auto batched = Run();
  ASSERT_TRUE(batched.ok()) << batched.error().message;
  EXPECT_EQ(batched->complete, 3u);
  EXPECT_EQ(backend_.batch_sizes, (std::vector<size_t>{2, 2}));  // the distinct ids
  EXPECT_EQ(batched->polls, 6u);
}

TEST_F(VerifyLedgerTest, PastTheDeadlineTheLastPollsAreBatched) {
  options_.deadline_ns = 1 * kSec;
  for (int i = 0; i < 3; ++i) AddEntry();  // nothing ever arrives
  backend_.batch_limit = 2;
  auto summary = Run();
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  EXPECT_TRUE(summary->deadline_hit);
  EXPECT_EQ(summary->missing, 3u);
  EXPECT_EQ(summary->polls, 33u);  // as one by one: at 0, 0.1s, ..., 0.9s and a last time at 1s
  // Ten rounds of a batch of two and a GetTrace, then the last polls: again two and one.
  EXPECT_EQ(backend_.batch_sizes.size(), 11u);
  EXPECT_EQ(backend_.get_calls, 11);
}

}  // namespace
}  // namespace tracerig
