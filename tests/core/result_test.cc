// Error codes: what MakeError gives, that Result and copies keep them, and their names.
#include "core/result.h"

#include <gtest/gtest.h>

#include <string>

namespace tracerig {
namespace {

struct MakeErrorCase {
  const char* name;
  Error error;
  ErrorCode code;
  const char* message;
};

TEST(ResultTest, MakeErrorTable) {
  const MakeErrorCase cases[] = {
      {"message only is unknown", MakeError("bad"), ErrorCode::kUnknown, "bad"},
      {"empty message", MakeError(""), ErrorCode::kUnknown, ""},
      {"unknown, explicitly", MakeError(ErrorCode::kUnknown, "u"), ErrorCode::kUnknown, "u"},
      {"invalid argument", MakeError(ErrorCode::kInvalidArgument, "x: must be a number"),
       ErrorCode::kInvalidArgument, "x: must be a number"},
      {"resource exhausted", MakeError(ErrorCode::kResourceExhausted, "over 4096 bytes"),
       ErrorCode::kResourceExhausted, "over 4096 bytes"},
      {"unavailable", MakeError(ErrorCode::kUnavailable, "cannot connect"), ErrorCode::kUnavailable,
       "cannot connect"},
      {"not found", MakeError(ErrorCode::kNotFound, "no such trace"), ErrorCode::kNotFound,
       "no such trace"},
      {"internal", MakeError(ErrorCode::kInternal, "broken invariant"), ErrorCode::kInternal,
       "broken invariant"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(c.error.code, c.code) << c.name;
    EXPECT_EQ(c.error.message, c.message) << c.name;
  }
}

TEST(ResultTest, ErrorCodeNameTable) {
  const std::pair<ErrorCode, std::string_view> cases[] = {
      {ErrorCode::kUnknown, "unknown"},
      {ErrorCode::kInvalidArgument, "invalid argument"},
      {ErrorCode::kResourceExhausted, "resource exhausted"},
      {ErrorCode::kUnavailable, "unavailable"},
      {ErrorCode::kNotFound, "not found"},
      {ErrorCode::kInternal, "internal"},
  };
  for (const auto& [code, name] : cases) EXPECT_EQ(ErrorCodeName(code), name);
}

Result<int> Fail(ErrorCode code) { return MakeError(code, "failed"); }

// Passing an error up (`return r.error();`) into a Result of another type keeps its code.
Result<std::string> PassUp(ErrorCode code) {
  auto r = Fail(code);
  if (!r) return r.error();
  return std::to_string(*r);
}

TEST(ResultTest, ResultsKeepTheCodeWhenPassedUp) {
  for (ErrorCode code :
       {ErrorCode::kUnknown, ErrorCode::kInvalidArgument, ErrorCode::kResourceExhausted,
        ErrorCode::kUnavailable, ErrorCode::kNotFound, ErrorCode::kInternal}) {
    Result<std::string> r = PassUp(code);
    ASSERT_FALSE(r.ok()) << ErrorCodeName(code);
    EXPECT_EQ(r.error().code, code) << ErrorCodeName(code);
    EXPECT_EQ(r.error().message, "failed");
    Status s = r.error();
    EXPECT_EQ(s.error().code, code) << ErrorCodeName(code);
  }
}

TEST(ResultTest, ValuesAreNotErrors) {
  Result<int> r = 7;
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 7);
  Status s = Ok{};
  EXPECT_TRUE(s.ok());
}

}  // namespace
}  // namespace tracerig
