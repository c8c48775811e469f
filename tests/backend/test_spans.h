// Span builders shared by the backend tests.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "core/span.h"

namespace tracerig::testing {

// A SERVER span of `service` with a 64-bit trace id, starting at `start` and lasting `duration` ns.
inline Span MakeSpan(uint64_t trace, uint64_t span_id, std::string service, std::string name,
                     uint64_t start = 1'700'000'000'000'000'000ull, uint64_t duration = 1'000'000,
                     std::vector<Attribute> attributes = {}) {
  Span s;
  s.trace_id = TraceId{0, trace};
  s.span_id = SpanId{span_id};
  s.name = std::move(name);
  s.kind = SpanKind::kServer;
  s.start_unix_nano = start;
  s.end_unix_nano = start + duration;
  s.attributes = std::move(attributes);
  s.service_name = std::move(service);
  return s;
}

}  // namespace tracerig::testing
