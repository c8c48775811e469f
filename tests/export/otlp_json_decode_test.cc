// OTLP JSON decoding: the exact errors for invalid spans and documents, what real clients send,
// and the real payloads of SDKs and backends (shared fixtures).
#include "export/otlp_codec.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>

#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"
#include "tests/export/otlp_codec_test_support.h"
#include "tests/support/fixtures.h"

namespace tracerig {
namespace {

namespace collector_pb = opentelemetry::proto::collector::trace::v1;
namespace trace_pb = opentelemetry::proto::trace::v1;
using Json = nlohmann::json;
using otlp_test_support::ValidProtoSpan;
using ::testing::HasSubstr;
using ::testing::StartsWith;

// --- JSON decode -----------------------------------------------------------------------------

Json ValidJsonSpan() {
  return Json::parse(R"({
    "traceId": "5b8efff798038103d269b633813fc60c",
    "spanId": "eee19b7ec3c1b174",
    "name": "span",
    "startTimeUnixNano": "1544712660000000000",
    "endTimeUnixNano": "1544712661000000000"
  })");
}

// A request holding one valid span, then `span` at resourceSpans[0].scopeSpans[0].spans[1].
std::string JsonRequestWith(const Json& span) {
  Json request = Json::parse(R"({"resourceSpans":[{"resource":{},"scopeSpans":[{"spans":[]}]}]})");
  request["resourceSpans"][0]["scopeSpans"][0]["spans"] = Json::array({ValidJsonSpan(), span});
  return request.dump();
}

struct JsonErrorCase {
  const char* field;  // set on the span to `value`
  const char* value;  // JSON text
  const char* error;  // after "resourceSpans[0].scopeSpans[0].spans[1]"
};

TEST(OtlpJsonTest, RejectsInvalidSpansWithThePlaceAndReason) {
  const JsonErrorCase cases[] = {
      {"traceId", R"("5b8efff798038103d269b633813fc6")", ": traceId must be 16 bytes, got 15"},
      {"traceId", R"("")", ": traceId must be 16 bytes, got 0"},
      {"traceId", R"("00000000000000000000000000000000")", ": traceId must not be all zeros"},
      {"traceId", R"("5b8efff798038103d269b633813fc60")",
       ": traceId has an odd number of hex "
       "digits (31)"},
      {"traceId", R"("not an id")", R"(: traceId must be hex or base64, got "not an id")"},
      {"traceId", R"("W4739/+YA4EQ0mm2M4E/x!==")",
       R"(: traceId must be hex or base64, got "W4739/+YA4EQ0mm2M4E/x!==")"},
      {"traceId", "12", ": traceId must be a string, got 12"},
      {"spanId", R"("eee19b7ec3c1b1")", ": spanId must be 8 bytes, got 7"},
      {"spanId", R"("0000000000000000")", ": spanId must not be all zeros"},
      {"parentSpanId", R"("eee19b7e")", ": parentSpanId must be empty or 8 bytes, got 4"},
      {"name", "5", ": name must be a string, got 5"},
      {"startTimeUnixNano", R"("abc")",
       R"(: startTimeUnixNano must be an unsigned 64-bit integer, got "abc")"},
      {"startTimeUnixNano", "-5", ": startTimeUnixNano must be an unsigned 64-bit integer, got -5"},
      {"endTimeUnixNano", "1.5", ": endTimeUnixNano must be an unsigned 64-bit integer, got 1.5"},
      {"endTimeUnixNano", R"("18446744073709551616")",
       R"(: endTimeUnixNano must be an unsigned 64-bit integer, got "18446744073709551616")"},
      {"kind", R"("SPAN_KIND_BOGUS")",
       R"(: kind must be an enum number or name, got "SPAN_KIND_BOGUS")"},
      {"kind", "9", ": kind 9 is not a valid SpanKind (0-5)"},
      {"kind", "true", ": kind must be an enum number or name, got true"},
      {"status", R"({"code":"STATUS_CODE_NOPE"})",
       R"(.status: code must be an enum number or name, got "STATUS_CODE_NOPE")"},
      {"status", R"({"code":7})", ": status.code 7 is not a valid StatusCode (0-2)"},
      {"status", R"({"message":false})", ".status: message must be a string, got false"},
      {"status", R"("ERROR")", R"(.status: must be an object, got "ERROR")"},
      {"flags", "4294967296", ": flags must be an unsigned 32-bit integer, got 4294967296"},
      {"attributes", R"({"key":"a"})", R"(: attributes must be an array, got {"key":"a"})"},
      {"attributes",
       R"([{"key":"a","value":{"intValue":"1"}},{"key":"b","value":{"intValue":"12x"}}])",
       R"(.attributes[1].value: intValue must be a 64-bit integer, got "12x")"},
      {"attributes", R"([{"key":"a","value":{"intValue":"9223372036854775808"}}])",
       R"(.attributes[0].value: intValue must be a 64-bit integer, got "9223372036854775808")"},
      {"attributes", R"([{"key":7}])", ".attributes[0]: key must be a string, got 7"},
      {"attributes", R"([{"key":"a","value":{"bytesValue":"***"}}])",
       R"(.attributes[0].value: bytesValue must be base64, got "***")"},
      {"attributes", R"([{"key":"a","value":{"arrayValue":{"values":[{"boolValue":1}]}}}])",
       ".attributes[0].value.arrayValue.values[0]: boolValue must be a boolean, got 1"},
      {"attributes",
       R"([{"key":"a","value":{"kvlistValue":{"values":[{"key":"k","value":{"doubleValue":"x"}}]}}}])",
       R"(.attributes[0].value.kvlistValue.values[0].value: doubleValue must be a number, got "x")"},
      {"events", R"([{"name":"e","attributes":[{"key":"a","value":{"boolValue":"yes"}}]}])",
       R"(.events[0].attributes[0].value: boolValue must be a boolean, got "yes")"},
      {"events", R"([{"timeUnixNano":true}])",
       ".events[0]: timeUnixNano must be an unsigned 64-bit integer, got true"},
      {"events", "[3]", ".events[0]: must be an object, got 3"},
      {"links", R"({"traceId":"5b8efff798038103d269b633813fc60c"})",
       R"(: links must be an array, got {"traceId":"5b8efff798038103d269b633813fc60c"})"},
      {"links", "[3]", ".links[0]: must be an object, got 3"},
      {"links", R"([{"traceId":"zz"}])", R"(.links[0]: traceId must be hex or base64, got "zz")"},
      {"links", R"([{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7e"}])",
       ": links[0].spanId must be empty or 8 bytes, got 4"},
      {"links", R"([{},{"traceId":"5b8efff7"}])",
       ": links[1].traceId must be empty or 16 bytes, got 4"},
      {"links", R"([{"traceState":1}])", ".links[0]: traceState must be a string, got 1"},
      {"links", R"([{"attributes":[{"key":"a","value":{"boolValue":0}}]}])",
       ".links[0].attributes[0].value: boolValue must be a boolean, got 0"},
      {"links", R"([{"flags":-1}])", ".links[0]: flags must be an unsigned 32-bit integer, got -1"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(std::string(c.field) + " = " + c.value);
    Json span = ValidJsonSpan();
    span[c.field] = Json::parse(c.value);
    auto decoded = DecodeOtlpJson(JsonRequestWith(span));
    ASSERT_FALSE(decoded.ok());
    EXPECT_EQ(decoded.error().message,
              std::string("resourceSpans[0].scopeSpans[0].spans[1]") + c.error);
  }
}

