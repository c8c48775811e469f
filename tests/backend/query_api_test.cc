// Jaeger API v3, /api/tracerig/stats and /api/tracerig/traces on the query port: routes,
// parameters, error envelopes.
#include "backend/query_api.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "export/otlp_codec.h"
#include "test_spans.h"
#include "tests/support/fixtures.h"

namespace tracerig {
namespace {

using nlohmann::json;
using testing::MakeSpan;

constexpr uint64_t kT0 = 1'700'000'000'000'000'000ull;  // 2023-11-14T22:13:20Z

struct TimeCase {
  std::string_view text;
  std::optional<uint64_t> nanos;  // nullopt: an error
};

TEST(ParseRfc3339NanosTest, Table) {
  const TimeCase cases[] = {
      {"2023-11-14T22:13:20Z", kT0},
      {"2023-11-14t22:13:20z", kT0},
      {"2023-11-14T22:13:20.5Z", kT0 + 500'000'000},
      {"2023-11-14T22:13:20.000000001Z", kT0 + 1},
      {"2023-11-14T22:13:20.0000000019Z", kT0 + 1},  // beyond ns: truncated, as Go does
      {"2023-11-14T23:13:20+01:00", kT0},
      {"2023-11-14T21:43:20-00:30", kT0},
      {"1970-01-01T00:00:00Z", 0},
      {"2024-02-29T00:00:00Z", 1'709'164'800'000'000'000ull},
      {"2023-11-14T22:13:20", std::nullopt},     // no zone
      {"2023-11-14 22:13:20Z", std::nullopt},    // space for T
      {"2023-13-14T22:13:20Z", std::nullopt},    // month 13
      {"2023-11-31T22:13:20Z", std::nullopt},    // November 31st
      {"2023-11-14T24:00:00Z", std::nullopt},
      {"2023-11-14T22:13:20.Z", std::nullopt},   // empty fraction
      {"2023-11-14T22:13:20+0100", std::nullopt},
      {"2023-11-14T22:13:20Zjunk", std::nullopt},
      {"1969-12-31T23:59:59Z", std::nullopt},
      {"", std::nullopt},
      {"1700000000", std::nullopt},
  };
  for (const auto& c : cases) {
    auto got = ParseRfc3339Nanos(c.text);
    if (c.nanos) {
      ASSERT_TRUE(got) << c.text << ": " << got.error().message;
      EXPECT_EQ(*got, *c.nanos) << c.text;
    } else {
      ASSERT_FALSE(got) << c.text << " parsed as " << *got;
      EXPECT_NE(got.error().message.find(std::string(c.text)), std::string::npos)
          << got.error().message;
    }
  }
}

class JaegerV3Test : public ::testing::Test {
 protected:
  void SetUp() override {
    Span root = MakeSpan(0xabc, 1, "frontend", "GET /cart", kT0, 3'000'000,
                         {{"tracerig.request_id", std::string("00000000000000aa")}});
    Span child = MakeSpan(0xabc, 2, "cart", "GetCart", kT0 + 1000, 1'000'000);
    child.parent_span_id = SpanId{1};
    child.kind = SpanKind::kClient;
    store_.Add({root, child}, 1);
    Span later = MakeSpan(0xdef, 3, "frontend", "GET /checkout", kT0 + 60'000'000'000ull,
                          9'000'000, {{"tracerig.request_id", std::string("00000000000000bb")}});
    later.trace_id.high = 0x1234;
    store_.Add({later}, 2);
  }

  HttpResponseData Get(std::string_view target, std::string_view method = "GET") {
    return HandleQueryPort(store_, {}, HttpRequestView{method, target, "", "", ""});
  }

  // The spans of a 200 answer, decoded back from its OTLP JSON result.
  std::vector<Span> Spans(const HttpResponseData& r) {
    EXPECT_EQ(r.status, 200u) << r.body;
    EXPECT_EQ(r.content_type, "application/json");
    json body = json::parse(r.body);
    auto spans = DecodeOtlpJsonResourceSpans(body["result"]["resourceSpans"], "result");
    EXPECT_TRUE(spans) << spans.error().message;
    return spans ? *spans : std::vector<Span>{};
  }

