// libFuzzer target for every trace-context parser: the input is split into header values, each
// parser and propagator reads them, and what is written back must read back the same. Crashes,
// sanitizer reports and broken round trips (abort) are findings.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "propagation/b3.h"
#include "propagation/b3multi.h"
#include "propagation/baggage.h"
#include "propagation/carrier.h"
#include "propagation/jaeger.h"
#include "propagation/registry.h"
#include "propagation/w3c.h"

namespace tracerig {
namespace {

void Check(bool condition) {
  if (!condition) std::abort();
}

// Header names the input's values are given to, in turn.
constexpr std::string_view kNames[] = {
    "traceparent",  "tracestate",    "baggage",           "b3",
    "x-b3-traceid", "x-b3-spanid",   "x-b3-parentspanid", "x-b3-sampled",
    "x-b3-flags",   "uber-trace-id", "TraceParent",       "B3",
    "Baggage",      "tracestate",    "X-B3-Sampled"};

// Writing a context and reading it back with the same format must give the same ids and flags.
void CheckRoundTrip(const Propagator& propagator, const SpanContext& context, uint8_t flag_mask) {
  if (!context.IsValid()) return;
  HeaderList headers;
  propagator.Inject(context, headers);
  const SpanContext again = propagator.Extract(headers);
  Check(again.IsValid());
  Check(again.trace_id == context.trace_id && again.span_id == context.span_id);
  Check((again.trace_flags & flag_mask) == (context.trace_flags & flag_mask));
}

void FuzzOne(std::string_view input) {
  // Values are separated by '\n' (which no header value may contain).
  std::vector<std::string_view> values;
  size_t pos = 0;
  while (pos <= input.size()) {
    const size_t nl = input.find('\n', pos);
    values.push_back(input.substr(pos, nl == std::string_view::npos ? nl : nl - pos));
    if (nl == std::string_view::npos) break;
    pos = nl + 1;
  }

  for (std::string_view value : values) {
    if (auto tp = ParseTraceparent(value)) {
      Check(
          ParseTraceparent(FormatTraceparent(tp->trace_id, tp->parent_id, tp->flags)).has_value());
    }
    if (auto b3 = ParseB3Single(value); b3 && b3->HasIds()) {
      const bool sampled =
          b3->sampling == B3Sampling::kSampled || b3->sampling == B3Sampling::kDebug;
      auto again = ParseB3Single(FormatB3Single(b3->trace_id, b3->span_id, sampled));
      Check(again && again->trace_id == b3->trace_id && again->span_id == b3->span_id);
    }
    if (auto uber = ParseUberTraceId(value)) {
      auto again = ParseUberTraceId(FormatUberTraceId(uber->trace_id, uber->span_id, uber->flags));
      Check(again && again->trace_id == uber->trace_id && again->span_id == uber->span_id &&
            again->flags == uber->flags);
    }
    // Normalised baggage is valid, within limits, and normalises to itself.
    const std::string baggage = NormaliseBaggage({value});
    Check(baggage.size() <= kMaxBaggageBytes);
    Check(ParseBaggage({baggage}).size() <= kMaxBaggageMembers);
    Check(NormaliseBaggage({baggage}) == baggage);
  }
  if (auto state = ParseTracestate(values)) {
    Check(ParseTracestate({std::string_view(*state)}) == state);
  }

  HeaderList headers;
  for (size_t i = 0; i < values.size(); ++i) {
    headers.Add(kNames[i % std::size(kNames)], values[i]);
  }
  CheckRoundTrip(W3cTraceContextPropagator(), W3cTraceContextPropagator().Extract(headers), 0x03);
  CheckRoundTrip(B3SinglePropagator(), B3SinglePropagator().Extract(headers), 0x01);
  CheckRoundTrip(B3MultiPropagator(), B3MultiPropagator().Extract(headers), 0x01);
  CheckRoundTrip(JaegerPropagator(), JaegerPropagator().Extract(headers), 0x01);

  static const auto all =
      MakePropagator({"tracecontext", "baggage", "b3", "b3multi", "jaeger"}).value().release();
  const SpanContext merged = all->Extract(headers);
  HeaderList out;
  all->Inject(merged, out);
  const SpanContext again = all->Extract(out);
  Check(again.IsValid() == merged.IsValid());
  Check(again.baggage == merged.baggage);
  if (merged.IsValid()) Check(again.trace_id == merged.trace_id && again.span_id == merged.span_id);
}

}  // namespace
}  // namespace tracerig

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  tracerig::FuzzOne(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
