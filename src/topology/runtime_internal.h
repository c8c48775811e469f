// Private to the runtime: a simulated service (one replica of one service of the scenario), shared
// by the files that implement it. It has three parts:
// - the request logic, independent of the wire protocol (service_request.cc): OnRequest takes an
//   Inbound (route, the ground-truth values, a HeaderReader over the incoming headers and a
//   Responder), decides, records spans, applies faults and runs the route's calls; each call
//   attempt is an Attempt whose outgoing headers WriteOutboundHeaders fills through a HeaderWriter,
//   finished by OnAttemptDone with a CallOutcome (status, or an error type);
// - the HTTP transport (service_http.cc): HandleHttp turns a Beast request into an Inbound and a
//   Responder into a Beast response, SendHttp turns an Attempt into a Beast request on a
//   connection pool;
// - the gRPC transport (service_grpc.cc): HandleGrpc turns a GrpcInbound (route, metadata) into an
//   Inbound and a Responder into a gRPC status, SendGrpc turns an Attempt into a call on the
//   callee's GrpcSimClient, the call's timeout becoming its deadline.
// A service serves its own protocol; an attempt uses its callee's, so HTTP and gRPC hops mix.
// Messaging: a publish call is an attempt whose PRODUCER span and headers go into a broker message
// (service_publish.cc); a consumer's deliveries (one message, or a batch: consumer_batch.cc) run
// as an InFlight whose "server" span is a CONSUMER span, whose calls are the consumer's and whose
// end acknowledges, redelivers or dead-letters the messages (service_consumer.cc).
// Setting up, binding, connecting and stopping a service is in simulated_service.cc.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "broker/broker.h"
#include "core/clock.h"
#include "core/result.h"
#include "core/rng.h"
#include "core/span.h"
#include "core/span_sink.h"
#include "net/beast.h"
#include "net/grpc_sim.h"
#include "net/http_client.h"
#include "net/http_server.h"
#include "propagation/carrier.h"
#include "propagation/propagator.h"
#include "topology/batch_log.h"
#include "topology/decisions.h"
#include "topology/external_in_flight.h"
#include "topology/runtime_stats.h"
#include "topology/scenario.h"
#include "topology/service_target.h"
#include "topology/topology_runtime.h"

namespace tracerig {

// Whether a gRPC SERVER span's status is ERROR for this code, per the OTel RPC conventions
// (UNKNOWN, DEADLINE_EXCEEDED, UNIMPLEMENTED, INTERNAL, UNAVAILABLE, DATA_LOSS); a CLIENT span is
// ERROR for every code but OK.
bool GrpcServerSpanFails(int grpc_status);

class TopologyRuntime::SimulatedService {
 public:
  // `replica` of `replicas` (HTTP only; gRPC services have one): replica 0 listens, the others
  // join its port. `extractor` reads the service's extract formats, `injector` writes its
  // inject formats (Service::Injects(); empty: writes no context).
  SimulatedService(const Scenario& scenario, const Service& service, size_t replica,
                   size_t replicas, asio::io_context& ioc, SpanSink& sink, const Clock& clock,
                   uint64_t id_seed, std::unique_ptr<Propagator> extractor,
                   std::unique_ptr<Propagator> injector, HttpClientOptions client_options,
                   ExternalInFlight& external_in_flight, WireLog& wire_log);

  // Prepares the faults that name this service (wrong-format needs its own propagator; a
  // `when = { format = .. }` condition needs one reader per extract format).
  Status PrepareFaults();
  // Replica 0: binds the service's address. Other replicas: `primary`, the port replica 0 got.
  Status Listen(const std::optional<tcp::endpoint>& primary);

  tcp::endpoint endpoint() const { return endpoint_; }
  const std::string& name() const { return service_.name; }
  bool grpc() const { return service_.protocol == Protocol::kGrpc; }

