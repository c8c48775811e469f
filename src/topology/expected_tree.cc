// Expected call trees (see expected_tree.h): a walk over the scenario's call graph from one entry,
// deciding per request what the simulated services decide (decisions.h).
#include "topology/expected_tree.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <utility>

#include "topology/decisions.h"
#include "topology/messaging.h"

namespace tracerig {
namespace {

constexpr uint64_t kUnbounded = UINT64_MAX;
// Standard-normal quantile at 1 - 1e-9: how far out a distribution without a maximum is taken to
// reach (see CalleeWorstCaseNs), and the 0.99 quantile that lognormal p99s are given at.
constexpr double kZWorst = 5.998;
constexpr double kZ99 = 2.326;
// -ln(1e-9): the exponential distribution's 1 - 1e-9 quantile in units of its mean.
constexpr double kExpWorst = 20.723;
constexpr uint64_t kMinTimeoutSlackNs = 5'000'000;

uint64_t SaturatingAdd(uint64_t a, uint64_t b) { return a > kUnbounded - b ? kUnbounded : a + b; }

uint64_t SaturatingMul(uint64_t a, uint64_t b) {
  if (a == 0 || b == 0) return 0;
  return a > kUnbounded / b ? kUnbounded : a * b;
}

uint64_t ToWorstNanos(double ns) {
  return ns >= static_cast<double>(kUnbounded) ? kUnbounded : static_cast<uint64_t>(ns);
}

// The route's own latency at most, in practice (see CalleeWorstCaseNs).
uint64_t LatencyWorstCaseNs(const LatencyModel& m) {
  const auto a = static_cast<double>(m.a);
  const auto b = static_cast<double>(m.b);
  switch (m.kind) {
    case LatencyModel::Kind::kFixed:
      return m.a;
    case LatencyModel::Kind::kUniform:
      return std::max(m.a, m.b);
    case LatencyModel::Kind::kNormal:
      return ToWorstNanos(a + kZWorst * b);
    case LatencyModel::Kind::kLognormal:
      // As LatencyModel::Sample: sigma = ln(p99 / p50) / z99.
      if (m.a == 0 || m.b <= m.a) return m.a;
      return ToWorstNanos(a * std::pow(b / a, kZWorst / kZ99));
    case LatencyModel::Kind::kExponential:
      return ToWorstNanos(a * kExpWorst);
  }
  return kUnbounded;
}

// Worst cases of routes, memoised per builder (a tree asks for the same callees many times).
class WorstCases {
 public:
  explicit WorstCases(const Scenario& scenario) : scenario_(scenario) {
    for (const auto& s : scenario.services) max_depth_ += s.routes.size();
  }

  uint64_t RouteNs(std::string_view service_name, std::string_view route_name, size_t depth = 0) {
    const Service* service = scenario_.FindService(service_name);
    if (service == nullptr || service->IsExternal()) return kUnbounded;
    const Route* route = service->FindRoute(route_name);
    if (route == nullptr || depth > max_depth_) return kUnbounded;
    if (auto it = memo_.find(route); it != memo_.end()) return it->second;
    const uint64_t total =
        SaturatingAdd(LatencyWorstCaseNs(route->latency), StepsNs(route->calls, depth));
    memo_.emplace(route, total);
    return total;
  }

  // The calls of a route (or a consumer) in order, each step as long as it can be.
  uint64_t StepsNs(const std::vector<CallStep>& steps, size_t depth) {
    uint64_t total = 0;
    for (const CallStep& step : steps) {
      uint64_t longest = 0;
      for (const Call& call : step.calls) {
        const uint64_t worst = CallNs(call, depth);
        longest = step.parallel ? std::max(longest, worst) : SaturatingAdd(longest, worst);
      }
      total = SaturatingAdd(total, longest);
    }
    return total;
  }

