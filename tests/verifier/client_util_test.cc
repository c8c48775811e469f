// Shared pieces of the backend clients: "no such route" vs "no such trace" 404s, the error
// wording, JSON parse errors and RFC 3339 times.
#include "verifier/client_util.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/scripted_fetcher.h"

namespace tracerig {
namespace {

using test_support::ScriptedFetcher;
using ::testing::HasSubstr;

TEST(IsMissingEndpointTest, Table) {
  struct Case {
    unsigned status;
    const char* body;
    bool missing;
  };
  const Case cases[] = {
      {404, "404 page not found", true},      // Go's http.NotFound (Tempo, Jaeger)
      {404, "404 page not found\n", true},    // as written on the wire
      {404, "<html><head><title>404 Not Found</title></head></html>", true},  // nginx
      {404, "<!DOCTYPE html>\n<html>", true},
      {404, "", false},                        // Tempo v1: unknown trace, empty body
      {404, "trace not found", false},
      {404, R"({"error":{"httpCode":404,"message":"trace not found"}})", false},
      {404, "abcd not found", false},          // Zipkin
      {200, "404 page not found", false},      // only a 404 can be a missing route
      {500, "<html>", false},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(IsMissingEndpoint(FetchResponse{c.status, c.body}), c.missing) << c.body;
  }
}

TEST(ClientErrorsTest, Wording) {
  EXPECT_EQ(UnexpectedStatus("tempo at http://h:1", "/api/x", FetchResponse{502, "bad gateway"})
                .message,
            "tempo at http://h:1: GET /api/x answered HTTP 502: bad gateway");
  EXPECT_EQ(MalformedAnswer("zipkin v2 at http://h:1", "/t", "oops").message,
            "zipkin v2 at http://h:1: GET /t: malformed answer: oops");
  EXPECT_EQ(MissingEndpoint("d", "/t", FetchResponse{404, "404 page not found\n"}, "hint").message,
            "d: GET /t answered 404 for the endpoint itself (404 page not found): hint");
  EXPECT_EQ(QuoteBody(std::string(500, 'q')).size(), 200u);
}

// Every way a backend fails to answer usefully is kUnavailable: the run ends with exit 3.
TEST(ClientErrorsTest, AreUnavailable) {
  const std::pair<const char*, Error> cases[] = {
      {"unexpected status", UnexpectedStatus("d", "/t", FetchResponse{502, "bad gateway"})},
      {"malformed answer", MalformedAnswer("d", "/t", "oops")},
      {"missing endpoint",
       MissingEndpoint("d", "/t", FetchResponse{404, "404 page not found"}, "hint")},
  };
  for (const auto& [name, error] : cases) {
    EXPECT_EQ(error.code, ErrorCode::kUnavailable) << name << ": " << ErrorCodeName(error.code);
  }
}

TEST(FetchFromTest, TransportFailuresNameTheTarget) {
  std::vector<std::string> targets;
  ScriptedFetcher fetcher(&targets);
  fetcher.Fail("request timed out after 30000 ms");
  fetcher.Answer(503, "busy");
  auto failed = FetchFrom(fetcher, "tempo at http://h:1", "/api/search");
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().message,
            "tempo at http://h:1: GET /api/search: request timed out after 30000 ms");
  EXPECT_EQ(failed.error().code, ErrorCode::kUnavailable);
  auto answered = FetchFrom(fetcher, "tempo at http://h:1", "/api/search");
  ASSERT_TRUE(answered.ok());  // any HTTP answer is an answer; the client judges the status
  EXPECT_EQ(answered->status, 503u);
}

TEST(ParseJsonBodyTest, ErrorsKeepThePositionWithoutNlohmannsPrefix) {
  EXPECT_TRUE(ParseJsonBody(R"({"a":1})").ok());
  auto truncated = ParseJsonBody(R"({"a":)");
  ASSERT_FALSE(truncated.ok());
  EXPECT_THAT(truncated.error().message, HasSubstr("unexpected end of input"));
  EXPECT_THAT(truncated.error().message, ::testing::Not(HasSubstr("json.exception")));
  auto garbage = ParseJsonBody("<html>");
  ASSERT_FALSE(garbage.ok());
  EXPECT_THAT(garbage.error().message, HasSubstr("line 1, column 1"));
}

TEST(KeepSpansWithAttributeTest, ComparesRenderedValues) {
  std::vector<Span> spans(3);
  spans[0].attributes = {{"k", std::string("7")}};
  spans[1].attributes = {{"k", int64_t{7}}};
  spans[2].attributes = {{"other", std::string("7")}};
  auto kept = KeepSpansWithAttribute(spans, "k", "7");
  EXPECT_EQ(kept.size(), 2u);
}

TEST(FormatRfc3339MicrosTest, Table) {
  struct Case {
    uint64_t micros;
    const char* text;
  };
  const Case cases[] = {
      {0, "1970-01-01T00:00:00.000000Z"},
      {1'700'000'000'123'456, "2023-11-14T22:13:20.123456Z"},
      {951'782'400'000'001, "2000-02-29T00:00:00.000001Z"},   // leap day
      {4'107'542'399'999'999, "2100-02-28T23:59:59.999999Z"},  // 2100 is not a leap year
      {4'107'542'400'000'000, "2100-03-01T00:00:00.000000Z"},
  };
  for (const Case& c : cases) EXPECT_EQ(FormatRfc3339Micros(c.micros), c.text) << c.micros;
}

}  // namespace
}  // namespace tracerig
