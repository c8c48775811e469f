// The service dependency graph: caller -> callee edges with call counts, observed from the spans a
// backend returned (or from a backend's own dependency list) and compared with the edges the
// topology expects. Pure; counting is incremental so the verifier keeps counts, never spans.
//
// An observed call is a SERVER span whose parent span (same trace id) is a CLIENT span — the edge
// is the CLIENT span's service -> the SERVER span's service — or a span of another service (a
// SERVER -> SERVER link when the caller's CLIENT span is missing). A CLIENT span without a SERVER
// child names no callee and counts nothing. An async edge counts the same way: a CONSUMER span
// under a PRODUCER span is a publisher -> consumer edge (as backends' dependency lists show it).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/ids.h"
#include "core/span.h"

namespace tracerig {

// A topology edge and how many calls over it should have been seen: the sum over verified
// requests of the chance that both ends' spans were sampled, and the variance of that sum.
struct ExpectedEdge {
  std::string caller;
  std::string callee;
  double calls = 0;
  double variance = 0;  // 0 when every call is certain (no random sampling on the way)

  bool operator==(const ExpectedEdge&) const = default;
};

// One entry of a backend's dependency list (Jaeger /api/dependencies: parent, child, callCount;
// Zipkin /api/v2/dependencies: parent, child, callCount).
struct DependencyLink {
  std::string parent;
  std::string child;
  uint64_t call_count = 0;

  bool operator==(const DependencyLink&) const = default;
};

// One edge in the comparison; `status` is "ok", "missing" (expected calls, none observed),
// "unexpected" (observed, not in the topology) or "count-mismatch".
struct EdgeComparison {
  std::string caller;
  std::string callee;
  bool in_topology = false;
  double expected_calls = 0;
  double expected_variance = 0;
  uint64_t observed_calls = 0;
  std::string status;

  bool operator==(const EdgeComparison&) const = default;
};

struct GraphComparison {
  std::vector<EdgeComparison> edges;  // sorted by caller, then callee
  size_t missing = 0;
  size_t unexpected = 0;
  size_t count_mismatches = 0;
  bool Matches() const { return missing == 0 && unexpected == 0 && count_mismatches == 0; }
};

// Observed calls per edge, merged across traces and workers.
class ServiceGraphCounter {
 public:
  // Counts the calls in the spans of one or more traces (parents are looked up among spans with
  // the same trace id). Spans under `except` are skipped (already counted: a fragment search can
  // return spans of the trace itself). Keeps no reference to `spans`.
  void AddSpans(const std::vector<Span>& spans, std::optional<TraceId> except = std::nullopt);
  // Adds `calls` to caller -> callee.
  void Add(std::string_view caller, std::string_view callee, uint64_t calls);
  // The count of caller -> callee (created at 0), to add to directly on a hot path; valid as long
  // as the counter is (the map's nodes never move).
  uint64_t& Count(std::string_view caller, std::string_view callee);
  void Merge(const ServiceGraphCounter& other);
  // Every edge with its count, sorted by parent, then child.
  std::vector<DependencyLink> Links() const;

 private:
  struct Counted {
    std::string caller;
    std::string callee;
    uint64_t calls = 0;
  };
  std::unordered_map<std::string, Counted> edges_;  // key: caller '\0' callee
  std::string key_;  // reused so a lookup of a known edge allocates nothing
  // AddSpans' (trace id, span id) index, reused between calls; empty between them.
  std::vector<std::pair<std::pair<TraceId, uint64_t>, const Span*>> by_id_;
};

// Counts are compared with a tolerance when sampling makes them random: a count mismatch is an
// observed count outside expected ± max(0.5, z * sqrt(variance)); with z = 0 or no variance only
// the exact (rounded) count passes. Expected edges with calls < 0.5 that nobody observed are "ok".
// Duplicate expected edges or links are summed.
GraphComparison CompareGraphs(const std::vector<ExpectedEdge>& expected,
                              const std::vector<DependencyLink>& observed, double z = 0);

// A backend's dependency list against the expected edges. Backends count every trace in the time
// window they are asked about (other runs' too), so by default only presence is compared (missing
// and unexpected edges; counts are reported, never a mismatch); with `compare_counts` the counts
// are compared as CompareGraphs does, for a backend that saw only this run.
GraphComparison CompareDependencies(const std::vector<ExpectedEdge>& expected,
                                    const std::vector<DependencyLink>& observed,
                                    bool compare_counts = false, double z = 0);

// The expected side of a comparison (edges in the topology with their expected calls), e.g. to
// compare a backend's dependency list with what the verifier expected.
std::vector<ExpectedEdge> ExpectedEdgesOf(const GraphComparison& comparison);

}  // namespace tracerig
