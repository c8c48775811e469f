#include "propagation/jaeger.h"

#include <array>

#include "propagation/header_text.h"

namespace tracerig {
namespace {

// Longest well-formed value: 32 + 16 + 16 + 2 digits and three colons, each colon possibly
// written as "%3A". Longer input is malformed, which bounds the decoding buffer below.
constexpr size_t kMaxEncodedSize = 32 + 16 + 16 + 2 + 3 * 3;

}  // namespace

std::optional<UberTraceId> ParseUberTraceId(std::string_view value) {
  value = TrimHeaderWhitespace(value);
  if (value.empty() || value.size() > kMaxEncodedSize) return std::nullopt;

  // Decode "%3A" into a stack buffer only when the value holds a '%'.
  std::array<char, kMaxEncodedSize> decoded;
  if (value.find('%') != std::string_view::npos) {
    size_t n = 0;
    for (size_t i = 0; i < value.size(); ++i) {
      if (value[i] != '%') {
        decoded[n++] = value[i];
        continue;
      }
      if (i + 2 >= value.size() || value[i + 1] != '3' ||
          (value[i + 2] != 'A' && value[i + 2] != 'a')) {
        return std::nullopt;
      }
      decoded[n++] = ':';
      i += 2;
    }
    value = std::string_view(decoded.data(), n);
  }

  std::string_view fields[4];
  size_t count = 0;
  size_t pos = 0;
  while (true) {
    if (count == 4) return std::nullopt;
    const size_t colon = value.find(':', pos);
    fields[count++] = value.substr(pos, colon == std::string_view::npos ? colon : colon - pos);
    if (colon == std::string_view::npos) break;
    pos = colon + 1;
  }
  if (count != 4) return std::nullopt;

  // FromHex/ParseHex64 reject empty and over-long fields.
  const std::optional<TraceId> trace = TraceId::FromHex(fields[0]);
  const std::optional<SpanId> span = SpanId::FromHex(fields[1]);
  const std::optional<SpanId> parent = SpanId::FromHex(fields[2]);
  const std::optional<uint64_t> flags =
      fields[3].size() <= 2 ? ParseHex64(fields[3]) : std::nullopt;
  if (!trace || !span || !parent || !flags || !trace->IsValid() || !span->IsValid()) {
    return std::nullopt;
  }
  return UberTraceId{*trace, *span, *parent, static_cast<uint8_t>(*flags)};
}

namespace {

// "{32}:{16}:0:" plus one or two flag digits.
constexpr size_t kMaxUberTraceIdSize = 32 + 1 + 16 + 3 + 2;

// Formats into a caller's buffer and returns the length: Inject need not allocate.
size_t FormatUberTraceId(const TraceId& trace_id, const SpanId& span_id, uint8_t flags, char* out) {
  WriteHex(trace_id.high, 16, out);
  WriteHex(trace_id.low, 16, out + 16);
  out[32] = ':';
  WriteHex(span_id.value, 16, out + 33);
  out[49] = ':';
  out[50] = '0';
  out[51] = ':';
  const int digits = flags >= 0x10 ? 2 : 1;
  WriteHex(flags, digits, out + 52);
  return 52 + static_cast<size_t>(digits);
}

}  // namespace

std::string FormatUberTraceId(const TraceId& trace_id, const SpanId& span_id, uint8_t flags) {
  char buffer[kMaxUberTraceIdSize];
  return std::string(buffer, FormatUberTraceId(trace_id, span_id, flags, buffer));
}

SpanContext JaegerPropagator::Extract(const HeaderReader& carrier) const {
  const std::optional<std::string_view> value = FirstHeaderValue(carrier, kUberTraceIdHeader);
  if (!value) return {};
  const std::optional<UberTraceId> parsed = ParseUberTraceId(*value);
  if (!parsed) return {};
  SpanContext context;
  context.trace_id = parsed->trace_id;
  context.span_id = parsed->span_id;
  context.trace_flags =
      (parsed->flags & (kJaegerSampledFlag | kJaegerDebugFlag)) != 0 ? 0x01 : 0x00;
  context.debug = (parsed->flags & kJaegerDebugFlag) != 0;
  return context;
}

void JaegerPropagator::Inject(const SpanContext& context, HeaderWriter& carrier) const {
  if (!context.IsValid()) return;
  char buffer[kMaxUberTraceIdSize];
  const uint8_t flags = context.debug       ? uint8_t{kJaegerSampledFlag | kJaegerDebugFlag}
                        : context.sampled() ? kJaegerSampledFlag
                                            : uint8_t{0};
  const size_t size = FormatUberTraceId(context.trace_id, context.span_id, flags, buffer);
  carrier.Set(kUberTraceIdHeader, std::string_view(buffer, size));
}

}  // namespace tracerig
