// A simulated service's publishes: a publish call's execution records a PRODUCER span, writes its
// context and tracerig's ground truth into the message's headers (through the same outbound
// writer as an HTTP call, so edge faults act on it alike) and completes when the broker has
// accepted the message or failed to.
#include <fmt/format.h>

#include "topology/ground_truth.h"
#include "topology/message_headers.h"
#include "topology/runtime_internal.h"

namespace tracerig {

using SimulatedService = TopologyRuntime::SimulatedService;

void SimulatedService::StartPublish(const std::shared_ptr<CallRun>& run) {
  const InFlight& state = *run->request;
  const Call& call = run->call;
  auto attempt = std::make_shared<Attempt>(ioc_, run);
  attempt->hop = run->call_hop;  // a publish is not retried
  Span& producer = attempt->client;
  producer.trace_id = state.server.trace_id;
  producer.span_id = SpanId{id_rng_.NextNonZero()};
  run->first_client = producer.span_id;
  producer.parent_span_id = state.server.span_id;
  producer.trace_state = state.server.trace_state;
  producer.flags = state.server.flags;
  std::string destination = call.Destination();
  producer.name = "send " + destination;
  producer.kind = SpanKind::kProducer;
  producer.service_name = service_.name;
  producer.resource_attributes = service_.resource;
  producer.start_unix_nano = clock_.NowUnixNano();

  OutgoingMessage message;
  message.exchange = call.publish;
  message.routing_key = call.routing_key;
  // Unique per run: one publish per request and hop (a request without ground truth: the
  // PRODUCER span's id, unique by construction).
  message.message_id = state.request_id.empty() || state.hop.empty()
                           ? producer.span_id.ToHex()
                           : fmt::format("{}-{}", state.request_id, attempt->hop);
  producer.attributes.reserve(10);
  producer.attributes.push_back({"messaging.system", std::string("rabbitmq")});
  producer.attributes.push_back({"messaging.operation.type", std::string("send")});
  producer.attributes.push_back({"messaging.operation.name", std::string("send")});
  producer.attributes.push_back({"messaging.destination.name", std::move(destination)});
  producer.attributes.push_back({"messaging.rabbitmq.destination.routing_key", call.routing_key});
  producer.attributes.push_back({"messaging.message.id", message.message_id});
  if (call.request_bytes > 0) {
    producer.attributes.push_back(
        {"messaging.message.body.size", static_cast<int64_t>(call.request_bytes)});
  }
  if (!state.request_id.empty()) {
    producer.attributes.push_back({std::string(kRequestIdAttribute), state.request_id});
  }
  if (!state.hop.empty()) producer.attributes.push_back({std::string(kHopAttribute), attempt->hop});

  MessageHeaderWriter writer(message.headers);
  WriteOutboundHeaders(*attempt, writer);
  message.body.assign(call.request_bytes, 'x');
  if (broker_ == nullptr) {
    OnPublishDone(attempt, MakeError(ErrorCode::kInternal, "no broker to publish to"));
    return;
  }
  // `done` runs on a broker thread (or inline): the rest belongs on this service's loop.
  messages_handed_over_++;
  broker_->Publish(std::move(message), [this, attempt](Status status) {
    asio::post(ioc_,
               [this, attempt, status = std::move(status)] { OnPublishDone(attempt, status); });
  });
}

void SimulatedService::OnPublishDone(const std::shared_ptr<Attempt>& attempt,
                                     const Status& status) {
  const std::shared_ptr<CallRun> run = attempt->run;
  InFlight& state = *run->request;
  Span producer = std::move(attempt->client);
  producer.end_unix_nano = clock_.NowUnixNano();
  if (status) {
    messages_published_++;
  } else {
    messages_handed_over_--;  // refused: nothing will be delivered
    publish_failures_++;
    call_failures_++;
    state.call_failed = true;
    producer.status_code = StatusCode::kError;
    producer.status_message = status.error().message;
    producer.attributes.push_back({"error.type", std::string(ErrorCodeName(status.error().code))});
  }
  Record(std::move(producer), state);
  run->execution++;
  NextExecution(run);
}

void SimulatedService::Republish(OutgoingMessage message) {
  if (broker_ == nullptr) return;
  // Only counted: nothing waits for a redelivery or a dead-lettered copy.
  messages_handed_over_++;
  broker_->Publish(std::move(message), [this](Status status) {
    if (!status) {
      messages_handed_over_--;
      publish_failures_++;
    }
  });
}

}  // namespace tracerig
