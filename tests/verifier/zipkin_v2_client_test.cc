// The Zipkin v2 client: real Zipkin payloads (fixtures) normalised into spans, shared CLIENT/SERVER
// spans, and every HTTP answer and transport failure a fake fetcher can produce.
#include "verifier/zipkin_v2_client.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "tests/support/fixtures.h"
#include "tests/support/scripted_fetcher.h"

namespace tracerig {
namespace {

using test_support::ScriptedFetcher;
using ::testing::HasSubstr;

const Span* FindByName(const std::vector<Span>& spans, std::string_view name, SpanKind kind) {
  for (const Span& s : spans) {
    if (s.name == name && s.kind == kind) return &s;
  }
  return nullptr;
}

// Every parent is in the trace and no id repeats: what the verifier's tree checks need.
void ExpectOneTree(const std::vector<Span>& spans, size_t roots) {
  std::set<uint64_t> ids;
  for (const Span& s : spans) EXPECT_TRUE(ids.insert(s.span_id.value).second) << s.span_id.ToHex();
  size_t found_roots = 0;
  for (const Span& s : spans) {
    if (!s.parent_span_id.IsValid()) {
      ++found_roots;
    } else {
      EXPECT_TRUE(ids.contains(s.parent_span_id.value)) << s.name << " is an orphan";
    }
  }
  EXPECT_EQ(found_roots, roots);
}

TEST(DecodeZipkinTraceTest, YelpFixtureHasThreeSharedPairsAndOneTree) {
  TRACERIG_SHARED_FIXTURE(text, "zipkin_v2_yelp.json");
  auto spans = DecodeZipkinTrace(text);
  ASSERT_TRUE(spans.ok()) << spans.error().message;
  ASSERT_EQ(spans->size(), 16u);
  for (const Span& s : *spans) {
    EXPECT_EQ(s.trace_id, (TraceId{0, 0xa03ee8fff1dcd9b9ull}));  // 64-bit id: high half zero
  }
  ExpectOneTree(*spans, 1);

  std::map<std::string, const Span*> by_service;
  for (const Span& s : *spans) {
    if (s.kind == SpanKind::kServer) by_service[s.service_name] = &s;
  }
  ASSERT_EQ(by_service.size(), 4u);
  EXPECT_FALSE(by_service["routing"]->parent_span_id.IsValid());
  EXPECT_EQ(by_service["routing"]->span_id, SpanId{0x2e8cfb154b59a41full});  // not shared: kept

  // The shared SERVER half of mobile_api becomes the child of yelp-main's CLIENT half...
  const Span* mobile = by_service["mobile_api"];
  EXPECT_EQ(mobile->parent_span_id, SpanId{0xf5f268651b2a2b34ull});
  EXPECT_NE(mobile->span_id, SpanId{0xf5f268651b2a2b34ull});
  // ...and mobile_api's own CLIENT calls hang under it, not under the caller's CLIENT span.
  const Span* nonce = FindByName(*spans, "set mobile_api_nonce", SpanKind::kClient);
  ASSERT_NE(nonce, nullptr);
  EXPECT_EQ(nonce->parent_span_id, mobile->span_id);
  // New ids are above every id of the trace (f5f268651b2a2b34 is the largest), in span order.
  EXPECT_EQ(by_service["spectre"]->span_id, SpanId{0xf5f268651b2a2b35ull});
  EXPECT_EQ(mobile->span_id, SpanId{0xf5f268651b2a2b36ull});
  EXPECT_EQ(by_service["yelp_main/api_proxy"]->span_id, SpanId{0xf5f268651b2a2b37ull});

  // Units: µs on the wire, ns in the model.
  EXPECT_EQ(by_service["routing"]->start_unix_nano, 1571896375237354000ull);
  EXPECT_EQ(by_service["routing"]->end_unix_nano, (1571896375237354ull + 131848ull) * 1000ull);
}

TEST(DecodeZipkinTraceTest, SkewFixtureKeepsTimesAndReparentsTheServersLocalChild) {
  TRACERIG_SHARED_FIXTURE(text, "zipkin_v2_skew.json");
  auto spans = DecodeZipkinTrace(text);
  ASSERT_TRUE(spans.ok()) << spans.error().message;
  ASSERT_EQ(spans->size(), 4u);
  ExpectOneTree(*spans, 1);
  const Span* server = nullptr;
  for (const Span& s : *spans) {
    if (s.kind == SpanKind::kServer && s.service_name == "serviceb") server = &s;
  }
  ASSERT_NE(server, nullptr);
  EXPECT_EQ(server->span_id, SpanId{0xbf396325699c84c0ull});
  EXPECT_EQ(server->parent_span_id, SpanId{0x74280ae0c10d8062ull});
  // The skew stays visible: the server half still starts before its client half.
  EXPECT_EQ(server->start_unix_nano, 1470150004008761000ull);
  const Span* async = FindByName(*spans, "async", SpanKind::kInternal);
  ASSERT_NE(async, nullptr);  // no kind on the wire: INTERNAL
  EXPECT_EQ(async->parent_span_id, server->span_id);
}

TEST(DecodeZipkinTraceTest, Messaging128BitFixture) {
  TRACERIG_SHARED_FIXTURE(text, "zipkin_v2_messaging_128bit.json");
  auto spans = DecodeZipkinTrace(text);
  ASSERT_TRUE(spans.ok()) << spans.error().message;
  ASSERT_EQ(spans->size(), 4u);
  ExpectOneTree(*spans, 1);
  EXPECT_EQ((*spans)[0].trace_id, (TraceId{0x5aab74dbb904746bull, 0xb33447baae403ed6ull}));
  EXPECT_EQ((*spans)[0].kind, SpanKind::kConsumer);
  EXPECT_EQ((*spans)[2].kind, SpanKind::kProducer);
  EXPECT_EQ((*spans)[3].service_name, "frontend");
}

TEST(DecodeZipkinTraceTest, EnvoyAndSingleObjectFixtures) {
  TRACERIG_SHARED_FIXTURE(envoy, "zipkin_v2_envoy_single_span.json");
  TRACERIG_SHARED_FIXTURE(object, "zipkin_v2_single_client_span_object.json");
  auto spans = DecodeZipkinTrace(envoy);
  ASSERT_TRUE(spans.ok()) << spans.error().message;
  ASSERT_EQ(spans->size(), 1u);
  // A shared SERVER span with no CLIENT half keeps its id; no serviceName means "".
  EXPECT_EQ((*spans)[0].span_id, SpanId{0x978883983d506fa5ull});
  EXPECT_EQ((*spans)[0].service_name, "");
  auto single = DecodeZipkinTrace(object);
  ASSERT_TRUE(single.ok()) << single.error().message;
  ASSERT_EQ(single->size(), 1u);
  EXPECT_EQ((*single)[0].kind, SpanKind::kClient);
}

TEST(DecodeZipkinTraceTest, StatusAttributesAndPaddedIds) {
  auto spans = DecodeZipkinTrace(R"([{"traceId":"00000000000000000000000000000abc","id":"1",
      "kind":"SERVER","name":"get","timestamp":10,"duration":5,
      "localEndpoint":{"serviceName":"cart"},
      "tags":{"tracerig.hop":"0","error":"boom","http.status_code":"500"}}])");
  ASSERT_TRUE(spans.ok()) << spans.error().message;
  ASSERT_EQ(spans->size(), 1u);
  const Span& s = (*spans)[0];
  EXPECT_EQ(s.trace_id, (TraceId{0, 0xabc}));  // 32 hex with zeros == 16 hex == 3 hex
  EXPECT_EQ(s.span_id, SpanId{1});
  EXPECT_EQ(s.start_unix_nano, 10000u);
  EXPECT_EQ(s.end_unix_nano, 15000u);
  EXPECT_EQ(s.status_code, StatusCode::kError);
  EXPECT_EQ(s.status_message, "boom");
  ASSERT_NE(s.FindAttribute("tracerig.hop"), nullptr);
  EXPECT_EQ(AttributeValueToString(*s.FindAttribute("http.status_code")), "500");
}

