// The tracerig_canary_* families that `tracerig canary` and `tracerig run --metrics-listen`
// expose, and the only label values they take: checks, ages and reasons are fixed sets (no trace
// ids, no free text), so every label set is bounded. docs/CANARY.md says what each one means.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "canary/metrics.h"

namespace tracerig {

inline constexpr std::string_view kCanaryMetricPrefix = "tracerig_canary_";

// What is asked of a trace (label `check`).
inline constexpr std::string_view kCheckTrace = "trace";    // by id: present, complete, unbroken,
                                                             // correctly parented
inline constexpr std::string_view kCheckSearch = "search";  // found again by a search on its
                                                             // ground-truth request id
// Label `age` of the first checks, made as soon as a trace is due; re-reads carry their age as
// given on the command line ("1m", "15m", "1h", "24h").
inline constexpr std::string_view kFirstCheckAge = "0s";

// Why a check failed (label `reason` of check_failures_total).
enum class CheckFailure {
  kMissing,          // no span of the trace under its id
  kIncomplete,       // some expected spans never arrived
  kBroken,           // spans arrived under another trace id: propagation broke at an edge
  kStructure,        // all there, but wrongly parented, out of order, bad attributes, links
  kNotFoundBySearch,  // found by id, not by a search on its request id
  kRequestFailed,    // the backend could not be queried (unreachable, erroring, unparseable)
  kNotExported,      // tracerig's own exporter could not deliver its spans
  kEvicted,          // the backend evicted it to stay within its bounds
  kLate,             // complete, but only after --queryable-within (first checks only)
};
inline constexpr size_t kCheckFailureCount = 9;
// "missing", "incomplete", "broken", "structure", "not_found_by_search", "request_failed",
// "not_exported", "evicted", "late".
std::string_view CheckFailureName(CheckFailure reason);

// Why a trace could not be written (label `reason` of write_failures_total).
enum class WriteFailure {
  kTransport,   // the entry service did not answer (connect, write, read failed or timed out)
  kHttpStatus,  // it answered with a status the scenario does not plan (not 2xx, no error_rate)
  kExport,      // tracerig's exporter dropped spans of the trace (queue full, backend refused)
};
inline constexpr size_t kWriteFailureCount = 3;
// "transport", "http_status", "export".
std::string_view WriteFailureName(WriteFailure reason);

// Label `query` of query_duration_seconds: what the backend was asked.
inline constexpr std::string_view kQueryTrace = "trace";    // one trace by id
inline constexpr std::string_view kQueryTraces = "traces";  // a batch of traces by id
inline constexpr std::string_view kQuerySearch = "search";  // spans by attribute
inline constexpr std::string_view kQueryOther = "other";    // dependencies, store figures

class CanaryMetrics {
 public:
  // Declares every family and touches every series of the given checks and ages at zero (ages:
  // kFirstCheckAge first, then the re-read ages; checks: kCheckTrace, and kCheckSearch when
  // `search`), with build_info{version} = 1.
  CanaryMetrics(std::string version, std::vector<std::string> ages, bool search);

  void TraceWritten();                    // traces_written_total
  void WriteFailed(WriteFailure reason);  // write_failures_total{reason}
  // One check's outcome: checks_total{check,age} += 1, and on failure
  // check_failures_total{check,age,reason} += 1. A trace check at kFirstCheckAge that passes
  // sets last_success_timestamp_seconds to `now_unix_seconds`.
  void CheckPassed(std::string_view check, std::string_view age, double now_unix_seconds);
  void CheckFailed(std::string_view check, std::string_view age, CheckFailure reason);
  void TimeToQueryable(double seconds);                         // histogram
  void QueryDuration(std::string_view query, double seconds);  // histogram{query}
  // Of one trace checked by id at kFirstCheckAge: spans_expected_total, spans_found_total.
  void Spans(size_t expected, size_t found);
  // Traces written whose checks are not all done yet (gauge traces_pending).
  void SetPending(size_t traces);

  MetricsRegistry& registry() { return registry_; }
  const MetricsRegistry& registry() const { return registry_; }

 private:
  MetricsRegistry registry_;
};

}  // namespace tracerig
