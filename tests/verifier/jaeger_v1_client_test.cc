// The Jaeger v1 client: decoding real query-service payloads (fixtures), every malformed input we
// reject, and how HTTP answers and transport failures become values or errors.
#include "verifier/jaeger_v1_client.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/fixtures.h"
#include "tests/support/scripted_fetcher.h"
#include "tests/verifier/batch_answer.h"

namespace tracerig {
namespace {

using test_support::ScriptedFetcher;
using ::testing::HasSubstr;
using ::testing::StartsWith;
using verifier_testing::BatchCase;
using verifier_testing::ExpectBatchAnswer;
using verifier_testing::kAbsent;

const Span* FindById(const std::vector<Span>& spans, uint64_t span_id, std::string_view name) {
  for (const Span& s : spans) {
    if (s.span_id.value == span_id && s.name == name) return &s;
  }
  return nullptr;
}

TEST(DecodeJaegerTracesTest, UiTraceFixture) {
  TRACERIG_SHARED_FIXTURE(text, "jaeger_v1_ui_trace_01.json");
  // The fixture is one element of data[]; wrap it in the envelope the API answers with.
  auto spans = DecodeJaegerTraces("{\"data\":[" + text + "]}");
  ASSERT_TRUE(spans.ok()) << spans.error().message;
  ASSERT_EQ(spans->size(), 5u);

  const Span& first = (*spans)[0];
  EXPECT_EQ(first.trace_id, (TraceId{0, 1}));  // 16 hex digits: the high half is zero
  EXPECT_EQ(first.span_id, SpanId{2});
  EXPECT_FALSE(first.parent_span_id.IsValid());
  EXPECT_EQ(first.name, "test-general-conversion");
  EXPECT_EQ(first.service_name, "service-x");
  EXPECT_EQ(first.start_unix_nano, 1485467191639875000ull);
  EXPECT_EQ(first.end_unix_nano, 1485467191639880000ull);
  EXPECT_EQ(first.kind, SpanKind::kUnspecified);
  EXPECT_EQ(first.status_code, StatusCode::kUnset);
  ASSERT_EQ(first.events.size(), 2u);
  EXPECT_EQ(first.events[0].name, "some-event");
  EXPECT_EQ(first.events[0].time_unix_nano, 1485467191639875000ull);
  EXPECT_TRUE(first.events[0].attributes.empty());
  EXPECT_EQ(first.events[1].name, "");
  EXPECT_EQ(first.events[1].attributes, (std::vector<Attribute>{{"x", std::string("y")}}));

  // The duplicated span id is kept: duplicates are for the verifier to see, not to hide.
  const Span* tagged = FindById(*spans, 2, "some-operation");
  ASSERT_NE(tagged, nullptr);
  EXPECT_EQ(tagged->status_code, StatusCode::kError);  // from error=true, which is not repeated
  const std::vector<Attribute> want_tags = {
      {"peer.service", std::string("service-y")},
      {"peer.ipv4", int64_t{23456}},
      {"temperature", 72.5},
      {"javascript_limit", int64_t{9223372036854775222}},  // a JSON string in the fixture
      {"blob", std::string("AAAwOQ==")},                   // binary stays base64 text
  };
  EXPECT_EQ(tagged->attributes, want_tags);

  const Span* child = FindById(*spans, 3, "some-operation");
  ASSERT_NE(child, nullptr);
  EXPECT_EQ(child->parent_span_id, SpanId{2});
  EXPECT_EQ(child->service_name, "service-y");

  // The first CHILD_OF points into trace 00ff: that is a link, the parent is the next CHILD_OF.
  const Span* refs = FindById(*spans, 4, "reference-test");
  ASSERT_NE(refs, nullptr);
  EXPECT_EQ(refs->parent_span_id, SpanId{2});

  const Span* last = FindById(*spans, 5, "preserveParentID-test");
  ASSERT_NE(last, nullptr);
  EXPECT_EQ(last->parent_span_id, SpanId{4});
  EXPECT_EQ(last->end_unix_nano - last->start_unix_nano, 4000u);
}

TEST(DecodeJaegerTracesTest, OtlpToJaegerFixture) {
  TRACERIG_SHARED_FIXTURE(text, "jaeger_v1_ui_trace_api_response_otlp2jaeger.json");
  auto spans = DecodeJaegerTraces(text);
  ASSERT_TRUE(spans.ok()) << spans.error().message;
  ASSERT_EQ(spans->size(), 2u);  // the same span twice, as the fixture has it
  for (const Span& s : *spans) {
    EXPECT_EQ(s.trace_id, (TraceId{0x83a9efd15c1c98a9ull, 0x77e0711cc93ee28bull}));
    EXPECT_EQ(s.span_id, SpanId{0xe127af99e3b3e074ull});
    EXPECT_EQ(s.parent_span_id, SpanId{0x909541b92cf05311ull});  // not in the trace: kept
    EXPECT_EQ(s.name, "okey-dokey-0");
    EXPECT_EQ(s.kind, SpanKind::kServer);
    EXPECT_EQ(s.service_name, "telemetrygen");
    EXPECT_TRUE(s.resource_attributes.empty());
    EXPECT_EQ(s.start_unix_nano, 1706678909209712000ull);
    EXPECT_EQ(s.end_unix_nano, 1706678909209835000ull);
    const std::vector<Attribute> want = {
        {"otel.scope.name", std::string("telemetrygen")},
        {"net.peer.ip", std::string("1.2.3.4")},
        {"peer.service", std::string("telemetrygen-client")},
    };
    EXPECT_EQ(s.attributes, want);  // span.kind became the kind
  }
  EXPECT_EQ((*spans)[0], (*spans)[1]);
}

// A one-span trace around `span_fields` (the span's members after traceID).
std::string OneSpan(std::string_view span_fields) {
  return std::string(R"({"data":[{"traceID":"1","spans":[{"traceID":"1",)") +
         std::string(span_fields) +
         R"(}],"processes":{"p1":{"serviceName":"svc",)"
         R"("tags":[{"key":"host.name","type":"string","value":"h"}]}}}]})";
}

constexpr std::string_view kGoodSpan =
    R"("spanID":"a","operationName":"op","references":[],"startTime":5,"duration":2,)"
    R"("tags":[],"logs":[],"processID":"p1")";

TEST(DecodeJaegerTracesTest, MinimalSpanAndMappedTags) {
  auto spans = DecodeJaegerTraces(OneSpan(
      R"("spanID":"a","operationName":"op","startTime":5,"duration":2,"flags":1,"processID":"p1",
         "tags":[{"key":"span.kind","type":"string","value":"client"},
                 {"key":"otel.status_code","type":"string","value":"OK"},
                 {"key":"error","type":"bool","value":true},
                 {"key":"otel.status_description","type":"string","value":"fine"},
                 {"key":"w3c.tracestate","type":"string","value":"k=v"},
                 {"key":"n","type":"int64","value":-3},
                 {"key":"b","type":"bool","value":false}])"));
  ASSERT_TRUE(spans.ok()) << spans.error().message;
  ASSERT_EQ(spans->size(), 1u);
  const Span& s = (*spans)[0];
  EXPECT_EQ(s.span_id, SpanId{0xa});
  EXPECT_EQ(s.kind, SpanKind::kClient);
  EXPECT_EQ(s.status_code, StatusCode::kOk);  // otel.status_code wins over the error tag
  EXPECT_EQ(s.status_message, "fine");
  EXPECT_EQ(s.trace_state, "k=v");
  EXPECT_EQ(s.flags, 1u);
  EXPECT_EQ(s.start_unix_nano, 5000u);
  EXPECT_EQ(s.end_unix_nano, 7000u);
  EXPECT_EQ(s.attributes, (std::vector<Attribute>{{"n", int64_t{-3}}, {"b", false}}));
  EXPECT_EQ(s.resource_attributes, (std::vector<Attribute>{{"host.name", std::string("h")}}));
}

TEST(DecodeJaegerTracesTest, EmptyAnswers) {
  for (const char* body : {R"({"data":null})", R"({"data":[]})",
                           R"({"data":null,"total":0,"limit":0,"offset":0,"errors":null})"}) {
    auto spans = DecodeJaegerTraces(body);
    ASSERT_TRUE(spans.ok()) << body << ": " << spans.error().message;
    EXPECT_TRUE(spans->empty()) << body;
  }
}

TEST(DecodeJaegerTracesTest, MalformedInputIsRejectedWithAReason) {
  struct Case {
    std::string input;
    std::string error;
  };
  const std::vector<Case> cases = {
      {"[]", "expected an object with \"data\""},
      {R"({"total":0})", "expected an object with \"data\""},
      {R"({"data":{}})", "data: must be an array or null"},
      {R"({"data":[7]})", "data[0]: must be an object"},
      {R"({"data":[{"processes":{}}]})", "data[0]: has no \"spans\" array"},
      {R"({"data":null,"errors":[{"code":500,"msg":"boom"}]})",
       R"(no data, errors: [{"code":500,"msg":"boom"}])"},
      {R"({"data":[{"spans":[],"processes":{"p1":{"tags":[]}}}]})",
       "data[0].processes.p1: has no string \"serviceName\""},
      {OneSpan(R"("spanID":"xyz","operationName":"op","startTime":5,"processID":"p1")"),
       "data[0].spans[0].spanID: expected 1..16 hex digits, got \"xyz\""},
      {R"({"data":[{"spans":[{"traceID":"123456789012345678901234567890123"}]}]})",
       "data[0].spans[0].traceID: expected 1..32 hex digits, got "
       "\"123456789012345678901234567890123\""},
      {R"({"data":[{"spans":[{"spanID":"1"}]}]})", "data[0].spans[0]: has no string \"traceID\""},
      {OneSpan(R"("spanID":"a","startTime":5,"processID":"p1")"),
       "data[0].spans[0]: has no string \"operationName\""},
      {OneSpan(R"("spanID":"a","operationName":"op","processID":"p1")"),
       "data[0].spans[0]: has no \"startTime\""},
      {OneSpan(R"("spanID":"a","operationName":"op","startTime":-5,"processID":"p1")"),
       "data[0].spans[0].startTime: must not be negative"},
      {OneSpan(R"("spanID":"a","operationName":"op","startTime":"soon","processID":"p1")"),
       "data[0].spans[0].startTime: expected microseconds, got \"soon\""},
      {OneSpan(R"("spanID":"a","operationName":"op","startTime":5,"processID":"p9")"),
       "data[0].spans[0].processID: names unknown process \"p9\""},
      {OneSpan(R"("spanID":"a","operationName":"op","startTime":5,"processID":"p1",
                  "tags":[{"key":"n","type":"int64","value":"12x"}])"),
       "data[0].spans[0].tags[0]: int64 value expected, got \"12x\""},
      {OneSpan(R"("spanID":"a","operationName":"op","startTime":5,"processID":"p1",
                  "tags":[{"key":"n","type":"int64","value":18446744073709551615}])"),
       "data[0].spans[0].tags[0]: int64 value expected, got 18446744073709551615"},
      {OneSpan(R"("spanID":"a","operationName":"op","startTime":5,"processID":"p1",
                  "tags":[{"key":"n","type":"uuid","value":"x"}])"),
       "data[0].spans[0].tags[0]: unknown tag type \"uuid\""},
      {OneSpan(R"("spanID":"a","operationName":"op","startTime":5,"processID":"p1",
                  "tags":[{"type":"string","value":"x"}])"),
       "data[0].spans[0].tags[0]: has no string \"key\""},
      {OneSpan(R"("spanID":"a","operationName":"op","startTime":5,"processID":"p1",
                  "references":[{"refType":"CHILD_OF","traceID":"1","spanID":"q"}])"),
       "data[0].spans[0].references[0].spanID: expected 1..16 hex digits, got \"q\""},
      {OneSpan(R"("spanID":"a","operationName":"op","startTime":5,"processID":"p1",
                  "logs":[{"fields":[]}])"),
       "data[0].spans[0].logs[0]: has no \"timestamp\""},
  };
  for (const Case& c : cases) {
    auto spans = DecodeJaegerTraces(c.input);
    ASSERT_FALSE(spans.ok()) << c.input;
    EXPECT_EQ(spans.error().message, c.error) << c.input;
  }
  // The template itself is valid, so each row fails for its own reason.
  EXPECT_TRUE(DecodeJaegerTraces(OneSpan(kGoodSpan)).ok());
}

TEST(DecodeJaegerTracesTest, InvalidJsonNamesThePosition) {
  for (const char* body : {"", "{", "garbage", R"({"data":[}])"}) {
    auto spans = DecodeJaegerTraces(body);
    ASSERT_FALSE(spans.ok()) << body;
    EXPECT_THAT(spans.error().message, StartsWith("parse error at line 1, column ")) << body;
  }
}

TEST(PercentEncodeTest, EncodesAllButUnreserved) {
  EXPECT_EQ(PercentEncode("aZ09-._~"), "aZ09-._~");
  EXPECT_EQ(PercentEncode(R"({"k":"v w"})"), "%7B%22k%22%3A%22v%20w%22%7D");
  EXPECT_EQ(PercentEncode("GET /x?a=b&c"), "GET%20%2Fx%3Fa%3Db%26c");
  EXPECT_EQ(PercentEncode("\xc3\xa9"), "%C3%A9");
  EXPECT_EQ(PercentEncode(""), "");
}

class JaegerV1ClientTest : public ::testing::Test {
 protected:
  JaegerV1ClientTest() {
    auto fetcher = std::make_unique<ScriptedFetcher>(&targets_);
    fetcher_ = fetcher.get();
    client_ = MakeJaegerV1Client(std::move(fetcher), "http://127.0.0.1:16686");
  }
  std::vector<std::string> targets_;
  ScriptedFetcher* fetcher_ = nullptr;
  std::unique_ptr<BackendClient> client_;
};

constexpr TraceId kId{0, 0xabcd};
const std::string kIdHex = "0000000000000000000000000000abcd";

TEST_F(JaegerV1ClientTest, Describe) {
  EXPECT_EQ(client_->Describe(), "jaeger v1 at http://127.0.0.1:16686");
}

TEST_F(JaegerV1ClientTest, GetTraceReturnsTheSpans) {
  fetcher_->Answer(200, OneSpan(kGoodSpan));
  auto trace = client_->GetTrace(kId);
  ASSERT_TRUE(trace.ok()) << trace.error().message;
  ASSERT_TRUE(trace->has_value());
  ASSERT_EQ((*trace)->size(), 1u);
  EXPECT_EQ((**trace)[0].name, "op");
  EXPECT_EQ(targets_, std::vector<std::string>{"/api/traces/" + kIdHex});
}

TEST_F(JaegerV1ClientTest, NotFoundIsNotAnError) {
  fetcher_->Answer(404, R"({"data":null,"total":0,"limit":0,"offset":0,)"
                        R"("errors":[{"code":404,"msg":"trace not found"}]})");
  fetcher_->Answer(200, R"({"data":[],"total":0,"limit":0,"offset":0,"errors":null})");
  for (int i = 0; i < 2; ++i) {
    auto trace = client_->GetTrace(kId);
    ASSERT_TRUE(trace.ok()) << trace.error().message;
    EXPECT_FALSE(trace->has_value());
  }
}

TEST_F(JaegerV1ClientTest, ServerErrorIsAnErrorQuotingTheBody) {
  fetcher_->Answer(500, "internal error");
  const std::string long_body = std::string(150, 'a') + std::string(150, 'b');
  fetcher_->Answer(503, long_body);
  auto first = client_->GetTrace(kId);
  ASSERT_FALSE(first.ok());
  EXPECT_EQ(first.error().message, "jaeger answered HTTP 500: internal error");
  EXPECT_EQ(first.error().code, ErrorCode::kUnavailable);
  auto second = client_->GetTrace(kId);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().message, "jaeger answered HTTP 503: " + long_body.substr(0, 200));
}

TEST_F(JaegerV1ClientTest, TransportErrorIsAnError) {
  fetcher_->Fail("connection refused");
  auto trace = client_->GetTrace(kId);
  ASSERT_FALSE(trace.ok());
  EXPECT_EQ(trace.error().message, "jaeger v1 at http://127.0.0.1:16686: GET /api/traces/" +
                                       kIdHex + ": connection refused");
  EXPECT_EQ(trace.error().code, ErrorCode::kUnavailable);
}

TEST_F(JaegerV1ClientTest, GarbageIsAnError) {
  fetcher_->Answer(200, "<html>proxy login</html>");
  fetcher_->Answer(200, R"({"data":[{"spans":7}]})");
  auto html = client_->GetTrace(kId);
  ASSERT_FALSE(html.ok());
  EXPECT_THAT(html.error().message,
              StartsWith("jaeger returned malformed JSON for trace " + kIdHex + ": parse error"));
  EXPECT_EQ(html.error().code, ErrorCode::kUnavailable);
  auto shape = client_->GetTrace(kId);
  ASSERT_FALSE(shape.ok());
  EXPECT_EQ(shape.error().message, "jaeger returned malformed JSON for trace " + kIdHex +
                                       ": data[0]: has no \"spans\" array");
}

TEST_F(JaegerV1ClientTest, FindSpansSearchesByTagAndKeepsOnlyMatchingSpans) {
  // Two traces for the service: only spans carrying the attribute come back.
  fetcher_->Answer(200, R"({"data":[
    {"traceID":"1","processes":{"p1":{"serviceName":"payment"},"p2":{"serviceName":"fraud"}},
     "spans":[
      {"traceID":"1","spanID":"1","operationName":"Charge","startTime":1,"processID":"p1",
       "tags":[{"key":"tracerig.request_id","type":"string","value":"0000000000000abc"}]},
      {"traceID":"1","spanID":"2","operationName":"Check","startTime":1,"processID":"p2",
       "tags":[{"key":"tracerig.request_id","type":"string","value":"0000000000000abc"}]},
      {"traceID":"1","spanID":"3","operationName":"db","startTime":1,"processID":"p1"}]},
    {"traceID":"2","processes":{"p1":{"serviceName":"payment"}},"spans":[
      {"traceID":"2","spanID":"4","operationName":"Charge","startTime":1,"processID":"p1",
       "tags":[{"key":"tracerig.request_id","type":"string","value":"0000000000000def"}]}]}]})");
  auto spans = client_->FindSpans("payment", "tracerig.request_id", "0000000000000abc", 100, 200);
  ASSERT_TRUE(spans.ok()) << spans.error().message;
  ASSERT_EQ(spans->size(), 2u);
  EXPECT_EQ((*spans)[0].span_id, SpanId{1});
  EXPECT_EQ((*spans)[1].span_id, SpanId{2});
  EXPECT_EQ((*spans)[1].service_name, "fraud");
  EXPECT_EQ(targets_, std::vector<std::string>{
                          "/api/traces?service=payment&tags=%7B%22tracerig.request_id%22%3A%"
                          "220000000000000abc%22%7D&start=100&end=200&limit=100"});
}

