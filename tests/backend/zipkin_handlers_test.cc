// HandleZipkinIngest and HandleZipkinQuery: every route and status path, the exact error texts,
// search and dependency semantics, and a real Zipkin payload (shared fixture) in and out.
#include "backend/zipkin_handlers.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "export/gzip.h"
#include "export/zipkin_codec.h"
#include "test_spans.h"
#include "tests/support/fixtures.h"

namespace tracerig {
namespace {

using nlohmann::json;
using testing::MakeSpan;

constexpr uint64_t kT0 = 1'700'000'000'000'000'000ull;  // 1700000000000 ms
constexpr uint64_t kNow = kT0 + 60'000'000'000ull;      // a minute later
constexpr std::string_view kJson = "application/json";

// ---------------------------------------------------------------------------------------------
// Ingest

class ZipkinIngestTest : public ::testing::Test {
 protected:
  HttpResponseData Post(std::string_view body, std::string_view content_type = kJson,
                        std::string_view encoding = "", std::string_view target = "/api/v2/spans",
                        std::string_view method = "POST") {
    return HandleZipkinIngest(store_, counters_,
                              HttpRequestView{method, target, content_type, encoding, body},
                              limits_, 42);
  }

  SpanStore store_{1000};
  IngestCounters counters_;
  IngestLimits limits_{4096};
};

const std::vector<Span>& SampleSpans() {
  static const std::vector<Span> spans = [] {
    Span root = MakeSpan(0x1111, 1, "frontend", "GET /cart");
    Span child = MakeSpan(0x1111, 2, "cart", "GetCart");
    child.parent_span_id = SpanId{1};
    return std::vector<Span>{root, child};
  }();
  return spans;
}

TEST_F(ZipkinIngestTest, AcceptsJsonWith202AndStoresEverySpan) {
  HttpResponseData r = Post(EncodeZipkinJson(SampleSpans()), "Application/JSON; charset=utf-8");
  EXPECT_EQ(r.status, 202u);
  EXPECT_EQ(r.body, "");
  EXPECT_EQ(counters_.requests.load(), 1u);
  EXPECT_EQ(counters_.requests_rejected.load(), 0u);
  EXPECT_EQ(counters_.spans_accepted.load(), 2u);
  auto trace = store_.GetTrace(TraceId{0, 0x1111});
  ASSERT_TRUE(trace);
  ASSERT_EQ(trace->spans.size(), 2u);
  EXPECT_EQ(trace->spans[1].parent_span_id, SpanId{1});
  EXPECT_EQ(trace->spans[1].service_name, "cart");
  EXPECT_EQ(trace->first_arrival_unix_nano, 42u);

  EXPECT_EQ(
      Post(GzipCompress(EncodeZipkinJson({MakeSpan(0x2222, 3, "a", "b")})), kJson, "gzip").status,
      202u);
  EXPECT_EQ(Post("[]", kJson, "identity").status, 202u);
  EXPECT_EQ(counters_.spans_accepted.load(), 3u);
  EXPECT_EQ(counters_.requests.load(), 3u);
}

TEST_F(ZipkinIngestTest, EveryRejectionHasItsStatusReasonAndCounter) {
  std::string bomb = GzipCompress(std::string(1 << 20, '['));
  struct Row {
    std::string_view name;
    HttpResponseData response;
    unsigned status;
    std::string body;
    const std::atomic<uint64_t>* counter;
  };
  const std::string huge(5000, ' ');
  const Row rows[] = {
      {"other path", Post("[]", kJson, "", "/api/v1/spans"), 404,
       R"(no Zipkin endpoint at "/api/v1/spans"; spans go to /api/v2/spans)",
       &counters_.rejected_not_found},
      {"other method", Post("[]", kJson, "", "/api/v2/spans", "PUT"), 405,
       R"(/api/v2/spans accepts POST, not "PUT")", &counters_.rejected_method},
      {"text", Post("[]", "text/plain"), 415,
       R"(unsupported content type "text/plain"; use application/json)",
       &counters_.rejected_unsupported_media},
      {"no content type", Post("[]", ""), 415,
       R"(unsupported content type ""; use application/json)",
       &counters_.rejected_unsupported_media},
      {"protobuf", Post("\x0a\x00", "application/x-protobuf"), 415,
       "Zipkin's protobuf encoding is not supported; send Zipkin v2 JSON as application/json",
       &counters_.rejected_unsupported_media},
      {"brotli", Post("[]", kJson, "br"), 415,
       R"(unsupported content encoding "br"; use gzip or none)",
       &counters_.rejected_unsupported_media},
      {"too large", Post(huge), 413, "request body of 5000 bytes exceeds the limit of 4096",
       &counters_.rejected_too_large},
      {"gzip bomb", Post(bomb, kJson, "gzip"), 413,
       "gzip body decompresses to more than 4096 bytes", &counters_.rejected_too_large},
      {"corrupt gzip", Post("not gzip", kJson, "gzip"), 400,
       "cannot decompress gzip body: gzip: corrupt input: incorrect header check",
       &counters_.rejected_bad_data},
      {"not JSON", Post("{spans}"), 400,
       "cannot decode Zipkin v2 JSON: invalid JSON: parse error at line 1, column 2: syntax error "
       "while parsing object key - invalid literal; last read: '{s'; expected string literal",
       &counters_.rejected_bad_data},
      {"bad span", Post(R"([{"traceId":"1","id":"2"},{"traceId":"1"}])"), 400,
       "cannot decode Zipkin v2 JSON: spans[1]: id is required", &counters_.rejected_bad_data},
  };
  uint64_t rejected = 0;
  for (const Row& row : rows) {
    SCOPED_TRACE(row.name);
    EXPECT_EQ(row.response.status, row.status);
    EXPECT_EQ(row.response.body, row.body);
    EXPECT_EQ(row.response.content_type, "text/plain; charset=utf-8");
    ++rejected;
  }
  EXPECT_EQ(counters_.requests.load(), rejected);
  EXPECT_EQ(counters_.requests_rejected.load(), rejected);
  EXPECT_EQ(counters_.rejected_not_found.load(), 1u);
  EXPECT_EQ(counters_.rejected_method.load(), 1u);
  EXPECT_EQ(counters_.rejected_unsupported_media.load(), 4u);
  EXPECT_EQ(counters_.rejected_too_large.load(), 2u);
  EXPECT_EQ(counters_.rejected_bad_data.load(), 3u);
  EXPECT_EQ(counters_.spans_accepted.load(), 0u);
  // A request with one bad span stores none of them.
  EXPECT_EQ(store_.stats().spans_received, 0u);
}

// ---------------------------------------------------------------------------------------------
// Query

class ZipkinQueryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Span root = MakeSpan(0xabc, 1, "Frontend", "GET /Cart", kT0, 3'000'000,
                         {{"http.status_code", int64_t{200}}});
    Span child = MakeSpan(0xabc, 2, "cart service", "GetCart", kT0 + 1'000'000, 1'000'000,
                          {{"tracerig.request_id", std::string("00000000000000aa")}});
    child.parent_span_id = SpanId{1};
    store_.Add({root, child}, 1);
    Span failed = MakeSpan(0xdef, 3, "frontend", "GET /checkout", kT0 + 10'000'000, 9'000'000,
                           {{"http.status_code", int64_t{500}}});
    failed.trace_id.high = 0x1234;
    failed.status_code = StatusCode::kError;
    failed.status_message = "payment declined";
    Span charge = MakeSpan(0xdef, 4, "payment", "Charge", kT0 + 11'000'000, 2'000'000);
    charge.trace_id.high = 0x1234;
    charge.parent_span_id = SpanId{3};
    charge.status_code = StatusCode::kError;
    charge.events = {SpanEvent{kT0 + 12'000'000, "retry", {}}};
    store_.Add({failed, charge}, 2);
  }

