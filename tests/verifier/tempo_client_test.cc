// The Tempo client: real Tempo answers (fixtures) with base64 ids and enum names, the v2 endpoint
// with its fallback to v1, TraceQL search, and every failure a fake fetcher can produce.
#include "verifier/tempo_client.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/fixtures.h"
#include "tests/support/scripted_fetcher.h"

namespace tracerig {
namespace {

using test_support::ScriptedFetcher;
using ::testing::HasSubstr;

TEST(DecodeTempoTraceTest, KialiBookinfoFixtureBase64IdsAndEnumNames) {
  TRACERIG_SHARED_FIXTURE(text, "tempo_v1_trace_by_id_kiali_bookinfo.json");
  auto spans = DecodeTempoTraceV1(text);
  ASSERT_TRUE(spans.ok()) << spans.error().message;
  ASSERT_EQ(spans->size(), 8u);
  const Span& root = (*spans)[0];
  EXPECT_EQ(root.trace_id, (TraceId{0x3ba55609c3cde496ull, 0x49cd77d1f9dcd936ull}));
  EXPECT_EQ(root.span_id, SpanId{0x49cd77d1f9dcd936ull});
  EXPECT_FALSE(root.parent_span_id.IsValid());
  EXPECT_EQ(root.kind, SpanKind::kClient);
  EXPECT_EQ(root.service_name, "istio-ingressgateway.istio-system");
  EXPECT_EQ(root.start_unix_nano, 1701779876570888000ull);
  const Span& server = (*spans)[1];
  EXPECT_EQ(server.kind, SpanKind::kServer);
  EXPECT_EQ(server.parent_span_id, SpanId{0x49cd77d1f9dcd936ull});
  EXPECT_EQ(server.service_name, "productpage.bookinfo");
  EXPECT_EQ((*spans)[7].span_id, SpanId{0xe9d3d5f02056e0bcull});
  EXPECT_EQ((*spans)[7].parent_span_id, SpanId{0x7c597bf56ddf1a03ull});
}

TEST(DecodeTempoTraceTest, OatsJavaFixture) {
  TRACERIG_SHARED_FIXTURE(text, "tempo_v1_trace_by_id_oats_java.json");
  auto spans = DecodeTempoTraceV1(text);
  ASSERT_TRUE(spans.ok()) << spans.error().message;
  ASSERT_EQ(spans->size(), 3u);
  EXPECT_EQ((*spans)[0].trace_id, (TraceId{0x077bd30f2f8154b5ull, 0x948dc04724f89ff5ull}));
  EXPECT_EQ((*spans)[0].kind, SpanKind::kServer);
  EXPECT_EQ((*spans)[1].kind, SpanKind::kInternal);
  EXPECT_EQ((*spans)[2].kind, SpanKind::kProducer);
  EXPECT_EQ((*spans)[2].parent_span_id, SpanId{0xdaa211b4824b3a16ull});
  for (const Span& s : *spans) EXPECT_EQ(s.service_name, "app");
}

TEST(DecodeTempoTraceTest, TempopbEnvelopeFixtureWithHexIds) {
  TRACERIG_SHARED_FIXTURE(text, "tempo_v1_batches_envelope_tempopb.json");
  auto spans = DecodeTempoTraceV1(text);
  ASSERT_TRUE(spans.ok()) << spans.error().message;
  ASSERT_EQ(spans->size(), 1u);
  EXPECT_EQ((*spans)[0].trace_id, (TraceId{0x5b8efff798038103ull, 0xd269b633813fc60cull}));
  EXPECT_EQ((*spans)[0].kind, SpanKind::kServer);
  EXPECT_EQ((*spans)[0].service_name, "my.service");
}

TEST(DecodeTempoTraceTest, V2WrapsTheTraceAndMayBePartial) {
  const std::string resource_spans =
      R"({"resourceSpans":[{"resource":{"attributes":[{"key":"service.name",)"
      R"("value":{"stringValue":"cart"}}]},"scopeSpans":[{"spans":[{"traceId":)"
      R"("0102030405060708090a0b0c0d0e0f10","spanId":"AQIDBAUGBwg=","name":"get",)"
      R"("kind":"SPAN_KIND_SERVER","startTimeUnixNano":"5","endTimeUnixNano":"9",)"
      R"("status":{"code":"STATUS_CODE_ERROR","message":"bad"}}]}]}]})";
  auto spans = DecodeTempoTraceV2(R"({"trace":)" + resource_spans + "}");
  ASSERT_TRUE(spans.ok()) << spans.error().message;
  ASSERT_EQ(spans->size(), 1u);
  const Span& s = (*spans)[0];
  EXPECT_EQ(s.trace_id, (TraceId{0x0102030405060708ull, 0x090a0b0c0d0e0f10ull}));  // hex
  EXPECT_EQ(s.span_id, SpanId{0x0102030405060708ull});                            // base64
  EXPECT_EQ(s.kind, SpanKind::kServer);
  EXPECT_EQ(s.status_code, StatusCode::kError);
  EXPECT_EQ(s.status_message, "bad");
  EXPECT_EQ(s.start_unix_nano, 5u);
  EXPECT_EQ(s.end_unix_nano, 9u);

  EXPECT_TRUE(DecodeTempoTraceV2("{}")->empty());
  EXPECT_TRUE(DecodeTempoTraceV2(R"({"trace":{},"metrics":{}})")->empty());
  auto partial = DecodeTempoTraceV2(R"({"trace":)" + resource_spans +
                                    R"(,"status":"PARTIAL","message":"Trace exceeds maximum size"})");
  ASSERT_FALSE(partial.ok());
  EXPECT_EQ(partial.error().message, "tempo returned a partial trace: Trace exceeds maximum size");
}

TEST(DecodeTempoTraceTest, MalformedAnswersAreRejectedWithAReason) {
  struct Case {
    bool v2;
    const char* body;
    const char* error;
  };
  const Case cases[] = {
      {false, "[]", "must be an object"},
      {false, R"({"batches":{}})", "batches"},
      {false, R"({"batches":[{"scopeSpans":[{"spans":[{"traceId":"AQI=","spanId":"AQIDBAUGBwg="}]}]}]})",
       "traceId"},
      {false, R"({"batches":[)", "unexpected end of input"},
      {true, R"({"trace":[]})", "must be an object"},
      {true, R"({"trace":{"resourceSpans":7}})", "trace.resourceSpans"},
      {true, "", "unexpected end of input"},
  };
  for (const Case& c : cases) {
    auto spans = c.v2 ? DecodeTempoTraceV2(c.body) : DecodeTempoTraceV1(c.body);
    ASSERT_FALSE(spans.ok()) << c.body;
    EXPECT_THAT(spans.error().message, HasSubstr(c.error)) << c.body;
  }
}

TEST(DecodeTempoSearchTest, KialiFixturesIncludingATrimmedId) {
  TRACERIG_SHARED_FIXTURE(bookinfo, "tempo_search_traceql_kiali_bookinfo.json");
  TRACERIG_SHARED_FIXTURE(ambient, "tempo_search_traceql_kiali_ambient.json");
  auto ids = DecodeTempoSearch(bookinfo);
  ASSERT_TRUE(ids.ok()) << ids.error().message;
  EXPECT_EQ(*ids, (std::vector<TraceId>{{0x100cb753c787ed56ull, 0x57c8d88dafc176edull}}));
  // 31 hex digits: Tempo dropped the leading zero.
  ids = DecodeTempoSearch(ambient);
  ASSERT_TRUE(ids.ok()) << ids.error().message;
  EXPECT_EQ(*ids, (std::vector<TraceId>{{0x02e299711ce47710ull, 0x289dc6640727404full}}));
}

TEST(DecodeTempoSearchTest, EmptyAndMalformed) {
  EXPECT_TRUE(DecodeTempoSearch(R"({"traces":[],"metrics":{}})")->empty());
  EXPECT_TRUE(DecodeTempoSearch(R"({"metrics":{"inspectedBytes":"0"}})")->empty());
  struct Case {
    const char* body;
    const char* error;
  };
  const Case cases[] = {
      {"[]", "expected an object with \"traces\""},
      {R"({"traces":{}})", "traces: must be an array"},
      {R"({"traces":[{"rootServiceName":"x"}]})", "traces[0]: has no string \"traceID\""},
      {R"({"traces":[{"traceID":"xyz"}]})", "traces[0].traceID: expected 1..32 hex digits"},
      {R"({"traces":[{"traceID":"000"}]})", "not all zero"},
      {R"({"traces":[)", "unexpected end of input"},
  };
  for (const Case& c : cases) {
    auto ids = DecodeTempoSearch(c.body);
    ASSERT_FALSE(ids.ok()) << c.body;
    EXPECT_THAT(ids.error().message, HasSubstr(c.error)) << c.body;
  }
}

TEST(TempoSearchQueryTest, QuotesAndEscapes) {
  EXPECT_EQ(TempoSearchQuery("cart", "tracerig.request_id", "r-1"),
            R"({ resource.service.name = "cart" && span."tracerig.request_id" = "r-1" })");
  EXPECT_EQ(TempoSearchQuery("a\"b", "k", "c\\d"),
            R"({ resource.service.name = "a\"b" && span."k" = "c\\d" })");
}

class TempoClientTest : public ::testing::Test {
 protected:
  TempoClientTest() {
    auto fetcher = std::make_unique<ScriptedFetcher>(&targets_);
    fetcher_ = fetcher.get();
    client_ = MakeTempoClient(std::move(fetcher), "http://127.0.0.1:3200");
  }
  std::vector<std::string> targets_;
  ScriptedFetcher* fetcher_ = nullptr;
  std::unique_ptr<BackendClient> client_;
};

constexpr TraceId kId{0, 0xabcd};
const std::string kIdHex = "0000000000000000000000000000abcd";
const std::string kV2 = "/api/v2/traces/" + kIdHex;
const std::string kV1 = "/api/traces/" + kIdHex;

std::string V1Trace(std::string_view trace_hex, std::string_view span_hex,
                    std::string_view request_id) {
  return std::string(R"({"batches":[{"resource":{"attributes":[{"key":"service.name","value":)"
                     R"({"stringValue":"cart"}}]},"scopeSpans":[{"spans":[{"traceId":")") +
         std::string(trace_hex) + R"(","spanId":")" + std::string(span_hex) +
         R"(","name":"get","kind":"SPAN_KIND_SERVER","attributes":[{"key":)"
         R"("tracerig.request_id","value":{"stringValue":")" +
         std::string(request_id) + R"("}}]}]}]}]})";
}

