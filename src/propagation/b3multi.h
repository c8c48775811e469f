// B3 (Zipkin) multi-header format: X-B3-TraceId, X-B3-SpanId, X-B3-ParentSpanId, X-B3-Sampled and
// X-B3-Flags. The context model and its mapping to SpanContext are shared with b3.h.
#pragma once

#include <optional>
#include <string_view>

#include "propagation/b3.h"
#include "propagation/propagator.h"

namespace tracerig {

// Lowercase, as HeaderWriter requires and gRPC metadata uses; HTTP reads are case-insensitive.
inline constexpr std::string_view kB3TraceIdHeader = "x-b3-traceid";
inline constexpr std::string_view kB3SpanIdHeader = "x-b3-spanid";
inline constexpr std::string_view kB3ParentSpanIdHeader = "x-b3-parentspanid";
inline constexpr std::string_view kB3SampledHeader = "x-b3-sampled";
inline constexpr std::string_view kB3FlagsHeader = "x-b3-flags";

// Reads the X-B3-* headers (the first field of each wins when one repeats; spaces and tabs around
// values are trimmed). Ids follow ParseB3Single's rules. X-B3-Sampled: "1"/"true" or
// "0"/"false". X-B3-Flags: "1" is debug (implies sampled, whatever X-B3-Sampled says), "0" is
// accepted as "not debug". Returns nullopt when no X-B3 header is present or any present header
// is malformed: a bad id, sampled or flags value, a trace id without a span id (or the reverse),
// or a parent id without ids. Sampled or Flags alone is a sampling-only decision (no ids).
std::optional<B3Context> ParseB3Multi(const HeaderReader& carrier);

class B3MultiPropagator final : public Propagator {
 public:
  // Reads only the X-B3-* headers, never `b3` (see B3SinglePropagator).
  SpanContext Extract(const HeaderReader& carrier) const override;
  // Writes x-b3-traceid (32 hex), x-b3-spanid and x-b3-sampled (1 or 0), or for a debug context
  // x-b3-flags: 1 instead of x-b3-sampled (debug implies accept); nothing for an invalid
  // context. No parent id (SpanContext has none).
  void Inject(const SpanContext& context, HeaderWriter& carrier) const override;
};

}  // namespace tracerig
