#include "cli/saturation.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "core/units.h"

namespace tracerig {
namespace {

// "99.9%": truncated, not rounded, so a failing 99.96% never prints as 100.0%.
std::string FormatPercent(double fraction) {
  return fmt::format("{:.1f}%", std::floor(fraction * 1000.0) / 10.0);
}

std::string JoinReasons(const std::vector<std::string>& reasons) {
  std::string out;
  for (const auto& r : reasons) out += (out.empty() ? "" : "; ") + r;
  return out;
}

std::string RateAndSpans(double rate, const SaturationOptions& options) {
  return fmt::format("{} req/s = {} spans/s", FormatRate(rate),
                     FormatRate(rate * options.spans_per_request));
}

// The step that ended the search.
const StepOutcome* LastStep(const SaturationResult& result) {
  return result.steps.empty() ? nullptr : &result.steps.back();
}

// The step that failed for the backend at the lowest rate.
const StepOutcome* LowestBackendFailure(const SaturationResult& result) {
  const StepOutcome* lowest = nullptr;
  for (const auto& s : result.steps) {
    if (s.verdict != StepVerdict::kBackendLimit) continue;
    if (!lowest || s.measured.rate < lowest->measured.rate) lowest = &s;
  }
  return lowest;
}

std::string Explain(const SaturationResult& result, const SaturationOptions& options) {
  const StepOutcome* last = LastStep(result);
  const std::string passed =
      result.max_passing_rate ? RateAndSpans(*result.max_passing_rate, options) : "";
  switch (result.end) {
    case SaturationEnd::kBracketed: {
      const StepOutcome* failed = LowestBackendFailure(result);
      std::string text = fmt::format(
          "The backend sustained {}. At {} it did not: {}.", passed,
          RateAndSpans(failed->measured.rate, options), failed->reason);
      const double gap = (*result.min_failing_rate - *result.max_passing_rate) /
                         *result.max_passing_rate;
      if (gap > options.resolution) {
        text += fmt::format(" The search stopped at --max-steps {} before the bracket narrowed to "
                            "the resolution ({}).",
                            options.max_steps, FormatPercent(options.resolution));
      }
      return text;
    }
    case SaturationEnd::kNoFailure:
      return fmt::format("Every step passed, up to {} at step {} (--max-steps {}): the backend's "
                         "limit is higher. Raise --max-steps or --start-rate.",
                         passed, last->number, options.max_steps);
    case SaturationEnd::kTracerigLimit:
      return fmt::format(
          "Limited by tracerig (the load driver and simulated services), not by the backend: at "
          "{} {}. {} Give tracerig more cores (--driver-threads, --threads) or a lighter scenario.",
          RateAndSpans(last->measured.rate, options), last->reason,
          result.max_passing_rate
              ? fmt::format("The backend sustained at least {}; its limit was not reached.", passed)
              : std::string("No step measured the backend."));
    case SaturationEnd::kExportLimit:
      return fmt::format(
          "Limited by the export path at {}: {}. Either the backend ingested spans more slowly "
          "than they were produced or tracerig's exporter could not send them faster; tracerig "
          "cannot tell which. {}",
          RateAndSpans(last->measured.rate, options), last->reason,
          result.max_passing_rate ? fmt::format("The backend sustained at least {}.", passed)
                                  : std::string("No step passed."));
    case SaturationEnd::kNoPassingRate:
      return fmt::format("No rate passed: the first step, {}, already failed: {}. Lower "
                         "--start-rate.",
                         RateAndSpans(last->measured.rate, options), last->reason);
    case SaturationEnd::kBackendError:
      return fmt::format("The backend could not be queried at step {} ({}): {}. No maximum rate "
                         "is reported.",
                         last->number, RateAndSpans(last->measured.rate, options), last->reason);
    case SaturationEnd::kInterrupted:
      return result.max_passing_rate
                 ? fmt::format("Interrupted at step {}; the highest rate that passed so far: {}.",
                               last->number, passed)
                 : fmt::format("Interrupted at step {} before any rate passed.", last->number);
  }
  return {};
}

}  // namespace

std::string FormatRate(double value) {
  const double rounded = std::round(value * 10.0) / 10.0;
  const auto whole = static_cast<uint64_t>(std::floor(rounded));
  std::string digits = std::to_string(whole);
  std::string grouped;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) grouped += ',';
    grouped += digits[i];
  }
  const int tenth = static_cast<int>(std::lround((rounded - static_cast<double>(whole)) * 10.0));
  if (tenth == 0) return grouped;
  return fmt::format("{}.{}", grouped, tenth);
}

