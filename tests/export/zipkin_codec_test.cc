// Zipkin v2 JSON codec: the exact text the encoder writes (client and server style), round trips,
// what real clients send (every zipkin_v2_* fixture in the shared directory), and the exact errors
// for malformed input.
#include "export/zipkin_codec.h"

#include <gtest/gtest.h>

#include <functional>
#include <set>

#include "core/rng.h"
#include "tests/support/fixtures.h"

namespace tracerig {
namespace {

TraceId Tid(std::string_view hex) { return *TraceId::FromHex(hex); }
SpanId Sid(std::string_view hex) { return *SpanId::FromHex(hex); }

std::string Attr(const Span& span, std::string_view key) {
  const AttributeValue* v = span.FindAttribute(key);
  return v == nullptr ? "<absent>" : AttributeValueToString(*v);
}

Span ClientSpan() {
  Span s;
  s.trace_id = Tid("0af7651916cd43dd8448eb211c80319c");
  s.span_id = Sid("b7ad6b7169203331");
  s.parent_span_id = Sid("00f067aa0ba902b7");
  s.name = "GET /cart";
  s.kind = SpanKind::kClient;
  s.start_unix_nano = 1'700'000'000'123'456'789ull;
  s.end_unix_nano = 1'700'000'000'223'456'000ull;
  s.attributes = {{"http.method", std::string("GET")},
                  {"http.status_code", int64_t{200}},
                  {"retry", true},
                  {"ratio", 0.25},
                  {"peer.service", std::string("Cart")}};
  s.events = {SpanEvent{1'700'000'000'150'000'999ull, "cache miss", {}},
              SpanEvent{1'700'000'000'160'000'000ull,
                        "exception",
                        {{"exception.type", std::string("Timeout")}, {"attempt", int64_t{3}}}}};
  s.status_code = StatusCode::kError;
  s.status_message = "upstream timed out";
  s.trace_state = "rojo=00f067aa0ba902b7";  // Zipkin has no place for it
  s.flags = 1;
  s.service_name = "Frontend";
  s.resource_attributes = {{"host.name", std::string("node-3")},
                           {"http.method", std::string("POST")}};  // the span's own value wins
  return s;
}

TEST(ZipkinEncodeTest, WritesWhatOpenTelemetrySdksSend) {
  EXPECT_EQ(
      EncodeZipkinJson({ClientSpan()}),
      R"([{"traceId":"0af7651916cd43dd8448eb211c80319c","parentId":"00f067aa0ba902b7",)"
      R"("id":"b7ad6b7169203331","kind":"CLIENT","name":"GET /cart","timestamp":1700000000123456,)"
      R"("duration":99999,"localEndpoint":{"serviceName":"Frontend"},)"
      R"("remoteEndpoint":{"serviceName":"Cart"},"annotations":[{"timestamp":1700000000150000,)"
      R"("value":"cache miss"},{"timestamp":1700000000160000,)"
      R"("value":"\"exception\":{\"exception.type\":\"Timeout\",\"attempt\":3}"}],)"
      R"("tags":{"http.method":"GET","http.status_code":"200","retry":"true","ratio":"0.25",)"
      R"("peer.service":"Cart","host.name":"node-3","otel.status_code":"ERROR",)"
      R"("error":"upstream timed out"}}])");
}

TEST(ZipkinEncodeTest, OmitsWhatIsEmptyAndWrites32HexTraceIds) {
  Span s;
  s.trace_id = TraceId{0, 0x1e223ff1f80f1c69};
  s.span_id = SpanId{0x2a};
  s.name = "internal work";
  s.kind = SpanKind::kInternal;
  s.start_unix_nano = 5'000;
  s.end_unix_nano = 5'999;  // under a microsecond: duration 0, omitted
  EXPECT_EQ(EncodeZipkinJson({s}),
            R"([{"traceId":"00000000000000001e223ff1f80f1c69","id":"000000000000002a",)"
            R"("name":"internal work","timestamp":5}])");
  s.status_code = StatusCode::kOk;
  s.kind = SpanKind::kServer;
  s.attributes = {{"error", std::string("stale")}, {"peer.service", std::string("x")}};
  // OK writes no error tag and replaces an "error" attribute; SERVER spans get no remoteEndpoint.
  EXPECT_EQ(EncodeZipkinJson({s}),
            R"([{"traceId":"00000000000000001e223ff1f80f1c69","id":"000000000000002a",)"
            R"("kind":"SERVER","name":"internal work","timestamp":5,)"
            R"("tags":{"peer.service":"x","otel.status_code":"OK"}}])");
  s.status_code = StatusCode::kError;
  s.attributes.clear();
  EXPECT_EQ(EncodeZipkinJson({s}),
            R"([{"traceId":"00000000000000001e223ff1f80f1c69","id":"000000000000002a",)"
            R"("kind":"SERVER","name":"internal work","timestamp":5,)"
            R"("tags":{"otel.status_code":"ERROR","error":""}}])");
  EXPECT_EQ(EncodeZipkinJson({}), "[]");
}

