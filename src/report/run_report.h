// Everything a run knew, as one value, and the judgement made from it: which checks failed and
// the exit code. Renderers (terminal summary, JSON) are pure functions of this value.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "driver/load_driver.h"
#include "topology/scenario.h"
#include "topology/service_runtime.h"
#include "verifier/verify.h"

namespace tracerig {

inline constexpr int kExitPass = 0;
inline constexpr int kExitConformanceFailure = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitInfrastructure = 3;
inline constexpr int kExitInterrupted = 130;

struct ExportFigures {
  uint64_t submitted = 0;
  uint64_t exported = 0;
  uint64_t dropped_queue_full = 0;
  uint64_t dropped_failed = 0;
  uint64_t rejected = 0;
  uint64_t retries = 0;
  uint64_t batches = 0;
  bool flushed = true;  // the final flush finished within its timeout
};

struct CheckResult {
  std::string name;     // "completeness", "broken-propagation", ...
  bool passed = true;
  std::string message;  // what was measured against what was expected
};

struct RunReport {
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

  DriverResult load;
  TopologyStats topology;
  ExportFigures exporter;
  bool verification_skipped = false;  // --no-verify
  std::optional<VerificationSummary> verification;
  std::string verification_error;  // set when the backend could not be queried
  Expectations expect;

  // Filled by Judge().
  std::vector<CheckResult> checks;
  int exit_code = kExitPass;
  std::string verdict;  // one line: "PASS: ..." / "FAIL: ..." / "ERROR: ..."
};

// Evaluates the checks against the scenario's expectations and sets checks, exit_code and verdict.
void Judge(RunReport& report);

}  // namespace tracerig
