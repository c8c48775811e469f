// HandleJaegerQuery: every route, status code and error body.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "backend/handlers.h"
#include "backend/jaeger_json.h"
#include "test_spans.h"

namespace tracerig {
namespace {

using nlohmann::json;
using testing::MakeSpan;

constexpr uint64_t kT0 = 1'700'000'000'000'000'000ull;  // 1700000000000000 µs

class JaegerQueryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Span root = MakeSpan(0xabc, 1, "frontend", "GET /cart", kT0, 3'000'000,
                         {{"http.status_code", int64_t{200}}});
    Span child = MakeSpan(0xabc, 2, "cart service", "GetCart", kT0 + 1000, 1'000'000);
    child.parent_span_id = SpanId{1};
    store_.Add({root, child}, 1);
    Span failed = MakeSpan(0xdef, 3, "frontend", "GET /checkout", kT0 + 10'000'000, 9'000'000,
                           {{"http.status_code", int64_t{500}}});
    failed.trace_id.high = 0x1234;
    failed.status_code = StatusCode::kError;
    store_.Add({failed}, 2);
  }

  HttpResponseData Get(std::string_view target, std::string_view method = "GET") {
    return HandleJaegerQuery(store_, HttpRequestView{method, target, "", "", ""});
  }

  // Trace ids of a search response, in order.
  std::vector<std::string> SearchIds(std::string_view target) {
    HttpResponseData r = Get(target);
    EXPECT_EQ(r.status, 200u) << target << ": " << r.body;
    std::vector<std::string> ids;
    json body = json::parse(r.body);
    for (const auto& trace : body["data"]) ids.push_back(trace["traceID"]);
    return ids;
  }

  SpanStore store_{1000};
};

TEST_F(JaegerQueryTest, GetTraceReturnsJaegerEnvelope) {
  HttpResponseData r = Get("/api/traces/0000000000000abc");
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.content_type, "application/json");
  auto trace = store_.GetTrace(TraceId{0, 0xabc});
  ASSERT_TRUE(trace);
  EXPECT_EQ(r.body, JaegerDataResponse(
                        nlohmann::ordered_json::array({EncodeJaegerTrace(trace->spans)}), 0));
  json body = json::parse(r.body);
  EXPECT_EQ(body["data"][0]["spans"].size(), 2u);
  EXPECT_EQ(body["total"], 0);
  EXPECT_TRUE(body["errors"].is_null());
}

TEST_F(JaegerQueryTest, GetTraceAcceptsIdsAsJaegerParsesThem) {
  for (std::string_view target :
       {"/api/traces/abc", "/api/traces/ABC", "/api/traces/00000000000000000000000000000abc",
        "/api/traces/0000000000000abc?raw=true"}) {
    EXPECT_EQ(Get(target).status, 200u) << target;
  }
  HttpResponseData r = Get("/api/traces/12340000000000000def");
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(json::parse(r.body)["data"][0]["traceID"], "00000000000012340000000000000def");
}

TEST_F(JaegerQueryTest, GetTraceErrors) {
  struct Row {
    std::string_view target;
    unsigned status;
    std::string_view body;
  };
  const Row rows[] = {
      {"/api/traces/0000000000000fff", 404,
       R"({"data":null,"total":0,"limit":0,"offset":0,"errors":[{"code":404,"msg":"trace not found"}]})"},
      {"/api/traces/xyz", 400,
       R"({"data":null,"total":0,"limit":0,"offset":0,"errors":[{"code":400,"msg":"strconv.ParseUint: parsing \"xyz\": invalid syntax"}]})"},
      {"/api/traces/zz00000000000000001", 400,
       R"({"data":null,"total":0,"limit":0,"offset":0,"errors":[{"code":400,"msg":"strconv.ParseUint: parsing \"zz0\": invalid syntax"}]})"},
      {"/api/traces/000000000000000000000000000000abc", 400,
       R"({"data":null,"total":0,"limit":0,"offset":0,"errors":[{"code":400,"msg":"TraceID cannot be longer than 32 hex characters: 000000000000000000000000000000abc"}]})"},
      {"/api/traces/%zz", 400,
       R"({"data":null,"total":0,"limit":0,"offset":0,"errors":[{"code":400,"msg":"invalid URL escape \"%zz\""}]})"},
  };
  for (const Row& row : rows) {
    HttpResponseData r = Get(row.target);
    EXPECT_EQ(r.status, row.status) << row.target;
    EXPECT_EQ(r.body, row.body) << row.target;
    EXPECT_EQ(r.content_type, "application/json");
  }
}