TEST(ZipkinEncodeTest, ServerStyleLowercasesNamesAndShortensTraceIds) {
  Span s = ClientSpan();
  s.trace_id = TraceId{0, 0xabc};
  s.events.clear();
  s.attributes.clear();
  s.resource_attributes.clear();
  s.status_code = StatusCode::kUnset;
  EXPECT_EQ(EncodeZipkinJson({s}, ZipkinJsonStyle::kServer),
            R"([{"traceId":"0000000000000abc","parentId":"00f067aa0ba902b7",)"
            R"("id":"b7ad6b7169203331","kind":"CLIENT","name":"get /cart",)"
            R"("timestamp":1700000000123456,"duration":99999,)"
            R"("localEndpoint":{"serviceName":"frontend"}}])");
  s.trace_id = Tid("0af7651916cd43dd8448eb211c80319c");
  EXPECT_NE(EncodeZipkinJson({s}, ZipkinJsonStyle::kServer)
                .find(R"("traceId":"0af7651916cd43dd8448eb211c80319c")"),
            std::string::npos);
}

TEST(ZipkinEncodeTest, InvalidUtf8BecomesReplacementCharacters) {
  Span s = ClientSpan();
  s.name = "bad \xff name \"quoted\"\n";
  const std::string json = EncodeZipkinJson({s});
  EXPECT_NE(json.find(R"("name":"bad )"
                      "\xEF\xBF\xBD"
                      R"( name \"quoted\"\n")"),
            std::string::npos);
  auto decoded = DecodeZipkinJson(json);
  ASSERT_TRUE(decoded) << decoded.error().message;
  EXPECT_EQ((*decoded)[0].name, "bad \xEF\xBF\xBD name \"quoted\"\n");
}

