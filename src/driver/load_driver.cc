#include "driver/load_driver.h"

#include <fmt/format.h>

#include "core/rng.h"
#include "driver/entry_picker.h"
#include "driver/schedule.h"
#include "propagation/registry.h"
#include "net/beast_carrier.h"
#include "topology/expected_tree.h"
#include "topology/ground_truth.h"

namespace tracerig {
namespace {

constexpr uint64_t kTickNs = 50'000'000;  // how often the loop checks for stop and reports progress

}  // namespace

class LoadDriver::Impl {
 public:
  Impl(const Scenario& scenario, std::vector<tcp::endpoint> endpoints,
       std::unique_ptr<Schedule> schedule, SpanSink& sink, const Clock& clock, DriverOptions options)
      : scenario_(scenario),
        sink_(sink),
        clock_(clock),
        options_(options),
        schedule_owner_(std::move(schedule)),
        schedule_(*schedule_owner_),
        picker_(Weights(scenario)),
        id_rng_(options.id_seed),
        timer_(ioc_) {
    for (size_t i = 0; i < endpoints.size(); ++i) {
      pools_.push_back(std::make_unique<HttpClientPool>(ioc_, endpoints[i], options.client));
      const LoadEntry& entry = scenario_.load.entries[i];
      const Service* service = scenario_.FindService(entry.service);
      auto propagator = MakePropagator(service ? service->propagation
                                               : std::vector<std::string>{"tracecontext"});
      propagators_.push_back(propagator ? std::move(*propagator) : nullptr);
    }
    slots_.resize(schedule_.size());
  }

  DriverResult Run(const std::atomic<bool>& stop,
                   const std::function<void(const DriverProgress&)>& progress,
                   uint64_t progress_interval_ns) {
    stop_ = &stop;
    progress_ = &progress;
    progress_interval_ns_ = progress_interval_ns;
    start_mono_ = clock_.NowMonotonicNano();
    start_steady_ = std::chrono::steady_clock::now();
    start_unix_ = clock_.NowUnixNano();
    next_progress_ns_ = progress_interval_ns;
    Tick();
    ioc_.run();
    return Collect();
  }

 private:
  static std::vector<double> Weights(const Scenario& scenario) {
    std::vector<double> w;
    for (const auto& e : scenario.load.entries) w.push_back(e.weight);
    return w;
  }

  uint64_t Elapsed() const { return clock_.NowMonotonicNano() - start_mono_; }

  // Sends every request whose intended time has come, then sleeps until the next one (or a tick).
  void Tick() {
    const uint64_t now = Elapsed();
    if (!scheduling_done_ && stop_->load()) {
      scheduling_done_ = true;
      interrupted_ = true;
    }
    while (!scheduling_done_ && next_ < schedule_.size() && schedule_.IntendedOffset(next_) <= now) {
      Send(next_++);
    }
    if (next_ >= schedule_.size()) scheduling_done_ = true;
    if (*progress_ && now >= next_progress_ns_) {
      next_progress_ns_ = now + progress_interval_ns_;
      (*progress_)(Progress(now));
    }
    if (scheduling_done_) {
      if (drain_deadline_ns_ == 0) drain_deadline_ns_ = now + options_.drain_timeout_ns;
      if (in_flight_ == 0 || now >= drain_deadline_ns_) {
        timer_.cancel();
        ioc_.stop();
        return;
      }
    }
    uint64_t wake = now + kTickNs;
    if (!scheduling_done_ && next_ < schedule_.size()) {
      wake = std::min(wake, schedule_.IntendedOffset(next_));
    }
    timer_.expires_at(start_steady_ + std::chrono::nanoseconds(wake));
    timer_.async_wait([this](beast::error_code ec) {
      if (!ec) Tick();
    });
  }

  DriverProgress Progress(uint64_t now) const {
    DriverProgress p;
    p.elapsed_ns = now;
    p.scheduled = next_;
    p.completed = completed_;
    p.errors = http_errors_ + transport_errors_;
    p.in_flight = in_flight_;
    return p;
  }