  // `externals`: the external services' targets (TLS, Host header, URL path), by name.
  void ConnectPeers(const std::map<std::string, tcp::endpoint, std::less<>>& endpoints,
                    const std::map<std::string, ServiceTarget, std::less<>>& externals);
  void Stop();
  // Messaging. `broker` (null: the scenario uses none) is shared by every replica; `batch_log`
  // gets one record per batch. Before Subscribe and before any request.
  void AttachBroker(Broker* broker, BatchLog* batch_log) {
    broker_ = broker;
    batch_log_ = batch_log;
  }
  // Replica 0 of a service with consumers: one subscription per consumer, deliveries posted to
  // this service's io_context. Error: the broker refused one (naming the queue).
  Status Subscribe();
  // Stops the subscriptions (no delivery arrives after it returns; unacked ones go back).
  void StopConsumers();
  // After the io_context has stopped: closes the acceptor (the Stop posted above may not have run
  // before the loop stopped; an open one would still complete handshakes) and submits the spans
  // delay-export still holds back.
  void FinishStop();

  TopologyStats stats() const;
  // Messages this service handed to the broker (publishes and republished copies) that were
  // accepted, and deliveries it acknowledged: summed over services, their difference is what is
  // still queued or being processed.
  uint64_t messages_handed_over() const { return messages_handed_over_.load(); }
  uint64_t messages_acked() const { return messages_acked_.load(); }

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
    HttpClientPool* pool = nullptr;   // null: the callee has no address (transport error)
    GrpcSimClient* client = nullptr;  // gRPC callees: as `pool`
    std::string address;
    int64_t port = 0;
    std::string url_full;
    std::string host_header;  // an external callee's "host[:port]"; "" = the callee's name
    std::string full_method;  // an external gRPC callee's "/pkg.Service/Method"; "" = SimService
    // The callee is a real service: the attempt carries tracerig's ground truth as baggage and
    // tracestate too, and is registered in flight (ExternalInFlight) until it is done.
    bool external = false;
    // A publish: the service of the consumer the message reaches (edge faults name it as
    // their callee); "" when no consumer's binding matches.
    std::string consumer_service;
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
    // Where the ground truth came from (wire_log.h); kNone leaves the four above empty.
    GroundTruthSource ground_truth = GroundTruthSource::kHeaders;
    std::string_view external_caller;  // when known: the real service that made this request
  };

  struct ConsumerWork;

  // State of one request being handled; lives until the response is sent.
  struct InFlight {
    InFlight(asio::io_context& ioc, const DecisionPoint& p) : timer(ioc), point(p) {}
    const Route* route = nullptr;                  // null for a consumer's work
    const std::vector<CallStep>* steps = nullptr;  // the route's or the consumer's calls
    std::shared_ptr<ConsumerWork> work;            // a consumer's deliveries: Finish settles them
    Span server;                                   // SERVER span; a consumer's: its CONSUMER span
    Responder respond;
    asio::steady_timer timer;
    DecisionPoint point;
    uint64_t sequence = 0;
    std::string request_id;  // as received (hex)
    std::string sequence_text;
    std::string offset_text;
    std::string hop;
    std::string baggage;  // as extracted, passed on unchanged
    // The incoming context carried debug (and the service did not drop it): sampled whatever
    // the sampler said, and passed on to every call (but those with debug-ignored).
    bool debug = false;
    // Service::forward: the incoming header fields of the forwarded formats, copied (a header
    // sent in several lines joined into one list); empty when the service forwards nothing.
    std::vector<std::pair<std::string_view, std::string>> forwarded;
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
    SpanId first_client{};  // the current execution's attempt 0 CLIENT span (stale-retry-context)
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
    std::optional<ExternalInFlight::Token> in_flight;  // registered into an external callee
  };

  // The result of an attempt, as a transport reports it: a status (HTTP: 0 when no response
  // arrived; gRPC: the call's status code, which also covers transport failures and deadlines)
  // or the error type of a failure to get one.
  struct CallOutcome {
    unsigned status = 0;
    std::string error_type;  // "timeout", the transport error; empty when a response arrived
  };

