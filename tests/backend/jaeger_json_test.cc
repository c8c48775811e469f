#include "backend/jaeger_json.h"

#include <gtest/gtest.h>

#include "export/otlp_codec.h"
#include "test_spans.h"
#include "tests/support/fixtures.h"

namespace tracerig {
namespace {

using nlohmann::ordered_json;
using testing::MakeSpan;

std::vector<std::string> Keys(const ordered_json& object) {
  std::vector<std::string> keys;
  for (const auto& [key, value] : object.items()) keys.push_back(key);
  return keys;
}

// Three spans over two processes exercising every mapping rule.
std::vector<Span> HandBuiltTrace() {
  Span root =
      MakeSpan(0x1f, 0xa1, "frontend", "GET /cart", 1'700'000'000'123'456'789ull, 2'500'999);
  root.attributes = {{"http.method", std::string("GET")},
                     {"http.status_code", int64_t{500}},
                     {"sampled_ratio", 0.25},
                     {"cache.hit", false},
                     {"big", int64_t{9'007'199'254'740'992}}};  // 2^53: beyond JS's safe range
  root.status_code = StatusCode::kError;
  root.status_message = "boom";
  root.flags = 0x101;
  root.trace_state = "vendor=1";
  root.events = {{1'700'000'000'124'000'999ull, "retry", {{"attempt", int64_t{2}}}}};
  root.resource_attributes = {{"service.name", std::string("frontend")},
                              {"host.name", std::string("node-1")}};

  Span child = MakeSpan(0x1f, 0xb2, "frontend", "GetCart", 1'700'000'000'124'000'000ull, 1'000'000);
  child.kind = SpanKind::kClient;
  child.parent_span_id = SpanId{0xa1};
  child.status_code = StatusCode::kOk;
  child.resource_attributes = root.resource_attributes;

  Span server = MakeSpan(0x1f, 0xc3, "cart", "GetCart", 1'700'000'000'124'100'000ull, 500'000);
  server.kind = SpanKind::kUnspecified;
  server.parent_span_id = SpanId{0xb2};
  // A nameless event, and one whose attributes already carry "event": no extra field either way.
  server.events = {{1'700'000'000'124'200'000ull, "", {{"event", std::string("x")}}},
                   {1'700'000'000'124'300'000ull, "ignored", {{"event", std::string("y")}}}};
  return {root, child, server};
}

constexpr char kHandBuiltGolden[] = R"json({
  "traceID": "000000000000001f",
  "spans": [
    {
      "traceID": "000000000000001f", "spanID": "00000000000000a1", "flags": 257,
      "operationName": "GET /cart", "references": [],
      "startTime": 1700000000123456, "duration": 2500,
      "tags": [
        {"key": "http.method", "type": "string", "value": "GET"},
        {"key": "http.status_code", "type": "int64", "value": 500},
        {"key": "sampled_ratio", "type": "float64", "value": 0.25},
        {"key": "cache.hit", "type": "bool", "value": false},
        {"key": "big", "type": "int64", "value": "9007199254740992"},
        {"key": "span.kind", "type": "string", "value": "server"},
        {"key": "otel.status_code", "type": "string", "value": "ERROR"},
        {"key": "error", "type": "bool", "value": true},
        {"key": "otel.status_description", "type": "string", "value": "boom"},
        {"key": "w3c.tracestate", "type": "string", "value": "vendor=1"}
      ],
      "logs": [
        {"timestamp": 1700000000124000, "fields": [
          {"key": "event", "type": "string", "value": "retry"},
          {"key": "attempt", "type": "int64", "value": 2}
        ]}
      ],
      "processID": "p1", "warnings": null
    },
    {
      "traceID": "000000000000001f", "spanID": "00000000000000b2",
      "operationName": "GetCart",
      "references": [
        {"refType": "CHILD_OF", "traceID": "000000000000001f", "spanID": "00000000000000a1"}
      ],
      "startTime": 1700000000124000, "duration": 1000,
      "tags": [
        {"key": "span.kind", "type": "string", "value": "client"},
        {"key": "otel.status_code", "type": "string", "value": "OK"}
      ],
      "logs": [], "processID": "p1", "warnings": null
    },
    {
      "traceID": "000000000000001f", "spanID": "00000000000000c3",
      "operationName": "GetCart",
      "references": [
        {"refType": "CHILD_OF", "traceID": "000000000000001f", "spanID": "00000000000000b2"}
      ],
      "startTime": 1700000000124100, "duration": 500,
      "tags": [],
      "logs": [
        {"timestamp": 1700000000124200, "fields": [{"key": "event", "type": "string", "value": "x"}]},
        {"timestamp": 1700000000124300, "fields": [{"key": "event", "type": "string", "value": "y"}]}
      ],
      "processID": "p2", "warnings": null
    }
  ],
  "processes": {
    "p1": {"serviceName": "frontend", "tags": [{"key": "host.name", "type": "string", "value": "node-1"}]},
    "p2": {"serviceName": "cart", "tags": []}
  },
  "warnings": null
})json";

TEST(JaegerJsonTest, HandBuiltTraceMatchesGolden) {
  ordered_json encoded = EncodeJaegerTrace(HandBuiltTrace());
  ordered_json golden = ordered_json::parse(kHandBuiltGolden);
  // ordered_json compares objects key by key in order, so this checks values and key order.
  EXPECT_EQ(encoded, golden) << DumpJson(encoded);
}

TEST(JaegerJsonTest, TraceIdsPrintLikeJaeger) {
  EXPECT_EQ(JaegerTraceIdString(TraceId{0, 1}), "0000000000000001");
  EXPECT_EQ(JaegerTraceIdString(TraceId{1, 2}), "00000000000000010000000000000002");
  EXPECT_EQ(JaegerTraceIdString(TraceId{0x83a9efd15c1c98a9ull, 0x77e0711cc93ee28bull}),
            "83a9efd15c1c98a977e0711cc93ee28b");
  Span span = MakeSpan(0, 1, "s", "op");
  span.trace_id = TraceId{0xab, 0xcd};
  ordered_json trace = EncodeJaegerTrace({span});
  EXPECT_EQ(trace["traceID"], "00000000000000ab00000000000000cd");
  EXPECT_EQ(trace["spans"][0]["traceID"], "00000000000000ab00000000000000cd");
}

TEST(JaegerJsonTest, IntegersBeyondJavaScriptRangeBecomeStrings) {
  struct Row {
    int64_t value;
    ordered_json expected;
  };
  const Row rows[] = {
      {0, 0},
      {9'007'199'254'740'991, 9'007'199'254'740'991},
      {-9'007'199'254'740'991, -9'007'199'254'740'991},
      {9'007'199'254'740'992, "9007199254740992"},
      {-9'007'199'254'740'992, "-9007199254740992"},
      {9'223'372'036'854'775'807, "9223372036854775807"},
  };
  for (const Row& row : rows) {
    ordered_json tag = JaegerTagJson({"k", row.value});
    EXPECT_EQ(tag["type"], "int64");
    EXPECT_EQ(tag["value"], row.expected) << row.value;
  }
}

TEST(JaegerJsonTest, DerivedTagsFollowJaegerRules) {
  struct Row {
    SpanKind kind;
    StatusCode status;
    std::vector<std::string> keys;
  };
  const Row rows[] = {
      {SpanKind::kUnspecified, StatusCode::kUnset, {}},
      {SpanKind::kInternal, StatusCode::kUnset, {"span.kind"}},
      {SpanKind::kProducer, StatusCode::kOk, {"span.kind", "otel.status_code"}},
      {SpanKind::kConsumer, StatusCode::kError, {"span.kind", "otel.status_code", "error"}},
  };
  for (const Row& row : rows) {
    Span span = MakeSpan(1, 1, "s", "op");
    span.kind = row.kind;
    span.status_code = row.status;
    std::vector<std::string> keys;
    for (const auto& tag : JaegerDerivedTags(span)) keys.push_back(tag.key);
    EXPECT_EQ(keys, row.keys) << SpanKindName(row.kind) << " " << StatusCodeName(row.status);
  }
  Span consumer = MakeSpan(1, 1, "s", "op");
  consumer.kind = SpanKind::kConsumer;
  EXPECT_EQ(JaegerDerivedTags(consumer)[0].value, AttributeValue(std::string("consumer")));
}

TEST(JaegerJsonTest, ProcessesAreSharedPerServiceAndResourceAndKeyedLikeGoMaps) {
  std::vector<Span> spans;
  for (int i = 0; i < 11; ++i) {
    spans.push_back(MakeSpan(1, static_cast<uint64_t>(i + 1), "svc" + std::to_string(i), "op"));
  }
  // Same service as span 0 but another resource: a distinct process (p12).
  spans.push_back(MakeSpan(1, 100, "svc0", "op"));
  spans.back().resource_attributes = {{"host.name", std::string("b")}};
  // Same service and resource as span 0: shares p1.
  spans.push_back(MakeSpan(1, 101, "svc0", "op"));

  ordered_json trace = EncodeJaegerTrace(spans);
  EXPECT_EQ(Keys(trace["processes"]),
            (std::vector<std::string>{"p1", "p10", "p11", "p12", "p2", "p3", "p4", "p5", "p6", "p7",
                                      "p8", "p9"}));
  EXPECT_EQ(trace["spans"][10]["processID"], "p11");
  EXPECT_EQ(trace["spans"][11]["processID"], "p12");
  EXPECT_EQ(trace["spans"][12]["processID"], "p1");
  EXPECT_EQ(trace["processes"]["p10"]["serviceName"], "svc9");
  EXPECT_EQ(trace["processes"]["p12"]["tags"][0]["value"], "b");
}

TEST(JaegerJsonTest, NegativeDurationIsClampedToZero) {
  Span span = MakeSpan(1, 1, "s", "op");
  span.end_unix_nano = span.start_unix_nano - 5;
  EXPECT_EQ(EncodeJaegerTrace({span})["spans"][0]["duration"], 0);
}

TEST(JaegerJsonTest, InvalidUtf8IsReplacedNotThrown) {
  Span span = MakeSpan(1, 1, "s", std::string("bad\xff\xfe", 5));
  std::string body;
  EXPECT_NO_THROW(body = DumpJson(EncodeJaegerTrace({span})));
  EXPECT_NE(body.find("bad\xEF\xBF\xBD"), std::string::npos);
}

TEST(JaegerJsonTest, EnvelopesMatchJaeger) {
  EXPECT_EQ(
      JaegerErrorResponse(404, "trace not found"),
      R"({"data":null,"total":0,"limit":0,"offset":0,"errors":[{"code":404,"msg":"trace not found"}]})");
  EXPECT_EQ(JaegerDataResponse(ordered_json::array({"a", "b"}), 2),
            R"({"data":["a","b"],"total":2,"limit":0,"offset":0,"errors":null})");
}

// Key order of every object against a real Jaeger UI-model trace.
TEST(JaegerJsonTest, KeyOrderMatchesJaegerFixture) {
  TRACERIG_SHARED_FIXTURE(text, "jaeger_v1_ui_trace_01.json");
  ordered_json fixture = ordered_json::parse(text);
  std::vector<Span> spans = HandBuiltTrace();
  ordered_json ours = EncodeJaegerTrace(spans);

  EXPECT_EQ(Keys(ours), Keys(fixture));
  // The fixture's spans have zero flags, which Jaeger omits; so does our third span.
  EXPECT_EQ(Keys(ours["spans"][2]), Keys(fixture["spans"][0]));
  EXPECT_EQ(Keys(ours["spans"][2]["references"][0]), Keys(fixture["spans"][2]["references"][0]));
  EXPECT_EQ(Keys(ours["spans"][0]["tags"][0]), Keys(fixture["spans"][1]["tags"][0]));
  EXPECT_EQ(Keys(ours["spans"][0]["logs"][0]), Keys(fixture["spans"][0]["logs"][0]));
  EXPECT_EQ(Keys(ours["spans"][0]["logs"][0]["fields"][0]),
            Keys(fixture["spans"][0]["logs"][0]["fields"][0]));
  EXPECT_EQ(Keys(ours["processes"]["p1"]), Keys(fixture["processes"]["p1"]));
  // Our flagged span has the same keys plus "flags" right after spanID (Jaeger's struct order).
  std::vector<std::string> with_flags = Keys(fixture["spans"][0]);
  with_flags.insert(with_flags.begin() + 2, "flags");
  EXPECT_EQ(Keys(ours["spans"][0]), with_flags);
}

// Jaeger's own OTLP -> v1 JSON fixture pair, end to end through the OTLP/JSON decoder. We keep no
// instrumentation scope, so Jaeger's otel.scope.name tag is the one expected difference.
TEST(JaegerJsonTest, ReproducesJaegerOtlpToJsonFixture) {
  TRACERIG_SHARED_FIXTURE(in, "otlp_json_telemetrygen_otlp2jaeger_in.json");
  TRACERIG_SHARED_FIXTURE(out, "jaeger_v1_ui_trace_api_response_otlp2jaeger.json");
  auto spans = DecodeOtlpJson(in);
  ASSERT_TRUE(spans) << spans.error().message;

  ordered_json expected = ordered_json::parse(out);
  for (auto& span : expected["data"][0]["spans"]) {
    auto& tags = span["tags"];
    for (auto it = tags.begin(); it != tags.end();) {
      it = (*it)["key"] == "otel.scope.name" ? tags.erase(it) : it + 1;
    }
  }
  std::string ours = JaegerDataResponse(ordered_json::array({EncodeJaegerTrace(*spans)}), 0);
  EXPECT_EQ(ours, DumpJson(expected));
}

}  // namespace
}  // namespace tracerig
