#include "topology/service_runtime.h"

#include <charconv>

#include <fmt/format.h>

#include "core/ledger.h"
#include "core/rng.h"
#include "net/address.h"
#include "net/beast_carrier.h"
#include "net/http_server.h"
#include "propagation/registry.h"
#include "topology/ground_truth.h"

namespace tracerig {
namespace {

// Stable across platforms and runs (std::hash is not), so the same seed gives the same decisions.
uint64_t Fnv1a(std::string_view s, uint64_t h = 0xcbf29ce484222325ull) {
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return h;
}

// Sets key to value, replacing a value the scenario already gave (semantic-convention attributes
// are the runtime's to set).
void SetAttribute(std::vector<Attribute>& attributes, std::string_view key, AttributeValue value) {
  for (auto& a : attributes) {
    if (a.key == key) {
      a.value = std::move(value);
      return;
    }
  }
  attributes.push_back({std::string(key), std::move(value)});
}

std::string_view HeaderValue(const HttpRequest& request, std::string_view name) {
  auto it = request.find(boost::beast::string_view(name.data(), name.size()));
  if (it == request.end()) return {};
  return {it->value().data(), it->value().size()};
}

}  // namespace

class TopologyRuntime::SimulatedService {
 public:
  SimulatedService(const Scenario& scenario, const Service& service, asio::io_context& ioc,
                   SpanSink& sink, const Clock& clock, uint64_t id_seed,
                   std::unique_ptr<Propagator> propagator, HttpClientOptions client_options)
      : scenario_(scenario),
        service_(service),
        ioc_(ioc),
        sink_(sink),
        clock_(clock),
        id_rng_(Rng::Mix(id_seed, Fnv1a(service.name))),
        propagator_(std::move(propagator)),
        client_options_(client_options),
        server_(ioc, [this](HttpRequest&& request, HttpResponder respond) {
          Handle(std::move(request), std::move(respond));
        }) {
    for (const auto& route : service_.routes) {
      auto target = RouteToHttp(route.name);
      routes_[fmt::format("{} {}", target.method, target.path)] = &route;
    }
    for (const auto& fault : scenario_.faults) {
      if (fault.service == service_.name && fault.kind == FaultKind::kDropContext) {
        drop_context_probability_ = std::max(drop_context_probability_, fault.probability);
      }
    }
  }

  Status Listen() {
    auto address = ParseHostPort(service_.listen);
    if (!address) {
      return MakeError(fmt::format("service \"{}\": {}", service_.name, address.error().message));
    }
    auto endpoint = ResolveEndpoint(*address);
    if (!endpoint) {
      return MakeError(fmt::format("service \"{}\": {}", service_.name, endpoint.error().message));
    }
    if (auto s = server_.Listen(*endpoint); !s) {
      return MakeError(fmt::format("service \"{}\": {}", service_.name, s.error().message));
    }
    return Ok{};
  }

  tcp::endpoint endpoint() const { return server_.local_endpoint(); }
  const std::string& name() const { return service_.name; }

  void ConnectPeers(const std::map<std::string, tcp::endpoint, std::less<>>& endpoints) {
    for (const auto& route : service_.routes) {
      for (const auto& step : route.calls) {
        for (const auto& call : step.calls) {
          if (pools_.count(call.service)) continue;
          auto it = endpoints.find(call.service);
          if (it == endpoints.end()) continue;  // validation guarantees it exists
          pools_[call.service] = std::make_unique<HttpClientPool>(ioc_, it->second, client_options_);
        }
      }
    }
  }

  void Stop() {
    asio::post(ioc_, [this] { server_.Stop(); });
  }

  TopologyStats stats() const {
    TopologyStats s;
    s.requests = requests_.load();
    s.unknown_route = unknown_route_.load();
    s.spans_recorded = spans_recorded_.load();
    s.spans_unsampled = spans_unsampled_.load();
    s.call_failures = call_failures_.load();
    return s;
  }

