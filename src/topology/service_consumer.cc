// A simulated service's consumers: subscribing to their queues, turning each delivery (or batch,
// consumer_batch.cc) into a CONSUMER span and the consumer's calls, and settling it afterwards:
// ack, and for a failed processing a redelivery (republished with tracerig-delivery: k) or, after
// the consumer's redeliveries, a dead-lettered copy. The consumer faults act here.
#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <vector>

#include "topology/expected_tree.h"
#include "topology/ground_truth.h"
#include "topology/message_headers.h"
#include "topology/messaging.h"
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

Status SimulatedService::Subscribe() {
  if (broker_ == nullptr) return Ok{};
  for (const Consumer& consumer : service_.consumers) {
    auto run = std::make_unique<ConsumerRun>(ioc_, consumer);
    ConsumerRun* raw = run.get();
    // A batch needs its messages unacked at once.
    const uint32_t prefetch = std::max(consumer.prefetch, consumer.batch.size);
    auto subscription = broker_->Consume(consumer.queue, prefetch, [this, raw](Delivery delivery) {
      asio::post(ioc_, [this, raw, delivery = std::move(delivery)]() mutable {
        OnDelivery(*raw, std::move(delivery));
      });
    });
    if (!subscription) {
      return MakeError(subscription.error().code,
                       fmt::format("service \"{}\": consuming queue \"{}\": {}", service_.name,
                                   consumer.queue, subscription.error().message));
    }
    run->subscription = std::move(*subscription);
    consumers_.push_back(std::move(run));
  }
  return Ok{};
}

void SimulatedService::StopConsumers() {
  for (auto& run : consumers_) {
    if (run->subscription) run->subscription->Stop();
  }
}

void SimulatedService::OnDelivery(ConsumerRun& run, Delivery delivery) {
  messages_consumed_++;
  if (run.consumer.IsBatch()) {
    CollectBatch(run, std::move(delivery));
    return;
  }
  auto work = std::make_shared<ConsumerWork>();
  work->run = &run;
  work->deliveries.push_back(std::move(delivery));
  StartConsume(std::move(work));
}

SimulatedService::MessageTruth SimulatedService::TruthOf(const Delivery& delivery) const {
  const std::vector<MessageHeader>& headers = delivery.headers;
  MessageTruth truth;
  truth.request_id = FirstHeader(headers, kRequestIdHeader);
  truth.sequence = FirstHeader(headers, kSequenceHeader);
  truth.hop = FirstHeader(headers, kHopHeader);
  truth.offset = FirstHeader(headers, kOffsetHeader);
  truth.destination = FirstHeader(headers, kDestinationHeader);
  if (truth.destination.empty()) {
    truth.destination = delivery.exchange + ":" + delivery.routing_key;
  }
  truth.dead_letter_of = FirstHeader(headers, kDeadLetterHeader);
  truth.delivery = static_cast<uint32_t>(ParseDecimal(FirstHeader(headers, kDeliveryHeader)));
  if (!truth.hop.empty()) {
    truth.delivery_hop = truth.dead_letter_of.empty() ? truth.hop : DeadLetterHop(truth.hop);
    if (truth.delivery > 0) truth.delivery_hop = RedeliveryHop(truth.delivery_hop, truth.delivery);
  }
  return truth;
}

bool SimulatedService::ConsumerFaultApplies(FaultKind kind, const Consumer& consumer,
                                            const DecisionPoint& point, std::string_view offset,
                                            const SpanContext& incoming,
                                            const HeaderReader& headers) const {
  for (const ServiceFault& f : faults_) {
    const Fault& fault = *f.fault;
    if (fault.kind != kind) continue;
    // A dead-letter fault may name either end of the dead-lettering.
    if (!fault.queue.empty() && fault.queue != consumer.queue &&
        !(kind == FaultKind::kDlqDropsHeaders && fault.queue == consumer.dead_letter)) {
      continue;
    }
    const std::optional<bool> sampled =
        incoming.IsValid() ? std::optional<bool>(incoming.sampled()) : std::nullopt;
    const std::string_view format = fault.when.format.empty() || format_readers_.empty()
                                        ? std::string_view()
                                        : IncomingFormat(headers);
    if (!FaultConditionHolds(fault.when, sampled, format)) continue;
    if (FaultApplies(point, fault, f.index, ParseDecimal(offset))) return true;
  }
  return false;
}

