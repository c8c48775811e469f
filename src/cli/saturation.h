// Saturation search (`tracerig run --find-max-ingest`): the pure logic that ramps the request rate
// step by step, judges each step, and brackets the highest rate a backend sustains. Running a step
// (services, driver, exporter, verifier) is the caller's job, behind a StepFunction, so the search
// is tested with fake steps and the CLI shell stays thin. docs/SATURATION.md describes the method.
//
// The search: run the start rate; while a step passes, multiply the rate by `rate_factor`; after
// the first failure, bisect between the highest passing and the lowest failing rate until they
// are within `resolution` of each other. `max_steps` bounds the total whatever happens.
//
// Honesty: a step only says something about the backend when tracerig itself kept up. A step in
// which the driver ran behind its schedule, or tracerig's own services failed or did not answer,
// ends the search as "limited by tracerig"; a step whose export queue overflowed ends it as
// "limited by the export path" (the backend's ingest or tracerig's exporter: the queue cannot tell
// which). A backend that cannot be queried ends it as an error. Only completeness and
// time-to-queryable failures in steps where tracerig kept up are called a backend limit.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/result.h"

namespace tracerig {

inline constexpr uint64_t kDefaultMaxScheduleLagNs = 50'000'000;  // 50 ms

// Time to queryable p99 a step may show when verified alongside its load (--ttq-p99's default).
inline constexpr uint64_t kDefaultMaxTtqP99Ns = 5'000'000'000ull;

struct SaturationOptions {
  double start_rate = 0;      // root requests per second of the first step; > 0
  double rate_factor = 2;     // ramp multiplier while steps pass; > 1
  double resolution = 0.05;   // stop bisecting when (failing - passing) / passing <= this; > 0
  size_t max_steps = 12;      // steps in all, ramp and bisection; >= 1
  double spans_per_request = 1;  // expected spans of one root request: req/s -> spans/s
  // Pass thresholds.
  double min_completeness = 1.0;             // complete / checked, in (0, 1]
  // nullopt: not judged. `run` sets kDefaultMaxTtqP99Ns unless --verify-after-load, when the
  // verifier polls a step's traces only after its load and flush, so that its samples
  // overestimate by up to the step's duration (docs/SATURATION.md).
  std::optional<uint64_t> max_ttq_p99_ns;
  // Driver kept up: schedule lag p99 at most this.
  uint64_t max_schedule_lag_p99_ns = kDefaultMaxScheduleLagNs;
};

// Checks each option's range. Errors name the flag that sets it, e.g.
// --start-rate "0" must be a number of requests per second > 0.
Status ValidateSaturationOptions(const SaturationOptions& options);

// What running one step measured. Filled by the StepFunction.
struct StepMeasurement {
  double rate = 0;                // requested root requests per second
  uint64_t duration_ns = 0;       // requested load duration
  uint64_t requests_sent = 0;     // by the driver
  uint64_t wall_ns = 0;           // from the start of load to the end of the exporter's flush
  uint64_t spans_exported = 0;    // accepted by the backend during the step
  uint64_t spans_dropped_queue_full = 0;   // tracerig's export queue overflowed
  uint64_t spans_dropped_failed = 0;       // the backend refused them or retries ran out
  uint64_t spans_rejected = 0;             // partial success: accepted batch, spans refused
  // Driver health.
  uint64_t schedule_lag_p99_ns = 0;
  uint64_t unsent = 0;             // due but never sent
  uint64_t unfinished = 0;         // no answer from tracerig's services by the drain deadline
  uint64_t transport_errors = 0;   // tracerig's services refused or dropped connections
  // Verification.
  size_t checked = 0;
  size_t complete = 0;
  bool deadline_hit = false;
  // nullopt: no complete trace gave a sample, or every sample was only an upper bound (the trace
  // was whole at its first poll: the backend kept up with polling)
  std::optional<uint64_t> ttq_p99_ns;
  std::string error;                   // verification could not run: the backend is unreachable
  bool interrupted = false;            // Ctrl-C during the step: it is not judged

