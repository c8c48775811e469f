#include "verifier/graph.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <tuple>
#include <utility>

namespace tracerig {
namespace {

using EdgeName = std::pair<std::string, std::string>;  // caller, callee

std::string StatusOf(bool in_topology, double expected, uint64_t observed, double tolerance,
                     bool compare_counts) {
  if (!in_topology) return observed > 0 ? "unexpected" : "ok";
  if (observed == 0) return expected >= 0.5 ? "missing" : "ok";
  if (!compare_counts) return "ok";
  return std::abs(static_cast<double>(observed) - expected) > tolerance ? "count-mismatch" : "ok";
}

GraphComparison Compare(const std::vector<ExpectedEdge>& expected,
                        const std::vector<DependencyLink>& observed, bool compare_counts,
                        double z) {
  struct Both {
    bool in_topology = false;
    double calls = 0;
    double variance = 0;
    uint64_t observed = 0;
  };
  std::map<EdgeName, Both> edges;
  for (const ExpectedEdge& e : expected) {
    Both& b = edges[{e.caller, e.callee}];
    b.in_topology = true;
    b.calls += e.calls;
    b.variance += e.variance;
  }
  for (const DependencyLink& l : observed) edges[{l.parent, l.child}].observed += l.call_count;
  GraphComparison result;
  for (const auto& [name, b] : edges) {
    // Half a call either way is the exact count; sampling widens it to z standard deviations.
    const double tolerance = std::max(0.5, z * std::sqrt(b.variance));
    EdgeComparison c;
    c.caller = name.first;
    c.callee = name.second;
    c.in_topology = b.in_topology;
    c.expected_calls = b.calls;
    c.expected_variance = b.variance;
    c.observed_calls = b.observed;
    c.status = StatusOf(b.in_topology, b.calls, b.observed, tolerance, compare_counts);
    if (c.status == "missing") ++result.missing;
    if (c.status == "unexpected") ++result.unexpected;
    if (c.status == "count-mismatch") ++result.count_mismatches;
    result.edges.push_back(std::move(c));
  }
  return result;
}

}  // namespace

void ServiceGraphCounter::AddSpans(const std::vector<Span>& spans, std::optional<TraceId> except) {
  // (trace id, span id) -> span, sorted: traces are small, and a sorted vector beats a hash map
  // at that size. Spans sharing an id (a duplicate-span-id fault) resolve to the first one.
  std::vector<std::pair<std::pair<TraceId, uint64_t>, const Span*>>& by_id = by_id_;
  by_id.clear();
  for (const Span& s : spans) {
    if (s.span_id.IsValid() && s.trace_id != except) {
      by_id.push_back({{s.trace_id, s.span_id.value}, &s});
    }
  }
  std::stable_sort(by_id.begin(), by_id.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  for (const Span& s : spans) {
    const bool callee = s.kind == SpanKind::kServer || s.kind == SpanKind::kConsumer;
    if (!callee || !s.parent_span_id.IsValid() || s.trace_id == except) {
      continue;
    }
    const std::pair<TraceId, uint64_t> want{s.trace_id, s.parent_span_id.value};
    auto it = std::lower_bound(by_id.begin(), by_id.end(), want,
                               [](const auto& a, const auto& w) { return a.first < w; });
    if (it == by_id.end() || it->first != want || it->second == &s) continue;
    const Span& parent = *it->second;
    if (parent.kind == SpanKind::kClient || parent.kind == SpanKind::kProducer ||
        parent.service_name != s.service_name) {
      Add(parent.service_name, s.service_name, 1);
    }
  }
  by_id.clear();  // no pointers into `spans` outlive the call
}

void ServiceGraphCounter::Add(std::string_view caller, std::string_view callee, uint64_t calls) {
  Count(caller, callee) += calls;
}

uint64_t& ServiceGraphCounter::Count(std::string_view caller, std::string_view callee) {
  key_.assign(caller);
  key_.push_back('\0');
  key_.append(callee);
  auto it = edges_.find(key_);
  if (it == edges_.end()) {
    it = edges_.emplace(key_, Counted{std::string(caller), std::string(callee), 0}).first;
  }
  return it->second.calls;
}

void ServiceGraphCounter::Merge(const ServiceGraphCounter& other) {
  for (const auto& [key, e] : other.edges_) Add(e.caller, e.callee, e.calls);
}

std::vector<DependencyLink> ServiceGraphCounter::Links() const {
  std::vector<DependencyLink> links;
  links.reserve(edges_.size());
  for (const auto& [key, e] : edges_) links.push_back({e.caller, e.callee, e.calls});
  std::sort(links.begin(), links.end(), [](const DependencyLink& a, const DependencyLink& b) {
    return std::tie(a.parent, a.child) < std::tie(b.parent, b.child);
  });
  return links;
}

GraphComparison CompareGraphs(const std::vector<ExpectedEdge>& expected,
                              const std::vector<DependencyLink>& observed, double z) {
  return Compare(expected, observed, true, z);
}

GraphComparison CompareDependencies(const std::vector<ExpectedEdge>& expected,
                                    const std::vector<DependencyLink>& observed,
                                    bool compare_counts, double z) {
  return Compare(expected, observed, compare_counts, z);
}

std::vector<ExpectedEdge> ExpectedEdgesOf(const GraphComparison& comparison) {
  std::vector<ExpectedEdge> edges;
  for (const EdgeComparison& e : comparison.edges) {
    if (e.in_topology) {
      edges.push_back({e.caller, e.callee, e.expected_calls, e.expected_variance});
    }
  }
  return edges;
}

}  // namespace tracerig