  void OnRequest(Inbound in);
  // Records what arrived (the propagation headers and what `extracted` holds) in the wire log.
  void RecordWire(const Inbound& in, const SpanContext& extracted, uint64_t now);
  // Which of this service's faults apply to the request (seeded, on its intended offset, and on
  // the context it brought in for faults with a `when`: `incoming` as extracted, `format` the
  // extract format it came in, computed only when some fault asks).
  void DecideFaults(InFlight& state, uint64_t offset, const SpanContext& incoming,
                    std::string_view format);
  // The first of the service's extract formats that yields a valid context ("" when none).
  std::string_view IncomingFormat(const HeaderReader& headers) const;
  // Copies the incoming header fields of the service's forward formats into `state`.
  void CopyForwarded(const HeaderReader& headers, InFlight& state) const;
  void RunStep(const std::shared_ptr<InFlight>& state);
  // Starts the run's next execution that its probability lets happen, or ends the run.
  void NextExecution(const std::shared_ptr<CallRun>& run);
  void StartAttempt(const std::shared_ptr<CallRun>& run);
  // The trace context (and ground truth) an attempt carries, after this request's edge faults.
  void WriteOutboundHeaders(const Attempt& attempt, HeaderWriter& out);
  void OnAttemptDone(const std::shared_ptr<Attempt>& attempt, CallOutcome outcome);
  void Finish(const std::shared_ptr<InFlight>& state);
  // Applies clock-skew and delay-export, then exports a sampled span.
  void Record(Span span, const InFlight& state);

  // --- The HTTP transport. ---

  void HandleHttp(HttpRequest&& request, HttpResponder respond);
  // For a request without tracerig's headers, or to a route a real service calls (which may
  // pass them through unchanged): recovers its ground truth (external_in_flight.h) into
  // `storage` and points `in`'s ground truth, source and external caller at it.
  void RecoverGroundTruth(Inbound& in, RecoveredGroundTruth& storage) const;
  void SendHttp(const std::shared_ptr<Attempt>& attempt, const PreparedCall& prepared);

  // --- The gRPC transport. ---

  void HandleGrpc(GrpcInbound inbound, GrpcRespond respond);
  void SendGrpc(const std::shared_ptr<Attempt>& attempt, const PreparedCall& prepared);

  // --- Messaging: publishing (service_publish.cc). ---

  // A publish call's execution: its PRODUCER span (Attempt::client) and message.
  void StartPublish(const std::shared_ptr<CallRun>& run);
  void OnPublishDone(const std::shared_ptr<Attempt>& attempt, const Status& status);
  // Republishes `message` (a redelivery or a dead-lettered copy); failures are counted.
  void Republish(OutgoingMessage message);

  // --- Messaging: consuming (service_consumer.cc, consumer_batch.cc). ---

  // One consumer of this service (replica 0): its subscription and the batch being collected.
  struct ConsumerRun {
    ConsumerRun(asio::io_context& ioc, const Consumer& c) : consumer(c), batch_timer(ioc) {}
    const Consumer& consumer;
    std::unique_ptr<Subscription> subscription;
    std::vector<Delivery> batch;  // collected, not yet processed (batch consumers)
    asio::steady_timer batch_timer;
    uint64_t batch_generation = 0;  // a timer of an earlier batch flushes nothing
  };

  // A delivery's tracerig ground truth, from its headers.
  struct MessageTruth {
    std::string request_id, sequence, hop, offset;  // hop: the publish's (H)
    std::string destination;                        // "{exchange}:{routing key}" as first published
    std::string delivery_hop;                       // H, Hd<k>, Hq, Hqd<k>
    uint32_t delivery = 0;                          // k of tracerig-delivery (0: first delivery)
    std::string dead_letter_of;  // the queue that dead-lettered it; "" when not dead-lettered
  };