  HttpResponseData Get(std::string_view target, std::string_view method = "GET",
                       uint64_t now = kNow) {
    return HandleZipkinQuery(store_, HttpRequestView{method, target, "", "", ""}, now);
  }

  // The trace ids of a search response, in order.
  std::vector<std::string> SearchIds(std::string_view target, uint64_t now = kNow) {
    HttpResponseData r = Get(target, "GET", now);
    EXPECT_EQ(r.status, 200u) << target << ": " << r.body;
    std::vector<std::string> ids;
    for (const auto& trace : json::parse(r.body)) ids.push_back(trace[0]["traceId"]);
    return ids;
  }

  SpanStore store_{1000};
};

const std::string kTraceA = "0000000000000abc";
const std::string kTraceB = "00000000000012340000000000000def";

TEST_F(ZipkinQueryTest, GetTraceAnswersZipkinSpans) {
  HttpResponseData r = Get("/api/v2/trace/0000000000000abc");
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_EQ(r.body,
            R"([{"traceId":"0000000000000abc","id":"0000000000000001","kind":"SERVER",)"
            R"("name":"get /cart","timestamp":1700000000000000,"duration":3000,)"
            R"("localEndpoint":{"serviceName":"frontend"},"tags":{"http.status_code":"200"}},)"
            R"({"traceId":"0000000000000abc","parentId":"0000000000000001",)"
            R"("id":"0000000000000002","kind":"SERVER","name":"getcart",)"
            R"("timestamp":1700000000001000,"duration":1000,)"
            R"("localEndpoint":{"serviceName":"cart service"},)"
            R"("tags":{"tracerig.request_id":"00000000000000aa"}}])");
  for (std::string_view target : {"/api/v2/trace/abc", "/api/v2/trace/ABC",
                                  "/api/v2/trace/00000000000000000000000000000abc"}) {
    EXPECT_EQ(Get(target).body, r.body) << target;
  }
  HttpResponseData b = Get("/api/v2/trace/12340000000000000def");
  EXPECT_EQ(b.status, 200u);
  EXPECT_EQ(json::parse(b.body)[1]["traceId"], kTraceB);
  EXPECT_EQ(json::parse(b.body)[1]["tags"]["error"], "");
  EXPECT_EQ(json::parse(b.body)[0]["tags"]["error"], "payment declined");
}