  // One delivery to `consumer`, from its arrival: a batch waiting to fill, its processing and its
  // calls.
  uint64_t DeliveryNs(const Consumer& consumer) {
    uint64_t total =
        SaturatingAdd(LatencyWorstCaseNs(consumer.latency), StepsNs(consumer.calls, 0));
    if (consumer.IsBatch()) total = SaturatingAdd(total, consumer.batch.wait_ns);
    return total;
  }

  // All executions of `call`, every attempt made, each lasting as long as it can.
  uint64_t CallNs(const Call& call, size_t depth) {
    // A publish hands the message to the broker: the consumer's work is not the publisher's.
    if (call.probability <= 0 || call.IsPublish()) return 0;
    uint64_t attempt = RouteNs(call.service, call.route, depth + 1);
    if (call.timeout_ns > 0) attempt = std::min(attempt, call.timeout_ns);
    const uint64_t execution = SaturatingAdd(SaturatingMul(attempt, uint64_t{call.retries} + 1),
                                             SaturatingMul(call.retry_backoff_ns, call.retries));
    return SaturatingMul(execution, call.repeat);
  }

  bool MayTimeOut(const Call& call) {
    if (call.timeout_ns == 0 || call.IsPublish()) return false;
    return SaturatingAdd(RouteNs(call.service, call.route), TimeoutSlackNs(call.timeout_ns)) >=
           call.timeout_ns;
  }

 private:
  const Scenario& scenario_;
  size_t max_depth_ = 0;
  std::map<const Route*, uint64_t> memo_;
};

// Three-valued: what the tree knows about something timing may decide.
enum class Maybe { kNo, kMaybe, kYes };

Maybe And(Maybe a, Maybe b) {
  if (a == Maybe::kNo || b == Maybe::kNo) return Maybe::kNo;
  return a == Maybe::kYes && b == Maybe::kYes ? Maybe::kYes : Maybe::kMaybe;
}

Maybe Or(Maybe a, Maybe b) {
  if (a == Maybe::kYes || b == Maybe::kYes) return Maybe::kYes;
  return a == Maybe::kMaybe || b == Maybe::kMaybe ? Maybe::kMaybe : Maybe::kNo;
}

// Whether a debug flag the driver sends reaches the entry service: a format of the driver's that
// carries it (B3 single or multi, Jaeger) is one the entry service extracts.
bool DebugReachesEntry(const Scenario& scenario, const LoadEntry& entry) {
  const Service* service = scenario.FindService(entry.service);
  if (service == nullptr) return false;
  const std::vector<std::string>& sent = entry.inject ? *entry.inject : service->extract;
  for (const std::string& format : sent) {
    if (format != "b3" && format != "b3multi" && format != "jaeger") continue;
    if (std::find(service->extract.begin(), service->extract.end(), format) !=
        service->extract.end()) {
      return true;
    }
  }
  return false;
}

class TreeBuilder {
 public:
  // `sequence` is nullopt for the static tree (nothing random happens).
  TreeBuilder(const Scenario& scenario, std::optional<uint64_t> sequence)
      : scenario_(scenario), sequence_(sequence), worst_(scenario) {
    // A path in an acyclic call graph visits each route at most once, so it is no longer than
    // the number of routes and consumers; deeper means a cycle slipped past validation.
    for (const auto& s : scenario.services) max_depth_ += s.routes.size() + s.consumers.size();
  }

