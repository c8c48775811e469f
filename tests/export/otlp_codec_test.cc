// OTLP codec: round trips through protobuf and JSON, escaping, grouping by resource and the JSON
// encoding of ids, enums and 64-bit numbers.
#include "export/otlp_codec.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"
#include "tests/export/otlp_codec_test_support.h"

namespace tracerig {
namespace {

namespace collector_pb = opentelemetry::proto::collector::trace::v1;
using Json = nlohmann::json;
using otlp_test_support::EverySpanFeature;
using ::testing::HasSubstr;

TEST(OtlpProtobufTest, RoundTripKeepsEveryField) {
  const std::vector<Span> spans = EverySpanFeature();
  auto decoded = DecodeOtlpProtobuf(EncodeOtlpProtobuf(spans));
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  ASSERT_EQ(decoded->size(), spans.size());
  for (size_t i = 0; i < spans.size(); ++i) EXPECT_EQ((*decoded)[i], spans[i]) << "span " << i;
}

TEST(OtlpJsonTest, RoundTripKeepsEveryField) {
  const std::vector<Span> spans = EverySpanFeature();
  auto decoded = DecodeOtlpJson(EncodeOtlpJson(spans));
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  ASSERT_EQ(decoded->size(), spans.size());
  for (size_t i = 0; i < spans.size(); ++i) EXPECT_EQ((*decoded)[i], spans[i]) << "span " << i;
}

TEST(OtlpJsonTest, NonFiniteDoublesRoundTrip) {
  Span span = EverySpanFeature()[0];
  span.attributes = {{"nan", std::numeric_limits<double>::quiet_NaN()},
                     {"inf", std::numeric_limits<double>::infinity()},
                     {"-inf", -std::numeric_limits<double>::infinity()}};
  for (const auto& decoded :
       {DecodeOtlpJson(EncodeOtlpJson({span})), DecodeOtlpProtobuf(EncodeOtlpProtobuf({span}))}) {
    ASSERT_TRUE(decoded.ok()) << decoded.error().message;
    const auto& attrs = (*decoded)[0].attributes;
    ASSERT_EQ(attrs.size(), 3u);
    EXPECT_TRUE(std::isnan(std::get<double>(attrs[0].value)));
    EXPECT_EQ(std::get<double>(attrs[1].value), std::numeric_limits<double>::infinity());
    EXPECT_EQ(std::get<double>(attrs[2].value), -std::numeric_limits<double>::infinity());
  }
}

Span SpanWithAwkwardText() {
  Span span = EverySpanFeature()[0];
  span.name = std::string("q\"b\\n\n\t\x01\x1f end\0", 14);  // with a NUL
  span.status_message = "bad \xff byte, overlong \xc0\xaf, surrogate \xed\xa0\x80, ok \xe2\x82\xac";
  span.attributes = {{"k\"ey", std::string("\xf0\x9f\x98\x80")},
                     {"bad\xfe key", std::string("cut \xe2\x82")}};
  span.events = {SpanEvent{1, "event \x80", {}}};
  span.service_name = "svc \xc3";
  return span;
}

void ExpectAwkwardTextDecoded(const Result<std::vector<Span>>& decoded) {
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  const Span& s = (*decoded)[0];
  EXPECT_EQ(s.name, SpanWithAwkwardText().name);
  EXPECT_EQ(s.status_message,
            "bad \uFFFD byte, overlong \uFFFD\uFFFD, surrogate \uFFFD\uFFFD\uFFFD, ok \u20AC");
  EXPECT_EQ(s.attributes,
            (std::vector<Attribute>{{"k\"ey", std::string("\U0001F600")},
                                    {"bad\uFFFD key", std::string("cut \uFFFD\uFFFD")}}));
  EXPECT_EQ(s.events.at(0).name, "event \uFFFD");
  EXPECT_EQ(s.service_name, "svc \uFFFD");
}

TEST(OtlpJsonTest, EscapesStringsAndReplacesInvalidUtf8) {
  const std::string body = EncodeOtlpJson({SpanWithAwkwardText()});
  EXPECT_THAT(body, HasSubstr(R"("name":"q\"b\\n\n\t\u0001\u001f end\u0000")"));
  ASSERT_TRUE(Json::accept(body));
  ExpectAwkwardTextDecoded(DecodeOtlpJson(body));
}

// Receivers reject a protobuf request with any non-UTF-8 string; one bad value must not cost the
// batch.
TEST(OtlpProtobufTest, ReplacesInvalidUtf8) {
  ExpectAwkwardTextDecoded(DecodeOtlpProtobuf(EncodeOtlpProtobuf({SpanWithAwkwardText()})));
}

TEST(OtlpCodecTest, EmptyBatchEncodesToAnEmptyRequest) {
  EXPECT_EQ(EncodeOtlpProtobuf({}), "");
  EXPECT_EQ(EncodeOtlpJson({}), R"({"resourceSpans":[]})");
  auto from_proto = DecodeOtlpProtobuf("");
  ASSERT_TRUE(from_proto.ok());
  EXPECT_TRUE(from_proto->empty());
  auto from_json = DecodeOtlpJson("{}");
  ASSERT_TRUE(from_json.ok());
  EXPECT_TRUE(from_json->empty());
}

TEST(OtlpProtobufTest, GroupsSpansByResourceInOrderOfFirstAppearance) {
  std::vector<Span> spans;
  for (const char* service : {"a", "b", "a", "c", "b", "a"}) {
    Span s;
    s.trace_id = TraceId{1, 2};
    s.span_id = SpanId{spans.size() + 1};
    s.name = service;
    s.service_name = service;
    if (std::string_view(service) == "c") s.resource_attributes = {{"zone", std::string("z1")}};
    spans.push_back(s);
  }
  collector_pb::ExportTraceServiceRequest request;
  ASSERT_TRUE(request.ParseFromString(EncodeOtlpProtobuf(spans)));
  ASSERT_EQ(request.resource_spans_size(), 3);
  const char* services[] = {"a", "b", "c"};
  const std::vector<std::vector<uint64_t>> span_ids = {{1, 3, 6}, {2, 5}, {4}};
  for (int r = 0; r < 3; ++r) {
    const auto& rs = request.resource_spans(r);
    ASSERT_GE(rs.resource().attributes_size(), 1);
    EXPECT_EQ(rs.resource().attributes(0).key(), "service.name");
    EXPECT_EQ(rs.resource().attributes(0).value().string_value(), services[r]);
    ASSERT_EQ(rs.scope_spans_size(), 1);
    EXPECT_EQ(rs.scope_spans(0).scope().name(), "tracerig");
    std::vector<uint64_t> ids;
    for (const auto& s : rs.scope_spans(0).spans()) {
      ids.push_back(SpanId::FromBytes(reinterpret_cast<const uint8_t*>(s.span_id().data())).value);
    }
    EXPECT_EQ(ids, span_ids[r]) << "resource " << r;
  }
  ASSERT_EQ(request.resource_spans(2).resource().attributes_size(), 2);
  EXPECT_EQ(request.resource_spans(2).resource().attributes(1).key(), "zone");
}

TEST(OtlpJsonTest, EncodesIdsAsHexEnumsAsIntegersAnd64BitAsStrings) {
  const Json request = Json::parse(EncodeOtlpJson(EverySpanFeature()));
  ASSERT_EQ(request["resourceSpans"].size(), 3u);
  const Json& rs = request["resourceSpans"][0];
  EXPECT_EQ(rs["resource"]["attributes"][0],
            Json::parse(R"({"key":"service.name","value":{"stringValue":"frontend"}})"));
  EXPECT_EQ(rs["scopeSpans"][0]["scope"]["name"], "tracerig");
  const Json& root = rs["scopeSpans"][0]["spans"][0];
  EXPECT_EQ(root["traceId"], "0af7651916cd43dd8448eb211c80319c");
  EXPECT_EQ(root["spanId"], "b7ad6b7169203331");
  EXPECT_FALSE(root.contains("parentSpanId"));
  EXPECT_EQ(root["kind"], 2);
  EXPECT_EQ(root["startTimeUnixNano"], "1700000000123456789");
  EXPECT_EQ(root["flags"], 0x301);
  EXPECT_EQ(root["status"], Json::parse(R"({"message":"upstream timed out","code":2})"));
  EXPECT_EQ(root["attributes"][3], Json::parse(R"({"key":"http.status_code",
                                                   "value":{"intValue":"200"}})"));
  EXPECT_EQ(root["events"][0]["timeUnixNano"], "1700000000150000000");
  EXPECT_EQ(root["links"][0], Json::parse(R"({"traceId":"4bf92f3577b34da6a3ce929d0e0e4736",
      "spanId":"00f067aa0ba902b7","traceState":"rojo=00f067aa0ba902b7",
      "attributes":[{"key":"tracerig.request_id","value":{"stringValue":"r-7"}},
                    {"key":"tracerig.hop","value":{"stringValue":"0.1"}},
                    {"key":"messaging.batch.index","value":{"intValue":"2"}},
                    {"key":"sampled","value":{"boolValue":true}},
                    {"key":"weight","value":{"doubleValue":0.5}}],
      "flags":769})"));
  // Empty state, attributes and zero flags are left out, as for spans.
  EXPECT_EQ(root["links"][1], Json::parse(R"({"traceId":"00000000000000000000000000000009",
                                              "spanId":"ffffffffffffffff"})"));
  const Json& other = request["resourceSpans"][1]["scopeSpans"][0]["spans"][0];
  EXPECT_EQ(other["traceId"], "0000000000000000000000000000002a");
  EXPECT_EQ(other["parentSpanId"], "0000000000000001");
  EXPECT_EQ(other["endTimeUnixNano"], "18446744073709551615");
}

}  // namespace
}  // namespace tracerig
