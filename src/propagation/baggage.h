// W3C Baggage: `baggage: key1=value1;prop=1,key2=value2`, values percent-encoded. Parsing into
// members, formatting within the limits, and a propagator that carries baggage only (no ids).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "propagation/propagator.h"

namespace tracerig {

inline constexpr std::string_view kBaggageHeader = "baggage";
inline constexpr size_t kMaxBaggageMembers = 180;
inline constexpr size_t kMaxBaggageBytes = 8192;

struct BaggageMember {
  std::string key;
  std::string value;       // percent-decoded bytes (not checked to be UTF-8)
  std::string properties;  // "prop=1;flag" with whitespace removed; "" when none

  bool operator==(const BaggageMember&) const = default;
};

// `fields` are all baggage header field values in the order received; they form one list.
// Whitespace around members, '=' and ';' is optional and removed; empty members are skipped.
// Invalid members are dropped one by one, as the baggage spec allows, rather than the whole
// header (unlike tracestate): a key that is not an RFC 7230 token, no '=', a value character
// outside the spec's baggage-octet set, a bad percent escape, or a malformed property (empty, or
// with a key that is not a token or a bad value). Duplicate keys are kept, in order. No limits are
// applied here; FormatBaggage applies them.
std::vector<BaggageMember> ParseBaggage(const std::vector<std::string_view>& fields);

// "key=value;props,key2=value2": values percent-encoded (every byte outside baggage-octet, and
// '%', as %XX with uppercase hex). Members beyond 180, or beyond the one that would take the
// list past 8192 bytes, are dropped from the right, so the output is always valid.
std::string FormatBaggage(const std::vector<BaggageMember>& members);

// FormatBaggage(ParseBaggage(fields)): the normalised list that SpanContext::baggage holds.
std::string NormaliseBaggage(const std::vector<std::string_view>& fields);

class BaggagePropagator final : public Propagator {
 public:
  // Never yields ids: the context is invalid, with `baggage` set to the normalised list of every
  // baggage field ("" when none or when no member is valid). A composite merges it with the ids
  // of the id-carrying formats.
  SpanContext Extract(const HeaderReader& carrier) const override;
  // Writes `baggage` when context.baggage normalises to a non-empty list, whether or not the ids
  // are valid (baggage travels even when the trace restarts). Re-normalising here guarantees
  // that a hand-built context never sends a malformed header.
  void Inject(const SpanContext& context, HeaderWriter& carrier) const override;
};

}  // namespace tracerig