  ExpectedTree Build(const LoadEntry& entry) {
    // The driver exports its CLIENT span only for a sampled (or debug) request; unexported, the
    // spans a service records below it anyway hang from nothing (parent -1, parent_unexported).
    const bool root_exported = entry.sampled != EntrySampling::kNotSampled;
    int client = -1;
    if (root_exported) {
      ExpectedSpan root;
      root.hop = "0";
      root.service = std::string(kDriverServiceName);
      root.kind = SpanKind::kClient;
      root.name = entry.route;
      root.peer = entry.service;
      client = Add(std::move(root));
    }
    EdgeSpec edge{"0",          std::string(kDriverServiceName), entry.service, entry.route, client,
                  root_exported};
    if (entry.SendsContext()) {
      edge.parent_sampled = entry.sampled != EntrySampling::kNotSampled;
      // The scenario's intent: a debug request is recorded at every hop below. A hop that loses
      // the flag (W3C cannot carry it, debug-ignored) shows as missing spans.
      // Only when the driver sends it in a format that carries debug and the entry reads it
      // (otherwise it is sent as sampled=1, as the parser warns).
      edge.debug = entry.sampled == EntrySampling::kDebug && DebugReachesEntry(scenario_, entry);
    } else {
      // No context: the entry decides as a root and starts a trace of its own.
      edge.parent_sampled = std::nullopt;
      edge.starts_trace = true;
    }
    Edge(edge, 0);
    return std::move(tree_);
  }

 private:
  // One attempt of one call: who calls whom, under which span, and what timing may do to it.
  struct EdgeSpec {
    std::string hop;
    std::string caller;
    std::string callee;
    std::string route;
    int client = -1;  // the caller's CLIENT span, or its nearest exported ancestor
    bool client_exported = true;
    // The sampled flag the callee receives; nullopt: no context at all (it decides as a root).
    std::optional<bool> parent_sampled = true;
    bool optional = false;      // the attempt may not be made at all
    bool may_time_out = false;  // the caller may give up on it
    bool debug = false;         // the request carries debug: sampled whatever the policy
    bool starts_trace = false;  // the callee's SERVER span is the root of a trace of its own
  };

  int Add(ExpectedSpan span) {
    tree_.spans.push_back(std::move(span));
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

  bool Sampled(std::string_view hop, const Service& service,
               std::optional<bool> parent_sampled) const {
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
          return parent_sampled.value_or(p.ratio > 0);
      }
    }
    return SamplingDecision(Point(hop, service.name), service.sampling, parent_sampled);
  }

  // The SERVER span of the edge's callee route, under the caller's CLIENT span (or the nearest
  // exported ancestor when !client_exported), then its own calls. Returns whether the server
  // answers with a failure (5xx), which makes its caller retry: kMaybe when a timeout below it
  // may decide.
  Maybe Edge(const EdgeSpec& edge, size_t depth) {
    const Service* service = scenario_.FindService(edge.callee);
    const bool simulated = service != nullptr && !service->IsExternal();
    // An external service counts as parent-based (with no context: as a root sampling all).
    const bool sampled = simulated ? edge.debug || Sampled(edge.hop, *service, edge.parent_sampled)
                                   : edge.parent_sampled.value_or(true);
    // Given up on, the callee still finishes its work and exports its spans (late): they stay
    // required, so a lost one is still found (see "Timeouts" in the header).
    const bool optional = edge.optional;
    int anchor = edge.client;
    if (sampled) {
      ExpectedSpan server;
      server.hop = edge.hop;
      server.service = edge.callee;
      server.kind = SpanKind::kServer;
      server.name = edge.route;
      server.parent = edge.client;
      server.peer = edge.caller;
      server.parent_unexported = !edge.client_exported;
      server.optional = optional;
      server.may_outlive_parent = edge.may_time_out;
      server.external = service != nullptr && service->IsExternal();
      server.starts_trace = edge.starts_trace;
      server.debug = edge.debug;
      anchor = Add(std::move(server));
    } else if (simulated) {
      tree_.unsampled_visits.push_back(edge.callee);
    }
    if (service != nullptr && service->IsExternal()) {
      if (depth < max_depth_) ExternalCalls(edge, *service, sampled, anchor, depth);
      return Maybe::kNo;
    }
    const Route* route = simulated ? service->FindRoute(edge.route) : nullptr;
    if (route == nullptr || depth >= max_depth_) return Maybe::kNo;
    const Maybe call_failed =
        Calls(route->calls, Visit{edge.hop, edge.callee, anchor, sampled, optional, edge.debug},
              depth);
    if (Errors(edge.hop, edge.callee, *route)) {
      return AnswerFailsCall(service->protocol, route->error_status) ? Maybe::kYes : Maybe::kNo;
    }
    return call_failed;
  }