TEST(OtlpJsonTest, RejectsMalformedDocumentsWithAReason) {
  struct Case {
    const char* body;
    const char* error;
  };
  const Case cases[] = {
      {"[]", "OTLP/JSON body must be an object, got []"},
      {R"({"resourceSpans":{}})", "resourceSpans must be an array, got {}"},
      {R"({"resourceSpans":[7]})", "resourceSpans[0]: must be an object, got 7"},
      {R"({"resourceSpans":[{"resource":[]}]})",
       "resourceSpans[0].resource: must be an object, got []"},
      {R"({"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":7}]}}]})",
       "resourceSpans[0].resource.attributes[0].value: must be an object, got 7"},
      {R"({"resourceSpans":[{"scopeSpans":"x"}]})",
       R"(resourceSpans[0]: scopeSpans must be an array, got "x")"},
      {R"({"resourceSpans":[{"scopeSpans":[{"spans":[[]]}]}]})",
       "resourceSpans[0].scopeSpans[0].spans[0]: must be an object, got []"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.body);
    auto decoded = DecodeOtlpJson(c.body);
    ASSERT_FALSE(decoded.ok());
    EXPECT_EQ(decoded.error().message, c.error);
  }
  for (const char* body : {"", "{", R"({"resourceSpans":[)", "nul", "{\"a\":\"\xff\"}"}) {
    SCOPED_TRACE(body);
    auto decoded = DecodeOtlpJson(body);
    ASSERT_FALSE(decoded.ok());
    EXPECT_THAT(decoded.error().message,
                StartsWith("invalid JSON: parse error at line 1, column "));
  }
}

