// A simulated batch consumer: collecting up to batch.size deliveries (or what arrived within
// batch.wait after the first), and the batch's CONSUMER span, the root of a trace of its own with
// one span link per message. Its calls run under it with its first message's ground truth (the
// batch belongs to no one request, and the calls need one to be tied to anything); the BatchLog
// says which messages each batch span processed. The faults batch-first-parent-only and
// link-missing act here.
#include <charconv>

#include "topology/ground_truth.h"
#include "topology/message_headers.h"
#include "topology/runtime_internal.h"

namespace tracerig {
namespace {

constexpr uint32_t Bit(FaultKind kind) { return 1u << static_cast<uint32_t>(kind); }

uint64_t ParseDecimal(std::string_view text) {
  uint64_t v = 0;
  std::from_chars(text.data(), text.data() + text.size(), v);
  return v;
}

}  // namespace

using SimulatedService = TopologyRuntime::SimulatedService;

void SimulatedService::CollectBatch(ConsumerRun& run, Delivery delivery) {
  run.batch.push_back(std::move(delivery));
  if (run.batch.size() >= run.consumer.batch.size) {
    FlushBatch(run);
    return;
  }
  if (run.batch.size() > 1) return;
  // The first of a batch: the rest may arrive until the wait is over.
  const uint64_t generation = ++run.batch_generation;
  run.batch_timer.expires_after(std::chrono::nanoseconds(run.consumer.batch.wait_ns));
  run.batch_timer.async_wait([this, &run, generation](beast::error_code ec) {
    if (ec || generation != run.batch_generation) return;
    FlushBatch(run);
  });
}

void SimulatedService::FlushBatch(ConsumerRun& run) {
  if (run.batch.empty()) return;
  ++run.batch_generation;  // a timer still pending belongs to this batch: it must flush nothing
  run.batch_timer.cancel();
  auto work = std::make_shared<ConsumerWork>();
  work->run = &run;
  work->deliveries = std::move(run.batch);
  run.batch.clear();
  batches_++;
  StartConsume(std::move(work));
}

void SimulatedService::StartBatchSpan(InFlight& state, bool& sampled) {
  ConsumerWork& work = *state.work;
  const Consumer& consumer = work.run->consumer;
  Span& span = state.server;
  const SpanContext& first = work.contexts.front();
  const MessageHeaderReader first_reader(work.deliveries.front().headers);
  const std::string_view offset = work.truths.front().offset;
  // consumer-new-trace: the headers are ignored, so there is nothing to link to.
  bool ignore_headers = (state.faults & Bit(FaultKind::kNewTrace)) != 0;
  if (ConsumerFaultApplies(FaultKind::kConsumerNewTrace, consumer, state.point, offset, first,
                           first_reader)) {
    faults_applied_[static_cast<size_t>(FaultKind::kConsumerNewTrace)]++;
    ignore_headers = true;
  }
  const bool first_parent_only =
      !ignore_headers && ConsumerFaultApplies(FaultKind::kBatchFirstParentOnly, consumer,
                                              state.point, offset, first, first_reader);
  if (first_parent_only) {
    faults_applied_[static_cast<size_t>(FaultKind::kBatchFirstParentOnly)]++;
  }
  if (!ignore_headers) {
    state.baggage = first.baggage;
  }
  if (first_parent_only && first.IsValid()) {
    // Parented to its first message, as if it were a single one; no links.
    span.trace_id = first.trace_id;
    span.parent_span_id = first.span_id;
    span.trace_state = first.trace_state;
    state.debug = first.debug;
    sampled = SamplingDecision(state.point, service_.sampling, first.sampled()) || state.debug;
    return;
  }
  span.trace_id = TraceId{id_rng_.NextNonZero(), id_rng_.Next()};
  sampled = SamplingDecision(state.point, service_.sampling, std::nullopt);
  if (ignore_headers || first_parent_only) return;
  span.links.reserve(work.deliveries.size());
  for (size_t i = 0; i < work.deliveries.size(); ++i) {
    const SpanContext& context = work.contexts[i];
    if (!context.IsValid()) continue;  // a message without context has nothing to link to
    const MessageTruth& truth = work.truths[i];
    // link-missing decides per message, at the message's own hop H (its publish).
    const bool tied = !truth.request_id.empty() && !truth.hop.empty();
    if (tied) {
      const DecisionPoint at_publish(scenario_.seed, ParseDecimal(truth.sequence), truth.hop,
                                     service_.name);
      const MessageHeaderReader reader(work.deliveries[i].headers);
      if (ConsumerFaultApplies(FaultKind::kLinkMissing, consumer, at_publish, truth.offset, context,
                               reader)) {
        faults_applied_[static_cast<size_t>(FaultKind::kLinkMissing)]++;
        continue;
      }
    }
    SpanLink link;
    link.trace_id = context.trace_id;
    link.span_id = context.span_id;
    link.trace_state = context.trace_state;
    link.flags = context.trace_flags;
    // Ground truth: which delivery (its delivery hop, as in the BatchLog) the link stands for.
    if (!truth.request_id.empty()) {
      link.attributes.push_back({std::string(kRequestIdAttribute), truth.request_id});
    }
    if (!truth.delivery_hop.empty()) {
      link.attributes.push_back({std::string(kHopAttribute), truth.delivery_hop});
    }
    span.links.push_back(std::move(link));
  }
}

}  // namespace tracerig
