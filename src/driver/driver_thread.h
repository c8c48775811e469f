// One load-driver thread (DriverThread) and the run context every thread reads: private to
// load_driver.cc, which starts the threads and merges their results (LoadDriver::Impl).
#pragma once

#include <fmt/format.h>

#include <atomic>
#include <chrono>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

#include "core/rng.h"
#include "driver/entry_picker.h"
#include "driver/load_driver.h"
#include "driver/transport_errors.h"
#include "net/address.h"
#include "net/beast_carrier.h"
#include "net/error_reason.h"
#include "net/grpc_sim.h"
#include "net/http_client.h"
#include "propagation/baggage.h"
#include "propagation/metadata_carrier.h"
#include "propagation/registry.h"
#include "propagation/w3c.h"
#include "topology/expected_tree.h"
#include "topology/ground_truth.h"

namespace tracerig::driver_internal {

inline constexpr uint64_t kTickNs = 50'000'000;  // how often a thread checks for stop and the drain

// What every driver thread reads and nobody writes during the run (except the sequence counter).
struct DriverRunContext {
  const Scenario& scenario;
  const Schedule* schedule;  // null for the closed loop
  SpanSink& sink;
  const Clock& clock;
  DriverOptions options;
  EntryPicker picker;
  bool closed = false;
  uint32_t threads = 1;
  uint32_t connections = 0;  // per entry per thread; 0 = unbounded
  const std::atomic<bool>* stop = nullptr;
  uint64_t publish_interval_ns = 0;  // 0 = nobody reads progress
  uint64_t timeline_interval_ns = LatencyTimeline::kDefaultIntervalNs;
  uint64_t start_mono = 0;
  uint64_t start_unix = 0;
  std::chrono::steady_clock::time_point start_steady{};
  std::atomic<uint64_t> next_sequence{0};  // closed loop: sequences in send order, over all threads
};

// One event-loop thread's share of the load: open loop, requests n with n % threads == index;
// closed loop, users u with u % threads == index. Everything here is touched by its own thread
// only, except the snapshot published for progress (under `snapshot_mu_`).
class DriverThread {
 public:
  DriverThread(DriverRunContext& run, uint32_t index, const std::vector<ServiceTarget>& targets)
      : run_(run), index_(index), timer_(ioc_), timeline_(run.timeline_interval_ns) {
    const Scenario& scenario = run.scenario;
    for (size_t i = 0; i < targets.size(); ++i) {
      const ServiceTarget& target = targets[i];
      auto entry = std::make_unique<EntryConnections>();
      const LoadEntry& load_entry = scenario.load.entries[i];
      const Service* service = scenario.FindService(load_entry.service);
      entry->address = target.host;
      entry->port = target.port;
      entry->external = target.external;
      entry->target_text = HostPort{target.host, target.port}.ToString();
      PrepareContext(*entry, load_entry, service);
      if (service != nullptr && service->protocol == Protocol::kGrpc) {
        entry->grpc = std::make_unique<GrpcSimClient>(ioc_, entry->target_text,
                                                      target.grpc_tls.get());
        // External entries with a route "pkg.Service/Method" call that method.
        if (auto method = target.external ? FullGrpcMethod(load_entry.route) : std::nullopt) {
          entry->grpc_method = std::move(method->path);
          entry->rpc_service = std::move(method->service);
          entry->rpc_method = std::move(method->method);
        }
        entries_.push_back(std::move(entry));
        continue;
      }
      HttpClientOptions client = run.options.client;
      if (target.tls) {
        client.tls = target.tls_context;
        client.tls_host = target.host;
      }
      entry->pool = std::make_unique<HttpClientPool>(ioc_, target.endpoint, std::move(client));
      const HttpRouteTarget route = RouteToHttp(load_entry.route);
      entry->verb = http::string_to_verb(std::string(route.method));
      entry->method = std::string(route.method);
      entry->path = target.url_path + route.path;
      entry->url = EntryUrl(target, route.path);
      entry->host_header = target.authority.empty() ? load_entry.service : target.authority;
      entries_.push_back(std::move(entry));
    }
    if (run.closed) {
      for (uint32_t u = index; u < scenario.load.virtual_users; u += run.threads) {
        users_.push_back(std::make_unique<asio::steady_timer>(ioc_));
      }
    } else if (run.schedule != nullptr && run.schedule->size() > index) {
      slots_.resize((run.schedule->size() - index + run.threads - 1) / run.threads);
    }
  }

