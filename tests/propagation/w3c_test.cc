// Table-driven tests of W3C Trace Context: one row per valid or malformed input the reference
// (and the W3C test harness) describes, then extraction/injection through header carriers.
#include "propagation/w3c.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "core/rng.h"
#include "propagation/carrier.h"

namespace tracerig {
namespace {

constexpr std::string_view kTrace = "4bf92f3577b34da6a3ce929d0e0e4736";
constexpr std::string_view kParent = "00f067aa0ba902b7";
constexpr TraceId kTraceId{0x4bf92f3577b34da6ull, 0xa3ce929d0e0e4736ull};
constexpr SpanId kParentId{0x00f067aa0ba902b7ull};

// "vv-<kTrace>-<kParent>-ff" with the given pieces.
std::string Tp(std::string_view version, std::string_view trace, std::string_view parent,
               std::string_view flags) {
  std::string s;
  s.append(version).append("-").append(trace).append("-").append(parent).append("-").append(flags);
  return s;
}

const std::string kValid = Tp("00", kTrace, kParent, "01");

// ---------------------------------------------------------------------------------------------
// ParseTraceparent

struct TraceparentCase {
  std::string name;
  std::string input;
  bool valid;
  // Expected fields when valid.
  uint8_t version = 0;
  TraceId trace_id = kTraceId;
  SpanId parent_id = kParentId;
  uint8_t flags = 0;
};

TraceparentCase Valid(std::string name, std::string input, uint8_t version, uint8_t flags) {
  return {std::move(name), std::move(input), true, version, kTraceId, kParentId, flags};
}
TraceparentCase Invalid(std::string name, std::string input) {
  return {std::move(name), std::move(input), false};
}

std::vector<TraceparentCase> TraceparentCases() {
  std::vector<TraceparentCase> cases = {
      // Valid version 00.
      Valid("Version00Sampled", kValid, 0, 0x01),
      Valid("Version00NotSampled", Tp("00", kTrace, kParent, "00"), 0, 0x00),
      Valid("Version00SampledRandom", Tp("00", kTrace, kParent, "03"), 0, 0x03),
      Valid("Version00UnknownFlagsReportedAsReceived", Tp("00", kTrace, kParent, "ff"), 0, 0xff),
      // Whitespace around the value is trimmed.
      Valid("LeadingSpace", " " + kValid, 0, 0x01),
      Valid("LeadingTab", "\t" + kValid, 0, 0x01),
      Valid("TrailingSpace", kValid + " ", 0, 0x01),
      Valid("TrailingTab", kValid + "\t", 0, 0x01),
      Valid("SpacesAndTabsBothSides", "\t  \t" + kValid + " \t ", 0, 0x01),
      // Future versions: first four fields, anything after must start with '-'.
      Valid("FutureVersionExact", Tp("cc", kTrace, kParent, "01"), 0xcc, 0x01),
      Valid("FutureVersionWithMoreFields",
            Tp("cc", kTrace, kParent, "01") + "-what-the-future-will-be-like", 0xcc, 0x01),
      Valid("FutureVersionWithLoneDash", Tp("cc", kTrace, kParent, "01") + "-", 0xcc, 0x01),
      Valid("FutureVersion01", Tp("01", kTrace, kParent, "00"), 0x01, 0x00),
      Valid("FutureVersionFe", Tp("fe", kTrace, kParent, "09"), 0xfe, 0x09),
      Valid("FutureVersionKeepsAllFlags", Tp("cc", kTrace, kParent, "ff"), 0xcc, 0xff),
      // Only all-zero ids are invalid; leading zeros are fine.
      {"TraceIdOnlyLowBitSet", Tp("00", "00000000000000000000000000000001", kParent, "01"), true, 0,
       TraceId{0, 1}, kParentId, 0x01},
      {"TraceIdOnlyHighHalfSet", Tp("00", "10000000000000000000000000000000", kParent, "01"), true,
       0, TraceId{0x1000000000000000ull, 0}, kParentId, 0x01},
      {"ParentIdOne", Tp("00", kTrace, "0000000000000001", "01"), true, 0, kTraceId, SpanId{1},
       0x01},
      {"AllF", Tp("00", std::string(32, 'f'), std::string(16, 'f'), "ff"), true, 0,
       TraceId{~0ull, ~0ull}, SpanId{~0ull}, 0xff},

      // Empty and whitespace.
      Invalid("Empty", ""),
      Invalid("OnlyWhitespace", " \t \t"),
      Invalid("NewlineIsNotTrimmed", kValid + "\n"),
      Invalid("CarriageReturnIsNotTrimmed", "\r" + kValid),
      Invalid("InnerSpace", Tp("00", kTrace, kParent, " 1")),
      Invalid("SpaceAfterSeparator",
              "00- " + std::string(kTrace.substr(1)) + "-" + std::string(kParent) + "-01"),
      // Version.
      Invalid("VersionFf", Tp("ff", kTrace, kParent, "01")),
      Invalid("VersionFfWithMoreFields", Tp("ff", kTrace, kParent, "01") + "-x"),
      Invalid("VersionUppercase", Tp("0A", kTrace, kParent, "01")),
      Invalid("FutureVersionUppercase", Tp("CC", kTrace, kParent, "01")),
      Invalid("VersionIllegalFirstChar", Tp(".0", kTrace, kParent, "01")),
      Invalid("VersionIllegalSecondChar", Tp("0.", kTrace, kParent, "01")),
      Invalid("VersionTooLong3", Tp("000", kTrace, kParent, "01")),
      Invalid("VersionTooLong4", Tp("0000", kTrace, kParent, "01")),
      Invalid("VersionTooShort", Tp("0", kTrace, kParent, "01")),
      // Version 00 allows nothing after the flags.
      Invalid("Version00TrailingDot", kValid + "."),
      Invalid("Version00TrailingDash", kValid + "-"),
      Invalid("Version00MoreFields", kValid + "-what-the-future-will-be-like"),
      Invalid("Version00TrailingSpaceThenData", kValid + " x"),
      // Future version with trailing data that is not a new field.
      Invalid("FutureVersionTrailingDot",
              Tp("cc", kTrace, kParent, "01") + ".what-the-future-will-be-like"),
      Invalid("FutureVersionTrailingHex", Tp("cc", kTrace, kParent, "01") + "0"),
      Invalid("FutureVersionTooShort", Tp("cc", kTrace, kParent, "0")),
      Invalid("FutureVersionZeroTraceId", Tp("cc", std::string(32, '0'), kParent, "01")),
      Invalid("FutureVersionUppercaseTraceId",
              Tp("cc", "4BF92F3577B34DA6A3CE929D0E0E4736", kParent, "01")),
      // Trace id.
      Invalid("TraceIdAllZero", Tp("00", std::string(32, '0'), kParent, "01")),
      Invalid("TraceIdUppercase", Tp("00", "4BF92F3577B34DA6A3CE929D0E0E4736", kParent, "01")),
      Invalid("TraceIdOneUppercaseDigit",
              Tp("00", "4bf92f3577b34da6a3ce929d0e0e473F", kParent, "01")),
      Invalid("TraceIdIllegalFirstChar",
              Tp("00", ".bf92f3577b34da6a3ce929d0e0e4736", kParent, "01")),
      Invalid("TraceIdIllegalLastChar",
              Tp("00", "4bf92f3577b34da6a3ce929d0e0e473.", kParent, "01")),
      Invalid("TraceIdNonHexLetter", Tp("00", "4bf92f3577b34da6g3ce929d0e0e4736", kParent, "01")),
      // '0' and 'f' with the high bit set: must not pass as hex digits.
      Invalid("TraceIdNonAsciiByte",
              Tp("00", "4bf92f3577b34da6a3ce929d0e0e473\xb0", kParent, "01")),
      Invalid("ParentIdNonAsciiByte",
              Tp("00", kTrace, std::string(1, '\xe6') + "0f067aa0ba902b7", "01")),
      Invalid("TraceIdTooLong", Tp("00", std::string(kTrace) + "1", kParent, "01")),
      Invalid("TraceIdTooShort", Tp("00", kTrace.substr(1), kParent, "01")),
      // Parent id.
      Invalid("ParentIdAllZero", Tp("00", kTrace, std::string(16, '0'), "01")),
      Invalid("ParentIdUppercase", Tp("00", kTrace, "00F067AA0BA902B7", "01")),
      Invalid("ParentIdIllegalFirstChar", Tp("00", kTrace, ".0f067aa0ba902b7", "01")),
      Invalid("ParentIdIllegalLastChar", Tp("00", kTrace, "00f067aa0ba902b.", "01")),
      Invalid("ParentIdNonHexLetter", Tp("00", kTrace, "00f067aa0bz902b7", "01")),
      Invalid("ParentIdTooLong", Tp("00", kTrace, std::string(kParent) + "1", "01")),
      Invalid("ParentIdTooShort", Tp("00", kTrace, kParent.substr(1), "01")),
      // Flags.
      Invalid("FlagsUppercase", Tp("00", kTrace, kParent, "0A")),
      Invalid("FlagsIllegalFirstChar", Tp("00", kTrace, kParent, ".0")),
      Invalid("FlagsIllegalSecondChar", Tp("00", kTrace, kParent, "0.")),
      Invalid("FlagsTooLong", Tp("00", kTrace, kParent, "001")),
      Invalid("FlagsTooShort", Tp("00", kTrace, kParent, "0")),
      Invalid("FlagsMissing", Tp("00", kTrace, kParent, "")),
      // Separators.
      Invalid("FirstSeparatorUnderscore",
              "00_" + std::string(kTrace) + "-" + std::string(kParent) + "-01"),
      Invalid("SecondSeparatorUnderscore",
              "00-" + std::string(kTrace) + "_" + std::string(kParent) + "-01"),
      Invalid("ThirdSeparatorUnderscore",
              "00-" + std::string(kTrace) + "-" + std::string(kParent) + "_01"),
      Invalid("NoSeparators", "00" + std::string(kTrace) + std::string(kParent) + "01   "),
      Invalid("AllDashes", std::string(55, '-')),
      Invalid("Garbage", "not a traceparent at all, but long enough to be 55 chars"),
  };
  return cases;
}

class TraceparentTest : public testing::TestWithParam<TraceparentCase> {};

TEST_P(TraceparentTest, Parse) {
  const TraceparentCase& c = GetParam();
  const std::optional<Traceparent> parsed = ParseTraceparent(c.input);
  ASSERT_EQ(parsed.has_value(), c.valid) << "input: \"" << c.input << "\"";
  if (!c.valid) return;
  EXPECT_EQ(parsed->version, c.version);
  EXPECT_EQ(parsed->trace_id, c.trace_id);
  EXPECT_EQ(parsed->parent_id, c.parent_id);
  EXPECT_EQ(parsed->flags, c.flags);
}

INSTANTIATE_TEST_SUITE_P(Rows, TraceparentTest, testing::ValuesIn(TraceparentCases()),
                         [](const auto& info) { return info.param.name; });

// A slow, obviously-correct reading of the grammar (core's scalar hex parser), to check the
// word-at-a-time parser on inputs no table row lists.
std::optional<Traceparent> ReferenceParseTraceparent(std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  if (v.size() < 55 || v[2] != '-' || v[35] != '-' || v[52] != '-') return std::nullopt;
  const auto version = ParseHex64(v.substr(0, 2), /*lowercase_only=*/true);
  const auto high = ParseHex64(v.substr(3, 16), true);
  const auto low = ParseHex64(v.substr(19, 16), true);
  const auto parent = ParseHex64(v.substr(36, 16), true);
  const auto flags = ParseHex64(v.substr(53, 2), true);
  if (!version || !high || !low || !parent || !flags || *version == 0xff) return std::nullopt;
  if (*version == 0 && v.size() != 55) return std::nullopt;
  if (v.size() > 55 && v[55] != '-') return std::nullopt;
  if ((*high | *low) == 0 || *parent == 0) return std::nullopt;
  return Traceparent{static_cast<uint8_t>(*version), TraceId{*high, *low}, SpanId{*parent},
                     static_cast<uint8_t>(*flags)};
}

TEST(ParseTraceparentTest, AgreesWithReferenceOnSeededMutations) {
  Rng rng(1234);
  const std::string bases[] = {kValid, Tp("cc", kTrace, kParent, "01") + "-x"};
  int accepted = 0;
  for (int i = 0; i < 50000; ++i) {
    std::string input = bases[i % 2];
    // One to three bytes replaced: half by lowercase hex digits (which mostly keep the input
    // valid), half by arbitrary bytes (all 256 values, including NUL, 'A'-'F' and 0x80+).
    const int edits = 1 + static_cast<int>(rng.Next() % 3);
    for (int e = 0; e < edits; ++e) {
      const uint64_t r = rng.Next();
      input[r % input.size()] = (r >> 32) % 2 == 0 ? "0123456789abcdef"[(r >> 40) % 16]
                                                   : static_cast<char>((r >> 48) & 0xff);
    }
    const auto expected = ReferenceParseTraceparent(input);
    const auto actual = ParseTraceparent(input);
    ASSERT_EQ(actual.has_value(), expected.has_value()) << "input: \"" << input << "\"";
    if (!expected) continue;
    ++accepted;
    EXPECT_EQ(actual->version, expected->version);
    EXPECT_EQ(actual->trace_id, expected->trace_id);
    EXPECT_EQ(actual->parent_id, expected->parent_id);
    EXPECT_EQ(actual->flags, expected->flags);
  }
  // Both outcomes must be exercised for the comparison to mean anything.
  EXPECT_GT(accepted, 1000);
  EXPECT_LT(accepted, 49000);
}

TEST(FormatTraceparentTest, ExactText) {
  EXPECT_EQ(FormatTraceparent(kTraceId, kParentId, 0x01), kValid);
  EXPECT_EQ(FormatTraceparent(TraceId{0, 1}, SpanId{0xab}, 0x00),
            "00-00000000000000000000000000000001-00000000000000ab-00");
  EXPECT_EQ(FormatTraceparent(TraceId{~0ull, ~0ull}, SpanId{~0ull}, 0xff),
            Tp("00", std::string(32, 'f'), std::string(16, 'f'), "ff"));
}

TEST(FormatTraceparentTest, BufferFormWritesExactly55Chars) {
  std::string buffer(60, '#');
  FormatTraceparent(kTraceId, kParentId, 0x03, buffer.data());
  EXPECT_EQ(buffer.substr(0, kTraceparentSize), Tp("00", kTrace, kParent, "03"));
  EXPECT_EQ(buffer.substr(kTraceparentSize), "#####");
}

TEST(FormatTraceparentTest, RoundTripsSeededRandomIds) {
  Rng rng(20240601);
  for (int i = 0; i < 1000; ++i) {
    const TraceId trace{rng.Next(), rng.NextNonZero()};
    const SpanId span{rng.NextNonZero()};
    const auto flags = static_cast<uint8_t>(rng.Next() & 0xff);
    const std::optional<Traceparent> parsed =
        ParseTraceparent(FormatTraceparent(trace, span, flags));
    ASSERT_TRUE(parsed) << FormatTraceparent(trace, span, flags);
    EXPECT_EQ(parsed->version, 0);
    EXPECT_EQ(parsed->trace_id, trace);
    EXPECT_EQ(parsed->parent_id, span);
    EXPECT_EQ(parsed->flags, flags);
  }
}

// ---------------------------------------------------------------------------------------------
// ParseTracestate

std::string Members(int count, std::string_view prefix = "k") {
  std::string list;
  for (int i = 0; i < count; ++i) {
    if (i > 0) list += ",";
    list += std::string(prefix) + std::to_string(i) + "=" + std::to_string(i);
  }
  return list;
}

// Every printable ASCII character except ',' and '=' (and it must not end in a space).
std::string AllValueChars() {
  std::string value;
  for (char c = 0x20; c <= 0x7e; ++c) {
    if (c != ',' && c != '=') value.push_back(c);
  }
  return value;
}

const std::string kKey256 = "a" + std::string(255, 'z');
const std::string kValue256 = std::string(256, 'v');

struct TracestateCase {
  std::string name;
  std::vector<std::string> fields;
  std::optional<std::string> expected;  // nullopt: the whole tracestate is invalid
};

std::vector<TracestateCase> TracestateCases() {
  const std::string all_values = AllValueChars();
  return {
      // Valid lists and normalisation.
      {"NoFields", {}, ""},
      {"OneEmptyField", {""}, ""},
      {"OnlyWhitespaceAndCommas", {" , \t,, "}, ""},
      {"SingleMember", {"foo=1"}, "foo=1"},
      {"TwoMembers", {"foo=1,bar=2"}, "foo=1,bar=2"},
      {"OwsAroundMembersTrimmed", {"foo=1 \t , \t bar=2, \t baz=3"}, "foo=1,bar=2,baz=3"},
      {"OwsAroundWholeFieldTrimmed", {" \tfoo=1\t "}, "foo=1"},
      {"TrailingSpaceOfValueIsOws", {"foo=1 "}, "foo=1"},
      {"EmptyMembersSkipped", {",foo=1,,bar=2,"}, "foo=1,bar=2"},
      {"WhitespaceOnlyMembersSkipped", {"foo=1, ,\t,bar=2"}, "foo=1,bar=2"},
      {"MultipleFieldsJoinedInOrder",
       {"foo=1,bar=2", "rojo=1,congo=2", "baz=3"},
       "foo=1,bar=2,rojo=1,congo=2,baz=3"},
      {"EmptyFieldsAmongOthers", {"", "foo=1", "", "bar=2", ""}, "foo=1,bar=2"},
      {"FieldEndingInCommaThenField", {"foo=1,", ",bar=2"}, "foo=1,bar=2"},
      // Keys.
      {"KeySingleChar", {"a=1"}, "a=1"},
      {"KeyStartsWithDigit", {"0foo=1"}, "0foo=1"},
      {"KeyAllAllowedChars",
       {"abcdefghijklmnopqrstuvwxyz0123456789_-*/@=1"},
       "abcdefghijklmnopqrstuvwxyz0123456789_-*/@=1"},
      {"KeyTenantAtSystem", {"tenant@system=1"}, "tenant@system=1"},
      {"KeyAtLast", {"foo@=1"}, "foo@=1"},
      {"KeyAtSecond", {"f@oo=1"}, "f@oo=1"},
      {"KeyTwoAtsInARow", {"foo@@bar=1"}, "foo@@bar=1"},
      {"KeyTwoAtsApart", {"foo@bar@baz=1"}, "foo@bar@baz=1"},
      {"Key256Chars", {kKey256 + "=1"}, kKey256 + "=1"},
      {"Key257Chars", {kKey256 + "z=1"}, std::nullopt},
      {"KeyEmpty", {"=1"}, std::nullopt},
      {"KeyUppercase", {"FOO=1"}, std::nullopt},
      {"KeyOneUppercaseChar", {"fOo=1"}, std::nullopt},
      {"KeySpaceBeforeEquals", {"foo =1"}, std::nullopt},
      {"KeyWithDot", {"foo.bar=1"}, std::nullopt},
      {"KeyStartsWithAt", {"@foo=1"}, std::nullopt},
      {"KeyStartsWithUnderscore", {"_foo=1"}, std::nullopt},
      {"KeyStartsWithDash", {"-foo=1"}, std::nullopt},
      {"KeyStartsWithStar", {"*foo=1"}, std::nullopt},
      {"KeyStartsWithSlash", {"/foo=1"}, std::nullopt},
      {"MemberWithoutEquals", {"foo"}, std::nullopt},
      // Values.
      {"ValueAllAllowedChars", {"foo=" + all_values}, "foo=" + all_values},
      {"ValueInnerSpace", {"foo=a b"}, "foo=a b"},
      {"ValueLeadingSpace", {"foo= a"}, "foo= a"},
      {"Value256Chars", {"foo=" + kValue256}, "foo=" + kValue256},
      {"Value257Chars", {"foo=" + kValue256 + "v"}, std::nullopt},
      {"ValueEmpty", {"foo="}, std::nullopt},
      {"ValueEmptyBeforeComma", {"foo=,bar=3"}, std::nullopt},
      {"ValueOnlySpaceBeforeComma", {"foo= ,bar=3"}, std::nullopt},
      {"ValueWithEquals", {"foo=bar=baz"}, std::nullopt},
      {"ValueWithComma", {"foo=a,b"}, std::nullopt},
      {"ValueWithInnerTab", {"foo=a\tb"}, std::nullopt},
      {"ValueWithControlChar", {std::string("foo=a\x01") + "b"}, std::nullopt},
      {"ValueWithDel", {"foo=a\x7f"}, std::nullopt},
      {"ValueNonAscii", {"foo=caf\xc3\xa9"}, std::nullopt},
      // Member count.
      {"Exactly32Members", {Members(32)}, Members(32)},
      {"Members33", {Members(33)}, std::nullopt},
      {"Members32WithEmptiesBetween",
       {Members(16, "a") + ",,", " ,", Members(16, "b")},
       Members(16, "a") + "," + Members(16, "b")},
      {"Members33AcrossFields", {Members(32, "a"), "b=1"}, std::nullopt},
      // Duplicated keys (the W3C suite's test_tracestate_duplicated_keys): the list is still
      // inherited, the first member of a key kept, later ones dropped.
      {"DuplicateKeySameValue", {"foo=1,foo=1"}, "foo=1"},
      {"DuplicateKeyDifferentValue", {"foo=1,foo=2"}, "foo=1"},
      {"DuplicateKeyAcrossFields", {"foo=1", "foo=2"}, "foo=1"},
      {"DuplicateKeySameValueAcrossFields", {"foo=1", "foo=1"}, "foo=1"},
      {"DuplicateKeyWithOws", {"foo=1, foo=2"}, "foo=1"},
      {"DuplicateKeyOthersKeepOrder", {"a=1,foo=1,b=2,foo=2,c=3"}, "a=1,foo=1,b=2,c=3"},
      {"DuplicateKeyStillCountsTowardLimit", {Members(32), "k0=x"}, std::nullopt},
      {"DuplicateKeyWithBadMemberInvalid", {"foo=1,foo=2,BAR=3"}, std::nullopt},
      {"DuplicateKeyBadSecondValueInvalid", {"foo=1,foo=a,b"}, std::nullopt},
      // Whole-list invalidity.
      {"OneBadMemberInvalidatesAll", {"foo=1,BAR=2,baz=3"}, std::nullopt},
      {"OneBadFieldInvalidatesAll", {"foo=1", "bar", "baz=3"}, std::nullopt},
  };
}

class TracestateTest : public testing::TestWithParam<TracestateCase> {};

TEST_P(TracestateTest, Parse) {
  const TracestateCase& c = GetParam();
  const std::vector<std::string_view> fields(c.fields.begin(), c.fields.end());
  EXPECT_EQ(ParseTracestate(fields), c.expected);
}

INSTANTIATE_TEST_SUITE_P(Rows, TracestateTest, testing::ValuesIn(TracestateCases()),
                         [](const auto& info) { return info.param.name; });

// ---------------------------------------------------------------------------------------------
// UpdateTracestate

struct UpdateCase {
  std::string name;
  std::string list;
  std::string key;
  std::string value;
  std::string expected;
};

std::vector<UpdateCase> UpdateCases() {
  // k0..k30 as in Members(31).
  return {
      {"IntoEmpty", "", "tr", "1", "tr=1"},
      {"PrependsToOthers", "foo=1,bar=2", "tr", "x", "tr=x,foo=1,bar=2"},
      {"MovesOwnEntryToFront", "foo=1,tr=old,bar=2", "tr", "new", "tr=new,foo=1,bar=2"},
      {"ReplacesOwnEntryAtFront", "tr=old,foo=1", "tr", "new", "tr=new,foo=1"},
      {"ReplacesOwnEntryAtEnd", "foo=1,tr=old", "tr", "new", "tr=new,foo=1"},
      {"KeyPrefixIsAnotherKey", "tr2=1,xtr=2", "tr", "x", "tr=x,tr2=1,xtr=2"},
      {"Full32DropsRightmost", Members(32), "tr", "x", "tr=x," + Members(31)},
      {"Full32WithOwnEntryDropsNothing", Members(31) + ",tr=old", "tr", "new",
       "tr=new," + Members(31)},
      {"InvalidKeyLeavesListUnchanged", "foo=1", "TR", "x", "foo=1"},
      {"InvalidValueLeavesListUnchanged", "foo=1", "tr", "a,b", "foo=1"},
      {"EmptyValueLeavesListUnchanged", "foo=1", "tr", "", "foo=1"},
      {"ValueEndingInSpaceLeavesListUnchanged", "foo=1", "tr", "a ", "foo=1"},
      {"ValueWithInnerSpace", "foo=1", "tr", "a b", "tr=a b,foo=1"},
  };
}

class UpdateTracestateTest : public testing::TestWithParam<UpdateCase> {};

TEST_P(UpdateTracestateTest, Update) {
  const UpdateCase& c = GetParam();
  const std::string updated = UpdateTracestate(c.list, c.key, c.value);
  EXPECT_EQ(updated, c.expected);
  // The result is always a valid tracestate.
  EXPECT_EQ(ParseTracestate({updated}), updated);
}

INSTANTIATE_TEST_SUITE_P(Rows, UpdateTracestateTest, testing::ValuesIn(UpdateCases()),
                         [](const auto& info) { return info.param.name; });

// ---------------------------------------------------------------------------------------------
// W3cTraceContextPropagator::Extract

struct ExtractCase {
  std::string name;
  HeaderList headers;
  bool valid;
  uint8_t flags = 0;
  std::string trace_state = "";
};

std::vector<ExtractCase> ExtractCases() {
  const std::string cc = Tp("cc", kTrace, kParent, "ff") + "-more";
  return {
      {"TraceparentOnly", {{"traceparent", kValid}}, true, 0x01, ""},
      {"WithTracestate",
       {{"traceparent", kValid}, {"tracestate", "foo=1,bar=2"}},
       true,
       0x01,
       "foo=1,bar=2"},
      {"OddCaseHeaderNames",
       {{"TraceParent", kValid}, {"TrAcEsTaTe", "foo=1"}},
       true,
       0x01,
       "foo=1"},
      {"UppercaseHeaderNames",
       {{"TRACEPARENT", kValid}, {"TRACESTATE", "foo=1"}},
       true,
       0x01,
       "foo=1"},
      {"TracestateBeforeTraceparent",
       {{"tracestate", "foo=1"}, {"traceparent", kValid}},
       true,
       0x01,
       "foo=1"},
      {"TracestateFieldsJoined",
       {{"traceparent", kValid},
        {"tracestate", "foo=1"},
        {"Tracestate", ""},
        {"TRACESTATE", "bar=2, baz=3"},
        {"tracestate", "rojo=1"}},
       true,
       0x01,
       "foo=1,bar=2,baz=3,rojo=1"},
      {"InvalidTracestateDropped",
       {{"traceparent", kValid}, {"tracestate", "FOO=1"}},
       true,
       0x01,
       ""},
      {"DuplicateKeyAcrossTracestateFieldsKeepsFirst",
       {{"traceparent", kValid}, {"tracestate", "foo=1"}, {"tracestate", "foo=2"}},
       true,
       0x01,
       "foo=1"},
      {"DuplicateKeyInOneTracestateFieldKeepsFirst",
       {{"traceparent", kValid}, {"tracestate", "foo=1,bar=2,foo=1"}},
       true,
       0x01,
       "foo=1,bar=2"},
      {"TraceparentWithOws", {{"traceparent", " \t" + kValid + "\t "}}, true, 0x01, ""},
      {"Version00KeepsSampledAndRandom",
       {{"traceparent", Tp("00", kTrace, kParent, "ff")}},
       true,
       0x03,
       ""},
      {"Version00RandomOnly", {{"traceparent", Tp("00", kTrace, kParent, "02")}}, true, 0x02, ""},
      {"Version00UnknownBitDropped",
       {{"traceparent", Tp("00", kTrace, kParent, "04")}},
       true,
       0x00,
       ""},
      {"FutureVersionKeepsFlags",
       {{"traceparent", cc}, {"tracestate", "foo=1"}},
       true,
       0xff,
       "foo=1"},
      // Restart: no context and no tracestate.
      {"NoHeaders", {}, false},
      {"OnlyTracestate", {{"tracestate", "foo=1"}}, false},
      {"OtherHeadersOnly", {{"traceparentx", kValid}, {"x-traceparent", kValid}}, false},
      {"InvalidTraceparentIgnoresTracestate",
       {{"traceparent", Tp("00", std::string(32, '0'), kParent, "01")}, {"tracestate", "foo=1"}},
       false},
      {"DuplicateIdenticalTraceparent", {{"traceparent", kValid}, {"traceparent", kValid}}, false},
      {"DuplicateTraceparentOddCase",
       {{"traceparent", kValid}, {"TraceParent", Tp("00", kTrace, "1111111111111111", "01")}},
       false},
      {"DuplicateTraceparentSecondInvalid",
       {{"traceparent", kValid}, {"traceparent", "junk"}},
       false},
      {"EmptyTraceparent", {{"traceparent", ""}, {"tracestate", "foo=1"}}, false},
  };
}

class ExtractTest : public testing::TestWithParam<ExtractCase> {};

TEST_P(ExtractTest, Extract) {
  const ExtractCase& c = GetParam();
  const SpanContext context = W3cTraceContextPropagator().Extract(c.headers);
  ASSERT_EQ(context.IsValid(), c.valid);
  if (!c.valid) {
    EXPECT_EQ(context.trace_state, "");
    return;
  }
  EXPECT_EQ(context.trace_id, kTraceId);
  EXPECT_EQ(context.span_id, kParentId);
  EXPECT_EQ(context.trace_flags, c.flags);
  EXPECT_EQ(context.trace_state, c.trace_state);
}

INSTANTIATE_TEST_SUITE_P(Rows, ExtractTest, testing::ValuesIn(ExtractCases()),
                         [](const auto& info) { return info.param.name; });

// ---------------------------------------------------------------------------------------------
// W3cTraceContextPropagator::Inject

using Fields = std::vector<std::pair<std::string, std::string>>;

TEST(InjectTest, WritesExactTraceparentWithoutEmptyTracestate) {
  HeaderList headers;
  W3cTraceContextPropagator().Inject({kTraceId, kParentId, 0x01, ""}, headers);
  EXPECT_EQ(headers.fields(), (Fields{{"traceparent", kValid}}));
}

TEST(InjectTest, WritesTracestateWhenNonEmpty) {
  HeaderList headers;
  W3cTraceContextPropagator().Inject({kTraceId, kParentId, 0x00, "tr=x,foo=1"}, headers);
  EXPECT_EQ(headers.fields(), (Fields{{"traceparent", Tp("00", kTrace, kParent, "00")},
                                      {"tracestate", "tr=x,foo=1"}}));
}

TEST(InjectTest, LimitsFlagsToSampledAndRandom) {
  HeaderList headers;
  W3cTraceContextPropagator().Inject({kTraceId, kParentId, 0xff, ""}, headers);
  EXPECT_EQ(headers.fields(), (Fields{{"traceparent", Tp("00", kTrace, kParent, "03")}}));
}

TEST(InjectTest, ReplacesExistingTraceparentWhateverItsCase) {
  HeaderList headers{{"TraceParent", "stale"}, {"traceparent", "stale too"}};
  W3cTraceContextPropagator().Inject({kTraceId, kParentId, 0x01, ""}, headers);
  EXPECT_EQ(headers.fields(), (Fields{{"traceparent", kValid}}));
}

TEST(InjectTest, InvalidContextWritesNothing) {
  HeaderList headers;
  W3cTraceContextPropagator().Inject({TraceId{}, kParentId, 0x01, "foo=1"}, headers);
  W3cTraceContextPropagator().Inject({kTraceId, SpanId{}, 0x01, "foo=1"}, headers);
  EXPECT_TRUE(headers.fields().empty());
}

TEST(RoundTripTest, InjectThenExtractGivesTheSameContext) {
  const W3cTraceContextPropagator propagator;
  Rng rng(7);
  for (int i = 0; i < 500; ++i) {
    SpanContext sent{TraceId{rng.Next(), rng.NextNonZero()}, SpanId{rng.NextNonZero()},
                     static_cast<uint8_t>(rng.Next() & 0x03),
                     i % 2 == 0 ? "" : "tr=" + std::to_string(i) + ",foo=bar"};
    HeaderList headers;
    propagator.Inject(sent, headers);
    const SpanContext received = propagator.Extract(headers);
    ASSERT_TRUE(received.IsValid());
    EXPECT_EQ(received.trace_id, sent.trace_id);
    EXPECT_EQ(received.span_id, sent.span_id);
    EXPECT_EQ(received.trace_flags, sent.trace_flags);
    EXPECT_EQ(received.trace_state, sent.trace_state);
  }
}

TEST(RoundTripTest, ParticipatingHopKeepsTraceIdAndSendsItsOwnParentId) {
  const W3cTraceContextPropagator propagator;
  const HeaderList incoming{{"traceparent", kValid}, {"tracestate", "foo=1,tr=old"}};
  SpanContext context = propagator.Extract(incoming);
  ASSERT_TRUE(context.IsValid());
  context.span_id = SpanId{0x1234};
  context.trace_state = UpdateTracestate(context.trace_state, "tr", "new");
  HeaderList outgoing;
  propagator.Inject(context, outgoing);
  EXPECT_EQ(outgoing.fields(), (Fields{{"traceparent", Tp("00", kTrace, "0000000000001234", "01")},
                                       {"tracestate", "tr=new,foo=1"}}));
}

}  // namespace
}  // namespace tracerig
