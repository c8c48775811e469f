// Naming async edges in verdicts (see async_edges.h).
#include "verifier/async_edges.h"

#include <fmt/format.h>

#include <cctype>

#include "topology/messaging.h"

namespace tracerig {

DeliveryOfHop ParseDeliveryHop(std::string_view hop) {
  DeliveryOfHop d;
  if (!hop.empty() && hop.back() == 'q') {
    d.kind = DeliveryOfHop::Kind::kDeadLetter;
    return d;
  }
  size_t digits = 0;
  while (digits < hop.size() &&
         std::isdigit(static_cast<unsigned char>(hop[hop.size() - 1 - digits])) != 0) {
    ++digits;
  }
  if (digits == 0 || digits == hop.size() || hop[hop.size() - 1 - digits] != 'd') return d;
  uint32_t n = 0;
  for (char c : hop.substr(hop.size() - digits)) n = n * 10 + static_cast<uint32_t>(c - '0');
  d.kind = DeliveryOfHop::Kind::kRedelivery;
  d.redelivery = n;
  return d;
}

std::string_view DestinationOfSpanName(std::string_view name) {
  for (std::string_view prefix : {std::string_view("send "), std::string_view("process ")}) {
    if (name.starts_with(prefix)) return name.substr(prefix.size());
  }
  return name;
}

bool IsAsync(const ExpectedSpan& e) {
  return e.kind == SpanKind::kProducer || e.kind == SpanKind::kConsumer;
}

std::string DescribeAsyncEdge(const ExpectedTree& tree, size_t index) {
  const ExpectedSpan& e = tree.spans[index];
  const std::string_view destination = DestinationOfSpanName(e.name);
  if (e.kind == SpanKind::kProducer) {
    return fmt::format("{} publishes to {}", e.service, destination);
  }
  const DeliveryOfHop d = ParseDeliveryHop(e.hop);
  switch (d.kind) {
    case DeliveryOfHop::Kind::kRedelivery:
      return fmt::format("redelivery {} of {} to {}", d.redelivery, destination, e.service);
    case DeliveryOfHop::Kind::kDeadLetter:
      return fmt::format("{} dead-lettered to {}", destination, e.queue);
    case DeliveryOfHop::Kind::kFirst:
      break;
  }
  return fmt::format("{} publishes to {}", e.peer, destination);
}

std::string DescribeAsyncBreak(const ExpectedTree& tree, size_t index, TraceId found_under,
                               TraceId sent) {
  const ExpectedSpan& e = tree.spans[index];
  const std::string edge = DescribeAsyncEdge(tree, index);
  const std::string change = DescribeTraceIdChange(sent, found_under);
  if (change == "a new trace id") {
    return fmt::format("at an async edge: {}; {} starts a new trace (hop {}: its {} span is "
                       "under trace {})",
                       edge, e.service, e.hop, SpanKindName(e.kind), found_under.ToHex());
  }
  return fmt::format("at an async edge: {}; {}'s {} span is under trace {}, {} (hop {})", edge,
                     e.service, SpanKindName(e.kind), found_under.ToHex(), change, e.hop);
}

std::string DescribeConsumerFaults(const Scenario& scenario, const PropagationBreak& b) {
  const DeliveryOfHop delivery = ParseDeliveryHop(b.hop);
  // Whether `service` dead-letters into a queue that b.callee reads.
  auto dead_letters_to_callee = [&](std::string_view service) {
    const Service* s = scenario.FindService(service);
    if (s == nullptr) return false;
    for (const Consumer& c : s->consumers) {
      if (c.dead_letter.empty()) continue;
      const ConsumerRef reader = ConsumerOfQueue(scenario, c.dead_letter);
      if (reader.service != nullptr && reader.service->name == b.callee) return true;
    }
    return false;
  };
  std::string text;
  for (const Fault& f : scenario.faults) {
    bool applies = false;
    switch (f.kind) {
      case FaultKind::kConsumerNewTrace:
        applies = f.service == b.callee;
        break;
      case FaultKind::kDlqDropsHeaders:
        applies = delivery.kind == DeliveryOfHop::Kind::kDeadLetter &&
                  dead_letters_to_callee(f.service);
        break;
      case FaultKind::kRetryDuplicatesHeaders:
        applies = delivery.kind == DeliveryOfHop::Kind::kRedelivery && f.service == b.callee;
        break;
      default:
        break;
    }
    if (applies) text += fmt::format(" ({} fault on {})", FaultKindName(f.kind), f.service);
  }
  return text;
}

}  // namespace tracerig