TEST_F(TempoClientTest, PrefersV2) {
  fetcher_->Answer(200, R"({"trace":{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":")" +
                            kIdHex + R"(","spanId":"0000000000000001","name":"x"}]}]}]}})");
  auto trace = client_->GetTrace(kId);
  ASSERT_TRUE(trace.ok()) << trace.error().message;
  ASSERT_TRUE(trace->has_value());
  EXPECT_EQ((**trace)[0].service_name, "unknown_service");
  EXPECT_EQ(targets_, std::vector<std::string>{kV2});
  EXPECT_EQ(client_->Describe(), "tempo at http://127.0.0.1:3200");
}

TEST_F(TempoClientTest, FallsBackToV1WhenTheV2EndpointIsMissingAndRemembers) {
  fetcher_->Answer(404, "404 page not found\n");
  fetcher_->Answer(200, V1Trace(kIdHex, "0000000000000001", "r"));
  fetcher_->Answer(404, "trace not found");
  auto trace = client_->GetTrace(kId);
  ASSERT_TRUE(trace.ok()) << trace.error().message;
  ASSERT_TRUE(trace->has_value());
  auto missing = client_->GetTrace(kId);
  ASSERT_TRUE(missing.ok()) << missing.error().message;
  EXPECT_FALSE(missing->has_value());
  EXPECT_EQ(targets_, (std::vector<std::string>{kV2, kV1, kV1}));
}