  // Where a service's calls are made from: its SERVER span of a route (or CONSUMER span of a
  // delivery) at `hop`, or, sampled out, the nearest exported ancestor `anchor`.
  struct Visit {
    std::string_view hop;
    std::string_view service;
    int anchor = -1;
    bool sampled = true;
    bool optional = false;
    bool debug = false;
  };

  // The calls of a route or consumer (`steps`), made by `v.service` at `v.hop`: each execution's
  // attempts with the callees below, each publish with its deliveries. Returns whether a call
  // failed after its last attempt (kMaybe when a timeout may decide).
  Maybe Calls(const std::vector<CallStep>& steps, const Visit& v, size_t depth) {
    size_t index = 0;
    Maybe call_failed = Maybe::kNo;
    for (const CallStep& step : steps) {
      for (const Call& call : step.calls) {
        const bool may_time_out = worst_.MayTimeOut(call);
        for (uint32_t execution = 0; execution < call.repeat; ++execution) {
          const std::string call_hop = ChildHop(v.hop, index++);
          if (!Happens(call_hop, v.service, call.probability)) continue;
          if (call.IsPublish()) {
            Publish(call, call_hop, v, depth);
            continue;
          }
          // Whether the next attempt is made: the first always, each later one when all before
          // it failed. After the last attempt: whether the execution failed.
          Maybe made = Maybe::kYes;
          for (uint32_t attempt = 0; made != Maybe::kNo && attempt <= call.retries; ++attempt) {
            const std::string attempt_hop = attempt == 0 ? call_hop : RetryHop(call_hop, attempt);
            const bool attempt_optional = v.optional || made == Maybe::kMaybe;
            int child_client = v.anchor;
            if (v.sampled) {
              ExpectedSpan client;
              client.hop = attempt_hop;
              client.service = std::string(v.service);
              client.kind = SpanKind::kClient;
              client.name = call.route;
              client.parent = v.anchor;
              client.peer = call.service;
              client.optional = attempt_optional;
              client.debug = v.debug;
              child_client = Add(std::move(client));
            }
            Maybe failed = Edge(EdgeSpec{attempt_hop, std::string(v.service), call.service,
                                         call.route, child_client, v.sampled, v.sampled,
                                         attempt_optional, may_time_out, v.debug},
                                depth + 1);
            // A timeout fails an attempt the callee would have answered well.
            if (may_time_out && failed == Maybe::kNo) failed = Maybe::kMaybe;
            made = And(made, failed);
          }
          call_failed = Or(call_failed, made);
        }
      }
    }
    return call_failed;
  }

  // A publish at `hop`: the publisher's PRODUCER span, then the deliveries of the consumer the
  // message reaches (messaging.h): the first at `hop`, a redelivery per failed processing (at
  // most `redeliveries`), then, when every delivery failed, the dead-letter queue's consumer.
  // Every delivery's CONSUMER span is a child of the PRODUCER span (the headers carry its
  // context unchanged). A publish never fails its publisher.
  void Publish(const Call& call, const std::string& hop, const Visit& v, size_t depth) {
    const std::vector<ConsumerRef> consumers = ConsumersOf(scenario_, call);
    const std::string destination = call.Destination();
    int producer = v.anchor;
    if (v.sampled) {
      ExpectedSpan span;
      span.hop = hop;
      span.service = std::string(v.service);
      span.kind = SpanKind::kProducer;
      span.name = "send " + destination;
      span.parent = v.anchor;
      span.peer = consumers.empty() ? std::string() : consumers.front().service->name;
      span.optional = v.optional;
      span.debug = v.debug;
      producer = Add(std::move(span));
    }
    const Message message{hop, v.service, destination, producer, v.sampled, v.debug};
    for (const ConsumerRef& ref : consumers) {
      Maybe made = Maybe::kYes;  // whether this delivery happens: every one before it failed
      for (uint32_t k = 0; made != Maybe::kNo && k <= ref.consumer->redeliveries; ++k) {
        const std::string at = k == 0 ? hop : RedeliveryHop(hop, k);
        made = And(made, Deliver(message, ref, at, ref.consumer->queue,
                                 v.optional || made == Maybe::kMaybe, depth));
      }
      if (made == Maybe::kNo || ref.consumer->dead_letter.empty()) continue;
      const ConsumerRef dead = ConsumerOfQueue(scenario_, ref.consumer->dead_letter);
      if (dead.consumer == nullptr) continue;  // dropped: nobody reads the dead-letter queue
      // The dead-letter queue's consumer processes the message once: its failures end there.
      Deliver(message, dead, DeadLetterHop(hop), ref.consumer->dead_letter,
              v.optional || made == Maybe::kMaybe, depth);
    }
  }