Status ValidateSaturationOptions(const SaturationOptions& options) {
  if (!(options.start_rate > 0) || !std::isfinite(options.start_rate)) {
    return MakeError(fmt::format("--start-rate \"{}\" must be a number of requests per second > 0",
                                 options.start_rate));
  }
  if (!(options.rate_factor > 1) || !std::isfinite(options.rate_factor)) {
    return MakeError(fmt::format("--rate-factor \"{}\" must be a number > 1", options.rate_factor));
  }
  if (!(options.resolution > 0) || !std::isfinite(options.resolution)) {
    return MakeError(fmt::format("--resolution \"{}\" must be above 0", options.resolution));
  }
  if (options.max_steps == 0) return MakeError("--max-steps must be at least 1");
  if (!(options.min_completeness > 0 && options.min_completeness <= 1)) {
    return MakeError(fmt::format("the completeness threshold {} must be in (0, 1]",
                                 options.min_completeness));
  }
  if (!(options.spans_per_request > 0)) {
    return MakeError("the scenario's requests have no expected spans");
  }
  return Ok{};
}

std::string_view StepVerdictName(StepVerdict verdict) {
  switch (verdict) {
    case StepVerdict::kPass: return "pass";
    case StepVerdict::kBackendLimit: return "backend-limit";
    case StepVerdict::kTracerigLimit: return "tracerig-limit";
    case StepVerdict::kExportLimit: return "export-limit";
    case StepVerdict::kError: return "error";
    case StepVerdict::kInterrupted: return "interrupted";
  }
  return "unknown";
}

std::string_view SaturationEndName(SaturationEnd end) {
  switch (end) {
    case SaturationEnd::kBracketed: return "bracketed";
    case SaturationEnd::kNoFailure: return "no-failure";
    case SaturationEnd::kTracerigLimit: return "tracerig-limit";
    case SaturationEnd::kExportLimit: return "export-limit";
    case SaturationEnd::kNoPassingRate: return "no-passing-rate";
    case SaturationEnd::kBackendError: return "backend-error";
    case SaturationEnd::kInterrupted: return "interrupted";
  }
  return "unknown";
}

StepOutcome JudgeStep(const StepMeasurement& m, const SaturationOptions& options) {
  StepOutcome out;
  out.measured = m;
  if (!m.error.empty()) {
    out.verdict = StepVerdict::kError;
    out.reason = m.error;
    return out;
  }
  if (m.interrupted) {
    out.verdict = StepVerdict::kInterrupted;
    out.reason = "interrupted";
    return out;
  }
  // tracerig's own health first: when it did not keep up, nothing below is about the backend.
  std::vector<std::string> tracerig;
  if (m.schedule_lag_p99_ns > options.max_schedule_lag_p99_ns) {
    tracerig.push_back(fmt::format("the driver ran {} behind its schedule (p99; limit {})",
                                   FormatDuration(m.schedule_lag_p99_ns),
                                   FormatDuration(options.max_schedule_lag_p99_ns)));
  }
  if (m.unsent > 0) {
    tracerig.push_back(fmt::format("{} requests were due but never sent", m.unsent));
  }
  if (m.unfinished > 0) {
    tracerig.push_back(
        fmt::format("{} requests got no answer from tracerig's services", m.unfinished));
  }
  if (m.transport_errors > 0) {
    tracerig.push_back(fmt::format("{} requests to tracerig's services failed to connect or were "
                                   "cut off",
                                   m.transport_errors));
  }
  if (!tracerig.empty()) {
    out.verdict = StepVerdict::kTracerigLimit;
    out.reason = JoinReasons(tracerig);
    return out;
  }
  if (m.spans_dropped_queue_full > 0) {
    out.verdict = StepVerdict::kExportLimit;
    out.reason = fmt::format("the export queue overflowed and dropped {} spans",
                             m.spans_dropped_queue_full);
    return out;
  }
  std::vector<std::string> backend;
  if (m.checked == 0) {
    backend.push_back("no trace was checked");
  } else if (static_cast<double>(m.complete) <
             options.min_completeness * static_cast<double>(m.checked) - 1e-9) {
    backend.push_back(fmt::format("complete {} < {} ({} of {} traces{})",
                                  FormatPercent(m.completeness()),
                                  FormatPercent(options.min_completeness), m.complete, m.checked,
                                  m.deadline_hit ? "; verification deadline hit" : ""));
  }
  if (options.max_ttq_p99_ns && m.ttq_p99_ns && *m.ttq_p99_ns > *options.max_ttq_p99_ns) {
    backend.push_back(fmt::format("time to queryable p99 {} > {}", FormatDuration(*m.ttq_p99_ns),
                                  FormatDuration(*options.max_ttq_p99_ns)));
  }
  if (m.spans_dropped_failed + m.spans_rejected > 0) {
    backend.push_back(fmt::format("the backend refused {} spans",
                                  m.spans_dropped_failed + m.spans_rejected));
  }
  if (!backend.empty()) {
    out.verdict = StepVerdict::kBackendLimit;
    out.reason = JoinReasons(backend);
  }
  return out;
}