TEST(NormaliseSharedSpansTest, DuplicatesWithoutAClientServerPairAreKept) {
  std::vector<Span> spans(2);
  for (Span& s : spans) {
    s.trace_id = TraceId{0, 1};
    s.span_id = SpanId{7};
    s.kind = SpanKind::kServer;
  }
  NormaliseSharedSpans(spans);
  EXPECT_EQ(spans[0].span_id, SpanId{7});
  EXPECT_EQ(spans[1].span_id, SpanId{7});
}

TEST(NormaliseSharedSpansTest, PairsAreMatchedPerTrace) {
  std::vector<Span> spans(3);
  spans[0].trace_id = TraceId{0, 1};
  spans[0].span_id = SpanId{5};
  spans[0].kind = SpanKind::kClient;
  spans[1].trace_id = TraceId{0, 2};  // same id, other trace: not its pair
  spans[1].span_id = SpanId{5};
  spans[1].kind = SpanKind::kServer;
  spans[2] = spans[1];
  spans[2].trace_id = TraceId{0, 1};
  NormaliseSharedSpans(spans);
  EXPECT_EQ(spans[1].span_id, SpanId{5});
  EXPECT_EQ(spans[2].span_id, SpanId{6});
  EXPECT_EQ(spans[2].parent_span_id, SpanId{5});
}