void SimulatedService::StartConsume(std::shared_ptr<ConsumerWork> work) {
  const uint64_t now = clock_.NowUnixNano();
  const Consumer& consumer = work->run->consumer;
  std::vector<uint64_t> sequences;
  sequences.reserve(work->deliveries.size());
  for (const Delivery& delivery : work->deliveries) {
    MessageTruth truth = TruthOf(delivery);
    const bool tied = !truth.request_id.empty() && !truth.delivery_hop.empty();
    const uint64_t sequence = tied ? ParseDecimal(truth.sequence) : untied_++;
    work->points.emplace_back(scenario_.seed, sequence, tied ? truth.delivery_hop : "untied",
                              service_.name);
    sequences.push_back(sequence);
    const MessageHeaderReader reader(delivery.headers);
    SpanContext context = propagator_->Extract(reader);
    // What arrived, as the service's formats read it, whatever the faults do with it: a delivery
    // is an inbound at its delivery hop, its destination in place of a route.
    Inbound in{nullptr,
               {},
               truth.destination,
               &reader,
               truth.request_id,
               truth.sequence,
               truth.delivery_hop,
               truth.offset,
               {},
               tied ? GroundTruthSource::kHeaders : GroundTruthSource::kNone,
               {}};
    RecordWire(in, context, now);
    work->contexts.push_back(std::move(context));
    work->truths.push_back(std::move(truth));
  }
  const MessageTruth& first = work->truths.front();
  const MessageHeaderReader first_reader(work->deliveries.front().headers);
  auto state = std::make_shared<InFlight>(ioc_, work->points.front());
  state->steps = &consumer.calls;
  state->work = work;
  state->sequence = sequences.front();
  state->request_id = first.request_id;
  state->sequence_text = first.sequence;
  state->offset_text = first.offset;
  state->hop = first.delivery_hop;
  SpanContext parent = work->contexts.front();
  DecideFaults(*state, ParseDecimal(first.offset), parent,
               format_readers_.empty() ? std::string_view() : IncomingFormat(first_reader));
  if (!forward_headers_.empty()) CopyForwarded(first_reader, *state);

  Span& span = state->server;
  span.service_name = service_.name;
  span.resource_attributes = service_.resource;
  span.name = "process " + first.destination;
  span.kind = SpanKind::kConsumer;
  span.start_unix_nano = now;
  span.span_id = SpanId{id_rng_.NextNonZero()};
  bool sampled = false;
  if (consumer.IsBatch()) {
    StartBatchSpan(*state, sampled);
  } else {
    if (ConsumerFaultApplies(FaultKind::kConsumerNewTrace, consumer, state->point, first.offset,
                             parent, first_reader)) {
      faults_applied_[static_cast<size_t>(FaultKind::kConsumerNewTrace)]++;
      parent = SpanContext{};
    }
    if ((state->faults & Bit(FaultKind::kNewTrace)) != 0) parent = SpanContext{};
    state->baggage = parent.baggage;
    state->debug = parent.debug;
    sampled =
        SamplingDecision(state->point, service_.sampling,
                         parent.IsValid() ? std::optional<bool>(parent.sampled()) : std::nullopt) ||
        state->debug;
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
  }
  if ((state->faults & Bit(FaultKind::kOrphan)) != 0) {
    span.parent_span_id = SpanId{state->point.Stream(DecisionStream::kFaultValue).NextNonZero()};
  }
  span.flags = sampled ? 0x01 : 0x00;
  span.attributes.reserve(10);
  span.attributes.push_back({"messaging.system", std::string("rabbitmq")});
  span.attributes.push_back({"messaging.operation.type", std::string("process")});
  span.attributes.push_back({"messaging.operation.name", std::string("process")});
  span.attributes.push_back({"messaging.destination.name", first.destination});
  span.attributes.push_back({"messaging.destination.subscription.name", consumer.queue});
  if (consumer.IsBatch()) {
    span.attributes.push_back(
        {"messaging.batch.message_count", static_cast<int64_t>(work->deliveries.size())});
  } else {
    const Delivery& delivery = work->deliveries.front();
    span.attributes.push_back(
        {"messaging.rabbitmq.message.delivery_tag", static_cast<int64_t>(delivery.delivery_tag)});
    span.attributes.push_back({"messaging.message.id", delivery.message_id});
  }
  // A batch span carries its first message's ground truth, as its calls do.
  if (!state->request_id.empty()) {
    span.attributes.push_back({std::string(kRequestIdAttribute), state->request_id});
  }
  if (!state->hop.empty()) span.attributes.push_back({std::string(kHopAttribute), state->hop});

  Rng latency_rng = state->point.Stream(DecisionStream::kLatency);
  const uint64_t latency = consumer.latency.Sample(latency_rng);
  if (latency == 0) {
    RunStep(state);  // already on the loop (a posted delivery or a batch timer)
    return;
  }
  state->timer.expires_after(std::chrono::nanoseconds(latency));
  state->timer.async_wait([this, state](beast::error_code) { RunStep(state); });
}