  // The message of one publish, as its deliveries see it.
  struct Message {
    std::string_view hop;        // the publish's hop
    std::string_view publisher;  // the publishing service
    std::string_view destination;
    int producer = -1;  // the PRODUCER span, or the nearest exported ancestor when !sampled
    bool sampled = true;  // the sampled flag in the headers (the publisher's decision)
    bool debug = false;
  };

  // One delivery of `message` to `ref`'s consumer at hop `at`, read from `queue`: its CONSUMER
  // span, then (a single-message consumer) its calls. Returns whether its processing fails.
  Maybe Deliver(const Message& message, const ConsumerRef& ref, const std::string& at,
                const std::string& queue, bool optional, size_t depth) {
    const Service& service = *ref.service;
    const Consumer& consumer = *ref.consumer;
    tree_.async_settle_ns = SaturatingAdd(tree_.async_settle_ns, worst_.DeliveryNs(consumer));
    // A batch span is a root of its own trace, sampled at the batch's own decision: never by the
    // message's flag, so it is no sampled-out visit of this request (its spans are not in this
    // request's trace whatever the flag says).
    const bool sampled =
        consumer.IsBatch() || message.debug || Sampled(at, service, message.sampled);
    int anchor = message.producer;
    if (sampled) {
      ExpectedSpan span;
      span.hop = at;
      span.service = service.name;
      span.kind = SpanKind::kConsumer;
      span.name = "process " + std::string(message.destination);
      span.parent = message.producer;
      span.peer = std::string(message.publisher);
      span.parent_unexported = !message.sampled;
      span.optional = optional;
      span.debug = message.debug;
      span.queue = queue;
      span.linked = consumer.IsBatch();
      anchor = Add(std::move(span));
    } else {
      tree_.unsampled_visits.push_back(service.name);
    }
    // A batch's calls run under the batch span, in a trace of its own: not this request's.
    if (!consumer.IsBatch() && depth + 1 < max_depth_) {
      Calls(consumer.calls, Visit{at, service.name, anchor, sampled, optional, message.debug},
            depth + 1);
    }
    return ConsumerFails(at, service.name, consumer.error_rate);
  }

  // Per request: the seeded decision. The tree without random decisions knows only that an
  // error rate of 1 always fails and one above 0 may.
  Maybe ConsumerFails(std::string_view hop, std::string_view service, double error_rate) const {
    if (!sequence_) {
      if (error_rate >= 1) return Maybe::kYes;
      return error_rate > 0 ? Maybe::kMaybe : Maybe::kNo;
    }
    return RouteErrors(Point(hop, service), error_rate) ? Maybe::kYes : Maybe::kNo;
  }