TEST(DecodeZipkinTracesTest, SearchAnswerIsAnArrayOfTraces) {
  auto spans = DecodeZipkinTraces(
      R"([[{"traceId":"a","id":"1","name":"x"}],[{"traceId":"b","id":"2","name":"y"}]])");
  ASSERT_TRUE(spans.ok()) << spans.error().message;
  ASSERT_EQ(spans->size(), 2u);
  EXPECT_EQ((*spans)[1].trace_id, (TraceId{0, 0xb}));
  EXPECT_TRUE(DecodeZipkinTraces("[]")->empty());
}

TEST(DecodeZipkinTracesTest, MalformedAnswersNameThePlace) {
  struct Case {
    const char* body;
    const char* error;
  };
  const Case cases[] = {
      {"{}", "expected an array of traces"},
      {R"([{"traceId":"a"}])", "traces[0]: must be an array of spans"},
      {R"([[],[{"traceId":"xyz","id":"1"}]])", "traces[1]: spans[0]: traceId"},
      {R"([[{"traceId":"a","id":"1"})", "unexpected end of input"},
  };
  for (const Case& c : cases) {
    auto spans = DecodeZipkinTraces(c.body);
    ASSERT_FALSE(spans.ok()) << c.body;
    EXPECT_THAT(spans.error().message, HasSubstr(c.error)) << c.body;
  }
}

class ZipkinV2ClientTest : public ::testing::Test {
 protected:
  ZipkinV2ClientTest() {
    auto fetcher = std::make_unique<ScriptedFetcher>(&targets_);
    fetcher_ = fetcher.get();
    client_ = MakeZipkinV2Client(std::move(fetcher), "http://127.0.0.1:9411");
  }
  std::vector<std::string> targets_;
  ScriptedFetcher* fetcher_ = nullptr;
  std::unique_ptr<BackendClient> client_;
};

constexpr TraceId k64BitId{0, 0xabcd};
constexpr TraceId k128BitId{0x1, 0xabcd};
constexpr std::string_view kOneSpan =
    R"([{"traceId":"abcd","id":"1","kind":"CLIENT","name":"get","timestamp":1,"duration":1}])";

TEST_F(ZipkinV2ClientTest, GetTraceAsksWithZipkinsIdForm) {
  fetcher_->Answer(200, std::string(kOneSpan));
  fetcher_->Answer(200, std::string(kOneSpan));
  auto trace = client_->GetTrace(k64BitId);
  ASSERT_TRUE(trace.ok()) << trace.error().message;
  ASSERT_TRUE(trace->has_value());
  EXPECT_EQ((**trace)[0].kind, SpanKind::kClient);
  ASSERT_TRUE(client_->GetTrace(k128BitId).ok());
  EXPECT_EQ(targets_, (std::vector<std::string>{"/api/v2/trace/000000000000abcd",
                                                "/api/v2/trace/0000000000000001000000000000abcd"}));
  EXPECT_EQ(client_->Describe(), "zipkin v2 at http://127.0.0.1:9411");
}

