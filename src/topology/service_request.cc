// A simulated service's request logic, independent of the wire protocol: what a hop does with a
// request (extract context, sample, apply faults, run the route's calls, record spans).
#include "topology/runtime_internal.h"

#include <algorithm>
#include <array>
#include <charconv>

#include <fmt/format.h>

#include "propagation/b3.h"
#include "propagation/b3multi.h"
#include "propagation/baggage.h"
#include "propagation/jaeger.h"
#include "propagation/w3c.h"
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

// The propagation headers an OutboundWriter tracks, so forwarded copies never overwrite what
// the service's own injection wrote.
constexpr std::array<std::string_view, 10> kTrackedHeaders = {
    kTraceparentHeader,    kTracestateHeader, kB3Header,      kB3TraceIdHeader,   kB3SpanIdHeader,
    kB3ParentSpanIdHeader, kB3SampledHeader,  kB3FlagsHeader, kUberTraceIdHeader, kBaggageHeader};

uint32_t TrackedBit(std::string_view name) {
  for (size_t i = 0; i < kTrackedHeaders.size(); ++i) {
    if (kTrackedHeaders[i] == name) return 1u << i;
  }
  return 0;
}

// The headers of one call attempt, for the edge faults that filter or rewrite what is written
// (drop-tracestate, drop-baggage, urlencode) and for `forward`: remembers which propagation
// headers the service itself wrote, so a forwarded copy of one of them is left out.
class OutboundWriter final : public HeaderWriter {
 public:
  explicit OutboundWriter(HeaderWriter& out) : out_(out) {}

  bool drop_tracestate = false;
  bool drop_baggage = false;
  bool urlencode = false;

  // The service's own injection.
  void Set(std::string_view name, std::string_view value) override {
    if (Dropped(name)) return;
    written_ |= TrackedBit(name);
    if (urlencode && name == kUberTraceIdHeader) {
      std::string encoded;
      encoded.reserve(value.size() + 8);
      for (char c : value) {
        if (c == ':') {
          encoded += "%3A";
        } else {
          encoded += c;
        }
      }
      out_.Set(name, encoded);
      return;
    }
    out_.Set(name, value);
  }
  // Bypasses drop-baggage: tracerig's ground truth into a real service, not the scenario's.
  void SetGroundTruthBaggage(std::string_view value) {
    written_ |= TrackedBit(kBaggageHeader);
    out_.Set(kBaggageHeader, value);
  }
  // A header copied from the incoming request (Service::forward), unchanged: written unless the
  // service wrote it itself or a drop fault removes it.
  void Forward(std::string_view name, std::string_view value) {
    if (Dropped(name) || (written_ & TrackedBit(name)) != 0) return;
    out_.Set(name, value);
  }

 private:
  bool Dropped(std::string_view name) const {
    return (drop_tracestate && name == kTracestateHeader) ||
           (drop_baggage && name == kBaggageHeader);
  }

  HeaderWriter& out_;
  uint32_t written_ = 0;
};

}  // namespace

bool GrpcServerSpanFails(int grpc_status) {
  return grpc_status == kGrpcUnknown || grpc_status == kGrpcDeadlineExceeded ||
         grpc_status == kGrpcUnimplemented || grpc_status == kGrpcInternal ||
         grpc_status == kGrpcUnavailable || grpc_status == kGrpcDataLoss;
}

using SimulatedService = TopologyRuntime::SimulatedService;