TEST(OtlpJsonTest, DeeplyNestedValuesAreRejectedNotACrash) {
  constexpr int kLevels = 20000;
  std::string value;
  for (int i = 0; i < kLevels; ++i) value += R"({"arrayValue":{"values":[)";
  value += R"({"stringValue":"leaf"})";
  for (int i = 0; i < kLevels; ++i) value += "]}}";
  Json span = ValidJsonSpan();
  std::string body = JsonRequestWith(span);
  // Splice the text in (building it as a Json value would recurse while dumping).
  const std::string needle = R"("name":"span")";
  body.replace(body.rfind(needle), needle.size(),
               R"("name":"span","attributes":[{"key":"deep","value":)" + value + "}]");
  auto decoded = DecodeOtlpJson(body);
  ASSERT_FALSE(decoded.ok());
  EXPECT_THAT(decoded.error().message, HasSubstr("nested deeper than 64 levels"));
}

struct JsonVariantCase {
  const char* name;
  const char* span;  // a whole span object
  std::function<void(const Span&)> check;
};

TEST(OtlpJsonTest, AcceptsWhatRealClientsSend) {
  const JsonVariantCase cases[] = {
      {"64-bit fields as numbers",
       R"({"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174",
           "startTimeUnixNano":1544712660000000000,"endTimeUnixNano":18446744073709551615,
           "events":[{"timeUnixNano":1544712660500000000,"name":"e"}]})",
       [](const Span& s) {
         EXPECT_EQ(s.start_unix_nano, 1544712660000000000ull);
         EXPECT_EQ(s.end_unix_nano, 18446744073709551615ull);
         EXPECT_EQ(s.events.at(0).time_unix_nano, 1544712660500000000ull);
       }},
      {"64-bit fields as strings",
       R"({"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174",
           "startTimeUnixNano":"1544712660000000000","endTimeUnixNano":"18446744073709551615"})",
       [](const Span& s) {
         EXPECT_EQ(s.start_unix_nano, 1544712660000000000ull);
         EXPECT_EQ(s.end_unix_nano, 18446744073709551615ull);
       }},
      {"intValue as number and string",
       R"({"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174",
           "attributes":[{"key":"n","value":{"intValue":-42}},
                         {"key":"s","value":{"intValue":"-9223372036854775808"}},
                         {"key":"f","value":{"intValue":3.0}}]})",
       [](const Span& s) {
         EXPECT_EQ(s.attributes.at(0).value, AttributeValue(int64_t{-42}));
         EXPECT_EQ(s.attributes.at(1).value, AttributeValue(std::numeric_limits<int64_t>::min()));
         EXPECT_EQ(s.attributes.at(2).value, AttributeValue(int64_t{3}));
       }},
      {"kind and status code by enum name",
       R"({"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174",
           "kind":"SPAN_KIND_CONSUMER","status":{"code":"STATUS_CODE_ERROR"}})",
       [](const Span& s) {
         EXPECT_EQ(s.kind, SpanKind::kConsumer);
         EXPECT_EQ(s.status_code, StatusCode::kError);
         EXPECT_EQ(s.status_message, "");
       }},
      {"uppercase hex ids",
       R"({"traceId":"5B8EFFF798038103D269B633813FC60C","spanId":"EEE19B7EC3C1B174",
           "parentSpanId":"EEE19B7EC3C1B173"})",
       [](const Span& s) {
         EXPECT_EQ(s.trace_id.ToHex(), "5b8efff798038103d269b633813fc60c");
         EXPECT_EQ(s.span_id.ToHex(), "eee19b7ec3c1b174");
         EXPECT_EQ(s.parent_span_id.ToHex(), "eee19b7ec3c1b173");
       }},
      {"base64 ids (protobuf-JSON encoders)",
       R"({"traceId":"W47/95gDgQPSabYzgT/GDA==","spanId":"7uGbfsPBsXQ=",
           "parentSpanId":"7uGbfsPBsXM="})",
       [](const Span& s) {
         EXPECT_EQ(s.trace_id.ToHex(), "5b8efff798038103d269b633813fc60c");
         EXPECT_EQ(s.span_id.ToHex(), "eee19b7ec3c1b174");
         EXPECT_EQ(s.parent_span_id.ToHex(), "eee19b7ec3c1b173");
       }},
      {"URL-safe base64 ids", R"({"traceId":"W47_95gDgQPSabYzgT_GDA==","spanId":"7uGbfsPBsXQ="})",
       [](const Span& s) { EXPECT_EQ(s.trace_id.ToHex(), "5b8efff798038103d269b633813fc60c"); }},
      {"missing fields take defaults, nulls too",
       R"({"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174",
           "parentSpanId":"","name":null,"kind":null,"status":{},"attributes":null})",
       [](const Span& s) {
         EXPECT_FALSE(s.parent_span_id.IsValid());
         EXPECT_EQ(s.name, "");
         EXPECT_EQ(s.kind, SpanKind::kUnspecified);
         EXPECT_EQ(s.start_unix_nano, 0u);
         EXPECT_EQ(s.status_code, StatusCode::kUnset);
         EXPECT_TRUE(s.attributes.empty());
         EXPECT_EQ(s.flags, 0u);
       }},
      {"unknown fields are ignored",
       R"({"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174",
           "droppedAttributesCount":3,"droppedLinksCount":2,"futureField":{"a":[1,2]},
           "flags":769})",
       [](const Span& s) {
         EXPECT_EQ(s.flags, 769u);
         EXPECT_TRUE(s.links.empty());
       }},
      {"links with hex and base64 ids, state, attributes and flags",
       R"({"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174",
           "links":[{"traceId":"4BF92F3577B34DA6A3CE929D0E0E4736","spanId":"00F067AA0BA902B7",
                     "traceState":"rojo=1","flags":"257","droppedAttributesCount":1,
                     "attributes":[{"key":"tracerig.hop","value":{"stringValue":"0.1"}}]},
                    {"traceId":"W47/95gDgQPSabYzgT/GDA==","spanId":"7uGbfsPBsXQ=","futureField":1},
                    {"traceId":"","attributes":[{"key":"k","value":{"intValue":"1"}}]},
                    {"traceId":null,"spanId":null,"traceState":null,"attributes":null}]})",
       [](const Span& s) {
         ASSERT_EQ(s.links.size(), 4u);
         EXPECT_EQ(s.links[0], (SpanLink{*TraceId::FromHex("4bf92f3577b34da6a3ce929d0e0e4736"),
                                         *SpanId::FromHex("00f067aa0ba902b7"),
                                         "rojo=1",
                                         {{"tracerig.hop", std::string("0.1")}},
                                         257}));
         EXPECT_EQ(s.links[1].trace_id.ToHex(), "5b8efff798038103d269b633813fc60c");
         EXPECT_EQ(s.links[1].span_id.ToHex(), "eee19b7ec3c1b174");
         EXPECT_EQ(s.links[1].flags, 0u);
         // No valid context, but attributes: kept, as the specification allows.
         EXPECT_FALSE(s.links[2].trace_id.IsValid());
         EXPECT_FALSE(s.links[2].span_id.IsValid());
         EXPECT_EQ(s.links[2].attributes, (std::vector<Attribute>{{"k", int64_t{1}}}));
         EXPECT_EQ(s.links[3], SpanLink{});
         EXPECT_FALSE(s.parent_span_id.IsValid());  // a link is never the parent
       }},
      {"doubles as numbers and proto3 JSON strings",
       R"({"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174",
           "attributes":[{"key":"i","value":{"doubleValue":2}},
                         {"key":"inf","value":{"doubleValue":"-Infinity"}}]})",
       [](const Span& s) {
         EXPECT_EQ(s.attributes.at(0).value, AttributeValue(2.0));
         EXPECT_EQ(s.attributes.at(1).value,
                   AttributeValue(-std::numeric_limits<double>::infinity()));
       }},
      {"attribute without a value",
       R"({"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174",
           "attributes":[{"key":"novalue"},{"key":"emptyvalue","value":{}}]})",
       [](const Span& s) {
         EXPECT_EQ(s.attributes.at(0), (Attribute{"novalue", std::string()}));
         EXPECT_EQ(s.attributes.at(1), (Attribute{"emptyvalue", std::string()}));
       }},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    Json request = Json::parse(R"({"resourceSpans":[{"scopeSpans":[{"spans":[]}]}]})");
    request["resourceSpans"][0]["scopeSpans"][0]["spans"].push_back(Json::parse(c.span));
    auto decoded = DecodeOtlpJson(request.dump());
    ASSERT_TRUE(decoded.ok()) << decoded.error().message;
    ASSERT_EQ(decoded->size(), 1u);
    EXPECT_EQ((*decoded)[0].service_name, "unknown_service");
    c.check((*decoded)[0]);
  }
}

