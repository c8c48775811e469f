// OTLP protobuf decoding: the exact errors for invalid spans, garbage and truncations, and the
// streaming decoder agreeing with the generated messages on every wire-format rule and on damage.
#include "export/otlp_codec.h"

#include <google/protobuf/stubs/logging.h>
#include <gtest/gtest.h>

#include <functional>

#include "core/rng.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"
#include "tests/export/otlp_codec_test_support.h"

namespace tracerig {
namespace {

namespace collector_pb = opentelemetry::proto::collector::trace::v1;
namespace trace_pb = opentelemetry::proto::trace::v1;
using otlp_test_support::EverySpanFeature;
using otlp_test_support::ValidProtoSpan;

// --- Protobuf decode errors ------------------------------------------------------------------

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
      {"short link trace id", [](auto& s) { s.add_links()->set_trace_id(std::string(15, '\x01')); },
       "resourceSpans[1].scopeSpans[1].spans[2]: links[0].traceId must be empty or 16 bytes, got "
       "15"},
      {"long link span id",
       [](auto& s) {
         s.add_links();
         s.add_links()->set_span_id(std::string(9, '\x01'));
       },
       "resourceSpans[1].scopeSpans[1].spans[2]: links[1].spanId must be empty or 8 bytes, got 9"},
      {"span ids are checked before links",
       [](auto& s) {
         s.add_links()->set_span_id("\x01");
         s.set_kind(static_cast<trace_pb::Span_SpanKind>(9));
       },
       "resourceSpans[1].scopeSpans[1].spans[2]: kind 9 is not a valid SpanKind (0-5)"},
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
    auto reference = DecodeOtlpProtobufViaMessages(request.SerializeAsString());
    ASSERT_FALSE(reference.ok());
    EXPECT_EQ(reference.error().message, c.error);
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

}  // namespace
}  // namespace tracerig