  void Run() {
    if (run_.closed) {
      for (size_t u = 0; u < users_.size(); ++u) StartUser(u);
    }
    Tick();
    ioc_.run();
    Publish();
  }

  // Adds this thread's last published figures to `progress` and its latency to `latency`.
  void AddSnapshot(DriverProgress& progress, LatencyHistogram& latency) {
    std::lock_guard lock(snapshot_mu_);
    progress.scheduled += snapshot_.scheduled;
    progress.sent += snapshot_.sent;
    progress.completed += snapshot_.completed;
    progress.errors += snapshot_.errors;
    progress.in_flight += snapshot_.in_flight;
    progress.queued += snapshot_.queued;
    latency.Merge(snapshot_latency_);
  }

  // Adds this thread's results to `result` (the ledger separately: it is merged in order).
  void AddResults(DriverResult& result) const {
    result.corrected.Merge(corrected_);
    result.uncorrected.Merge(uncorrected_);
    result.schedule_lag.Merge(schedule_lag_);
    result.timeline.Merge(timeline_);
    result.sent += sent_;
    result.warmup += warmup_;
    result.ok += ok_;
    result.http_errors += http_errors_;
    result.transport_errors += transport_errors_;
    result.unsent += unsent_;
    result.root_spans_unsampled += root_spans_unsampled_;
    result.queued += queued_;
    for (const Slot& slot : slots_) {
      if (slot.sent && !slot.done) result.unfinished++;
    }
    if (last_end_mono_ > run_.start_mono) {
      result.elapsed_ns = std::max(result.elapsed_ns, last_end_mono_ - run_.start_mono);
    }
    result.interrupted = result.interrupted || interrupted_;
  }

  // The ledger entry of slot k, if that request was sent (unfinished ones marked as failed).
  // Unfinished ones go to DriverOptions::on_complete here, the others went when they finished.
  const LedgerEntry* SentEntry(size_t k) {
    if (k >= slots_.size() || !slots_[k].sent) return nullptr;
    if (!slots_[k].done) {
      ForgetExternal(slots_[k]);
      slots_[k].entry.outcome = RequestOutcome::kTransportError;
      if (run_.options.on_complete) run_.options.on_complete(slots_[k].entry);
    }
    return &slots_[k].entry;
  }
  size_t slot_count() const { return slots_.size(); }

  const TransportErrorTally& transport_error_tally() const { return error_tally_; }

 private:
  struct Slot {
    LedgerEntry entry;
    bool sent = false;
    bool done = false;
    ExternalInFlight::Token external = 0;  // registered in flight into an external entry
  };

  // The request of `slot` is no longer in flight into its external entry.
  void ForgetExternal(Slot& slot) {
    if (slot.external == 0) return;
    run_.options.external_in_flight->Unregister(slot.external);
    slot.external = 0;
  }

  // A request whose time has come, possibly waiting for a connection.
  struct Outgoing {
    size_t slot = 0;
    uint32_t entry = 0;
    uint64_t intended_offset = 0;
    int64_t user = -1;  // closed loop: the user waiting for the answer
    Span root;
    HttpRequest request;    // HTTP entries
    GrpcMetadata metadata;  // gRPC entries
  };

