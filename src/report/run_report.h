// Everything a run knew, as one value, and the judgement made from it: which checks failed and
// the exit code. Renderers (terminal summary, JSON) are pure functions of this value.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

#include "driver/driver_result.h"
#include "topology/runtime_stats.h"
#include "topology/scenario.h"
#include "verifier/verify.h"

namespace tracerig {

inline constexpr int kExitPass = 0;
inline constexpr int kExitConformanceFailure = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitInfrastructure = 3;
inline constexpr int kExitInterrupted = 130;

// The exit code of a run stopped by an error: the user's input (invalid argument, not found) is a
// usage error, 2; anything else (a backend unavailable, a limit, tracerig's own fault) is 3.
constexpr int ExitCodeForError(ErrorCode code) {
  return code == ErrorCode::kInvalidArgument || code == ErrorCode::kNotFound ? kExitUsage
                                                                              : kExitInfrastructure;
}

// Spans one drop reason lost, with the first failure behind it (ExporterStats::first_*_error).
struct ExportFailure {
  std::string reason;  // "permanent", "retries-exhausted" or "shutdown"
  uint64_t spans = 0;
  std::string first_error;  // worded to follow the count: "after 5 retries: cannot connect ..."
  bool operator==(const ExportFailure&) const = default;
};

struct ExportFigures {
  uint64_t submitted = 0;
  uint64_t exported = 0;
  uint64_t dropped_queue_full = 0;
  uint64_t dropped_failed = 0;
  uint64_t rejected = 0;
  uint64_t retries = 0;
  uint64_t batches = 0;
  bool flushed = true;  // the final flush finished within its timeout
  std::string endpoint = {};  // where spans went: "otlp-http://127.0.0.1:4318/v1/traces"
  std::vector<ExportFailure> failures = {};  // reasons with spans only; sum to dropped_failed
  uint64_t lost_traces = 0;           // distinct traces with a dropped span (queue full or failed)
  uint64_t lost_untracked_spans = 0;  // dropped spans of traces beyond the exporter's bound
};

// "400 after 5 retries: cannot connect to 127.0.0.1:1: Connection refused; 3 refused for good:
// HTTP 400: ..." ("" without failures).
std::string DescribeExportFailures(const ExportFigures& e);

// Why requests failed in transport, by kind, most frequent first, as wrk reports socket errors:
// "511288 connection refused: connect: Connection refused; 3 timeout: ..." ("" without reasons).
// When the kinds count fewer errors than transport_errors (a merge with a report written before
// they were recorded), the rest is "N of no recorded kind", so the counts always sum.
std::string DescribeTransportErrors(const DriverResult& load);

// Spans the backend accepted during the run: the exporter's delivered count from the start of the
// load to the end of the flush that follows it, and the backend's own count over the same time
// where it exposes one (the embedded backend's receivers).
struct IngestFigures {
  uint64_t spans_exported = 0;
  uint64_t window_ns = 0;  // load start to the end of the flush after it
  double spans_per_second = 0;  // spans_exported / window (0 when the window is 0)
  std::optional<uint64_t> backend_spans_accepted;     // unset: the backend does not say
  std::optional<uint64_t> backend_requests_rejected;  // its receivers' rejections (400, 413, ...)
};

struct CheckResult {
  std::string name;     // "completeness", "broken-propagation", ...
  bool passed = true;
  std::string message;  // what was measured against what was expected
  // False when the check's kind is not in the run's --fail-on set: a failure is then only a
  // warning and does not change the exit code.
  bool enforced = true;
};

// The kinds of check --fail-on can name, in judgement order. Every check belongs to one kind
// (CheckKind). "orphans" exists only when subtrees were recorded below a parent the configuration
// left unrecorded; "time-to-queryable" only when the scenario sets a time_to_queryable
// expectation; "backend-graph" only when the backend served its own dependency list.
inline constexpr std::string_view kCheckKinds[] = {
    "completeness",      "broken-propagation",    "spans-exported", "trace-structure",
    "orphans",           "verification-deadline", "sampling",       "time-to-queryable",
    "backend-graph"};

// The kind a check belongs to: its name, except "violation:<kind>" checks and "links" (a batch
// consumer's span links), which are all "trace-structure", "sampling:..." checks ("sampling") and
// "orphans:..." checks ("orphans").
std::string_view CheckKind(std::string_view check_name);

// Which check kinds fail a run (--fail-on). The default is every kind.
struct FailOn {
  std::set<std::string, std::less<>> kinds{std::begin(kCheckKinds), std::end(kCheckKinds)};