TEST_F(JaegerV1ClientTest, FindSpansErrors) {
  fetcher_->Answer(400, R"({"data":null,"errors":[{"code":400,"msg":"bad tags"}]})");
  fetcher_->Fail("timeout");
  fetcher_->Answer(200, "nope");
  auto bad_request = client_->FindSpans("payment", "k", "v", 1, 2);
  ASSERT_FALSE(bad_request.ok());
  EXPECT_THAT(bad_request.error().message, StartsWith("jaeger answered HTTP 400: {\"data\""));
  EXPECT_EQ(bad_request.error().code, ErrorCode::kUnavailable);
  auto timeout = client_->FindSpans("payment", "k", "v", 1, 2);
  ASSERT_FALSE(timeout.ok());
  EXPECT_THAT(timeout.error().message, HasSubstr(": timeout"));
  EXPECT_EQ(timeout.error().code, ErrorCode::kUnavailable);
  auto garbage = client_->FindSpans("payment", "k", "v", 1, 2);
  ASSERT_FALSE(garbage.ok());
  EXPECT_THAT(garbage.error().message,
              StartsWith("jaeger returned malformed JSON for a search of service payment: "));
  EXPECT_EQ(garbage.error().code, ErrorCode::kUnavailable);
}


// One trace of a batch answer: `spans` spans of one process, under `hex`.
std::string TraceJson(const std::string& hex, int spans) {
  std::string out = R"({"traceID":")" + hex + R"(","processes":{"p1":{"serviceName":"s"}},"spans":[)";
  for (int i = 0; i < spans; ++i) {
    if (i > 0) out += ",";
    out += R"({"traceID":")" + hex + R"(","spanID":")" + std::to_string(i + 1) +
           R"(","operationName":"op","startTime":1,"processID":"p1"})";
  }
  return out + "]}";
}

