// The batching span exporter: services Submit finished spans without blocking; one background
// thread groups them into batches and hands each to a BatchSender (OTLP/HTTP, OTLP/gRPC, ...),
// retrying transient failures with exponential backoff and jitter. Bounded, and counts every span
// it drops, so a run can report exactly what never reached the backend.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "core/ids.h"
#include "core/rng.h"
#include "core/span.h"
#include "core/span_sink.h"

namespace tracerig {

struct SendResult {
  enum class Kind { kOk, kRetryable, kPermanent };
  Kind kind = Kind::kOk;
  std::string reason;           // why it failed (or what the backend said about rejected spans)
  uint64_t retry_after_ms = 0;  // the server's Retry-After / RetryInfo, 0 when not given
  int64_t rejected_spans = 0;   // partial success: spans of an accepted batch the backend dropped
};

// Sends one batch; called only from the exporter's thread. Must bound its own I/O with deadlines:
// Shutdown can stop retries and waits, but not a Send in progress.
class BatchSender {
 public:
  virtual ~BatchSender() = default;
  virtual SendResult Send(const std::vector<Span>& batch) = 0;
};

// How the exporter waits between retries, injectable so tests observe the delays without sleeping.
class RetryWaiter {
 public:
  virtual ~RetryWaiter() = default;
  // Waits `delay` or until Interrupt(); returns false when interrupted (also when Interrupt() came
  // earlier: interruption is permanent).
  virtual bool Wait(std::chrono::milliseconds delay) = 0;
  // Ends the current and every later Wait at once. Thread-safe.
  virtual void Interrupt() = 0;
};

class ConditionVariableWaiter final : public RetryWaiter {
 public:
  bool Wait(std::chrono::milliseconds delay) override;
  void Interrupt() override;

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool interrupted_ = false;
};

struct ExporterOptions {
  size_t max_queue_spans = 100000;  // spans held (queued or being sent) before Submit drops
  size_t max_batch_spans = 512;
  uint64_t max_batch_delay_ms = 200;  // a partial batch waits at most this long
  int max_retries = 5;                // retries after the first attempt
  uint64_t initial_backoff_ms = 100;
  uint64_t max_backoff_ms = 5000;
  // Distinct traces whose dropped spans are remembered (LossOf); drops beyond are only counted.
  size_t max_lost_traces = 100000;
  // Beyond max_lost_traces, forget the oldest remembered trace instead of the new one: a process
  // that exports for days (`tracerig canary`) asks about recent traces, a run about its first.
  bool forget_oldest_losses = false;
};

// Every submitted span ends in exactly one counter once the exporter is shut down:
// submitted == exported + rejected + dropped_queue_full + dropped_failed.
struct ExporterStats {
  uint64_t submitted = 0;
  uint64_t exported = 0;            // accepted by the backend
  uint64_t dropped_queue_full = 0;  // Submit found the queue full (or the exporter shut down)
  uint64_t dropped_failed = 0;  // permanent failure, retries exhausted, or abandoned at shutdown
  // dropped_failed by reason (they sum to it), so a report can say why spans never arrived.
  uint64_t dropped_permanent = 0;          // the backend refused the batch for good (400, ...)
  uint64_t dropped_retries_exhausted = 0;  // still failing after max_retries retries
  uint64_t dropped_shutdown = 0;           // abandoned or interrupted by Shutdown's timeout
  uint64_t rejected = 0;        // partial success: the backend accepted the batch but not these
  uint64_t retries = 0;         // send attempts after the first, over all batches
  uint64_t batches = 0;         // batches formed (each counted once, however often retried)
  std::string last_error;       // reason of the latest failed or partial send, for reports
  // The first failure of each drop reason, worded to follow its span count ("400 after 5
  // retries: cannot connect to 127.0.0.1:1: Connection refused"); empty while its count is 0.
  // The first is kept because later ones are mostly consequences of it.
  std::string first_permanent_error;          // "refused for good: HTTP 400: ..."
  std::string first_retries_exhausted_error;  // "after 5 retries: ..."
  std::string first_shutdown_error;           // "abandoned at shutdown: ..."
  // Distinct traces with a dropped span that LossOf knew when it happened (never decreases, also
  // when forget_oldest_losses forgets them later).
  uint64_t lost_traces = 0;
  uint64_t lost_untracked_spans = 0;  // dropped spans of traces beyond max_lost_traces
};

// Why spans of one trace never reached the backend (LossOf).
struct TraceLoss {
  bool queue_full = false;     // some were dropped because the queue was full
  bool export_failed = false;  // some were dropped by a failed export (dropped_failed)
  bool any() const { return queue_full || export_failed; }
};

class BatchingExporter final : public SpanSink {
 public:
  // `seed` drives the backoff jitter.
  BatchingExporter(std::unique_ptr<BatchSender> sender, ExporterOptions options, uint64_t seed);
  BatchingExporter(std::unique_ptr<BatchSender> sender, ExporterOptions options, uint64_t seed,
                   std::unique_ptr<RetryWaiter> waiter);
  ~BatchingExporter() override;  // calls Shutdown()
  BatchingExporter(const BatchingExporter&) = delete;
  BatchingExporter& operator=(const BatchingExporter&) = delete;