// Spans that Zipkin can represent exactly: string attributes, whole microseconds, no resource
// attributes, trace state or flags.
std::vector<Span> RepresentableSpans() {
  std::vector<Span> spans;
  const SpanKind kinds[] = {SpanKind::kServer, SpanKind::kClient, SpanKind::kProducer,
                            SpanKind::kConsumer, SpanKind::kInternal};
  Rng rng(7);
  for (int i = 0; i < 10; ++i) {
    Span s;
    s.trace_id =
        i % 2 ? TraceId{rng.NextNonZero(), rng.NextNonZero()} : TraceId{0, rng.NextNonZero()};
    s.span_id = SpanId{rng.NextNonZero()};
    if (i > 0) s.parent_span_id = spans.back().span_id;
    s.name = "op " + std::to_string(i) + " caf\xc3\xa9";
    s.kind = kinds[i % 5];
    s.start_unix_nano = (1'700'000'000'000'000ull + rng.Next() % 1'000'000) * 1000;
    s.end_unix_nano = s.start_unix_nano + (rng.Next() % 5'000'000) * 1000;
    s.attributes = {{"tracerig.request_id", std::string("00000000000000aa")},
                    {"tracerig.hop", "0." + std::to_string(i)},
                    {"empty", std::string()}};
    if (i % 3 == 0) {
      s.events = {SpanEvent{s.start_unix_nano + 1000, "retry", {}},
                  SpanEvent{s.start_unix_nano + 2000,
                            "exception",
                            {{"exception.message", std::string("a \"quoted\" text")}}}};
    }
    if (i % 4 == 1) {
      s.status_code = StatusCode::kError;
      s.status_message = i == 1 ? "" : "boom";
    } else if (i % 4 == 2) {
      s.status_code = StatusCode::kOk;
    }
    s.service_name = i % 2 ? "frontend" : "Cart Service";
    spans.push_back(std::move(s));
  }
  return spans;
}

TEST(ZipkinCodecTest, RoundTripsWhatZipkinCanRepresent) {
  const std::vector<Span> spans = RepresentableSpans();
  auto decoded = DecodeZipkinJson(EncodeZipkinJson(spans));
  ASSERT_TRUE(decoded) << decoded.error().message;
  ASSERT_EQ(decoded->size(), spans.size());
  for (size_t i = 0; i < spans.size(); ++i) EXPECT_EQ((*decoded)[i], spans[i]) << "span " << i;
}

TEST(ZipkinCodecTest, RoundTripKeepsEverythingButTypesResourceStateAndFlags) {
  auto decoded = DecodeZipkinJson(EncodeZipkinJson({ClientSpan()}));
  ASSERT_TRUE(decoded) << decoded.error().message;
  ASSERT_EQ(decoded->size(), 1u);
  const Span& s = (*decoded)[0];
  EXPECT_EQ(s.trace_id, Tid("0af7651916cd43dd8448eb211c80319c"));
  EXPECT_EQ(s.parent_span_id, Sid("00f067aa0ba902b7"));
  EXPECT_EQ(s.kind, SpanKind::kClient);
  EXPECT_EQ(s.start_unix_nano, 1'700'000'000'123'456'000ull);  // whole µs
  EXPECT_EQ(s.end_unix_nano, 1'700'000'000'223'455'000ull);
  EXPECT_EQ(s.status_code, StatusCode::kError);
  EXPECT_EQ(s.status_message, "upstream timed out");
  EXPECT_EQ(s.service_name, "Frontend");
  EXPECT_TRUE(s.resource_attributes.empty());
  EXPECT_TRUE(s.trace_state.empty());
  EXPECT_EQ(s.flags, 0u);
  const std::vector<Attribute> tags = {
      {"http.method", std::string("GET")},   {"http.status_code", std::string("200")},
      {"retry", std::string("true")},        {"ratio", std::string("0.25")},
      {"peer.service", std::string("Cart")}, {"host.name", std::string("node-3")}};
  EXPECT_EQ(s.attributes, tags);
  ASSERT_EQ(s.events.size(), 2u);
  EXPECT_EQ(s.events[0], (SpanEvent{1'700'000'000'150'000'000ull, "cache miss", {}}));
  EXPECT_EQ(
      s.events[1],
      (SpanEvent{1'700'000'000'160'000'000ull,
                 "exception",
                 {{"exception.type", std::string("Timeout")}, {"attempt", std::string("3")}}}));
}

// What real clients send and Zipkin itself would not all accept.
TEST(ZipkinDecodeTest, AcceptsWhatRealClientsSend) {
  struct Row {
    std::string_view name;
    std::string_view json;
    std::function<void(const Span&)> check;
  };
  const Row rows[] = {
      {"fractional µs are rounded",
       R"([{"traceId":"a","id":"b","timestamp":1.5e0,"duration":2.4}])",
       [](const Span& s) {
         EXPECT_EQ(s.start_unix_nano, 2000u);
         EXPECT_EQ(s.end_unix_nano, 4000u);
       }},
      {"16-hex trace id is left-padded, uppercase accepted",
       R"([{"traceId":"00F067AA0BA902B7","id":"00000000000000B7"}])",
       [](const Span& s) {
         EXPECT_EQ(s.trace_id, (TraceId{0, 0x00f067aa0ba902b7}));
         EXPECT_EQ(s.span_id, SpanId{0xb7});
       }},
      {"missing kind is INTERNAL, lowercase kind accepted",
       R"([{"traceId":"1","id":"2"},{"traceId":"1","id":"3","kind":"consumer"}])",
       [](const Span& s) {
         EXPECT_TRUE(s.kind == SpanKind::kInternal || s.kind == SpanKind::kConsumer);
       }},
      {"shared and debug are accepted, nulls are absent, unknown fields ignored",
       R"([{"traceId":"1","id":"2","parentId":null,"kind":"SERVER","shared":true,"debug":true,)"
       R"("name":null,"tags":null,"localEndpoint":{"ipv4":"10.0.0.1"},"extra":[1]}])",
       [](const Span& s) {
         EXPECT_EQ(s.kind, SpanKind::kServer);
         EXPECT_FALSE(s.parent_span_id.IsValid());
         EXPECT_EQ(s.service_name, "");
         EXPECT_TRUE(s.attributes.empty());
       }},
      {"all-zero parentId is a root", R"([{"traceId":"1","id":"2","parentId":"0000000000000000"}])",
       [](const Span& s) { EXPECT_FALSE(s.parent_span_id.IsValid()); }},
      {"number and boolean tags keep their JSON text",
       R"([{"traceId":"1","id":"2","tags":{"n":42,"b":false,"s":"x","gone":null}}])",
       [](const Span& s) {
         EXPECT_EQ(s.attributes, (std::vector<Attribute>{{"n", std::string("42")},
                                                         {"b", std::string("false")},
                                                         {"s", std::string("x")}}));
       }},
      {"error tag alone means ERROR with the tag as message",
       R"([{"traceId":"1","id":"2","tags":{"error":"connection refused"}}])",
       [](const Span& s) {
         EXPECT_EQ(s.status_code, StatusCode::kError);
         EXPECT_EQ(s.status_message, "connection refused");
         EXPECT_TRUE(s.attributes.empty());
       }},
      {"error=false is not an error",
       R"([{"traceId":"1","id":"2","tags":{"error":"false","otel.status_code":"OK"}}])",
       [](const Span& s) {
         EXPECT_EQ(s.status_code, StatusCode::kOk);
         EXPECT_TRUE(s.attributes.empty());
       }},
      {"unknown otel.status_code stays a tag",
       R"([{"traceId":"1","id":"2","tags":{"otel.status_code":"UNSET"}}])",
       [](const Span& s) {
         EXPECT_EQ(s.status_code, StatusCode::kUnset);
         EXPECT_EQ(Attr(s, "otel.status_code"), "UNSET");
       }},
      {"remoteEndpoint becomes peer.service unless a tag names it",
       R"([{"traceId":"1","id":"2","remoteEndpoint":{"serviceName":"db"}},)"
       R"({"traceId":"1","id":"3","remoteEndpoint":{"serviceName":"db"},)"
       R"("tags":{"peer.service":"mysql"}}])",
       [](const Span& s) {
         EXPECT_EQ(Attr(s, "peer.service"), s.span_id == SpanId{2} ? "db" : "mysql");
         EXPECT_EQ(s.attributes.size(), 1u);
       }},
      {"an annotation that only looks like an event with attributes stays whole",
       R"([{"traceId":"1","id":"2","annotations":[{"timestamp":1,"value":"\"x\": 1}"},)"
       R"({"value":"ws"}]}])",
       [](const Span& s) {
         ASSERT_EQ(s.events.size(), 2u);
         EXPECT_EQ(s.events[0], (SpanEvent{1000, "\"x\": 1}", {}}));
         EXPECT_EQ(s.events[1], (SpanEvent{0, "ws", {}}));
       }},
      {"a single span object", R"({"traceId":"1","id":"2","name":"solo"})",
       [](const Span& s) { EXPECT_EQ(s.name, "solo"); }},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(row.name);
    auto spans = DecodeZipkinJson(row.json);
    ASSERT_TRUE(spans) << spans.error().message;
    ASSERT_FALSE(spans->empty());
    for (const Span& s : *spans) row.check(s);
  }
  auto empty = DecodeZipkinJson("[]");
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->empty());
}

