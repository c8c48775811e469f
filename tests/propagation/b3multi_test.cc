// Table-driven tests of the B3 multi-header form (X-B3-*): one row per valid and malformed
// combination of headers, then extraction and injection through header carriers.
#include "propagation/b3multi.h"

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

struct B3MultiCase {
  std::string name;
  HeaderList headers;
  std::optional<B3Context> expected;  // nullopt: absent or malformed
};

B3Context Ids(TraceId trace, B3Sampling sampling, SpanId parent = SpanId{}) {
  return B3Context{trace, kSpanId, parent, sampling};
}
B3Context SamplingOnly(B3Sampling sampling) { return B3Context{{}, {}, {}, sampling}; }

std::vector<B3MultiCase> B3MultiCases() {
  using S = B3Sampling;
  const std::string zeros16(16, '0');
  return {
      // Valid with ids.
      {"TraceAndSpan",
       {{"X-B3-TraceId", kTrace128}, {"X-B3-SpanId", kSpan}},
       Ids(kTraceId128, S::kDeferred)},
      {"TraceId64LeftPadded",
       {{"X-B3-TraceId", kTrace64}, {"X-B3-SpanId", kSpan}},
       Ids(kTraceId64, S::kDeferred)},
      {"Sampled1",
       {{"X-B3-TraceId", kTrace128}, {"X-B3-SpanId", kSpan}, {"X-B3-Sampled", "1"}},
       Ids(kTraceId128, S::kSampled)},
      {"SampledTrue",
       {{"X-B3-TraceId", kTrace128}, {"X-B3-SpanId", kSpan}, {"X-B3-Sampled", "true"}},
       Ids(kTraceId128, S::kSampled)},
      {"Sampled0",
       {{"X-B3-TraceId", kTrace128}, {"X-B3-SpanId", kSpan}, {"X-B3-Sampled", "0"}},
       Ids(kTraceId128, S::kNotSampled)},
      {"SampledFalse",
       {{"X-B3-TraceId", kTrace128}, {"X-B3-SpanId", kSpan}, {"X-B3-Sampled", "false"}},
       Ids(kTraceId128, S::kNotSampled)},
      {"FlagsDebug",
       {{"X-B3-TraceId", kTrace128}, {"X-B3-SpanId", kSpan}, {"X-B3-Flags", "1"}},
       Ids(kTraceId128, S::kDebug)},
      {"DebugOverridesNotSampled",
       {{"X-B3-TraceId", kTrace128},
        {"X-B3-SpanId", kSpan},
        {"X-B3-Sampled", "0"},
        {"X-B3-Flags", "1"}},
       Ids(kTraceId128, S::kDebug)},
      {"FlagsZeroIsNotDebug",
       {{"X-B3-TraceId", kTrace128},
        {"X-B3-SpanId", kSpan},
        {"X-B3-Sampled", "1"},
        {"X-B3-Flags", "0"}},
       Ids(kTraceId128, S::kSampled)},
      {"WithParent",
       {{"X-B3-TraceId", kTrace128},
        {"X-B3-SpanId", kSpan},
        {"X-B3-ParentSpanId", kParent},
        {"X-B3-Sampled", "1"}},
       Ids(kTraceId128, S::kSampled, kParentId)},
      {"LowercaseNamesAsGrpcMetadata",
       {{"x-b3-traceid", kTrace128}, {"x-b3-spanid", kSpan}, {"x-b3-sampled", "1"}},
       Ids(kTraceId128, S::kSampled)},
      {"OddCaseNames",
       {{"X-b3-TRACEID", kTrace128}, {"x-B3-SpanID", kSpan}},
       Ids(kTraceId128, S::kDeferred)},
      {"ValuesTrimmed",
       {{"X-B3-TraceId", " " + kTrace128 + "\t"},
        {"X-B3-SpanId", "\t" + kSpan},
        {"X-B3-Sampled", " 1 "}},
       Ids(kTraceId128, S::kSampled)},
      {"FirstValueWins",
       {{"X-B3-TraceId", kTrace128},
        {"X-B3-SpanId", kSpan},
        {"X-B3-TraceId", kTrace64},
        {"X-B3-SpanId", "0000000000000001"},
        {"X-B3-Sampled", "1"},
        {"X-B3-Sampled", "0"}},
       Ids(kTraceId128, S::kSampled)},
      {"FirstValueWinsOverALaterValidOne",
       {{"X-B3-TraceId", "junk"}, {"X-B3-TraceId", kTrace128}, {"X-B3-SpanId", kSpan}},
       std::nullopt},
      // Sampling-only decisions.
      {"OnlySampled1", {{"X-B3-Sampled", "1"}}, SamplingOnly(S::kSampled)},
      {"OnlySampled0", {{"X-B3-Sampled", "0"}}, SamplingOnly(S::kNotSampled)},
      {"OnlyFlags1", {{"X-B3-Flags", "1"}}, SamplingOnly(S::kDebug)},

      // Absent.
      {"NoHeaders", {}, std::nullopt},
      {"SingleHeaderIsNotRead", {{"b3", kTrace128 + "-" + kSpan + "-1"}}, std::nullopt},
      // Malformed: ids.
      {"TraceWithoutSpan", {{"X-B3-TraceId", kTrace128}, {"X-B3-Sampled", "1"}}, std::nullopt},
      {"SpanWithoutTrace", {{"X-B3-SpanId", kSpan}}, std::nullopt},
      {"ParentWithoutIds", {{"X-B3-ParentSpanId", kParent}, {"X-B3-Sampled", "1"}}, std::nullopt},
      {"TraceIdUppercase",
       {{"X-B3-TraceId", "80F198EE56343BA864FE8B2A57D3EFF7"}, {"X-B3-SpanId", kSpan}},
       std::nullopt},
      {"TraceIdAllZero",
       {{"X-B3-TraceId", std::string(32, '0')}, {"X-B3-SpanId", kSpan}},
       std::nullopt},
      {"TraceId20Digits",
       {{"X-B3-TraceId", kTrace64 + "abcd"}, {"X-B3-SpanId", kSpan}},
       std::nullopt},
      {"TraceIdEmpty", {{"X-B3-TraceId", ""}, {"X-B3-SpanId", kSpan}}, std::nullopt},
      {"SpanIdAllZero", {{"X-B3-TraceId", kTrace128}, {"X-B3-SpanId", zeros16}}, std::nullopt},
      {"SpanIdShort", {{"X-B3-TraceId", kTrace128}, {"X-B3-SpanId", "e457b5a2"}}, std::nullopt},
      {"SpanIdUppercase",
       {{"X-B3-TraceId", kTrace128}, {"X-B3-SpanId", "E457B5A2E4D86BD1"}},
       std::nullopt},
      {"ParentAllZero",
       {{"X-B3-TraceId", kTrace128}, {"X-B3-SpanId", kSpan}, {"X-B3-ParentSpanId", zeros16}},
       std::nullopt},
      {"ParentMalformed",
       {{"X-B3-TraceId", kTrace128}, {"X-B3-SpanId", kSpan}, {"X-B3-ParentSpanId", "xyz"}},
       std::nullopt},
      // Malformed: sampling and flags.
      {"SampledTrueCapitalised",
       {{"X-B3-TraceId", kTrace128}, {"X-B3-SpanId", kSpan}, {"X-B3-Sampled", "True"}},
       std::nullopt},
      {"SampledD",
       {{"X-B3-TraceId", kTrace128}, {"X-B3-SpanId", kSpan}, {"X-B3-Sampled", "d"}},
       std::nullopt},
      {"SampledEmpty",
       {{"X-B3-TraceId", kTrace128}, {"X-B3-SpanId", kSpan}, {"X-B3-Sampled", ""}},
       std::nullopt},
      {"SampledTwo", {{"X-B3-Sampled", "2"}}, std::nullopt},
      {"FlagsTwo",
       {{"X-B3-TraceId", kTrace128}, {"X-B3-SpanId", kSpan}, {"X-B3-Flags", "2"}},
       std::nullopt},
      {"FlagsTrue", {{"X-B3-Flags", "true"}}, std::nullopt},
  };
}

