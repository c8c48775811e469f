// Jaeger's native format: `uber-trace-id: {trace-id}:{span-id}:{parent-span-id}:{flags}`.
// Jaeger's baggage headers (uberctx-*) and jaeger-debug-id are not handled.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/ids.h"
#include "propagation/propagator.h"

namespace tracerig {

inline constexpr std::string_view kUberTraceIdHeader = "uber-trace-id";
inline constexpr uint8_t kJaegerSampledFlag = 0x01;
inline constexpr uint8_t kJaegerDebugFlag = 0x02;

struct UberTraceId {
  TraceId trace_id;
  SpanId span_id;
  SpanId parent_span_id;  // 0 when the sender had none (the field is deprecated)
  uint8_t flags = 0;

  bool operator==(const UberTraceId&) const = default;
};

// Parses one uber-trace-id value (spaces and tabs around it are trimmed). URL-encoded colons
// ("%3A" or "%3a", as some clients send) are read as ':'; any other '%' is malformed. Exactly four
// fields: trace id 1..32 hex digits and span id 1..16 hex digits, either case, left-padded (not
// every client zero-pads), neither all zeros; parent id 1..16 hex digits ("0" when absent); flags
// 1..2 hex digits. Anything else gives nullopt.
std::optional<UberTraceId> ParseUberTraceId(std::string_view value);

// "{32 hex trace}:{16 hex span}:0:{flags in hex}", lowercase.
std::string FormatUberTraceId(const TraceId& trace_id, const SpanId& span_id, uint8_t flags);

class JaegerPropagator final : public Propagator {
 public:
  // Reads the first uber-trace-id field when it repeats. Sampled when flag 0x01 or 0x02 (debug
  // forces sampling in Jaeger) is set; 0x02 also sets SpanContext::debug.
  SpanContext Extract(const HeaderReader& carrier) const override;
  // Writes uber-trace-id with parent 0 and flags 1 (sampled), 0, or 3 (debug, which implies
  // sampled); nothing for an invalid context.
  void Inject(const SpanContext& context, HeaderWriter& carrier) const override;
};

}  // namespace tracerig
