#include "cli/flags.h"

#include <gtest/gtest.h>

namespace tracerig {
namespace {

const std::vector<FlagSpec> kSpecs = {
    {"duration", "DURATION", "how long"},
    {"rate", "N", "how often"},
    {"quiet", "", "no output"},
};

TEST(FlagsTest, ValuesSwitchesAndPositionals) {
  auto r = ParseFlags({"a.toml", "--duration", "5s", "--quiet", "b.toml"}, kSpecs);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->Get("duration"), "5s");
  EXPECT_TRUE(r->Has("quiet"));
  EXPECT_EQ(r->positional, (std::vector<std::string>{"a.toml", "b.toml"}));
  EXPECT_FALSE(r->help);
}

TEST(FlagsTest, EqualsFormAndDoubleDash) {
  auto r = ParseFlags({"--duration=2m", "--", "--quiet"}, kSpecs);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->Get("duration"), "2m");
  EXPECT_FALSE(r->Has("quiet"));
  EXPECT_EQ(r->positional, (std::vector<std::string>{"--quiet"}));
}

TEST(FlagsTest, ErrorsTable) {
  struct Case {
    std::vector<std::string> args;
    const char* message;
  };
  const Case cases[] = {
      {{"--durations", "5s"}, "unknown flag \"--durations\" (did you mean \"--duration\"?)"},
      {{"--dration", "5s"}, "unknown flag \"--dration\" (did you mean \"--duration\"?)"},
      {{"--qiuet"}, "unknown flag \"--qiuet\" (did you mean \"--quiet\"?)"},
      {{"--rate=5", "--frobnicate"}, "unknown flag \"--frobnicate\""},
      {{"-d"}, "unknown flag \"-d\" (flags are written --name)"},
      {{"--duration"}, "--duration needs a value (DURATION)"},
      {{"--duration", "--rate", "5"}, "--duration needs a value; got the flag --rate"},
      {{"--rate", "--quiet"}, "--rate needs a value; got the flag --quiet"},
      {{"--rate", "--nope"}, "--rate needs a value; got the flag --nope"},
      {{"--rate", "--help"}, "--rate needs a value; got the flag --help"},
      {{"--quiet=yes"}, "--quiet takes no value"},
  };
  for (const auto& c : cases) {
    auto r = ParseFlags(c.args, kSpecs);
    ASSERT_FALSE(r) << c.message;
    EXPECT_EQ(r.error().message, c.message);
  }
}

// A value that only looks like a flag can still be given with "=", and "-5" is a value.
TEST(FlagsTest, DashValuesNeedNoEquals) {
  auto r = ParseFlags({"--rate", "-5", "--duration=--rate"}, kSpecs);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->Get("rate"), "-5");
  EXPECT_EQ(r->Get("duration"), "--rate");
}

TEST(FlagsTest, HelpListsEveryFlag) {
  auto r = ParseFlags({"-h"}, kSpecs);
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->help);
  std::string help = FormatFlagHelp(kSpecs);
  EXPECT_NE(help.find("--duration DURATION"), std::string::npos);
  EXPECT_NE(help.find("--quiet"), std::string::npos);
  EXPECT_NE(help.find("-h, --help"), std::string::npos);
}

// A command's first step: go on with the flags, or stop with 0 (help) or 2 (usage error).
TEST(FlagsTest, ParseCommandFlagsStopsOnHelpAndUsageErrors) {
  const std::string help = CommandHelp("tracerig demo [flags]", "Does nothing.", kSpecs);
  EXPECT_EQ(help.rfind("Usage: tracerig demo [flags]\n\nDoes nothing.\n\nFlags:\n", 0), 0u);

  ParsedFlags out;
  EXPECT_EQ(ParseCommandFlags("demo", {"--quiet", "file"}, kSpecs, help, out), std::nullopt);
  EXPECT_TRUE(out.Has("quiet"));
  EXPECT_EQ(out.positional, std::vector<std::string>{"file"});

  ParsedFlags untouched;
  testing::internal::CaptureStdout();
  EXPECT_EQ(ParseCommandFlags("demo", {"--help"}, kSpecs, help, untouched), 0);
  EXPECT_EQ(testing::internal::GetCapturedStdout(), help);
  EXPECT_TRUE(untouched.values.empty());

  testing::internal::CaptureStderr();
  EXPECT_EQ(ParseCommandFlags("report demo", {"--nope"}, kSpecs, help, untouched), 2);
  EXPECT_EQ(testing::internal::GetCapturedStderr(),
            "tracerig report demo: unknown flag \"--nope\" (see 'tracerig report demo --help')\n");
}

}  // namespace
}  // namespace tracerig
