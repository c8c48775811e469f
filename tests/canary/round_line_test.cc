// The line a round prints on stderr (docs quote it): figures, re-read checks, time to
// queryable, failures and the round's error.
#include <gtest/gtest.h>

#include <algorithm>

#include "canary/canary_loop.h"

namespace tracerig {
namespace {

TEST(RoundLineTest, AllPassed) {
  RoundFigures f;
  f.number = 12;
  f.written = 10;
  f.trace_total = f.trace_passed = 10;
  f.search_total = f.search_passed = 10;
  f.ttq_seconds = {0.31, 0.12, 0.2};
  EXPECT_EQ(FormatRoundLine(f, 6, 6, true),
            "round 12: 10 written, 10/10 trace checks passed, 10/10 search, 6/6 re-read checks "
            "passed, ttq p50 0.200s max 0.310s");
}

TEST(RoundLineTest, FailuresWriteFailuresAndTheError) {
  RoundFigures f;
  f.number = 3;
  f.written = 3;
  f.write_failed = 1;
  f.trace_total = 4;
  f.trace_passed = 1;
  f.failures[static_cast<size_t>(CheckFailure::kMissing)] = 2;
  f.failures[static_cast<size_t>(CheckFailure::kRequestFailed)] = 1;
  f.error = "backend unreachable: connection refused";
  EXPECT_EQ(FormatRoundLine(f, 0, 0, false),
            "round 3: 3 written, 1 write failures, 1/4 trace checks passed; failed: 2 missing, 1 "
            "request_failed; backend unreachable: connection refused");
}

TEST(RoundLineTest, WriteFailuresShowTheFirstTransportError) {
  RoundFigures f;
  f.number = 4;
  f.written = 10;
  f.write_failed = 2;
  f.write_error = "transport: connection refused";
  f.trace_total = f.trace_passed = 8;
  EXPECT_EQ(FormatRoundLine(f, 0, 0, false),
            "round 4: 10 written, 2 write failures (transport: connection refused), 8/8 trace "
            "checks passed");
}

TEST(RoundLineTest, OneExampleExplanationPerFailureReasonOnItsOwnLine) {
  RoundFigures f;
  f.number = 2;
  f.written = 3;
  f.trace_total = 3;
  f.failures[static_cast<size_t>(CheckFailure::kBroken)] = 3;
  f.examples = {{CheckFailure::kBroken, "trace id changed between checkout and payment"}};
  EXPECT_EQ(FormatRoundLine(f, 0, 0, false),
            "round 2: 3 written, 0/3 trace checks passed; failed: 3 broken\n"
            "  e.g. broken: trace id changed between checkout and payment");
}

}  // namespace
}  // namespace tracerig

namespace tracerig {
namespace {

TEST(RetryThroughBlipsTest, RetriesForAboutQueryableWithinByTheClock) {
  VerifyOptions o;
  RetryThroughBlips(o, 30'000'000'000ull);
  EXPECT_EQ(o.backend_retry_ns, 30'000'000'000ull);
  EXPECT_EQ(o.max_backend_errors, 3);
  EXPECT_EQ(o.error_backoff_max_ns, 2'000'000'000ull);
  RetryThroughBlips(o, 2'000'000'000ull);
  EXPECT_EQ(o.backend_retry_ns, 2'000'000'000ull);
}

}  // namespace
}  // namespace tracerig
