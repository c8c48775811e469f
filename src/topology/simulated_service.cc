// A simulated service's set-up and tear-down: its server, its faults, its bound address, its
// connections to callees, stopping, and its counters.
#include <fmt/format.h>

#include <algorithm>
#include <array>

#include "net/address.h"
#include "net/resolve.h"
#include "propagation/b3.h"
#include "propagation/b3multi.h"
#include "propagation/baggage.h"
#include "propagation/jaeger.h"
#include "propagation/registry.h"
#include "propagation/w3c.h"
#include "topology/ground_truth.h"
#include "topology/messaging.h"
#include "topology/runtime_internal.h"

namespace tracerig {
namespace {

// The header fields a format's context travels in (what `forward` copies).
struct FormatHeaders {
  std::string_view format;
  std::array<std::string_view, 5> headers;  // empty names past the end
};
constexpr std::array kFormatHeaders = {
    FormatHeaders{"tracecontext", {kTraceparentHeader, kTracestateHeader}},
    FormatHeaders{"b3", {kB3Header}},
    FormatHeaders{"b3multi",
                  {kB3TraceIdHeader, kB3SpanIdHeader, kB3ParentSpanIdHeader, kB3SampledHeader,
                   kB3FlagsHeader}},
    FormatHeaders{"jaeger", {kUberTraceIdHeader}},
    FormatHeaders{"baggage", {kBaggageHeader}},
};

}  // namespace

using SimulatedService = TopologyRuntime::SimulatedService;

SimulatedService::SimulatedService(const Scenario& scenario, const Service& service, size_t replica,
                                   size_t replicas, asio::io_context& ioc, SpanSink& sink,
                                   const Clock& clock, uint64_t id_seed,
                                   std::unique_ptr<Propagator> extractor,
                                   std::unique_ptr<Propagator> injector,
                                   HttpClientOptions client_options,
                                   ExternalInFlight& external_in_flight, WireLog& wire_log)
    : scenario_(scenario),
      service_(service),
      replica_(replica),
      ioc_(ioc),
      sink_(sink),
      clock_(clock),
      id_rng_(IdSeed(id_seed, service.name, replica)),
      propagator_(std::move(extractor)),
      injector_(std::move(injector)),
      client_options_(client_options),
      wire_log_(wire_log),
      external_in_flight_(external_in_flight) {
  for (const std::string& format : service_.forward) {
    for (const FormatHeaders& known : kFormatHeaders) {
      if (known.format != format) continue;
      for (std::string_view header : known.headers) {
        if (!header.empty()) forward_headers_.push_back(header);
      }
    }
  }
  for (const auto& route : service_.routes) {
    if (!ExternalCallersOf(scenario_, service_.name, route.name).empty()) {
      called_by_external_.push_back(&route);
    }
  }
  if (grpc()) {
    grpc_server_ =
        std::make_unique<GrpcSimServer>(ioc, [this](GrpcInbound inbound, GrpcRespond respond) {
          HandleGrpc(std::move(inbound), std::move(respond));
        });
    for (const auto& route : service_.routes) grpc_routes_.emplace(route.name, &route);
    return;
  }
  HttpServerOptions server_options;
  server_options.reuse_port = replicas > 1;
  http_server_ = std::make_unique<HttpServer>(
      ioc,
      [this](HttpRequest&& request, HttpResponder respond) {
        HandleHttp(std::move(request), std::move(respond));
      },
      std::move(server_options));
  for (const auto& route : service_.routes) {
    auto target = RouteToHttp(route.name);
    routes_[target.path].push_back(PreparedRoute{&route, std::string(target.method), target.path});
  }
}

Status SimulatedService::PrepareFaults() {
  for (size_t i = 0; i < scenario_.faults.size(); ++i) {
    const Fault& fault = scenario_.faults[i];
    if (fault.service != service_.name) continue;
    ServiceFault prepared{i, &fault, nullptr};
    if (fault.kind == FaultKind::kWrongFormat) {
      auto propagator = MakePropagator({fault.format});
      if (!propagator) {
        return MakeError(fmt::format("service \"{}\": wrong-format fault: {}", service_.name,
                                     propagator.error().message));
      }
      prepared.wrong_format = std::move(*propagator);
    }
    faults_.push_back(std::move(prepared));
  }
  const bool by_format = std::any_of(faults_.begin(), faults_.end(), [](const ServiceFault& f) {
    return !f.fault->when.format.empty();
  });
  if (!by_format) return Ok{};
  // In the order the service's extractor tries them: B3's single header before b3multi wherever
  // either is listed (MakePropagator's rule).
  std::vector<std::string_view> order(service_.extract.begin(), service_.extract.end());
  auto single = std::find(order.begin(), order.end(), "b3");
  auto multi = std::find(order.begin(), order.end(), "b3multi");
  if (single != order.end() && multi != order.end() && multi < single)
    std::iter_swap(single, multi);
  for (std::string_view format : order) {
    auto reader = MakePropagator({std::string(format)});
    if (!reader) {
      return MakeError(fmt::format("service \"{}\": {}", service_.name, reader.error().message));
    }
    format_readers_.emplace_back(format, std::move(*reader));
  }
  return Ok{};
}

Status SimulatedService::Listen(const std::optional<tcp::endpoint>& primary) {
  if (primary) {
    if (auto s = http_server_->Join(*primary); !s) {
      return MakeError(fmt::format("service \"{}\" (replica {}): {}", service_.name, replica_,
                                   s.error().message));
    }
    endpoint_ = *primary;
    address_ = endpoint_.address().to_string();
    port_ = endpoint_.port();
    return Ok{};
  }
  auto address = ParseHostPort(service_.listen);
  if (!address) {
    return MakeError(fmt::format("service \"{}\": {}", service_.name, address.error().message));
  }
  auto endpoint = ResolveEndpoint(*address);
  if (!endpoint) {
    return MakeError(fmt::format("service \"{}\": {}", service_.name, endpoint.error().message));
  }
  if (grpc()) {
    // Listen on the resolved address, so a host name binds where HTTP services would.
    const HostPort bind{endpoint->address().to_string(), address->port};
    if (auto s = grpc_server_->Listen(bind.ToString()); !s) {
      return MakeError(fmt::format("service \"{}\": {}", service_.name, s.error().message));
    }
    endpoint_ = tcp::endpoint(endpoint->address(), grpc_server_->port());
  } else {
    if (auto s = http_server_->Listen(*endpoint); !s) {
      return MakeError(fmt::format("service \"{}\": {}", service_.name, s.error().message));
    }
    endpoint_ = http_server_->local_endpoint();
  }
  address_ = endpoint_.address().to_string();
  port_ = endpoint_.port();
  return Ok{};
}

void SimulatedService::ConnectPeers(
    const std::map<std::string, tcp::endpoint, std::less<>>& endpoints,
    const std::map<std::string, ServiceTarget, std::less<>>& externals) {
  // The calls of routes and of consumers, prepared alike.
  std::vector<const std::vector<CallStep>*> all_steps;
  for (const auto& route : service_.routes) all_steps.push_back(&route.calls);
  for (const auto& consumer : service_.consumers) all_steps.push_back(&consumer.calls);
  for (const auto* steps : all_steps) {
    for (const auto& step : *steps) {
      for (const auto& call : step.calls) {
        PreparedCall& prepared = calls_[&call];
        if (call.IsPublish()) {
          const std::vector<ConsumerRef> consumers = ConsumersOf(scenario_, call);
          if (!consumers.empty()) prepared.consumer_service = consumers.front().service->name;
          continue;
        }
        const Service* callee = scenario_.FindService(call.service);
        prepared.grpc = callee != nullptr && callee->protocol == Protocol::kGrpc;
        prepared.external = callee != nullptr && callee->IsExternal();
        auto target = RouteToHttp(call.route);
        prepared.method = std::string(target.method);
        prepared.verb = http::string_to_verb(prepared.method);
        prepared.path = target.path;
        auto it = endpoints.find(call.service);
        if (it == endpoints.end()) continue;  // validation guarantees it exists
        prepared.address = it->second.address().to_string();
        prepared.port = it->second.port();
        auto external = externals.find(call.service);
        const ServiceTarget* real = external == externals.end() ? nullptr : &external->second;
        if (prepared.grpc) {
          if (real != nullptr) {
            if (auto method = FullGrpcMethod(call.route)) prepared.full_method = method->path;
          }
          auto& client = grpc_clients_[call.service];
          if (!client) {
            client = std::make_unique<GrpcSimClient>(
                ioc_, HostPort{prepared.address, it->second.port()}.ToString(),
                real != nullptr ? real->grpc_tls.get() : nullptr);
          }
          prepared.client = client.get();
          continue;
        }
        auto& pool = pools_[call.service];
        if (!pool) {
          HttpClientOptions options = client_options_;
          if (real != nullptr && real->tls) {
            options.tls = real->tls_context;
            options.tls_host = real->host;
          }
          pool = std::make_unique<HttpClientPool>(ioc_, it->second, options);
        }
        prepared.pool = pool.get();
        if (real != nullptr) {
          prepared.host_header = real->authority;
          prepared.path = real->url_path + target.path;
          prepared.url_full = real->base_url + target.path;
        } else {
          prepared.url_full =
              fmt::format("http://{}:{}{}", prepared.address, prepared.port, target.path);
        }
      }
    }
  }
}

void SimulatedService::Stop() {
  // GrpcSimServer::Stop is safe from any thread and must not wait for the loop (it may be
  // stopped right after this); HttpServer::Stop belongs on the loop's thread.
  if (grpc_server_) grpc_server_->Stop();
  if (http_server_) asio::post(ioc_, [this] { http_server_->Stop(); });
}

void SimulatedService::FinishStop() {
  if (http_server_) http_server_->Stop();
  for (auto& delayed : delayed_) sink_.Submit(std::move(delayed.span));
  delayed_.clear();
}

TopologyStats SimulatedService::stats() const {
  TopologyStats s;
  s.requests = requests_.load();
  s.unknown_route = unknown_route_.load();
  s.spans_recorded = spans_recorded_.load();
  s.spans_unsampled = spans_unsampled_.load();
  s.call_failures = call_failures_.load();
  s.route_errors = route_errors_.load();
  s.calls_skipped = calls_skipped_.load();
  s.retries = retries_.load();
  s.timeouts = timeouts_.load();
  s.spans_dropped = spans_dropped_.load();
  s.spans_delayed = spans_delayed_.load();
  s.messages_published = messages_published_.load();
  s.publish_failures = publish_failures_.load();
  s.messages_consumed = messages_consumed_.load();
  s.messages_redelivered = messages_redelivered_.load();
  s.messages_dead_lettered = messages_dead_lettered_.load();
  s.batches = batches_.load();
  for (size_t i = 0; i < kFaultKindCount; ++i) s.faults_applied[i] = faults_applied_[i].load();
  return s;
}

uint64_t SimulatedService::IdSeed(uint64_t id_seed, std::string_view service, size_t replica) {
  const uint64_t seed = Rng::Mix(id_seed, Fnv1a(service));
  return replica == 0 ? seed : Rng::Mix(seed, replica);
}

}  // namespace tracerig
