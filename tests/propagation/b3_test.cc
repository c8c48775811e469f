// Table-driven tests of the B3 single header: one row per valid and malformed `b3` value the B3
// spec implies, then extraction and injection through header carriers.
#include "propagation/b3.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "propagation/carrier.h"
#include "round_trip.h"

namespace tracerig {
namespace {

constexpr std::string_view kTrace128 = "80f198ee56343ba864fe8b2a57d3eff7";
constexpr std::string_view kTrace64 = "a3ce929d0e0e4736";
constexpr std::string_view kSpan = "e457b5a2e4d86bd1";
constexpr std::string_view kParent = "05e3ac9a4f6e3b90";
constexpr TraceId kTraceId128{0x80f198ee56343ba8ull, 0x64fe8b2a57d3eff7ull};
constexpr TraceId kTraceId64{0, 0xa3ce929d0e0e4736ull};
constexpr SpanId kSpanId{0xe457b5a2e4d86bd1ull};
constexpr SpanId kParentId{0x05e3ac9a4f6e3b90ull};

std::string Join(std::initializer_list<std::string_view> fields) {
  std::string s;
  for (std::string_view f : fields) {
    if (!s.empty()) s += "-";
    s.append(f);
  }
  return s;
}

struct B3SingleCase {
  std::string name;
  std::string input;
  std::optional<B3Context> expected;  // nullopt: malformed
};

B3Context Ids(TraceId trace, B3Sampling sampling, SpanId parent = SpanId{}) {
  return B3Context{trace, kSpanId, parent, sampling};
}
B3Context SamplingOnly(B3Sampling sampling) { return B3Context{{}, {}, {}, sampling}; }

std::vector<B3SingleCase> B3SingleCases() {
  using S = B3Sampling;
  const std::string zeros16(16, '0');
  const std::string zeros32(32, '0');
  return {
      // Ids with every sampling state, 128- and 64-bit trace ids.
      {"TraceSpan128", Join({kTrace128, kSpan}), Ids(kTraceId128, S::kDeferred)},
      {"TraceSpan64LeftPadded", Join({kTrace64, kSpan}), Ids(kTraceId64, S::kDeferred)},
      {"Sampled", Join({kTrace128, kSpan, "1"}), Ids(kTraceId128, S::kSampled)},
      {"NotSampled", Join({kTrace128, kSpan, "0"}), Ids(kTraceId128, S::kNotSampled)},
      {"Debug", Join({kTrace128, kSpan, "d"}), Ids(kTraceId128, S::kDebug)},
      {"SampledWithParent", Join({kTrace128, kSpan, "1", kParent}),
       Ids(kTraceId128, S::kSampled, kParentId)},
      {"DebugWithParent64", Join({kTrace64, kSpan, "d", kParent}),
       Ids(kTraceId64, S::kDebug, kParentId)},
      {"LeadingAndTrailingWhitespace", " \t" + Join({kTrace128, kSpan, "1"}) + "\t ",
       Ids(kTraceId128, S::kSampled)},
      {"TraceIdHighHalfZero", Join({std::string(16, '0') + std::string(kTrace64), kSpan, "1"}),
       Ids(kTraceId64, S::kSampled)},
      {"TraceIdOne64", Join({"0000000000000001", kSpan}),
       B3Context{TraceId{0, 1}, kSpanId, {}, S::kDeferred}},
      // Sampling-only decisions.
      {"OnlyZero", "0", SamplingOnly(S::kNotSampled)},
      {"OnlyOne", "1", SamplingOnly(S::kSampled)},
      {"OnlyDebug", "d", SamplingOnly(S::kDebug)},
      {"OnlyOneWithWhitespace", " 1 ", SamplingOnly(S::kSampled)},

      // Malformed: empty and sampling-only variants.
      {"Empty", "", std::nullopt},
      {"Whitespace", " \t ", std::nullopt},
      {"OnlyTrue", "true", std::nullopt},
      {"OnlyUppercaseDebug", "D", std::nullopt},
      {"OnlyTwo", "2", std::nullopt},
      {"OnlyDash", "-", std::nullopt},
      // Malformed: field count and empty fields.
      {"TraceIdOnly", std::string(kTrace128), std::nullopt},
      {"TraceIdDash", Join({kTrace128, ""}), std::nullopt},
      {"EmptyTraceId", Join({"", kSpan, "1"}), std::nullopt},
      {"EmptySampling", Join({kTrace128, kSpan, ""}), std::nullopt},
      {"EmptySamplingBeforeParent", Join({kTrace128, kSpan, "", kParent}), std::nullopt},
      {"EmptyParent", Join({kTrace128, kSpan, "1", ""}), std::nullopt},
      {"FiveFields", Join({kTrace128, kSpan, "1", kParent, "x"}), std::nullopt},
      {"ParentWithoutSampling", Join({kTrace128, kSpan, kParent}), std::nullopt},
      {"SamplingOnlyWithDash", "1-", std::nullopt},
      // Malformed: trace id.
      {"TraceIdUppercase", Join({"80F198EE56343BA864FE8B2A57D3EFF7", kSpan}), std::nullopt},
      {"TraceIdAllZero128", Join({zeros32, kSpan, "1"}), std::nullopt},
      {"TraceIdAllZero64", Join({zeros16, kSpan, "1"}), std::nullopt},
      {"TraceId15", Join({kTrace64.substr(1), kSpan}), std::nullopt},
      {"TraceId17", Join({std::string(kTrace64) + "a", kSpan}), std::nullopt},
      {"TraceId31", Join({kTrace128.substr(1), kSpan}), std::nullopt},
      {"TraceId33", Join({std::string(kTrace128) + "a", kSpan}), std::nullopt},
      {"TraceIdNonHex", Join({"g0f198ee56343ba864fe8b2a57d3eff7", kSpan}), std::nullopt},
      // Malformed: span id.
      {"SpanIdAllZero", Join({kTrace128, zeros16, "1"}), std::nullopt},
      {"SpanIdUppercase", Join({kTrace128, "E457B5A2E4D86BD1"}), std::nullopt},
      {"SpanId15", Join({kTrace128, kSpan.substr(1)}), std::nullopt},
      {"SpanId17", Join({kTrace128, std::string(kSpan) + "1"}), std::nullopt},
      {"SpanId32", Join({kTrace128, kTrace128}), std::nullopt},
      // Malformed: sampling.
      {"SamplingTrue", Join({kTrace128, kSpan, "true"}), std::nullopt},
      {"SamplingTwo", Join({kTrace128, kSpan, "2"}), std::nullopt},
      {"SamplingUppercaseD", Join({kTrace128, kSpan, "D"}), std::nullopt},
      {"SamplingTwoChars", Join({kTrace128, kSpan, "11"}), std::nullopt},
      // Malformed: parent id.
      {"ParentAllZero", Join({kTrace128, kSpan, "1", zeros16}), std::nullopt},
      {"ParentUppercase", Join({kTrace128, kSpan, "1", "05E3AC9A4F6E3B90"}), std::nullopt},
      {"ParentTooShort", Join({kTrace128, kSpan, "1", kParent.substr(1)}), std::nullopt},
      {"Parent128", Join({kTrace128, kSpan, "1", kTrace128}), std::nullopt},
      // Malformed: separators and whitespace inside.
      {"ColonSeparators", std::string(kTrace128) + ":" + std::string(kSpan) + ":1", std::nullopt},
      {"InnerSpace", std::string(kTrace128) + " -" + std::string(kSpan), std::nullopt},
      {"NewlineNotTrimmed", Join({kTrace128, kSpan, "1"}) + "\n", std::nullopt},
  };
}

class B3SingleParseTest : public testing::TestWithParam<B3SingleCase> {};

TEST_P(B3SingleParseTest, Parse) {
  const B3SingleCase& c = GetParam();
  const std::optional<B3Context> parsed = ParseB3Single(c.input);
  ASSERT_EQ(parsed.has_value(), c.expected.has_value()) << "input: \"" << c.input << "\"";
  if (!parsed) return;
  EXPECT_EQ(parsed->trace_id, c.expected->trace_id);
  EXPECT_EQ(parsed->span_id, c.expected->span_id);
  EXPECT_EQ(parsed->parent_span_id, c.expected->parent_span_id);
  EXPECT_EQ(parsed->sampling, c.expected->sampling);
}

INSTANTIATE_TEST_SUITE_P(Rows, B3SingleParseTest, testing::ValuesIn(B3SingleCases()),
                         [](const auto& info) { return info.param.name; });

// ---------------------------------------------------------------------------------------------
// B3ToSpanContext: how each sampling state maps to W3C flags.

struct MappingCase {
  std::string name;
  B3Context b3;
  bool valid;
  uint8_t flags;
};

class B3MappingTest : public testing::TestWithParam<MappingCase> {};

TEST_P(B3MappingTest, Map) {
  const MappingCase& c = GetParam();
  const SpanContext context = B3ToSpanContext(c.b3);
  EXPECT_EQ(context.IsValid(), c.valid);
  EXPECT_EQ(context.trace_flags, c.flags);
  if (c.valid) {
    EXPECT_EQ(context.trace_id, c.b3.trace_id);
    EXPECT_EQ(context.span_id, c.b3.span_id);
  }
  EXPECT_EQ(context.trace_state, "");
  EXPECT_EQ(context.baggage, "");
}

INSTANTIATE_TEST_SUITE_P(
    Rows, B3MappingTest,
    testing::Values(
        MappingCase{"Sampled", Ids(kTraceId128, B3Sampling::kSampled), true, 0x01},
        MappingCase{"Debug", Ids(kTraceId128, B3Sampling::kDebug), true, 0x01},
        MappingCase{"NotSampled", Ids(kTraceId128, B3Sampling::kNotSampled), true, 0x00},
        MappingCase{"DeferredIsNotSampled", Ids(kTraceId128, B3Sampling::kDeferred), true, 0x00},
        MappingCase{"SamplingOnlySampled", SamplingOnly(B3Sampling::kSampled), false, 0x01},
        MappingCase{"SamplingOnlyDebug", SamplingOnly(B3Sampling::kDebug), false, 0x01},
        MappingCase{"SamplingOnlyNotSampled", SamplingOnly(B3Sampling::kNotSampled), false, 0x00}),
    [](const auto& info) { return info.param.name; });

// ---------------------------------------------------------------------------------------------
// B3SinglePropagator

using Fields = std::vector<std::pair<std::string, std::string>>;

struct ExtractCase {
  std::string name;
  HeaderList headers;
  bool valid;
  TraceId trace_id = kTraceId128;
  uint8_t flags = 0;
};

std::vector<ExtractCase> ExtractCases() {
  const std::string sampled = Join({kTrace128, kSpan, "1"});
  const std::string other = Join({kTrace64, "0000000000000001", "0"});
  return {
      {"Sampled", {{"b3", sampled}}, true, kTraceId128, 0x01},
      {"HeaderNameAnyCase", {{"B3", sampled}}, true, kTraceId128, 0x01},
      {"Debug", {{"b3", Join({kTrace64, kSpan, "d", kParent})}}, true, kTraceId64, 0x01},
      {"NotSampled", {{"b3", Join({kTrace128, kSpan, "0"})}}, true, kTraceId128, 0x00},
      {"Deferred", {{"b3", Join({kTrace128, kSpan})}}, true, kTraceId128, 0x00},
      {"FirstValueWins", {{"b3", sampled}, {"b3", other}}, true, kTraceId128, 0x01},
      {"FirstValueWinsEvenWhenMalformed", {{"b3", "junk"}, {"b3", sampled}}, false},
      {"SamplingOnly", {{"b3", "1"}}, false, {}, 0x01},
      {"DenyOnly", {{"b3", "0"}}, false},
      {"NoHeader", {}, false},
      {"MultiHeadersAreNotRead",
       {{"x-b3-traceid", std::string(kTrace128)}, {"x-b3-spanid", std::string(kSpan)}},
       false},
      {"Malformed", {{"b3", Join({kTrace128, kSpan, "true"})}}, false},
  };
}

class B3SingleExtractTest : public testing::TestWithParam<ExtractCase> {};

TEST_P(B3SingleExtractTest, Extract) {
  const ExtractCase& c = GetParam();
  const SpanContext context = B3SinglePropagator().Extract(c.headers);
  ASSERT_EQ(context.IsValid(), c.valid);
  EXPECT_EQ(context.trace_flags, c.flags);
  if (!c.valid) return;
  EXPECT_EQ(context.trace_id, c.trace_id);
  EXPECT_EQ(context.span_id, kSpanId);
}

INSTANTIATE_TEST_SUITE_P(Rows, B3SingleExtractTest, testing::ValuesIn(ExtractCases()),
                         [](const auto& info) { return info.param.name; });

TEST(B3SingleInjectTest, WritesTraceSpanAndSamplingOnly) {
  HeaderList headers;
  B3SinglePropagator().Inject({kTraceId128, kSpanId, 0x01, "foo=1"}, headers);
  EXPECT_EQ(headers.fields(), (Fields{{"b3", Join({kTrace128, kSpan, "1"})}}));
}

TEST(B3SingleInjectTest, NotSampledAndRandomBitIgnored) {
  HeaderList headers;
  B3SinglePropagator().Inject({kTraceId128, kSpanId, 0x02, ""}, headers);
  EXPECT_EQ(headers.fields(), (Fields{{"b3", Join({kTrace128, kSpan, "0"})}}));
}

TEST(B3SingleInjectTest, SixtyFourBitTraceIdWrittenAs32Digits) {
  HeaderList headers;
  B3SinglePropagator().Inject({kTraceId64, kSpanId, 0x01, ""}, headers);
  EXPECT_EQ(headers.fields(),
            (Fields{{"b3", Join({std::string(16, '0') + std::string(kTrace64), kSpan, "1"})}}));
}

TEST(B3SingleInjectTest, ReplacesExistingValue) {
  HeaderList headers{{"B3", "stale"}};
  B3SinglePropagator().Inject({kTraceId128, kSpanId, 0x01, ""}, headers);
  EXPECT_EQ(headers.fields(), (Fields{{"b3", Join({kTrace128, kSpan, "1"})}}));
}

TEST(B3SingleInjectTest, InvalidContextWritesNothing) {
  HeaderList headers;
  B3SinglePropagator().Inject({TraceId{}, kSpanId, 0x01, ""}, headers);
  B3SinglePropagator().Inject({kTraceId128, SpanId{}, 0x01, ""}, headers);
  EXPECT_TRUE(headers.fields().empty());
}

TEST(B3SingleRoundTripTest, SeededRandomContexts) {
  ExpectSeededRoundTrips(B3SinglePropagator(), 4242);
}

}  // namespace
}  // namespace tracerig