  struct EntryConnections {
    std::unique_ptr<HttpClientPool> pool;    // HTTP entries
    std::unique_ptr<GrpcSimClient> grpc;     // gRPC entries: one channel for every call
    std::unique_ptr<Propagator> propagator;  // null: the entry is sent no trace context
    // The context every request starts from (flags, debug, tracestate, baggage); each request
    // sets its ids in place, so a plain entry's request copies no string (PrepareContext).
    SpanContext start;
    bool sampled = true;  // the flag sent is sampled or debug: ledger.sampled, root span exported
    std::string address;  // of the entry service, for server.address
    int64_t port = 0;
    std::string target_text;  // "host:port", for error messages (and the gRPC channel)
    bool external = false;    // a real service: ground truth as baggage and tracestate too
    bool tracestate = false;  // the formats sent include tracecontext
    http::verb verb = http::verb::get;
    std::string method;
    std::string path;
    std::string url;
    std::string host_header;
    // gRPC: the full method an external entry calls ("" = SimService/Call with the route), and
    // the rpc.service / rpc.method of the root span.
    std::string grpc_method;
    std::string rpc_service{kSimRpcService};
    std::string rpc_method{kSimRpcMethod};
    uint32_t in_flight = 0;
    std::deque<Outgoing> waiting;  // bounded connections: in dispatch order
  };

  uint64_t Elapsed() const { return run_.clock.NowMonotonicNano() - run_.start_mono; }

  // What the driver sends to `load_entry`, worked out once so that a request only fills in its
  // ids: the formats (the entry's `inject`, else the service's extract formats), the flags and
  // debug bit, the starting tracestate and baggage (normalised again: a malformed list is never
  // sent; the scenario parser already rejected one with an error).
  static void PrepareContext(EntryConnections& entry, const LoadEntry& load_entry,
                             const Service* service) {
    std::vector<std::string> formats{"tracecontext"};
    if (load_entry.inject) {
      formats = *load_entry.inject;
    } else if (service != nullptr) {
      formats = service->extract;
    }
    // inject = []: no propagator, so no trace context header at all (edge-started traces).
    if (!formats.empty()) {
      auto propagator = MakePropagator(formats);
      if (propagator) entry.propagator = std::move(*propagator);
    }
    entry.tracestate = std::find(formats.begin(), formats.end(), "tracecontext") != formats.end();
    entry.sampled = load_entry.sampled != EntrySampling::kNotSampled;
    SpanContext& start = entry.start;
    start.trace_flags = entry.sampled ? 0x01 : 0x00;
    start.debug = load_entry.sampled == EntrySampling::kDebug;
    if (!load_entry.tracestate.empty()) {
      start.trace_state = ParseTracestate({load_entry.tracestate}).value_or(std::string());
    }
    if (!load_entry.baggage.empty()) start.baggage = NormaliseBaggage({load_entry.baggage});
  }

  // The context injected into an entry request: the entry's prepared one with this request's
  // ids. An external entry adds the ground truth to the baggage (whatever the formats: it goes
  // in its own header when they lack "baggage") and, when it sends tracecontext, a tracerig
  // tracestate member in front of the entry's.
  static const SpanContext& RootContext(EntryConnections& entry, const Span& root,
                                        const std::string& request_id, uint64_t sequence,
                                        uint64_t intended_offset, SpanContext& external) {
    if (entry.external) {
      external = entry.start;
      external.trace_id = root.trace_id;
      external.span_id = root.span_id;
      external.baggage =
          WithGroundTruthBaggage(entry.start.baggage, request_id, std::to_string(sequence), "0",
                                 std::to_string(intended_offset));
      if (entry.tracestate) {
        external.trace_state = WithGroundTruthTracestate(entry.start.trace_state, request_id);
      }
      return external;
    }
    entry.start.trace_id = root.trace_id;
    entry.start.span_id = root.span_id;
    return entry.start;
  }