class B3MultiParseTest : public testing::TestWithParam<B3MultiCase> {};

TEST_P(B3MultiParseTest, Parse) {
  const B3MultiCase& c = GetParam();
  const std::optional<B3Context> parsed = ParseB3Multi(c.headers);
  ASSERT_EQ(parsed.has_value(), c.expected.has_value());
  if (!parsed) return;
  EXPECT_EQ(parsed->trace_id, c.expected->trace_id);
  EXPECT_EQ(parsed->span_id, c.expected->span_id);
  EXPECT_EQ(parsed->parent_span_id, c.expected->parent_span_id);
  EXPECT_EQ(parsed->sampling, c.expected->sampling);
}

INSTANTIATE_TEST_SUITE_P(Rows, B3MultiParseTest, testing::ValuesIn(B3MultiCases()),
                         [](const auto& info) { return info.param.name; });

// ---------------------------------------------------------------------------------------------
// B3MultiPropagator

using Fields = std::vector<std::pair<std::string, std::string>>;

TEST(B3MultiExtractTest, MapsSamplingToFlags) {
  const B3MultiPropagator propagator;
  SpanContext context = propagator.Extract(
      HeaderList{{"X-B3-TraceId", kTrace64}, {"X-B3-SpanId", kSpan}, {"X-B3-Flags", "1"}});
  ASSERT_TRUE(context.IsValid());
  EXPECT_EQ(context.trace_id, kTraceId64);
  EXPECT_EQ(context.span_id, kSpanId);
  EXPECT_EQ(context.trace_flags, 0x01);

  context = propagator.Extract(
      HeaderList{{"X-B3-TraceId", kTrace128}, {"X-B3-SpanId", kSpan}, {"X-B3-Sampled", "false"}});
  ASSERT_TRUE(context.IsValid());
  EXPECT_EQ(context.trace_flags, 0x00);
}

