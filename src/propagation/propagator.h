// One interface for every trace-context format: W3C tracecontext and baggage, B3 (single and
// multi-header) and Jaeger.
#pragma once

#include <cstdint>
#include <string>

#include "core/ids.h"
#include "propagation/carrier.h"

namespace tracerig {

// The context carried between services.
struct SpanContext {
  TraceId trace_id;
  SpanId span_id;  // the caller's span: the parent of the receiving service's span
  uint8_t trace_flags = 0;  // bit 0x01 sampled
  std::string trace_state;  // W3C tracestate, already validated and normalised; empty when none
  // W3C baggage as a normalised list (see baggage.h); empty when none. Travels independently of
  // the ids: a baggage-only context is not IsValid() but still carries this. The initializer
  // keeps four-field aggregate initialisation free of -Wmissing-field-initializers.
  std::string baggage{};
  // B3's debug (`X-B3-Flags: 1`, `b3: ...-d`) or Jaeger's flag 0x2: record whatever the sampler
  // says. Implies sampled. W3C traceparent cannot carry it.
  bool debug{false};

  bool IsValid() const { return trace_id.IsValid() && span_id.IsValid(); }
  bool sampled() const { return (trace_flags & 0x01) != 0; }
};

class Propagator {
 public:
  virtual ~Propagator() = default;
  // Returns a context with IsValid() == false when the carrier holds no valid context of this
  // format (the receiving service then starts a new trace).
  virtual SpanContext Extract(const HeaderReader& carrier) const = 0;
  virtual void Inject(const SpanContext& context, HeaderWriter& carrier) const = 0;
};

}  // namespace tracerig
