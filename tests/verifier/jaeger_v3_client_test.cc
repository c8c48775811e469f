// The Jaeger API v3 client: real api_v3 answers (fixtures), Jaeger's JSON 404s for "nothing" vs a
// server without API v3, search parameters, and failures from a fake fetcher.
#include "verifier/jaeger_v3_client.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>

#include "tests/support/fixtures.h"
#include "tests/support/scripted_fetcher.h"

namespace tracerig {
namespace {

using test_support::ScriptedFetcher;
using ::testing::HasSubstr;

TEST(DecodeJaegerV3TracesTest, SmallestGetTraceFixture) {
  TRACERIG_SHARED_FIXTURE(text, "jaeger_apiv3_get_trace.json");
  auto spans = DecodeJaegerV3Traces(text);
  ASSERT_TRUE(spans.ok()) << spans.error().message;
  ASSERT_EQ(spans->size(), 1u);
  const Span& s = (*spans)[0];
  EXPECT_EQ(s.trace_id, (TraceId{0, 1}));
  EXPECT_EQ(s.span_id, SpanId{2});
  EXPECT_EQ(s.kind, SpanKind::kServer);
  EXPECT_EQ(s.status_code, StatusCode::kError);
  EXPECT_EQ(s.name, "foobar");
}

TEST(DecodeJaegerV3TracesTest, HotrodFixtureIsOneTree) {
  TRACERIG_SHARED_FIXTURE(text, "jaeger_apiv3_get_trace_hotrod.json");
  auto spans = DecodeJaegerV3Traces(text);
  ASSERT_TRUE(spans.ok()) << spans.error().message;
  ASSERT_EQ(spans->size(), 40u);
  std::set<uint64_t> ids;
  std::set<std::string> services;
  size_t roots = 0;
  size_t errors = 0;
  for (const Span& s : *spans) {
    ids.insert(s.span_id.value);
    services.insert(s.service_name);
    if (!s.parent_span_id.IsValid()) ++roots;
    if (s.status_code == StatusCode::kError) ++errors;
    EXPECT_EQ(s.trace_id, (TraceId{0x2ea75461946a7dd1ull, 0x0f2c15ab36a076cbull}));
    EXPECT_EQ(s.flags & 0xff, 1u) << "W3C sampled bit from flags 257/769";
  }
  for (const Span& s : *spans) {
    if (s.parent_span_id.IsValid()) {
      EXPECT_TRUE(ids.contains(s.parent_span_id.value)) << s.name;
    }
  }
  EXPECT_EQ(roots, 1u);
  EXPECT_EQ(errors, 3u);
  EXPECT_EQ(services, (std::set<std::string>{"customer", "driver", "frontend", "mysql",
                                             "redis-manual", "route"}));
}

TEST(DecodeJaegerV3TracesTest, AnyValueProbeFixture) {
  TRACERIG_SHARED_FIXTURE(text, "jaeger_apiv3_get_trace_anyvalue_probe.json");
  auto spans = DecodeJaegerV3Traces(text);
  ASSERT_TRUE(spans.ok()) << spans.error().message;
  ASSERT_FALSE(spans->empty());
  const Span& root = (*spans)[0];
  EXPECT_EQ(root.service_name, "lfx-wire-probe");
  EXPECT_EQ(root.kind, SpanKind::kUnspecified);  // no kind on the wire
  ASSERT_NE(root.FindAttribute("integer"), nullptr);
  EXPECT_EQ(*root.FindAttribute("integer"), AttributeValue{int64_t{0}});
  EXPECT_EQ(*root.FindAttribute("float"), AttributeValue{1.5});
  EXPECT_EQ(*root.FindAttribute("false"), AttributeValue{false});
  EXPECT_EQ(*root.FindAttribute("empty"), AttributeValue{std::string()});
}

TEST(DecodeJaegerV3TracesTest, EmptyAndMalformed) {
  EXPECT_TRUE(DecodeJaegerV3Traces(R"({"result":{}})")->empty());
  EXPECT_TRUE(DecodeJaegerV3Traces(R"({"result":{"resourceSpans":[]}})")->empty());
  EXPECT_TRUE(DecodeJaegerV3Traces("{}")->empty());
  struct Case {
    const char* body;
    const char* error;
  };
  const Case cases[] = {
      {"[]", "expected an object with \"result\""},
      {R"({"result":[]})", "result: must be an object"},
      {R"({"result":{"resourceSpans":{}}})", "result.resourceSpans"},
      {R"({"error":{"httpCode":500,"message":"db down"}})", "error: {\"httpCode\":500"},
      {R"({"result":{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"01","spanId":"01"}]}]}]}})",
       "traceId"},
      {R"({"result":{"resourceSpans":[)", "unexpected end of input"},
  };
  for (const Case& c : cases) {
    auto spans = DecodeJaegerV3Traces(c.body);
    ASSERT_FALSE(spans.ok()) << c.body;
    EXPECT_THAT(spans.error().message, HasSubstr(c.error)) << c.body;
  }
}

class JaegerV3ClientTest : public ::testing::Test {
 protected:
  JaegerV3ClientTest() {
    auto fetcher = std::make_unique<ScriptedFetcher>(&targets_);
    fetcher_ = fetcher.get();
    client_ = MakeJaegerV3Client(std::move(fetcher), "http://127.0.0.1:16686");
  }
  std::vector<std::string> targets_;
  ScriptedFetcher* fetcher_ = nullptr;
  std::unique_ptr<BackendClient> client_;
};

constexpr TraceId kId{0, 0xabcd};
const std::string kTarget = "/api/v3/traces/0000000000000000000000000000abcd";

std::string OneSpan(std::string_view request_id, std::string_view span_hex) {
  return std::string(R"({"result":{"resourceSpans":[{"resource":{"attributes":[{"key":)"
                     R"("service.name","value":{"stringValue":"cart"}}]},"scopeSpans":[{"spans":)"
                     R"([{"traceId":"0000000000000000000000000000abcd","spanId":")") +
         std::string(span_hex) +
         R"(","name":"get","kind":2,"attributes":[{"key":"tracerig.request_id","value":)"
         R"({"stringValue":")" +
         std::string(request_id) + R"("}}]}]}]}]}})";
}