  // Open loop: the request this thread sends next. Closed loop: unused.
  size_t NextRequest() const { return index_ + next_k_ * run_.threads; }

  void Tick() {
    const uint64_t now = Elapsed();
    if (!scheduling_done_ && run_.stop->load()) {
      scheduling_done_ = true;
      interrupted_ = true;
      DropWaiting();
    }
    if (!run_.closed) {
      const Schedule& schedule = *run_.schedule;
      while (!scheduling_done_ && NextRequest() < schedule.size() &&
             schedule.IntendedOffset(NextRequest()) <= now) {
        Dispatch(NextRequest(), next_k_, schedule.IntendedOffset(NextRequest()), -1);
        next_k_++;
      }
      if (NextRequest() >= schedule.size()) scheduling_done_ = true;
    } else if (now >= run_.scenario.load.duration_ns) {
      scheduling_done_ = true;
    }
    if (run_.publish_interval_ns != 0 && now >= next_publish_ns_) {
      next_publish_ns_ = now + run_.publish_interval_ns;
      Publish();
    }
    if (scheduling_done_) {
      if (drain_deadline_ns_ == 0) drain_deadline_ns_ = now + run_.options.drain_timeout_ns;
      if (now >= drain_deadline_ns_) DropWaiting();
      if ((in_flight_ == 0 && waiting_ == 0) || now >= drain_deadline_ns_) {
        timer_.cancel();
        for (auto& user : users_) user->cancel();
        ioc_.stop();
        return;
      }
    }
    uint64_t wake = now + kTickNs;
    if (!scheduling_done_) {
      if (!run_.closed) {
        wake = std::min(wake, run_.schedule->IntendedOffset(NextRequest()));
      } else {
        wake = std::min(wake, run_.scenario.load.duration_ns);
      }
    }
    timer_.expires_at(run_.start_steady + std::chrono::nanoseconds(wake));
    timer_.async_wait([this](beast::error_code ec) {
      if (!ec) Tick();
    });
  }

  // Closed loop: user `u` (local index) sends its next request, unless load is over.
  void StartUser(size_t u) {
    const uint64_t now = Elapsed();
    if (scheduling_done_ || now >= run_.scenario.load.duration_ns || run_.stop->load()) {
      scheduling_done_ = true;
      if (in_flight_ == 0 && waiting_ == 0) asio::post(ioc_, [this] { Tick(); });
      return;
    }
    const uint64_t sequence = run_.next_sequence.fetch_add(1, std::memory_order_relaxed);
    slots_.emplace_back();
    Dispatch(sequence, slots_.size() - 1, now, static_cast<int64_t>(u));
  }

  void Dispatch(uint64_t sequence, size_t slot_index, uint64_t intended_offset, int64_t user) {
    const DriverOptions& options = run_.options;
    sequence += options.first_sequence;
    const uint32_t entry_index = static_cast<uint32_t>(run_.picker.Pick(options.seed, sequence));
    EntryConnections& entry = *entries_[entry_index];
    const LoadEntry& load_entry = run_.scenario.load.entries[entry_index];

    LedgerEntry& ledger = slots_[slot_index].entry;
    ledger.sequence = sequence;
    ledger.entry = entry_index;
    // Ids are a function of the sequence, so threads need no shared random state.
    Rng ids(Rng::Mix(options.id_seed, sequence));
    ledger.trace_id = TraceId{ids.NextNonZero(), ids.Next()};
    ledger.root_span_id = SpanId{ids.NextNonZero()};
    ledger.request_id = ids.NextNonZero();
    // The driver's decision (the flag it sent; with inject = [] the one it would have sent).
    ledger.sampled = entry.sampled;
    ledger.intended_unix_nano = run_.start_unix + intended_offset;
    scheduled_++;
    if (!run_.closed && intended_offset >= options.warmup_ns) {
      const uint64_t now = Elapsed();
      schedule_lag_.Record(now - std::min(now, intended_offset));
    }

    Outgoing out;
    out.slot = slot_index;
    out.entry = entry_index;
    out.intended_offset = intended_offset;
    out.user = user;
    if (entry.grpc) {
      if (options.trace) PrepareGrpcCall(out, entry, load_entry, ledger, sequence, intended_offset);
    } else {
      PrepareHttpRequest(out, entry, load_entry, ledger, sequence, intended_offset);
    }
    if (run_.connections != 0 && entry.in_flight >= run_.connections) {
      entry.waiting.push_back(std::move(out));
      waiting_++;
      return;
    }
    Transmit(std::move(out), /*was_queued=*/false);
  }

