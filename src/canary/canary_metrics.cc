// The tracerig_canary_* families: declared once, every series that can occur touched at zero so
// rate() and increase() see each from the first scrape.
#include "canary/canary_metrics.h"

#include <array>
#include <utility>

namespace tracerig {

namespace {

std::string Name(std::string_view suffix) {
  std::string name(kCanaryMetricPrefix);
  name += suffix;
  return name;
}

// Fixed names, built once (the recording calls look families up by name).
struct Names {
  std::string traces_written = Name("traces_written_total");
  std::string write_failures = Name("write_failures_total");
  std::string checks = Name("checks_total");
  std::string check_failures = Name("check_failures_total");
  std::string time_to_queryable = Name("time_to_queryable_seconds");
  std::string query_duration = Name("query_duration_seconds");
  std::string spans_expected = Name("spans_expected_total");
  std::string spans_found = Name("spans_found_total");
  std::string last_success = Name("last_success_timestamp_seconds");
  std::string traces_pending = Name("traces_pending");
  std::string build_info = Name("build_info");
};

const Names& N() {
  static const Names names;
  return names;
}

constexpr std::array kAllCheckFailures = {
    CheckFailure::kMissing,     CheckFailure::kIncomplete,       CheckFailure::kBroken,
    CheckFailure::kStructure,   CheckFailure::kNotFoundBySearch, CheckFailure::kRequestFailed,
    CheckFailure::kNotExported, CheckFailure::kEvicted,          CheckFailure::kLate,
};
static_assert(kAllCheckFailures.size() == kCheckFailureCount);

constexpr std::array kAllWriteFailures = {WriteFailure::kTransport, WriteFailure::kHttpStatus,
                                          WriteFailure::kExport};
static_assert(kAllWriteFailures.size() == kWriteFailureCount);

// The reasons a check can fail with: a search finds the trace or not (or cannot ask); a read by id
// gets every verdict of the verifier.
bool CanFailWith(std::string_view check, CheckFailure reason) {
  if (check == kCheckSearch) {
    return reason == CheckFailure::kNotFoundBySearch || reason == CheckFailure::kRequestFailed;
  }
  return reason != CheckFailure::kNotFoundBySearch;
}

}  // namespace

std::string_view CheckFailureName(CheckFailure reason) {
  switch (reason) {
    case CheckFailure::kMissing:
      return "missing";
    case CheckFailure::kIncomplete:
      return "incomplete";
    case CheckFailure::kBroken:
      return "broken";
    case CheckFailure::kStructure:
      return "structure";
    case CheckFailure::kNotFoundBySearch:
      return "not_found_by_search";
    case CheckFailure::kRequestFailed:
      return "request_failed";
    case CheckFailure::kNotExported:
      return "not_exported";
    case CheckFailure::kEvicted:
      return "evicted";
    case CheckFailure::kLate:
      return "late";
  }
  return "unknown";
}

std::string_view WriteFailureName(WriteFailure reason) {
  switch (reason) {
    case WriteFailure::kTransport:
      return "transport";
    case WriteFailure::kHttpStatus:
      return "http_status";
    case WriteFailure::kExport:
      return "export";
  }
  return "unknown";
}

CanaryMetrics::CanaryMetrics(std::string version, std::vector<std::string> ages, bool search) {
  const Names& n = N();
  MetricsRegistry& r = registry_;
  r.DeclareCounter(n.traces_written,
                   "Traces the canary wrote (requests sent to the entry service).");
  r.DeclareCounter(n.write_failures,
                   "Traces the canary could not write, by reason (transport, http_status, export).",
                   {"reason"});
  r.DeclareCounter(n.checks, "Checks of written traces made, by check (trace, search) and age.",
                   {"check", "age"});
  r.DeclareCounter(n.check_failures,
                   "Checks of written traces that failed, by check, age and reason.",
                   {"check", "age", "reason"});
  r.DeclareHistogram(n.time_to_queryable,
                     "Seconds from a request's end until its trace was complete in the backend.",
                     {0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600});
  r.DeclareHistogram(
      n.query_duration, "Seconds one backend query took, by query (trace, traces, search, other).",
      {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}, {"query"});
  r.DeclareCounter(n.spans_expected, "Spans expected in the traces checked by id at age 0s.");
  r.DeclareCounter(n.spans_found,
                   "Spans found in the backend in the traces checked by id at age 0s.");
  r.DeclareGauge(
      n.last_success,
      "Unix time in seconds of the last trace check at age 0s that passed (0: none yet).");
  r.DeclareGauge(n.traces_pending, "Traces written whose checks are not all done yet.");
  r.DeclareGauge(n.build_info, "Always 1; label version is the tracerig version.", {"version"});
  r.Set(n.build_info, {std::move(version)}, 1);

  for (WriteFailure reason : kAllWriteFailures) {
    r.Touch(n.write_failures, {std::string(WriteFailureName(reason))});
  }
  for (std::string_view query : {kQueryTrace, kQueryTraces, kQuerySearch, kQueryOther}) {
    r.Touch(n.query_duration, {std::string(query)});
  }
  std::vector<std::string> all_ages{std::string(kFirstCheckAge)};
  for (std::string& age : ages) {
    if (age != kFirstCheckAge) all_ages.push_back(std::move(age));
  }
  std::vector<std::string_view> checks{kCheckTrace};
  if (search) checks.push_back(kCheckSearch);
  for (std::string_view check : checks) {
    for (const std::string& age : all_ages) {
      r.Touch(n.checks, {std::string(check), age});
      for (CheckFailure reason : kAllCheckFailures) {
        if (!CanFailWith(check, reason)) continue;
        r.Touch(n.check_failures, {std::string(check), age, std::string(CheckFailureName(reason))});
      }
    }
  }
}

void CanaryMetrics::TraceWritten() { registry_.Add(N().traces_written, {}); }

void CanaryMetrics::WriteFailed(WriteFailure reason) {
  registry_.Add(N().write_failures, {std::string(WriteFailureName(reason))});
}

void CanaryMetrics::CheckPassed(std::string_view check, std::string_view age,
                                double now_unix_seconds) {
  registry_.Add(N().checks, {std::string(check), std::string(age)});
  if (check == kCheckTrace && age == kFirstCheckAge) {
    registry_.Set(N().last_success, {}, now_unix_seconds);
  }
}

void CanaryMetrics::CheckFailed(std::string_view check, std::string_view age, CheckFailure reason) {
  registry_.Add(N().checks, {std::string(check), std::string(age)});
  registry_.Add(N().check_failures,
                {std::string(check), std::string(age), std::string(CheckFailureName(reason))});
}

void CanaryMetrics::TimeToQueryable(double seconds) {
  registry_.Observe(N().time_to_queryable, {}, seconds);
}

void CanaryMetrics::QueryDuration(std::string_view query, double seconds) {
  registry_.Observe(N().query_duration, {std::string(query)}, seconds);
}

void CanaryMetrics::Spans(size_t expected, size_t found) {
  registry_.Add(N().spans_expected, {}, static_cast<double>(expected));
  registry_.Add(N().spans_found, {}, static_cast<double>(found));
}

void CanaryMetrics::SetPending(size_t traces) {
  registry_.Set(N().traces_pending, {}, static_cast<double>(traces));
}

}  // namespace tracerig