 private:
  // State of one request being handled; lives until the response is sent.
  struct InFlight {
    InFlight(asio::io_context& ioc, uint64_t seed) : timer(ioc), rng(seed) {}
    const Route* route = nullptr;
    Span server;
    HttpResponder respond;
    unsigned request_version = 11;
    bool keep_alive = true;
    asio::steady_timer timer;
    Rng rng;
    std::string request_id;  // as received (hex)
    std::string sequence;    // as received (decimal)
    std::string hop;
    std::string baggage;  // as extracted, passed on unchanged
    bool drop_context = false;
    size_t step = 0;
    size_t next_call_index = 0;
    size_t pending = 0;
    bool call_failed = false;
  };

  void Handle(HttpRequest&& request, HttpResponder respond) {
    std::string key = fmt::format("{} {}", std::string_view(request.method_string().data(),
                                                            request.method_string().size()),
                                  std::string_view(request.target().data(), request.target().size()));
    size_t query = key.find('?');
    if (query != std::string::npos) key.resize(query);
    auto route_it = routes_.find(key);
    if (route_it == routes_.end()) {
      unknown_route_++;
      respond(MakeResponse(request, http::status::not_found, "text/plain",
                           fmt::format("service \"{}\" has no route \"{}\"\n", service_.name, key)));
      return;
    }
    requests_++;
    const uint64_t now = clock_.NowUnixNano();

    std::string request_id(HeaderValue(request, kRequestIdHeader));
    std::string sequence(HeaderValue(request, kSequenceHeader));
    std::string hop(HeaderValue(request, kHopHeader));
    uint64_t seq = 0;
    std::from_chars(sequence.data(), sequence.data() + sequence.size(), seq);

    // Decisions for this request derive from the scenario seed, the request number and the hop,
    // so the same file and seed reproduce the same call tree.
    uint64_t decision_seed = Rng::Mix(Rng::Mix(scenario_.seed, seq), Fnv1a(hop, Fnv1a(service_.name)));
    auto state = std::make_shared<InFlight>(ioc_, decision_seed);
    state->route = route_it->second;
    state->respond = std::move(respond);
    state->request_version = request.version();
    state->keep_alive = request.keep_alive();
    state->request_id = std::move(request_id);
    state->sequence = std::move(sequence);
    state->hop = std::move(hop);

    SpanContext parent = propagator_->Extract(BeastHeaderReader<true>(request));
    state->baggage = parent.baggage;
    Span& span = state->server;
    span.service_name = service_.name;
    span.resource_attributes = service_.resource;
    span.name = state->route->name;
    span.kind = SpanKind::kServer;
    span.start_unix_nano = now;
    span.span_id = SpanId{id_rng_.NextNonZero()};
    if (parent.IsValid()) {
      span.trace_id = parent.trace_id;
      span.parent_span_id = parent.span_id;
      span.trace_state = parent.trace_state;
      span.flags = parent.trace_flags & 0x01;  // parent-based sampling
    } else {
      span.trace_id = TraceId{id_rng_.NextNonZero(), id_rng_.Next()};
      span.flags = 0x01;
    }
    auto target = RouteToHttp(state->route->name);
    span.attributes = state->route->attributes;
    SetAttribute(span.attributes, "http.request.method", std::string(target.method));
    SetAttribute(span.attributes, "url.path", target.path);
    SetAttribute(span.attributes, kRequestIdAttribute, state->request_id);
    SetAttribute(span.attributes, kHopAttribute, state->hop);

    state->drop_context =
        drop_context_probability_ > 0 && state->rng.NextDouble() < drop_context_probability_;
    uint64_t latency = state->route->latency.Sample(state->rng);
    state->timer.expires_after(std::chrono::nanoseconds(latency));
    state->timer.async_wait([this, state](beast::error_code) { RunStep(state); });
  }