  // The HTTP request of `out` and, when tracing, its root span, ground truth and trace context.
  void PrepareHttpRequest(Outgoing& out, EntryConnections& entry, const LoadEntry& load_entry,
                          const LedgerEntry& ledger, uint64_t sequence, uint64_t intended_offset) {
    out.request = HttpRequest{entry.verb, entry.path, 11};
    out.request.set(http::field::host, entry.host_header);
    out.request.set(http::field::user_agent, "tracerig-driver");
    if (!run_.options.trace) return;
    const std::string request_id = FormatRequestId(ledger.request_id);
    Span& root = out.root;
    StartRootSpan(root, entry, load_entry, ledger);
    root.attributes = {
        {"http.request.method", entry.method},
        {"url.full", entry.url},
        {"peer.service", load_entry.service},
        {std::string(kRequestIdAttribute), request_id},
        {std::string(kHopAttribute), std::string("0")},
    };
    out.request.set(std::string(kRequestIdHeader), request_id);
    out.request.set(std::string(kSequenceHeader), std::to_string(sequence));
    out.request.set(std::string(kHopHeader), "0");
    out.request.set(std::string(kOffsetHeader), std::to_string(intended_offset));
    if (entry.external) {
      root.attributes.push_back({"server.address", entry.address});
      root.attributes.push_back({"server.port", entry.port});
    }
    SpanContext external;
    const SpanContext& context =
        RootContext(entry, root, request_id, sequence, intended_offset, external);
    if (entry.propagator) {
      BeastHeaderWriter<true> writer(out.request.base());
      entry.propagator->Inject(context, writer);
    }
    // The propagator wrote the baggage if its formats include it; otherwise it goes on its own.
    if (entry.external && out.request.find(beast::string_view(kBaggageHeader.data(),
                                                              kBaggageHeader.size())) ==
                              out.request.end()) {
      out.request.set(std::string(kBaggageHeader), context.baggage);
    }
  }

  // A gRPC entry's root span and call metadata, as the simulated services make their gRPC CLIENT
  // spans (topology/service_request.cc).
  static void PrepareGrpcCall(Outgoing& out, EntryConnections& entry, const LoadEntry& load_entry,
                              const LedgerEntry& ledger, uint64_t sequence,
                              uint64_t intended_offset) {
    const std::string request_id = FormatRequestId(ledger.request_id);
    Span& root = out.root;
    StartRootSpan(root, entry, load_entry, ledger);
    root.attributes = {
        {"rpc.system", std::string("grpc")},
        {"rpc.service", entry.rpc_service},
        {"rpc.method", entry.rpc_method},
        {"peer.service", load_entry.service},
        {std::string(kRequestIdAttribute), request_id},
        {std::string(kHopAttribute), std::string("0")},
    };
    out.metadata.reserve(8);
    MetadataWriter writer(out.metadata);
    writer.Set(kRequestIdHeader, request_id);
    writer.Set(kSequenceHeader, std::to_string(sequence));
    writer.Set(kHopHeader, "0");
    writer.Set(kOffsetHeader, std::to_string(intended_offset));
    SpanContext external;
    const SpanContext& context =
        RootContext(entry, root, request_id, sequence, intended_offset, external);
    if (entry.propagator) entry.propagator->Inject(context, writer);
    if (entry.external &&
        std::none_of(out.metadata.begin(), out.metadata.end(),
                     [](const auto& kv) { return kv.first == kBaggageHeader; })) {
      writer.Set(kBaggageHeader, context.baggage);
    }
  }