std::string NotFound(const std::string& hex) {
  return R"({"msg":"trace not found","traceID":")" + hex + R"("})";
}

TEST_F(JaegerV1ClientTest, GetTracesAsksForEveryIdInOneRequest) {
  const std::vector<TraceId> ids = {TraceId{0, 0xa}, TraceId{0, 0xb}, TraceId{1, 0xc}};
  fetcher_->Answer(200, R"({"data":[)" + TraceJson("a", 2) + "]}");
  ASSERT_TRUE(client_->GetTraces(ids).ok());
  EXPECT_EQ(client_->MaxTracesPerRequest(), 10u);
  EXPECT_EQ(targets_, std::vector<std::string>{"/api/traces?traceID=" + ids[0].ToHex() +
                                               "&traceID=" + ids[1].ToHex() +
                                               "&traceID=" + ids[2].ToHex()});
  // A full batch of 32-digit ids stays below the 8 KiB header limit of Go's and Beast's servers.
  EXPECT_LT(targets_[0].size() / ids.size() * client_->MaxTracesPerRequest(), 8192u - 1024);
}

TEST_F(JaegerV1ClientTest, GetTracesAnswersPerIdOrFailsAsAWhole) {
  const std::vector<TraceId> ids = {TraceId{0, 0xa}, TraceId{0, 0xb}, TraceId{0, 0xc}};
  const std::string list = "/api/traces?traceID=" + ids[0].ToHex() + "&traceID=" +
                           ids[1].ToHex() + "&traceID=" + ids[2].ToHex();
  const std::vector<BatchCase> cases = {
      {"all found", 200,
       R"({"data":[)" + TraceJson("c", 3) + "," + TraceJson("a", 2) + "," + TraceJson("b", 1) +
           R"(],"total":0,"limit":0,"offset":0,"errors":null})",
       {2, 1, 3}, ""},
      {"some missing", 200,
       R"({"data":[)" + TraceJson("a", 2) + "," + TraceJson("000000000000000c", 1) +
           R"(],"errors":[)" + NotFound("000000000000000b") + "]}",
       {2, kAbsent, 1}, ""},
      {"none found", 200,
       R"({"data":[],"errors":[)" + NotFound("a") + "," + NotFound("b") + "," + NotFound("c") +
           "]}",
       {kAbsent, kAbsent, kAbsent}, ""},
      {"null data", 200, R"({"data":null,"errors":null})", {kAbsent, kAbsent, kAbsent}, ""},
      {"malformed body", 200, "<html>proxy login</html>", {},
       "jaeger returned malformed JSON for 3 traces from " + ids[0].ToHex() + ": parse error"},
      {"another error", 200, R"({"data":[],"errors":[{"code":500,"msg":"storage down"}]})", {},
       "jaeger returned malformed JSON for 3 traces from " + ids[0].ToHex() +
           ": no data, errors: [{\"code\":500"},
      {"a trace not asked for", 200, R"({"data":[)" + TraceJson("d", 1) + "]}", {},
       "jaeger v1 at http://127.0.0.1:16686 answered a span of trace "
       "0000000000000000000000000000000d, which was not asked for"},
      {"404", 404, R"({"data":null,"errors":[{"code":404,"msg":"trace not found"}]})", {},
       "jaeger answered HTTP 404: {\"data\":null"},
      {"500", 500, "boom", {}, "jaeger answered HTTP 500: boom"},
      {"transport", std::nullopt, "connection refused", {},
       "jaeger v1 at http://127.0.0.1:16686: GET " + list + ": connection refused"},
  };
  for (const BatchCase& c : cases) {
    SCOPED_TRACE(c.name);
    if (c.status) {
      fetcher_->Answer(*c.status, c.body);
    } else {
      fetcher_->Fail(c.body);
    }
    ExpectBatchAnswer(client_->GetTraces(ids), ids, c);
  }
}

TEST(DecodeJaegerTraceBatchTest, OnlyTraceNotFoundErrorsAreAbsences) {
  EXPECT_TRUE(DecodeJaegerTraceBatch(R"({"data":[],"errors":[{"msg":"trace not found"}]})").ok());
  // A single-trace answer with that error and no data is still a failure.
  EXPECT_FALSE(DecodeJaegerTraces(R"({"data":[],"errors":[{"msg":"trace not found"}]})").ok());
  auto mixed = DecodeJaegerTraceBatch(
      R"({"data":[],"errors":[{"msg":"trace not found"},{"msg":"timeout"}]})");
  ASSERT_FALSE(mixed.ok());
  EXPECT_THAT(mixed.error().message, StartsWith("no data, errors: "));
}

}  // namespace
}  // namespace tracerig
