// The canary loop's flags: re-read ages, rates and durations, row by row.
#include "cli/canary_flags.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace tracerig {
namespace {

TEST(CanaryFlagsTest, RereadAges) {
  struct Row {
    std::string text;
    std::vector<std::string> labels;  // empty with `error`
    std::string error;                // a part of the message
  };
  const Row rows[] = {
      {"1m,15m,1h,24h", {"1m", "15m", "1h", "24h"}, ""},
      {"24h, 1m ,15m", {"1m", "15m", "24h"}, ""},
      {"90s", {"90s"}, ""},
      {"none", {}, ""},
      {"", {}, "\"\" is not a duration above 0"},
      {"1m,,2m", {}, "\"\" is not a duration above 0"},
      {"1m,soon", {}, "\"soon\" is not a duration above 0"},
      {"0s", {}, "\"0s\" is not a duration above 0"},
      {"1m,60s", {}, "age 60s is given twice (as 1m)"},
  };
  for (const Row& row : rows) {
    auto ages = ParseRereadAges(row.text);
    if (!row.error.empty()) {
      ASSERT_FALSE(ages) << row.text;
      EXPECT_NE(ages.error().message.find(row.error), std::string::npos)
          << row.text << ": " << ages.error().message;
      continue;
    }
    ASSERT_TRUE(ages) << row.text << ": " << ages.error().message;
    std::vector<std::string> labels;
    for (const auto& a : *ages) labels.push_back(a.label);
    EXPECT_EQ(labels, row.labels) << row.text;
  }
}

ParsedFlags Flags(std::vector<std::pair<std::string, std::string>> values) {
  ParsedFlags f;
  for (auto& [k, v] : values) f.values[k] = v;
  return f;
}

TEST(CanaryFlagsTest, DefaultsAndOnce) {
  auto loop = ParseCanaryOptions(Flags({}));
  ASSERT_TRUE(loop);
  EXPECT_EQ(loop->rate, 1);
  EXPECT_EQ(loop->round_ns, 10'000'000'000ull);
  EXPECT_EQ(loop->queryable_within_ns, 30'000'000'000ull);
  EXPECT_EQ(loop->reread.size(), 4u);
  EXPECT_TRUE(loop->search);
  EXPECT_FALSE(loop->once);
  // --once: no re-reads unless asked for.
  auto once = ParseCanaryOptions(Flags({{"once", "true"}, {"no-search", "true"}}));
  ASSERT_TRUE(once);
  EXPECT_TRUE(once->reread.empty());
  EXPECT_FALSE(once->search);
  auto once_reread = ParseCanaryOptions(Flags({{"once", "true"}, {"reread", "2s"}}));
  ASSERT_TRUE(once_reread);
  ASSERT_EQ(once_reread->reread.size(), 1u);
  EXPECT_EQ(once_reread->reread[0].ns, 2'000'000'000ull);
}

TEST(CanaryFlagsTest, BadValuesNameTheFlag) {
  struct Row {
    std::string flag, value, error;
  };
  const Row rows[] = {
      {"rate", "0", "--rate \"0\" must be a number of requests per second above 0"},
      {"rate", "-1", "--rate \"-1\""},
      {"rate", "fast", "--rate \"fast\""},
      {"rate", "0.01", "--rate 0.01 for --round 10s writes no request in a round"},
      {"round", "0s", "--round \"0s\" is not a duration above 0"},
      {"queryable-within", "x", "--queryable-within \"x\""},
      {"reread-every", "-", "--reread-every \"-\""},
      {"reread", "1m,x", "--reread \"1m,x\""},
      {"reread-every", "100ms", "--reread-every 100ms keeps up to 9"},
  };
  for (const Row& row : rows) {
    auto o = ParseCanaryOptions(Flags({{row.flag, row.value}}));
    ASSERT_FALSE(o) << row.flag << " " << row.value;
    EXPECT_NE(o.error().message.find(row.error), std::string::npos) << o.error().message;
  }
}

}  // namespace
}  // namespace tracerig
