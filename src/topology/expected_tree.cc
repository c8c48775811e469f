// Expected call trees (see expected_tree.h): a walk over the scenario's call graph from one entry.
#include "topology/expected_tree.h"

#include <fmt/format.h>

#include <utility>

namespace tracerig {
namespace {

class TreeBuilder {
 public:
  explicit TreeBuilder(const Scenario& scenario) : scenario_(scenario) {
    // A path in an acyclic call graph visits each route at most once, so it is no longer than
    // the number of routes; deeper means a cycle slipped past validation.
    for (const auto& s : scenario.services) max_depth_ += s.routes.size();
  }

  ExpectedTree Build(const LoadEntry& entry) {
    const int client = Add("0", std::string(kDriverServiceName), SpanKind::kClient, entry.route, -1,
                           entry.service);
    Edge("0", std::string(kDriverServiceName), entry.service, entry.route, client, 0);
    return std::move(tree_);
  }

 private:
  int Add(std::string hop, std::string service, SpanKind kind, std::string name, int parent,
          std::string peer) {
    tree_.spans.push_back(ExpectedSpan{std::move(hop), std::move(service), kind, std::move(name),
                                       parent, std::move(peer)});
    return static_cast<int>(tree_.spans.size() - 1);
  }

  // The SERVER span of `callee`'s `route`, under the caller's CLIENT span, then its own calls.
  void Edge(const std::string& hop, const std::string& caller, const std::string& callee,
            const std::string& route_name, int client, size_t depth) {
    const int server = Add(hop, callee, SpanKind::kServer, route_name, client, caller);
    const Service* service = scenario_.FindService(callee);
    const Route* route = service != nullptr ? service->FindRoute(route_name) : nullptr;
    if (route == nullptr || depth >= max_depth_) return;
    size_t index = 0;
    for (const CallStep& step : route->calls) {
      for (const Call& call : step.calls) {
        std::string child_hop = ChildHop(hop, index++);
        const int child_client =
            Add(child_hop, callee, SpanKind::kClient, call.route, server, call.service);
        Edge(child_hop, callee, call.service, call.route, child_client, depth + 1);
      }
    }
  }

  const Scenario& scenario_;
  size_t max_depth_ = 0;
  ExpectedTree tree_;
};

}  // namespace

ExpectedTree BuildExpectedTree(const Scenario& scenario, const LoadEntry& entry) {
  return TreeBuilder(scenario).Build(entry);
}

std::string ChildHop(std::string_view hop, size_t index) {
  return fmt::format("{}.{}", hop, index);
}

}  // namespace tracerig