  bool Enforces(std::string_view check_name) const { return kinds.count(CheckKind(check_name)) > 0; }
  bool operator==(const FailOn&) const = default;
};

// Parses --fail-on: "all", "none", or a comma-separated list of kCheckKinds. Errors name the
// flag and the unknown kind and suggest the closest one: --fail-on: unknown check kind
// "completness" (did you mean "completeness"?); kinds: completeness, broken-propagation, ...
Result<FailOn> ParseFailOn(std::string_view text);
// "completeness,broken-propagation", "all" or "none": what ParseFailOn reads back.
std::string FormatFailOn(const FailOn& fail_on);

// A caller -> callee edge of the expected call graph, at one hop of the call tree ("0" is the
// load driver's call into the entry service).
struct GraphEdge {
  std::string hop;
  std::string caller;
  std::string callee;
  bool async = false;  // the caller publishes, the callee consumes (a CONSUMER span's edge)
  bool operator==(const GraphEdge&) const = default;
};

// Every CLIENT -> SERVER edge of the expected trees of the scenario's load entries, and every
// PRODUCER -> CONSUMER edge (async: publisher -> consuming service, also through a redelivery or
// dead-letter hop), each (hop, caller, callee) once, ordered by hop (numerically, component by
// component).
std::vector<GraphEdge> ExpectedGraphEdges(const Scenario& scenario);

// One run a merged report was made of (`tracerig report merge`), as report.json lists it.
struct MergedRun {
  std::string run_id;
  std::string file;       // the report.json it was read from
  uint64_t requests = 0;  // its load.sent
  bool verified = true;   // false for a run made with --no-verify
  bool operator==(const MergedRun&) const = default;
};

struct RunReport {
  std::string run_id;  // identifies the run across copies of its report (RunIdOf when empty)
  std::vector<MergedRun> merged_from;  // a merged report's runs, in order; empty for one run
  std::string tracerig_version;
  std::string scenario_name;
  std::string scenario_file;
  uint64_t seed = 0;
  std::string backend;  // "embedded (OTLP/HTTP 127.0.0.1:4318, query 127.0.0.1:16686)"
  uint64_t started_unix_nano = 0;
  uint64_t finished_unix_nano = 0;
  std::string load_model = "constant";  // LoadModelName of the scenario's [load] model
  double target_rate = 0;
  uint64_t target_duration_ns = 0;
  std::vector<RunningService> services;

  // False for `tracerig verify`: the requests come from an earlier run's ledger, so only their
  // count and outcomes are known; rates, latencies, spans and ingest were not measured.
  bool load_measured = true;
  DriverResult load;
  TopologyStats topology;
  ExportFigures exporter;
  IngestFigures ingest;
  bool verification_skipped = false;  // --no-verify
  std::optional<VerificationSummary> verification;
  std::string verification_error;  // set when verification could not run (e.g. backend unreachable)
  ErrorCode verification_error_code = ErrorCode::kUnavailable;  // decides the exit code
  Expectations expect;
  FailOn fail_on;                        // --fail-on (default: every check kind)
  std::vector<GraphEdge> expected_edges;  // ExpectedGraphEdges(scenario); for the HTML graph

  // Filled by Judge().
  std::vector<CheckResult> checks;
  int exit_code = kExitPass;
  std::string verdict;  // one line: "PASS: ..." / "FAIL: ..." / "ERROR: ..."
};

// How long verification took, for the summaries: "in 1.2s", or, when it ran alongside the load,
// "alongside the load, then 120ms".
std::string VerificationTime(const VerificationSummary& v);

// Hop "0.10.2" as numbers, so "0.10" sorts after "0.9" (its size is the hop's depth).
std::vector<uint64_t> HopPath(std::string_view hop);

// Evaluates the checks against the scenario's expectations and sets checks, exit_code and verdict.
// A failed check whose kind is not in report.fail_on is a warning: it is kept (enforced = false),
// named in the verdict, and does not change the exit code. Spans dropped by a failed export (any
// number of them) make the run an infrastructure error (exit 3) whatever the checks say: the
// backend was not given the whole load, so its verdict cannot be trusted.
void Judge(RunReport& report);

}  // namespace tracerig
