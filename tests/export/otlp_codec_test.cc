// OTLP codec: round trips through protobuf and JSON, the exact errors of both decoders, what real
// SDKs and backends send (shared fixtures), and gzip.
#include "export/otlp_codec.h"

#include <gmock/gmock.h>
#include <google/protobuf/stubs/logging.h>
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>

#include "core/rng.h"
#include "export/gzip.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"
#include "tests/support/fixtures.h"

namespace tracerig {
namespace {

namespace collector_pb = opentelemetry::proto::collector::trace::v1;
namespace trace_pb = opentelemetry::proto::trace::v1;
using Json = nlohmann::json;
using ::testing::HasSubstr;
using ::testing::StartsWith;

TraceId Tid(std::string_view hex) { return *TraceId::FromHex(hex); }
SpanId Sid(std::string_view hex) { return *SpanId::FromHex(hex); }

// Spans covering every field, attribute type, kind and status, grouped by resource in the order
// the encoders write them (so a round trip gives back the same vector).
std::vector<Span> EverySpanFeature() {
  std::vector<Span> spans;
  Span root;
  root.trace_id = Tid("0af7651916cd43dd8448eb211c80319c");
  root.span_id = Sid("b7ad6b7169203331");
  root.trace_state = "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7";
  root.name = "GET /checkout";
  root.kind = SpanKind::kServer;
  root.start_unix_nano = 1'700'000'000'123'456'789ull;
  root.end_unix_nano = 1'700'000'000'223'456'789ull;
  root.attributes = {{"http.method", std::string("GET")},
                     {"retry", true},
                     {"cache.hit", false},
                     {"http.status_code", int64_t{200}},
                     {"big", std::numeric_limits<int64_t>::max()},
                     {"small", std::numeric_limits<int64_t>::min()},
                     {"negative", int64_t{-1}},
                     {"ratio", 0.25},
                     {"empty", std::string()},
                     {"unicode", std::string("caf\xc3\xa9")}};
  root.events = {SpanEvent{1'700'000'000'150'000'000ull,
                           "exception",
                           {{"exception.type", std::string("Timeout")}, {"attempt", int64_t{3}}}},
                 SpanEvent{1'700'000'000'160'000'000ull, "no attributes", {}}};
  root.status_code = StatusCode::kError;
  root.status_message = "upstream timed out";
  root.flags = 0x301;  // sampled, has-is-remote, is-remote: all bits must survive
  root.service_name = "frontend";
  root.resource_attributes = {{"service.version", std::string("1.2.3")}, {"host.cpus", int64_t{8}}};
  spans.push_back(root);

  const SpanKind kinds[] = {SpanKind::kUnspecified, SpanKind::kInternal, SpanKind::kClient,
                            SpanKind::kProducer, SpanKind::kConsumer};
  uint64_t id = 0x1000;
  for (SpanKind kind : kinds) {
    Span child;
    child.trace_id = root.trace_id;
    child.span_id = SpanId{++id};
    child.parent_span_id = root.span_id;
    child.name = std::string("child ") + std::string(SpanKindName(kind));
    child.kind = kind;
    child.start_unix_nano = root.start_unix_nano + id;
    child.end_unix_nano = child.start_unix_nano + 1000;
    child.status_code = StatusCode::kOk;
    child.flags = 0x01;
    child.service_name = "frontend";
    child.resource_attributes = root.resource_attributes;
    spans.push_back(child);
  }
  Span other;  // another service, no resource attributes, high trace-id bits zero
  other.trace_id = TraceId{0, 42};
  other.span_id = SpanId{0xffffffffffffffffull};
  other.parent_span_id = SpanId{1};
  other.name = "GetCart";
  other.kind = SpanKind::kServer;
  other.start_unix_nano = 1;
  other.end_unix_nano = std::numeric_limits<uint64_t>::max();
  other.status_message = "message without a code";
  other.service_name = "cart";
  spans.push_back(other);
  Span same_name_other_resource = other;  // same service.name, different resource: own group
  same_name_other_resource.span_id = SpanId{7};
  same_name_other_resource.resource_attributes = {{"k8s.pod.name", std::string("cart-1")}};
  spans.push_back(same_name_other_resource);
  return spans;
}

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
  const Json& other = request["resourceSpans"][1]["scopeSpans"][0]["spans"][0];
  EXPECT_EQ(other["traceId"], "0000000000000000000000000000002a");
  EXPECT_EQ(other["parentSpanId"], "0000000000000001");
  EXPECT_EQ(other["endTimeUnixNano"], "18446744073709551615");
}

// --- Protobuf decode errors ------------------------------------------------------------------

trace_pb::Span ValidProtoSpan() {
  trace_pb::Span s;
  s.set_trace_id(std::string(15, '\x01') + "\x02");
  s.set_span_id(std::string(8, '\x03'));
  s.set_name("ok");
  return s;
}

struct ProtoErrorCase {
  const char* name;
  std::function<void(trace_pb::Span&)> mutate;
  const char* error;
};

TEST(OtlpProtobufTest, RejectsInvalidSpansWithThePlaceAndReason) {
  const ProtoErrorCase cases[] = {
      {"short trace id", [](auto& s) { s.set_trace_id(std::string(15, '\x01')); },
       "resourceSpans[1].scopeSpans[1].spans[2]: traceId must be 16 bytes, got 15"},
      {"long trace id", [](auto& s) { s.set_trace_id(std::string(17, '\x01')); },
       "resourceSpans[1].scopeSpans[1].spans[2]: traceId must be 16 bytes, got 17"},
      {"missing trace id", [](auto& s) { s.clear_trace_id(); },
       "resourceSpans[1].scopeSpans[1].spans[2]: traceId must be 16 bytes, got 0"},
      {"zero trace id", [](auto& s) { s.set_trace_id(std::string(16, '\0')); },
       "resourceSpans[1].scopeSpans[1].spans[2]: traceId must not be all zeros"},
      {"short span id", [](auto& s) { s.set_span_id(std::string(7, '\x01')); },
       "resourceSpans[1].scopeSpans[1].spans[2]: spanId must be 8 bytes, got 7"},
      {"zero span id", [](auto& s) { s.set_span_id(std::string(8, '\0')); },
       "resourceSpans[1].scopeSpans[1].spans[2]: spanId must not be all zeros"},
      {"4-byte parent", [](auto& s) { s.set_parent_span_id("\x01\x02\x03\x04"); },
       "resourceSpans[1].scopeSpans[1].spans[2]: parentSpanId must be empty or 8 bytes, got 4"},
      {"unknown kind", [](auto& s) { s.set_kind(static_cast<trace_pb::Span_SpanKind>(9)); },
       "resourceSpans[1].scopeSpans[1].spans[2]: kind 9 is not a valid SpanKind (0-5)"},
      {"negative kind", [](auto& s) { s.set_kind(static_cast<trace_pb::Span_SpanKind>(-1)); },
       "resourceSpans[1].scopeSpans[1].spans[2]: kind -1 is not a valid SpanKind (0-5)"},
      {"unknown status",
       [](auto& s) { s.mutable_status()->set_code(static_cast<trace_pb::Status_StatusCode>(3)); },
       "resourceSpans[1].scopeSpans[1].spans[2]: status.code 3 is not a valid StatusCode (0-2)"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    collector_pb::ExportTraceServiceRequest request;
    request.add_resource_spans()->add_scope_spans()->add_spans()->CopyFrom(ValidProtoSpan());
    auto* rs = request.add_resource_spans();
    rs->add_scope_spans()->add_spans()->CopyFrom(ValidProtoSpan());
    auto* ss = rs->add_scope_spans();
    for (int i = 0; i < 3; ++i) ss->add_spans()->CopyFrom(ValidProtoSpan());
    c.mutate(*ss->mutable_spans(2));
    auto decoded = DecodeOtlpProtobuf(request.SerializeAsString());
    ASSERT_FALSE(decoded.ok());
    EXPECT_EQ(decoded.error().message, c.error);
  }
}

TEST(OtlpProtobufTest, AllZeroParentIsARootAndMissingServiceNameIsUnknown) {
  collector_pb::ExportTraceServiceRequest request;
  auto* rs = request.add_resource_spans();
  auto* host = rs->mutable_resource()->add_attributes();
  host->set_key("host.name");
  host->mutable_value()->set_string_value("box");
  trace_pb::Span* span = rs->add_scope_spans()->add_spans();
  span->CopyFrom(ValidProtoSpan());
  span->set_parent_span_id(std::string(8, '\0'));
  auto decoded = DecodeOtlpProtobuf(request.SerializeAsString());
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  ASSERT_EQ(decoded->size(), 1u);
  EXPECT_FALSE((*decoded)[0].parent_span_id.IsValid());
  EXPECT_EQ((*decoded)[0].service_name, "unknown_service");
  EXPECT_EQ((*decoded)[0].resource_attributes,
            (std::vector<Attribute>{{"host.name", std::string("box")}}));
}

TEST(OtlpProtobufTest, RejectsGarbageAndEveryTruncation) {
  auto garbage = DecodeOtlpProtobuf("\xff\xff\xff\xff");
  ASSERT_FALSE(garbage.ok());
  EXPECT_EQ(garbage.error().message,
            "body is not a valid ExportTraceServiceRequest protobuf (4 bytes): truncated, "
            "malformed, or a string field is not UTF-8");

  // One ResourceSpans: any cut inside it leaves a length prefix pointing past the end.
  std::vector<Span> spans = EverySpanFeature();
  spans.resize(3);
  const std::string body = EncodeOtlpProtobuf(spans);
  for (size_t cut = 1; cut < body.size(); ++cut) {
    auto decoded = DecodeOtlpProtobuf(std::string_view(body).substr(0, cut));
    ASSERT_FALSE(decoded.ok()) << "cut at " << cut;
    EXPECT_EQ(decoded.error().message,
              "body is not a valid ExportTraceServiceRequest protobuf (" + std::to_string(cut) +
                  " bytes): truncated, malformed, or a string field is not UTF-8");
  }
}

TEST(OtlpProtobufTest, RandomBytesNeverCrash) {
  Rng rng(20240601);
  const std::string valid = EncodeOtlpProtobuf(EverySpanFeature());
  int rejected = 0;
  for (int round = 0; round < 2000; ++round) {
    std::string body = valid;
    // Flip a few bytes of a valid body: mostly structural damage, sometimes still parseable.
    for (int k = 0; k < 3; ++k) body[rng.Next() % body.size()] = static_cast<char>(rng.Next());
    auto decoded = DecodeOtlpProtobuf(body);
    if (!decoded.ok()) ++rejected;
  }
  EXPECT_GT(rejected, 0);
}

// --- The streaming protobuf decoder against the generated-message one ----------------------

// A request using every part of the schema the streaming decoder reads or must validate: array,
// kvlist and bytes values, links, scopes with attributes, schema URLs, dropped counts.
std::string EveryWireFeature() {
  collector_pb::ExportTraceServiceRequest request;
  for (const Span& span : EverySpanFeature()) {
    collector_pb::ExportTraceServiceRequest one;
    one.ParseFromString(EncodeOtlpProtobuf({span}));
    request.MergeFrom(one);
  }
  auto* rs = request.mutable_resource_spans(0);
  rs->set_schema_url("https://opentelemetry.io/schemas/1.21.0");
  rs->mutable_resource()->set_dropped_attributes_count(2);
  auto* ss = rs->mutable_scope_spans(0);
  ss->set_schema_url("https://example.com/scope");
  ss->mutable_scope()->set_version("1.0");
  auto* scope_attr = ss->mutable_scope()->add_attributes();
  scope_attr->set_key("scope.k");
  scope_attr->mutable_value()->set_int_value(1);
  trace_pb::Span* span = ss->mutable_spans(0);
  span->set_dropped_attributes_count(3);
  span->set_dropped_events_count(4);
  span->set_dropped_links_count(5);
  auto* link = span->add_links();
  link->set_trace_id(std::string(16, '\x05'));
  link->set_span_id(std::string(8, '\x06'));
  link->set_trace_state("k=v");
  auto* array = span->add_attributes();
  array->set_key("list");
  auto* values = array->mutable_value()->mutable_array_value();
  values->add_values()->set_string_value("a");
  values->add_values()->set_int_value(2);
  values->add_values()->mutable_kvlist_value();
  auto* kvlist = span->add_attributes();
  kvlist->set_key("map");
  auto* entry = kvlist->mutable_value()->mutable_kvlist_value()->add_values();
  entry->set_key("inner");
  entry->mutable_value()->set_double_value(1.5);
  auto* bytes = span->add_attributes();
  bytes->set_key("raw");
  bytes->mutable_value()->set_bytes_value(std::string("\x00\xff\x10", 3));
  span->add_attributes()->set_key("no value");
  return request.SerializeAsString();
}

void ExpectSameDecoding(std::string_view body) {
  auto streamed = DecodeOtlpProtobuf(body);
  auto reference = DecodeOtlpProtobufViaMessages(body);
  ASSERT_EQ(streamed.ok(), reference.ok())
      << (streamed.ok() ? "reference: " + reference.error().message
                        : "streamed: " + streamed.error().message);
  if (streamed.ok()) {
    EXPECT_EQ(*streamed, *reference);
  } else {
    EXPECT_EQ(streamed.error().message, reference.error().message);
  }
}

TEST(OtlpProtobufStreamingTest, DecodesEveryFeatureAsTheGeneratedMessagesDo) {
  const std::string body = EveryWireFeature();
  auto decoded = DecodeOtlpProtobuf(body);
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  const Span& span = (*decoded)[0];
  EXPECT_EQ(AttributeValueToString(*span.FindAttribute("list")), R"(["a",2,{}])");
  EXPECT_EQ(AttributeValueToString(*span.FindAttribute("map")), R"({"inner":1.5})");
  EXPECT_EQ(AttributeValueToString(*span.FindAttribute("raw")), "00ff10");
  EXPECT_EQ(AttributeValueToString(*span.FindAttribute("no value")), "");
  ExpectSameDecoding(body);
  ExpectSameDecoding("");
}

// One row per wire-format rule: both decoders must agree on each (accept and decode alike, or
// reject with the same message).
TEST(OtlpProtobufStreamingTest, FollowsTheWireFormatRulesOfLibprotobuf) {
  const std::string valid = EncodeOtlpProtobuf({EverySpanFeature()[0]});
  auto with_span = [](const std::function<void(std::string&)>& edit) {
    // A one-span request whose span bytes are `ValidProtoSpan()` edited at the wire level.
    std::string span = ValidProtoSpan().SerializeAsString();
    edit(span);
    auto field = [](int number, std::string_view bytes) {
      std::string out(1, static_cast<char>(number << 3 | 2));
      size_t n = bytes.size();
      while (n >= 0x80) {
        out.push_back(static_cast<char>((n & 0x7f) | 0x80));
        n >>= 7;
      }
      out.push_back(static_cast<char>(n));
      return out.append(bytes);
    };
    return field(1, field(2, field(2, span)));
  };
  const struct {
    const char* name;
    std::string body;
  } rows[] = {
      {"valid", valid},
      {"unknown varint field at the top", valid + std::string("\x10\x01", 2)},
      {"unknown fixed32 field at the top", valid + std::string("\x15\x01\x02\x03\x04", 5)},
      {"unknown group at the top", valid + std::string("\x1b\x08\x01\x1c", 4)},
      {"group closed by another number", valid + std::string("\x1b\x08\x01\x24", 4)},
      {"unclosed group", valid + std::string("\x1b\x08\x01", 3)},
      {"end group outside a group", valid + std::string("\x0c", 1)},
      {"field number zero", valid + std::string("\x00\x01", 2)},
      // Found by the mutation test below: libprotobuf reads at most 5 tag bytes and drops bits
      // past 32, so this is an unknown varint field, not an error.
      {"five-byte tag with bits past 32", valid + std::string("\xf0\xff\xe0\x85\x3d\x01", 6)},
      {"six-byte tag", valid + std::string("\x88\x80\x80\x80\x80\x00\x01", 7)},
      {"six-byte length", valid + std::string("\x1a\x81\x80\x80\x80\x80\x00\x00", 8)},
      {"wire type 6", valid + std::string("\x0e", 1)},
      {"eleven-byte varint",
       valid + std::string("\x10\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 12)},
      {"resource spans sent as a varint (skipped as unknown)", std::string("\x08\x05", 2)},
      {"span name sent as a varint",
       with_span([](std::string& s) { s += std::string("\x28\x07", 2); })},
      {"name twice: the last wins",
       with_span([](std::string& s) { s += std::string("\x2a\x01Z", 3); })},
      {"trace id twice: the last wins",
       with_span([](std::string& s) { s += "\x0a\x10" + std::string(16, '\x09'); })},
      {"trace id twice: the last is short",
       with_span([](std::string& s) { s += "\x0a\x03" + std::string(3, '\x09'); })},
      {"status twice: fields merge",
       with_span([](std::string& s) { s += std::string("\x7a\x02\x18\x02\x7a\x03\x12\x01m", 9); })},
      {"kind out of range", with_span([](std::string& s) { s += std::string("\x30\x09", 2); })},
      {"negative kind", with_span([](std::string& s) {
         s += std::string("\x30\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 11);
       })},
      {"name not UTF-8", with_span([](std::string& s) { s += std::string("\x2a\x01\xff", 3); })},
      {"attribute value in two pieces: they merge", with_span([](std::string& s) {
         s += std::string("\x4a\x0b\x0a\x01k\x12\x02\x18\x05\x12\x02\x10\x01", 13);
       })},
      {"attribute with a string then an int: the last wins", with_span([](std::string& s) {
         s += std::string("\x4a\x0a\x0a\x01k\x12\x05\x0a\x01x\x18\x07", 12);
       })},
      {"attribute key not UTF-8",
       with_span([](std::string& s) { s += std::string("\x4a\x03\x0a\x01\xc3", 5); })},
      {"link with a bad string",
       with_span([](std::string& s) { s += std::string("\x6a\x03\x1a\x01\xff", 5); })},
      {"flags as a varint (skipped)",
       with_span([](std::string& s) { s += std::string("\x80\x01\x05", 3); })},
      {"span length past the end", valid.substr(0, valid.size() - 1)},
  };
  for (const auto& row : rows) {
    SCOPED_TRACE(row.name);
    ExpectSameDecoding(row.body);
  }
}

TEST(OtlpProtobufStreamingTest, NestingStopsWhereLibprotobufStops) {
  // An attribute whose value is arrays nested `levels` deep; libprotobuf allows 100 levels of
  // messages in all, and the attribute value sits at level 5.
  for (int levels : {10, 90, 94, 95, 96, 97, 120}) {
    SCOPED_TRACE(levels);
    collector_pb::ExportTraceServiceRequest request;
    trace_pb::Span* span = request.add_resource_spans()->add_scope_spans()->add_spans();
    span->CopyFrom(ValidProtoSpan());
    auto* value = span->add_attributes()->mutable_value();
    for (int i = 0; i < levels; ++i) value = value->mutable_array_value()->add_values();
    value->set_int_value(1);
    ExpectSameDecoding(request.SerializeAsString());
  }
}

// Seeded mutations of a body using every feature: whatever the damage, both decoders agree.
TEST(OtlpProtobufStreamingTest, AgreesWithTheGeneratedMessagesOnDamagedBodies) {
  google::protobuf::LogSilencer quiet;
  Rng rng(20261125);
  const std::string valid = EveryWireFeature();
  int accepted = 0;
  int rejected = 0;
  for (int round = 0; round < 20000; ++round) {
    std::string body = valid;
    const int edits = 1 + static_cast<int>(rng.Next() % 3);
    for (int k = 0; k < edits; ++k) {
      switch (rng.Next() % 4) {
        case 0:
          body[rng.Next() % body.size()] = static_cast<char>(rng.Next());
          break;
        case 1:
          body[rng.Next() % body.size()] ^= static_cast<char>(1 << (rng.Next() % 8));
          break;
        case 2:
          body.resize(rng.Next() % body.size() + 1);
          break;
        default:
          body.insert(rng.Next() % body.size(), 1, static_cast<char>(rng.Next()));
          break;
      }
    }
    auto streamed = DecodeOtlpProtobuf(body);
    auto reference = DecodeOtlpProtobufViaMessages(body);
    ASSERT_EQ(streamed.ok(), reference.ok())
        << "round " << round << ", body " << ::testing::PrintToString(body);
    if (streamed.ok()) {
      ++accepted;
      ASSERT_EQ(*streamed, *reference) << "round " << round;
    } else {
      ++rejected;
      ASSERT_EQ(streamed.error().message, reference.error().message) << "round " << round;
    }
  }
  // Both outcomes must have been exercised for the comparison to mean anything.
  EXPECT_GT(accepted, 100);
  EXPECT_GT(rejected, 100);
}

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
      {"unknown fields and links are ignored",
       R"({"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174",
           "droppedAttributesCount":3,"links":[{"traceId":"zz"}],"futureField":{"a":[1,2]},
           "flags":769})",
       [](const Span& s) { EXPECT_EQ(s.flags, 769u); }},
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

// --- gzip ------------------------------------------------------------------------------------

std::string SeededBytes(size_t n, uint64_t seed) {
  Rng rng(seed);
  std::string s(n, '\0');
  // Half random, half repetitive: exercises both stored and compressed deflate blocks.
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>(i % 2 == 0 ? rng.Next() : i % 7);
  return s;
}

TEST(GzipTest, RoundTrips) {
  for (size_t n : {size_t{0}, size_t{1}, size_t{1000}, size_t{3} << 20}) {
    SCOPED_TRACE(n);
    const std::string data = SeededBytes(n, n + 1);
    const std::string compressed = GzipCompress(data);
    ASSERT_GE(compressed.size(), 18u);  // header + trailer
    EXPECT_EQ(static_cast<uint8_t>(compressed[0]), 0x1f);
    EXPECT_EQ(static_cast<uint8_t>(compressed[1]), 0x8b);
    auto back = GzipDecompress(compressed, n);
    ASSERT_TRUE(back.ok()) << back.error().message;
    EXPECT_EQ(*back, data);
  }
}

TEST(GzipTest, EnforcesTheSizeLimitExactly) {
  const std::string data(100000, 'a');  // compresses ~1000:1, the classic bomb shape
  const std::string compressed = GzipCompress(data);
  auto at_limit = GzipDecompress(compressed, data.size());
  ASSERT_TRUE(at_limit.ok()) << at_limit.error().message;
  EXPECT_EQ(at_limit->size(), data.size());
  auto over = GzipDecompress(compressed, data.size() - 1);
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.error().message, "decompressed body exceeds 99999 bytes");
  auto tiny = GzipDecompress(compressed, 0);
  ASSERT_FALSE(tiny.ok());
  EXPECT_EQ(tiny.error().message, "decompressed body exceeds 0 bytes");
}

TEST(GzipTest, ReportsCorruptAndTruncatedInput) {
  const std::string compressed = GzipCompress("hello, hello, hello, tracerig");
  struct Case {
    const char* name;
    std::string input;
    const char* error;
  };
  std::string bad_crc = compressed;
  bad_crc[bad_crc.size() - 5] ^= 0x01;  // last byte of the CRC32 trailer
  std::string bad_magic = compressed;
  bad_magic[0] = 'x';
  const Case cases[] = {
      {"empty", "", "gzip: empty input"},
      {"not gzip", "plain text body", "gzip: corrupt input: incorrect header check"},
      {"bad magic", bad_magic, "gzip: corrupt input: incorrect header check"},
      {"bad crc", bad_crc, "gzip: corrupt input: incorrect data check"},
      {"truncated trailer", compressed.substr(0, compressed.size() - 4), "gzip: truncated input"},
      {"header only", compressed.substr(0, 10), "gzip: truncated input"},
      {"trailing garbage", compressed + "junk", "gzip: corrupt input: incorrect header check"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto out = GzipDecompress(c.input, 1 << 20);
    ASSERT_FALSE(out.ok());
    EXPECT_EQ(out.error().message, c.error);
  }
}

TEST(GzipTest, AcceptsConcatenatedMembers) {
  auto out = GzipDecompress(GzipCompress("first,") + GzipCompress("second"), 1 << 20);
  ASSERT_TRUE(out.ok()) << out.error().message;
  EXPECT_EQ(*out, "first,second");
}

TEST(GzipTest, CarriesAnOtlpBody) {
  const std::vector<Span> spans = EverySpanFeature();
  const std::string body = EncodeOtlpProtobuf(spans);
  auto unzipped = GzipDecompress(GzipCompress(body), 4 << 20);
  ASSERT_TRUE(unzipped.ok());
  auto decoded = DecodeOtlpProtobuf(*unzipped);
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(*decoded, spans);
}

}  // namespace
}  // namespace tracerig
