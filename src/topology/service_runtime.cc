// Simulated services (see service_runtime.h). A SimulatedService has two halves:
// - the request logic, independent of the wire protocol: OnRequest takes an Inbound (route, the
//   ground-truth values, a HeaderReader over the incoming headers and a Responder), decides, records
//   spans, applies faults and runs the route's calls; each call attempt is an Attempt whose
//   outgoing headers WriteOutboundHeaders fills through a HeaderWriter, finished by OnAttemptDone
//   with a CallOutcome (status, or an error type);
// - the HTTP transport: HandleHttp turns a Beast request into an Inbound and a Responder into a
//   Beast response, SendHttp turns an Attempt into a Beast request on a connection pool;
// - the gRPC transport: HandleGrpc turns a GrpcInbound (route, metadata) into an Inbound and a
//   Responder into a gRPC status, SendGrpc turns an Attempt into a call on the callee's
//   GrpcSimClient, the call's timeout becoming its deadline.
// A service serves its own protocol; an attempt uses its callee's, so HTTP and gRPC hops mix.
#include "topology/service_runtime.h"

#include <algorithm>
#include <charconv>
#include <list>
#include <map>
#include <unordered_map>

#include <fmt/format.h>

#include "core/ledger.h"
#include "core/rng.h"
#include "net/address.h"
#include "net/resolve.h"
#include "net/beast_carrier.h"
#include "net/grpc_sim.h"
#include "net/http_server.h"
#include "propagation/b3.h"
#include "propagation/b3multi.h"
#include "propagation/jaeger.h"
#include "propagation/metadata_carrier.h"
#include "propagation/registry.h"
#include "propagation/w3c.h"
#include "topology/decisions.h"
#include "topology/expected_tree.h"
#include "topology/ground_truth.h"

