// Expected call trees (see expected_tree.h): a walk over the scenario's call graph from one entry,
// deciding per request what the simulated services decide (decisions.h).
#include "topology/expected_tree.h"

#include <fmt/format.h>

#include <optional>
#include <utility>

#include "topology/decisions.h"

namespace tracerig {
namespace {

class TreeBuilder {
 public:
  // `sequence` is nullopt for the static tree (nothing random happens).
  TreeBuilder(const Scenario& scenario, std::optional<uint64_t> sequence)
      : scenario_(scenario), sequence_(sequence) {
    // A path in an acyclic call graph visits each route at most once, so it is no longer than
    // the number of routes; deeper means a cycle slipped past validation.
    for (const auto& s : scenario.services) max_depth_ += s.routes.size();
  }

  ExpectedTree Build(const LoadEntry& entry) {
    const int client = Add("0", std::string(kDriverServiceName), SpanKind::kClient, entry.route,
                           -1, entry.service, false);
    Edge("0", std::string(kDriverServiceName), entry.service, entry.route, client, true, true, 0);
    return std::move(tree_);
  }

 private:
  int Add(std::string hop, std::string service, SpanKind kind, std::string name, int parent,
          std::string peer, bool parent_unexported) {
    tree_.spans.push_back(ExpectedSpan{std::move(hop), std::move(service), kind, std::move(name),
                                       parent, std::move(peer), parent_unexported});
    return static_cast<int>(tree_.spans.size() - 1);
  }

  DecisionPoint Point(std::string_view hop, std::string_view service) const {
    return DecisionPoint(scenario_.seed, *sequence_, hop, service);
  }

  bool Happens(std::string_view hop, std::string_view caller, double probability) const {
    if (!sequence_) return probability > 0;
    return CallHappens(Point(hop, caller), probability);
  }

  bool Errors(std::string_view hop, std::string_view service, const Route& route) const {
    if (!sequence_) return false;
    return RouteErrors(Point(hop, service), route.error_rate);
  }

  bool Sampled(std::string_view hop, const Service& service, bool parent_sampled) const {
    if (!sequence_) {
      const SamplingPolicy& p = service.sampling;
      switch (p.kind) {
        case SamplingPolicy::Kind::kAlways:
          return true;
        case SamplingPolicy::Kind::kNever:
          return false;
        case SamplingPolicy::Kind::kRatio:
          return p.ratio > 0;
        case SamplingPolicy::Kind::kParentBased:
          return parent_sampled;
      }
    }
    return SamplingDecision(Point(hop, service.name), service.sampling, parent_sampled);
  }

  // The SERVER span of `callee`'s `route`, under the caller's CLIENT span (index `client`, or the
  // nearest exported ancestor when !client_exported), then its own calls. Returns whether the
  // server answered with a failure (5xx), which makes its caller retry.
  bool Edge(const std::string& hop, const std::string& caller, const std::string& callee,
            const std::string& route_name, int client, bool client_exported, bool parent_sampled,
            size_t depth) {
    const Service* service = scenario_.FindService(callee);
    const bool simulated = service != nullptr && !service->IsExternal();
    const bool sampled = simulated ? Sampled(hop, *service, parent_sampled) : parent_sampled;
    const int anchor = sampled ? Add(hop, callee, SpanKind::kServer, route_name, client, caller,
                                     !client_exported)
                               : client;
    const Route* route = simulated ? service->FindRoute(route_name) : nullptr;
    if (route == nullptr || depth >= max_depth_) return false;
    size_t index = 0;
    bool call_failed = false;
    for (const CallStep& step : route->calls) {
      for (const Call& call : step.calls) {
        for (uint32_t execution = 0; execution < call.repeat; ++execution) {
          const std::string call_hop = ChildHop(hop, index++);
          if (!Happens(call_hop, callee, call.probability)) continue;
          bool failed = true;
          for (uint32_t attempt = 0; failed && attempt <= call.retries; ++attempt) {
            const std::string attempt_hop = attempt == 0 ? call_hop : RetryHop(call_hop, attempt);
            const int child_client =
                sampled ? Add(attempt_hop, callee, SpanKind::kClient, call.route, anchor,
                              call.service, false)
                        : anchor;
            failed = Edge(attempt_hop, callee, call.service, call.route, child_client, sampled,
                          sampled, depth + 1);
          }
          call_failed = call_failed || failed;
        }
      }
    }
    if (Errors(hop, callee, *route)) return AnswerFailsCall(service->protocol, route->error_status);
    return call_failed;
  }

  const Scenario& scenario_;
  std::optional<uint64_t> sequence_;
  size_t max_depth_ = 0;
  ExpectedTree tree_;
};

bool StrictlyBetween0And1(double p) { return p > 0 && p < 1; }

}  // namespace

ExpectedTree BuildExpectedTree(const Scenario& scenario, const LoadEntry& entry) {
  return TreeBuilder(scenario, std::nullopt).Build(entry);
}

ExpectedTree BuildExpectedTree(const Scenario& scenario, const LoadEntry& entry,
                               uint64_t sequence) {
  return TreeBuilder(scenario, sequence).Build(entry);
}

bool TreeVariesPerRequest(const Scenario& scenario) {
  bool retries = false;
  bool errors = false;
  for (const Service& service : scenario.services) {
    if (service.sampling.kind == SamplingPolicy::Kind::kRatio &&
        StrictlyBetween0And1(service.sampling.ratio)) {
      return true;
    }
    for (const Route& route : service.routes) {
      errors = errors || route.error_rate > 0;
      for (const CallStep& step : route.calls) {
        for (const Call& call : step.calls) {
          if (StrictlyBetween0And1(call.probability)) return true;
          retries = retries || call.retries > 0;
        }
      }
    }
  }
  return retries && errors;
}

std::string ChildHop(std::string_view hop, size_t index) {
  return fmt::format("{}.{}", hop, index);
}

std::string RetryHop(std::string_view hop, uint32_t retry) {
  return fmt::format("{}r{}", hop, retry);
}

}  // namespace tracerig