TEST(ZipkinDecodeTest, MalformedInputErrorsNameTheSpanAndField) {
  struct Row {
    std::string_view json;
    std::string_view error;
  };
  const Row rows[] = {
      {"",
       "invalid JSON: parse error at line 1, column 1: syntax error while parsing value - "
       "unexpected end of input; expected '[', '{', or a literal"},
      {"[",
       "invalid JSON: parse error at line 1, column 2: syntax error while parsing value - "
       "unexpected end of input; expected '[', '{', or a literal"},
      {R"("spans")", R"(Zipkin v2 JSON must be an array of spans, got "spans")"},
      {"[1]", "spans[0]: must be an object, got 1"},
      {R"([{"id":"2"}])", "spans[0]: traceId is required"},
      {R"([{"traceId":"1","id":"2"},{"traceId":"xyz","id":"2"}])",
       R"(spans[1]: traceId must be 1 to 32 hex digits, got "xyz")"},
      {R"([{"traceId":"000000000000000000000000000000001","id":"2"}])",
       R"(spans[0]: traceId must be 1 to 32 hex digits, got "000000000000000000000000000000001")"},
      {R"([{"traceId":"00","id":"2"}])", "spans[0]: traceId must not be all zeros"},
      {R"([{"traceId":1,"id":"2"}])", "spans[0]: traceId must be a string, got 1"},
      {R"([{"traceId":"1"}])", "spans[0]: id is required"},
      {R"([{"traceId":"1","id":"0"}])", "spans[0]: id must not be all zeros"},
      {R"([{"traceId":"1","id":"2","parentId":"12345678901234567"}])",
       R"(spans[0]: parentId must be 1 to 16 hex digits, got "12345678901234567")"},
      {R"([{"traceId":"1","id":"2","kind":"LOCAL"}])",
       R"(spans[0]: kind must be CLIENT, SERVER, PRODUCER or CONSUMER, got "LOCAL")"},
      {R"([{"traceId":"1","id":"2","name":7}])", "spans[0]: name must be a string, got 7"},
      {R"([{"traceId":"1","id":"2","timestamp":-1}])",
       "spans[0]: timestamp must be a non-negative number of microseconds, got -1"},
      {R"([{"traceId":"1","id":"2","duration":"5"}])",
       R"(spans[0]: duration must be a non-negative number of microseconds, got "5")"},
      {R"([{"traceId":"1","id":"2","timestamp":18446744073709551,"duration":1}])",
       "spans[0]: timestamp + duration overflows 64-bit nanoseconds"},
      {R"([{"traceId":"1","id":"2","localEndpoint":"svc"}])",
       R"(spans[0]: localEndpoint must be an object, got "svc")"},
      {R"([{"traceId":"1","id":"2","localEndpoint":{"serviceName":false}}])",
       "spans[0]: localEndpoint.serviceName must be a string, got false"},
      {R"([{"traceId":"1","id":"2","tags":[]}])", "spans[0]: tags must be an object, got []"},
      {R"([{"traceId":"1","id":"2","tags":{"k":{"a":1}}}])",
       R"(spans[0]: tags.k must be a string, got {"a":1})"},
      {R"([{"traceId":"1","id":"2","annotations":{}}])",
       "spans[0]: annotations must be an array, got {}"},
      {R"([{"traceId":"1","id":"2","annotations":[{"timestamp":1,"value":2}]}])",
       "spans[0]: annotations[0].value must be a string, got 2"},
      {R"([{"traceId":"1","id":"2","annotations":[{"timestamp":"x"}]}])",
       R"(spans[0]: annotations[0].timestamp must be a non-negative number of microseconds, got "x")"},
      {R"({"id":"2"})", "span: traceId is required"},
      {std::string_view("[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["),
       "Zipkin JSON nests deeper than 32 levels"},
  };
  for (const Row& row : rows) {
    auto spans = DecodeZipkinJson(row.json);
    ASSERT_FALSE(spans) << row.json;
    EXPECT_EQ(spans.error().message, row.error) << row.json;
  }
}