TEST_F(ZipkinQueryTest, GetTraceErrors) {
  struct Row {
    std::string_view target;
    unsigned status;
    std::string_view body;
  };
  const Row rows[] = {
      {"/api/v2/trace/00000000000000ff", 404, "00000000000000ff not found"},
      {"/api/v2/trace/xyz", 400, R"(traceId should be 1 to 32 hex characters, got "xyz")"},
      {"/api/v2/trace/000000000000000000000000000000abc", 400,
       R"(traceId should be 1 to 32 hex characters, got "000000000000000000000000000000abc")"},
      {"/api/v2/trace/%zz", 400, R"(invalid URL escape "%zz")"},
  };
  for (const Row& row : rows) {
    HttpResponseData r = Get(row.target);
    EXPECT_EQ(r.status, row.status) << row.target;
    EXPECT_EQ(r.body, row.body) << row.target;
  }
}

TEST_F(ZipkinQueryTest, SearchFilters) {
  const std::vector<std::string> both = {kTraceB, kTraceA};  // newest first
  const std::vector<std::string> a = {kTraceA};
  const std::vector<std::string> b = {kTraceB};
  const std::vector<std::string> none;
  struct Row {
    std::string_view target;
    const std::vector<std::string>* ids;
  };
  const Row rows[] = {
      {"/api/v2/traces", &both},
      {"/api/v2/traces?serviceName=frontend", &both},
      {"/api/v2/traces?serviceName=FRONTEND", &both},
      {"/api/v2/traces?serviceName=cart%20service", &a},
      {"/api/v2/traces?serviceName=payment", &b},
      {"/api/v2/traces?serviceName=nobody", &none},
      {"/api/v2/traces?spanName=get%20%2Fcart", &a},
      {"/api/v2/traces?spanName=all", &both},
      {"/api/v2/traces?spanName=charge", &b},
      // Conditions hold on the spans of serviceName: Charge is payment's, not frontend's.
      {"/api/v2/traces?serviceName=frontend&spanName=charge", &none},
      {"/api/v2/traces?annotationQuery=error", &b},
      {"/api/v2/traces?annotationQuery=retry", &b},  // an annotation value
      {"/api/v2/traces?annotationQuery=http.status_code%3D200", &a},
      {"/api/v2/traces?annotationQuery=error%3Dpayment+declined", &b},
      {"/api/v2/traces?annotationQuery=otel.status_code%3DERROR", &b},
      {"/api/v2/"
       "traces?annotationQuery=http.status_code%3D200+and+tracerig.request_id%3D00000000000000aa",
       &a},
      {"/api/v2/traces?serviceName=frontend&annotationQuery=tracerig.request_id", &none},
      {"/api/v2/traces?minDuration=5000", &b},
      {"/api/v2/traces?minDuration=1000&maxDuration=2000", &both},
      {"/api/v2/traces?minDuration=9500", &none},
      {"/api/v2/traces?limit=1", &b},
      // endTs/lookback in ms: trace A is at 1700000000000, B at 1700000000010.
      {"/api/v2/traces?endTs=1700000000005&lookback=10", &a},
      {"/api/v2/traces?endTs=1700000000000&lookback=1", &a},
      {"/api/v2/traces?endTs=1700000000010&lookback=5", &b},
      {"/api/v2/traces?endTs=1699999999999", &none},
  };
  for (const Row& row : rows) EXPECT_EQ(SearchIds(row.target), *row.ids) << row.target;
  // Without endTs the window ends now and looks back one day.
  EXPECT_EQ(SearchIds("/api/v2/traces", kT0 + 86'400'000'000'000ull), both);
  EXPECT_EQ(SearchIds("/api/v2/traces", kT0 + 86'400'000'000'001ull), b);
  EXPECT_EQ(SearchIds("/api/v2/traces", kT0 + 86'400'010'000'001ull), none);
}