  // Never blocks on I/O; counts a drop when the queue is full or the exporter is shut down.
  void Submit(Span span) override;
  // Sends everything submitted before the call (including a partial batch) and waits for it, up to
  // `timeout`; true when all of it was sent or definitively dropped.
  bool Flush(std::chrono::milliseconds timeout);
  // Flushes for up to `timeout`, then abandons what is left (counted in dropped_failed), interrupts
  // retry waits and stops the thread. Idempotent.
  void Shutdown(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  ExporterStats stats() const;  // a consistent snapshot
  // Whether spans of `trace` were dropped (up to max_lost_traces distinct traces). Thread-safe.
  TraceLoss LossOf(const TraceId& trace) const;

 private:
  void Run();
  // Sends one batch, retrying as the options say, and records how it ended.
  void SendBatch(std::vector<Span>& batch);
  uint64_t BackoffMs(int retry);
  enum class DropReason { kNone, kPermanent, kRetriesExhausted, kShutdown };
  // Adds the outcome of a finished batch to stats_ and frees its queue slots; `failed` spans (the
  // whole batch) are counted under `why`, `first` is the reason's wording for first_*_error.
  // Locks mu_.
  void Finish(const std::vector<Span>& batch, uint64_t exported, uint64_t rejected,
              uint64_t failed, DropReason why, const std::optional<std::string>& error,
              const std::string& first);
  // Counts `failed` spans under `why` and remembers their traces. mu_ held.
  void CountDrop(const std::vector<Span>& spans, DropReason why, const std::string& first);
  void RememberLoss(const TraceId& trace, bool queue_full);  // mu_ held

  const std::unique_ptr<BatchSender> sender_;
  const ExporterOptions options_;
  const std::unique_ptr<RetryWaiter> waiter_;
  Rng rng_;  // exporter thread only

  mutable std::mutex mu_;
  std::condition_variable work_cv_;   // wakes the exporter thread
  std::condition_variable flush_cv_;  // wakes Flush callers
  std::vector<Span> queue_;           // submitted, not yet taken by the thread
  size_t held_ = 0;                   // spans queued or taken but not yet finished: the bound
  size_t thread_pending_ = 0;         // taken by the thread, not yet in a sent batch
  uint64_t flush_requested_ = 0;      // flush generations
  uint64_t flush_done_ = 0;
  bool stopping_ = false;  // no more Submit; the thread exits once drained
  bool thread_exited_ = false;
  std::atomic<bool> abort_ = false;  // Shutdown's timeout passed: abandon what is left
  ExporterStats stats_;
  std::unordered_map<TraceId, TraceLoss, TraceIdHash> lost_;  // at most max_lost_traces
  std::deque<TraceId> lost_order_;  // lost_'s keys, oldest first (forget_oldest_losses only)

  std::mutex shutdown_mu_;  // serialises Shutdown callers
  bool joined_ = false;
  std::thread thread_;  // last: starts after every other member is ready
};

}  // namespace tracerig
