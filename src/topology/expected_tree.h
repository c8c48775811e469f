// The expected call tree of one root request: every span a complete trace must contain, derived
// from the scenario alone. The verifier matches what a backend returns against it, hop by hop.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "core/span.h"
#include "topology/scenario.h"

namespace tracerig {

// The load driver is itself a traced client: its CLIENT span is the root of every trace.
inline constexpr std::string_view kDriverServiceName = "tracerig-driver";

struct ExpectedSpan {
  // "0" for the driver->entry edge; children "0.0", "0.1", ... in call order (parallel groups
  // flattened in order). A CLIENT span and the SERVER span it calls share the hop.
  std::string hop;
  std::string service;                     // the service that records the span
  SpanKind kind = SpanKind::kUnspecified;  // kClient or kServer
  std::string name;  // the route name, for both the CLIENT and the SERVER span of an edge
  int parent = -1;   // index in ExpectedTree::spans; -1 for the root (the driver's CLIENT span)
  std::string peer;  // CLIENT: the callee service; SERVER: the caller service

  bool operator==(const ExpectedSpan&) const = default;
};

struct ExpectedTree {
  std::vector<ExpectedSpan> spans;  // pre-order: a parent always comes before its children
};

// The tree for a request to `entry`. Expects a validated scenario (ParseScenario); on an invalid
// one it stays total: an unknown callee gets its two spans and no children, and expansion stops
// at a depth no acyclic scenario can reach.
ExpectedTree BuildExpectedTree(const Scenario& scenario, const LoadEntry& entry);

// The hop of call number `index` (from 0) under `hop`: hop + "." + index.
std::string ChildHop(std::string_view hop, size_t index);

}  // namespace tracerig
