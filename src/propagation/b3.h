// B3 (Zipkin) single-header format: `b3: {traceid}-{spanid}[-{sampling}[-{parentspanid}]]`, plus
// the B3 context and sampling model shared with the multi-header form (b3multi.h).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/ids.h"
#include "propagation/propagator.h"

namespace tracerig {

inline constexpr std::string_view kB3Header = "b3";

// B3's sampling state. Deferred means the caller left the decision to the receiver.
enum class B3Sampling : uint8_t { kDeferred, kNotSampled, kSampled, kDebug };

// What either B3 form carries. A sampling-only header ("b3: 0", "b3: 1", "b3: d", or only
// X-B3-Sampled) has no ids: trace_id and span_id are invalid.
struct B3Context {
  TraceId trace_id;
  SpanId span_id;
  SpanId parent_span_id;  // invalid (0) when absent
  B3Sampling sampling = B3Sampling::kDeferred;

  bool HasIds() const { return trace_id.IsValid() && span_id.IsValid(); }
  bool operator==(const B3Context&) const = default;
};

// Strict parser of one `b3` value (spaces and tabs around it are trimmed). Trace id: 16 or 32
// lowercase hex digits (16 are left-padded to 128 bits); span and parent id: 16 lowercase hex
// digits; no id may be all zeros. Sampling: '1', '0' or 'd' (debug, which implies sampled). A
// parent id requires a sampling field. A lone '0', '1' or 'd' is a sampling-only decision.
// Anything else (empty fields, extra fields, uppercase, "true") gives nullopt.
std::optional<B3Context> ParseB3Single(std::string_view value);

// "{32 hex trace}-{16 hex span}-1" or "...-0". The trace id is always written with 32 digits.
std::string FormatB3Single(const TraceId& trace_id, const SpanId& span_id, bool sampled);

// A B3 context as tracerig's SpanContext: flags 0x01 when sampled or debug, 0x00 when not sampled
// or deferred (as OpenTelemetry does), and SpanContext::debug for debug. A sampling-only context
// stays invalid but keeps the flag and the debug bit.
SpanContext B3ToSpanContext(const B3Context& b3);

class B3SinglePropagator final : public Propagator {
 public:
  // Reads only the `b3` header (the first field when it repeats); never the X-B3-* headers, so a
  // single-versus-multi mismatch between services can be reproduced. Listing both "b3" and
  // "b3multi" gives a composite that prefers the single header (registry.h).
  SpanContext Extract(const HeaderReader& carrier) const override;
  // Writes `b3: {trace}-{span}-1|0`, or `-d` for a debug context (debug implies sampled); nothing
  // for an invalid context.
  void Inject(const SpanContext& context, HeaderWriter& carrier) const override;
};

}  // namespace tracerig