  void Send(size_t n) {
    const uint64_t intended_offset = schedule_.IntendedOffset(n);
    const uint32_t entry_index = static_cast<uint32_t>(picker_.Pick(options_.seed, n));
    const LoadEntry& entry = scenario_.load.entries[entry_index];
    auto target = RouteToHttp(entry.route);

    LedgerEntry& ledger = slots_[n].entry;
    slots_[n].sent = true;
    ledger.sequence = n;
    ledger.entry = entry_index;
    ledger.trace_id = TraceId{id_rng_.NextNonZero(), id_rng_.Next()};
    ledger.root_span_id = SpanId{id_rng_.NextNonZero()};
    ledger.request_id = id_rng_.NextNonZero();
    ledger.sampled = true;
    ledger.intended_unix_nano = start_unix_ + intended_offset;
    ledger.start_unix_nano = clock_.NowUnixNano();
    const uint64_t send_mono = clock_.NowMonotonicNano();
    if (intended_offset >= options_.warmup_ns) {
      schedule_lag_.Record(send_mono - start_mono_ -
                           std::min(send_mono - start_mono_, intended_offset));
    } else {
      warmup_++;
    }

    Span root;
    root.trace_id = ledger.trace_id;
    root.span_id = ledger.root_span_id;
    root.flags = 0x01;
    root.name = entry.route;
    root.kind = SpanKind::kClient;
    root.service_name = std::string(kDriverServiceName);
    root.start_unix_nano = ledger.start_unix_nano;
    const std::string request_id = FormatRequestId(ledger.request_id);
    const auto& endpoint = pools_[entry_index]->target();
    root.attributes = {
        {"http.request.method", std::string(target.method)},
        {"url.full", fmt::format("http://{}:{}{}", endpoint.address().to_string(), endpoint.port(),
                                 target.path)},
        {"peer.service", entry.service},
        {std::string(kRequestIdAttribute), request_id},
        {std::string(kHopAttribute), std::string("0")},
    };

    HttpRequest request{http::string_to_verb(std::string(target.method)), target.path, 11};
    request.set(http::field::host, entry.service);
    request.set(http::field::user_agent, "tracerig-driver");
    request.set(std::string(kRequestIdHeader), request_id);
    request.set(std::string(kSequenceHeader), std::to_string(n));
    request.set(std::string(kHopHeader), "0");
    if (propagators_[entry_index]) {
      BeastHeaderWriter<true> writer(request.base());
      propagators_[entry_index]->Inject(
          SpanContext{root.trace_id, root.span_id, static_cast<uint8_t>(root.flags), {}}, writer);
    }
    in_flight_++;
    sent_++;
    pools_[entry_index]->Send(
        std::move(request), [this, n, send_mono, intended_offset, root = std::move(root)](
                                beast::error_code ec, HttpResponse&& response) mutable {
          OnResponse(n, send_mono, intended_offset, std::move(root), ec, response);
        });
  }

  void OnResponse(size_t n, uint64_t send_mono, uint64_t intended_offset, Span root,
                  beast::error_code ec, const HttpResponse& response) {
    in_flight_--;
    completed_++;
    slots_[n].done = true;
    const uint64_t end_mono = clock_.NowMonotonicNano();
    LedgerEntry& ledger = slots_[n].entry;
    ledger.end_unix_nano = clock_.NowUnixNano();
    root.end_unix_nano = ledger.end_unix_nano;
    if (intended_offset >= options_.warmup_ns) {
      corrected_.Record(end_mono - start_mono_ - std::min(end_mono - start_mono_, intended_offset));
      uncorrected_.Record(end_mono - send_mono);
    }
    last_end_mono_ = std::max(last_end_mono_, end_mono);
    if (ec) {
      ledger.outcome = RequestOutcome::kTransportError;
      transport_errors_++;
      root.status_code = StatusCode::kError;
      root.status_message = ec.message();
      root.attributes.push_back({"error.type", ec.message()});
    } else {
      ledger.http_status = static_cast<int>(response.result_int());
      root.attributes.push_back({"http.response.status_code", int64_t{ledger.http_status}});
      if (ledger.http_status >= 200 && ledger.http_status < 300) {
        ledger.outcome = RequestOutcome::kOk;
        ok_++;
      } else {
        ledger.outcome = RequestOutcome::kHttpError;
        http_errors_++;
        if (ledger.http_status >= 500) root.status_code = StatusCode::kError;
      }
    }
    sink_.Submit(std::move(root));
    if (scheduling_done_ && in_flight_ == 0) {
      // Finish promptly instead of waiting for the next tick.
      asio::post(ioc_, [this] { Tick(); });
    }
  }

