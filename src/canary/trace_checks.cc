// Write and trace-check verdicts of the canary's figures (trace_checks.h).
#include "canary/trace_checks.h"

#include <algorithm>

namespace tracerig {

bool ScenarioPlansErrors(const Scenario& scenario) {
  for (const Service& service : scenario.services) {
    for (const Route& route : service.routes) {
      if (route.error_rate > 0) return true;
    }
  }
  return false;
}

std::optional<WriteFailure> WriteFailureOf(const LedgerEntry& entry, bool errors_planned) {
  switch (entry.outcome) {
    case RequestOutcome::kOk:
      return std::nullopt;
    case RequestOutcome::kHttpError:
      if (errors_planned) return std::nullopt;
      return WriteFailure::kHttpStatus;
    case RequestOutcome::kTransportError:
      return WriteFailure::kTransport;
  }
  return WriteFailure::kTransport;
}

std::optional<CheckFailure> TraceCheckFailure(const TraceOutcome& outcome, bool lost_by_exporter,
                                              uint64_t queryable_within_ns) {
  if (outcome.evicted) return CheckFailure::kEvicted;
  const TraceVerdict& verdict = *outcome.verdict;
  switch (verdict.status) {
    case TraceStatus::kComplete:
      // Identical copies of a span are at-least-once delivery (a retried export the backend had
      // accepted), not a fault of the pipeline.
      if (std::any_of(verdict.violations.begin(), verdict.violations.end(),
                      [](const Violation& v) { return !v.identical_copies; })) {
        return CheckFailure::kStructure;
      }
      if (queryable_within_ns > 0 && outcome.time_to_queryable_ns &&
          *outcome.time_to_queryable_ns > queryable_within_ns) {
        return CheckFailure::kLate;
      }
      return std::nullopt;
    case TraceStatus::kIncomplete:
      return lost_by_exporter ? CheckFailure::kNotExported : CheckFailure::kIncomplete;
    case TraceStatus::kMissing:
      return lost_by_exporter ? CheckFailure::kNotExported : CheckFailure::kMissing;
    case TraceStatus::kBroken:
      return CheckFailure::kBroken;
    case TraceStatus::kNotExported:
      return CheckFailure::kNotExported;
  }
  return CheckFailure::kMissing;
}

bool RecordTraceCheck(CanaryTally& tally, std::string_view age, const TraceOutcome& outcome,
                      bool lost_by_exporter, uint64_t queryable_within_ns) {
  const std::optional<CheckFailure> failure =
      TraceCheckFailure(outcome, lost_by_exporter, queryable_within_ns);
  if (age == kFirstCheckAge && !outcome.evicted) {
    tally.Spans(outcome.verdict->expected_spans, outcome.verdict->found_spans);
    if (outcome.time_to_queryable_ns) {
      tally.TimeToQueryable(static_cast<double>(*outcome.time_to_queryable_ns) / 1e9);
    }
  }
  if (failure) {
    tally.Failed(kCheckTrace, age, *failure);
    return false;
  }
  tally.Passed(kCheckTrace, age);
  return true;
}

}  // namespace tracerig