TEST(OtlpCodecTest, ArrayKvlistAndBytesValuesBecomeTheSameStringsFromBothEncodings) {
  const char* value_json = R"({"kvlistValue":{"values":[
      {"key":"z","value":{"arrayValue":{"values":[{"stringValue":"a\"b"},{"intValue":"-3"},
                                                  {"doubleValue":0.5},{"boolValue":true},
                                                  {"bytesValue":"3q2+7w=="},{}]}}},
      {"key":"a","value":{"kvlistValue":{"values":[]}}}]}})";
  const std::string expected = R"({"z":["a\"b",-3,0.5,true,"deadbeef",null],"a":{}})";
  Json request = Json::parse(R"({"resourceSpans":[{"scopeSpans":[{"spans":[]}]}]})");
  Json span = ValidJsonSpan();
  span["attributes"] = Json::array({{{"key", "kv"}, {"value", Json::parse(value_json)}},
                                    {{"key", "raw"}, {"value", {{"bytesValue", "AAEC/w=="}}}}});
  request["resourceSpans"][0]["scopeSpans"][0]["spans"].push_back(span);
  auto from_json = DecodeOtlpJson(request.dump());
  ASSERT_TRUE(from_json.ok()) << from_json.error().message;
  const std::vector<Attribute> want = {{"kv", expected}, {"raw", std::string("000102ff")}};
  EXPECT_EQ((*from_json)[0].attributes, want);

  // The same value built as protobuf.
  collector_pb::ExportTraceServiceRequest proto;
  trace_pb::Span* ps = proto.add_resource_spans()->add_scope_spans()->add_spans();
  ps->CopyFrom(ValidProtoSpan());
  auto* kv = ps->add_attributes();
  kv->set_key("kv");
  auto* list = kv->mutable_value()->mutable_kvlist_value();
  auto* z = list->add_values();
  z->set_key("z");
  auto* arr = z->mutable_value()->mutable_array_value();
  arr->add_values()->set_string_value("a\"b");
  arr->add_values()->set_int_value(-3);
  arr->add_values()->set_double_value(0.5);
  arr->add_values()->set_bool_value(true);
  arr->add_values()->set_bytes_value("\xde\xad\xbe\xef");
  arr->add_values();
  auto* a = list->add_values();
  a->set_key("a");
  a->mutable_value()->mutable_kvlist_value();
  auto* raw = ps->add_attributes();
  raw->set_key("raw");
  raw->mutable_value()->set_bytes_value(std::string("\x00\x01\x02\xff", 4));
  auto from_proto = DecodeOtlpProtobuf(proto.SerializeAsString());
  ASSERT_TRUE(from_proto.ok()) << from_proto.error().message;
  EXPECT_EQ((*from_proto)[0].attributes, want);
}

