// W3C Trace Context: parsing and formatting of the traceparent and tracestate headers, and the
// propagator that carries a SpanContext through them. The parsers are strict (they decide whether a
// trace continues or restarts) and the traceparent path does not allocate (it runs on every hop).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/ids.h"
#include "propagation/propagator.h"

namespace tracerig {

inline constexpr std::string_view kTraceparentHeader = "traceparent";
inline constexpr std::string_view kTracestateHeader = "tracestate";
// Length of a version-00 traceparent: "00-" + 32 + "-" + 16 + "-" + 2.
inline constexpr size_t kTraceparentSize = 55;
inline constexpr size_t kMaxTracestateMembers = 32;

struct Traceparent {
  uint8_t version = 0;
  TraceId trace_id;
  SpanId parent_id;
  uint8_t flags = 0;  // as received; the propagator decides which bits to keep
};

// Strict parser: version 00 is exactly 55 characters; an unknown higher version (01..fe) is read
// by its first four fields and anything after them must start with '-'; version ff is invalid;
// hex is lowercase only; an all-zero trace id or parent id is invalid. Spaces and tabs around the
// value are trimmed first. Never allocates.
std::optional<Traceparent> ParseTraceparent(std::string_view value);

// Always version 00, lowercase. Writes exactly kTraceparentSize characters (no terminator).
void FormatTraceparent(const TraceId& trace_id, const SpanId& parent_id, uint8_t flags,
                       char* out55);
std::string FormatTraceparent(const TraceId& trace_id, const SpanId& parent_id, uint8_t flags);

// `fields` are all tracestate header field values in the order received; they form one list.
// Returns the normalised list ("k1=v1,k2=v2": whitespace around members trimmed, empty members
// skipped; "" when there are no members), or nullopt when the list is invalid as a whole: any
// malformed member or more than 32 members (duplicates counted). A key that appears again keeps
// only its first member (W3C lets a vendor discard duplicates; the list is still inherited).
std::optional<std::string> ParseTracestate(const std::vector<std::string_view>& fields);

// True when `key` / `value` match the tracestate grammar (key: lowercase alphanumeric first, then
// up to 255 of [a-z0-9_*/@-]; value: 1..256 printable ASCII except ',' and '=', no trailing space).
bool IsValidTracestateKey(std::string_view key);
bool IsValidTracestateValue(std::string_view value);

// Puts key=value at the front of a normalised list (from ParseTracestate), removing any previous
// entry with that key, and drops members from the right to stay within 32. Returns the new list.
// An invalid key or value returns `normalised` unchanged (a malformed list must never be sent).
std::string UpdateTracestate(std::string_view normalised, std::string_view key,
                             std::string_view value);

class W3cTraceContextPropagator final : public Propagator {
 public:
  // Exactly one traceparent field must be present (several mean: restart the trace). An invalid
  // traceparent yields an invalid context and tracestate is ignored. For version 00 only flag
  // bits 0x01 (sampled) and 0x02 (random trace id) are kept. An invalid tracestate is dropped.
  SpanContext Extract(const HeaderReader& carrier) const override;
  // Writes traceparent (version 00, flags & 0x03; sampled for a debug context, as W3C cannot
  // carry debug) and tracestate only when it is non-empty. Extract never sets debug.
  // Writes nothing for an invalid context: an all-zero traceparent would be rejected downstream.
  void Inject(const SpanContext& context, HeaderWriter& carrier) const override;
};

}  // namespace tracerig