  double completeness() const {
    return checked == 0 ? 0.0 : static_cast<double>(complete) / static_cast<double>(checked);
  }
  // Spans the backend accepted per second of the step's wall time.
  double achieved_spans_per_second() const {
    return wall_ns == 0 ? 0.0 : static_cast<double>(spans_exported) * 1e9 /
                                    static_cast<double>(wall_ns);
  }
};

enum class StepVerdict {
  kPass,
  kBackendLimit,   // completeness, time to queryable, or spans the backend refused
  kTracerigLimit,  // the driver or tracerig's services fell behind: says nothing of the backend
  kExportLimit,    // the export queue overflowed: backend ingest or tracerig's exporter
  kError,          // the backend could not be queried
  kInterrupted,
};
std::string_view StepVerdictName(StepVerdict verdict);  // "pass", "backend-limit", ...

struct StepOutcome {
  int number = 0;  // from 1
  std::string phase;  // "ramp" or "bisect"
  StepMeasurement measured;
  StepVerdict verdict = StepVerdict::kPass;
  std::string reason;  // why it did not pass, with the figures; empty for a pass
};

// Judges one step against the thresholds, in this order: error, interrupted, tracerig limit,
// export limit, backend limit. Pure.
StepOutcome JudgeStep(const StepMeasurement& measured, const SaturationOptions& options);

enum class SaturationEnd {
  kBracketed,       // a passing and a failing rate within the resolution (or max steps hit while
                    // bisecting): the backend's limit lies between them
  kNoFailure,       // every step passed until max_steps: the limit is above the highest rate
  kTracerigLimit,   // tracerig could not drive more: the backend's limit was not reached
  kExportLimit,     // the export queue overflowed: backend ingest or exporter, undecided
  kNoPassingRate,   // the first step already failed for the backend
  kBackendError,    // the backend became unreachable
  kInterrupted,
};
std::string_view SaturationEndName(SaturationEnd end);  // "bracketed", "no-failure", ...

struct SaturationResult {
  std::vector<StepOutcome> steps;
  std::optional<double> max_passing_rate;    // req/s
  std::optional<double> min_failing_rate;    // req/s, lowest rate failed for the backend
  SaturationEnd end = SaturationEnd::kNoPassingRate;
  std::string explanation;  // one paragraph: the answer and why the search ended there
};

// Runs one step at `rate` req/s; `number` counts from 1.
using StepFunction = std::function<StepMeasurement(int number, double rate)>;

// The search described at the top. `on_step` sees each judged step as it ends (progress lines).
// Options must be valid (ValidateSaturationOptions).
SaturationResult FindMaxIngest(const SaturationOptions& options, const StepFunction& run_step,
                               const std::function<void(const StepOutcome&)>& on_step = {});

// 0 when a rate passed (whatever limited the search above it), 1 when none did, 3 when the
// backend became unreachable, 130 when interrupted before any rate passed.
int SaturationExitCode(const SaturationResult& result);

// "step 3 (ramp): 4,000 req/s = 32,000 spans/s: complete 100.0%, ttq p99 210ms, lag p99 1.2ms,
// achieved 31,800 spans/s: pass"
std::string FormatStepLine(const StepOutcome& step, const SaturationOptions& options);
// The closing summary for the terminal: the answer, in req/s and spans/s, and the explanation.
std::string FormatSaturationSummary(const SaturationResult& result,
                                    const SaturationOptions& options);
// saturation.json (docs/SATURATION.md): options, every step, the result.
nlohmann::ordered_json SaturationToJson(const SaturationResult& result,
                                        const SaturationOptions& options);
// "32,000" / "7,312.5": a rate with thousands separators and at most one decimal.
std::string FormatRate(double value);

}  // namespace tracerig