  // The error envelope's message, after checking its status and shape.
  std::string ErrorMessage(const HttpResponseData& r, unsigned status) {
    EXPECT_EQ(r.status, status) << r.body;
    json body = json::parse(r.body);
    EXPECT_EQ(body["error"]["httpCode"], status);
    return body["error"]["message"].get<std::string>();
  }

  SpanStore store_{1000};
};

TEST_F(JaegerV3Test, GetTraceReturnsTheStoredSpans) {
  auto spans = Spans(Get("/api/v3/traces/0000000000000abc"));
  ASSERT_EQ(spans.size(), 2u);
  EXPECT_EQ(spans[0].span_id, SpanId{1});
  EXPECT_EQ(spans[1].parent_span_id, SpanId{1});
  EXPECT_EQ(spans[1].service_name, "cart");
  EXPECT_EQ(spans[1].kind, SpanKind::kClient);
  // 128-bit ids work in either length.
  EXPECT_EQ(Spans(Get("/api/v3/traces/00000000000012340000000000000def")).size(), 1u);
  EXPECT_EQ(Spans(Get("/api/v3/traces/abc")).size(), 2u);
}

TEST_F(JaegerV3Test, GetTraceErrors) {
  EXPECT_EQ(ErrorMessage(Get("/api/v3/traces/0000000000000999"), 404), "trace not found");
  EXPECT_EQ(ErrorMessage(Get("/api/v3/traces/xyz"), 400),
            "malformed parameter trace_id: strconv.ParseUint: parsing \"xyz\": invalid syntax");
  EXPECT_EQ(ErrorMessage(Get("/api/v3/traces/abc", "POST"), 405), "method not allowed");
  EXPECT_EQ(ErrorMessage(Get("/api/v3/nothing"), 404), "404 page not found");
}

TEST_F(JaegerV3Test, FindTracesByServiceTimeAndAttributes) {
  const std::string window =
      "query.start_time_min=2023-11-14T22:00:00Z&query.start_time_max=2023-11-14T23:00:00Z";
  EXPECT_EQ(Spans(Get("/api/v3/traces?query.service_name=frontend&" + window)).size(), 3u);
  EXPECT_EQ(Spans(Get("/api/v3/traces?query.service_name=cart&" + window)).size(), 2u);
  // The attribute filter, as a JSON object (URL-encoded as clients send it).
  auto by_request = Spans(Get(
      "/api/v3/traces?query.service_name=frontend&" + window +
      "&query.attributes=%7B%22tracerig.request_id%22%3A%2200000000000000bb%22%7D"));
  ASSERT_EQ(by_request.size(), 1u);
  EXPECT_EQ(by_request[0].span_id, SpanId{3});
  // The time window excludes the later trace.
  EXPECT_EQ(Spans(Get("/api/v3/traces?query.service_name=frontend&query.start_time_min="
                      "2023-11-14T22:00:00Z&query.start_time_max=2023-11-14T22:13:30Z"))
                .size(),
            2u);
  // num_traces bounds the number of traces (newest first).
  auto one = Spans(Get("/api/v3/traces?query.service_name=frontend&query.num_traces=1&" + window));
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0].span_id, SpanId{3});
  // Durations filter on span duration.
  EXPECT_EQ(Spans(Get("/api/v3/traces?query.service_name=frontend&query.duration_min=5ms&" +
                      window))
                .size(),
            1u);
  EXPECT_TRUE(Spans(Get("/api/v3/traces?query.service_name=nobody&" + window)).empty());
}

