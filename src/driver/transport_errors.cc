// MergeTransportErrors: the driver threads' tallies as one list of reasons.
#include "driver/transport_errors.h"

#include <fmt/format.h>

#include <algorithm>
#include <limits>

namespace tracerig {

std::vector<TransportErrorReason> MergeTransportErrors(
    const std::vector<const TransportErrorTally*>& tallies, uint64_t unanswered,
    uint64_t drain_timeout_ns) {
  std::vector<TransportErrorReason> reasons;
  for (size_t k = 0; k < kTransportErrorKindCount; ++k) {
    const auto kind = static_cast<TransportErrorKind>(k);
    TransportErrorReason reason;
    reason.reason = std::string(TransportErrorKindName(kind));
    uint64_t first_mono = std::numeric_limits<uint64_t>::max();
    for (const TransportErrorTally* tally : tallies) {
      const TransportErrorTally::Kind& of = tally->of(kind);
      reason.count += of.count;
      if (of.count > 0 && of.first_mono < first_mono) {
        first_mono = of.first_mono;
        reason.first_message = of.first_message;
      }
    }
    if (kind == TransportErrorKind::kUnansweredAtDrain && unanswered > 0) {
      reason.count += unanswered;
      if (reason.first_message.empty()) {
        reason.first_message =
            fmt::format("no answer within the drain timeout ({} ms after the load ended)",
                        drain_timeout_ns / 1'000'000);
      }
    }
    if (reason.count > 0) reasons.push_back(std::move(reason));
  }
  std::stable_sort(reasons.begin(), reasons.end(),
                   [](const auto& a, const auto& b) { return a.count > b.count; });
  return reasons;
}

}  // namespace tracerig