TEST_F(JaegerQueryTest, Services) {
  HttpResponseData r = Get("/api/services");
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.body,
            R"({"data":["cart service","frontend"],"total":2,"limit":0,"offset":0,"errors":null})");

  SpanStore empty(10);
  r = HandleJaegerQuery(empty, HttpRequestView{"GET", "/api/services", "", "", ""});
  EXPECT_EQ(r.body, R"({"data":[],"total":0,"limit":0,"offset":0,"errors":null})");
}

TEST_F(JaegerQueryTest, OperationsWithPercentEncodedService) {
  EXPECT_EQ(
      Get("/api/services/frontend/operations").body,
      R"({"data":["GET /cart","GET /checkout"],"total":2,"limit":0,"offset":0,"errors":null})");
  EXPECT_EQ(Get("/api/services/cart%20service/operations").body,
            R"({"data":["GetCart"],"total":1,"limit":0,"offset":0,"errors":null})");
  // Jaeger unescapes with url.QueryUnescape, where '+' is a space.
  EXPECT_EQ(Get("/api/services/cart+service/operations").body,
            R"({"data":["GetCart"],"total":1,"limit":0,"offset":0,"errors":null})");
  EXPECT_EQ(Get("/api/services/unknown/operations").body,
            R"({"data":[],"total":0,"limit":0,"offset":0,"errors":null})");
  EXPECT_EQ(Get("/api/services/%zz/operations").status, 400u);
}

TEST_F(JaegerQueryTest, SearchFilters) {
  EXPECT_EQ(SearchIds("/api/traces?service=frontend"),
            (std::vector<std::string>{"00000000000012340000000000000def", "0000000000000abc"}));
  EXPECT_EQ(SearchIds("/api/traces?service=cart%20service"),
            (std::vector<std::string>{"0000000000000abc"}));
  EXPECT_EQ(SearchIds("/api/traces?service=frontend&operation=GET%20%2Fcart"),
            (std::vector<std::string>{"0000000000000abc"}));
  EXPECT_EQ(SearchIds("/api/traces?service=frontend&tags=%7B%22http.status_code%22%3A%22500%22%7D"),
            (std::vector<std::string>{"00000000000012340000000000000def"}));
  EXPECT_EQ(SearchIds("/api/traces?service=frontend&tag=error:true"),
            (std::vector<std::string>{"00000000000012340000000000000def"}));
  EXPECT_EQ(SearchIds("/api/traces?service=frontend&limit=1"),
            (std::vector<std::string>{"00000000000012340000000000000def"}));
  // start/end are µs since the epoch.
  EXPECT_EQ(SearchIds("/api/traces?service=frontend&start=1700000000005000"),
            (std::vector<std::string>{"00000000000012340000000000000def"}));
  EXPECT_EQ(SearchIds("/api/traces?service=frontend&start=1700000000000000&end=1700000000005000"),
            (std::vector<std::string>{"0000000000000abc"}));
  EXPECT_EQ(SearchIds("/api/traces?service=frontend&minDuration=5ms"),
            (std::vector<std::string>{"00000000000012340000000000000def"}));
  EXPECT_EQ(SearchIds("/api/traces?service=frontend&maxDuration=3ms"),
            (std::vector<std::string>{"0000000000000abc"}));
  EXPECT_EQ(SearchIds("/api/traces?service=frontend&minDuration=0&maxDuration=0"),
            (std::vector<std::string>{"00000000000012340000000000000def", "0000000000000abc"}));
  EXPECT_EQ(SearchIds("/api/traces?service=nobody"), std::vector<std::string>{});
}

