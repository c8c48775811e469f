// `tracerig run --find-max-ingest`: the command that runs the saturation search (saturation.h
// holds the search itself) on one backend, topology and exporter.
#pragma once

#include <vector>

#include "cli/command_failure.h"
#include "cli/flags.h"
#include "topology/scenario.h"

namespace tracerig {

// The flags of `run --find-max-ingest` (docs/SATURATION.md), valid only with it.
extern const std::vector<FlagSpec> kSaturationFlags;

// Each step is a fresh driver and schedule at its rate, then a flush and a verification of that
// step's ledger. Writes saturation.json; the outcome is the search's exit code.
CommandOutcome RunSaturationSearch(const ParsedFlags& flags, Scenario scenario);

}  // namespace tracerig
