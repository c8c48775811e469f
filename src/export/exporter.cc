// The batching exporter's thread loop, retry policy and accounting (see exporter.h).
#include "export/exporter.h"

#include <fmt/format.h>

#include <algorithm>
#include <iterator>
#include <optional>
#include <utility>

namespace tracerig {
namespace {

using SteadyClock = std::chrono::steady_clock;

// condition_variable::wait_for adds the timeout to now(); keep that from overflowing when callers
// pass "forever" (milliseconds::max()).
std::chrono::milliseconds ClampTimeout(std::chrono::milliseconds timeout) {
  constexpr std::chrono::milliseconds kLongest = std::chrono::hours(24 * 365);
  return std::clamp(timeout, std::chrono::milliseconds(0), kLongest);
}

ExporterOptions Sanitize(ExporterOptions options) {
  options.max_batch_spans = std::max<size_t>(options.max_batch_spans, 1);
  options.max_retries = std::max(options.max_retries, 0);
  options.max_backoff_ms = std::max(options.max_backoff_ms, options.initial_backoff_ms);
  // Keeps now() + delay representable.
  constexpr uint64_t kYearMs = 365ull * 24 * 3600 * 1000;
  options.max_batch_delay_ms = std::min(options.max_batch_delay_ms, kYearMs);
  return options;
}

}  // namespace

bool ConditionVariableWaiter::Wait(std::chrono::milliseconds delay) {
  std::unique_lock lock(mu_);
  return !cv_.wait_for(lock, ClampTimeout(delay), [this] { return interrupted_; });
}

void ConditionVariableWaiter::Interrupt() {
  {
    std::lock_guard lock(mu_);
    interrupted_ = true;
  }
  cv_.notify_all();
}

BatchingExporter::BatchingExporter(std::unique_ptr<BatchSender> sender, ExporterOptions options,
                                   uint64_t seed)
    : BatchingExporter(std::move(sender), options, seed,
                       std::make_unique<ConditionVariableWaiter>()) {}

BatchingExporter::BatchingExporter(std::unique_ptr<BatchSender> sender, ExporterOptions options,
                                   uint64_t seed, std::unique_ptr<RetryWaiter> waiter)
    : sender_(std::move(sender)),
      options_(Sanitize(options)),
      waiter_(std::move(waiter)),
      rng_(seed),
      thread_([this] { Run(); }) {}

BatchingExporter::~BatchingExporter() { Shutdown(); }

void BatchingExporter::Submit(Span span) {
  bool wake = false;
  {
    std::lock_guard lock(mu_);
    ++stats_.submitted;
    if (stopping_ || held_ >= options_.max_queue_spans) {
      ++stats_.dropped_queue_full;
      RememberLoss(span.trace_id, /*queue_full=*/true);
      return;
    }
    queue_.push_back(std::move(span));
    ++held_;
    // Wake the thread only when this span gives it something to do: a first span (it then starts
    // the batch delay) or a full batch. Waking it on every span would cost a context switch each.
    const size_t unsent = queue_.size() + thread_pending_;
    wake = unsent == 1 || unsent == options_.max_batch_spans;
  }
  if (wake) work_cv_.notify_one();
}

bool BatchingExporter::Flush(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  if (thread_exited_) return true;  // everything was sent or counted as dropped on the way out
  const uint64_t target = ++flush_requested_;
  work_cv_.notify_one();
  return flush_cv_.wait_for(lock, ClampTimeout(timeout), [&] { return flush_done_ >= target; });
}

void BatchingExporter::Shutdown(std::chrono::milliseconds timeout) {
  std::lock_guard shutdown_lock(shutdown_mu_);
  if (joined_) return;
  bool aborted = false;
  {
    std::unique_lock lock(mu_);
    stopping_ = true;
    const uint64_t target = ++flush_requested_;
    work_cv_.notify_one();
    if (!flush_cv_.wait_for(lock, ClampTimeout(timeout),
                            [&] { return flush_done_ >= target || thread_exited_; })) {
      abort_ = true;
      aborted = true;
      work_cv_.notify_one();
    }
  }
  if (aborted) waiter_->Interrupt();
  thread_.join();
  joined_ = true;
}

ExporterStats BatchingExporter::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

TraceLoss BatchingExporter::LossOf(const TraceId& trace) const {
  std::lock_guard lock(mu_);
  auto it = lost_.find(trace);
  return it == lost_.end() ? TraceLoss{} : it->second;
}

void BatchingExporter::RememberLoss(const TraceId& trace, bool queue_full) {
  auto it = lost_.find(trace);
  if (it == lost_.end()) {
    if (lost_.size() >= options_.max_lost_traces) {
      if (!options_.forget_oldest_losses || lost_order_.empty()) {
        ++stats_.lost_untracked_spans;
        return;
      }
      lost_.erase(lost_order_.front());
      lost_order_.pop_front();
    }
    it = lost_.emplace(trace, TraceLoss{}).first;
    if (options_.forget_oldest_losses) lost_order_.push_back(trace);
    ++stats_.lost_traces;
  }
  (queue_full ? it->second.queue_full : it->second.export_failed) = true;
}

void BatchingExporter::CountDrop(const std::vector<Span>& spans, DropReason why,
                                 const std::string& first) {
  const uint64_t failed = spans.size();
  if (failed == 0 || why == DropReason::kNone) return;
  stats_.dropped_failed += failed;
  std::string* first_error = &stats_.first_shutdown_error;
  switch (why) {
    case DropReason::kNone:
      break;
    case DropReason::kPermanent:
      stats_.dropped_permanent += failed;
      first_error = &stats_.first_permanent_error;
      break;
    case DropReason::kRetriesExhausted:
      stats_.dropped_retries_exhausted += failed;
      first_error = &stats_.first_retries_exhausted_error;
      break;
    case DropReason::kShutdown:
      stats_.dropped_shutdown += failed;
      first_error = &stats_.first_shutdown_error;
      break;
  }
  if (first_error->empty()) *first_error = first;
  for (const Span& span : spans) RememberLoss(span.trace_id, /*queue_full=*/false);
}

void BatchingExporter::Run() {
  const size_t batch_size = options_.max_batch_spans;
  std::vector<Span> pending;  // taken from queue_, not yet sent: fewer than a batch between rounds
  // When the oldest pending span must go out; max() while nothing is pending.
  constexpr SteadyClock::time_point kNoDeadline = SteadyClock::time_point::max();
  SteadyClock::time_point deadline = kNoDeadline;
  std::unique_lock lock(mu_);
  auto urgent = [&] {
    return abort_ || stopping_ || flush_requested_ > flush_done_ ||
           queue_.size() + pending.size() >= batch_size;
  };
  for (;;) {
    thread_pending_ = pending.size();
    if (!urgent()) {
      if (queue_.empty() && pending.empty()) {
        deadline = kNoDeadline;
        work_cv_.wait(lock, [&] { return !queue_.empty() || urgent(); });
        continue;  // the first span starts the batch delay
      }
      if (deadline == kNoDeadline) {
        deadline = SteadyClock::now() + std::chrono::milliseconds(options_.max_batch_delay_ms);
      }
      work_cv_.wait_until(lock, deadline, urgent);
    }
    if (abort_) break;
    const uint64_t flush_target = flush_requested_;
    const bool flushing = flush_target > flush_done_ || stopping_;
    // Take the whole queue in O(1) under the lock; batching and encoding happen outside it.
    if (pending.empty()) {
      pending.swap(queue_);
    } else {
      pending.insert(pending.end(), std::make_move_iterator(queue_.begin()),
                     std::make_move_iterator(queue_.end()));
      queue_.clear();
    }
    thread_pending_ = pending.size();
    const bool send_partial = flushing || SteadyClock::now() >= deadline;
    lock.unlock();

    // Full batches always; the remainder too when flushing or when the batch delay has passed.
    size_t sent = 0;  // pending[0, sent) has been moved into batches
    while (!abort_) {
      const size_t left = pending.size() - sent;
      if (left == 0 || (left < batch_size && !send_partial)) break;
      std::vector<Span> batch;
      if (sent == 0 && left <= batch_size) {
        batch.swap(pending);  // the common case: everything taken is one batch
      } else {
        const size_t n = std::min(batch_size, left);
        const auto first = pending.begin() + static_cast<ptrdiff_t>(sent);
        batch.assign(std::make_move_iterator(first),
                     std::make_move_iterator(first + static_cast<ptrdiff_t>(n)));
        sent += n;
      }
      SendBatch(batch);
      if (pending.empty()) {
        // Hand the buffer back: it becomes queue_'s at the next take, so Submit does not
        // reallocate (under the lock) while the queue grows again.
        batch.clear();
        pending.swap(batch);
      }
    }
    pending.erase(pending.begin(), pending.begin() + static_cast<ptrdiff_t>(sent));
    if (pending.empty()) deadline = kNoDeadline;

    lock.lock();
    if (flushing && !abort_) {
      flush_done_ = flush_target;
      flush_cv_.notify_all();
    }
    if (stopping_ && queue_.empty() && pending.empty()) break;
  }
  // Shutdown ran out of time (or everything is sent): whatever is left is abandoned.
  const size_t abandoned = queue_.size() + pending.size();
  if (abandoned > 0) {
    const std::string first = "abandoned at shutdown, never sent";
    CountDrop(queue_, DropReason::kShutdown, first);
    CountDrop(pending, DropReason::kShutdown, first);
    stats_.last_error = fmt::format("{} spans abandoned at shutdown", abandoned);
    held_ -= abandoned;
    queue_.clear();
    pending.clear();
  }
  thread_exited_ = true;
  flush_done_ = flush_requested_;
  flush_cv_.notify_all();
}

void BatchingExporter::SendBatch(std::vector<Span>& batch) {
  const size_t n = batch.size();
  {
    std::lock_guard lock(mu_);
    ++stats_.batches;
  }
  for (int retry = 0;; ++retry) {
    SendResult result = sender_->Send(batch);
    if (result.kind == SendResult::Kind::kOk) {
      const auto rejected = static_cast<size_t>(
          std::clamp<int64_t>(result.rejected_spans, 0, static_cast<int64_t>(n)));
      std::optional<std::string> error;
      if (rejected > 0) {
        error = fmt::format("backend rejected {} of {} spans: {}", rejected, n, result.reason);
      }
      Finish(batch, n - rejected, rejected, 0, DropReason::kNone, error, "");
      return;
    }
    std::optional<std::string> give_up;
    std::string first;  // worded to follow a span count (ExporterStats::first_*_error)
    DropReason why = DropReason::kNone;
    if (result.kind == SendResult::Kind::kPermanent) {
      give_up = fmt::format("permanent failure: {}", result.reason);
      first = fmt::format("refused for good: {}", result.reason);
      why = DropReason::kPermanent;
    } else if (retry >= options_.max_retries) {
      give_up = fmt::format("gave up after {} retries: {}", retry, result.reason);
      first = fmt::format("after {} retries: {}", retry, result.reason);
      why = DropReason::kRetriesExhausted;
    } else if (abort_) {
      give_up = fmt::format("shutdown before retrying: {}", result.reason);
      first = fmt::format("abandoned at shutdown before retrying: {}", result.reason);
      why = DropReason::kShutdown;
    }
    if (!give_up) {
      // The server's Retry-After says exactly when; otherwise back off exponentially.
      const uint64_t delay_ms =
          result.retry_after_ms > 0 ? result.retry_after_ms : BackoffMs(retry);
      if (!waiter_->Wait(std::chrono::milliseconds(delay_ms))) {
        give_up = fmt::format("shutdown during retry backoff: {}", result.reason);
        first = fmt::format("abandoned at shutdown during retry backoff: {}", result.reason);
        why = DropReason::kShutdown;
      }
    }
    if (give_up) {
      Finish(batch, 0, 0, n, why, give_up, first);
      return;
    }
    std::lock_guard lock(mu_);
    ++stats_.retries;
  }
}

// Equal jitter: a uniform delay in [base/2, base], base doubling from initial_backoff_ms up to
// max_backoff_ms, so that many exporters failing together do not retry in lockstep.
uint64_t BatchingExporter::BackoffMs(int retry) {
  uint64_t base = options_.initial_backoff_ms;
  for (int i = 0; i < retry && base < options_.max_backoff_ms; ++i) base *= 2;
  base = std::min(base, options_.max_backoff_ms);
  const uint64_t half = base / 2;
  const auto jitter =
      static_cast<uint64_t>(rng_.NextDouble() * static_cast<double>(base - half + 1));
  return std::min(base, half + jitter);
}

void BatchingExporter::Finish(const std::vector<Span>& batch, uint64_t exported,
                              uint64_t rejected, uint64_t failed, DropReason why,
                              const std::optional<std::string>& error, const std::string& first) {
  std::lock_guard lock(mu_);
  stats_.exported += exported;
  stats_.rejected += rejected;
  if (failed > 0) CountDrop(batch, why, first);  // a batch fails whole
  if (error) stats_.last_error = *error;
  held_ -= batch.size();
}

}  // namespace tracerig
