// Table-driven tests of the debug flag (SpanContext::debug) in every format: B3 single `-d`, B3
// multi `X-B3-Flags: 1`, Jaeger flag 0x2, W3C (which cannot carry it), and composites.
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "propagation/carrier.h"
#include "propagation/propagator.h"
#include "propagation/registry.h"

namespace tracerig {
namespace {

constexpr std::string_view kTrace = "80f198ee56343ba864fe8b2a57d3eff7";
constexpr std::string_view kSpan = "e457b5a2e4d86bd1";
constexpr TraceId kTraceId{0x80f198ee56343ba8ull, 0x64fe8b2a57d3eff7ull};
constexpr SpanId kSpanId{0xe457b5a2e4d86bd1ull};
// A second context, to tell which format the ids came from.
constexpr std::string_view kOtherTrace = "0af7651916cd43dd8448eb211c80319c";
constexpr std::string_view kOtherSpan = "b7ad6b7169203331";
constexpr TraceId kOtherTraceId{0x0af7651916cd43ddull, 0x8448eb211c80319cull};

using Fields = std::vector<std::pair<std::string, std::string>>;

std::string B3(std::string_view sampling) {
  return std::string(kTrace) + "-" + std::string(kSpan) + "-" + std::string(sampling);
}
std::string Uber(std::string_view flags) {
  return std::string(kTrace) + ":" + std::string(kSpan) + ":0:" + std::string(flags);
}
std::string Tp(std::string_view trace, std::string_view span, std::string_view flags) {
  return "00-" + std::string(trace) + "-" + std::string(span) + "-" + std::string(flags);
}

std::unique_ptr<Propagator> Make(const std::vector<std::string>& formats) {
  auto propagator = MakePropagator(formats);
  EXPECT_TRUE(propagator.ok());
  return std::move(*propagator);
}

// ---------------------------------------------------------------------------------------------
// Extract

struct ExtractCase {
  std::string name;
  std::vector<std::string> formats;
  HeaderList headers;
  bool valid;
  bool sampled;
  bool debug;
  TraceId trace_id = kTraceId;
};

std::vector<ExtractCase> ExtractCases() {
  const Fields b3multi_ids = {{"X-B3-TraceId", std::string(kTrace)},
                              {"X-B3-SpanId", std::string(kSpan)}};
  auto multi = [&](Fields extra) {
    HeaderList headers;
    for (const auto& [n, v] : b3multi_ids) headers.Add(n, v);
    for (const auto& [n, v] : extra) headers.Add(n, v);
    return headers;
  };
  return {
      // B3 single.
      {"B3Debug", {"b3"}, {{"b3", B3("d")}}, true, true, true},
      {"B3DebugWithParent", {"b3"}, {{"b3", B3("d") + "-05e3ac9a4f6e3b90"}}, true, true, true},
      {"B3Sampled", {"b3"}, {{"b3", B3("1")}}, true, true, false},
      {"B3NotSampled", {"b3"}, {{"b3", B3("0")}}, true, false, false},
      {"B3Deferred",
       {"b3"},
       {{"b3", std::string(kTrace) + "-" + std::string(kSpan)}},
       true,
       false,
       false},
      {"B3DebugOnlyNoIds", {"b3"}, {{"b3", "d"}}, false, true, true},
      {"B3UppercaseDebugMalformed", {"b3"}, {{"b3", B3("D")}}, false, false, false},
      // B3 multi.
      {"B3MultiFlagsDebug", {"b3multi"}, multi({{"X-B3-Flags", "1"}}), true, true, true},
      {"B3MultiFlagsDebugBeatsSampledZero",
       {"b3multi"},
       multi({{"X-B3-Sampled", "0"}, {"X-B3-Flags", "1"}}),
       true,
       true,
       true},
      {"B3MultiFlagsDebugWithSampled",
       {"b3multi"},
       multi({{"X-B3-Sampled", "1"}, {"X-B3-Flags", "1"}}),
       true,
       true,
       true},
      {"B3MultiFlagsZeroNotDebug",
       {"b3multi"},
       multi({{"X-B3-Sampled", "1"}, {"X-B3-Flags", "0"}}),
       true,
       true,
       false},
      {"B3MultiSampledOnly", {"b3multi"}, multi({{"X-B3-Sampled", "1"}}), true, true, false},
      {"B3MultiFlagsDebugNoIds", {"b3multi"}, {{"X-B3-Flags", "1"}}, false, true, true},
      {"B3MultiFlagsTwoMalformed", {"b3multi"}, multi({{"X-B3-Flags", "2"}}), false, false, false},
      // Jaeger.
      {"JaegerDebugAndSampled", {"jaeger"}, {{"uber-trace-id", Uber("3")}}, true, true, true},
      {"JaegerDebugAlone", {"jaeger"}, {{"uber-trace-id", Uber("2")}}, true, true, true},
      {"JaegerDebugWithOtherBits", {"jaeger"}, {{"uber-trace-id", Uber("f")}}, true, true, true},
      {"JaegerSampled", {"jaeger"}, {{"uber-trace-id", Uber("1")}}, true, true, false},
      {"JaegerNotSampled", {"jaeger"}, {{"uber-trace-id", Uber("0")}}, true, false, false},
      {"JaegerUrlEncodedDebug",
       {"jaeger"},
       {{"uber-trace-id", std::string(kTrace) + "%3A" + std::string(kSpan) + "%3A0%3A3"}},
       true,
       true,
       true},
      // W3C never sets debug.
      {"TraceparentSampledIsNotDebug",
       {"tracecontext"},
       {{"traceparent", Tp(kTrace, kSpan, "01")}},
       true,
       true,
       false},
      {"TraceparentAllFlagsIsNotDebug",
       {"tracecontext"},
       {{"traceparent", Tp(kTrace, kSpan, "ff")}},
       true,
       true,
       false},
      // Composite: debug comes from the format the ids came from.
      {"CompositeIdsFromW3cDebugIgnored",
       {"tracecontext", "b3"},
       {{"traceparent", Tp(kOtherTrace, kOtherSpan, "01")}, {"b3", B3("d")}},
       true,
       true,
       false,
       kOtherTraceId},
      {"CompositeIdsFromB3KeepDebug",
       {"b3", "tracecontext"},
       {{"traceparent", Tp(kOtherTrace, kOtherSpan, "00")}, {"b3", B3("d")}},
       true,
       true,
       true},
      {"CompositeW3cInvalidB3Debug",
       {"tracecontext", "b3"},
       {{"traceparent", "00-garbage"}, {"b3", B3("d")}},
       true,
       true,
       true},
      {"CompositeJaegerDebugBeforeW3c",
       {"jaeger", "tracecontext"},
       {{"uber-trace-id", Uber("3")}, {"traceparent", Tp(kOtherTrace, kOtherSpan, "00")}},
       true,
       true,
       true},
      {"CompositeW3cNotSampledOverJaegerDebug",
       {"tracecontext", "jaeger"},
       {{"uber-trace-id", Uber("3")}, {"traceparent", Tp(kOtherTrace, kOtherSpan, "00")}},
       true,
       false,
       false,
       kOtherTraceId},
      {"CompositeB3SingleWinsOverMultiDebug",
       {"b3multi", "b3"},
       multi({{"X-B3-Flags", "1"}, {"b3", B3("1")}}),
       true,
       true,
       false},
      {"CompositeB3MultiDebugWhenNoSingle",
       {"b3", "b3multi"},
       multi({{"X-B3-Flags", "1"}}),
       true,
       true,
       true},
      {"CompositeWithBaggageKeepsDebug",
       {"baggage", "jaeger"},
       {{"uber-trace-id", Uber("2")}, {"baggage", "k=v"}},
       true,
       true,
       true},
  };
}

class DebugExtractTest : public testing::TestWithParam<ExtractCase> {};

TEST_P(DebugExtractTest, Extract) {
  const ExtractCase& c = GetParam();
  const SpanContext context = Make(c.formats)->Extract(c.headers);
  ASSERT_EQ(context.IsValid(), c.valid);
  EXPECT_EQ(context.sampled(), c.sampled);
  EXPECT_EQ(context.debug, c.debug);
  if (c.valid) {
    EXPECT_EQ(context.trace_id, c.trace_id);
  }
}

INSTANTIATE_TEST_SUITE_P(Rows, DebugExtractTest, testing::ValuesIn(ExtractCases()),
                         [](const auto& info) { return info.param.name; });

// ---------------------------------------------------------------------------------------------
// Inject

struct InjectCase {
  std::string name;
  std::vector<std::string> formats;
  uint8_t flags;
  bool debug;
  Fields expected;
};

std::vector<InjectCase> InjectCases() {
  const std::string trace(kTrace);
  const std::string span(kSpan);
  return {
      // B3 single.
      {"B3Debug", {"b3"}, 0x01, true, {{"b3", B3("d")}}},
      {"B3DebugWithoutSampledBitStillDebug", {"b3"}, 0x00, true, {{"b3", B3("d")}}},
      {"B3Sampled", {"b3"}, 0x01, false, {{"b3", B3("1")}}},
      {"B3NotSampled", {"b3"}, 0x00, false, {{"b3", B3("0")}}},
      // B3 multi: debug implies accept, so no X-B3-Sampled beside X-B3-Flags.
      {"B3MultiDebug",
       {"b3multi"},
       0x01,
       true,
       {{"x-b3-traceid", trace}, {"x-b3-spanid", span}, {"x-b3-flags", "1"}}},
      {"B3MultiSampled",
       {"b3multi"},
       0x01,
       false,
       {{"x-b3-traceid", trace}, {"x-b3-spanid", span}, {"x-b3-sampled", "1"}}},
      {"B3MultiNotSampled",
       {"b3multi"},
       0x00,
       false,
       {{"x-b3-traceid", trace}, {"x-b3-spanid", span}, {"x-b3-sampled", "0"}}},
      // Jaeger: 0x3 for debug (sampled and debug).
      {"JaegerDebug", {"jaeger"}, 0x01, true, {{"uber-trace-id", Uber("3")}}},
      {"JaegerDebugWithoutSampledBit", {"jaeger"}, 0x00, true, {{"uber-trace-id", Uber("3")}}},
      {"JaegerSampled", {"jaeger"}, 0x01, false, {{"uber-trace-id", Uber("1")}}},
      {"JaegerNotSampled", {"jaeger"}, 0x00, false, {{"uber-trace-id", Uber("0")}}},
      // W3C: debug goes as sampled.
      {"TraceparentDebug", {"tracecontext"}, 0x01, true, {{"traceparent", Tp(trace, span, "01")}}},
      {"TraceparentDebugWithoutSampledBit",
       {"tracecontext"},
       0x00,
       true,
       {{"traceparent", Tp(trace, span, "01")}}},
      {"TraceparentNotSampled",
       {"tracecontext"},
       0x00,
       false,
       {{"traceparent", Tp(trace, span, "00")}}},
      // Every format at once.
      {"CompositeDebug",
       {"tracecontext", "b3", "b3multi", "jaeger"},
       0x01,
       true,
       {{"traceparent", Tp(trace, span, "01")},
        {"b3", B3("d")},
        {"x-b3-traceid", trace},
        {"x-b3-spanid", span},
        {"x-b3-flags", "1"},
        {"uber-trace-id", Uber("3")}}},
  };
}

class DebugInjectTest : public testing::TestWithParam<InjectCase> {};

TEST_P(DebugInjectTest, Inject) {
  const InjectCase& c = GetParam();
  SpanContext context{kTraceId, kSpanId, c.flags, ""};
  context.debug = c.debug;
  HeaderList headers;
  Make(c.formats)->Inject(context, headers);
  EXPECT_EQ(headers.fields(), c.expected);
}

INSTANTIATE_TEST_SUITE_P(Rows, DebugInjectTest, testing::ValuesIn(InjectCases()),
                         [](const auto& info) { return info.param.name; });

// ---------------------------------------------------------------------------------------------
// Round trip: debug survives the formats that carry it, becomes plain sampled in W3C.

struct RoundTripCase {
  std::string format;
  bool keeps_debug;
};

class DebugRoundTripTest : public testing::TestWithParam<RoundTripCase> {};

TEST_P(DebugRoundTripTest, RoundTrip) {
  const RoundTripCase& c = GetParam();
  const auto propagator = Make({c.format});
  for (const bool debug : {false, true}) {
    SpanContext sent{kTraceId, kSpanId, 0x01, ""};
    sent.debug = debug;
    HeaderList headers;
    propagator->Inject(sent, headers);
    const SpanContext received = propagator->Extract(headers);
    ASSERT_TRUE(received.IsValid());
    EXPECT_TRUE(received.sampled());
    EXPECT_EQ(received.debug, debug && c.keeps_debug) << "debug sent: " << debug;
  }
}

INSTANTIATE_TEST_SUITE_P(Rows, DebugRoundTripTest,
                         testing::Values(RoundTripCase{"b3", true}, RoundTripCase{"b3multi", true},
                                         RoundTripCase{"jaeger", true},
                                         RoundTripCase{"tracecontext", false}),
                         [](const auto& info) { return info.param.format; });

}  // namespace
}  // namespace tracerig