TEST_F(JaegerQueryTest, SearchResponseShape) {
  HttpResponseData r = Get("/api/traces?service=cart%20service");
  auto trace = store_.GetTrace(TraceId{0, 0xabc});
  ASSERT_TRUE(trace);
  EXPECT_EQ(r.body, JaegerDataResponse(
                        nlohmann::ordered_json::array({EncodeJaegerTrace(trace->spans)}), 0));
  EXPECT_EQ(Get("/api/traces?service=nobody").body,
            R"({"data":[],"total":0,"limit":0,"offset":0,"errors":null})");
}

TEST_F(JaegerQueryTest, SearchErrors) {
  struct Row {
    std::string_view target;
    std::string_view message;
  };
  const Row rows[] = {
      {"/api/traces", "parameter 'service' is required"},
      {"/api/traces?operation=x", "parameter 'service' is required"},
      {"/api/traces?service=", "parameter 'service' is required"},
      {"/api/traces?service=a&tags=%5B1%5D",
       "malformed 'tags' parameter, cannot unmarshal JSON: [1] is not an object"},
      {"/api/traces?service=a&tags=nope",
       "malformed 'tags' parameter, cannot unmarshal JSON: nope is not valid JSON"},
      {"/api/traces?service=a&tags=%7B%22k%22%3A1%7D",
       "malformed 'tags' parameter, cannot unmarshal JSON: value of \"k\" is not a string"},
      {"/api/traces?service=a&tag=novalue",
       "malformed 'tag' parameter, expecting key:value, received: novalue"},
      {"/api/traces?service=a&start=yesterday",
       "unable to parse param 'start': strconv.ParseInt: parsing \"yesterday\": invalid syntax"},
      {"/api/traces?service=a&end=99999999999999999999",
       "unable to parse param 'end': strconv.ParseInt: parsing \"99999999999999999999\": value out "
       "of range"},
      {"/api/traces?service=a&limit=ten", "strconv.ParseInt: parsing \"ten\": invalid syntax"},
      {"/api/traces?service=a&limit=3000000000",
       "strconv.ParseInt: parsing \"3000000000\": value out of range"},
      {"/api/traces?service=a&minDuration=5",
       "unable to parse param 'minDuration': time: invalid "
       "duration \"5\""},
      {"/api/traces?service=a&minDuration=2s&maxDuration=1s",
       "'maxDuration' should be greater than 'minDuration'"},
      {"/api/traces?service=a&tags=%7", "invalid URL escape \"%7\""},
  };
  for (const Row& row : rows) {
    HttpResponseData r = Get(row.target);
    EXPECT_EQ(r.status, 400u) << row.target;
    json body = json::parse(r.body);
    EXPECT_TRUE(body["data"].is_null()) << row.target;
    ASSERT_EQ(body["errors"].size(), 1u) << row.target;
    EXPECT_EQ(body["errors"][0]["code"], 400) << row.target;
    EXPECT_EQ(body["errors"][0]["msg"], row.message) << row.target;
  }
}

