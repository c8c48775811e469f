// Table-driven tests of W3C Baggage: parsing (members dropped one by one when invalid), percent
// encoding, the 180-member / 8192-byte limits, and the baggage-only propagator.
#include "propagation/baggage.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "propagation/carrier.h"

namespace tracerig {
namespace {

struct ParseCase {
  std::string name;
  std::vector<std::string> fields;
  std::vector<BaggageMember> members;
  std::string normalised;
};

std::vector<ParseCase> ParseCases() {
  return {
      // Valid lists and normalisation.
      {"NoFields", {}, {}, ""},
      {"EmptyField", {""}, {}, ""},
      {"OnlyCommasAndWhitespace", {" , \t,, "}, {}, ""},
      {"SingleMember", {"key1=value1"}, {{"key1", "value1", ""}}, "key1=value1"},
      {"ExampleFromSpec",
       {"key1=value1;prop=1,key2=value2"},
       {{"key1", "value1", "prop=1"}, {"key2", "value2", ""}},
       "key1=value1;prop=1,key2=value2"},
      {"WhitespaceEverywhereRemoved",
       {" \tkey1 = value1 ; prop = 1 ; flag\t, key2\t=\tvalue2 "},
       {{"key1", "value1", "prop=1;flag"}, {"key2", "value2", ""}},
       "key1=value1;prop=1;flag,key2=value2"},
      {"EmptyValue", {"key="}, {{"key", "", ""}}, "key="},
      {"ValueWithEquals", {"key=a=b"}, {{"key", "a=b", ""}}, "key=a=b"},
      {"TokenKeyCharacters",
       {"!#$%&'*+-.^_`|~09AZaz=1"},
       {{"!#$%&'*+-.^_`|~09AZaz", "1", ""}},
       "!#$%&'*+-.^_`|~09AZaz=1"},
      {"PercentDecodedAndReencoded",
       {"user=J%C3%B6rg%20M,path=%2Fa%2Fb,pct=100%25"},
       {{"user", "J\xC3\xB6rg M", ""}, {"path", "/a/b", ""}, {"pct", "100%", ""}},
       "user=J%C3%B6rg%20M,path=/a/b,pct=100%25"},
      {"LowercaseEscapesNormalised", {"k=%c3%b6"}, {{"k", "\xC3\xB6", ""}}, "k=%C3%B6"},
      {"EncodedSeparatorsStayEncoded", {"k=%2C%3B%22%5C"}, {{"k", ",;\"\\", ""}}, "k=%2C%3B%22%5C"},
      {"FieldsJoinedInOrder",
       {"a=1", "b=2,c=3", "", "d=4"},
       {{"a", "1", ""}, {"b", "2", ""}, {"c", "3", ""}, {"d", "4", ""}},
       "a=1,b=2,c=3,d=4"},
      {"DuplicateKeysKept", {"a=1,a=2"}, {{"a", "1", ""}, {"a", "2", ""}}, "a=1,a=2"},
      {"PropertyValueKeptEncoded", {"k=v;p=%20x"}, {{"k", "v", "p=%20x"}}, "k=v;p=%20x"},
      {"PropertyEmptyValue", {"k=v;p="}, {{"k", "v", "p="}}, "k=v;p="},

      // Invalid members are dropped one by one; the rest survive.
      {"MemberWithoutEquals", {"a=1,nokey,b=2"}, {{"a", "1", ""}, {"b", "2", ""}}, "a=1,b=2"},
      {"EmptyKey", {"=1,b=2"}, {{"b", "2", ""}}, "b=2"},
      {"KeyWithSpaceInside", {"a b=1,c=3"}, {{"c", "3", ""}}, "c=3"},
      {"KeyWithSlash", {"a/b=1,c=3"}, {{"c", "3", ""}}, "c=3"},
      {"KeyNonAscii", {"k\xC3\xB6=1,c=3"}, {{"c", "3", ""}}, "c=3"},
      {"ValueWithSpaceInside", {"a=1 2,c=3"}, {{"c", "3", ""}}, "c=3"},
      {"ValueWithQuote", {"a=\"1\",c=3"}, {{"c", "3", ""}}, "c=3"},
      {"ValueWithBackslash", {"a=1\\2,c=3"}, {{"c", "3", ""}}, "c=3"},
      {"ValueNonAscii", {"a=\xC3\xB6,c=3"}, {{"c", "3", ""}}, "c=3"},
      {"ValueControlChar", {"a=1\x01,c=3"}, {{"c", "3", ""}}, "c=3"},
      {"BadEscapeNonHex", {"a=%zz,c=3"}, {{"c", "3", ""}}, "c=3"},
      {"BadEscapeTruncated", {"c=3,a=%4"}, {{"c", "3", ""}}, "c=3"},
      {"BadEscapeLonePercent", {"a=%,c=3"}, {{"c", "3", ""}}, "c=3"},
      {"EmptyProperty", {"a=1;,c=3"}, {{"c", "3", ""}}, "c=3"},
      {"PropertyEmptyKey", {"a=1;=x,c=3"}, {{"c", "3", ""}}, "c=3"},
      {"PropertyBadValue", {"a=1;p=a b,c=3"}, {{"c", "3", ""}}, "c=3"},
      {"PropertyBadEscape", {"a=1;p=%g0,c=3"}, {{"c", "3", ""}}, "c=3"},
      {"AllInvalid", {"x", "=", "a b=c"}, {}, ""},
  };
}

class BaggageParseTest : public testing::TestWithParam<ParseCase> {};

TEST_P(BaggageParseTest, ParseAndNormalise) {
  const ParseCase& c = GetParam();
  const std::vector<std::string_view> fields(c.fields.begin(), c.fields.end());
  EXPECT_EQ(ParseBaggage(fields), c.members);
  const std::string normalised = NormaliseBaggage(fields);
  EXPECT_EQ(normalised, c.normalised);
  // Normalising is idempotent: what is sent reads back as itself.
  EXPECT_EQ(NormaliseBaggage({normalised}), normalised);
}

INSTANTIATE_TEST_SUITE_P(Rows, BaggageParseTest, testing::ValuesIn(ParseCases()),
                         [](const auto& info) { return info.param.name; });

// ---------------------------------------------------------------------------------------------
// Limits: drop from the right.

std::vector<BaggageMember> Numbered(size_t count, size_t value_size = 1) {
  std::vector<BaggageMember> members;
  for (size_t i = 0; i < count; ++i) {
    members.push_back({"k" + std::to_string(i), std::string(value_size, 'v'), ""});
  }
  return members;
}

TEST(BaggageLimitsTest, KeepsExactly180Members) {
  const std::string formatted = FormatBaggage(Numbered(kMaxBaggageMembers));
  EXPECT_EQ(ParseBaggage({formatted}), Numbered(kMaxBaggageMembers));
}

TEST(BaggageLimitsTest, DropsMembersBeyond180FromTheRight) {
  const std::string formatted = FormatBaggage(Numbered(kMaxBaggageMembers + 5));
  EXPECT_EQ(ParseBaggage({formatted}), Numbered(kMaxBaggageMembers));
}

TEST(BaggageLimitsTest, KeepsExactly8192Bytes) {
  // "k0=" + 8189 bytes of value: exactly at the limit.
  const std::vector<BaggageMember> members{{"k0", std::string(kMaxBaggageBytes - 3, 'v'), ""}};
  EXPECT_EQ(FormatBaggage(members).size(), kMaxBaggageBytes);
}

TEST(BaggageLimitsTest, DropsTheMemberThatWouldPassTheByteLimitAndAllAfterIt) {
  // Each member "kN=" + 1000 bytes is 1003 bytes, 1004 with its comma: 8 fit (8031 bytes), the
  // ninth would make 9035. A later short member is dropped too: the list is cut from the right.
  std::vector<BaggageMember> members = Numbered(9, 1000);
  members.push_back({"short", "1", ""});
  const std::string formatted = FormatBaggage(members);
  EXPECT_EQ(formatted.size(), 8 * 1003 + 7u);
  EXPECT_EQ(ParseBaggage({formatted}), Numbered(8, 1000));
}

TEST(BaggageLimitsTest, EncodingCountsTowardsTheByteLimit) {
  // 2731 bytes that each encode as 3 ("%20"): 8193 encoded bytes plus the key, over the limit.
  const std::vector<BaggageMember> members{{"k", std::string(2731, ' '), ""}, {"a", "1", ""}};
  EXPECT_EQ(FormatBaggage(members), "");
}

TEST(BaggageLimitsTest, OversizedIncomingHeaderIsCutNotDropped) {
  std::string header;
  for (int i = 0; i < 200; ++i) header += "key" + std::to_string(i) + "=value,";
  const std::string normalised = NormaliseBaggage({header});
  EXPECT_EQ(ParseBaggage({normalised}).size(), kMaxBaggageMembers);
  EXPECT_TRUE(normalised.starts_with("key0=value,key1=value,"));
  EXPECT_TRUE(normalised.ends_with(",key179=value"));
}

// ---------------------------------------------------------------------------------------------
// BaggagePropagator

using Fields = std::vector<std::pair<std::string, std::string>>;

TEST(BaggagePropagatorTest, ExtractsBaggageOnlyNeverIds) {
  const HeaderList headers{
      {"traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
      {"Baggage", "a=1 , b=%41"},
      {"baggage", "c=3;p"}};
  const SpanContext context = BaggagePropagator().Extract(headers);
  EXPECT_FALSE(context.IsValid());
  EXPECT_FALSE(context.trace_id.IsValid());
  EXPECT_EQ(context.trace_flags, 0);
  EXPECT_EQ(context.trace_state, "");
  EXPECT_EQ(context.baggage, "a=1,b=A,c=3;p");
}

TEST(BaggagePropagatorTest, NoHeaderOrNoValidMemberGivesEmptyBaggage) {
  EXPECT_EQ(BaggagePropagator().Extract(HeaderList{}).baggage, "");
  EXPECT_EQ(BaggagePropagator().Extract(HeaderList{{"baggage", "junk"}}).baggage, "");
}

TEST(BaggagePropagatorTest, InjectsEvenWithoutValidIds) {
  HeaderList headers{{"Baggage", "stale=1"}};
  BaggagePropagator().Inject({TraceId{}, SpanId{}, 0, "", "a=1,b=2"}, headers);
  EXPECT_EQ(headers.fields(), (Fields{{"baggage", "a=1,b=2"}}));
}

TEST(BaggagePropagatorTest, InjectNormalisesAndNeverSendsMalformed) {
  HeaderList headers;
  BaggagePropagator().Inject({TraceId{0, 1}, SpanId{1}, 1, "", " a = 1 ,bad,b=x y"}, headers);
  EXPECT_EQ(headers.fields(), (Fields{{"baggage", "a=1"}}));
  HeaderList none;
  BaggagePropagator().Inject({TraceId{0, 1}, SpanId{1}, 1, "", "bad, worse"}, none);
  BaggagePropagator().Inject({TraceId{0, 1}, SpanId{1}, 1, "", ""}, none);
  EXPECT_TRUE(none.fields().empty());
}

TEST(BaggagePropagatorTest, RoundTrip) {
  const BaggagePropagator propagator;
  HeaderList headers;
  propagator.Inject({TraceId{}, SpanId{}, 0, "", "user=J%C3%B6rg;p=1,x="}, headers);
  EXPECT_EQ(propagator.Extract(headers).baggage, "user=J%C3%B6rg;p=1,x=");
}

}  // namespace
}  // namespace tracerig
