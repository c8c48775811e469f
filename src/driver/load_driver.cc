// LoadDriver: starts the driver threads (driver_thread.h), publishes their progress and merges
// their results, the ledger in sequence order.
#include "driver/load_driver.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "driver/driver_thread.h"

namespace tracerig {
namespace {

std::vector<double> Weights(const Scenario& scenario) {
  std::vector<double> w;
  for (const auto& e : scenario.load.entries) w.push_back(e.weight);
  return w;
}

uint32_t ChooseThreads(const Scenario& scenario, const Schedule* schedule,
                       const DriverOptions& options) {
  uint32_t threads = options.threads != 0 ? options.threads : scenario.load.threads;
  if (threads == 0) {
    threads = std::clamp<uint32_t>(std::thread::hardware_concurrency(), 1, kMaxAutoDriverThreads);
  }
  const uint64_t work = scenario.load.model == LoadModel::kClosed
                            ? scenario.load.virtual_users
                            : (schedule != nullptr ? schedule->size() : 0);
  return static_cast<uint32_t>(std::max<uint64_t>(1, std::min<uint64_t>(threads, work)));
}

}  // namespace

using driver_internal::DriverRunContext;
using driver_internal::DriverThread;

class LoadDriver::Impl {
 public:
  Impl(const Scenario& scenario, std::vector<ServiceTarget> targets,
       std::unique_ptr<Schedule> schedule, SpanSink& sink, const Clock& clock, DriverOptions options)
      : targets_(std::move(targets)),
        schedule_(scenario.load.model == LoadModel::kClosed
                      ? nullptr
                      : (schedule ? std::move(schedule)
                                  : std::make_unique<FixedCountSchedule>(0, 1.0))),
        run_{scenario, schedule_.get(), sink, clock, options, EntryPicker(Weights(scenario))} {
    run_.closed = scenario.load.model == LoadModel::kClosed;
    run_.threads = ChooseThreads(scenario, schedule_.get(), options);
    run_.connections = options.connections != 0 ? options.connections : scenario.load.connections;
    // Intervals wide enough that the planned load fits in LatencyTimeline::kMaxPoints; a run that
    // overruns widens them itself.
    const uint64_t planned = run_.closed ? scenario.load.duration_ns
                             : schedule_->size() == 0
                                 ? 0
                                 : schedule_->IntendedOffset(schedule_->size() - 1);
    run_.timeline_interval_ns = LatencyTimeline::IntervalFor(planned);
  }

  DriverResult Run(const std::atomic<bool>& stop,
                   const std::function<void(const DriverProgress&)>& progress,
                   uint64_t progress_interval_ns) {
    run_.stop = &stop;
    // Threads publish a few times per interval so the merged figures trail by little.
    run_.publish_interval_ns =
        progress ? std::max<uint64_t>(1'000'000, progress_interval_ns / 4) : 0;
    std::vector<std::unique_ptr<DriverThread>> workers;
    for (uint32_t i = 0; i < run_.threads; ++i) {
      workers.push_back(std::make_unique<DriverThread>(run_, i, targets_));
    }
    run_.start_mono = run_.clock.NowMonotonicNano();
    run_.start_steady = std::chrono::steady_clock::now();
    run_.start_unix = run_.clock.NowUnixNano();

    std::mutex mu;
    std::condition_variable finished_cv;
    size_t finished = 0;
    std::vector<std::thread> threads;
    for (auto& worker : workers) {
      threads.emplace_back([&, w = worker.get()] {
        w->Run();
        std::lock_guard lock(mu);
        finished++;
        finished_cv.notify_all();
      });
    }
    {
      std::unique_lock lock(mu);
      auto all_done = [&] { return finished == workers.size(); };
      if (!progress) {
        finished_cv.wait(lock, all_done);
      } else {
        auto deadline = run_.start_steady;
        while (true) {
          deadline += std::chrono::nanoseconds(progress_interval_ns);
          if (finished_cv.wait_until(lock, deadline, all_done)) break;
          lock.unlock();
          progress(Progress(workers));
          lock.lock();
        }
      }
    }
    for (auto& t : threads) t.join();
    return Collect(workers);
  }