TEST(B3MultiExtractTest, MalformedOrSamplingOnlyGivesInvalidContext) {
  const B3MultiPropagator propagator;
  EXPECT_FALSE(propagator.Extract(HeaderList{{"X-B3-TraceId", kTrace128}}).IsValid());
  const SpanContext sampling_only = propagator.Extract(HeaderList{{"X-B3-Sampled", "1"}});
  EXPECT_FALSE(sampling_only.IsValid());
  EXPECT_EQ(sampling_only.trace_flags, 0x01);
}

TEST(B3MultiInjectTest, WritesLowercaseNamesAnd32DigitTraceId) {
  HeaderList headers;
  B3MultiPropagator().Inject({kTraceId64, kSpanId, 0x01, "foo=1"}, headers);
  EXPECT_EQ(headers.fields(), (Fields{{"x-b3-traceid", std::string(16, '0') + kTrace64},
                                      {"x-b3-spanid", kSpan},
                                      {"x-b3-sampled", "1"}}));
}

TEST(B3MultiInjectTest, NotSampledAndReplacesStaleValues) {
  HeaderList headers{{"X-B3-TraceId", "stale"}, {"X-B3-Sampled", "1"}};
  B3MultiPropagator().Inject({kTraceId128, kSpanId, 0x00, ""}, headers);
  EXPECT_EQ(headers.fields(),
            (Fields{{"x-b3-traceid", kTrace128}, {"x-b3-spanid", kSpan}, {"x-b3-sampled", "0"}}));
}

TEST(B3MultiInjectTest, InvalidContextWritesNothing) {
  HeaderList headers;
  B3MultiPropagator().Inject({TraceId{}, kSpanId, 0x01, ""}, headers);
  B3MultiPropagator().Inject({kTraceId128, SpanId{}, 0x01, ""}, headers);
  EXPECT_TRUE(headers.fields().empty());
}

TEST(B3MultiRoundTripTest, SeededRandomContexts) {
  ExpectSeededRoundTrips(B3MultiPropagator(), 99);
}

}  // namespace
}  // namespace tracerig