SaturationResult FindMaxIngest(const SaturationOptions& options, const StepFunction& run_step,
                               const std::function<void(const StepOutcome&)>& on_step) {
  SaturationResult result;
  std::optional<double> passing;  // highest passing rate
  std::optional<double> failing;  // lowest rate failed for the backend
  double rate = options.start_rate;
  std::optional<SaturationEnd> end;
  for (size_t n = 1; n <= options.max_steps && !end; ++n) {
    StepOutcome step = JudgeStep(run_step(static_cast<int>(n), rate), options);
    step.number = static_cast<int>(n);
    step.phase = failing ? "bisect" : "ramp";
    step.measured.rate = rate;
    result.steps.push_back(step);
    if (on_step) on_step(step);
    switch (step.verdict) {
      case StepVerdict::kPass:
        passing = std::max(passing.value_or(rate), rate);
        break;
      case StepVerdict::kBackendLimit:
        failing = std::min(failing.value_or(rate), rate);
        break;
      case StepVerdict::kTracerigLimit:
        end = SaturationEnd::kTracerigLimit;
        break;
      case StepVerdict::kExportLimit:
        end = SaturationEnd::kExportLimit;
        break;
      case StepVerdict::kError:
        end = SaturationEnd::kBackendError;
        break;
      case StepVerdict::kInterrupted:
        end = SaturationEnd::kInterrupted;
        break;
    }
    if (end) break;
    if (!failing) {
      rate *= options.rate_factor;
    } else if (!passing) {
      end = SaturationEnd::kNoPassingRate;
    } else if ((*failing - *passing) / *passing <= options.resolution) {
      end = SaturationEnd::kBracketed;
    } else {
      rate = (*passing + *failing) / 2;
    }
  }
  if (!end) end = failing ? SaturationEnd::kBracketed : SaturationEnd::kNoFailure;
  result.end = *end;
  // An unreachable backend gives no maximum: what passed before may not hold for it.
  if (result.end != SaturationEnd::kBackendError) result.max_passing_rate = passing;
  result.min_failing_rate = failing;
  result.explanation = Explain(result, options);
  return result;
}

int SaturationExitCode(const SaturationResult& result) {
  if (result.end == SaturationEnd::kBackendError) return 3;
  if (result.max_passing_rate) return 0;
  return result.end == SaturationEnd::kInterrupted ? 130 : 1;
}

