// A canary round against an in-memory backend (the verifier's quickstart tree) and a real
// exporter with a fake sender: each way a trace's checks end (pass, fail, request_failed,
// abandon, not_exported, a write failure) is counted once and brings traces_pending back to 0.
#include "canary/canary_round.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/verifier/test_spans.h"

namespace tracerig {
namespace {

using verifier_testing::AllSpans;
using verifier_testing::QuickstartScenario;
using verifier_testing::QuickstartTree;

constexpr uint64_t kMs = 1'000'000ull;

struct SharedSpans {
  std::vector<Span> spans;
  std::atomic<bool> unreachable{false};
  std::atomic<bool> searchable{true};  // false: searches find nothing (an index lagging behind)
};

class InMemoryBackend final : public BackendClient {
 public:
  explicit InMemoryBackend(std::shared_ptr<const SharedSpans> store) : store_(std::move(store)) {}
  std::string Describe() const override { return "in-memory backend"; }
  Result<std::optional<std::vector<Span>>> GetTrace(TraceId id) override {
    if (store_->unreachable.load()) return MakeError(ErrorCode::kUnavailable, "connection refused");
    std::vector<Span> found;
    for (const Span& s : store_->spans) {
      if (s.trace_id == id) found.push_back(s);
    }
    if (found.empty()) return std::optional<std::vector<Span>>{};
    return std::optional<std::vector<Span>>{std::move(found)};
  }
  Result<std::vector<Span>> FindSpans(std::string_view, std::string_view key,
                                      std::string_view value, uint64_t, uint64_t) override {
    if (store_->unreachable.load()) return MakeError(ErrorCode::kUnavailable, "connection refused");
    std::vector<Span> found;
    if (!store_->searchable.load()) return found;
    for (const Span& s : store_->spans) {
      const AttributeValue* v = s.FindAttribute(key);
      if (v != nullptr && AttributeValueToString(*v) == value) found.push_back(s);
    }
    return found;
  }

 private:
  std::shared_ptr<const SharedSpans> store_;
};

// Accepts every batch, or refuses every one for good after 500 ms (a slow failure: the round must
// wait for it before it calls a trace missing).
class FakeSender final : public BatchSender {
 public:
  explicit FakeSender(bool refuse) : refuse_(refuse) {}
  SendResult Send(const std::vector<Span>&) override {
    if (!refuse_) return {};
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    return {SendResult::Kind::kPermanent, "HTTP 400", 0, 0};
  }

 private:
  bool refuse_;
};

class CanaryRoundTest : public ::testing::Test {
 protected:
  explicit CanaryRoundTest(bool refuse_exports = false)
      : exporter_(std::make_unique<FakeSender>(refuse_exports), ExporterOptions{}, 1) {
    context_.scenario = &scenario_;
    context_.exporter = &exporter_;
    context_.clients = [store = store_] { return std::make_unique<InMemoryBackend>(store); };
    context_.clock = &SystemClock::Instance();
    context_.tally = &tally_;
    context_.unsampled_verified = UnsampledEntriesVerified(scenario_);
    context_.search_options.poll_interval_ns = 10 * kMs;
    context_.search_options.queryable_within_ns = 300 * kMs;
    context_.search_options.min_error_retry_ns = 0;
    context_.search_options.error_backoff_ns = kMs;
    context_.search_options.error_backoff_max_ns = 5 * kMs;
    context_.queryable_within_ns = 0;  // lateness is not what these tests are about
    context_.export_settle_max_ns = 5'000 * kMs;
    context_.on_done = [this](const RoundFigures& f) { figures_ = f; };
    verify_.concurrency = 1;
    verify_.poll_interval_ns = 10 * kMs;
    verify_.settle_incomplete_ns = 100 * kMs;
    verify_.deadline_ns = 10'000 * kMs;
    verify_.max_backend_errors = 2;
    verify_.error_backoff_ns = kMs;
    verify_.error_backoff_max_ns = kMs;
    verify_.fetch_backend_dependencies = false;
  }

  // A finished request; its trace is in the backend unless `in_backend` is false.
  LedgerEntry Request(uint64_t sequence, bool in_backend = true) {
    LedgerEntry e;
    e.sequence = sequence;
    e.trace_id = TraceId{0x1, 0x1000 + sequence};
    e.root_span_id = SpanId{0x100};
    e.request_id = 0x500 + sequence;
    e.end_unix_nano = SystemClock::Instance().NowUnixNano();
    e.start_unix_nano = e.end_unix_nano - 20 * kMs;
    e.intended_unix_nano = e.start_unix_nano - kMs;
    if (in_backend) {
      std::vector<Span> all = AllSpans(tree_, e.trace_id, e.request_id);
      store_->spans.insert(store_->spans.end(), all.begin(), all.end());
    }
    return e;
  }

  bool WaitDone(const CanaryRound& round) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (!round.done() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return round.done();
  }

  double Pending() {
    std::istringstream in(metrics_.registry().Render());
    for (std::string line; std::getline(in, line);) {
      if (line.rfind("tracerig_canary_traces_pending ", 0) == 0) {
        return std::stod(line.substr(line.find(' ') + 1));
      }
    }
    ADD_FAILURE() << "no traces_pending sample";
    return -1;
  }

