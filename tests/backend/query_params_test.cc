#include "backend/query_params.h"

#include <gtest/gtest.h>

namespace tracerig {
namespace {

TEST(QueryParamsTest, SplitTarget) {
  struct Row {
    std::string_view target, path, query;
  };
  const Row rows[] = {
      {"/api/traces", "/api/traces", ""},
      {"/api/traces?service=a", "/api/traces", "service=a"},
      {"/api/traces?", "/api/traces", ""},
      {"/a?b?c", "/a", "b?c"},
      {"", "", ""},
  };
  for (const Row& row : rows) {
    auto [path, query] = SplitTarget(row.target);
    EXPECT_EQ(path, row.path) << row.target;
    EXPECT_EQ(query, row.query) << row.target;
  }
}

TEST(QueryParamsTest, PercentDecode) {
  struct Row {
    std::string_view input;
    bool plus_is_space;
    std::string_view expected;  // empty with error set
    std::string_view error;
  };
  const Row rows[] = {
      {"plain", true, "plain", ""},
      {"a%20b", true, "a b", ""},
      {"a+b", true, "a b", ""},
      {"a+b", false, "a+b", ""},
      {"%7B%22k%22%3A%22v%22%7D", true, R"({"k":"v"})", ""},
      {"%e2%82%ac", true, "\xE2\x82\xAC", ""},
      {"%2F", false, "/", ""},
      {"%", true, "", R"(invalid URL escape "%")"},
      {"ab%4", true, "", R"(invalid URL escape "%4")"},
      {"%zz1", true, "", R"(invalid URL escape "%zz")"},
      {"%g0", false, "", R"(invalid URL escape "%g0")"},
  };
  for (const Row& row : rows) {
    auto decoded = PercentDecode(row.input, row.plus_is_space);
    if (row.error.empty()) {
      ASSERT_TRUE(decoded) << row.input << ": " << decoded.error().message;
      EXPECT_EQ(*decoded, row.expected) << row.input;
    } else {
      ASSERT_FALSE(decoded) << row.input;
      EXPECT_EQ(decoded.error().message, row.error) << row.input;
    }
  }
}

TEST(QueryParamsTest, ParseQueryString) {
  struct Row {
    std::string_view query;
    QueryParams expected;
  };
  const Row rows[] = {
      {"", {}},
      {"service=a", {{"service", "a"}}},
      {"service=a&limit=20", {{"service", "a"}, {"limit", "20"}}},
      {"tag=a:1&tag=b:2", {{"tag", "a:1"}, {"tag", "b:2"}}},
      {"flag&empty=", {{"flag", ""}, {"empty", ""}}},
      {"&&a=1&", {{"a", "1"}}},
      {"a=x=y", {{"a", "x=y"}}},
      {"service=my+svc&op%20name=GET%20%2Fcart", {{"service", "my svc"}, {"op name", "GET /cart"}}},
  };
  for (const Row& row : rows) {
    auto params = ParseQueryString(row.query);
    ASSERT_TRUE(params) << row.query;
    EXPECT_EQ(*params, row.expected) << row.query;
  }
  auto bad = ParseQueryString("service=a&tags=%7");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message, R"(invalid URL escape "%7")");
}

TEST(QueryParamsTest, FirstAndAllParams) {
  QueryParams params = {{"tag", "a:1"}, {"service", "x"}, {"tag", "b:2"}};
  EXPECT_EQ(FirstParam(params, "tag"), "a:1");
  EXPECT_EQ(FirstParam(params, "missing"), std::nullopt);
  EXPECT_EQ(AllParams(params, "tag"), (std::vector<std::string_view>{"a:1", "b:2"}));
  EXPECT_TRUE(AllParams(params, "missing").empty());
}

}  // namespace
}  // namespace tracerig
