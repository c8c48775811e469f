// Loading a scenario file and the flags that override its values: --duration, --rate, --seed,
// --driver-threads, --connections, --broker, and --fail-on over the report's defaults.
#pragma once

#include <string>
#include <vector>

#include "cli/command_failure.h"
#include "cli/flags.h"
#include "core/result.h"
#include "report/run_report.h"
#include "topology/scenario.h"

namespace tracerig {

// The flags `run` takes for its load, backend, exporter and services; `serve` takes the backend,
// export, export-protocol and threads ones (indices 3 to 6).
extern const std::vector<FlagSpec> kLoadFlags;
extern const FlagSpec kFailOnFlag;
// --broker URL: over [broker] url ("embedded" forces the embedded broker). Also in kLoadFlags.
extern const FlagSpec kBrokerFlag;

// Reads and parses a scenario file, printing every diagnostic, then every warning; a failure is
// then a usage error with nothing more to print.
OrFailure<Scenario> LoadScenario(const std::string& path);

// Applies --duration/--rate/--seed over the scenario's values. Returns an error for bad values.
Status ApplyLoadOverrides(const ParsedFlags& flags, Scenario& scenario);

// --seed over [scenario] seed (part of ApplyLoadOverrides; alone for `canary`, which has its own
// load). Returns an error for a value that is not a non-negative integer.
Status ApplySeedOverride(const ParsedFlags& flags, Scenario& scenario);

// --driver-threads / --connections over the scenario's [load] values.
Status ApplyDriverOverrides(const ParsedFlags& flags, Scenario& scenario);

// --broker over [broker] url: "embedded" clears it, an amqp:// URL replaces it. Returns an error
// naming the flag for a URL that is neither.
Status ApplyBrokerOverride(const ParsedFlags& flags, Scenario& scenario);

// --fail-on over the default (every check fails the run). Returns an error for a bad list.
Status ApplyFailOn(const ParsedFlags& flags, RunReport& report);

}  // namespace tracerig