  void RunStep(const std::shared_ptr<InFlight>& state) {
    const auto& steps = state->route->calls;
    if (state->step >= steps.size()) {
      Finish(state);
      return;
    }
    const CallStep& step = steps[state->step++];
    state->pending = step.calls.size();
    for (const Call& call : step.calls) {
      MakeCall(state, call, state->next_call_index++);
    }
  }

  void MakeCall(const std::shared_ptr<InFlight>& state, const Call& call, size_t index) {
    auto pool_it = pools_.find(call.service);
    auto target = RouteToHttp(call.route);
    Span client;
    client.trace_id = state->server.trace_id;
    client.span_id = SpanId{id_rng_.NextNonZero()};
    client.parent_span_id = state->server.span_id;
    client.trace_state = state->server.trace_state;
    client.flags = state->server.flags;
    client.name = call.route;
    client.kind = SpanKind::kClient;
    client.service_name = service_.name;
    client.resource_attributes = service_.resource;
    client.start_unix_nano = clock_.NowUnixNano();
    std::string hop = fmt::format("{}.{}", state->hop, index);
    client.attributes.push_back({"http.request.method", std::string(target.method)});
    client.attributes.push_back({"peer.service", call.service});
    client.attributes.push_back({std::string(kRequestIdAttribute), state->request_id});
    client.attributes.push_back({std::string(kHopAttribute), hop});

    HttpRequest request{target.method == "GET" ? http::verb::get : http::string_to_verb(
                                                                      std::string(target.method)),
                        target.path, 11};
    request.set(http::field::host, call.service);
    request.set(http::field::user_agent, "tracerig");
    request.set(std::string(kRequestIdHeader), state->request_id);
    request.set(std::string(kSequenceHeader), state->sequence);
    request.set(std::string(kHopHeader), hop);
    if (!state->drop_context) {
      SpanContext context{client.trace_id, client.span_id, static_cast<uint8_t>(client.flags),
                          client.trace_state, state->baggage};
      BeastHeaderWriter<true> writer(request.base());
      propagator_->Inject(context, writer);
    }
    if (pool_it == pools_.end()) {
      OnCallDone(state, std::move(client), beast::error_code(asio::error::host_not_found), 0);
      return;
    }
    const auto& endpoint = pool_it->second->target();
    client.attributes.push_back({"server.address", endpoint.address().to_string()});
    client.attributes.push_back({"server.port", static_cast<int64_t>(endpoint.port())});
    client.attributes.push_back(
        {"url.full", fmt::format("http://{}:{}{}", endpoint.address().to_string(), endpoint.port(),
                                 target.path)});
    pool_it->second->Send(std::move(request), [this, state, client = std::move(client)](
                                                  beast::error_code ec, HttpResponse&& response) mutable {
      OnCallDone(state, std::move(client), ec, ec ? 0 : response.result_int());
    });
  }

  void OnCallDone(const std::shared_ptr<InFlight>& state, Span client, beast::error_code ec,
                  unsigned status) {
    client.end_unix_nano = clock_.NowUnixNano();
    if (ec) {
      client.status_code = StatusCode::kError;
      client.status_message = ec.message();
      client.attributes.push_back({"error.type", ec.message()});
    } else {
      client.attributes.push_back({"http.response.status_code", static_cast<int64_t>(status)});
      if (status >= 400) {
        client.status_code = StatusCode::kError;
        client.attributes.push_back({"error.type", std::to_string(status)});
      }
    }
    if (ec || status >= 500) {
      state->call_failed = true;
      call_failures_++;
    }
    Record(std::move(client));
    if (--state->pending == 0) RunStep(state);
  }

  void Finish(const std::shared_ptr<InFlight>& state) {
    const unsigned status = state->call_failed ? 502 : 200;
    Span& span = state->server;
    span.end_unix_nano = clock_.NowUnixNano();
    SetAttribute(span.attributes, "http.response.status_code", static_cast<int64_t>(status));
    if (status >= 500) span.status_code = StatusCode::kError;
    HttpResponse response{static_cast<http::status>(status), state->request_version};
    response.keep_alive(state->keep_alive);
    response.set(http::field::content_type, "text/plain");
    response.body() = status == 200 ? "ok\n" : "a downstream call failed\n";
    Record(std::move(span));
    state->respond(std::move(response));
  }