TEST_F(JaegerV3Test, FindTracesParameterErrors) {
  const std::string window =
      "&query.start_time_min=2023-11-14T22:00:00Z&query.start_time_max=2023-11-14T23:00:00Z";
  struct Case {
    std::string target;
    std::string message;
  };
  const Case cases[] = {
      {"/api/v3/traces?query.service_name=frontend",
       "query.start_time_min and query.start_time_max are required"},
      {"/api/v3/traces?query.service_name=frontend&query.start_time_min=yesterday"
       "&query.start_time_max=2023-11-14T23:00:00Z",
       "malformed parameter query.start_time_min: \"yesterday\" is not an RFC 3339 time "
       "(expected YYYY-MM-DDTHH:MM:SS)"},
      {"/api/v3/traces?query.service_name=frontend&query.num_traces=ten" + window,
       "malformed parameter query.num_traces: \"ten\" is not an integer"},
      {"/api/v3/traces?query.service_name=frontend&query.duration_min=fast" + window,
       "malformed parameter query.duration_min: invalid duration \"fast\""},
      {"/api/v3/traces?query.service_name=frontend&query.attributes=%5B1%5D" + window,
       "malformed parameter query.attributes: [1] is not a JSON object"},
      {"/api/v3/traces?query.service_name=frontend&query.attributes=%7B%22a%22%3A1%7D" + window,
       "malformed parameter query.attributes: value of \"a\" is not a string"},
  };
  for (const auto& c : cases) EXPECT_EQ(ErrorMessage(Get(c.target), 400), c.message) << c.target;
}

TEST_F(JaegerV3Test, ServicesAndOperations) {
  HttpResponseData services = Get("/api/v3/services");
  ASSERT_EQ(services.status, 200u);
  EXPECT_EQ(json::parse(services.body), json::parse(R"({"services":["cart","frontend"]})"));
  HttpResponseData ops = Get("/api/v3/operations?service=frontend");
  ASSERT_EQ(ops.status, 200u);
  EXPECT_EQ(json::parse(ops.body),
            json::parse(R"({"operations":[{"name":"GET /cart"},{"name":"GET /checkout"}]})"));
}

TEST_F(JaegerV3Test, V1StillAnswersOnTheSamePort) {
  HttpResponseData v1 = Get("/api/traces/0000000000000abc");
  ASSERT_EQ(v1.status, 200u);
  EXPECT_EQ(json::parse(v1.body)["data"][0]["spans"].size(), 2u);
}

// GET /api/tracerig/traces: the verifier's batch poll (OTLP protobuf), reusing the v3 fixture's
// store (0abc: two spans, 1234...0def: one span).
TEST_F(JaegerV3Test, TracerigTracesAnswersTheKnownIdsAsOtlpProtobuf) {
  struct Case {
    std::string target;
    std::vector<uint64_t> span_ids;  // of the decoded answer, in order
  };
  const std::vector<Case> cases = {
      {"/api/tracerig/traces?ids=0000000000000abc,00000000000012340000000000000def", {1, 2, 3}},
      {"/api/tracerig/traces?ids=abc", {1, 2}},
      // Unknown ids are simply absent; none known is an empty (valid) request body.
      {"/api/tracerig/traces?ids=fff,00000000000012340000000000000def,eee", {3}},
      {"/api/tracerig/traces?ids=fff", {}},
      // Repeated parameter; a repeated id is answered once.
      {"/api/tracerig/traces?ids=abc&ids=abc,1234%30000000000000def", {1, 2, 3}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.target);
    HttpResponseData r = Get(c.target);
    ASSERT_EQ(r.status, 200u) << r.body;
    EXPECT_EQ(r.content_type, "application/x-protobuf");
    auto spans = DecodeOtlpProtobuf(r.body);
    ASSERT_TRUE(spans.ok()) << spans.error().message;
    std::vector<uint64_t> ids;
    for (const Span& span : *spans) ids.push_back(span.span_id.value);
    std::sort(ids.begin(), ids.end());  // grouped by resource, as EncodeOtlpProtobuf does
    EXPECT_EQ(ids, c.span_ids);
  }
  // The spans come back whole: the same as the store holds.
  auto spans = DecodeOtlpProtobuf(Get("/api/tracerig/traces?ids=abc").body);
  ASSERT_TRUE(spans.ok());
  auto stored = store_.GetTrace(TraceId{0, 0xabc});
  ASSERT_TRUE(stored);
  for (const Span& span : *spans) {
    EXPECT_NE(std::find(stored->spans.begin(), stored->spans.end(), span), stored->spans.end())
        << span.span_id.value;
  }
}