  Scenario scenario_ = QuickstartScenario();
  ExpectedTree tree_ = QuickstartTree();
  std::shared_ptr<SharedSpans> store_ = std::make_shared<SharedSpans>();
  BatchingExporter exporter_;
  CanaryMetrics metrics_{"test", {}, true};
  CanaryTally tally_{metrics_, SystemClock::Instance()};
  RoundContext context_;
  VerifyOptions verify_;
  RoundFigures figures_;
};

TEST_F(CanaryRoundTest, APassAndAMissingTraceAreCountedAndPendingReturnsToZero) {
  const LedgerEntry whole = Request(0);
  const LedgerEntry absent = Request(1, /*in_backend=*/false);
  {
    CanaryRound round(context_, 1, verify_);
    round.Written(whole);
    round.Written(absent);
    EXPECT_EQ(Pending(), 2);
    round.Close();
    ASSERT_TRUE(WaitDone(round));
  }
  EXPECT_EQ(figures_.written, 2u);
  EXPECT_EQ(figures_.trace_total, 2u);
  EXPECT_EQ(figures_.trace_passed, 1u);
  EXPECT_EQ(figures_.search_total, 1u);
  EXPECT_EQ(figures_.search_passed, 1u);
  EXPECT_EQ(figures_.failures[static_cast<size_t>(CheckFailure::kMissing)], 1u);
  const CanaryTotals t = tally_.totals();
  EXPECT_EQ(t.trace.total, 2u);
  EXPECT_EQ(t.trace.failed, 1u);
  EXPECT_EQ(t.search.total, 1u);
  EXPECT_EQ(Pending(), 0);
}

TEST_F(CanaryRoundTest, ABackendThatCannotBeQueriedIsRequestFailedAndPendingReturnsToZero) {
  store_->unreachable = true;
  {
    CanaryRound round(context_, 1, verify_);
    round.Written(Request(0));
    round.Written(Request(1));
    round.Close();
    ASSERT_TRUE(WaitDone(round));
  }
  EXPECT_EQ(figures_.trace_total, 2u);
  EXPECT_EQ(figures_.failures[static_cast<size_t>(CheckFailure::kRequestFailed)], 2u);
  EXPECT_FALSE(figures_.error.empty());
  EXPECT_EQ(tally_.totals().request_failed(), 2u);
  EXPECT_EQ(Pending(), 0);
}

TEST_F(CanaryRoundTest, AWriteFailureIsNotVerifiedButCountsAsWritten) {
  LedgerEntry refused = Request(0, /*in_backend=*/false);
  refused.outcome = RequestOutcome::kTransportError;
  {
    CanaryRound round(context_, 1, verify_);
    round.Written(refused);
    round.Written(Request(1));
    EXPECT_EQ(Pending(), 1);
    round.Close("connection refused");
    ASSERT_TRUE(WaitDone(round));
  }
  EXPECT_EQ(figures_.written, 2u);
  EXPECT_EQ(figures_.write_failed, 1u);
  EXPECT_EQ(figures_.write_error, "transport: connection refused");
  EXPECT_EQ(figures_.trace_total, 1u);  // the write failure is not a missing trace
  EXPECT_EQ(figures_.trace_passed, 1u);
  const CanaryTotals t = tally_.totals();
  EXPECT_EQ(t.written, 2u);
  EXPECT_EQ(t.write_failures[static_cast<size_t>(WriteFailure::kTransport)], 1u);
  EXPECT_EQ(t.checks_failed(), 0u);
  EXPECT_EQ(Pending(), 0);
}

TEST_F(CanaryRoundTest, AbandonedSearchesEndUncountedAndPendingReturnsToZero) {
  // The trace passes by id but its search does not find it yet.
  LedgerEntry e = Request(0);
  store_->searchable = false;
  context_.search_options.queryable_within_ns = 60'000 * kMs;
  {
    CanaryRound round(context_, 1, verify_);
    round.Written(e);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (tally_.totals().trace.total == 0 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    EXPECT_EQ(Pending(), 1);  // its search is still running
    round.Close();
    round.Abandon();
    ASSERT_TRUE(WaitDone(round));
  }
  EXPECT_EQ(figures_.trace_passed, 1u);
  EXPECT_EQ(figures_.search_total, 0u);
  EXPECT_EQ(Pending(), 0);
}

class CanaryRoundLostExportTest : public CanaryRoundTest {
 protected:
  CanaryRoundLostExportTest() : CanaryRoundTest(/*refuse_exports=*/true) {}
};

TEST_F(CanaryRoundLostExportTest, AMissingTraceTheExporterLostIsNotExported) {
  const LedgerEntry lost = Request(0, /*in_backend=*/false);
  {
    CanaryRound round(context_, 1, verify_);
    // The services' spans of the trace go to tracerig's exporter, which cannot deliver them.
    for (Span s : AllSpans(tree_, lost.trace_id, lost.request_id)) exporter_.Submit(s);
    round.Written(lost);
    round.Close();
    ASSERT_TRUE(WaitDone(round));
  }
  EXPECT_EQ(figures_.trace_total, 1u);
  EXPECT_EQ(figures_.failures[static_cast<size_t>(CheckFailure::kNotExported)], 1u);
  EXPECT_EQ(figures_.failures[static_cast<size_t>(CheckFailure::kMissing)], 0u);
  EXPECT_EQ(Pending(), 0);
}

}  // namespace
}  // namespace tracerig