  static void StartRootSpan(Span& root, const EntryConnections& entry, const LoadEntry& load_entry,
                            const LedgerEntry& ledger) {
    root.trace_id = ledger.trace_id;
    root.span_id = ledger.root_span_id;
    root.flags = entry.start.trace_flags;
    root.name = load_entry.route;
    root.kind = SpanKind::kClient;
    root.service_name = std::string(kDriverServiceName);
  }

  void Transmit(Outgoing out, bool was_queued) {
    EntryConnections& entry = *entries_[out.entry];
    entry.in_flight++;
    in_flight_++;
    sent_++;
    if (was_queued) queued_++;
    if (out.intended_offset < run_.options.warmup_ns) warmup_++;
    Slot& slot = slots_[out.slot];
    slot.sent = true;
    slot.entry.start_unix_nano = run_.clock.NowUnixNano();
    const uint64_t send_mono = run_.clock.NowMonotonicNano();
    out.root.start_unix_nano = slot.entry.start_unix_nano;
    if (entry.external && run_.options.external_in_flight != nullptr && run_.options.trace) {
      const LoadEntry& load_entry = run_.scenario.load.entries[out.entry];
      slot.external = run_.options.external_in_flight->Register(
          ExternalRequest{load_entry.service, load_entry.route,
                          FormatRequestId(slot.entry.request_id),
                          std::to_string(slot.entry.sequence), "0",
                          std::to_string(out.intended_offset), slot.entry.trace_id});
    }
    if (entry.grpc) {
      const uint64_t deadline_ns = static_cast<uint64_t>(
          std::chrono::nanoseconds(run_.options.client.request_timeout).count());
      auto done = [this, slot = out.slot, entry_index = out.entry, user = out.user,
                   intended = out.intended_offset, send_mono,
                   root = std::move(out.root)](int code, std::string message) mutable {
        OnGrpcAnswer(slot, entry_index, user, intended, send_mono, std::move(root), code,
                     message);
      };
      if (!entry.grpc_method.empty()) {
        entry.grpc->CallMethod(entry.grpc_method, std::move(out.metadata), deadline_ns,
                               std::move(done));
      } else {
        entry.grpc->Call(run_.scenario.load.entries[out.entry].route, std::move(out.metadata), 0,
                         deadline_ns, std::move(done));
      }
      return;
    }
    entry.pool->Send(
        std::move(out.request),
        [this, slot = out.slot, entry_index = out.entry, user = out.user,
         intended = out.intended_offset, send_mono,
         root = std::move(out.root)](beast::error_code ec, HttpResponse&& response) mutable {
          OnResponse(slot, entry_index, user, intended, send_mono, std::move(root), ec, response);
        });
  }

  void OnResponse(size_t slot_index, uint32_t entry_index, int64_t user, uint64_t intended_offset,
                  uint64_t send_mono, Span root, beast::error_code ec,
                  const HttpResponse& response) {
    Complete(
        slot_index, entry_index, user, intended_offset, send_mono, std::move(root),
        [&](LedgerEntry& ledger, Span& span) {
          if (ec) {
            ledger.outcome = RequestOutcome::kTransportError;
            transport_errors_++;
            const EntryConnections& failed = *entries_[entry_index];
            const TransportPhase phase = failed.pool->last_failure_phase();
            const std::string& detail = failed.pool->last_failure_detail();
            error_tally_.Count(ClassifyTransportError(ec, phase), run_.clock.NowMonotonicNano(),
                               [&] {
                                 return fmt::format("{}: {} ({})", TransportPhaseName(phase),
                                                    detail.empty() ? ec.message() : detail,
                                                    failed.target_text);
                               });
            span.status_code = StatusCode::kError;
            span.status_message = ec.message();
            span.attributes.push_back({"error.type", ec.message()});
            return;
          }
          ledger.http_status = static_cast<int>(response.result_int());
          span.attributes.push_back({"http.response.status_code", int64_t{ledger.http_status}});
          if (ledger.http_status >= 200 && ledger.http_status < 300) {
            ledger.outcome = RequestOutcome::kOk;
            ok_++;
          } else {
            ledger.outcome = RequestOutcome::kHttpError;
            http_errors_++;
            if (ledger.http_status >= 500) span.status_code = StatusCode::kError;
          }
        });
  }

