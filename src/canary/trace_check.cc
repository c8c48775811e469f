// The check by id's verdict for one trace.
#include "canary/trace_check.h"

namespace tracerig {

std::optional<CheckFailure> TraceCheckFailure(const TraceVerdict& verdict, bool evicted,
                                              bool export_lost) {
  if (evicted) return CheckFailure::kEvicted;
  switch (verdict.status) {
    case TraceStatus::kComplete:
      if (verdict.violations.empty()) return std::nullopt;
      return CheckFailure::kStructure;
    case TraceStatus::kMissing:
      return export_lost ? CheckFailure::kNotExported : CheckFailure::kMissing;
    case TraceStatus::kIncomplete:
      return export_lost ? CheckFailure::kNotExported : CheckFailure::kIncomplete;
    case TraceStatus::kBroken:
      return CheckFailure::kBroken;
    case TraceStatus::kNotExported:
      return CheckFailure::kNotExported;
  }
  return CheckFailure::kMissing;
}

}  // namespace tracerig