// --- Real payloads (shared fixtures) ---------------------------------------------------------

TEST(OtlpJsonFixtureTest, OpenTelemetryProtoExample) {
  TRACERIG_SHARED_FIXTURE(body, "otlp_json_export_request.json");
  auto decoded = DecodeOtlpJson(body);
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  ASSERT_EQ(decoded->size(), 1u);
  const Span& s = (*decoded)[0];
  EXPECT_EQ(s.trace_id.ToHex(), "5b8efff798038103d269b633813fc60c");  // sent as uppercase hex
  EXPECT_EQ(s.span_id.ToHex(), "eee19b7ec3c1b174");
  EXPECT_EQ(s.parent_span_id.ToHex(), "eee19b7ec3c1b173");
  EXPECT_EQ(s.name, "I'm a server span");
  EXPECT_EQ(s.kind, SpanKind::kServer);
  EXPECT_EQ(s.start_unix_nano, 1544712660000000000ull);
  EXPECT_EQ(s.end_unix_nano, 1544712661000000000ull);
  EXPECT_EQ(s.attributes, (std::vector<Attribute>{{"my.span.attr", std::string("some value")}}));
  EXPECT_EQ(s.service_name, "my.service");
  EXPECT_TRUE(s.resource_attributes.empty());
  EXPECT_EQ(s.status_code, StatusCode::kUnset);

  // And it survives our own encodings unchanged.
  auto via_proto = DecodeOtlpProtobuf(EncodeOtlpProtobuf(*decoded));
  ASSERT_TRUE(via_proto.ok());
  EXPECT_EQ(*via_proto, *decoded);
}