  void Record(Span span) {
    spans_recorded_++;
    if ((span.flags & 0x01) == 0) {
      spans_unsampled_++;
      return;
    }
    sink_.Submit(std::move(span));
  }

  const Scenario& scenario_;
  const Service& service_;
  asio::io_context& ioc_;
  SpanSink& sink_;
  const Clock& clock_;
  Rng id_rng_;
  std::unique_ptr<Propagator> propagator_;
  HttpClientOptions client_options_;
  HttpServer server_;
  std::map<std::string, const Route*, std::less<>> routes_;
  std::map<std::string, std::unique_ptr<HttpClientPool>, std::less<>> pools_;
  double drop_context_probability_ = 0;
  std::atomic<uint64_t> requests_{0};
  std::atomic<uint64_t> unknown_route_{0};
  std::atomic<uint64_t> spans_recorded_{0};
  std::atomic<uint64_t> spans_unsampled_{0};
  std::atomic<uint64_t> call_failures_{0};
};

TopologyRuntime::TopologyRuntime(const Scenario& scenario, SpanSink& sink, const Clock& clock,
                                 TopologyOptions options)
    : scenario_(scenario), sink_(sink), clock_(clock), options_(options) {}

TopologyRuntime::~TopologyRuntime() { Stop(); }

Status TopologyRuntime::Start() {
  const size_t threads = std::max<size_t>(1, options_.threads);
  for (size_t i = 0; i < threads; ++i) {
    contexts_.push_back(std::make_unique<asio::io_context>(1));
    guards_.emplace_back(asio::make_work_guard(*contexts_.back()));
  }
  std::map<std::string, tcp::endpoint, std::less<>> endpoints;
  for (size_t i = 0; i < scenario_.services.size(); ++i) {
    const Service& service = scenario_.services[i];
    auto propagator = MakePropagator(service.propagation);
    if (!propagator) {
      return MakeError(fmt::format("service \"{}\": {}", service.name, propagator.error().message));
    }
    auto simulated = std::make_unique<SimulatedService>(
        scenario_, service, *contexts_[i % threads], sink_, clock_, options_.id_seed,
        std::move(*propagator), options_.client);
    if (auto s = simulated->Listen(); !s) return s;
    endpoints[service.name] = simulated->endpoint();
    running_.push_back(
        {service.name, simulated->endpoint(),
         fmt::format("http://{}:{}", simulated->endpoint().address().to_string(),
                     simulated->endpoint().port())});
    services_.push_back(std::move(simulated));
  }
  for (auto& service : services_) service->ConnectPeers(endpoints);
  for (auto& context : contexts_) {
    threads_.emplace_back([ctx = context.get()] { ctx->run(); });
  }
  started_ = true;
  return Ok{};
}

void TopologyRuntime::Stop() {
  if (!started_) return;
  started_ = false;
  for (auto& service : services_) service->Stop();
  for (auto& guard : guards_) guard.reset();
  // Open keep-alive connections would keep run() going: stop the loops once servers have closed.
  for (auto& context : contexts_) context->stop();
  for (auto& thread : threads_) thread.join();
  threads_.clear();
}

std::optional<tcp::endpoint> TopologyRuntime::EndpointOf(std::string_view service) const {
  for (const auto& r : running_) {
    if (r.name == service) return r.endpoint;
  }
  return std::nullopt;
}

TopologyStats TopologyRuntime::stats() const {
  TopologyStats total;
  for (const auto& service : services_) {
    auto s = service->stats();
    total.requests += s.requests;
    total.unknown_route += s.unknown_route;
    total.spans_recorded += s.spans_recorded;
    total.spans_unsampled += s.spans_unsampled;
    total.call_failures += s.call_failures;
  }
  return total;
}

}  // namespace tracerig
