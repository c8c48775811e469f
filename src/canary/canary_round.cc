// One round's verification, searches and figures.
#include "canary/canary_round.h"

#include <algorithm>
#include <chrono>
#include <utility>

#include "canary/trace_checks.h"

namespace tracerig {

CanaryRound::CanaryRound(const RoundContext& context, uint64_t number, VerifyOptions verify)
    : context_(context), verify_(std::move(verify)) {
  figures_.number = number;
  verify_.on_trace = [this](const TraceOutcome& o) { OnTrace(o); };
  if (context_.search) {
    search_client_ = context_.clients();
    searches_.emplace(*search_client_, context_.search_options, *context_.clock);
    search_thread_ = std::thread([this] { SearchLoop(); });
  }
  live_.emplace(*context_.scenario, context_.clients, verify_, *context_.clock);
}

CanaryRound::~CanaryRound() {
  if (finish_thread_.joinable()) finish_thread_.join();
  {
    std::lock_guard lock(mu_);
    verification_over_ = true;  // a round never closed (an early exit) still ends its searches
    abandon_ = true;
  }
  wake_.notify_all();
  if (search_thread_.joinable()) search_thread_.join();
}

void CanaryRound::Written(const LedgerEntry& entry) {
  CanaryTally& tally = *context_.tally;
  const std::optional<WriteFailure> write_failure =
      WriteFailureOf(entry, context_.plans_http_errors);
  tally.Written();  // every request sent; a write failure is one of them
  if (write_failure) tally.WriteFailed(*write_failure);
  // A write failure (the entry service down, an unplanned error answer) is counted as such only:
  // verifying it would count the pipeline as losing spans nobody sent.
  const bool verified = !write_failure &&
                        (entry.sampled || (entry.entry < context_.unsampled_verified.size() &&
                                           context_.unsampled_verified[entry.entry]));
  {
    std::lock_guard lock(mu_);
    ++figures_.written;
    if (write_failure) ++figures_.write_failed;
    if (verified) unchecked_.emplace(entry.sequence, entry);
  }
  if (!verified) return;
  tally.PendingAdd(1);
  live_->Add(entry);
}

void CanaryRound::Fail(CheckFailure reason, std::string_view check) {
  ++figures_.failures[static_cast<size_t>(reason)];
  context_.tally->Failed(check, kFirstCheckAge, reason);
}

void CanaryRound::OnTrace(const TraceOutcome& o) {
  const LedgerEntry& entry = *o.entry;
  const TraceVerdict& verdict = *o.verdict;
  CanaryTally& tally = *context_.tally;
  const bool lost = context_.exporter->LossOf(entry.trace_id).any();
  // At age 0s a pass must also be on time: whole within --queryable-within of the request's end.
  const std::optional<CheckFailure> failure =
      TraceCheckFailure(o, lost, context_.queryable_within_ns);
  if (!o.evicted) tally.Spans(verdict.expected_spans, verdict.found_spans);
  bool searching = false;
  {
    std::lock_guard lock(mu_);
    if (unchecked_.erase(entry.sequence) == 0) return;  // already counted (request_failed)
    ++figures_.trace_total;
    if (o.time_to_queryable_ns) {
      const double seconds = static_cast<double>(*o.time_to_queryable_ns) / 1e9;
      figures_.ttq_seconds.push_back(seconds);
      tally.TimeToQueryable(seconds);
    }
    if (failure == CheckFailure::kMissing || failure == CheckFailure::kIncomplete) {
      undecided_.emplace_back(entry.trace_id, *failure);
      return;  // still pending: counted when the round's verification is over
    }
    if (failure) {
      Fail(*failure, kCheckTrace);
    } else {
      ++figures_.trace_passed;
      tally.Passed(kCheckTrace, kFirstCheckAge);
      if (context_.reread) context_.reread->Offer(entry, context_.clock->NowUnixNano());
      if (searches_) {
        searches_->Add(entry);
        searching = true;
      }
    }
  }
  if (searching) {
    wake_.notify_all();
  } else {
    tally.PendingAdd(-1);
  }
}

void CanaryRound::SearchLoop() {
  const Clock& clock = *context_.clock;
  CanaryTally& tally = *context_.tally;
  for (;;) {
    std::vector<SearchChecks::Finished> finished = searches_->Step();
    {
      std::lock_guard lock(mu_);
      for (const auto& f : finished) {
        ++figures_.search_total;
        if (f.result == SearchResult::kFound) {
          ++figures_.search_passed;
          tally.Passed(kCheckSearch, kFirstCheckAge);
        } else {
          Fail(f.result == SearchResult::kNotFound ? CheckFailure::kNotFoundBySearch
                                                   : CheckFailure::kRequestFailed,
               kCheckSearch);
        }
      }
    }
    tally.PendingAdd(-static_cast<int64_t>(finished.size()));
    std::unique_lock lock(mu_);
    if (abandon_) {
      lock.unlock();
      tally.PendingAdd(-static_cast<int64_t>(searches_->Abandon().size()));
      return;
    }
    const uint64_t next = searches_->NextDueNs();
    if (next == 0 && verification_over_) return;
    // Until the next search is due, a new trace passes, or the round ends; at most 100 ms, so a
    // clock that is not the wall clock's pace cannot stall it.
    const uint64_t now = clock.NowUnixNano();
    uint64_t wait_ns = 100'000'000;
    if (next != 0) wait_ns = std::min(wait_ns, next > now ? next - now : 0);
    if (wait_ns > 0) {
      const size_t before = searches_->pending();
      wake_.wait_for(lock, std::chrono::nanoseconds(wait_ns), [&] {
        return abandon_ || searches_->pending() != before || (before == 0 && verification_over_);
      });
    }
  }
}

void CanaryRound::Close(std::string transport_error) {
  submitted_at_close_ = context_.exporter->stats().submitted;
  if (!transport_error.empty()) {
    std::lock_guard lock(mu_);
    figures_.write_error = "transport: " + transport_error;
  }
  finish_thread_ = std::thread([this] { FinishVerification(); });
}

namespace {

bool ExporterSettled(const ExporterStats& s, uint64_t submitted) {
  return s.exported + s.rejected + s.dropped_queue_full + s.dropped_failed >= submitted;
}

}  // namespace

bool CanaryRound::WaitForExporter() {
  const Clock& clock = *context_.clock;
  const uint64_t deadline = clock.NowMonotonicNano() + context_.export_settle_max_ns;
  std::unique_lock lock(mu_);
  for (;;) {
    if (ExporterSettled(context_.exporter->stats(), submitted_at_close_)) return true;
    if (abandon_ || clock.NowMonotonicNano() >= deadline) return false;
    wake_.wait_for(lock, std::chrono::milliseconds(100), [this] { return abandon_; });
  }
}

void CanaryRound::FinishVerification() {
  Result<VerificationSummary> verified = live_->Finish({});
  bool undecided = false;
  {
    std::lock_guard lock(mu_);
    undecided = !undecided_.empty();
  }
  // A missing or incomplete trace may yet be a loss of tracerig's exporter, known only once its
  // retries end (a minute for a collector that black-holes): classify it after that.
  // Still not settled at the end of the wait: the exporter holds spans of the round it has not
  // delivered yet (a hung collector, each attempt taking its timeout), so the backend was not
  // given them: not_exported, whatever LossOf says so far.
  const bool exporter_stuck = undecided && !WaitForExporter();
  int64_t failed = 0;
  {
    std::lock_guard lock(mu_);
    if (!verified) {
      figures_.error = verified.error().message;
      // The backend could not be asked: every trace not classified yet is a failed request.
      for (size_t i = 0; i < unchecked_.size(); ++i) {
        ++figures_.trace_total;
        Fail(CheckFailure::kRequestFailed, kCheckTrace);
        ++failed;
      }
    }
    // Sampled entries the verifier never reported (none when it finished) are not counted.
    failed += static_cast<int64_t>(verified ? unchecked_.size() : 0);
    unchecked_.clear();
    for (const auto& [trace, failure] : undecided_) {
      const bool not_exported =
          (exporter_stuck && !abandon_) || context_.exporter->LossOf(trace).any();
      Fail(not_exported ? CheckFailure::kNotExported : failure, kCheckTrace);
      ++failed;
    }
    undecided_.clear();
    if (verified) KeepExamples(*verified);
    verification_over_ = true;
  }
  context_.tally->PendingAdd(-failed);
  wake_.notify_all();
  if (search_thread_.joinable()) search_thread_.join();
  RoundFigures figures;
  {
    std::lock_guard lock(mu_);
    figures = figures_;
  }
  context_.tally->RoundDone();
  if (context_.on_done) context_.on_done(figures);
  done_ = true;
}

void CanaryRound::KeepExamples(const VerificationSummary& summary) {
  auto keep = [this](CheckFailure reason, const std::string& explanation) {
    if (explanation.empty() || figures_.failures[static_cast<size_t>(reason)] == 0) return;
    for (const auto& [kept, text] : figures_.examples) {
      if (kept == reason) return;
    }
    figures_.examples.emplace_back(reason, explanation);
  };
  for (const TraceVerdict& v : summary.examples) {
    switch (v.status) {
      case TraceStatus::kBroken:
        keep(CheckFailure::kBroken, v.explanation);
        break;
      case TraceStatus::kMissing:
        keep(CheckFailure::kMissing, v.explanation);
        break;
      case TraceStatus::kIncomplete:
        keep(CheckFailure::kIncomplete, v.explanation);
        break;
      case TraceStatus::kNotExported:
        keep(CheckFailure::kNotExported, v.explanation);
        break;
      case TraceStatus::kComplete:
        break;
    }
  }
  for (const TraceVerdict& v : summary.violation_examples) {
    if (v.violations.empty()) continue;
    const Violation& first = v.violations.front();
    keep(CheckFailure::kStructure, first.kind + ": " + first.explanation);
  }
  std::sort(figures_.examples.begin(), figures_.examples.end());
}

void CanaryRound::Abandon() {
  {
    std::lock_guard lock(mu_);
    abandon_ = true;
  }
  wake_.notify_all();
}

}  // namespace tracerig