  // The calls an external service's route declares: the real service makes each once (no
  // probability, retries or timeouts of tracerig's), so each is a SERVER span of the callee under
  // the real service's SERVER span (`anchor`), with the callee's own calls below it.
  void ExternalCalls(const EdgeSpec& edge, const Service& service, bool sampled, int anchor,
                     size_t depth) {
    const Route* route = service.FindRoute(edge.route);
    if (route == nullptr) return;
    size_t index = 0;
    for (const CallStep& step : route->calls) {
      for (const Call& call : step.calls) {
        for (uint32_t execution = 0; execution < call.repeat; ++execution) {
          const std::string call_hop = ChildHop(edge.hop, index++);
          if (call.IsPublish()) continue;  // a real service's message carries no ground truth
          const size_t first = tree_.spans.size();
          Edge(EdgeSpec{call_hop, service.name, call.service, call.route, anchor, sampled, sampled,
                        edge.optional, false, edge.debug},
               depth + 1);
          // The callee's SERVER span, when its visit was sampled, is the first span added.
          if (tree_.spans.size() > first && tree_.spans[first].hop == call_hop &&
              tree_.spans[first].kind == SpanKind::kServer) {
            tree_.spans[first].parent_external = true;
          }
        }
      }
    }
  }

  const Scenario& scenario_;
  std::optional<uint64_t> sequence_;
  WorstCases worst_;
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
  // An entry the driver sends no context decides as a root: parent-based(R) draws on R.
  for (const LoadEntry& entry : scenario.load.entries) {
    if (entry.SendsContext()) continue;
    const Service* service = scenario.FindService(entry.service);
    if (service != nullptr && !service->IsExternal() &&
        service->sampling.kind == SamplingPolicy::Kind::kParentBased &&
        StrictlyBetween0And1(service->sampling.ratio)) {
      return true;
    }
  }
  for (const Service& service : scenario.services) {
    if (service.sampling.kind == SamplingPolicy::Kind::kRatio &&
        StrictlyBetween0And1(service.sampling.ratio)) {
      return true;
    }
    auto calls_vary = [&](const std::vector<CallStep>& steps) {
      for (const CallStep& step : steps) {
        for (const Call& call : step.calls) {
          if (StrictlyBetween0And1(call.probability)) return true;
          retries = retries || call.retries > 0;
        }
      }
      return false;
    };
    for (const Route& route : service.routes) {
      errors = errors || route.error_rate > 0;
      if (calls_vary(route.calls)) return true;
    }
    for (const Consumer& consumer : service.consumers) {
      if (calls_vary(consumer.calls)) return true;
      // A failed delivery is redelivered or dead-lettered: a later hop the tree may or may not hold.
      if (StrictlyBetween0And1(consumer.error_rate) &&
          (consumer.redeliveries > 0 || !consumer.dead_letter.empty())) {
        return true;
      }
    }
  }
  return retries && errors;
}

size_t RequiredSpanCount(const ExpectedTree& tree) {
  return static_cast<size_t>(std::count_if(tree.spans.begin(), tree.spans.end(),
                                           [](const ExpectedSpan& s) {
                                             return !s.optional && !s.linked;
                                           }));
}

uint64_t CalleeWorstCaseNs(const Scenario& scenario, std::string_view service_name,
                           std::string_view route_name) {
  return WorstCases(scenario).RouteNs(service_name, route_name);
}

uint64_t TimeoutSlackNs(uint64_t timeout_ns) {
  return std::max(kMinTimeoutSlackNs, timeout_ns / 10);
}

bool CallMayTimeOut(const Scenario& scenario, const Call& call) {
  return WorstCases(scenario).MayTimeOut(call);
}

std::string ChildHop(std::string_view hop, size_t index) {
  return fmt::format("{}.{}", hop, index);
}

std::string RetryHop(std::string_view hop, uint32_t retry) {
  return fmt::format("{}r{}", hop, retry);
}

std::string RedeliveryHop(std::string_view hop, uint32_t redelivery) {
  return fmt::format("{}d{}", hop, redelivery);
}

std::string DeadLetterHop(std::string_view hop) { return fmt::format("{}q", hop); }

}  // namespace tracerig