void SimulatedService::FinishConsume(const std::shared_ptr<InFlight>& state) {
  ConsumerWork& work = *state->work;
  ConsumerRun& run = *work.run;
  const Consumer& consumer = run.consumer;
  // Only the consumer's error_rate fails a message (a failed call of its own does not), decided
  // per delivery at its own delivery hop, as the expected tree decides redeliveries: a batch
  // resettles only the messages that failed, and its span is an error when any did.
  const size_t count = work.deliveries.size();
  std::vector<bool> failed;  // per delivery; left empty when the consumer never fails
  bool any_failed = false;
  if (consumer.error_rate > 0) {
    failed.resize(count);
    for (size_t i = 0; i < count; ++i) {
      failed[i] = RouteErrors(work.points[i], consumer.error_rate);
      any_failed = any_failed || failed[i];
    }
  }
  Span& span = state->server;
  span.end_unix_nano = clock_.NowUnixNano();
  if (any_failed) {
    span.status_code = StatusCode::kError;
    span.status_message = "processing failed";
    span.attributes.push_back({"error.type", std::string("processing_failed")});
  }
  const bool dropped = (state->faults & Bit(FaultKind::kDropSpan)) != 0;
  if (dropped) {
    spans_recorded_++;
    spans_dropped_++;
  } else {
    Record(span, *state);
  }
  // Logged only once the span is recorded: the verifier, finding the batch here, fetches its span.
  if (consumer.IsBatch() && batch_log_ != nullptr) {
    BatchRecord record;
    record.service = service_.name;
    record.queue = consumer.queue;
    record.trace_id = span.trace_id;
    record.span_id = span.span_id;
    record.sampled = (span.flags & 0x01) != 0 && !dropped;
    record.start_unix_nano = span.start_unix_nano;
    record.members.reserve(work.truths.size());
    for (const MessageTruth& truth : work.truths) {
      record.members.push_back({truth.request_id, truth.delivery_hop});
    }
    batch_log_->Add(std::move(record));
  }
  for (size_t i = 0; i < count; ++i) {
    if (any_failed && failed[i]) {
      Resettle(run, *state, work.deliveries[i], work.truths[i], work.points[i]);
    }
    if (run.subscription) run.subscription->Ack(work.deliveries[i].delivery_tag);
    messages_acked_++;
  }
}

void SimulatedService::Resettle(const ConsumerRun& run, const InFlight& state,
                                const Delivery& delivery, const MessageTruth& truth,
                                const DecisionPoint& point) {
  const Consumer& consumer = run.consumer;
  OutgoingMessage copy;
  copy.exchange = "";  // the default exchange: straight to one queue
  copy.message_id = delivery.message_id;
  copy.headers = delivery.headers;
  copy.body = delivery.body;
  MessageHeaderWriter writer(copy.headers);
  writer.Set(kDestinationHeader, truth.destination);
  const MessageHeaderReader reader(delivery.headers);
  const SpanContext incoming = propagator_->Extract(reader);
  if (truth.delivery < consumer.redeliveries) {
    messages_redelivered_++;
    copy.routing_key = consumer.queue;
    writer.Set(kDeliveryHeader, std::to_string(truth.delivery + 1));
    if (ConsumerFaultApplies(FaultKind::kRetryDuplicatesHeaders, consumer, point, truth.offset,
                             incoming, reader)) {
      // Each trace header the message carries gets a second entry: the failed delivery's own
      // context (its CONSUMER span), as a retrying client that injects again without clearing.
      std::vector<MessageHeader> own;
      MessageHeaderWriter own_writer(own);
      const SpanContext context{state.server.trace_id, state.server.span_id,
                                static_cast<uint8_t>(state.server.flags & 0xff),
                                state.server.trace_state};
      injector_->Inject(context, own_writer);
      bool changed = false;
      for (MessageHeader& header : own) {
        if (FirstHeader(delivery.headers, header.name).empty()) continue;
        copy.headers.push_back(std::move(header));
        changed = true;
      }
      if (changed) faults_applied_[static_cast<size_t>(FaultKind::kRetryDuplicatesHeaders)]++;
    }
  } else {
    messages_dead_lettered_++;
    // Dropped when there is no dead-letter queue, or nobody reads it (as the expected tree has
    // it): a copy there would never be acked, and a run would wait for it to drain.
    if (consumer.dead_letter.empty() ||
        ConsumerOfQueue(scenario_, consumer.dead_letter).consumer == nullptr) {
      return;
    }
    copy.routing_key = consumer.dead_letter;
    RemoveHeader(copy.headers, kDeliveryHeader);
    writer.Set(kDeadLetterHeader, consumer.queue);
    if (ConsumerFaultApplies(FaultKind::kDlqDropsHeaders, consumer, point, truth.offset, incoming,
                             reader)) {
      // Every header but tracerig's ground truth goes: the dead-letter consumer gets no context.
      faults_applied_[static_cast<size_t>(FaultKind::kDlqDropsHeaders)]++;
      copy.headers.erase(
          std::remove_if(copy.headers.begin(), copy.headers.end(),
                         [](const MessageHeader& h) { return !h.name.starts_with("tracerig-"); }),
          copy.headers.end());
    }
  }
  Republish(std::move(copy));
}

}  // namespace tracerig
