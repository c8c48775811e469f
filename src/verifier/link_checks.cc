// Checking a batch consumer's span links (see link_checks.h).
#include "verifier/link_checks.h"

#include <fmt/format.h>

#include <algorithm>
#include <string>
#include <string_view>

#include "core/ledger.h"

namespace tracerig {
namespace {

// How many of a batch span's other links a message names.
constexpr size_t kLinksNamed = 3;

std::string Where(TraceId trace, SpanId span) {
  return fmt::format("span {} of trace {}", span.ToHex(), trace.ToHex());
}

bool LinkAttributeIs(const SpanLink& link, std::string_view key, std::string_view value) {
  for (const Attribute& a : link.attributes) {
    if (a.key != key) continue;
    return AttributeValueToString(a.value) == value;
  }
  return false;
}

}  // namespace

LinkCheck CheckBatchLink(const ExpectedSpan& consumer, const Span* producer, uint64_t request_id,
                         const BatchRecord* batch, const std::vector<Span>* batch_trace) {
  LinkCheck c;
  if (producer == nullptr) return c;
  const std::string request = FormatRequestId(request_id);
  const std::string message =
      fmt::format("request {}'s message ({} PRODUCER span {} of trace {})", request,
                  producer->service_name, producer->span_id.ToHex(), producer->trace_id.ToHex());
  // Named as the edge, as a broken call is: "web publishes to orders:created (hop 0.0): ...".
  std::string_view destination = consumer.name;
  if (destination.starts_with("process ")) destination.remove_prefix(8);
  auto fail = [&](std::string text) {
    c.violation = Violation{"link", consumer.hop, consumer.service,
                            fmt::format("{} publishes to {} (hop {}): {}", consumer.peer,
                                        destination, consumer.hop, text)};
  };
  if (batch == nullptr) {
    c.checked = true;
    fail(fmt::format("no batch of {} from queue {} processed {}", consumer.service,
                     consumer.queue, message));
    return c;
  }
  if (!batch->sampled) return c;
  c.checked = true;
  c.batch_start_unix_nano = batch->start_unix_nano;
  const Span* span = nullptr;
  if (batch_trace != nullptr) {
    auto it = std::find_if(batch_trace->begin(), batch_trace->end(), [&](const Span& s) {
      return s.trace_id == batch->trace_id && s.span_id == batch->span_id;
    });
    if (it != batch_trace->end()) span = &*it;
  }
  const std::string batch_span =
      fmt::format("{}'s batch span from queue {} ({})", consumer.service, consumer.queue,
                  Where(batch->trace_id, batch->span_id));
  if (span == nullptr) {
    fail(fmt::format("{}, which processed {}, is not in the backend", batch_span, message));
    return c;
  }
  c.batch_start_unix_nano = span->start_unix_nano;
  for (const SpanLink& link : span->links) {
    if (link.trace_id == producer->trace_id && link.span_id == producer->span_id) {
      c.found = true;
      return c;
    }
  }
  if (span->links.empty() && span->parent_span_id.IsValid()) {
    c.parented_to_message = true;
    c.batch_span = span->span_id;
    fail(fmt::format("{} is parented to a message ({}) instead of linking to each of its {} "
                     "messages: no link to {}",
                     batch_span, Where(span->trace_id, span->parent_span_id),
                     batch->members.size(), message));
    return c;
  }
  // The link the batch span holds for this message (by the ground truth it carries), if any.
  for (const SpanLink& link : span->links) {
    if (LinkAttributeIs(link, kRequestIdAttribute, request) &&
        LinkAttributeIs(link, kHopAttribute, consumer.hop)) {
      fail(fmt::format("{} links {} to {} instead", batch_span, message,
                       Where(link.trace_id, link.span_id)));
      return c;
    }
  }
  std::string others;
  for (size_t i = 0; i < span->links.size() && i < kLinksNamed; ++i) {
    others += (i == 0 ? "" : ", ") + Where(span->links[i].trace_id, span->links[i].span_id);
  }
  if (span->links.size() > kLinksNamed) {
    others += fmt::format(", and {} more", span->links.size() - kLinksNamed);
  }
  fail(span->links.empty()
           ? fmt::format("{} has no links at all: none to {}", batch_span, message)
           : fmt::format("{} has no link to {}: its {} link{} point{} at {}", batch_span, message,
                         span->links.size(), span->links.size() == 1 ? "" : "s",
                         span->links.size() == 1 ? "s" : "", others));
  return c;
}

}  // namespace tracerig