  // The deliveries one CONSUMER span processes (one, or a batch), until they are settled.
  struct ConsumerWork {
    ConsumerRun* run = nullptr;
    std::vector<Delivery> deliveries;
    std::vector<MessageTruth> truths;   // one per delivery
    std::vector<SpanContext> contexts;  // extracted, one per delivery
    std::vector<DecisionPoint> points;  // at each delivery's hop
    uint32_t consumer_faults = 0;       // Bit(kind) of the consumer faults that apply
  };

  void OnDelivery(ConsumerRun& run, Delivery delivery);
  MessageTruth TruthOf(const Delivery& delivery) const;
  // Whether consumer fault `kind` applies at `point` for a message of `run`'s consumer (the
  // fault's queue, when it names one, is that consumer's queue or, dlq-drops-headers, its
  // dead-letter queue).
  bool ConsumerFaultApplies(FaultKind kind, const Consumer& consumer, const DecisionPoint& point,
                            std::string_view offset, const SpanContext& incoming,
                            const HeaderReader& headers) const;
  // Builds the InFlight of `work` (ground truth of its first delivery), records what arrived,
  // its CONSUMER span (single: child of the message context; batch: see StartBatchSpan), then
  // waits the consumer's latency and runs its calls.
  void StartConsume(std::shared_ptr<ConsumerWork> work);
  // The batch CONSUMER span's parent and links (consumer_batch.cc).
  void StartBatchSpan(InFlight& state, bool& sampled);
  void CollectBatch(ConsumerRun& run, Delivery delivery);
  void FlushBatch(ConsumerRun& run);
  // After the calls: the error decision, the CONSUMER span, then each delivery is acked and,
  // when the processing failed, redelivered or dead-lettered.
  void FinishConsume(const std::shared_ptr<InFlight>& state);
  void Resettle(const ConsumerRun& run, const InFlight& state, const Delivery& delivery,
                const MessageTruth& truth, const DecisionPoint& point);

  struct Delayed {
    Delayed(asio::io_context& ioc, Span s) : timer(ioc), span(std::move(s)) {}
    asio::steady_timer timer;
    Span span;
  };

  // Replica 0's span-id stream depends on the seed and the service only; the others get streams
  // of their own, so no two replicas hand out the same ids.
  static uint64_t IdSeed(uint64_t id_seed, std::string_view service, size_t replica);

  const Scenario& scenario_;
  const Service& service_;
  size_t replica_;
  asio::io_context& ioc_;
  SpanSink& sink_;
  const Clock& clock_;
  Rng id_rng_;
  std::unique_ptr<Propagator> propagator_;  // extracts (the service's extract formats)
  std::unique_ptr<Propagator> injector_;    // injects (Service::Injects())
  // The header names of the service's forward formats (Service::forward).
  std::vector<std::string_view> forward_headers_;
  // One reader per extract format, in extraction order: only when a fault's `when` names a format.
  std::vector<std::pair<std::string_view, std::unique_ptr<Propagator>>> format_readers_;
  HttpClientOptions client_options_;
  WireLog& wire_log_;                           // the runtime's, shared by every service
  std::unique_ptr<HttpServer> http_server_;     // http services
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
  ExternalInFlight& external_in_flight_;
  // Routes of this service that some external service's route calls.
  std::vector<const Route*> called_by_external_;
  // Decision points of requests tied to no root request (GroundTruthSource::kNone).
  std::atomic<uint64_t> untied_{0};
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
  Broker* broker_ = nullptr;
  BatchLog* batch_log_ = nullptr;
  std::vector<std::unique_ptr<ConsumerRun>> consumers_;  // replica 0's
  std::atomic<uint64_t> messages_published_{0};
  std::atomic<uint64_t> messages_handed_over_{0};  // publishes and republishes, until refused
  std::atomic<uint64_t> messages_acked_{0};
  std::atomic<uint64_t> publish_failures_{0};
  std::atomic<uint64_t> messages_consumed_{0};
  std::atomic<uint64_t> messages_redelivered_{0};
  std::atomic<uint64_t> messages_dead_lettered_{0};
  std::atomic<uint64_t> batches_{0};
};

}  // namespace tracerig
