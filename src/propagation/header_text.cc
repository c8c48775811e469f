#include "propagation/header_text.h"

#include <vector>

namespace tracerig {

std::string_view TrimHeaderWhitespace(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::optional<TraceId> ParseLowerHexTraceId(std::string_view hex) {
  if (hex.size() != 16 && hex.size() != 32) return std::nullopt;
  std::optional<TraceId> id = TraceId::FromHex(hex);
  // FromHex accepts uppercase; these formats do not.
  for (char c : hex) {
    if (c >= 'A' && c <= 'F') return std::nullopt;
  }
  if (!id || !id->IsValid()) return std::nullopt;
  return id;
}

std::optional<SpanId> ParseLowerHexSpanId(std::string_view hex) {
  if (hex.size() != 16) return std::nullopt;
  std::optional<uint64_t> v = ParseHex64(hex, /*lowercase_only=*/true);
  if (!v || *v == 0) return std::nullopt;
  return SpanId{*v};
}

std::optional<std::string_view> FirstHeaderValue(const HeaderReader& carrier,
                                                 std::string_view name) {
  // Per-thread scratch space keeps extraction free of allocations after a thread's first request,
  // as in the W3C propagator. Cleared before use; never shared between threads.
  thread_local std::vector<std::string_view> values;
  values.clear();
  carrier.GetAll(name, values);
  if (values.empty()) return std::nullopt;
  return TrimHeaderWhitespace(values.front());
}

}  // namespace tracerig
