// The one mapping from a failure to its exit code, and from an Error's code to a failure.
#include "cli/command_failure.h"

#include <gtest/gtest.h>

#include "report/run_report.h"

namespace tracerig {
namespace {

TEST(CommandFailureTest, AnErrorsCodeDecidesUsageOrInfrastructure) {
  const struct {
    ErrorCode code;
    FailureKind kind;
    int exit_code;
  } kCases[] = {
      {ErrorCode::kInvalidArgument, FailureKind::kUsage, kExitUsage},
      {ErrorCode::kNotFound, FailureKind::kUsage, kExitUsage},
      {ErrorCode::kUnavailable, FailureKind::kInfrastructure, kExitInfrastructure},
      {ErrorCode::kResourceExhausted, FailureKind::kInfrastructure, kExitInfrastructure},
      {ErrorCode::kInternal, FailureKind::kInfrastructure, kExitInfrastructure},
      {ErrorCode::kUnknown, FailureKind::kInfrastructure, kExitInfrastructure},
  };
  for (const auto& c : kCases) {
    const CommandFailure failure = FailureFrom(MakeError(c.code, "port 4317 is in use"));
    EXPECT_EQ(failure.kind, c.kind) << ErrorCodeName(c.code);
    EXPECT_EQ(failure.message, "port 4317 is in use");
    // An empty message is printed where it was found; only the exit code is asked for here.
    EXPECT_EQ(ReportFailure("test", CommandFailure{failure.kind, ""}), c.exit_code)
        << ErrorCodeName(c.code);
  }
}

}  // namespace
}  // namespace tracerig