 private:
  DriverProgress Progress(const std::vector<std::unique_ptr<DriverThread>>& workers) {
    DriverProgress p;
    p.elapsed_ns = run_.clock.NowMonotonicNano() - run_.start_mono;
    p.total_ns = run_.scenario.load.duration_ns;
    p.closed_loop = run_.closed;
    p.virtual_users = run_.closed ? run_.scenario.load.virtual_users : 0;
    p.threads = run_.threads;
    LatencyHistogram latency;
    for (const auto& w : workers) w->AddSnapshot(p, latency);
    p.p99_ns = latency.Percentile(99);
    const uint64_t dt = p.elapsed_ns - std::min(p.elapsed_ns, last_progress_ns_);
    if (dt > 0) {
      p.current_rate = static_cast<double>(p.sent - std::min(p.sent, last_sent_)) * 1e9 /
                       static_cast<double>(dt);
      if (!run_.closed) {
        p.target_rate = IntendedRate(*run_.schedule, last_progress_ns_, p.elapsed_ns);
      }
    }
    last_progress_ns_ = p.elapsed_ns;
    last_sent_ = p.sent;
    return p;
  }

  DriverResult Collect(std::vector<std::unique_ptr<DriverThread>>& workers) {
    DriverResult result;
    result.closed_loop = run_.closed;
    result.virtual_users = run_.closed ? run_.scenario.load.virtual_users : 0;
    result.threads = run_.threads;
    result.connections = run_.connections;
    result.planned = run_.schedule != nullptr ? run_.schedule->size() : 0;
    result.timeline = LatencyTimeline(run_.timeline_interval_ns);
    size_t most_slots = 0;
    size_t all_slots = 0;
    for (const auto& w : workers) {
      w->AddResults(result);
      most_slots = std::max(most_slots, w->slot_count());
      all_slots += w->slot_count();
    }
    result.ledger.reserve(all_slots);
    result.transport_errors += result.unfinished;
    // Open loop: thread t's slot k is request t + k * threads, so interleaving restores sequence
    // order. Closed loop: sequences were taken in send order across threads; sort.
    for (size_t k = 0; k < most_slots; ++k) {
      for (auto& w : workers) {
        if (const LedgerEntry* e = w->SentEntry(k)) result.ledger.push_back(*e);
      }
    }
    if (run_.closed) {
      std::sort(result.ledger.begin(), result.ledger.end(),
                [](const LedgerEntry& a, const LedgerEntry& b) { return a.sequence < b.sequence; });
    }
    std::vector<const TransportErrorTally*> tallies;
    for (const auto& w : workers) tallies.push_back(&w->transport_error_tally());
    result.transport_error_reasons =
        MergeTransportErrors(tallies, result.unfinished, run_.options.drain_timeout_ns);
    return result;
  }

  std::vector<ServiceTarget> targets_;
  std::unique_ptr<Schedule> schedule_;
  DriverRunContext run_;
  uint64_t last_progress_ns_ = 0;
  uint64_t last_sent_ = 0;
};

LoadDriver::LoadDriver(const Scenario& scenario, std::vector<ServiceTarget> entry_targets,
                       std::unique_ptr<Schedule> schedule, SpanSink& sink, const Clock& clock,
                       DriverOptions options)
    : impl_(std::make_unique<Impl>(scenario, std::move(entry_targets), std::move(schedule), sink,
                                   clock, options)) {}

LoadDriver::~LoadDriver() = default;

DriverResult LoadDriver::Run(const std::atomic<bool>& stop,
                             const std::function<void(const DriverProgress&)>& progress,
                             uint64_t progress_interval_ns) {
  return impl_->Run(stop, progress, progress_interval_ns);
}

}  // namespace tracerig
