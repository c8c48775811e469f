#include "propagation/b3multi.h"

#include "propagation/header_text.h"

namespace tracerig {

std::optional<B3Context> ParseB3Multi(const HeaderReader& carrier) {
  const std::optional<std::string_view> trace = FirstHeaderValue(carrier, kB3TraceIdHeader);
  const std::optional<std::string_view> span = FirstHeaderValue(carrier, kB3SpanIdHeader);
  const std::optional<std::string_view> parent = FirstHeaderValue(carrier, kB3ParentSpanIdHeader);
  const std::optional<std::string_view> sampled = FirstHeaderValue(carrier, kB3SampledHeader);
  const std::optional<std::string_view> flags = FirstHeaderValue(carrier, kB3FlagsHeader);
  if (!trace && !span && !parent && !sampled && !flags) return std::nullopt;

  B3Context b3;
  if (sampled) {
    if (*sampled == "1" || *sampled == "true") {
      b3.sampling = B3Sampling::kSampled;
    } else if (*sampled == "0" || *sampled == "false") {
      b3.sampling = B3Sampling::kNotSampled;
    } else {
      return std::nullopt;
    }
  }
  if (flags) {
    if (*flags == "1") {
      b3.sampling = B3Sampling::kDebug;
    } else if (*flags != "0") {
      return std::nullopt;
    }
  }
  if (trace.has_value() != span.has_value()) return std::nullopt;
  if (!trace) {
    // Sampling-only; a parent id without the ids it belongs to is malformed.
    if (parent) return std::nullopt;
    return b3;
  }
  const std::optional<TraceId> trace_id = ParseLowerHexTraceId(*trace);
  const std::optional<SpanId> span_id = ParseLowerHexSpanId(*span);
  if (!trace_id || !span_id) return std::nullopt;
  b3.trace_id = *trace_id;
  b3.span_id = *span_id;
  if (parent) {
    const std::optional<SpanId> parent_id = ParseLowerHexSpanId(*parent);
    if (!parent_id) return std::nullopt;
    b3.parent_span_id = *parent_id;
  }
  return b3;
}

SpanContext B3MultiPropagator::Extract(const HeaderReader& carrier) const {
  const std::optional<B3Context> b3 = ParseB3Multi(carrier);
  if (!b3) return {};
  return B3ToSpanContext(*b3);
}

void B3MultiPropagator::Inject(const SpanContext& context, HeaderWriter& carrier) const {
  if (!context.IsValid()) return;
  char trace[32];
  char span[16];
  WriteHex(context.trace_id.high, 16, trace);
  WriteHex(context.trace_id.low, 16, trace + 16);
  WriteHex(context.span_id.value, 16, span);
  carrier.Set(kB3TraceIdHeader, std::string_view(trace, sizeof trace));
  carrier.Set(kB3SpanIdHeader, std::string_view(span, sizeof span));
  // Debug implies accept: B3 says X-B3-Sampled is not sent beside X-B3-Flags: 1.
  if (context.debug) {
    carrier.Set(kB3FlagsHeader, "1");
  } else {
    carrier.Set(kB3SampledHeader, context.sampled() ? "1" : "0");
  }
}

}  // namespace tracerig
