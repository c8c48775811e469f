// Backends' own dependency lists (issue 6, "Graph"): the Jaeger v1 and Zipkin v2 answers decoded
// table-driven (good, empty, malformed -> the exact error), the window each client asks for, and
// what a client says when its backend serves no list.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tests/support/scripted_fetcher.h"
#include "verifier/client_util.h"
#include "verifier/jaeger_v1_client.h"
#include "verifier/tempo_client.h"
#include "verifier/zipkin_v2_client.h"

namespace tracerig {
namespace {

using test_support::ScriptedFetcher;
using ::testing::HasSubstr;

struct DecodeCase {
  std::string name;
  std::string body;
  std::vector<DependencyLink> links;  // when error is empty
  std::string error;                  // exact, or a prefix ending in "..." for JSON syntax errors
};

void ExpectDecodes(const DecodeCase& c, const Result<std::vector<DependencyLink>>& decoded) {
  SCOPED_TRACE(c.name);
  if (c.error.empty()) {
    ASSERT_TRUE(decoded.ok()) << decoded.error().message;
    EXPECT_EQ(*decoded, c.links);
  } else if (c.error.ends_with("...")) {
    ASSERT_FALSE(decoded.ok());
    EXPECT_THAT(decoded.error().message,
                ::testing::StartsWith(c.error.substr(0, c.error.size() - 3)));
  } else {
    ASSERT_FALSE(decoded.ok());
    EXPECT_EQ(decoded.error().message, c.error);
  }
}

TEST(DecodeDependenciesTest, ZipkinAnswersABareArray) {
  const std::vector<DecodeCase> cases = {
      {"two links, errorCount ignored",
       R"([{"parent":"a","child":"b","callCount":40},
           {"parent":"b","child":"c","callCount":3,"errorCount":1}])",
       {{"a", "b", 40}, {"b", "c", 3}},
       ""},
      {"empty", "[]", {}, ""},
      {"not an array", R"({"data":[]})", {}, "expected an array of dependency links"},
      {"not json", "[{", {}, "parse error at line 1..."},
      {"element not an object", R"([["a","b"]])", {}, "[0]: must be an object"},
      {"no parent", R"([{"child":"b","callCount":1}])", {},
       "[0]: \"parent\" must be a non-empty string"},
      {"empty child", R"([{"parent":"a","child":"","callCount":1}])", {},
       "[0]: \"child\" must be a non-empty string"},
      {"negative count", R"([{"parent":"a","child":"b","callCount":1},
                             {"parent":"a","child":"c","callCount":-1}])",
       {}, "[1]: \"callCount\" must be a non-negative integer"},
      {"fractional count", R"([{"parent":"a","child":"b","callCount":1.5}])", {},
       "[0]: \"callCount\" must be a non-negative integer"},
      {"count as string", R"([{"parent":"a","child":"b","callCount":"1"}])", {},
       "[0]: \"callCount\" must be a non-negative integer"},
      {"no count", R"([{"parent":"a","child":"b"}])", {},
       "[0]: \"callCount\" must be a non-negative integer"},
  };
  for (const DecodeCase& c : cases) ExpectDecodes(c, DecodeZipkinDependencies(c.body));
}

TEST(DecodeDependenciesTest, JaegerAnswersAnEnvelope) {
  const std::vector<DecodeCase> cases = {
      {"one link", R"({"data":[{"parent":"frontend","child":"cart","callCount":7}],"total":1})",
       {{"frontend", "cart", 7}},
       ""},
      {"empty", R"({"data":[]})", {}, ""},
      {"null data", R"({"data":null,"errors":null})", {}, ""},
      {"bare array", R"([{"parent":"a","child":"b","callCount":1}])", {},
       "expected an object with \"data\""},
      {"no data", R"({"errors":[{"code":500,"msg":"boom"}]})", {},
       "expected an object with \"data\""},
      {"data not an array", R"({"data":{"parent":"a"}})", {},
       "\"data\" must be an array of dependency links"},
      {"bad element", R"({"data":[{"parent":"a","child":"b","callCount":1},{"parent":7}]})", {},
       "data[1]: \"parent\" must be a non-empty string"},
      {"not json", "{\"data\":", {}, "parse error at line 1..."},
  };
  for (const DecodeCase& c : cases) ExpectDecodes(c, DecodeJaegerDependencies(c.body));
}

