// The canary loop: rounds of writes, their verification on their own threads, re-reads.
#include "canary/canary_loop.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <set>
#include <utility>

#include <fmt/format.h>

#include "canary/search_check.h"
#include "canary/trace_checks.h"
#include "driver/schedule.h"
#include "topology/expected_tree.h"
#include "topology/wire_log.h"

namespace tracerig {
namespace {

constexpr uint64_t kVerifyDeadlineSlackNs = 30'000'000'000ull;
constexpr uint64_t kErrorBackoffMaxNs = 2'000'000'000ull;
// A re-read's search that fails is retried this long (backoff) before it is request_failed.
constexpr uint64_t kRereadSearchRetryNs = 10'000'000'000ull;

void SleepAtMost(uint64_t ns) {
  std::this_thread::sleep_for(std::chrono::nanoseconds(std::min<uint64_t>(ns, 50'000'000)));
}

}  // namespace

void RetryThroughBlips(VerifyOptions& o, uint64_t queryable_within_ns) {
  o.error_backoff_max_ns = kErrorBackoffMaxNs;
  o.max_backend_errors = 3;
  // By the clock, not by a count: failing requests may take no time (connection refused) or a
  // whole --query-timeout each (a hung backend).
  o.backend_retry_ns = queryable_within_ns;
}

std::string FormatRoundLine(const RoundFigures& f, uint64_t rereads_passed, uint64_t rereads_total,
                            bool search) {
  std::string line = fmt::format("round {}: {} written", f.number, f.written);
  if (f.write_failed > 0) {
    line += fmt::format(", {} write failures", f.write_failed);
    if (!f.write_error.empty()) line += fmt::format(" ({})", f.write_error);
  }
  line += fmt::format(", {}/{} trace checks passed", f.trace_passed, f.trace_total);
  if (search) line += fmt::format(", {}/{} search", f.search_passed, f.search_total);
  if (rereads_total > 0) {
    line += fmt::format(", {}/{} re-read checks passed", rereads_passed, rereads_total);
  }
  if (!f.ttq_seconds.empty()) {
    std::vector<double> s = f.ttq_seconds;
    std::sort(s.begin(), s.end());
    line += fmt::format(", ttq p50 {:.3f}s max {:.3f}s", s[(s.size() - 1) / 2], s.back());
  }
  std::vector<std::string> failed;
  for (size_t i = 0; i < kCheckFailureCount; ++i) {
    if (f.failures[i] > 0) {
      failed.push_back(
          fmt::format("{} {}", f.failures[i], CheckFailureName(static_cast<CheckFailure>(i))));
    }
  }
  if (!failed.empty()) line += fmt::format("; failed: {}", fmt::join(failed, ", "));
  if (!f.error.empty()) line += "; " + f.error;
  for (const auto& [reason, explanation] : f.examples) {
    line += fmt::format("\n  e.g. {}: {}", CheckFailureName(reason), explanation);
  }
  return line;
}

CanaryLoop::CanaryLoop(CanaryTarget target, CanaryOptions options, CanaryMetrics& metrics,
                       const Clock& clock)
    : target_(std::move(target)),
      options_(std::move(options)),
      clock_(clock),
      tally_(metrics, clock),
      progress_(clock, ProgressWatch::LimitFor(options_.round_ns, options_.queryable_within_ns)) {
  locked_clients_ = [this] {
    std::lock_guard lock(clients_mu_);
    return target_.clients();
  };
  if (!options_.reread.empty()) {
    std::vector<uint64_t> ages;
    for (const RereadAge& a : options_.reread) ages.push_back(a.ns);
    window_ = std::make_unique<RereadWindow>(std::move(ages), options_.reread_every_ns);
  }
  context_.scenario = target_.scenario;
  context_.exporter = target_.exporter;
  context_.clients = locked_clients_;
  context_.clock = &clock_;
  context_.tally = &tally_;
  context_.reread = window_.get();
  context_.search = options_.search;
  context_.plans_http_errors = ScenarioPlansErrors(*target_.scenario);
  context_.unsampled_verified = UnsampledEntriesVerified(*target_.scenario);
  context_.queryable_within_ns = options_.queryable_within_ns;
  context_.search_options.queryable_within_ns = options_.queryable_within_ns;
  context_.search_options.poll_interval_ns = target_.verify.poll_interval_ns;
  context_.on_done = [this](const RoundFigures& f) { RoundDone(f); };
  round_verify_ = target_.verify;
  round_verify_.settle_incomplete_ns = options_.queryable_within_ns;
  round_verify_.deadline_ns = options_.queryable_within_ns + kVerifyDeadlineSlackNs;
  round_verify_.fetch_backend_dependencies = false;
  RetryThroughBlips(round_verify_, options_.queryable_within_ns);
}

CanaryLoop::~CanaryLoop() {
  std::vector<std::unique_ptr<CanaryRound>> rounds;
  {
    std::lock_guard lock(mu_);
    rounds.swap(rounds_);
  }
  for (auto& r : rounds) r->Abandon();
  rounds.clear();  // each waits for its threads
}

void CanaryLoop::RoundDone(const RoundFigures& f) {
  progress_.RoundFinished();
  round_done_.notify_all();
  if (options_.note) {
    std::lock_guard lock(print_mu_);
    options_.note(FormatRoundLine(f, rereads_passed_.exchange(0), rereads_total_.exchange(0),
                                  options_.search));
  }
}

std::string CanaryLoop::UnhealthyReason() const { return progress_.UnhealthyReason(); }

bool CanaryLoop::ReapRounds() {
  std::vector<std::unique_ptr<CanaryRound>> done;
  bool room = false;
  {
    std::lock_guard lock(mu_);
    auto split =
        std::partition(rounds_.begin(), rounds_.end(), [](const auto& r) { return !r->done(); });
    done.assign(std::make_move_iterator(split), std::make_move_iterator(rounds_.end()));
    rounds_.erase(split, rounds_.end());
    room = rounds_.size() < options_.max_rounds_verifying;
  }
  done.clear();  // frees each round's state, outside the lock
  return room;
}

void CanaryLoop::CountExportLosses() {
  const uint64_t lost = target_.exporter->stats().lost_traces;
  if (lost > lost_traces_seen_) tally_.WriteFailed(WriteFailure::kExport, lost - lost_traces_seen_);
  lost_traces_seen_ = std::max(lost_traces_seen_, lost);
}

void CanaryLoop::RunRound(uint64_t number, uint64_t first_sequence, const std::atomic<bool>& stop) {
  auto round = std::make_unique<CanaryRound>(context_, number, round_verify_);
  CanaryRound* r = round.get();
  DriverOptions driver_options = target_.driver;
  driver_options.first_sequence = first_sequence;
  driver_options.on_complete = [r](const LedgerEntry& e) { r->Written(e); };
  std::string transport_error;
  {
    LoadDriver driver(*target_.scenario, target_.entry_targets,
                      std::make_unique<ConstantRateSchedule>(options_.rate, options_.round_ns),
                      *target_.exporter, clock_, driver_options);
    const DriverResult result = driver.Run(stop);
    if (!result.transport_error_reasons.empty()) {
      const TransportErrorReason& first = result.transport_error_reasons.front();
      transport_error = first.first_message.empty() ? first.reason : first.first_message;
    }
  }
  r->Close(std::move(transport_error));
  std::lock_guard lock(mu_);
  rounds_.push_back(std::move(round));
}

bool CanaryLoop::WaitForRounds(const std::atomic<bool>* stop, uint64_t deadline_mono_ns) {
  for (;;) {
    ReapRounds();
    std::unique_lock lock(mu_);
    if (rounds_.empty()) return true;
    const uint64_t now = clock_.NowMonotonicNano();
    if (deadline_mono_ns == 0 && stop != nullptr && stop->load()) {
      deadline_mono_ns = now + options_.queryable_within_ns;
    }
    if (deadline_mono_ns != 0 && now >= deadline_mono_ns) return false;
    round_done_.wait_for(lock, std::chrono::milliseconds(100));
  }
}

void CanaryLoop::RereadAsDue(const std::atomic<bool>& stop, bool until_empty) {
  while (!stop.load() && !(until_empty && window_->size() == 0)) {
    const uint64_t now = clock_.NowUnixNano();
    const uint64_t next = window_->NextDueNs();
    if (next != 0 && next <= now) {
      Reread(window_->TakeDue(now), stop);
    } else {
      SleepAtMost(next == 0 ? 200'000'000 : next - now);
    }
  }
}

void CanaryLoop::Reread(std::vector<RereadWindow::Due> due, const std::atomic<bool>& stop) {
  std::map<size_t, Ledger> by_age;
  for (auto& d : due) by_age[d.age].push_back(std::move(d.entry));
  for (auto& [age, ledger] : by_age) {
    if (stop.load()) return;
    const std::string& label = options_.reread[age].label;
    std::mutex mu;
    std::set<uint64_t> unchecked;
    for (const LedgerEntry& e : ledger) unchecked.insert(e.sequence);
    auto record = [&](std::string_view check, std::optional<CheckFailure> failure) {
      ++rereads_total_;
      if (failure) {
        tally_.Failed(check, label, *failure);
      } else {
        ++rereads_passed_;
        tally_.Passed(check, label);
      }
    };
    VerifyOptions o = target_.verify;
    o.stable_polls = 1;  // classified on the first poll: the trace had all the time it needs
    o.settle_incomplete_ns = 0;
    o.deadline_ns = options_.queryable_within_ns + kVerifyDeadlineSlackNs;
    o.fetch_backend_dependencies = false;
    o.export_loss = {};
    o.messages_outstanding = {};
    RetryThroughBlips(o, options_.queryable_within_ns);
    o.on_trace = [&](const TraceOutcome& outcome) {
      std::lock_guard lock(mu);
      if (unchecked.erase(outcome.entry->sequence) == 0) return;
      record(kCheckTrace, TraceCheckFailure(outcome, false));
    };
    ThreadSleeper sleeper;
    auto verified = VerifyLedger(*target_.scenario, ledger, locked_clients_, o, clock_, sleeper);
    {
      std::lock_guard lock(mu);
      if (!verified) {
        for (size_t i = 0; i < unchecked.size(); ++i) {
          record(kCheckTrace, CheckFailure::kRequestFailed);
        }
      }
      unchecked.clear();
    }
    if (!options_.search) continue;
    std::unique_ptr<BackendClient> client = locked_clients_();
    // Once one search has used up its retries, the backend is down: the rest of the batch fails
    // at once instead of retrying in turn (re-reads would fall further behind the longer it is).
    bool backend_down = false;
    for (const LedgerEntry& e : ledger) {
      if (stop.load()) return;
      if (backend_down) {
        record(kCheckSearch, CheckFailure::kRequestFailed);
        continue;
      }
      auto found = SearchRetryingErrors(*client, e, context_.search_options,
                                        kRereadSearchRetryNs, sleeper, &stop);
      if (!found) {
        backend_down = true;
        record(kCheckSearch, CheckFailure::kRequestFailed);
      } else {
        record(kCheckSearch, *found ? std::nullopt
                                    : std::optional<CheckFailure>(CheckFailure::kNotFoundBySearch));
      }
    }
  }
}

CanaryTotals CanaryLoop::Run(const std::atomic<bool>& stop) {
  lost_traces_seen_ = target_.exporter->stats().lost_traces;
  std::thread rereader;
  if (window_ && !options_.once) {
    rereader = std::thread([this, &stop] {
      RereadAsDue(stop, /*until_empty=*/false);
      rereader_done_ = true;
    });
  }
  const size_t per_round = ConstantRateSchedule(options_.rate, options_.round_ns).size();
  uint64_t sequence = 0;
  for (uint64_t number = 1; !stop.load(); ++number) {
    bool said = false;
    while (!stop.load() && !ReapRounds()) {
      if (!said && options_.note) {
        std::lock_guard lock(print_mu_);
        options_.note(fmt::format("{} rounds still verifying: the next round's writes wait",
                                  options_.max_rounds_verifying));
      }
      said = true;
      std::unique_lock lock(mu_);
      round_done_.wait_for(lock, std::chrono::milliseconds(100));
    }
    if (stop.load()) break;
    const uint64_t start = clock_.NowMonotonicNano();
    RunRound(number, sequence, stop);
    sequence += per_round;
    CountExportLosses();
    if (options_.once) break;
    // The next round starts a round's length after this one did, so the rate holds.
    while (!stop.load() && clock_.NowMonotonicNano() < start + options_.round_ns) {
      SleepAtMost(start + options_.round_ns - clock_.NowMonotonicNano());
    }
  }
  // Stopping: one deadline, --queryable-within from now, for the rounds and the re-reader both.
  const uint64_t stop_deadline =
      stop.load() ? clock_.NowMonotonicNano() + options_.queryable_within_ns : 0;
  const bool all_done = WaitForRounds(&stop, stop_deadline);
  if (!all_done) {
    std::lock_guard lock(mu_);
    for (auto& r : rounds_) r->Abandon();
    tally_.MarkAbandoned();
  }
  if (rereader.joinable()) {
    // Stopping: the re-reader finishes the read in progress by the same deadline as the rounds
    // (a verification's is longer); beyond, it is left running and the caller exits.
    const uint64_t deadline = stop_deadline != 0
                                  ? stop_deadline
                                  : clock_.NowMonotonicNano() + options_.queryable_within_ns;
    while (!rereader_done_.load() && clock_.NowMonotonicNano() < deadline) {
      SleepAtMost(deadline - clock_.NowMonotonicNano());
    }
    if (rereader_done_.load()) {
      rereader.join();
    } else {
      rereader.detach();  // it uses the loop and the rig: the caller must _Exit
      tally_.MarkAbandoned();
    }
  }
  if (options_.once && window_ && all_done) {
    // --once with explicit re-read ages: wait for each, then read the traces again.
    if (options_.note && window_->size() > 0) {
      options_.note(fmt::format("waiting for {} re-reads, the last at age {}", window_->size(),
                                options_.reread.back().label));
    }
    RereadAsDue(stop, /*until_empty=*/true);
  }
  CountExportLosses();
  return tally_.totals();
}

size_t CanaryWireLogCapacity(const Scenario& scenario, double rate, uint64_t window_ns) {
  size_t hops = 1;
  for (const LoadEntry& entry : scenario.load.entries) {
    size_t inbound = 0;
    for (const ExpectedSpan& span : BuildExpectedTree(scenario, entry).spans) {
      if (span.kind == SpanKind::kServer || span.kind == SpanKind::kConsumer) ++inbound;
    }
    hops = std::max(hops, inbound);
  }
  const double needed = 4.0 * rate * static_cast<double>(hops) *
                        (static_cast<double>(window_ns) / 1e9);
  constexpr double kMin = 2000;
  const double bounded =
      std::clamp(needed, kMin, static_cast<double>(WireLog::kDefaultCapacity));
  return static_cast<size_t>(bounded);
}

}  // namespace tracerig