namespace tracerig {
namespace {

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

uint64_t ParseDecimal(std::string_view text) {
  uint64_t v = 0;
  std::from_chars(text.data(), text.data() + text.size(), v);
  return v;
}

uint64_t Shift(uint64_t t, int64_t by) {
  if (by >= 0) return t + static_cast<uint64_t>(by);
  const uint64_t back = static_cast<uint64_t>(-(by + 1)) + 1;  // |by| without overflow
  return t > back ? t - back : 0;
}

constexpr uint32_t Bit(FaultKind kind) { return 1u << static_cast<uint32_t>(kind); }

// Malformed values the corrupt fault writes for each header a format would write. Each breaks one
// rule its parser checks, and keeps the ids so a lenient parser would be visibly lenient:
//   traceparent:   version "ff" (forbidden by W3C)  "ff-<trace>-<span>-01"
//   b3:            a 15-digit span id                 "<trace>-<span minus its first digit>-1"
//   x-b3-traceid:  a non-hex digit                     "<trace with its first digit replaced by z>"
//                  (x-b3-spanid and x-b3-sampled are written well-formed)
//   uber-trace-id: three fields instead of four        "<trace>:<span>:0"
// baggage and tracestate carry no ids and are written unchanged.
void WriteCorrupt(const std::vector<std::string>& formats, const SpanContext& context,
                  HeaderWriter& out) {
  const std::string trace = context.trace_id.ToHex();
  const std::string span = context.span_id.ToHex();
  for (const std::string& format : formats) {
    if (format == "tracecontext") {
      out.Set(kTraceparentHeader, fmt::format("ff-{}-{}-01", trace, span));
    } else if (format == "b3") {
      out.Set(kB3Header, fmt::format("{}-{}-1", trace, span.substr(1)));
    } else if (format == "b3multi") {
      out.Set(kB3TraceIdHeader, "z" + trace.substr(1));
      out.Set(kB3SpanIdHeader, span);
      out.Set(kB3SampledHeader, "1");
    } else if (format == "jaeger") {
      out.Set(kUberTraceIdHeader, fmt::format("{}:{}:0", trace, span));
    }
  }
}

}  // namespace

bool GrpcServerSpanFails(int grpc_status) {
  return grpc_status == kGrpcUnknown || grpc_status == kGrpcDeadlineExceeded ||
         grpc_status == kGrpcUnimplemented || grpc_status == kGrpcInternal ||
         grpc_status == kGrpcUnavailable || grpc_status == kGrpcDataLoss;
}

class TopologyRuntime::SimulatedService {
 public:
  // `replica` of `replicas` (HTTP only; gRPC services have one): replica 0 listens, the others
  // join its port.
  SimulatedService(const Scenario& scenario, const Service& service, size_t replica,
                   size_t replicas, asio::io_context& ioc, SpanSink& sink, const Clock& clock,
                   uint64_t id_seed, std::unique_ptr<Propagator> propagator,
                   HttpClientOptions client_options)
      : scenario_(scenario),
        service_(service),
        replica_(replica),
        ioc_(ioc),
        sink_(sink),
        clock_(clock),
        id_rng_(IdSeed(id_seed, service.name, replica)),
        propagator_(std::move(propagator)),
        client_options_(client_options) {
    if (grpc()) {
      grpc_server_ = std::make_unique<GrpcSimServer>(
          ioc, [this](GrpcInbound inbound, GrpcRespond respond) {
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

  // Prepares the faults that name this service (wrong-format needs its own propagator).
  Status PrepareFaults() {
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
    return Ok{};
  }

  // Replica 0: binds the service's address. Other replicas: `primary`, the port replica 0 got.
  Status Listen(const std::optional<tcp::endpoint>& primary) {
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

  tcp::endpoint endpoint() const { return endpoint_; }
  const std::string& name() const { return service_.name; }
  bool grpc() const { return service_.protocol == Protocol::kGrpc; }

  void ConnectPeers(const std::map<std::string, tcp::endpoint, std::less<>>& endpoints) {
    for (const auto& route : service_.routes) {
      for (const auto& step : route.calls) {
        for (const auto& call : step.calls) {
          PreparedCall& prepared = calls_[&call];
          const Service* callee = scenario_.FindService(call.service);
          prepared.grpc = callee != nullptr && callee->protocol == Protocol::kGrpc;
          auto target = RouteToHttp(call.route);
          prepared.method = std::string(target.method);
          prepared.verb = http::string_to_verb(prepared.method);
          prepared.path = target.path;
          auto it = endpoints.find(call.service);
          if (it == endpoints.end()) continue;  // validation guarantees it exists
          prepared.address = it->second.address().to_string();
          prepared.port = it->second.port();
          if (prepared.grpc) {
            auto& client = grpc_clients_[call.service];
            if (!client) {
              client = std::make_unique<GrpcSimClient>(
                  ioc_, HostPort{prepared.address, it->second.port()}.ToString());
            }
            prepared.client = client.get();
            continue;
          }
          auto& pool = pools_[call.service];
          if (!pool) pool = std::make_unique<HttpClientPool>(ioc_, it->second, client_options_);
          prepared.pool = pool.get();
          prepared.url_full = fmt::format("http://{}:{}{}", prepared.address, prepared.port,
                                          target.path);
        }
      }
    }
  }

  void Stop() {
    // GrpcSimServer::Stop is safe from any thread and must not wait for the loop (it may be
    // stopped right after this); HttpServer::Stop belongs on the loop's thread.
    if (grpc_server_) grpc_server_->Stop();
    if (http_server_) asio::post(ioc_, [this] { http_server_->Stop(); });
  }

  // After the io_context has stopped: closes the acceptor (the Stop posted above may not have run
  // before the loop stopped; an open one would still complete handshakes) and submits the spans
  // delay-export still holds back.
  void FinishStop() {
    if (http_server_) http_server_->Stop();
    for (auto& delayed : delayed_) sink_.Submit(std::move(delayed.span));
    delayed_.clear();
  }

  TopologyStats stats() const {
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
    for (size_t i = 0; i < kFaultKindCount; ++i) s.faults_applied[i] = faults_applied_[i].load();
    return s;
  }

 private:
  struct PreparedRoute {
    const Route* route;
    std::string method;
    std::string path;
  };

  // A call edge, resolved once: its HTTP target and the pool of its callee, or (gRPC callee) the
  // callee's client.
  struct PreparedCall {
    bool grpc = false;  // the callee speaks gRPC
    http::verb verb = http::verb::post;
    std::string method;
    std::string path;
    HttpClientPool* pool = nullptr;    // null: the callee has no address (transport error)
    GrpcSimClient* client = nullptr;   // gRPC callees: as `pool`
    std::string address;
    int64_t port = 0;
    std::string url_full;
  };

  struct ServiceFault {
    size_t index;  // in Scenario::faults, salts the decision
    const Fault* fault;
    std::unique_ptr<Propagator> wrong_format;
  };

  // --- The transport-independent request logic. ---

  // `status` is in the service's protocol: an HTTP status, or a gRPC status code.
  using Responder = std::function<void(unsigned status, uint64_t body_bytes)>;

  // What a transport hands the request logic for one inbound request.
  struct Inbound {
    const Route* route;
    std::string_view method;  // for http.request.method (HTTP only)
    std::string_view path;    // for http.route and url.path (HTTP only)
    const HeaderReader* headers;
    std::string_view request_id, sequence, hop, offset;  // ground truth, as received
    Responder respond;
  };

  // State of one request being handled; lives until the response is sent.
  struct InFlight {
    InFlight(asio::io_context& ioc, const DecisionPoint& p) : timer(ioc), point(p) {}
    const Route* route = nullptr;
    Span server;
    Responder respond;
    asio::steady_timer timer;
    DecisionPoint point;
    uint64_t sequence = 0;
    std::string request_id;  // as received (hex)
    std::string sequence_text;
    std::string offset_text;
    std::string hop;
    std::string baggage;  // as extracted, passed on unchanged
    uint32_t faults = 0;  // Bit(kind) for each fault that applies to this request
    std::vector<const ServiceFault*> edge_faults;  // edge faults that apply (callee to check)
    int64_t skew = 0;                              // clock-skew
    uint64_t delay = 0;                            // delay-export
    size_t step = 0;
    size_t next_call_index = 0;
    size_t pending = 0;
    bool call_failed = false;
  };

  // One call of a step: its executions one after another, each with its attempts.
  struct CallRun {
    CallRun(asio::io_context& ioc, std::shared_ptr<InFlight> r, const Call& c, size_t first)
        : request(std::move(r)), call(c), first_index(first), backoff(ioc) {}
    std::shared_ptr<InFlight> request;
    const Call& call;
    size_t first_index;  // child index of execution 0
    uint32_t execution = 0;
    uint32_t attempt = 0;
    std::string call_hop;
    asio::steady_timer backoff;
  };

  // One attempt of a call: its CLIENT span and its outcome, whichever comes first of the answer
  // and the timeout.
  struct Attempt {
    Attempt(asio::io_context& ioc, std::shared_ptr<CallRun> r) : run(std::move(r)), timeout(ioc) {}
    std::shared_ptr<CallRun> run;
    Span client;
    std::string hop;
    bool done = false;
    asio::steady_timer timeout;
  };

  // The result of an attempt, as a transport reports it: a status (HTTP: 0 when no response
  // arrived; gRPC: the call's status code, which also covers transport failures and deadlines)
  // or the error type of a failure to get one.
  struct CallOutcome {
    unsigned status = 0;
    std::string error_type;  // "timeout", the transport error; empty when a response arrived
  };

  void OnRequest(Inbound in) {
    requests_++;
    const uint64_t now = clock_.NowUnixNano();
    const uint64_t sequence = ParseDecimal(in.sequence);
    const uint64_t offset = ParseDecimal(in.offset);
    auto state = std::make_shared<InFlight>(
        ioc_, DecisionPoint(scenario_.seed, sequence, in.hop, service_.name));
    state->route = in.route;
    state->respond = std::move(in.respond);
    state->sequence = sequence;
    state->request_id = in.request_id;
    state->sequence_text = in.sequence;
    state->offset_text = in.offset;
    state->hop = in.hop;
    DecideFaults(*state, offset);

    SpanContext parent;
    if ((state->faults & Bit(FaultKind::kNewTrace)) == 0) parent = propagator_->Extract(*in.headers);
    state->baggage = parent.baggage;
    const bool sampled = SamplingDecision(
        state->point, service_.sampling,
        parent.IsValid() ? std::optional<bool>(parent.sampled()) : std::nullopt);
    Span& span = state->server;
    span.service_name = service_.name;
    span.resource_attributes = service_.resource;
    span.name = state->route->name;
    span.kind = SpanKind::kServer;
    span.start_unix_nano = now;
    span.span_id = SpanId{id_rng_.NextNonZero()};
    span.flags = sampled ? 0x01 : 0x00;
    if (parent.IsValid()) {
      span.trace_id = parent.trace_id;
      span.parent_span_id = parent.span_id;
      span.trace_state = parent.trace_state;
    } else {
      span.trace_id = TraceId{id_rng_.NextNonZero(), id_rng_.Next()};
    }
    if ((state->faults & Bit(FaultKind::kDuplicateSpanId)) != 0 && parent.IsValid()) {
      span.span_id = parent.span_id;
    }
    if ((state->faults & Bit(FaultKind::kOrphan)) != 0) {
      span.parent_span_id =
          SpanId{state->point.Stream(DecisionStream::kFaultValue).NextNonZero()};
    }
    span.attributes = state->route->attributes;
    Rng attribute_rng = state->point.Stream(DecisionStream::kAttributes);
    for (const auto& generated : state->route->generated_attributes) {
      SetAttribute(span.attributes, generated.key, generated.generator.Generate(attribute_rng));
    }
    if (grpc()) {
      SetAttribute(span.attributes, "rpc.system", std::string("grpc"));
      SetAttribute(span.attributes, "rpc.service", std::string(kSimRpcService));
      SetAttribute(span.attributes, "rpc.method", std::string(kSimRpcMethod));
    } else {
      SetAttribute(span.attributes, "http.request.method", std::string(in.method));
      SetAttribute(span.attributes, "http.route", std::string(in.path));
      SetAttribute(span.attributes, "url.path", std::string(in.path));
    }
    SetAttribute(span.attributes, "server.address", address_);
    SetAttribute(span.attributes, "server.port", port_);
    SetAttribute(span.attributes, kRequestIdAttribute, state->request_id);
    SetAttribute(span.attributes, kHopAttribute, state->hop);

    Rng latency_rng = state->point.Stream(DecisionStream::kLatency);
    const uint64_t latency = state->route->latency.Sample(latency_rng);
    for (const EventSpec& event : state->route->events) {
      const double at = std::clamp(event.at, 0.0, 1.0);
      span.events.push_back(SpanEvent{now + static_cast<uint64_t>(at * static_cast<double>(latency)),
                                      event.name, event.attributes});
    }
    if (latency == 0 && !grpc()) {
      // Nothing to wait for: skip the timer queue (a lock and a reactor wake-up per request).
      // HTTP only: the HTTP server accepts an answer from inside its handler.
      RunStep(state);
      return;
    }
    state->timer.expires_after(std::chrono::nanoseconds(latency));
    state->timer.async_wait([this, state](beast::error_code) { RunStep(state); });
  }

  // Which of this service's faults apply to the request (seeded, on its intended offset).
  void DecideFaults(InFlight& state, uint64_t offset) {
    for (const ServiceFault& f : faults_) {
      const Fault& fault = *f.fault;
      if (!fault.route.empty() && fault.route != state.route->name) continue;
      if (!FaultApplies(state.point, fault, f.index, offset)) continue;
      state.faults |= Bit(fault.kind);
      if (IsEdgeFault(fault.kind)) {
        state.edge_faults.push_back(&f);
        continue;  // counted per call attempt it changes
      }
      faults_applied_[static_cast<size_t>(fault.kind)]++;
      if (fault.kind == FaultKind::kClockSkew) state.skew += fault.amount_ns;
      if (fault.kind == FaultKind::kDelayExport && fault.amount_ns > 0) {
        state.delay = std::max(state.delay, static_cast<uint64_t>(fault.amount_ns));
      }
    }
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
      auto run = std::make_shared<CallRun>(ioc_, state, call, state->next_call_index);
      state->next_call_index += call.repeat;
      NextExecution(run);
    }
    if (step.calls.empty()) RunStep(state);
  }

  // Starts the run's next execution that its probability lets happen, or ends the run.
  void NextExecution(const std::shared_ptr<CallRun>& run) {
    InFlight& state = *run->request;
    while (run->execution < run->call.repeat) {
      run->call_hop = ChildHop(state.hop, run->first_index + run->execution);
      run->attempt = 0;
      if (CallHappens(DecisionPoint(scenario_.seed, state.sequence, run->call_hop, service_.name),
                      run->call.probability)) {
        StartAttempt(run);
        return;
      }
      calls_skipped_++;
      run->execution++;
    }
    auto request = run->request;
    if (--request->pending == 0) RunStep(request);
  }

  void StartAttempt(const std::shared_ptr<CallRun>& run) {
    const InFlight& state = *run->request;
    const Call& call = run->call;
    const PreparedCall& prepared = calls_.at(&call);
    auto attempt = std::make_shared<Attempt>(ioc_, run);
    attempt->hop = run->attempt == 0 ? run->call_hop : RetryHop(run->call_hop, run->attempt);
    Span& client = attempt->client;
    client.trace_id = state.server.trace_id;
    client.span_id = SpanId{id_rng_.NextNonZero()};
    client.parent_span_id = state.server.span_id;
    client.trace_state = state.server.trace_state;
    client.flags = state.server.flags;
    client.name = call.route;
    client.kind = SpanKind::kClient;
    client.service_name = service_.name;
    client.resource_attributes = service_.resource;
    client.start_unix_nano = clock_.NowUnixNano();
    client.attributes.reserve(10);
    if (prepared.grpc) {
      client.attributes.push_back({"rpc.system", std::string("grpc")});
      client.attributes.push_back({"rpc.service", std::string(kSimRpcService)});
      client.attributes.push_back({"rpc.method", std::string(kSimRpcMethod)});
    } else {
      client.attributes.push_back({"http.request.method", prepared.method});
    }
    client.attributes.push_back({"peer.service", call.service});
    client.attributes.push_back({std::string(kRequestIdAttribute), state.request_id});
    client.attributes.push_back({std::string(kHopAttribute), attempt->hop});
    if (prepared.grpc) {
      SendGrpc(attempt, prepared);  // the timeout is the call's deadline
      return;
    }
    if (run->attempt > 0) {
      client.attributes.push_back({"http.request.resend_count", int64_t{run->attempt}});
    }
    if (call.timeout_ns > 0) {
      attempt->timeout.expires_after(std::chrono::nanoseconds(call.timeout_ns));
      attempt->timeout.async_wait([this, attempt](beast::error_code ec) {
        if (ec) return;  // cancelled: the answer came first
        timeouts_++;
        OnAttemptDone(attempt, CallOutcome{0, "timeout"});
      });
    }
    SendHttp(attempt, prepared);
  }

  // The trace context (and ground truth) an attempt carries, after this request's edge faults.
  void WriteOutboundHeaders(const Attempt& attempt, HeaderWriter& out) {
    const InFlight& state = *attempt.run->request;
    out.Set(kRequestIdHeader, state.request_id);
    out.Set(kSequenceHeader, state.sequence_text);
    out.Set(kHopHeader, attempt.hop);
    if (!state.offset_text.empty()) out.Set(kOffsetHeader, state.offset_text);
    SpanContext context{attempt.client.trace_id, attempt.client.span_id,
                        static_cast<uint8_t>(attempt.client.flags & 0xff),
                        attempt.client.trace_state, state.baggage};
    const Propagator* propagator = propagator_.get();
    bool corrupt = false;
    for (const ServiceFault* f : state.edge_faults) {
      const Fault& fault = *f->fault;
      if (!fault.callee.empty() && fault.callee != attempt.run->call.service) continue;
      faults_applied_[static_cast<size_t>(fault.kind)]++;
      switch (fault.kind) {
        case FaultKind::kDropContext:
          propagator = nullptr;
          break;
        case FaultKind::kWrongFormat:
          if (propagator != nullptr) propagator = f->wrong_format.get();
          break;
        case FaultKind::kCorrupt:
          corrupt = true;
          break;
        case FaultKind::kTruncateTraceId:
          context.trace_id.high = 0;
          break;
        case FaultKind::kUnsampledChild:
          context.trace_flags &= static_cast<uint8_t>(~0x01);
          break;
        default:
          break;
      }
    }
    if (propagator == nullptr) return;  // drop-context wins over every other edge fault
    propagator->Inject(context, out);
    if (corrupt) WriteCorrupt(service_.propagation, context, out);
  }

  void OnAttemptDone(const std::shared_ptr<Attempt>& attempt, CallOutcome outcome) {
    if (attempt->done) return;  // the other of answer and timeout came first
    attempt->done = true;
    attempt->timeout.cancel();
    const std::shared_ptr<CallRun>& run = attempt->run;
    InFlight& state = *run->request;
    Span client = std::move(attempt->client);
    client.end_unix_nano = clock_.NowUnixNano();
    const PreparedCall& prepared = calls_.at(&run->call);
    if (!outcome.error_type.empty()) {
      client.status_code = StatusCode::kError;
      client.status_message = outcome.error_type;
      client.attributes.push_back({"error.type", outcome.error_type});
    } else if (prepared.grpc) {
      const int code = static_cast<int>(outcome.status);
      client.attributes.push_back({"rpc.grpc.status_code", int64_t{code}});
      if (code != kGrpcOk) {  // every non-OK code is an error for a client
        client.status_code = StatusCode::kError;
        client.attributes.push_back({"error.type", GrpcStatusName(code)});
      }
    } else {
      client.attributes.push_back({"http.response.status_code", int64_t{outcome.status}});
      if (outcome.status >= 400) {
        client.status_code = StatusCode::kError;
        client.attributes.push_back({"error.type", std::to_string(outcome.status)});
      }
    }
    if (prepared.pool != nullptr || prepared.client != nullptr) {
      client.attributes.push_back({"server.address", prepared.address});
      client.attributes.push_back({"server.port", prepared.port});
      if (prepared.pool != nullptr) client.attributes.push_back({"url.full", prepared.url_full});
    }
    Record(std::move(client), state);
    const bool failed =
        !outcome.error_type.empty() ||
        AnswerFailsCall(prepared.grpc ? Protocol::kGrpc : Protocol::kHttp,
                        static_cast<int>(outcome.status));
    if (failed && run->attempt < run->call.retries) {
      run->attempt++;
      retries_++;
      if (run->call.retry_backoff_ns == 0) {
        StartAttempt(run);
        return;
      }
      run->backoff.expires_after(std::chrono::nanoseconds(run->call.retry_backoff_ns));
      run->backoff.async_wait([this, run](beast::error_code) { StartAttempt(run); });
      return;
    }
    if (failed) {
      state.call_failed = true;
      call_failures_++;
    }
    run->execution++;
    NextExecution(run);
  }

  void Finish(const std::shared_ptr<InFlight>& state) {
    const Route& route = *state->route;
    const bool route_error = RouteErrors(state->point, route.error_rate);
    if (route_error) route_errors_++;
    Span& span = state->server;
    span.end_unix_nano = clock_.NowUnixNano();
    unsigned status = 0;
    if (grpc()) {
      // A failed downstream call answers UNAVAILABLE, as HTTP answers 502 (retryable either way).
      int code = state->call_failed ? kGrpcUnavailable : kGrpcOk;
      if (route_error) {
        code = route.error_status >= kGrpcOk && route.error_status <= kGrpcUnauthenticated
                   ? route.error_status
                   : kGrpcUnknown;
      }
      status = static_cast<unsigned>(code);
      SetAttribute(span.attributes, "rpc.grpc.status_code", int64_t{code});
      if (GrpcServerSpanFails(code)) {
        span.status_code = StatusCode::kError;
        SetAttribute(span.attributes, "error.type", GrpcStatusName(code));
      }
    } else {
      status = state->call_failed ? 502 : 200;
      if (route_error) {
        status = route.error_status >= 100 && route.error_status <= 999
                     ? static_cast<unsigned>(route.error_status)
                     : 500;
      }
      SetAttribute(span.attributes, "http.response.status_code", int64_t{status});
      if (route_error || status >= 500) {
        span.status_code = StatusCode::kError;
        SetAttribute(span.attributes, "error.type", std::to_string(status));
      }
    }
    if ((state->faults & Bit(FaultKind::kDropSpan)) != 0) {
      spans_recorded_++;
      spans_dropped_++;
    } else {
      Record(std::move(span), *state);
    }
    state->respond(status, route.response_bytes);
  }

  // Applies clock-skew and delay-export, then exports a sampled span.
  void Record(Span span, const InFlight& state) {
    spans_recorded_++;
    if ((span.flags & 0x01) == 0) {
      spans_unsampled_++;
      return;
    }
    if (state.skew != 0) {
      span.start_unix_nano = Shift(span.start_unix_nano, state.skew);
      span.end_unix_nano = Shift(span.end_unix_nano, state.skew);
      for (auto& event : span.events) event.time_unix_nano = Shift(event.time_unix_nano, state.skew);
    }
    if (state.delay == 0) {
      sink_.Submit(std::move(span));
      return;
    }
    spans_delayed_++;
    auto it = delayed_.emplace(delayed_.end(), ioc_, std::move(span));
    it->timer.expires_after(std::chrono::nanoseconds(state.delay));
    it->timer.async_wait([this, it](beast::error_code) {
      sink_.Submit(std::move(it->span));
      delayed_.erase(it);
    });
  }

  // --- The HTTP transport. ---

  void HandleHttp(HttpRequest&& request, HttpResponder respond) {
    std::string_view target(request.target().data(), request.target().size());
    target = target.substr(0, target.find('?'));
    std::string_view method(request.method_string().data(), request.method_string().size());
    const PreparedRoute* found = nullptr;
    if (auto it = routes_.find(target); it != routes_.end()) {
      for (const PreparedRoute& r : it->second) {
        if (r.method == method) found = &r;
      }
    }
    if (found == nullptr) {
      unknown_route_++;
      respond(MakeResponse(request, http::status::not_found, "text/plain",
                           fmt::format("service \"{}\" has no route \"{} {}\"\n", service_.name,
                                       method, target)));
      return;
    }
    // OnRequest reads the headers before it returns; the responder keeps only what the response
    // needs from the request (its version and keep-alive).
    const unsigned version = request.version();
    const bool keep_alive = request.keep_alive();
    BeastHeaderReader<true> reader(request);
    OnRequest(Inbound{
        found->route, found->method, found->path, &reader, HeaderValue(request, kRequestIdHeader),
        HeaderValue(request, kSequenceHeader), HeaderValue(request, kHopHeader),
        HeaderValue(request, kOffsetHeader),
        [respond = std::move(respond), version, keep_alive](unsigned status, uint64_t bytes) {
          HttpResponse response;
          response.version(version);
          response.result(status);
          response.keep_alive(keep_alive);
          response.set(http::field::content_type, "text/plain");
          if (bytes > 0) {
            response.body().assign(bytes, 'x');
          } else {
            response.body() = status < 400 ? "ok\n" : "error\n";
          }
          response.prepare_payload();
          respond(std::move(response));
        }});
  }

  void SendHttp(const std::shared_ptr<Attempt>& attempt, const PreparedCall& prepared) {
    const Call& call = attempt->run->call;
    if (prepared.pool == nullptr) {
      OnAttemptDone(attempt, CallOutcome{0, "host_not_found"});
      return;
    }
    HttpRequest request{prepared.verb, prepared.path, 11};
    request.set(http::field::host, call.service);
    request.set(http::field::user_agent, "tracerig");
    BeastHeaderWriter<true> writer(request.base());
    WriteOutboundHeaders(*attempt, writer);
    if (call.request_bytes > 0) {
      request.body().assign(call.request_bytes, 'x');
      request.set(http::field::content_type, "application/octet-stream");
    }
    request.prepare_payload();
    prepared.pool->Send(std::move(request),
                        [this, attempt](beast::error_code ec, HttpResponse&& response) {
                          if (ec) {
                            OnAttemptDone(attempt, CallOutcome{0, ec.message()});
                          } else {
                            OnAttemptDone(attempt, CallOutcome{response.result_int(), {}});
                          }
                        });
  }

  // --- The gRPC transport. ---

  void HandleGrpc(GrpcInbound inbound, GrpcRespond respond) {
    auto it = grpc_routes_.find(inbound.route);
    if (it == grpc_routes_.end()) {
      unknown_route_++;
      respond(kGrpcUnimplemented,
              fmt::format("service \"{}\" has no route \"{}\"", service_.name, inbound.route), 0);
      return;
    }
    // OnRequest reads the metadata before it returns.
    const MetadataPairs& metadata = inbound.metadata;
    MetadataReader reader(metadata);
    OnRequest(Inbound{it->second, {}, {}, &reader,
                      FirstMetadataValue(metadata, kRequestIdHeader),
                      FirstMetadataValue(metadata, kSequenceHeader),
                      FirstMetadataValue(metadata, kHopHeader),
                      FirstMetadataValue(metadata, kOffsetHeader),
                      [respond = std::move(respond)](unsigned status, uint64_t bytes) {
                        const int code = static_cast<int>(status);
                        respond(code, code == kGrpcOk ? std::string() : GrpcStatusName(code),
                                code == kGrpcOk ? static_cast<size_t>(bytes) : 0);
                      }});
  }

  void SendGrpc(const std::shared_ptr<Attempt>& attempt, const PreparedCall& prepared) {
    const Call& call = attempt->run->call;
    if (prepared.client == nullptr) {
      OnAttemptDone(attempt, CallOutcome{0, "host_not_found"});
      return;
    }
    GrpcMetadata metadata;
    metadata.reserve(8);
    MetadataWriter writer(metadata);
    WriteOutboundHeaders(*attempt, writer);
    prepared.client->Call(call.route, std::move(metadata), call.request_bytes, call.timeout_ns,
                          [this, attempt, deadline = call.timeout_ns > 0](int code,
                                                                        std::string) {
                            // Without a deadline of ours, DEADLINE_EXCEEDED is the callee's answer.
                            if (deadline && code == kGrpcDeadlineExceeded) timeouts_++;
                            OnAttemptDone(attempt, CallOutcome{static_cast<unsigned>(code), {}});
                          });
  }

  struct Delayed {
    Delayed(asio::io_context& ioc, Span s) : timer(ioc), span(std::move(s)) {}
    asio::steady_timer timer;
    Span span;
  };

  // Replica 0 keeps the span-id stream a service had before replicas existed; the others get
  // streams of their own, so no two replicas hand out the same ids.
  static uint64_t IdSeed(uint64_t id_seed, std::string_view service, size_t replica) {
    const uint64_t seed = Rng::Mix(id_seed, Fnv1a(service));
    return replica == 0 ? seed : Rng::Mix(seed, replica);
  }

  const Scenario& scenario_;
  const Service& service_;
  size_t replica_;
  asio::io_context& ioc_;
  SpanSink& sink_;
  const Clock& clock_;
  Rng id_rng_;
  std::unique_ptr<Propagator> propagator_;
  HttpClientOptions client_options_;
  std::unique_ptr<HttpServer> http_server_;    // http services
  std::unique_ptr<GrpcSimServer> grpc_server_;  // grpc services
  tcp::endpoint endpoint_;
  std::string address_;
  int64_t port_ = 0;
  // Path -> the routes served on it (one per method); heterogeneous lookup, no key per request.
  std::map<std::string, std::vector<PreparedRoute>, std::less<>> routes_;
  std::unordered_map<const Call*, PreparedCall> calls_;
  std::map<std::string, const Route*, std::less<>> grpc_routes_;  // gRPC services: by route name
  std::map<std::string, std::unique_ptr<HttpClientPool>, std::less<>> pools_;
  // One client (one channel) per gRPC callee. Destroying one cancels its calls and posts their
  // callbacks, which never run: the runtime has stopped its loops by then.
  std::map<std::string, std::unique_ptr<GrpcSimClient>, std::less<>> grpc_clients_;
  std::vector<ServiceFault> faults_;
  std::list<Delayed> delayed_;  // delay-export's spans still waiting; io_context thread only
  std::atomic<uint64_t> requests_{0};
  std::atomic<uint64_t> unknown_route_{0};
  std::atomic<uint64_t> spans_recorded_{0};
  std::atomic<uint64_t> spans_unsampled_{0};
  std::atomic<uint64_t> call_failures_{0};
  std::atomic<uint64_t> route_errors_{0};
  std::atomic<uint64_t> calls_skipped_{0};
  std::atomic<uint64_t> retries_{0};
  std::atomic<uint64_t> timeouts_{0};
  std::atomic<uint64_t> spans_dropped_{0};
  std::atomic<uint64_t> spans_delayed_{0};
  std::array<std::atomic<uint64_t>, kFaultKindCount> faults_applied_{};
};

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
    : scenario_(scenario), sink_(sink), clock_(clock), options_(options) {}

TopologyRuntime::~TopologyRuntime() { Stop(); }

Status TopologyRuntime::Start() {
  if (AllFaultKinds().size() != kFaultKindCount) {
    return MakeError("internal: kFaultKindCount does not match FaultKind");
  }
  const size_t threads = std::max<size_t>(1, options_.threads);
  for (size_t i = 0; i < threads; ++i) {
    contexts_.push_back(std::make_unique<asio::io_context>(1));
    guards_.emplace_back(asio::make_work_guard(*contexts_.back()));
  }
  std::map<std::string, tcp::endpoint, std::less<>> endpoints;
  const size_t replicas_each = ReplicasPerHttpService(scenario_, threads, options_.replicas);
  // Replicas go round the threads in order: with one replica per service, service i runs on
  // thread i % threads, as it did before replicas.
  size_t next_thread = 0;
  for (const Service& service : scenario_.services) {
    if (service.IsExternal()) {
      // Not simulated: callers connect to its URL.
      auto url = ParseUrl(service.external_url, 80);
      if (!url) {
        return MakeError(fmt::format("service \"{}\": external_url: {}", service.name,
                                     url.error().message));
      }
      auto endpoint = ResolveEndpoint(url->address);
      if (!endpoint) {
        return MakeError(fmt::format("service \"{}\": external_url: {}", service.name,
                                     endpoint.error().message));
      }
      endpoints[service.name] = *endpoint;
      continue;
    }
    const size_t replicas = service.protocol == Protocol::kGrpc ? 1 : replicas_each;
    std::optional<tcp::endpoint> primary;  // replica 0's, once bound
    for (size_t replica = 0; replica < replicas; ++replica) {
      auto propagator = MakePropagator(service.propagation);
      if (!propagator) {
        return MakeError(
            fmt::format("service \"{}\": {}", service.name, propagator.error().message));
      }
      auto simulated_service = std::make_unique<SimulatedService>(
          scenario_, service, replica, replicas, *contexts_[next_thread++ % threads], sink_, clock_,
          options_.id_seed, std::move(*propagator), options_.client);
      if (auto s = simulated_service->PrepareFaults(); !s) return s;
      if (auto s = simulated_service->Listen(primary); !s) return s;
      if (!primary) primary = simulated_service->endpoint();
      services_.push_back(std::move(simulated_service));
    }
    endpoints[service.name] = *primary;
    running_.push_back(
        {service.name, *primary,
         fmt::format("{}://{}", service.protocol == Protocol::kGrpc ? "grpc" : "http",
                     HostPort{primary->address().to_string(), primary->port()}.ToString())});
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
  for (auto& service : services_) service->FinishStop();
}

std::optional<tcp::endpoint> TopologyRuntime::EndpointOf(std::string_view service) const {
  for (const auto& r : running_) {
    if (r.name == service) return r.endpoint;
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
  for (size_t i = 0; i < kFaultKindCount; ++i) total.faults_applied[i] += s.faults_applied[i];
}

}  // namespace

TopologyStats TopologyRuntime::stats() const {
  TopologyStats total;
  for (const auto& service : services_) Add(total, service->stats());
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