// GET /api/traces?traceID=...: Jaeger's tracesByIDs, which the verifier's Jaeger v1 client batches
// with.
TEST_F(JaegerQueryTest, SearchByTraceIdsAnswersExactlyThoseTraces) {
  struct Row {
    std::string target;
    std::vector<std::string> data;    // trace ids in "data", in order
    std::vector<std::string> absent;  // "trace not found" ids in "errors"
  };
  const Row rows[] = {
      {"/api/traces?traceID=abc&traceID=00000000000012340000000000000def",
       {"0000000000000abc", "00000000000012340000000000000def"}, {}},
      // In the order asked; the other filters are ignored, as in Jaeger.
      {"/api/traces?traceID=00000000000012340000000000000def&traceID=abc&service=nope&limit=1",
       {"00000000000012340000000000000def", "0000000000000abc"}, {}},
      {"/api/traces?traceID=fff&traceID=abc&traceID=12340000000000000eee",
       {"0000000000000abc"}, {"0000000000000fff", "00000000000012340000000000000eee"}},
      {"/api/traces?traceID=fff", {}, {"0000000000000fff"}},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(row.target);
    HttpResponseData r = Get(row.target);
    ASSERT_EQ(r.status, 200u) << r.body;
    json body = json::parse(r.body);
    ASSERT_TRUE(body["data"].is_array());
    std::vector<std::string> data;
    for (const auto& trace : body["data"]) data.push_back(trace["traceID"]);
    EXPECT_EQ(data, row.data);
    std::vector<std::string> absent;
    if (row.absent.empty()) {
      EXPECT_TRUE(body["errors"].is_null());
    } else {
      for (const auto& e : body["errors"]) {
        EXPECT_EQ(e["msg"], "trace not found");
        EXPECT_FALSE(e.contains("code"));  // Go omits a zero code
        absent.push_back(e["traceID"]);
      }
    }
    EXPECT_EQ(absent, row.absent);
  }
  // The same trace JSON as GET /api/traces/{id}.
  json one = json::parse(Get("/api/traces/abc").body);
  json batch = json::parse(Get("/api/traces?traceID=abc").body);
  EXPECT_EQ(batch["data"], one["data"]);
}

TEST_F(JaegerQueryTest, SearchByTraceIdsRejectsABadIdLikeJaeger) {
  struct Row {
    std::string target;
    std::string message;
  };
  const Row rows[] = {
      {"/api/traces?traceID=abc&traceID=xyz",
       "cannot parse traceID param: strconv.ParseUint: parsing \"xyz\": invalid syntax"},
      {"/api/traces?traceID=" + std::string(33, '1'),
       "cannot parse traceID param: TraceID cannot be longer than 32 hex characters: " +
           std::string(33, '1')},
  };
  for (const Row& row : rows) {
    HttpResponseData r = Get(row.target);
    EXPECT_EQ(r.status, 400u) << row.target;
    EXPECT_EQ(r.body, JaegerErrorResponse(400, row.message)) << row.target;
  }
}

TEST_F(JaegerQueryTest, UnknownPathsAndMethods) {
  for (std::string_view target :
       {"/", "/api", "/api/traces/", "/api/traces/abc/extra", "/api/services/",
        "/api/services//operations", "/api/services/a/b/operations", "/v1/traces"}) {
    HttpResponseData r = Get(target);
    EXPECT_EQ(r.status, 404u) << target;
    EXPECT_EQ(r.body, JaegerErrorResponse(404, "404 page not found")) << target;
  }
  for (std::string_view target :
       {"/api/traces", "/api/traces/abc", "/api/services", "/api/services/a/operations"}) {
    HttpResponseData r = Get(target, "POST");
    EXPECT_EQ(r.status, 405u) << target;
    EXPECT_EQ(r.body, JaegerErrorResponse(405, "method not allowed")) << target;
  }
}

// No input may crash the handler; every answer is JSON.
TEST_F(JaegerQueryTest, SurvivesArbitraryTargets) {
  uint64_t x = 12345;  // fixed-seed LCG
  const std::string alphabet = "/api/traces?service=&tags=%{}\"+:;0123456789abcdefxyz\xff";
  for (int i = 0; i < 2000; ++i) {
    std::string target = i % 2 ? "/api/traces?" : "/api/";
    const size_t length = (x >> 33) % 40;
    for (size_t j = 0; j < length; ++j) {
      x = x * 6364136223846793005ull + 1442695040888963407ull;
      target.push_back(alphabet[(x >> 33) % alphabet.size()]);
    }
    HttpResponseData r = Get(target);
    EXPECT_TRUE(r.status == 200 || r.status == 400 || r.status == 404) << target;
    EXPECT_FALSE(json::parse(r.body, nullptr, false).is_discarded()) << target;
  }
}

}  // namespace
}  // namespace tracerig
