// Naming a retry that carried another attempt's context (retry_parents.h).
#include "verifier/retry_parents.h"

#include <fmt/format.h>

#include <charconv>

namespace tracerig {

CallAttempt AttemptOf(std::string_view hop) {
  const size_t dot = hop.rfind('.');
  const size_t start = dot == std::string_view::npos ? 0 : dot + 1;
  const size_t r = hop.find('r', start);
  if (r == std::string_view::npos) return CallAttempt{hop, 0};
  uint32_t retry = 0;
  const std::string_view digits = hop.substr(r + 1);
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), retry);
  if (ec != std::errc() || end != digits.data() + digits.size() || retry == 0) {
    return CallAttempt{hop, 0};  // not a retry hop tracerig writes: its own call
  }
  return CallAttempt{hop.substr(0, r), retry};
}

std::optional<std::string> DescribeOtherAttemptParent(const ExpectedSpan& expected,
                                                      std::string_view parent_hop,
                                                      std::string_view parent_service,
                                                      SpanKind parent_kind) {
  if (expected.kind != SpanKind::kServer || parent_kind != SpanKind::kClient ||
      parent_service != expected.peer || parent_hop == expected.hop) {
    return std::nullopt;
  }
  const CallAttempt own = AttemptOf(expected.hop);
  const CallAttempt other = AttemptOf(parent_hop);
  if (own.call_hop != other.call_hop) return std::nullopt;
  const std::string edge = fmt::format("{} -> {}", expected.peer, expected.service);
  const std::string which = own.retry == 0 ? fmt::format("the first attempt of {}", edge)
                                           : fmt::format("retry {} of {}", own.retry, edge);
  std::string why;
  if (own.retry > 0 && other.retry == 0) {
    why = "the retry sent the first attempt's context";
  } else if (own.retry > other.retry) {
    why = fmt::format("the retry sent the context of an earlier attempt, retry {}", other.retry);
  } else {
    why = fmt::format("it carried the context of a later attempt, retry {}", other.retry);
  }
  return fmt::format(
      "{}'s SERVER span at hop {} ({}) has as parent {}'s CLIENT span of attempt {}, not of its "
      "own attempt {}: {}",
      expected.service, expected.hop, which, expected.peer, parent_hop, expected.hop, why);
}

}  // namespace tracerig
