// The words classification uses in verdicts: trace status names and how a trace id changed.
#include "verifier/classify.h"

namespace tracerig {

std::string DescribeTraceIdChange(TraceId sent, TraceId found) {
  if (found.low == sent.low && found.high == 0 && sent.high != 0) {
    return "the trace id truncated to its low 64 bits";
  }
  if (found.low == sent.low && found.high != sent.high) {
    return "the trace id's high 64 bits replaced (padded or rewritten)";
  }
  if (found.high == sent.high && found.low != sent.low && sent.high != 0) {
    return "the trace id's low 64 bits replaced";
  }
  return "a new trace id";
}

std::string_view TraceStatusName(TraceStatus status) {
  switch (status) {
    case TraceStatus::kComplete:
      return "complete";
    case TraceStatus::kIncomplete:
      return "incomplete";
    case TraceStatus::kBroken:
      return "broken";
    case TraceStatus::kMissing:
      return "missing";
    case TraceStatus::kNotExported:
      return "not-exported";
  }
  return "unknown";
}

}  // namespace tracerig