void SimulatedService::RecordWire(const Inbound& in, const SpanContext& extracted, uint64_t now) {
  const PropagationHeaders headers(*in.headers);  // on the stack: no allocation
  // tracestate and baggage as they arrived, whether or not the service's formats read them (the
  // checks below a real service ask whether tracerig's members came through). A header sent in
  // several lines is one list (RFC 9110): joined, which allocates only then.
  std::string joined_tracestate;
  std::string joined_baggage;
  auto raw = [&headers](std::string_view name, std::string_view extracted,
                        std::string& joined) -> std::string_view {
    std::string_view first;
    size_t lines = 0;
    for (const auto& [n, v] : headers.fields()) {
      if (n != name) continue;
      if (lines++ == 0) {
        first = v;
        continue;
      }
      if (joined.empty()) joined = first;
      joined += ',';
      joined += v;
    }
    if (lines == 0) return extracted;
    return lines == 1 ? first : std::string_view(joined);
  };
  const std::string_view tracestate = raw("tracestate", extracted.trace_state, joined_tracestate);
  const std::string_view baggage = raw(kBaggageHeader, extracted.baggage, joined_baggage);
  // A delivery has no route: its destination ("orders:created") stands in its place.
  const std::string_view route = in.route != nullptr ? std::string_view(in.route->name) : in.path;
  wire_log_.Record(WireObservationView{service_.name, route, in.request_id, in.hop,
                                       in.external_caller, in.ground_truth, headers.fields(),
                                       extracted.IsValid(), extracted.trace_id, extracted.span_id,
                                       extracted.sampled(), tracestate, baggage, now});
}

void SimulatedService::RecoverGroundTruth(Inbound& in, RecoveredGroundTruth& storage) const {
  // Only what a real service sends can be recovered: a route no external route calls is called
  // by simulated services (their headers are the ground truth) or from outside (there is none).
  if (std::find(called_by_external_.begin(), called_by_external_.end(), in.route) ==
      called_by_external_.end()) {
    if (in.request_id.empty()) in.ground_truth = GroundTruthSource::kNone;
    return;
  }
  ReceivedGroundTruth received{in.request_id, in.sequence, in.hop, in.offset, {}, {}};
  in.headers->GetAll(kBaggageHeader, received.baggage_fields);
  received.trace_id = propagator_->Extract(*in.headers).trace_id;
  storage = tracerig::RecoverGroundTruth(scenario_, service_.name, in.route->name, received,
                                         external_in_flight_);
  in.request_id = storage.request_id;
  in.sequence = storage.sequence;
  in.hop = storage.hop;
  in.offset = storage.offset;
  in.ground_truth = storage.source;
  in.external_caller = storage.external_caller;
}

