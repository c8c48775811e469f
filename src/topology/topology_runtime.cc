// The simulated-services runtime: starts every service of a scenario (its replicas spread over
// one io_context per thread), connects them, stops them and sums their counters.
#include "topology/topology_runtime.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "broker/broker_factory.h"
#include "net/address.h"
#include "propagation/registry.h"
#include "topology/messaging.h"
#include "topology/runtime_internal.h"

namespace tracerig {

size_t ReplicasPerHttpService(const Scenario& scenario, size_t threads, size_t replicas) {
  threads = std::max<size_t>(1, threads);
  if (replicas != 0) return std::min(replicas, threads);
  size_t http = 0;
  for (const Service& service : scenario.services) {
    if (!service.IsExternal() && service.protocol == Protocol::kHttp) ++http;
  }
  return http == 0 ? 1 : (threads + http - 1) / http;
}

TopologyRuntime::TopologyRuntime(const Scenario& scenario, SpanSink& sink, const Clock& clock,
                                 TopologyOptions options)
    : scenario_(scenario),
      sink_(sink),
      clock_(clock),
      options_(options),
      wire_log_(options.wire_log_capacity == 0 ? WireLog::kDefaultCapacity
                                               : options.wire_log_capacity) {}

TopologyRuntime::~TopologyRuntime() { Stop(); }

Status TopologyRuntime::Start() {
  if (AllFaultKinds().size() != kFaultKindCount) {
    return MakeError("internal: kFaultKindCount does not match FaultKind");
  }
  if (auto s = StartBroker(); !s) return s;
  const size_t threads = std::max<size_t>(1, options_.threads);
  for (size_t i = 0; i < threads; ++i) {
    contexts_.push_back(std::make_unique<asio::io_context>(1));
    guards_.emplace_back(asio::make_work_guard(*contexts_.back()));
  }
  std::map<std::string, tcp::endpoint, std::less<>> endpoints;
  std::map<std::string, ServiceTarget, std::less<>> externals;
  const size_t replicas_each = ReplicasPerHttpService(scenario_, threads, options_.replicas);
  // Replicas go round the threads in order: with one replica per service, service i runs on
  // thread i % threads.
  size_t next_thread = 0;
  for (const Service& service : scenario_.services) {
    if (service.IsExternal()) {
      // Not simulated: callers connect to its URL (TLS for https://).
      auto target = ResolveExternalTarget(service);
      if (!target) return target.error();
      endpoints[service.name] = target->endpoint;
      externals.emplace(service.name, std::move(*target));
      continue;
    }
    const size_t replicas = service.protocol == Protocol::kGrpc ? 1 : replicas_each;
    std::optional<tcp::endpoint> primary;  // replica 0's, once bound
    for (size_t replica = 0; replica < replicas; ++replica) {
      auto propagator = MakePropagator(service.extract);
      if (!propagator) {
        return MakeError(
            fmt::format("service \"{}\": {}", service.name, propagator.error().message));
      }
      auto injector = MakePropagator(service.Injects());
      if (!injector) {
        return MakeError(
            fmt::format("service \"{}\": inject: {}", service.name, injector.error().message));
      }
      auto simulated_service = std::make_unique<SimulatedService>(
          scenario_, service, replica, replicas, *contexts_[next_thread++ % threads], sink_, clock_,
          options_.id_seed, std::move(*propagator), std::move(*injector), options_.client,
          external_in_flight_, wire_log_);
      if (auto s = simulated_service->PrepareFaults(); !s) return s;
      simulated_service->AttachBroker(broker_, &batch_log_);
      if (auto s = simulated_service->Listen(primary); !s) return s;
      if (!primary) primary = simulated_service->endpoint();
      services_.push_back(std::move(simulated_service));
    }
    endpoints[service.name] = *primary;
    endpoints_.push_back(*primary);
    running_.push_back(
        {service.name, ServiceEndpoint(primary->address().to_string(), primary->port()),
         fmt::format("{}://{}", service.protocol == Protocol::kGrpc ? "grpc" : "http",
                     HostPort{primary->address().to_string(), primary->port()}.ToString())});
  }
  for (auto& service : services_) service->ConnectPeers(endpoints, externals);
  // Before the loops run: a delivery posted meanwhile waits for its service's loop, which then
  // finds the subscription in place to ack it. One subscriber per service (its replica 0).
  if (broker_ != nullptr) {
    std::string subscribed;
    for (auto& service : services_) {
      if (service->name() == subscribed) continue;
      subscribed = service->name();
      if (auto s = service->Subscribe(); !s) return s;
    }
  }
  for (auto& context : contexts_) {
    threads_.emplace_back([ctx = context.get()] { ctx->run(); });
  }
  started_ = true;
  return Ok{};
}

void TopologyRuntime::Stop() {
  if (!started_) return;
  started_ = false;
  for (auto& service : services_) service->StopConsumers();
  for (auto& service : services_) service->Stop();
  for (auto& guard : guards_) guard.reset();
  // Open keep-alive connections would keep run() going: stop the loops once servers have closed.
  for (auto& context : contexts_) context->stop();
  for (auto& thread : threads_) thread.join();
  threads_.clear();
  for (auto& service : services_) service->FinishStop();
  if (broker_ != nullptr) broker_->Close();
}

Status TopologyRuntime::StartBroker() {
  if (!UsesBroker(scenario_)) return Ok{};
  const std::string& url = scenario_.broker.url;
  const std::string named = url.empty() ? std::string("embedded broker") : "broker " + url;
  if (options_.broker != nullptr) {
    broker_ = options_.broker;
  } else {
    auto made = MakeBroker(url);
    if (!made) {
      // It names the URL; "broker unreachable" is what the CLI's exit 3 says.
      if (made.error().code != ErrorCode::kUnavailable) return made.error();
      return MakeError(ErrorCode::kUnavailable, "broker unreachable: " + made.error().message);
    }
    if (*made == nullptr) return MakeError(ErrorCode::kInternal, named + " is not built");
    owned_broker_ = std::move(*made);
    broker_ = owned_broker_.get();
  }
  if (auto s = broker_->Declare(BrokerTopologyOf(scenario_)); !s) {
    ErrorCode code = s.error().code;
    code = code == ErrorCode::kUnknown ? ErrorCode::kUnavailable : code;
    return MakeError(
        code, fmt::format("{}{}: declaring the scenario's exchanges and queues: {}",
                          code == ErrorCode::kUnavailable ? "broker unreachable: " : "", named,
                          s.error().message));
  }
  return Ok{};
}

std::optional<tcp::endpoint> TopologyRuntime::EndpointOf(std::string_view service) const {
  for (size_t i = 0; i < running_.size(); ++i) {
    if (running_[i].name == service) return endpoints_[i];
  }
  return std::nullopt;
}

namespace {

void Add(TopologyStats& total, const TopologyStats& s) {
  total.requests += s.requests;
  total.unknown_route += s.unknown_route;
  total.spans_recorded += s.spans_recorded;
  total.spans_unsampled += s.spans_unsampled;
  total.call_failures += s.call_failures;
  total.route_errors += s.route_errors;
  total.calls_skipped += s.calls_skipped;
  total.retries += s.retries;
  total.timeouts += s.timeouts;
  total.spans_dropped += s.spans_dropped;
  total.spans_delayed += s.spans_delayed;
  total.messages_published += s.messages_published;
  total.publish_failures += s.publish_failures;
  total.messages_consumed += s.messages_consumed;
  total.messages_redelivered += s.messages_redelivered;
  total.messages_dead_lettered += s.messages_dead_lettered;
  total.batches += s.batches;
  for (size_t i = 0; i < kFaultKindCount; ++i) total.faults_applied[i] += s.faults_applied[i];
}

}  // namespace

uint64_t TopologyRuntime::MessagesOutstanding() const {
  if (broker_ == nullptr) return 0;
  // Acks first: a delivery is acked after its redelivery is handed over, so reading the acks
  // before the hand-overs never sees a message neither counts.
  uint64_t acked = 0;
  for (const auto& service : services_) acked += service->messages_acked();
  uint64_t handed_over = 0;
  for (const auto& service : services_) handed_over += service->messages_handed_over();
  acked += broker_->stats().unroutable;
  return handed_over > acked ? handed_over - acked : 0;
}

TopologyStats TopologyRuntime::stats() const {
  TopologyStats total;
  for (const auto& service : services_) Add(total, service->stats());
  if (broker_ != nullptr) total.messages_unroutable = broker_->stats().unroutable;
  return total;
}

std::vector<TopologyStats> TopologyRuntime::ReplicaStats(std::string_view service) const {
  std::vector<TopologyStats> replicas;
  for (const auto& s : services_) {
    if (s->name() == service) replicas.push_back(s->stats());
  }
  return replicas;
}

}  // namespace tracerig