TEST(OtlpJsonFixtureTest, TelemetrygenDuplicateSpans) {
  TRACERIG_SHARED_FIXTURE(body, "otlp_json_telemetrygen_otlp2jaeger_in.json");
  auto decoded = DecodeOtlpJson(body);
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  ASSERT_EQ(decoded->size(), 2u);
  EXPECT_EQ((*decoded)[0], (*decoded)[1]);  // the fixture repeats one span; both are kept
  const Span& s = (*decoded)[0];
  EXPECT_EQ(s.trace_id.ToHex(), "83a9efd15c1c98a977e0711cc93ee28b");
  EXPECT_EQ(s.span_id.ToHex(), "e127af99e3b3e074");
  EXPECT_EQ(s.parent_span_id.ToHex(), "909541b92cf05311");
  EXPECT_EQ(s.name, "okey-dokey-0");
  EXPECT_EQ(s.kind, SpanKind::kServer);
  EXPECT_EQ(s.start_unix_nano, 1706678909209712000ull);
  EXPECT_EQ(s.end_unix_nano, 1706678909209835000ull);
  EXPECT_EQ(s.service_name, "telemetrygen");
  EXPECT_EQ(s.attributes,
            (std::vector<Attribute>{{"net.peer.ip", std::string("1.2.3.4")},
                                    {"peer.service", std::string("telemetrygen-client")}}));
  EXPECT_EQ(s.status_code, StatusCode::kUnset);  // "status": {}
}

TEST(OtlpJsonFixtureTest, JaegerApiV3EveryAnyValueType) {
  TRACERIG_SHARED_FIXTURE(body, "jaeger_apiv3_get_trace_anyvalue_probe.json");
  auto decoded =
      DecodeOtlpJsonResourceSpans(Json::parse(body)["result"]["resourceSpans"], "resourceSpans");
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  ASSERT_EQ(decoded->size(), 3u);
  const Span& root = (*decoded)[0];
  EXPECT_EQ(root.service_name, "lfx-wire-probe");
  EXPECT_EQ(root.kind, SpanKind::kUnspecified);  // no "kind"
  const std::vector<Attribute> want = {
      {"array", std::string(R"(["first",false,9223372036854775807])")},
      {"bytes", std::string("010203")},
      {"empty", std::string()},
      {"false", false},
      {"float", 1.5},
      {"integer", int64_t{0}},
      {"nested", std::string(R"({"child":["value"]})")}};
  EXPECT_EQ(root.attributes, want);
  ASSERT_EQ(root.events.size(), 1u);
  EXPECT_EQ(root.events[0],
            (SpanEvent{1786934400000500000ull, "retry", {{"attempt", int64_t{1}}}}));
  EXPECT_EQ(root.status_code, StatusCode::kError);
  EXPECT_EQ(root.status_message, "probe error status");
  ASSERT_EQ(root.links.size(), 1u);  // Jaeger 2.21's api_v3 link, with state and flags
  EXPECT_EQ(root.links[0], (SpanLink{*TraceId::FromHex("fedcba9876543210fedcba9876543210"),
                                     *SpanId::FromHex("fedcba9876543210"),
                                     "vendor=example",
                                     {},
                                     1}));
  EXPECT_TRUE((*decoded)[1].links.empty());
  EXPECT_EQ((*decoded)[1].status_code, StatusCode::kUnset);
  EXPECT_EQ((*decoded)[1].parent_span_id, root.span_id);
  EXPECT_EQ((*decoded)[2].kind, SpanKind::kServer);
  EXPECT_EQ((*decoded)[2].status_code, StatusCode::kOk);
}

