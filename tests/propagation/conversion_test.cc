// Conversions between formats, as a hop that reads one format and writes another does: a 64-bit
// B3 or Jaeger trace id becomes the zero-padded 128-bit W3C id, and back.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "propagation/b3.h"
#include "propagation/b3multi.h"
#include "propagation/carrier.h"
#include "propagation/jaeger.h"
#include "propagation/w3c.h"

namespace tracerig {
namespace {

struct ConversionCase {
  std::string name;
  const Propagator* from;
  HeaderList incoming;
  const Propagator* to;
  std::vector<std::pair<std::string, std::string>> outgoing;
};

const B3SinglePropagator kB3;
const B3MultiPropagator kB3Multi;
const JaegerPropagator kJaeger;
const W3cTraceContextPropagator kW3c;

std::vector<ConversionCase> ConversionCases() {
  return {
      {"B3Single64ToW3c",
       &kB3,
       {{"b3", "a3ce929d0e0e4736-e457b5a2e4d86bd1-1"}},
       &kW3c,
       {{"traceparent", "00-0000000000000000a3ce929d0e0e4736-e457b5a2e4d86bd1-01"}}},
      {"B3SingleDebugToW3cSampled",
       &kB3,
       {{"b3", "a3ce929d0e0e4736-e457b5a2e4d86bd1-d"}},
       &kW3c,
       {{"traceparent", "00-0000000000000000a3ce929d0e0e4736-e457b5a2e4d86bd1-01"}}},
      {"B3Multi64ToW3c",
       &kB3Multi,
       {{"X-B3-TraceId", "a3ce929d0e0e4736"},
        {"X-B3-SpanId", "e457b5a2e4d86bd1"},
        {"X-B3-Sampled", "0"}},
       &kW3c,
       {{"traceparent", "00-0000000000000000a3ce929d0e0e4736-e457b5a2e4d86bd1-00"}}},
      {"Jaeger64ToW3c",
       &kJaeger,
       {{"uber-trace-id", "a3ce929d0e0e4736:e457b5a2e4d86bd1:0:1"}},
       &kW3c,
       {{"traceparent", "00-0000000000000000a3ce929d0e0e4736-e457b5a2e4d86bd1-01"}}},
      {"JaegerUnpaddedToW3c",
       &kJaeger,
       {{"uber-trace-id", "abc:de:0:3"}},
       &kW3c,
       {{"traceparent", "00-00000000000000000000000000000abc-00000000000000de-01"}}},
      {"W3cToB3Single",
       &kW3c,
       {{"traceparent", "00-0000000000000000a3ce929d0e0e4736-e457b5a2e4d86bd1-01"}},
       &kB3,
       {{"b3", "0000000000000000a3ce929d0e0e4736-e457b5a2e4d86bd1-1"}}},
      {"W3cToJaeger",
       &kW3c,
       {{"traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"}},
       &kJaeger,
       {{"uber-trace-id", "4bf92f3577b34da6a3ce929d0e0e4736:00f067aa0ba902b7:0:0"}}},
      // Debug travels between the formats that carry it.
      {"B3MultiDebugToJaegerDebug",
       &kB3Multi,
       {{"X-B3-TraceId", "a3ce929d0e0e4736"},
        {"X-B3-SpanId", "e457b5a2e4d86bd1"},
        {"X-B3-Flags", "1"}},
       &kJaeger,
       {{"uber-trace-id", "0000000000000000a3ce929d0e0e4736:e457b5a2e4d86bd1:0:3"}}},
      {"B3MultiSampledToJaegerSampled",
       &kB3Multi,
       {{"X-B3-TraceId", "a3ce929d0e0e4736"},
        {"X-B3-SpanId", "e457b5a2e4d86bd1"},
        {"X-B3-Sampled", "1"}},
       &kJaeger,
       {{"uber-trace-id", "0000000000000000a3ce929d0e0e4736:e457b5a2e4d86bd1:0:1"}}},
      {"JaegerDebugToB3SingleDebug",
       &kJaeger,
       {{"uber-trace-id", "a3ce929d0e0e4736:e457b5a2e4d86bd1:0:2"}},
       &kB3,
       {{"b3", "0000000000000000a3ce929d0e0e4736-e457b5a2e4d86bd1-d"}}},
      {"B3SingleDebugToB3MultiFlags",
       &kB3,
       {{"b3", "a3ce929d0e0e4736-e457b5a2e4d86bd1-d"}},
       &kB3Multi,
       {{"x-b3-traceid", "0000000000000000a3ce929d0e0e4736"},
        {"x-b3-spanid", "e457b5a2e4d86bd1"},
        {"x-b3-flags", "1"}}},
  };
}

class ConversionTest : public testing::TestWithParam<ConversionCase> {};

TEST_P(ConversionTest, ExtractOneFormatInjectAnother) {
  const ConversionCase& c = GetParam();
  const SpanContext context = c.from->Extract(c.incoming);
  ASSERT_TRUE(context.IsValid());
  HeaderList out;
  c.to->Inject(context, out);
  EXPECT_EQ(out.fields(), c.outgoing);
}

INSTANTIATE_TEST_SUITE_P(Rows, ConversionTest, testing::ValuesIn(ConversionCases()),
                         [](const auto& info) { return info.param.name; });

TEST(CrossFormatIdTest, SixtyFourBitIdsCompareEqualAcrossFormats) {
  const TraceId from_b3 =
      kB3.Extract(HeaderList{{"b3", "a3ce929d0e0e4736-e457b5a2e4d86bd1"}}).trace_id;
  const TraceId from_jaeger =
      kJaeger.Extract(HeaderList{{"uber-trace-id", "a3ce929d0e0e4736:1:0:1"}}).trace_id;
  const TraceId from_w3c =
      kW3c.Extract(HeaderList{
                       {"traceparent", "00-0000000000000000a3ce929d0e0e4736-e457b5a2e4d86bd1-01"}})
          .trace_id;
  EXPECT_EQ(from_b3, (TraceId{0, 0xa3ce929d0e0e4736ull}));
  EXPECT_EQ(from_jaeger, from_b3);
  EXPECT_EQ(from_w3c, from_b3);
}

}  // namespace
}  // namespace tracerig