void SimulatedService::OnRequest(Inbound in) {
  requests_++;
  const uint64_t now = clock_.NowUnixNano();
  const bool tied = in.ground_truth != GroundTruthSource::kNone && !in.request_id.empty();
  // Tied to no root request: decided on a count of such requests, so still deterministic.
  const uint64_t sequence = tied ? ParseDecimal(in.sequence) : untied_++;
  const uint64_t offset = ParseDecimal(in.offset);
  auto state = std::make_shared<InFlight>(
      ioc_, DecisionPoint(scenario_.seed, sequence, tied ? in.hop : "untied", service_.name));
  state->route = in.route;
  state->steps = &in.route->calls;
  state->respond = std::move(in.respond);
  state->sequence = sequence;
  state->request_id = in.request_id;
  state->sequence_text = in.sequence;
  state->offset_text = in.offset;
  state->hop = in.hop;

  // What arrived is recorded as the service's formats read it, new-trace fault or not.
  SpanContext parent = propagator_->Extract(*in.headers);
  RecordWire(in, parent, now);
  DecideFaults(*state, offset, parent,
               format_readers_.empty() ? std::string_view() : IncomingFormat(*in.headers));
  if (!forward_headers_.empty()) CopyForwarded(*in.headers, *state);
  if ((state->faults & Bit(FaultKind::kNewTrace)) != 0) parent = SpanContext{};
  state->baggage = parent.baggage;
  // Debug records the request whatever the sampler says (B3 allows it without ids too).
  state->debug = parent.debug;
  const bool sampled =
      SamplingDecision(state->point, service_.sampling,
                       parent.IsValid() ? std::optional<bool>(parent.sampled()) : std::nullopt) ||
      state->debug;
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
    span.parent_span_id = SpanId{state->point.Stream(DecisionStream::kFaultValue).NextNonZero()};
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
  // Without ground truth the attributes are left out, never recorded empty.
  if (!state->request_id.empty()) {
    SetAttribute(span.attributes, kRequestIdAttribute, state->request_id);
  }
  if (!state->hop.empty()) SetAttribute(span.attributes, kHopAttribute, state->hop);

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

std::string_view SimulatedService::IncomingFormat(const HeaderReader& headers) const {
  for (const auto& [format, reader] : format_readers_) {
    if (reader->Extract(headers).IsValid()) return format;
  }
  return {};
}

void SimulatedService::CopyForwarded(const HeaderReader& headers, InFlight& state) const {
  std::vector<std::string_view> values;
  for (std::string_view name : forward_headers_) {
    values.clear();
    headers.GetAll(name, values);
    if (values.empty()) continue;
    std::string joined(values.front());  // several lines are one list (RFC 9110)
    for (size_t i = 1; i < values.size(); ++i) {
      joined += ',';
      joined += values[i];
    }
    state.forwarded.emplace_back(name, std::move(joined));
  }
}

void SimulatedService::DecideFaults(InFlight& state, uint64_t offset, const SpanContext& incoming,
                                    std::string_view format) {
  const std::optional<bool> incoming_sampled =
      incoming.IsValid() ? std::optional<bool>(incoming.sampled()) : std::nullopt;
  for (const ServiceFault& f : faults_) {
    const Fault& fault = *f.fault;
    // Consumer faults act on deliveries (service_consumer.cc); a consumer's work has no route.
    if (IsConsumerFault(fault.kind)) continue;
    if (!fault.route.empty() && (state.route == nullptr || fault.route != state.route->name)) {
      continue;
    }
    if (!FaultConditionHolds(fault.when, incoming_sampled, format)) continue;
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

void SimulatedService::RunStep(const std::shared_ptr<InFlight>& state) {
  const auto& steps = *state->steps;
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

void SimulatedService::NextExecution(const std::shared_ptr<CallRun>& run) {
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

void SimulatedService::StartAttempt(const std::shared_ptr<CallRun>& run) {
  if (run->call.IsPublish()) {
    StartPublish(run);
    return;
  }
  const InFlight& state = *run->request;
  const Call& call = run->call;
  const PreparedCall& prepared = calls_.at(&call);
  auto attempt = std::make_shared<Attempt>(ioc_, run);
  attempt->hop = run->attempt == 0 ? run->call_hop : RetryHop(run->call_hop, run->attempt);
  Span& client = attempt->client;
  client.trace_id = state.server.trace_id;
  client.span_id = SpanId{id_rng_.NextNonZero()};
  if (run->attempt == 0) run->first_client = client.span_id;
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
  if (!state.request_id.empty()) {
    client.attributes.push_back({std::string(kRequestIdAttribute), state.request_id});
  }
  if (!state.hop.empty()) client.attributes.push_back({std::string(kHopAttribute), attempt->hop});
  if (prepared.external && !state.request_id.empty()) {
    attempt->in_flight = external_in_flight_.Register(ExternalRequest{
        call.service, call.route, state.request_id, state.sequence_text,
        state.hop.empty() ? std::string() : attempt->hop, state.offset_text, client.trace_id});
  }
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

void SimulatedService::WriteOutboundHeaders(const Attempt& attempt, HeaderWriter& out) {
  const InFlight& state = *attempt.run->request;
  const bool tied = !state.request_id.empty();
  if (tied) {
    out.Set(kRequestIdHeader, state.request_id);
    out.Set(kSequenceHeader, state.sequence_text);
    if (!state.hop.empty()) out.Set(kHopHeader, attempt.hop);
    if (!state.offset_text.empty()) out.Set(kOffsetHeader, state.offset_text);
  }
  const CallRun& run = *attempt.run;
  SpanContext context{attempt.client.trace_id,
                      attempt.client.span_id,
                      static_cast<uint8_t>(attempt.client.flags & 0xff),
                      attempt.client.trace_state,
                      {}};
  context.debug = state.debug;
  const Propagator* propagator = injector_.get();
  bool corrupt = false;
  bool drop_baggage = false;
  OutboundWriter filtered(out);
  const PreparedCall& prepared = calls_.at(&run.call);
  // A publish's callee is the service consuming the message.
  const std::string& callee = run.call.IsPublish() ? prepared.consumer_service : run.call.service;
  for (const ServiceFault* f : state.edge_faults) {
    const Fault& fault = *f->fault;
    if (!fault.callee.empty() && fault.callee != callee) continue;
    // Only retries carry a stale context: the first attempt is untouched, so not counted.
    if (fault.kind == FaultKind::kStaleRetryContext && run.attempt == 0) continue;
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
        // Debug implies sampled: a context sent unsampled carries no debug either.
        context.trace_flags &= static_cast<uint8_t>(~0x01);
        context.debug = false;
        break;
      case FaultKind::kDropTracestate:
        filtered.drop_tracestate = true;
        break;
      case FaultKind::kDropBaggage:
        drop_baggage = true;
        filtered.drop_baggage = true;
        break;
      case FaultKind::kStaleRetryContext:
        context.span_id = run.first_client;
        break;
      case FaultKind::kForceSampled:
        context.trace_flags |= 0x01;
        break;
      case FaultKind::kDebugIgnored:
        context.debug = false;  // the sampled flag stays as the service decided
        break;
      case FaultKind::kUrlencode:
        filtered.urlencode = true;
        break;
      default:
        break;
    }
  }
  // drop-context wins over every other edge fault; the edge then carries no trace context at
  // all, forwarded headers included.
  if (propagator == nullptr) return;
  // Into a real service: the ground truth also as W3C baggage (which SDKs forward) and a
  // tracestate member, so what arrives below it can be tied and checked. drop-baggage drops the
  // scenario's members only: tracerig's ground-truth members are its instrument, not the system
  // under test, and without them nothing below the real service could be tied to its request.
  // drop-tracestate drops the whole tracestate, tracerig's member included (baggage suffices).
  const bool external = prepared.external && tied && !state.hop.empty();
  if (external) {
    // A baggage the service forwards without reading it rides in the same header, so it is the
    // one the ground truth joins (the forwarded copy itself is then left out: the header is taken).
    std::string_view base = state.baggage;
    for (const auto& [name, value] : state.forwarded) {
      if (base.empty() && name == kBaggageHeader) base = value;
    }
    context.baggage = WithGroundTruthBaggage(drop_baggage ? std::string_view() : base,
                                             state.request_id, state.sequence_text, attempt.hop,
                                             state.offset_text);
    context.trace_state = WithGroundTruthTracestate(context.trace_state, state.request_id);
  } else if (!drop_baggage) {
    context.baggage = state.baggage;
  }
  const bool filter = filtered.drop_tracestate || filtered.drop_baggage || filtered.urlencode ||
                      !state.forwarded.empty();
  HeaderWriter& writer = filter ? static_cast<HeaderWriter&>(filtered) : out;
  propagator->Inject(context, writer);
  if (corrupt) WriteCorrupt(service_.Injects(), context, writer);
  // Whatever the service's own formats: baggage is how a real service passes the ground truth on.
  if (external) filtered.SetGroundTruthBaggage(context.baggage);
  for (const auto& [name, value] : state.forwarded) filtered.Forward(name, value);
}

void SimulatedService::OnAttemptDone(const std::shared_ptr<Attempt>& attempt, CallOutcome outcome) {
  if (attempt->done) return;  // the other of answer and timeout came first
  attempt->done = true;
  attempt->timeout.cancel();
  if (attempt->in_flight) external_in_flight_.Unregister(*attempt->in_flight);
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
  const bool failed = !outcome.error_type.empty() ||
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

void SimulatedService::Finish(const std::shared_ptr<InFlight>& state) {
  if (state->work) {
    FinishConsume(state);
    return;
  }
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

void SimulatedService::Record(Span span, const InFlight& state) {
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

}  // namespace tracerig
