// tracerig's span model: what simulated services record, what exporters encode, what the embedded
// backend stores and what every backend client normalises into for the verifier.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/ids.h"

namespace tracerig {

// Values match OTLP's SpanKind enum.
enum class SpanKind : uint8_t {
  kUnspecified = 0,
  kInternal = 1,
  kServer = 2,
  kClient = 3,
  kProducer = 4,
  kConsumer = 5,
};

// Values match OTLP's Status.StatusCode enum.
enum class StatusCode : uint8_t { kUnset = 0, kOk = 1, kError = 2 };

std::string_view SpanKindName(SpanKind kind);  // "SERVER", "CLIENT", ...
std::string_view StatusCodeName(StatusCode code);  // "UNSET", "OK", "ERROR"

using AttributeValue = std::variant<std::string, bool, int64_t, double>;

struct Attribute {
  std::string key;
  AttributeValue value;
  bool operator==(const Attribute&) const = default;
};

// Renders a value as text (for tags, reports and comparisons with scenario expectations).
std::string AttributeValueToString(const AttributeValue& value);

struct SpanEvent {
  uint64_t time_unix_nano = 0;
  std::string name;
  std::vector<Attribute> attributes;
  bool operator==(const SpanEvent&) const = default;
};

// A link to another span's context (OTLP Span.Link; Jaeger's FOLLOWS_FROM reference): a batch
// CONSUMER span links to the context of each message it processes. Zipkin v2 has no links.
struct SpanLink {
  TraceId trace_id;
  SpanId span_id;
  std::string trace_state;
  std::vector<Attribute> attributes;
  uint32_t flags = 0;  // W3C trace flags of the linked context in the low 8 bits, as OTLP's
  bool operator==(const SpanLink&) const = default;
};

struct Span {
  TraceId trace_id;
  SpanId span_id;
  SpanId parent_span_id;  // invalid (0) for a root span
  std::string trace_state;
  std::string name;
  SpanKind kind = SpanKind::kUnspecified;
  uint64_t start_unix_nano = 0;
  uint64_t end_unix_nano = 0;
  std::vector<Attribute> attributes;
  std::vector<SpanEvent> events;
  std::vector<SpanLink> links;
  StatusCode status_code = StatusCode::kUnset;
  std::string status_message;
  uint32_t flags = 0;  // W3C trace flags in the low 8 bits, as OTLP's Span.flags
  // Resource: service.name plus any other resource attributes.
  std::string service_name;
  std::vector<Attribute> resource_attributes;

  // The attribute's value, or nullptr.
  const AttributeValue* FindAttribute(std::string_view key) const;
  bool operator==(const Span&) const = default;
};

// Ground-truth attributes set by simulated services, independent of trace context, so the verifier
// can find every fragment of a request even when propagation broke.
inline constexpr std::string_view kRequestIdAttribute = "tracerig.request_id";
// Position of the span in the expected call tree of its route ("0", "0.1", "0.1.0", ...).
inline constexpr std::string_view kHopAttribute = "tracerig.hop";

}  // namespace tracerig
