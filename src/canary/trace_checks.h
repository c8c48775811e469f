// What one written trace's outcomes mean as canary figures: a request's answer as a write (or a
// write failure), a verifier outcome as a trace check passed or failed with its reason. Shared by
// `tracerig canary` and `tracerig run --metrics-listen`, so both count alike.
#pragma once

#include <cstdint>
#include <optional>

#include "canary/canary_metrics.h"
#include "canary/canary_tally.h"
#include "core/ledger.h"
#include "topology/scenario.h"
#include "verifier/verify.h"

namespace tracerig {

// Whether the scenario makes entry requests fail on purpose (a route with an error_rate): its
// non-2xx answers are then planned, not write failures.
bool ScenarioPlansErrors(const Scenario& scenario);

// Why `entry` is a write failure: no answer (transport), or a non-2xx answer the scenario does not
// plan. nullopt: written.
std::optional<WriteFailure> WriteFailureOf(const LedgerEntry& entry, bool errors_planned);

// The trace check's verdict on one classified trace: nullopt when it passed (complete, no
// structure violation but identical copies of a span, and, when `queryable_within_ns` is set, whole within that long of its
// request's end: else kLate), otherwise the reason. `lost_by_exporter`: tracerig's own exporter
// dropped spans of the trace, so a missing or incomplete trace never had the chance to arrive.
std::optional<CheckFailure> TraceCheckFailure(const TraceOutcome& outcome, bool lost_by_exporter,
                                              uint64_t queryable_within_ns = 0);

// Records one classified trace at `age` into `tally`: the check, and at kFirstCheckAge its spans
// and time to queryable. Returns whether it passed.
bool RecordTraceCheck(CanaryTally& tally, std::string_view age, const TraceOutcome& outcome,
                      bool lost_by_exporter, uint64_t queryable_within_ns = 0);

}  // namespace tracerig