TEST_F(TempoClientTest, TraceNotFoundOnV2DoesNotFallBack) {
  for (const char* body : {"", "trace not found", R"({"error":"trace not found"})"}) {
    fetcher_->Answer(404, body);
    auto trace = client_->GetTrace(kId);
    ASSERT_TRUE(trace.ok()) << body << ": " << trace.error().message;
    EXPECT_FALSE(trace->has_value()) << body;
  }
  fetcher_->Answer(200, R"({"trace":{},"metrics":{"inspectedBytes":"12"}})");
  auto empty = client_->GetTrace(kId);
  ASSERT_TRUE(empty.ok()) << empty.error().message;
  EXPECT_FALSE(empty->has_value());
  EXPECT_EQ(targets_, (std::vector<std::string>{kV2, kV2, kV2, kV2}));
}

TEST_F(TempoClientTest, FailuresArePreciseErrorsNeverNotFound) {
  struct Case {
    std::vector<std::pair<unsigned, std::string>> answers;  // status 0: transport failure
    std::string error;
  };
  const std::vector<Case> cases = {
      {{{0, "request timed out after 10000 ms"}},
       "tempo at http://127.0.0.1:3200: GET " + kV2 + ": request timed out after 10000 ms"},
      {{{500, "querier unavailable"}},
       "tempo at http://127.0.0.1:3200: GET " + kV2 + " answered HTTP 500: querier unavailable"},
      {{{401, "no org id"}}, "answered HTTP 401: no org id"},
      {{{200, R"({"trace":{"resourceSpans":[)"}},
       "tempo at http://127.0.0.1:3200: GET " + kV2 + ": malformed answer: "},
      {{{200, "<html>"}}, ": malformed answer: "},
      {{{200, R"({"trace":{"resourceSpans":{}}})"}}, "malformed answer: trace.resourceSpans"},
      // Neither endpoint exists: not Tempo at all.
      {{{404, "404 page not found"}, {404, "404 page not found"}},
       "tempo at http://127.0.0.1:3200: GET " + kV1 +
           " answered 404 for the endpoint itself (404 page not found): no Tempo query API there "
           "(is it Tempo, port 3200?)"},
  };
  for (const Case& c : cases) {
    auto fetcher = std::make_unique<ScriptedFetcher>(&targets_);
    for (const auto& [status, body] : c.answers) {
      if (status == 0) {
        fetcher->Fail(body);
      } else {
        fetcher->Answer(status, body);
      }
    }
    auto client = MakeTempoClient(std::move(fetcher), "http://127.0.0.1:3200");
    auto trace = client->GetTrace(kId);
    ASSERT_FALSE(trace.ok()) << c.error;
    EXPECT_THAT(trace.error().message, HasSubstr(c.error));
  }
}