TEST_F(ZipkinQueryTest, SearchAnswersTracesAsListsOfSpans) {
  HttpResponseData r = Get("/api/v2/traces?serviceName=cart+service");
  EXPECT_EQ(r.status, 200u);
  auto trace = store_.GetTrace(TraceId{0, 0xabc});
  ASSERT_TRUE(trace);
  EXPECT_EQ(r.body, "[" + EncodeZipkinJson(trace->spans, ZipkinJsonStyle::kServer) + "]");
  EXPECT_EQ(Get("/api/v2/traces?serviceName=nobody").body, "[]");
}

TEST_F(ZipkinQueryTest, SearchErrors) {
  struct Row {
    std::string_view target;
    std::string_view message;
  };
  const Row rows[] = {
      {"/api/v2/traces?endTs=0", "endTs must be greater than 0"},
      {"/api/v2/traces?endTs=yesterday",
       R"(endTs must be a non-negative whole number of milliseconds since the epoch, got "yesterday")"},
      {"/api/v2/traces?lookback=0", "lookback must be greater than 0"},
      {"/api/v2/traces?lookback=-5",
       R"(lookback must be a non-negative whole number of milliseconds, got "-5")"},
      {"/api/v2/traces?limit=0", "limit must be greater than 0"},
      {"/api/v2/traces?limit=ten", R"(limit must be a non-negative whole number, got "ten")"},
      {"/api/v2/traces?minDuration=1.5",
       R"(minDuration must be a non-negative whole number of microseconds, got "1.5")"},
      {"/api/v2/traces?maxDuration=5", "maxDuration is only valid with minDuration"},
      {"/api/v2/traces?minDuration=5&maxDuration=4", "maxDuration must be at least minDuration"},
      {"/api/v2/traces?serviceName=%zz", R"(invalid URL escape "%zz")"},
  };
  for (const Row& row : rows) {
    HttpResponseData r = Get(row.target);
    EXPECT_EQ(r.status, 400u) << row.target;
    EXPECT_EQ(r.body, row.message) << row.target;
    EXPECT_EQ(r.content_type, "text/plain; charset=utf-8");
  }
}