TEST_F(JaegerV3ClientTest, GetTrace) {
  fetcher_->Answer(200, OneSpan("r", "0000000000000001"));
  auto trace = client_->GetTrace(kId);
  ASSERT_TRUE(trace.ok()) << trace.error().message;
  ASSERT_TRUE(trace->has_value());
  EXPECT_EQ((**trace)[0].service_name, "cart");
  EXPECT_EQ(targets_, std::vector<std::string>{kTarget});
  EXPECT_EQ(client_->Describe(), "jaeger api v3 at http://127.0.0.1:16686");
}

TEST_F(JaegerV3ClientTest, AnswersBecomeValuesOrPreciseErrors) {
  struct Case {
    unsigned status;  // 0: transport failure with `body` as the reason
    std::string body;
    std::string error;  // "" when the trace is reported missing
  };
  const std::string where = "jaeger api v3 at http://127.0.0.1:16686: GET " + kTarget;
  const std::vector<Case> cases = {
      {404, R"({"error":{"httpCode":404,"message":"trace not found"}})" "\n", ""},
      {404, R"({"error":{"http_code":404,"message":"No traces found"}})", ""},
      {200, R"({"result":{"resourceSpans":[]}})", ""},
      {404, "404 page not found\n",
       where + " answered 404 for the endpoint itself (404 page not found): no Jaeger API v3 "
               "there (an older Jaeger only has the v1 API: use jaeger://)"},
      {500, R"({"error":{"httpCode":500,"message":"db down"}})",
       where + R"( answered HTTP 500: {"error":{"httpCode":500,"message":"db down"}})"},
      {200, R"({"result":{"resourceSpans":[{)", where + ": malformed answer: "},
      {200, "garbage", where + ": malformed answer: parse error at line 1, column 1: syntax error"},
      {200, R"({"result":"x"})", where + ": malformed answer: result: must be an object"},
      {0, "request timed out after 10000 ms", where + ": request timed out after 10000 ms"},
  };
  for (const Case& c : cases) {
    if (c.status == 0) {
      fetcher_->Fail(c.body);
    } else {
      fetcher_->Answer(c.status, c.body);
    }
    auto trace = client_->GetTrace(kId);
    if (c.error.empty()) {
      ASSERT_TRUE(trace.ok()) << c.body << ": " << trace.error().message;
      EXPECT_FALSE(trace->has_value()) << c.body;
    } else {
      ASSERT_FALSE(trace.ok()) << c.body;
      EXPECT_THAT(trace.error().message, HasSubstr(c.error));
    }
  }
}

TEST_F(JaegerV3ClientTest, FindSpansSendsServiceAttributesAndRfc3339Times) {
  fetcher_->Answer(200, OneSpan("r-1", "0000000000000001"));
  auto spans = client_->FindSpans("cart", "tracerig.request_id", "r-1", 1'700'000'000'123'456,
                                  1'700'000'060'000'000);
  ASSERT_TRUE(spans.ok()) << spans.error().message;
  ASSERT_EQ(spans->size(), 1u);
  EXPECT_EQ(targets_[0],
            "/api/v3/traces?query.service_name=cart"
            "&query.attributes=%7B%22tracerig.request_id%22%3A%22r-1%22%7D"
            "&query.start_time_min=2023-11-14T22%3A13%3A20.123456Z"
            "&query.start_time_max=2023-11-14T22%3A14%3A20.000000Z&query.num_traces=100");
  // A server that ignores query.attributes answers other spans of the service: dropped here.
  fetcher_->Answer(200, OneSpan("r-2", "0000000000000002"));
  auto none = client_->FindSpans("cart", "tracerig.request_id", "r-1", 0, 1);
  ASSERT_TRUE(none.ok()) << none.error().message;
  EXPECT_TRUE(none->empty());
  fetcher_->Answer(404, R"({"error":{"httpCode":404,"message":"No traces found"}})");
  auto empty = client_->FindSpans("cart", "tracerig.request_id", "r-1", 0, 1);
  ASSERT_TRUE(empty.ok()) << empty.error().message;
  EXPECT_TRUE(empty->empty());
}

TEST_F(JaegerV3ClientTest, FindSpansErrors) {
  fetcher_->Answer(400, R"({"error":{"httpCode":400,"message":"malformed parameter"}})");
  fetcher_->Answer(404, "404 page not found");
  fetcher_->Answer(200, "{");
  fetcher_->Fail("connection refused");
  for (const char* want : {"answered HTTP 400: ", "answered 404 for the endpoint itself",
                           "malformed answer: ", ": connection refused"}) {
    auto spans = client_->FindSpans("cart", "k", "v", 0, 1);
    ASSERT_FALSE(spans.ok()) << want;
    EXPECT_THAT(spans.error().message, HasSubstr(want));
  }
}

}  // namespace
}  // namespace tracerig
