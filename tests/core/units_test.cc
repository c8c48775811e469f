#include "core/units.h"

#include <gtest/gtest.h>

namespace tracerig {
namespace {

struct DurationCase {
  const char* text;
  std::optional<uint64_t> nanos;
};

TEST(UnitsTest, ParseDurationTable) {
  const DurationCase cases[] = {
      {"500ms", 500'000'000ull}, {"30s", 30'000'000'000ull}, {"2m", 120'000'000'000ull},
      {"1h", 3'600'000'000'000ull}, {"1.5s", 1'500'000'000ull}, {"250us", 250'000ull},
      {"250µs", 250'000ull}, {"7ns", 7ull}, {"0s", 0ull},
      {"", std::nullopt}, {"5", std::nullopt}, {"ms", std::nullopt}, {"-1s", std::nullopt},
      {"1 s", std::nullopt}, {"1sec", std::nullopt}, {"1e3ms", std::nullopt},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(ParseDuration(c.text), c.nanos) << c.text;
  }
}

TEST(UnitsTest, FormatDuration) {
  EXPECT_EQ(FormatDuration(999), "999ns");
  EXPECT_EQ(FormatDuration(1'500), "1.5µs");
  EXPECT_EQ(FormatDuration(30'000'000), "30ms");
  EXPECT_EQ(FormatDuration(1'250'000'000), "1.25s");
}

TEST(UnitsTest, ParseSize) {
  EXPECT_EQ(ParseSize("4MiB"), 4ull * 1024 * 1024);
  EXPECT_EQ(ParseSize("10KB"), 10'000ull);
  EXPECT_EQ(ParseSize("512"), 512ull);
  EXPECT_EQ(ParseSize("4XB"), std::nullopt);
}

}  // namespace
}  // namespace tracerig
