// What `run`, `serve` and `run --find-max-ingest` start before any load: the backend (embedded or
// planned), the query clients, the exporter's sender, the exporter and the simulated topology.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "backend/embedded_backend.h"
#include "cli/backend_plan.h"
#include "cli/command_failure.h"
#include "cli/flags.h"
#include "core/clock.h"
#include "core/result.h"
#include "export/exporter.h"
#include "topology/scenario.h"
#include "topology/topology_runtime.h"
#include "verifier/verify.h"

namespace tracerig {

// An embedded backend or nothing, plus the plan with its addresses filled in.
struct StartedBackend {
  std::unique_ptr<EmbeddedBackend> embedded;
  BackendPlan plan;
};

// The started pieces, in start-up order: destroyed in reverse (topology first, backend last).
struct Rig {
  StartedBackend backend;
  BackendClientFactory query_clients;  // empty unless RigOptions::query_clients
  std::unique_ptr<BatchingExporter> exporter;
  std::unique_ptr<TopologyRuntime> topology;  // started; holds the scenario and the exporter
  uint64_t id_seed = 0;                       // the topology's; the driver's ids derive from it
};

struct RigOptions {
  size_t service_threads = 1;
  // `serve` and `run --no-verify` do not query the backend, so --export needs no --backend.
  bool query_clients = false;
  // The topology's wire log (TopologyOptions::wire_log_capacity; 0: its default).
  size_t wire_log_capacity = 0;
  // ExporterOptions::forget_oldest_losses: for a process that exports for days.
  bool forget_oldest_losses = false;
};

// Starts backend -> query clients -> sender -> exporter -> topology. A bad backend, export or
// query setting is a usage error; a topology that cannot start (a port taken) an infrastructure
// failure. `scenario` and `clock` must outlive the rig.
OrFailure<Rig> StartRig(const Scenario& scenario, const ParsedFlags& flags,
                        const RigOptions& options, const Clock& clock);

// --threads: the simulated services' threads (default: the number of cores).
Result<size_t> ParseServiceThreads(const ParsedFlags& flags);

// A seed that differs from run to run, for ids that must not repeat across runs.
uint64_t RandomRunSeed();

}  // namespace tracerig