TEST_F(ZipkinQueryTest, ServicesAndSpanNamesAreLowercasedAndSorted) {
  EXPECT_EQ(Get("/api/v2/services").body, R"(["cart service","frontend","payment"])");
  EXPECT_EQ(Get("/api/v2/spans?serviceName=Frontend").body, R"(["get /cart","get /checkout"])");
  EXPECT_EQ(Get("/api/v2/spans?serviceName=payment").body, R"(["charge"])");
  EXPECT_EQ(Get("/api/v2/spans?serviceName=nobody").body, "[]");
  HttpResponseData missing = Get("/api/v2/spans");
  EXPECT_EQ(missing.status, 400u);
  EXPECT_EQ(missing.body, "serviceName is required");
  SpanStore empty(10);
  EXPECT_EQ(
      HandleZipkinQuery(empty, HttpRequestView{"GET", "/api/v2/services", "", "", ""}, kNow).body,
      "[]");
}

TEST_F(ZipkinQueryTest, DependenciesLinkParentAndChildServices) {
  HttpResponseData r = Get("/api/v2/dependencies?endTs=1700000060000");
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_EQ(r.body, R"([{"parent":"frontend","child":"cart service","callCount":1},)"
                    R"({"parent":"frontend","child":"payment","callCount":1,"errorCount":1}])");
  EXPECT_EQ(Get("/api/v2/dependencies?endTs=1700000000005&lookback=5").body,
            R"([{"parent":"frontend","child":"cart service","callCount":1}])");
  EXPECT_EQ(Get("/api/v2/dependencies?endTs=1600000000000").body, "[]");
  HttpResponseData missing = Get("/api/v2/dependencies?lookback=5");
  EXPECT_EQ(missing.status, 400u);
  EXPECT_EQ(missing.body, "endTs is required (milliseconds since the epoch)");
  EXPECT_EQ(Get("/api/v2/dependencies?endTs=x").status, 400u);
}

TEST_F(ZipkinQueryTest, UnknownPathsAndMethods) {
  for (std::string_view target : {"/", "/api/v2", "/api/v2/trace/", "/api/v2/trace/abc/extra",
                                  "/api/v2/traceMany", "/api/traces", "/zipkin/api/v2/services"}) {
    HttpResponseData r = Get(target);
    EXPECT_EQ(r.status, 404u) << target;
    EXPECT_EQ(r.body.rfind("no Zipkin query endpoint at", 0), 0u) << target;
  }
  for (std::string_view target : {"/api/v2/trace/abc", "/api/v2/traces", "/api/v2/services",
                                  "/api/v2/spans", "/api/v2/dependencies"}) {
    HttpResponseData r = Get(target, "DELETE");
    EXPECT_EQ(r.status, 405u) << target;
    EXPECT_EQ(r.body, std::string(target) + " accepts GET, not \"DELETE\"") << target;
  }
}

