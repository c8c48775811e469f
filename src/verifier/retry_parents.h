// Retries whose SERVER span hangs under another attempt's CLIENT span (a retry that sent the first
// attempt's context, the `stale-retry-context` fault): the wrong-parent explanation naming the
// retrying edge.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/span.h"
#include "topology/expected_tree.h"

namespace tracerig {

// An attempt of a call, from its hop: "0.1" is attempt 0 of "0.1", "0.1r2" retry 2 of it.
struct CallAttempt {
  std::string_view call_hop;  // the first attempt's hop
  uint32_t retry = 0;         // 0: the first attempt
};
CallAttempt AttemptOf(std::string_view hop);

// When `expected` is an attempt's SERVER span and its actual parent is its caller's CLIENT span of
// another attempt of the same call, the explanation: "payment's SERVER span at hop 0.1r1 (retry 1
// of checkout -> payment) has as parent checkout's CLIENT span of attempt 0.1, not of its own
// attempt 0.1r1: the retry sent the first attempt's context". Nullopt otherwise.
std::optional<std::string> DescribeOtherAttemptParent(const ExpectedSpan& expected,
                                                      std::string_view parent_hop,
                                                      std::string_view parent_service,
                                                      SpanKind parent_kind);

}  // namespace tracerig