  // A gRPC entry's answer: every non-OK status is an error for a client (as in the simulated
  // services), counted with the HTTP errors (DriverResult::http_errors), except an UNAVAILABLE
  // whose message says no server was reached: a transport error, by reason.
  void OnGrpcAnswer(size_t slot_index, uint32_t entry_index, int64_t user, uint64_t intended_offset,
                    uint64_t send_mono, Span root, int code, const std::string& message) {
    Complete(slot_index, entry_index, user, intended_offset, send_mono, std::move(root),
             [&](LedgerEntry& ledger, Span& span) {
               ledger.http_status = GrpcStatusToHttp(code);
               span.attributes.push_back({"rpc.grpc.status_code", int64_t{code}});
               const EntryConnections& target = *entries_[entry_index];
               if (auto kind = ClassifyGrpcTransportFailure(code, message)) {
                 // Never reached a server: a transport error, by reason, as for HTTP entries.
                 ledger.outcome = RequestOutcome::kTransportError;
                 transport_errors_++;
                 error_tally_.Count(*kind, run_.clock.NowMonotonicNano(), [&] {
                   return fmt::format("{} ({})", message, target.target_text);
                 });
                 span.status_code = StatusCode::kError;
                 span.status_message = message;
                 span.attributes.push_back(
                     {"error.type", std::string(TransportErrorKindName(*kind))});
               } else if (code == kGrpcOk) {
                 ledger.outcome = RequestOutcome::kOk;
                 ok_++;
               } else {
                 ledger.outcome = RequestOutcome::kHttpError;
                 http_errors_++;
                 span.status_code = StatusCode::kError;
                 span.attributes.push_back({"error.type", GrpcStatusName(code)});
               }
               const EntryConnections& entry = *entries_[entry_index];
               span.attributes.push_back({"server.address", entry.address});
               span.attributes.push_back({"server.port", entry.port});
             });
  }