// No target crashes the handler; every answer is one of the documented statuses.
TEST_F(ZipkinQueryTest, SurvivesArbitraryTargets) {
  uint64_t x = 12345;  // fixed-seed LCG
  const std::string alphabet = "/api/v2/traces?serviceName=&endTs=%+0123456789abcdefxyz\xff";
  for (int i = 0; i < 2000; ++i) {
    std::string target = i % 2 ? "/api/v2/traces?" : "/api/v2/";
    const size_t length = (x >> 33) % 40;
    for (size_t j = 0; j < length; ++j) {
      x = x * 6364136223846793005ull + 1442695040888963407ull;
      target.push_back(alphabet[(x >> 33) % alphabet.size()]);
    }
    HttpResponseData r = Get(target);
    EXPECT_TRUE(r.status == 200 || r.status == 400 || r.status == 404) << target;
    if (r.status == 200) {
      EXPECT_FALSE(json::parse(r.body, nullptr, false).is_discarded()) << target;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// A real payload in and out.

TEST(ZipkinFixtureRoundTripTest, YelpTraceIsQueryableAndLinked) {
  TRACERIG_SHARED_FIXTURE(text, "zipkin_v2_yelp.json");
  SpanStore store(1000);
  IngestCounters counters;
  HttpResponseData posted =
      HandleZipkinIngest(store, counters, HttpRequestView{"POST", "/api/v2/spans", kJson, "", text},
                         IngestLimits{}, 1);
  ASSERT_EQ(posted.status, 202u) << posted.body;
  EXPECT_EQ(counters.spans_accepted.load(), 16u);

  const uint64_t now = 1'571'896'376'000'000'000ull;
  auto get = [&](std::string_view target) {
    return HandleZipkinQuery(store, HttpRequestView{"GET", target, "", "", ""}, now);
  };
  HttpResponseData trace = get("/api/v2/trace/a03ee8fff1dcd9b9");
  ASSERT_EQ(trace.status, 200u);
  json spans = json::parse(trace.body);
  ASSERT_EQ(spans.size(), 16u);
  // What went in comes out, in the order it arrived. Endpoint ports and the shared flag have no
  // place in tracerig's spans; a remoteEndpoint comes back as a peer.service tag.
  json original = json::parse(text);
  for (size_t i = 0; i < spans.size(); ++i) {
    SCOPED_TRACE(i);
    for (const char* key :
         {"traceId", "parentId", "id", "kind", "name", "timestamp", "duration", "annotations"}) {
      EXPECT_EQ(spans[i].value(key, json()), original[i].value(key, json())) << key;
    }
    EXPECT_EQ(spans[i]["localEndpoint"]["serviceName"],
              original[i]["localEndpoint"]["serviceName"]);
    json tags = spans[i]["tags"];
    if (original[i].contains("remoteEndpoint")) {
      EXPECT_EQ(tags["peer.service"], original[i]["remoteEndpoint"]["serviceName"]);
      tags.erase("peer.service");
    }
    EXPECT_EQ(tags, original[i]["tags"]);
  }
  EXPECT_EQ(get("/api/v2/services").body,
            R"(["mobile_api","routing","spectre","unknown","yelp-main","yelp_main/api_proxy"])");
  EXPECT_EQ(json::parse(get("/api/v2/traces?serviceName=spectre").body).size(), 1u);
  EXPECT_EQ(json::parse(get("/api/v2/traces?annotationQuery=py_zipkin.logging_end").body).size(),
            1u);
  EXPECT_EQ(get("/api/v2/dependencies?endTs=1571896376000&lookback=10000").body,
            R"([{"parent":"mobile_api","child":"spectre","callCount":1},)"
            R"({"parent":"routing","child":"mobile_api","callCount":1},)"
            R"({"parent":"routing","child":"unknown","callCount":1},)"
            R"({"parent":"routing","child":"yelp-main","callCount":1},)"
            R"({"parent":"routing","child":"yelp_main/api_proxy","callCount":1},)"
            R"({"parent":"yelp_main/api_proxy","child":"yelp-main","callCount":2}])");
}

}  // namespace
}  // namespace tracerig
