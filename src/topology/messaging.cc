#include "topology/messaging.h"

#include <algorithm>
#include <string>

#include "broker/topic.h"

namespace tracerig {
namespace {

template <typename F>
void ForEachCall(const std::vector<CallStep>& steps, F&& f) {
  for (const CallStep& step : steps) {
    for (const Call& call : step.calls) f(call);
  }
}

template <typename F>
void ForEachCallOf(const Scenario& scenario, F&& f) {
  for (const Service& service : scenario.services) {
    for (const Route& route : service.routes) ForEachCall(route.calls, f);
    for (const Consumer& consumer : service.consumers) ForEachCall(consumer.calls, f);
  }
}

void AddDistinct(std::vector<std::string>& names, const std::string& name) {
  if (name.empty()) return;
  if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
}

}  // namespace

std::vector<ConsumerRef> ConsumersOf(const Scenario& scenario, const Call& call) {
  std::vector<ConsumerRef> out;
  if (!call.IsPublish()) return out;
  for (const Service& service : scenario.services) {
    for (const Consumer& consumer : service.consumers) {
      if (consumer.exchange == call.publish &&
          TopicMatches(consumer.binding_key, call.routing_key)) {
        out.push_back({&service, &consumer});
      }
    }
  }
  return out;
}

ConsumerRef ConsumerOfQueue(const Scenario& scenario, std::string_view queue) {
  for (const Service& service : scenario.services) {
    for (const Consumer& consumer : service.consumers) {
      if (consumer.queue == queue) return {&service, &consumer};
    }
  }
  return {};
}

BrokerTopology BrokerTopologyOf(const Scenario& scenario) {
  BrokerTopology topology;
  ForEachCallOf(scenario, [&](const Call& call) {
    if (call.IsPublish()) AddDistinct(topology.exchanges, call.publish);
  });
  std::vector<std::string> queues;
  for (const Service& service : scenario.services) {
    for (const Consumer& consumer : service.consumers) {
      AddDistinct(topology.exchanges, consumer.exchange);
      AddDistinct(queues, consumer.queue);
      AddDistinct(queues, consumer.dead_letter);
      if (!consumer.exchange.empty()) {
        topology.bindings.push_back({consumer.exchange, consumer.binding_key, consumer.queue});
      }
    }
  }
  for (std::string& queue : queues) topology.queues.push_back({std::move(queue)});
  return topology;
}

bool UsesBroker(const Scenario& scenario) {
  bool uses = false;
  for (const Service& service : scenario.services) {
    if (!service.consumers.empty()) return true;
  }
  ForEachCallOf(scenario, [&](const Call& call) { uses = uses || call.IsPublish(); });
  return uses;
}

}  // namespace tracerig