TEST(DependencyWindowTest, RoundsOutwardsToMilliseconds) {
  const DependencyWindowMs w = DependencyWindow(1'700'000'000'123'456, 1'700'000'060'000'001);
  EXPECT_EQ(w.end_ts, 1'700'000'060'001u);
  EXPECT_EQ(w.lookback, 59'878u);
  // An empty window still asks for one millisecond (the backends reject lookback=0).
  EXPECT_EQ(DependencyWindow(5'000, 5'000).lookback, 1u);
}

struct ClientCase {
  std::string name;
  std::optional<unsigned> status;  // nullopt: a transport failure with `body` as the reason
  std::string body;
  std::optional<size_t> links;  // a served list of this many links
  bool not_served = false;      // nullopt: the backend has no such endpoint
  std::string error;            // substring of the error otherwise
};

void RunClientCases(BackendClient& client, ScriptedFetcher& fetcher,
                    const std::vector<ClientCase>& cases) {
  for (const ClientCase& c : cases) {
    SCOPED_TRACE(c.name);
    if (c.status) {
      fetcher.Answer(*c.status, c.body);
    } else {
      fetcher.Fail(c.body);
    }
    auto links = client.GetDependencies(1'700'000'000'000'000, 1'700'000'060'000'000);
    if (!c.error.empty()) {
      ASSERT_FALSE(links.ok());
      EXPECT_THAT(links.error().message, HasSubstr(c.error));
    } else if (c.not_served) {
      ASSERT_TRUE(links.ok()) << links.error().message;
      EXPECT_FALSE(links->has_value());
    } else {
      ASSERT_TRUE(links.ok()) << links.error().message;
      ASSERT_TRUE(links->has_value());
      EXPECT_EQ((*links)->size(), *c.links);
    }
  }
}

TEST(GetDependenciesTest, ZipkinAsksWithMillisecondsAndReportsPrecisely) {
  std::vector<std::string> targets;
  auto owned = std::make_unique<ScriptedFetcher>(&targets);
  ScriptedFetcher& fetcher = *owned;
  auto client = MakeZipkinV2Client(std::move(owned), "http://127.0.0.1:9411");
  const std::string target = "/api/v2/dependencies?endTs=1700000060000&lookback=60000";
  RunClientCases(
      *client, fetcher,
      {
          {"served", 200, R"([{"parent":"a","child":"b","callCount":2}])", 1, false, ""},
          {"empty", 200, "[]", 0, false, ""},
          {"router 404", 404, "404 page not found\n", std::nullopt, true, ""},
          {"server error", 500, "storage down", std::nullopt, false,
           "zipkin v2 at http://127.0.0.1:9411: GET " + target +
               " answered HTTP 500: storage down"},
          {"malformed", 200, R"([{"parent":"a"}])", std::nullopt, false,
           "zipkin v2 at http://127.0.0.1:9411: GET " + target +
               ": malformed answer: [0]: \"child\" must be a non-empty string"},
          {"refused", std::nullopt, "connection refused", std::nullopt, false,
           "GET " + target + ": connection refused"},
      });
  ASSERT_FALSE(targets.empty());
  EXPECT_EQ(targets[0], target);
}

TEST(GetDependenciesTest, JaegerAsksWithMillisecondsAndReportsPrecisely) {
  std::vector<std::string> targets;
  auto owned = std::make_unique<ScriptedFetcher>(&targets);
  ScriptedFetcher& fetcher = *owned;
  auto client = MakeJaegerV1Client(std::move(owned), "http://127.0.0.1:16686");
  const std::string target = "/api/dependencies?endTs=1700000060000&lookback=60000";
  RunClientCases(
      *client, fetcher,
      {
          {"served", 200, R"({"data":[{"parent":"a","child":"b","callCount":2}]})", 1, false, ""},
          {"null data", 200, R"({"data":null})", 0, false, ""},
          // What the embedded backend's Jaeger query port answers: no list, not an error.
          {"router 404", 404, "404 page not found", std::nullopt, true, ""},
          {"envelope 404", 404,
           R"({"data":null,"errors":[{"code":404,"msg":"404 page not found"}]})", std::nullopt,
           true, ""},
          {"server error", 500, "boom", std::nullopt, false, "jaeger answered HTTP 500: boom"},
          {"malformed", 200, R"({"data":[{"parent":"a","child":"b","callCount":-2}]})",
           std::nullopt, false,
           "jaeger v1 at http://127.0.0.1:16686: GET " + target +
               ": malformed answer: data[0]: \"callCount\" must be a non-negative integer"},
          {"reset", std::nullopt, "connection reset", std::nullopt, false,
           "GET " + target + ": connection reset"},
      });
  ASSERT_FALSE(targets.empty());
  EXPECT_EQ(targets[0], target);
}

TEST(GetDependenciesTest, TempoServesNoListAndAsksNothing) {
  std::vector<std::string> targets;
  auto client = MakeTempoClient(std::make_unique<ScriptedFetcher>(&targets), "http://tempo:3200");
  auto links = client->GetDependencies(1, 2);
  ASSERT_TRUE(links.ok()) << links.error().message;
  EXPECT_FALSE(links->has_value());
  EXPECT_TRUE(targets.empty());
}

}  // namespace
}  // namespace tracerig
