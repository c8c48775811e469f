// Small text helpers shared by the B3, Jaeger and baggage formats: whitespace trimming, strict
// fixed-width lowercase hex ids, and "the first value of a header" (B3 and Jaeger let the first
// field win when a header repeats).
#pragma once

#include <optional>
#include <string_view>

#include "core/ids.h"
#include "propagation/carrier.h"

namespace tracerig {

// Removes spaces and tabs (HTTP's optional whitespace) from both ends.
std::string_view TrimHeaderWhitespace(std::string_view s);

// Exactly 16 or 32 lowercase hex digits, not all zero. 16 digits (a 64-bit id) become the low
// half: the id is left-padded with zeros to 128 bits.
std::optional<TraceId> ParseLowerHexTraceId(std::string_view hex);

// Exactly 16 lowercase hex digits, not all zero.
std::optional<SpanId> ParseLowerHexSpanId(std::string_view hex);

// The first value of header `name` with whitespace trimmed, or nullopt when the header is absent.
// The view points into the carrier.
std::optional<std::string_view> FirstHeaderValue(const HeaderReader& carrier,
                                                 std::string_view name);

}  // namespace tracerig