TEST_F(ZipkinV2ClientTest, AnswersBecomeValuesOrPreciseErrors) {
  struct Case {
    std::optional<unsigned> status;  // nullopt: a transport failure with `body` as the reason
    std::string body;
    bool not_found;
    std::string error;  // "" when the answer is a value
  };
  const std::string target = "/api/v2/trace/000000000000abcd";
  const std::vector<Case> cases = {
      {404, "000000000000abcd not found", true, ""},
      {404, "", true, ""},
      {200, "[]", true, ""},
      {404, "404 page not found\n", false,
       "zipkin v2 at http://127.0.0.1:9411: GET " + target +
           " answered 404 for the endpoint itself (404 page not found): no Zipkin v2 query API "
           "there (is it Zipkin, port 9411?)"},
      {404, "<html><body>Not Found</body></html>", false, "answered 404 for the endpoint itself"},
      {500, "storage down", false,
       "zipkin v2 at http://127.0.0.1:9411: GET " + target + " answered HTTP 500: storage down"},
      {503, std::string(300, 'x'), false, "answered HTTP 503: " + std::string(200, 'x')},
      {200, R"([{"traceId":"abcd","id":"1")", false,
       "zipkin v2 at http://127.0.0.1:9411: GET " + target +
           ": malformed answer: invalid JSON: parse error at line 1, column 28"},
      {200, "not json", false, ": malformed answer: "},
      {200, R"({"traceId":"abcd"})", false, "malformed answer: "},
      {200, R"([{"traceId":"abcd","id":"0"}])", false, "malformed answer: spans[0]"},
      {std::nullopt, "request timed out after 10000 ms", false,
       "zipkin v2 at http://127.0.0.1:9411: GET " + target + ": request timed out after 10000 ms"},
      {std::nullopt, "connection refused", false, ": connection refused"},
  };
  for (const Case& c : cases) {
    if (c.status) {
      fetcher_->Answer(*c.status, c.body);
    } else {
      fetcher_->Fail(c.body);
    }
    auto trace = client_->GetTrace(k64BitId);
    const std::string label = (c.status ? std::to_string(*c.status) : "fail") + " " + c.body;
    if (c.error.empty()) {
      ASSERT_TRUE(trace.ok()) << label << ": " << trace.error().message;
      EXPECT_EQ(trace->has_value(), !c.not_found) << label;
    } else {
      ASSERT_FALSE(trace.ok()) << label;
      EXPECT_THAT(trace.error().message, HasSubstr(c.error)) << label;
      EXPECT_THAT(trace.error().message, ::testing::Not(HasSubstr("not found:"))) << label;
    }
  }
}

TEST_F(ZipkinV2ClientTest, FindSpansSearchesByAnnotationQueryAndKeepsMatchingSpans) {
  fetcher_->Answer(200, R"([[
      {"traceId":"a","id":"1","name":"x","tags":{"tracerig.request_id":"r-1"}},
      {"traceId":"a","id":"2","parentId":"1","name":"y","tags":{"tracerig.request_id":"r-2"}}],
      [{"traceId":"b","id":"3","name":"z","tags":{"tracerig.request_id":"r-1"}}]])");
  auto spans = client_->FindSpans("cart", "tracerig.request_id", "r-1", 1'700'000'000'123'456,
                                  1'700'000'060'000'001);
  ASSERT_TRUE(spans.ok()) << spans.error().message;
  ASSERT_EQ(spans->size(), 2u);
  EXPECT_EQ((*spans)[0].span_id, SpanId{1});
  EXPECT_EQ((*spans)[1].span_id, SpanId{3});
  // endTs rounded up and lookback down to whole milliseconds.
  EXPECT_EQ(targets_, std::vector<std::string>{
                          "/api/v2/traces?serviceName=cart&annotationQuery=tracerig.request_id%3Dr-1"
                          "&endTs=1700000060001&lookback=59878&limit=100"});
}

TEST_F(ZipkinV2ClientTest, FindSpansErrors) {
  fetcher_->Answer(500, "boom");
  fetcher_->Answer(200, "[[");
  fetcher_->Answer(404, "404 page not found");
  fetcher_->Fail("connection reset");
  for (const char* want : {"answered HTTP 500: boom", "malformed answer: ",
                           "answered 404 for the endpoint itself", ": connection reset"}) {
    auto spans = client_->FindSpans("cart", "k", "v", 0, 1000);
    ASSERT_FALSE(spans.ok()) << want;
    EXPECT_THAT(spans.error().message, HasSubstr(want));
  }
}

}  // namespace
}  // namespace tracerig
