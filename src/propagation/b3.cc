#include "propagation/b3.h"

#include "propagation/header_text.h"

namespace tracerig {
namespace {

std::optional<B3Sampling> ParseSamplingChar(std::string_view field) {
  if (field == "1") return B3Sampling::kSampled;
  if (field == "0") return B3Sampling::kNotSampled;
  if (field == "d") return B3Sampling::kDebug;
  return std::nullopt;
}

}  // namespace

std::optional<B3Context> ParseB3Single(std::string_view value) {
  value = TrimHeaderWhitespace(value);
  B3Context b3;
  if (value.size() == 1) {
    const std::optional<B3Sampling> sampling = ParseSamplingChar(value);
    if (!sampling) return std::nullopt;
    b3.sampling = *sampling;
    return b3;
  }

  // Up to four '-'-separated fields; a fifth (or an empty one) makes the value malformed.
  std::string_view fields[4];
  size_t count = 0;
  size_t pos = 0;
  while (true) {
    if (count == 4) return std::nullopt;
    const size_t dash = value.find('-', pos);
    fields[count++] = value.substr(pos, dash == std::string_view::npos ? dash : dash - pos);
    if (dash == std::string_view::npos) break;
    pos = dash + 1;
  }
  if (count < 2) return std::nullopt;

  const std::optional<TraceId> trace = ParseLowerHexTraceId(fields[0]);
  const std::optional<SpanId> span = ParseLowerHexSpanId(fields[1]);
  if (!trace || !span) return std::nullopt;
  b3.trace_id = *trace;
  b3.span_id = *span;
  if (count >= 3) {
    const std::optional<B3Sampling> sampling = ParseSamplingChar(fields[2]);
    if (!sampling) return std::nullopt;
    b3.sampling = *sampling;
  }
  if (count == 4) {
    const std::optional<SpanId> parent = ParseLowerHexSpanId(fields[3]);
    if (!parent) return std::nullopt;
    b3.parent_span_id = *parent;
  }
  return b3;
}

namespace {

// 32 + 1 + 16 + 2 characters.
constexpr size_t kB3SingleSize = 51;

// Formats into a caller's buffer: Inject runs on every hop and need not allocate. `sampling` is
// '1', '0' or 'd'.
void FormatB3Single(const TraceId& trace_id, const SpanId& span_id, char sampling, char* out) {
  WriteHex(trace_id.high, 16, out);
  WriteHex(trace_id.low, 16, out + 16);
  out[32] = '-';
  WriteHex(span_id.value, 16, out + 33);
  out[49] = '-';
  out[50] = sampling;
}

}  // namespace

std::string FormatB3Single(const TraceId& trace_id, const SpanId& span_id, bool sampled) {
  std::string out(kB3SingleSize, '\0');
  FormatB3Single(trace_id, span_id, sampled ? '1' : '0', out.data());
  return out;
}

SpanContext B3ToSpanContext(const B3Context& b3) {
  SpanContext context;
  if (b3.HasIds()) {
    context.trace_id = b3.trace_id;
    context.span_id = b3.span_id;
  }
  const bool sampled = b3.sampling == B3Sampling::kSampled || b3.sampling == B3Sampling::kDebug;
  context.trace_flags = sampled ? 0x01 : 0x00;
  context.debug = b3.sampling == B3Sampling::kDebug;
  return context;
}

SpanContext B3SinglePropagator::Extract(const HeaderReader& carrier) const {
  const std::optional<std::string_view> value = FirstHeaderValue(carrier, kB3Header);
  if (!value) return {};
  const std::optional<B3Context> b3 = ParseB3Single(*value);
  if (!b3) return {};
  return B3ToSpanContext(*b3);
}

void B3SinglePropagator::Inject(const SpanContext& context, HeaderWriter& carrier) const {
  if (!context.IsValid()) return;
  char buffer[kB3SingleSize];
  const char sampling = context.debug ? 'd' : context.sampled() ? '1' : '0';
  FormatB3Single(context.trace_id, context.span_id, sampling, buffer);
  carrier.Set(kB3Header, std::string_view(buffer, kB3SingleSize));
}

}  // namespace tracerig
