// Expected trees prepared once per load entry (or per request when seeded decisions change the
// tree), with the sampling model, expected edges and clean calls the analytics use.
#include "verifier/verify_internal.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <tuple>
#include <utility>

#include "verifier/started_trace.h"

namespace tracerig::verify_internal {
namespace {

// The expected tree of one ledger entry: the one place that decides it.
ExpectedTree ExpectedTreeFor(const Scenario& scenario, const LedgerEntry& entry, bool per_request) {
  const LoadEntry& load_entry = scenario.load.entries[entry.entry];
  return per_request ? BuildExpectedTree(scenario, load_entry, entry.sequence)
                     : BuildExpectedTree(scenario, load_entry);
}

}  // namespace

bool TreesVaryPerRequest(const Scenario& scenario, bool statistical_sampling) {
  if (!TreeVariesPerRequest(scenario)) return false;
  if (!statistical_sampling) return true;
  Scenario without_ratio_sampling = scenario;
  for (Service& service : without_ratio_sampling.services) {
    if (service.sampling.kind == SamplingPolicy::Kind::kRatio) {
      service.sampling.kind = SamplingPolicy::Kind::kAlways;
    }
  }
  return TreeVariesPerRequest(without_ratio_sampling);
}

PreparedTree Prepare(const Scenario& scenario, const LedgerEntry& entry, bool per_request) {
  PreparedTree p;
  p.sequence = entry.sequence;
  p.tree = ExpectedTreeFor(scenario, entry, per_request);
  p.required = RequiredSpanCount(p.tree);
  // An edge-started request: the ledger's trace holds the driver's span alone; the entry's own
  // trace is found by searching, not waited for under the ledger's id.
  const std::vector<bool> in_started = InStartedTrace(p.tree);
  const bool started = StartsOwnTrace(p.tree);
  if (started) p.required = RequiredUnderLedgerTrace(p.tree);
  for (size_t i = 0; i < p.tree.spans.size(); ++i) {
    const ExpectedSpan& e = p.tree.spans[i];
    p.has_external = p.has_external || e.external;
    // A batch span (linked) is in a trace of its own: never waited for under the ledger's id.
    if (!e.optional && !e.external && !e.linked && !in_started[i]) {
      ++p.required_ground_truth;
      p.required_keys.emplace_back(e.hop, e.kind);
    }
  }
  std::sort(p.required_keys.begin(), p.required_keys.end());
  p.required_keys.erase(std::unique(p.required_keys.begin(), p.required_keys.end()),
                        p.required_keys.end());
  p.sampling = ModelTreeSampling(scenario, p.tree);
  if (per_request) {
    // The tree applied every seeded sampling decision of its request: what it holds is sampled
    // (a ratio policy's 0.5 would otherwise halve the calls the graph expects on its edges).
    for (double& chance : p.sampling.probability) chance = 1;
    for (auto& trials : p.sampling.services) trials.expected = 1;
  }
  const std::vector<ExpectedSpan>& spans = p.tree.spans;
  // Calls per edge and pair of fresh decisions: those calls are all seen or all not.
  std::map<std::tuple<std::string, std::string, uint32_t, uint32_t>, std::pair<double, double>>
      groups;  // -> (calls, chance)
  for (size_t i = 0; i < spans.size(); ++i) {
    const int parent = spans[i].parent;
    // A span whose caller was sampled out hangs off an ancestor that did not call it: the call
    // into it is invisible, so it is no expected edge.
    // An optional span (a retry only a timeout causes) may or may not be there: no clean call.
    // An async edge is one too (a CONSUMER span under the PRODUCER span), but not a batch's: its
    // span links to the message from a trace of its own.
    const bool callee = spans[i].kind == SpanKind::kServer ||
                        (spans[i].kind == SpanKind::kConsumer && !spans[i].linked);
    if (!callee || parent < 0 || static_cast<size_t>(parent) >= i ||
        spans[i].parent_unexported || spans[i].optional) {
      continue;
    }
    const auto c = static_cast<uint32_t>(parent);
    const auto s = static_cast<uint32_t>(i);
    p.clean_calls.emplace_back(spans[c].service, spans[i].service);
    const uint32_t a = std::min(p.sampling.source[c], p.sampling.source[s]);
    const uint32_t b = std::max(p.sampling.source[c], p.sampling.source[s]);
    auto& g = groups[{spans[c].service, spans[i].service, a, b}];
    g.first += 1;
    g.second = BothSampled(p.sampling, c, s);
  }
  for (const auto& [k, g] : groups) {
    const std::string& caller = std::get<0>(k);
    const std::string& callee = std::get<1>(k);
    std::string key = caller;
    key.push_back('\0');
    key += callee;
    if (p.edges.empty() || p.edges.back().key != key) {
      p.edges.push_back(TreeEdge{key, caller, callee, 0, 0});
    }
    const auto [calls, chance] = g;
    p.edges.back().calls += calls * chance;
    p.edges.back().variance += calls * calls * chance * (1 - chance);
  }
  for (uint32_t i = 0; i < spans.size(); ++i) {
    if (!p.sampling.parent_based[i]) continue;
    const auto caller_visit = p.sampling.visit[static_cast<size_t>(spans[i].parent)];
    for (uint32_t k = 0; k < p.sampling.services.size(); ++k) {
      if (p.sampling.services[k].service == spans[i].service) {
        p.follows.emplace_back(i, caller_visit, k);
        break;
      }
    }
  }
  return p;
}

bool HoldsRequiredSpans(const PreparedTree& prepared, const std::vector<Span>& spans) {
  if (spans.size() < prepared.required) return false;
  const auto& keys = prepared.required_keys;
  std::vector<bool> seen(keys.size(), false);
  size_t found = 0;
  size_t with_ground_truth = 0;
  for (const Span& span : spans) {
    const AttributeValue* hop = span.FindAttribute(kHopAttribute);
    const auto* text = hop != nullptr ? std::get_if<std::string>(hop) : nullptr;
    if (text == nullptr) continue;
    ++with_ground_truth;
    const auto it = std::lower_bound(
        keys.begin(), keys.end(), std::make_pair(std::string_view(*text), span.kind),
        [](const std::pair<std::string, SpanKind>& k,
           const std::pair<std::string_view, SpanKind>& v) {
          return std::string_view(k.first) < v.first ||
                 (std::string_view(k.first) == v.first && k.second < v.second);
        });
    if (it == keys.end() || it->first != *text || it->second != span.kind) continue;
    const auto at = static_cast<size_t>(it - keys.begin());
    if (!seen[at]) {
      seen[at] = true;
      ++found;
    }
  }
  if (found < keys.size()) return false;
  return !prepared.has_external || with_ground_truth >= prepared.required_ground_truth;
}

}  // namespace tracerig::verify_internal