TEST_F(TempoClientTest, FindSpansSearchesWithTraceQlThenFetchesEachTrace) {
  const std::string other_hex = "00000000000000000000000000000def";
  fetcher_->Answer(200, R"({"traces":[{"traceID":"abcd","rootServiceName":"cart"},)"
                        R"({"traceID":"def"},{"traceID":"0abcd"}]})");
  // The v2 form of the same trace: {"trace":{"resourceSpans":[...]}}.
  const std::string v1 = V1Trace(kIdHex, "0000000000000001", "r-1");
  fetcher_->Answer(200, R"({"trace":{"resourceSpans":)" + v1.substr(11) + "}");
  fetcher_->Answer(404, "");  // found by search, not yet by id: skipped
  auto spans = client_->FindSpans("cart", "tracerig.request_id", "r-1", 1'700'000'000'500'000,
                                  1'700'000'060'000'001);
  ASSERT_TRUE(spans.ok()) << spans.error().message;
  ASSERT_EQ(spans->size(), 1u);
  EXPECT_EQ((*spans)[0].span_id, SpanId{1});
  ASSERT_EQ(targets_.size(), 3u);  // the repeated id (0abcd == abcd) is fetched once
  EXPECT_EQ(targets_[0],
            "/api/search?q=%7B%20resource.service.name%20%3D%20%22cart%22%20%26%26%20span."
            "%22tracerig.request_id%22%20%3D%20%22r-1%22%20%7D&start=1700000000&end=1700000061"
            "&limit=100");
  EXPECT_EQ(targets_[1], kV2);
  EXPECT_EQ(targets_[2], "/api/v2/traces/" + other_hex);
}

TEST_F(TempoClientTest, FindSpansErrors) {
  struct Case {
    std::vector<std::pair<unsigned, std::string>> answers;
    std::string error;
  };
  const std::vector<Case> cases = {
      {{{0, "connection refused"}}, ": connection refused"},
      {{{400, "invalid TraceQL query"}}, "answered HTTP 400: invalid TraceQL query"},
      {{{404, "404 page not found"}}, "answered 404 for the endpoint itself"},
      {{{200, R"({"traces":[)"}}, "malformed answer: "},
      // The search works but fetching a found trace fails: that failure, not "no spans".
      {{{200, R"({"traces":[{"traceID":"abcd"}]})"}, {503, "slow down"}},
       "answered HTTP 503: slow down"},
  };
  for (const Case& c : cases) {
    auto fetcher = std::make_unique<ScriptedFetcher>(&targets_);
    for (const auto& [status, body] : c.answers) {
      if (status == 0) {
        fetcher->Fail(body);
      } else {
        fetcher->Answer(status, body);
      }
    }
    auto client = MakeTempoClient(std::move(fetcher), "http://127.0.0.1:3200");
    auto spans = client->FindSpans("cart", "k", "v", 0, 1);
    ASSERT_FALSE(spans.ok()) << c.error;
    EXPECT_THAT(spans.error().message, HasSubstr(c.error));
  }
}

}  // namespace
}  // namespace tracerig
