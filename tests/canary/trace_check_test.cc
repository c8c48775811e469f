// The check by id's verdict, one row per classification.
#include "canary/trace_check.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>

namespace tracerig {
namespace {

struct Row {
  std::string name;
  TraceStatus status;
  bool violations;
  bool evicted;
  bool export_lost;
  std::optional<CheckFailure> want;
};

TEST(TraceCheckFailureTest, EachVerdictHasItsReason) {
  const Row rows[] = {
      {"complete", TraceStatus::kComplete, false, false, false, std::nullopt},
      {"complete, exporter lost another span of it", TraceStatus::kComplete, false, false, true,
       std::nullopt},
      {"complete with violations", TraceStatus::kComplete, true, false, false,
       CheckFailure::kStructure},
      {"missing", TraceStatus::kMissing, false, false, false, CheckFailure::kMissing},
      {"missing, exporter lost it", TraceStatus::kMissing, false, false, true,
       CheckFailure::kNotExported},
      {"incomplete", TraceStatus::kIncomplete, false, false, false, CheckFailure::kIncomplete},
      {"incomplete with violations", TraceStatus::kIncomplete, true, false, false,
       CheckFailure::kIncomplete},
      {"incomplete, exporter lost spans", TraceStatus::kIncomplete, false, false, true,
       CheckFailure::kNotExported},
      {"broken", TraceStatus::kBroken, false, false, false, CheckFailure::kBroken},
      {"broken with violations", TraceStatus::kBroken, true, false, false, CheckFailure::kBroken},
      {"broken, exporter lost spans", TraceStatus::kBroken, false, false, true,
       CheckFailure::kBroken},
      {"not exported as classified", TraceStatus::kNotExported, false, false, false,
       CheckFailure::kNotExported},
      {"evicted by the backend", TraceStatus::kMissing, false, true, false,
       CheckFailure::kEvicted},
      {"evicted, exporter lost it too", TraceStatus::kMissing, false, true, true,
       CheckFailure::kEvicted},
  };
  for (const Row& row : rows) {
    TraceVerdict verdict;
    verdict.status = row.status;
    if (row.violations) verdict.violations.push_back({"orphan", "0.1", "cart", "no parent"});
    EXPECT_EQ(TraceCheckFailure(verdict, row.evicted, row.export_lost), row.want) << row.name;
  }
}

}  // namespace
}  // namespace tracerig