std::string FormatStepLine(const StepOutcome& step, const SaturationOptions& options) {
  const StepMeasurement& m = step.measured;
  std::string line = fmt::format("step {} ({}): {}", step.number, step.phase,
                                 RateAndSpans(m.rate, options));
  if (step.verdict == StepVerdict::kError || step.verdict == StepVerdict::kInterrupted) {
    return line + fmt::format(": {}: {}", StepVerdictName(step.verdict), step.reason);
  }
  line += fmt::format(": complete {}", m.checked == 0 ? "-" : FormatPercent(m.completeness()));
  line += fmt::format(", ttq p99 {}", m.ttq_p99_ns ? FormatDuration(*m.ttq_p99_ns) : "-");
  line += fmt::format(", lag p99 {}, achieved {} spans/s", FormatDuration(m.schedule_lag_p99_ns),
                      FormatRate(m.achieved_spans_per_second()));
  if (step.verdict == StepVerdict::kPass) return line + ": pass";
  return line + fmt::format(": {} ({})", StepVerdictName(step.verdict), step.reason);
}

std::string FormatSaturationSummary(const SaturationResult& result,
                                    const SaturationOptions& options) {
  std::string out;
  if (result.max_passing_rate) {
    out += fmt::format("Highest sustained rate: {}",
                       RateAndSpans(*result.max_passing_rate, options));
    if (result.end == SaturationEnd::kTracerigLimit || result.end == SaturationEnd::kExportLimit ||
        result.end == SaturationEnd::kNoFailure) {
      out += " (a lower bound: the backend's limit was not reached)";
    }
    out += "\n";
  } else {
    out += "Highest sustained rate: none\n";
  }
  out += result.explanation + "\n";
  return out;
}

nlohmann::ordered_json SaturationToJson(const SaturationResult& result,
                                        const SaturationOptions& options) {
  using nlohmann::ordered_json;
  auto optional_ns = [](const std::optional<uint64_t>& v) {
    return v ? ordered_json(*v) : ordered_json(nullptr);
  };
  auto optional_rate = [](const std::optional<double>& v, double factor) {
    return v ? ordered_json(*v * factor) : ordered_json(nullptr);
  };
  ordered_json j;
  j["schema_version"] = 1;
  j["options"] = {{"start_rate", options.start_rate},
                  {"rate_factor", options.rate_factor},
                  {"resolution", options.resolution},
                  {"max_steps", options.max_steps},
                  {"spans_per_request", options.spans_per_request},
                  {"min_completeness", options.min_completeness},
                  {"max_ttq_p99_ns", optional_ns(options.max_ttq_p99_ns)},
                  {"max_schedule_lag_p99_ns", options.max_schedule_lag_p99_ns}};
  j["result"] = {
      {"end", SaturationEndName(result.end)},
      {"max_passing_rate", optional_rate(result.max_passing_rate, 1)},
      {"max_passing_spans_per_second",
       optional_rate(result.max_passing_rate, options.spans_per_request)},
      {"min_failing_rate", optional_rate(result.min_failing_rate, 1)},
      {"min_failing_spans_per_second",
       optional_rate(result.min_failing_rate, options.spans_per_request)},
      {"exit_code", SaturationExitCode(result)},
      {"explanation", result.explanation}};
  ordered_json steps = ordered_json::array();
  for (const auto& s : result.steps) {
    const StepMeasurement& m = s.measured;
    steps.push_back({{"number", s.number},
                     {"phase", s.phase},
                     {"rate", m.rate},
                     {"spans_per_second", m.rate * options.spans_per_request},
                     {"duration_ns", m.duration_ns},
                     {"requests_sent", m.requests_sent},
                     {"wall_ns", m.wall_ns},
                     {"spans_exported", m.spans_exported},
                     {"achieved_spans_per_second", m.achieved_spans_per_second()},
                     {"spans_dropped_queue_full", m.spans_dropped_queue_full},
                     {"spans_dropped_failed", m.spans_dropped_failed},
                     {"spans_rejected", m.spans_rejected},
                     {"schedule_lag_p99_ns", m.schedule_lag_p99_ns},
                     {"unsent", m.unsent},
                     {"unfinished", m.unfinished},
                     {"transport_errors", m.transport_errors},
                     {"checked", m.checked},
                     {"complete", m.complete},
                     {"completeness", m.completeness()},
                     {"deadline_hit", m.deadline_hit},
                     {"ttq_p99_ns", optional_ns(m.ttq_p99_ns)},
                     {"error", m.error},
                     {"verdict", StepVerdictName(s.verdict)},
                     {"reason", s.reason}});
  }
  j["steps"] = std::move(steps);
  return j;
}

}  // namespace tracerig