  // Everything a finished request does whatever its protocol; `settle(ledger, root)` records the
  // outcome (ledger, counters, root span status and attributes).
  template <typename Settle>
  void Complete(size_t slot_index, uint32_t entry_index, int64_t user, uint64_t intended_offset,
                uint64_t send_mono, Span root, Settle&& settle) {
    EntryConnections& entry = *entries_[entry_index];
    entry.in_flight--;
    in_flight_--;
    completed_++;
    Slot& slot = slots_[slot_index];
    slot.done = true;
    ForgetExternal(slot);
    const uint64_t end_mono = run_.clock.NowMonotonicNano();
    LedgerEntry& ledger = slot.entry;
    ledger.end_unix_nano = run_.clock.NowUnixNano();
    const bool measured = intended_offset >= run_.options.warmup_ns;
    uint64_t corrected = end_mono - send_mono;  // the closed loop cannot correct
    if (measured) {
      uncorrected_.Record(corrected);
      if (!run_.closed) {
        const uint64_t end = end_mono - run_.start_mono;
        corrected = end - std::min(end, intended_offset);
      }
      corrected_.Record(corrected);
    }
    last_end_mono_ = std::max(last_end_mono_, end_mono);
    root.end_unix_nano = ledger.end_unix_nano;
    settle(ledger, root);
    timeline_.Record(intended_offset, corrected, ledger.outcome != RequestOutcome::kOk, measured);
    if (run_.options.on_complete) run_.options.on_complete(ledger);
    // The driver's CLIENT span is recorded as a sampling client records its call: exported when
    // it decided sampled or debug, and with inject = [] too (a client that sends no context
    // still traced its call; the span sits alone in its trace, the entry having started another).
    if (run_.options.trace && entry.sampled) {
      run_.sink.Submit(std::move(root));
    } else if (run_.options.trace) {
      root_spans_unsampled_++;
    }
    // The connection (gRPC: the call) just freed goes to the oldest waiting request.
    if (!entry.waiting.empty()) {
      Outgoing next = std::move(entry.waiting.front());
      entry.waiting.pop_front();
      waiting_--;
      Transmit(std::move(next), /*was_queued=*/true);
    }
    if (user >= 0) {
      const auto u = static_cast<size_t>(user);
      if (run_.scenario.load.think_time_ns == 0) {
        StartUser(u);
      } else {
        users_[u]->expires_after(std::chrono::nanoseconds(run_.scenario.load.think_time_ns));
        users_[u]->async_wait([this, u](beast::error_code ec) {
          if (!ec) StartUser(u);
        });
      }
    }
    if (scheduling_done_ && in_flight_ == 0 && waiting_ == 0) {
      // Finish promptly instead of waiting for the next tick.
      asio::post(ioc_, [this] { Tick(); });
    }
  }

  // At an interrupt or the drain deadline: requests still waiting for a connection are never sent.
  void DropWaiting() {
    for (auto& entry : entries_) {
      unsent_ += entry->waiting.size();
      entry->waiting.clear();
    }
    waiting_ = 0;
  }

  void Publish() {
    std::lock_guard lock(snapshot_mu_);
    snapshot_.scheduled = scheduled_;
    snapshot_.sent = sent_;
    snapshot_.completed = completed_;
    snapshot_.errors = http_errors_ + transport_errors_;
    snapshot_.in_flight = in_flight_;
    snapshot_.queued = waiting_;
    snapshot_latency_ = run_.closed ? uncorrected_ : corrected_;
  }

  DriverRunContext& run_;
  const uint32_t index_;
  asio::io_context ioc_{1};
  asio::steady_timer timer_;
  std::vector<std::unique_ptr<EntryConnections>> entries_;
  std::vector<std::unique_ptr<asio::steady_timer>> users_;  // closed loop: think timers
  // Open loop: slot k holds request index_ + k * threads. Closed loop: in this thread's send order,
  // growing without moving what is there (a deque), which matters at wrk-like rates.
  std::deque<Slot> slots_;
  size_t next_k_ = 0;
  bool scheduling_done_ = false;
  bool interrupted_ = false;
  uint64_t drain_deadline_ns_ = 0;
  uint64_t next_publish_ns_ = 0;
  uint64_t last_end_mono_ = 0;
  uint64_t scheduled_ = 0;
  uint64_t in_flight_ = 0;
  uint64_t waiting_ = 0;
  uint64_t sent_ = 0;
  uint64_t queued_ = 0;
  uint64_t unsent_ = 0;
  uint64_t root_spans_unsampled_ = 0;
  uint64_t warmup_ = 0;
  uint64_t completed_ = 0;
  uint64_t ok_ = 0;
  uint64_t http_errors_ = 0;
  uint64_t transport_errors_ = 0;
  TransportErrorTally error_tally_;
  LatencyHistogram corrected_;
  LatencyHistogram uncorrected_;
  LatencyHistogram schedule_lag_;
  LatencyTimeline timeline_;

  std::mutex snapshot_mu_;
  DriverProgress snapshot_;  // counters only
  LatencyHistogram snapshot_latency_;
};

}  // namespace tracerig::driver_internal