  DriverResult Collect() {
    DriverResult result;
    for (auto& slot : slots_) {
      if (!slot.sent) continue;
      if (!slot.done) {
        slot.entry.outcome = RequestOutcome::kTransportError;
        result.unfinished++;
      }
      result.ledger.push_back(slot.entry);
    }
    result.corrected = corrected_;
    result.uncorrected = uncorrected_;
    result.schedule_lag = schedule_lag_;
    result.sent = sent_;
    result.warmup = warmup_;
    result.ok = ok_;
    result.http_errors = http_errors_;
    result.transport_errors = transport_errors_ + result.unfinished;
    result.elapsed_ns = last_end_mono_ > start_mono_ ? last_end_mono_ - start_mono_ : 0;
    result.interrupted = interrupted_;
    return result;
  }

  struct Slot {
    LedgerEntry entry;
    bool sent = false;
    bool done = false;
  };

  const Scenario& scenario_;
  SpanSink& sink_;
  const Clock& clock_;
  DriverOptions options_;
  std::unique_ptr<Schedule> schedule_owner_;
  const Schedule& schedule_;
  EntryPicker picker_;
  Rng id_rng_;
  asio::io_context ioc_{1};
  asio::steady_timer timer_;
  std::vector<std::unique_ptr<HttpClientPool>> pools_;
  std::vector<std::unique_ptr<Propagator>> propagators_;
  std::vector<Slot> slots_;
  const std::atomic<bool>* stop_ = nullptr;
  const std::function<void(const DriverProgress&)>* progress_ = nullptr;
  uint64_t progress_interval_ns_ = 0;
  uint64_t next_progress_ns_ = 0;
  uint64_t start_mono_ = 0;
  std::chrono::steady_clock::time_point start_steady_;
  uint64_t start_unix_ = 0;
  uint64_t last_end_mono_ = 0;
  size_t next_ = 0;
  bool scheduling_done_ = false;
  bool interrupted_ = false;
  uint64_t drain_deadline_ns_ = 0;
  uint64_t in_flight_ = 0;
  uint64_t sent_ = 0;
  uint64_t warmup_ = 0;
  uint64_t completed_ = 0;
  uint64_t ok_ = 0;
  uint64_t http_errors_ = 0;
  uint64_t transport_errors_ = 0;
  LatencyHistogram corrected_;
  LatencyHistogram uncorrected_;
  LatencyHistogram schedule_lag_;
};

LoadDriver::LoadDriver(const Scenario& scenario, std::vector<tcp::endpoint> entry_endpoints,
                       std::unique_ptr<Schedule> schedule, SpanSink& sink, const Clock& clock,
                       DriverOptions options)
    : impl_(std::make_unique<Impl>(scenario, std::move(entry_endpoints), std::move(schedule), sink,
                                   clock, options)) {}

LoadDriver::~LoadDriver() = default;

DriverResult LoadDriver::Run(const std::atomic<bool>& stop,
                             const std::function<void(const DriverProgress&)>& progress,
                             uint64_t progress_interval_ns) {
  return impl_->Run(stop, progress, progress_interval_ns);
}

}  // namespace tracerig