// No input crashes the decoder: random byte flips of a valid body either decode or fail cleanly.
TEST(ZipkinDecodeTest, SurvivesCorruptedBodies) {
  const std::string valid = EncodeZipkinJson(RepresentableSpans());
  Rng rng(99);
  int decoded = 0;
  for (int i = 0; i < 2000; ++i) {
    std::string body = valid;
    for (int flips = 1 + static_cast<int>(rng.Next() % 4); flips > 0; --flips) {
      body[rng.Next() % body.size()] = static_cast<char>(rng.Next() & 0xff);
    }
    auto spans = DecodeZipkinJson(body);
    if (spans) {
      ++decoded;
    } else {
      EXPECT_FALSE(spans.error().message.empty());
    }
  }
  EXPECT_GT(decoded, 0);  // some flips land in strings and still decode
}

// ---------------------------------------------------------------------------------------------
// Real payloads (the shared fixtures; see ../shared/fixtures/SOURCES.md).

#define LOAD_FIXTURE(var, name)              \
  TRACERIG_SHARED_FIXTURE(var##_text, name); \
  auto var = DecodeZipkinJson(var##_text);   \
  ASSERT_TRUE(var) << var.error().message

TEST(ZipkinFixtureTest, EnvoySingleSharedServerSpanWithoutServiceName) {
  LOAD_FIXTURE(spans, "zipkin_v2_envoy_single_span.json");
  ASSERT_EQ(spans->size(), 1u);
  const Span& s = (*spans)[0];
  EXPECT_EQ(s.trace_id, (TraceId{0, 0x978883983d506fa5}));
  EXPECT_EQ(s.span_id, SpanId{0x978883983d506fa5});  // id == traceId
  EXPECT_FALSE(s.parent_span_id.IsValid());
  EXPECT_EQ(s.kind, SpanKind::kServer);
  EXPECT_EQ(s.name, "localhost:10000");
  EXPECT_EQ(s.start_unix_nano, 1'570'523'661'059'232'000ull);
  EXPECT_EQ(s.end_unix_nano - s.start_unix_nano, 127'115'000u);
  EXPECT_EQ(s.service_name, "");  // only ipv4 in localEndpoint
  EXPECT_EQ(s.attributes.size(), 12u);
  EXPECT_EQ(Attr(s, "http.url"), "http://www.google.com/");
  EXPECT_EQ(Attr(s, "guid:x-request-id"), "d709b78f-583e-988e-b581-25b72c63852d");
  EXPECT_EQ(s.attributes.front().key, "component");  // in the order sent
  EXPECT_EQ(s.attributes.back().key, "user_agent");
  EXPECT_EQ(s.status_code, StatusCode::kUnset);
}

TEST(ZipkinFixtureTest, Messaging128BitTraceWithProducerConsumerAndNoKind) {
  LOAD_FIXTURE(spans, "zipkin_v2_messaging_128bit.json");
  ASSERT_EQ(spans->size(), 4u);
  for (const Span& s : *spans) {
    EXPECT_EQ(s.trace_id, (TraceId{0x5aab74dbb904746b, 0xb33447baae403ed6}));
  }
  const Span& consumer = (*spans)[0];
  EXPECT_EQ(consumer.kind, SpanKind::kConsumer);
  EXPECT_EQ(consumer.parent_span_id, SpanId{0x05e3ac9a4f6e3b90});
  EXPECT_EQ(consumer.service_name, "backend");
  EXPECT_EQ(consumer.end_unix_nano - consumer.start_unix_nano, 14'000u);
  EXPECT_EQ(Attr(consumer, "rabbit.exchange"), "");       // empty tag value kept
  EXPECT_EQ(Attr(consumer, "peer.service"), "rabbitmq");  // from remoteEndpoint
  EXPECT_EQ((*spans)[1].kind, SpanKind::kInternal);       // "on-message" has no kind
  EXPECT_EQ((*spans)[1].name, "on-message");
  EXPECT_TRUE((*spans)[1].attributes.empty());
  EXPECT_EQ((*spans)[2].kind, SpanKind::kProducer);
  EXPECT_EQ((*spans)[2].service_name, "frontend");
  const Span& root = (*spans)[3];
  EXPECT_FALSE(root.parent_span_id.IsValid());
  EXPECT_EQ(root.span_id.value, root.trace_id.low);  // root id is the trace id's low half
  EXPECT_EQ(root.name, "get /");
  EXPECT_EQ(root.start_unix_nano, 1'521'186'011'926'119'000ull);
  EXPECT_EQ(Attr(root, "peer.service"), "<absent>");  // remoteEndpoint without serviceName
  EXPECT_EQ(Attr(root, "mvc.controller.method"), "callBackend");
}

TEST(ZipkinFixtureTest, SingleClientSpanObjectWithAnnotations) {
  LOAD_FIXTURE(spans, "zipkin_v2_single_client_span_object.json");
  ASSERT_EQ(spans->size(), 1u);
  const Span& s = (*spans)[0];
  EXPECT_EQ(s.trace_id, Tid("4d1e00c0db9010db86154a4ba6e91385"));
  EXPECT_EQ(s.parent_span_id, SpanId{0x86154a4ba6e91385});
  EXPECT_EQ(s.span_id, SpanId{0x4d1e00c0db9010db});
  EXPECT_EQ(s.kind, SpanKind::kClient);
  EXPECT_EQ(s.name, "get");
  EXPECT_EQ(s.start_unix_nano, 1'472'470'996'199'000'000ull);
  EXPECT_EQ(s.end_unix_nano, 1'472'470'996'406'000'000ull);
  EXPECT_EQ(s.service_name, "frontend");
  EXPECT_EQ(s.events, (std::vector<SpanEvent>{{1'472'470'996'238'000'000ull, "foo", {}},
                                              {1'472'470'996'403'000'000ull, "bar", {}}}));
  EXPECT_EQ(s.attributes, (std::vector<Attribute>{{"http.path", std::string("/api")},
                                                  {"clnt/finagle.version", std::string("6.45.0")},
                                                  {"peer.service", std::string("backend")}}));
}

TEST(ZipkinFixtureTest, SkewedSharedClientServerPair) {
  LOAD_FIXTURE(spans, "zipkin_v2_skew.json");
  ASSERT_EQ(spans->size(), 4u);
  const Span& server = (*spans)[1];
  const Span& client = (*spans)[3];
  // The shared pair keeps one id; the server half starts before its client (clock skew).
  EXPECT_EQ(server.span_id, client.span_id);
  EXPECT_EQ(server.span_id, SpanId{0x74280ae0c10d8062});
  EXPECT_EQ(server.kind, SpanKind::kServer);
  EXPECT_EQ(client.kind, SpanKind::kClient);
  EXPECT_EQ(server.parent_span_id, client.parent_span_id);
  EXPECT_LT(server.start_unix_nano, client.start_unix_nano);
  EXPECT_EQ(client.start_unix_nano - server.start_unix_nano, 65'441'000u);
  EXPECT_EQ(server.service_name, "serviceb");
  EXPECT_EQ(client.service_name, "servicea");
  EXPECT_EQ((*spans)[0].kind, SpanKind::kInternal);
  EXPECT_EQ((*spans)[0].name, "async");
  EXPECT_EQ((*spans)[0].parent_span_id, SpanId{0x74280ae0c10d8062});
  EXPECT_EQ((*spans)[2].trace_id, (TraceId{0, 0x1e223ff1f80f1c69}));
}

TEST(ZipkinFixtureTest, YelpProductionTrace) {
  LOAD_FIXTURE(spans, "zipkin_v2_yelp.json");
  ASSERT_EQ(spans->size(), 16u);
  int roots = 0;
  int shared_pairs = 0;
  std::set<std::string> services;
  for (size_t i = 0; i < spans->size(); ++i) {
    const Span& s = (*spans)[i];
    EXPECT_EQ(s.trace_id, (TraceId{0, 0xa03ee8fff1dcd9b9}));
    if (!s.parent_span_id.IsValid()) ++roots;
    services.insert(s.service_name);
    for (size_t j = i + 1; j < spans->size(); ++j) {
      if ((*spans)[j].span_id == s.span_id) ++shared_pairs;
    }
  }
  EXPECT_EQ(roots, 1);
  EXPECT_EQ(shared_pairs, 3);
  EXPECT_EQ(services, (std::set<std::string>{"mobile_api", "spectre", "yelp-main",
                                             "yelp_main/api_proxy", "unknown", "routing"}));
  const Span& root = (*spans)[15];
  EXPECT_EQ(root.service_name, "routing");
  EXPECT_EQ(root.name, "post /location/update/v4");
  EXPECT_EQ(root.end_unix_nano - root.start_unix_nano, 131'848'000u);
  const Span& proxy = (*spans)[13];
  ASSERT_EQ(proxy.events.size(), 1u);
  EXPECT_EQ(proxy.events[0],
            (SpanEvent{1'571'896'375'355'436'000ull, "py_zipkin.logging_end", {}}));
  EXPECT_EQ(proxy.attributes.size(), 21u);
  EXPECT_EQ(Attr(proxy, "owner_email"), "");
  EXPECT_EQ(Attr(proxy, "http.route"), "/*path");
  EXPECT_EQ(Attr((*spans)[0], "peer.service"), "blt");
}

}  // namespace
}  // namespace tracerig