TEST(EncodeTracesProtobufTest, DecodesToTheSameSpansAsEncodeOtlpProtobufInOrder) {
  std::vector<Span> spans;
  Span a = MakeSpan(0xabc, 1, "frontend", "GET /cart", kT0, 3'000'000,
                    {{"s", std::string("text")}, {"b", false}, {"i", int64_t{-7}},
                     {"d", 2.5}, {"empty", std::string()}});
  a.trace_id.high = 0x1234;
  a.kind = SpanKind::kClient;
  a.trace_state = "k=v";
  a.flags = 0x301;
  a.status_code = StatusCode::kError;
  a.status_message = "bad \xff byte";  // invalid UTF-8: U+FFFD in both encoders
  a.resource_attributes = {{"host.name", std::string("h1")}};
  a.events.push_back(SpanEvent{kT0 + 5, "retry", {{"attempt", int64_t{2}}}});
  Span b = MakeSpan(0xabc, 2, "cart", "GetCart", kT0 + 1000, 1'000'000);
  b.parent_span_id = SpanId{1};
  b.status_code = StatusCode::kOk;
  Span c = a;  // the first resource again after another: a new run, the order is kept
  c.span_id = SpanId{3};
  c.events.clear();
  Span d;  // every field at its default but the ids
  d.trace_id = TraceId{0, 9};
  d.span_id = SpanId{4};
  spans = {a, b, c, d};
  auto ours = DecodeOtlpProtobuf(EncodeTracesProtobuf(spans));
  ASSERT_TRUE(ours.ok()) << ours.error().message;
  auto reference = DecodeOtlpProtobuf(EncodeOtlpProtobuf(spans));
  ASSERT_TRUE(reference.ok()) << reference.error().message;
  ASSERT_EQ(ours->size(), 4u);
  std::vector<uint64_t> order;
  for (const Span& s : *ours) order.push_back(s.span_id.value);
  EXPECT_EQ(order, (std::vector<uint64_t>{1, 2, 3, 4}));
  for (const Span& s : *ours) {
    auto same = std::find_if(reference->begin(), reference->end(),
                             [&](const Span& r) { return r.span_id == s.span_id; });
    ASSERT_NE(same, reference->end());
    EXPECT_EQ(s, *same) << s.span_id.value;
  }
  EXPECT_EQ((*ours)[0].status_message, "bad \xEF\xBF\xBD byte");
  EXPECT_TRUE(EncodeTracesProtobuf({}).empty());
}

TEST_F(JaegerV3Test, TracerigTracesRejectsBadRequestsWithTheReason) {
  struct Case {
    std::string target;
    std::string method;
    unsigned status;
    std::string body;
  };
  std::string too_many = "/api/tracerig/traces?ids=1";
  for (size_t i = 1; i <= kMaxTracerigTraceIds; ++i) too_many += ",1";
  const std::vector<Case> cases = {
      {"/api/tracerig/traces", "GET", 400,
       "parameter 'ids' is required: trace ids in hex, separated by commas"},
      {"/api/tracerig/traces?ids=", "GET", 400, "ids[0] \"\": empty trace id"},
      {"/api/tracerig/traces?ids=abc,xyz", "GET", 400,
       "ids[1] \"xyz\": strconv.ParseUint: parsing \"xyz\": invalid syntax"},
      {"/api/tracerig/traces?ids=abc,,def", "GET", 400, "ids[1] \"\": empty trace id"},
      {"/api/tracerig/traces?ids=" + std::string(33, 'a'), "GET", 400,
       "ids[0] \"" + std::string(33, 'a') +
           "\": TraceID cannot be longer than 32 hex characters: " + std::string(33, 'a')},
      {"/api/tracerig/traces?ids=%zz", "GET", 400, "invalid URL escape \"%zz\""},
      {too_many, "GET", 400, "at most 1000 ids per request"},
      {"/api/tracerig/traces?ids=abc", "POST", 405,
       "/api/tracerig/traces accepts GET, not \"POST\""},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.target.substr(0, 60));
    HttpResponseData r = Get(c.target, c.method);
    EXPECT_EQ(r.status, c.status);
    EXPECT_EQ(r.content_type, "text/plain; charset=utf-8");
    EXPECT_EQ(r.body, c.body);
  }
}

