// The table shape both batch clients' GetTraces tests use (Jaeger v1 and tracerig://): one backend
// answer per case, and what GetTraces must make of it.
#pragma once

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/ids.h"
#include "core/result.h"
#include "verifier/backend_client.h"

namespace tracerig::verifier_testing {

inline constexpr int kAbsent = -1;

struct BatchCase {
  const char* name;
  std::optional<unsigned> status;  // nullopt: transport failure
  std::string body;
  std::vector<int> spans;  // per id, kAbsent for "not found"; empty when an error is expected
  std::string error;       // the start of the error message
};

// GetTraces(ids) against the case: the error it must start with, or per id the spans found (all
// under that id) or their absence.
inline void ExpectBatchAnswer(const Result<std::vector<TraceFetch>>& traces,
                              std::span<const TraceId> ids, const BatchCase& c) {
  if (!c.error.empty()) {
    ASSERT_FALSE(traces.ok());
    EXPECT_THAT(traces.error().message, ::testing::StartsWith(c.error));
    // A backend that fails or answers garbage: the run ends "backend unreachable" (exit 3).
    EXPECT_EQ(traces.error().code, ErrorCode::kUnavailable) << ErrorCodeName(traces.error().code);
    return;
  }
  ASSERT_TRUE(traces.ok()) << traces.error().message;
  ASSERT_EQ(traces->size(), ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    const TraceFetch& t = (*traces)[i];
    if (c.spans[i] == kAbsent) {
      EXPECT_FALSE(t.has_value()) << i;
      continue;
    }
    ASSERT_TRUE(t.has_value()) << i;
    EXPECT_EQ(t->size(), static_cast<size_t>(c.spans[i])) << i;
    for (const Span& span : *t) EXPECT_EQ(span.trace_id, ids[i]);
  }
}

}  // namespace tracerig::verifier_testing