TEST(OtlpJsonFixtureTest, JaegerApiV3HotrodKeepsFlagsAndEvents) {
  TRACERIG_SHARED_FIXTURE(body, "jaeger_apiv3_get_trace_hotrod.json");
  auto decoded =
      DecodeOtlpJsonResourceSpans(Json::parse(body)["result"]["resourceSpans"], "resourceSpans");
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  ASSERT_EQ(decoded->size(), 40u);
  std::map<uint32_t, int> flags;
  std::map<std::string, int> per_service;
  size_t events = 0;
  int errors = 0;
  const Span* root = nullptr;
  for (const Span& s : *decoded) {
    ++flags[s.flags];
    ++per_service[s.service_name];
    events += s.events.size();
    if (s.status_code == StatusCode::kError) ++errors;
    if (!s.parent_span_id.IsValid()) root = &s;
  }
  EXPECT_EQ(flags, (std::map<uint32_t, int>{{257, 28}, {769, 12}}));
  EXPECT_EQ(per_service, (std::map<std::string, int>{{"customer", 1},
                                                     {"driver", 1},
                                                     {"frontend", 13},
                                                     {"mysql", 1},
                                                     {"redis-manual", 14},
                                                     {"route", 10}}));
  EXPECT_EQ(events, 52u);
  EXPECT_EQ(errors, 3);
  ASSERT_NE(root, nullptr);
  EXPECT_EQ(root->name, "GET /dispatch");
  EXPECT_EQ(root->span_id.ToHex(), "c8d93156b47cd010");
  EXPECT_EQ(root->trace_id.ToHex(), "2ea75461946a7dd10f2c15ab36a076cb");
}

TEST(OtlpJsonFixtureTest, TempoBatchesWithBase64IdsAndEnumNames) {
  TRACERIG_SHARED_FIXTURE(body, "tempo_v1_trace_by_id_kiali_bookinfo.json");
  auto decoded = DecodeOtlpJsonResourceSpans(Json::parse(body)["batches"], "batches");
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  ASSERT_EQ(decoded->size(), 8u);
  const Span& first = (*decoded)[0];
  EXPECT_EQ(first.trace_id.ToHex(), "3ba55609c3cde49649cd77d1f9dcd936");
  EXPECT_EQ(first.span_id.ToHex(), "49cd77d1f9dcd936");
  EXPECT_FALSE(first.parent_span_id.IsValid());
  EXPECT_EQ(first.kind, SpanKind::kClient);
  EXPECT_EQ(first.service_name, "istio-ingressgateway.istio-system");
  EXPECT_EQ(first.start_unix_nano, 1701779876570888000ull);
  EXPECT_EQ(first.attributes.size(), 20u);
  const Span& last = (*decoded)[7];
  EXPECT_EQ(last.span_id.ToHex(), "e9d3d5f02056e0bc");
  EXPECT_EQ(last.parent_span_id.ToHex(), "7c597bf56ddf1a03");
  EXPECT_EQ(last.kind, SpanKind::kServer);
  EXPECT_EQ(last.service_name, "ratings.bookinfo");
}

TEST(OtlpJsonTest, ResourceSpansArrayErrorsUseTheGivenPath) {
  auto decoded = DecodeOtlpJsonResourceSpans(
      Json::parse(R"([{"scopeSpans":[{"spans":[{"traceId":"AAAA"}]}]}])"), "batches");
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.error().message,
            "batches[0].scopeSpans[0].spans[0]: traceId must be 16 bytes, got 2");
  auto not_array = DecodeOtlpJsonResourceSpans(Json::parse("{}"), "batches");
  ASSERT_FALSE(not_array.ok());
  EXPECT_EQ(not_array.error().message, "batches must be an array, got {}");
  auto null = DecodeOtlpJsonResourceSpans(Json(), "batches");
  ASSERT_TRUE(null.ok());
  EXPECT_TRUE(null->empty());
}

}  // namespace
}  // namespace tracerig