TEST(TracerigStatsTest, ReportsStoreAndPerReceiverCounters) {
  SpanStore store(1);  // one span: the second trace evicts the first
  store.Add({MakeSpan(1, 1, "a", "x")}, 1);
  store.Add({MakeSpan(2, 2, "a", "y")}, 2);
  IngestCounters otlp;
  otlp.requests = 5;
  otlp.requests_rejected = 2;
  otlp.rejected_bad_data = 1;
  otlp.rejected_too_large = 1;
  otlp.spans_accepted = 7;
  IngestCounters zipkin;
  zipkin.spans_accepted = 3;
  HttpResponseData r = HandleQueryPort(store, {{"otlp-http", &otlp}, {"zipkin", &zipkin}},
                                       HttpRequestView{"GET", "/api/tracerig/stats", "", "", ""});
  ASSERT_EQ(r.status, 200u) << r.body;
  json body = json::parse(r.body);
  EXPECT_EQ(body["store"]["spans_stored"], 1);
  EXPECT_EQ(body["store"]["spans_received"], 2);
  EXPECT_EQ(body["store"]["traces_evicted"], 1);
  EXPECT_EQ(body["store"]["max_spans"], 1);
  EXPECT_EQ(body["store"]["bytes_stored"], store.stats().bytes_stored);
  EXPECT_GT(body["store"]["bytes_stored"], 0);
  EXPECT_EQ(body["store"]["max_bytes"], 0);
  EXPECT_EQ(body["receivers"]["otlp-http"]["requests"], 5);
  EXPECT_EQ(body["receivers"]["otlp-http"]["rejected"]["bad_data"], 1);
  EXPECT_EQ(body["receivers"]["otlp-http"]["rejected"]["too_large"], 1);
  EXPECT_EQ(body["receivers"]["zipkin"]["spans_accepted"], 3);
  EXPECT_EQ(body["spans_accepted"], 10);
  HttpResponseData post = HandleQueryPort(store, {}, HttpRequestView{"POST", "/api/tracerig/stats", "", "", ""});
  EXPECT_EQ(post.status, 405u);
}

TEST(JaegerV3FixtureTest, OurAnswerHasTheShapeJaegerServes) {
  // Jaeger's own GetTrace snapshot: {"result":{"resourceSpans":[...]}}; the same decoder that
  // reads it must read ours (checked above), and its top-level keys must match ours.
  TRACERIG_SHARED_FIXTURE(text, "jaeger_apiv3_get_trace.json");
  json fixture = json::parse(text);
  SpanStore store(10);
  store.Add({MakeSpan(1, 1, "a", "x")}, 1);
  json ours = json::parse(
      HandleJaegerV3Query(store, HttpRequestView{"GET", "/api/v3/traces/1", "", "", ""}).body);
  ASSERT_TRUE(fixture.contains("result"));
  EXPECT_EQ(ours.size(), fixture.size());
  EXPECT_TRUE(ours["result"].contains("resourceSpans"));
  EXPECT_TRUE(DecodeOtlpJsonResourceSpans(fixture["result"]["resourceSpans"], "result"));
}

}  // namespace
}  // namespace tracerig
