// Table-driven tests of Jaeger's uber-trace-id header: one row per valid and malformed value
// (unpadded ids, URL-encoded colons, flags), then extraction and injection through carriers.
#include "propagation/jaeger.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "propagation/carrier.h"
#include "round_trip.h"

namespace tracerig {
namespace {

const std::string kTrace128 = "80f198ee56343ba864fe8b2a57d3eff7";
const std::string kTrace64 = "a3ce929d0e0e4736";
const std::string kSpan = "e457b5a2e4d86bd1";
const std::string kParent = "05e3ac9a4f6e3b90";
constexpr TraceId kTraceId128{0x80f198ee56343ba8ull, 0x64fe8b2a57d3eff7ull};
constexpr TraceId kTraceId64{0, 0xa3ce929d0e0e4736ull};
constexpr SpanId kSpanId{0xe457b5a2e4d86bd1ull};
constexpr SpanId kParentId{0x05e3ac9a4f6e3b90ull};

std::string U(std::string_view trace, std::string_view span, std::string_view parent,
              std::string_view flags, std::string_view sep = ":") {
  std::string s;
  s.append(trace).append(sep).append(span).append(sep).append(parent).append(sep).append(flags);
  return s;
}

struct UberCase {
  std::string name;
  std::string input;
  std::optional<UberTraceId> expected;  // nullopt: malformed
};

std::vector<UberCase> UberCases() {
  return {
      // Valid.
      {"Full128", U(kTrace128, kSpan, kParent, "1"),
       UberTraceId{kTraceId128, kSpanId, kParentId, 1}},
      {"Trace64", U(kTrace64, kSpan, "0", "1"), UberTraceId{kTraceId64, kSpanId, {}, 1}},
      {"ParentZero", U(kTrace128, kSpan, "0", "0"), UberTraceId{kTraceId128, kSpanId, {}, 0}},
      {"ParentZeroPadded", U(kTrace128, kSpan, "0000000000000000", "1"),
       UberTraceId{kTraceId128, kSpanId, {}, 1}},
      {"UnpaddedIds", U("abc", "de", "f", "1"),
       UberTraceId{TraceId{0, 0xabc}, SpanId{0xde}, SpanId{0xf}, 1}},
      {"Unpadded17DigitTrace", U("1" + kTrace64, "1", "0", "1"),
       UberTraceId{TraceId{1, 0xa3ce929d0e0e4736ull}, SpanId{1}, {}, 1}},
      {"SingleDigitIds", U("1", "1", "0", "0"), UberTraceId{TraceId{0, 1}, SpanId{1}, {}, 0}},
      {"UppercaseHex", U("80F198EE56343BA864FE8B2A57D3EFF7", "E457B5A2E4D86BD1", "0", "1"),
       UberTraceId{kTraceId128, kSpanId, {}, 1}},
      {"DebugFlag", U(kTrace128, kSpan, "0", "2"), UberTraceId{kTraceId128, kSpanId, {}, 2}},
      {"SampledAndDebug", U(kTrace128, kSpan, "0", "3"), UberTraceId{kTraceId128, kSpanId, {}, 3}},
      {"TwoDigitFlags", U(kTrace128, kSpan, "0", "01"), UberTraceId{kTraceId128, kSpanId, {}, 1}},
      {"HexFlags", U(kTrace128, kSpan, "0", "ff"), UberTraceId{kTraceId128, kSpanId, {}, 0xff}},
      {"EncodedColonsUpper", U(kTrace128, kSpan, kParent, "1", "%3A"),
       UberTraceId{kTraceId128, kSpanId, kParentId, 1}},
      {"EncodedColonsLower", U(kTrace128, kSpan, "0", "1", "%3a"),
       UberTraceId{kTraceId128, kSpanId, {}, 1}},
      {"EncodedAndPlainColonsMixed", kTrace128 + "%3A" + kSpan + ":0%3a1",
       UberTraceId{kTraceId128, kSpanId, {}, 1}},
      {"LongestValueEncoded", U(kTrace128, kSpan, kParent, "ff", "%3A"),
       UberTraceId{kTraceId128, kSpanId, kParentId, 0xff}},
      {"WhitespaceTrimmed", " \t" + U(kTrace128, kSpan, "0", "1") + " ",
       UberTraceId{kTraceId128, kSpanId, {}, 1}},

      // Malformed: shape.
      {"Empty", "", std::nullopt},
      {"ThreeFields", kTrace128 + ":" + kSpan + ":0", std::nullopt},
      {"FiveFields", U(kTrace128, kSpan, "0", "1") + ":1", std::nullopt},
      {"TrailingColon", U(kTrace128, kSpan, "0", "1") + ":", std::nullopt},
      {"DashSeparators", U(kTrace128, kSpan, "0", "1", "-"), std::nullopt},
      {"EmptyTrace", U("", kSpan, "0", "1"), std::nullopt},
      {"EmptySpan", U(kTrace128, "", "0", "1"), std::nullopt},
      {"EmptyParent", U(kTrace128, kSpan, "", "1"), std::nullopt},
      {"EmptyFlags", U(kTrace128, kSpan, "0", ""), std::nullopt},
      {"InnerSpace", U(kTrace128, kSpan, "0", " 1"), std::nullopt},
      // Malformed: ids.
      {"TraceZero", U("0", kSpan, "0", "1"), std::nullopt},
      {"TraceAllZero32", U(std::string(32, '0'), kSpan, "0", "1"), std::nullopt},
      {"Trace33Digits", U(kTrace128 + "1", kSpan, "0", "1"), std::nullopt},
      {"TraceNonHex", U("xyz", kSpan, "0", "1"), std::nullopt},
      {"SpanZero", U(kTrace128, "0", "0", "1"), std::nullopt},
      {"Span17Digits", U(kTrace128, kSpan + "1", "0", "1"), std::nullopt},
      {"Parent17Digits", U(kTrace128, kSpan, kParent + "1", "1"), std::nullopt},
      {"ParentNonHex", U(kTrace128, kSpan, "g", "1"), std::nullopt},
      // Malformed: flags.
      {"FlagsThreeDigits", U(kTrace128, kSpan, "0", "001"), std::nullopt},
      {"FlagsNonHex", U(kTrace128, kSpan, "0", "x"), std::nullopt},
      {"FlagsNegative", U(kTrace128, kSpan, "0", "-1"), std::nullopt},
      // Malformed: percent escapes other than %3A.
      {"EncodedOther", U(kTrace128, kSpan, "0", "1", "%3B"), std::nullopt},
      {"EncodedTruncated", kTrace128 + "%3", std::nullopt},
      {"LonePercent", U(kTrace128, kSpan, "0", "1") + "%", std::nullopt},
      {"EncodedDigit", U("%31", kSpan, "0", "1"), std::nullopt},
      {"TooLong", U(kTrace128, kSpan, kParent, "1") + std::string(100, ' ') + "x", std::nullopt},
  };
}

class UberTraceIdParseTest : public testing::TestWithParam<UberCase> {};

TEST_P(UberTraceIdParseTest, Parse) {
  const UberCase& c = GetParam();
  const std::optional<UberTraceId> parsed = ParseUberTraceId(c.input);
  ASSERT_EQ(parsed.has_value(), c.expected.has_value()) << "input: \"" << c.input << "\"";
  if (!parsed) return;
  EXPECT_EQ(parsed->trace_id, c.expected->trace_id);
  EXPECT_EQ(parsed->span_id, c.expected->span_id);
  EXPECT_EQ(parsed->parent_span_id, c.expected->parent_span_id);
  EXPECT_EQ(parsed->flags, c.expected->flags);
}

INSTANTIATE_TEST_SUITE_P(Rows, UberTraceIdParseTest, testing::ValuesIn(UberCases()),
                         [](const auto& info) { return info.param.name; });

TEST(FormatUberTraceIdTest, ExactText) {
  EXPECT_EQ(FormatUberTraceId(kTraceId128, kSpanId, 1), U(kTrace128, kSpan, "0", "1"));
  EXPECT_EQ(FormatUberTraceId(kTraceId64, SpanId{1}, 0),
            U(std::string(16, '0') + kTrace64, "0000000000000001", "0", "0"));
  EXPECT_EQ(FormatUberTraceId(kTraceId128, kSpanId, 0x1f), U(kTrace128, kSpan, "0", "1f"));
}

// ---------------------------------------------------------------------------------------------
// JaegerPropagator

using Fields = std::vector<std::pair<std::string, std::string>>;

struct ExtractCase {
  std::string name;
  HeaderList headers;
  bool valid;
  uint8_t flags = 0;
};

class JaegerExtractTest : public testing::TestWithParam<ExtractCase> {};

TEST_P(JaegerExtractTest, Extract) {
  const ExtractCase& c = GetParam();
  const SpanContext context = JaegerPropagator().Extract(c.headers);
  ASSERT_EQ(context.IsValid(), c.valid);
  if (!c.valid) return;
  EXPECT_EQ(context.trace_id, kTraceId128);
  EXPECT_EQ(context.span_id, kSpanId);
  EXPECT_EQ(context.trace_flags, c.flags);
}

INSTANTIATE_TEST_SUITE_P(
    Rows, JaegerExtractTest,
    testing::Values(
        ExtractCase{"Sampled", {{"uber-trace-id", U(kTrace128, kSpan, "0", "1")}}, true, 0x01},
        ExtractCase{"NotSampled", {{"uber-trace-id", U(kTrace128, kSpan, "0", "0")}}, true, 0x00},
        ExtractCase{
            "DebugImpliesSampled", {{"uber-trace-id", U(kTrace128, kSpan, "0", "2")}}, true, 0x01},
        ExtractCase{
            "OtherBitsDropped", {{"uber-trace-id", U(kTrace128, kSpan, "0", "4")}}, true, 0x00},
        ExtractCase{
            "HeaderNameAnyCase", {{"Uber-Trace-Id", U(kTrace128, kSpan, "0", "3")}}, true, 0x01},
        ExtractCase{"FirstValueWins",
                    {{"uber-trace-id", U(kTrace128, kSpan, "0", "1")},
                     {"uber-trace-id", U(kTrace64, kSpan, "0", "0")}},
                    true,
                    0x01},
        ExtractCase{"FirstValueMalformed",
                    {{"uber-trace-id", "junk"}, {"uber-trace-id", U(kTrace128, kSpan, "0", "1")}},
                    false},
        ExtractCase{"NoHeader", {}, false},
        ExtractCase{"Malformed", {{"uber-trace-id", U("0", kSpan, "0", "1")}}, false}),
    [](const auto& info) { return info.param.name; });

TEST(JaegerInjectTest, Writes32DigitTraceParentZeroAndFlags) {
  HeaderList headers;
  JaegerPropagator().Inject({kTraceId64, kSpanId, 0x01, "foo=1"}, headers);
  EXPECT_EQ(headers.fields(),
            (Fields{{"uber-trace-id", U(std::string(16, '0') + kTrace64, kSpan, "0", "1")}}));
}

TEST(JaegerInjectTest, NotSampledIgnoresRandomBitAndReplacesStaleValue) {
  HeaderList headers{{"Uber-Trace-Id", "stale"}};
  JaegerPropagator().Inject({kTraceId128, kSpanId, 0x02, ""}, headers);
  EXPECT_EQ(headers.fields(), (Fields{{"uber-trace-id", U(kTrace128, kSpan, "0", "0")}}));
}

TEST(JaegerInjectTest, InvalidContextWritesNothing) {
  HeaderList headers;
  JaegerPropagator().Inject({TraceId{}, kSpanId, 0x01, ""}, headers);
  JaegerPropagator().Inject({kTraceId128, SpanId{}, 0x01, ""}, headers);
  EXPECT_TRUE(headers.fields().empty());
}

TEST(JaegerRoundTripTest, SeededRandomContexts) {
  ExpectSeededRoundTrips(JaegerPropagator(), 31337);
}

}  // namespace
}  // namespace tracerig
