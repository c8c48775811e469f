// Span links as each backend client reads them: Jaeger v1 references (CHILD_OF is the parent,
// every other reference a link), OTLP links from Jaeger API v3, Tempo (v1 and v2 answers) and
// tracerig's batch endpoint, from literal payloads and, where ../shared has them, real ones; and
// which clients can answer links at all (Zipkin v2 cannot).
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "export/otlp_codec.h"
#include "tests/support/fixtures.h"
#include "tests/support/scripted_fetcher.h"
#include "verifier/jaeger_v1_client.h"
#include "verifier/jaeger_v3_client.h"
#include "verifier/tempo_client.h"
#include "verifier/tracerig_client.h"
#include "verifier/zipkin_v2_client.h"

namespace tracerig {
namespace {

using test_support::ScriptedFetcher;

SpanLink IdsOnly(TraceId trace, uint64_t span) { return SpanLink{trace, SpanId{span}, "", {}, 0}; }

// A one-span Jaeger v1 trace (trace id 1) whose span has these references.
std::string JaegerV1WithReferences(std::string_view references) {
  return std::string(R"({"data":[{"traceID":"1","spans":[{"traceID":"1","spanID":"a",)"
                     R"("operationName":"process orders:created","references":)") +
         std::string(references) +
         R"(,"startTime":5,"duration":2,"processID":"p1"}],)"
         R"("processes":{"p1":{"serviceName":"fulfilment"}}}]})";
}

TEST(JaegerV1LinksTest, ChildOfIsTheParentEveryOtherReferenceALink) {
  const TraceId own{0, 1};
  const TraceId other{0x4bf92f3577b34da6ull, 0xa3ce929d0e0e4736ull};
  struct Case {
    const char* name;
    const char* references;
    uint64_t parent;  // 0: a root
    std::vector<SpanLink> links;
  };
  const Case cases[] = {
      {"no references", "[]", 0, {}},
      {"null references", "null", 0, {}},
      {"a parent only", R"([{"refType":"CHILD_OF","traceID":"1","spanID":"b"}])", 0xb, {}},
      {"a batch root: FOLLOWS_FROM only, never the parent",
       R"([{"refType":"FOLLOWS_FROM","traceID":"4bf92f3577b34da6a3ce929d0e0e4736","spanID":"c"},
           {"refType":"FOLLOWS_FROM","traceID":"1","spanID":"d"}])",
       0,
       {IdsOnly(other, 0xc), IdsOnly(own, 0xd)}},
      {"parent then link, as the OpenTelemetry translator writes them",
       R"([{"refType":"CHILD_OF","traceID":"1","spanID":"b"},
           {"refType":"FOLLOWS_FROM","traceID":"4bf92f3577b34da6a3ce929d0e0e4736","spanID":"c"}])",
       0xb,
       {IdsOnly(other, 0xc)}},
      {"link before the parent",
       R"([{"refType":"FOLLOWS_FROM","traceID":"1","spanID":"c"},
           {"refType":"CHILD_OF","traceID":"1","spanID":"b"}])",
       0xb,
       {IdsOnly(own, 0xc)}},
      {"CHILD_OF into another trace is a link, not the parent",
       R"([{"refType":"CHILD_OF","traceID":"4bf92f3577b34da6a3ce929d0e0e4736","spanID":"c"}])",
       0,
       {IdsOnly(other, 0xc)}},
      {"a second CHILD_OF is a link, a repeat of the parent is not",
       R"([{"refType":"CHILD_OF","traceID":"1","spanID":"b"},
           {"refType":"CHILD_OF","traceID":"1","spanID":"e"},
           {"refType":"CHILD_OF","traceID":"1","spanID":"b"},
           {"refType":"FOLLOWS_FROM","traceID":"1","spanID":"b"}])",
       0xb,
       {IdsOnly(own, 0xe), IdsOnly(own, 0xb)}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    auto spans = DecodeJaegerTraces(JaegerV1WithReferences(c.references));
    ASSERT_TRUE(spans.ok()) << spans.error().message;
    ASSERT_EQ(spans->size(), 1u);
    EXPECT_EQ((*spans)[0].parent_span_id, SpanId{c.parent});
    EXPECT_EQ((*spans)[0].links, c.links);
  }
}

TEST(JaegerV1LinksTest, MalformedReferencesAreRejectedWithTheirPlace) {
  struct Case {
    const char* references;
    const char* error;
  };
  const Case cases[] = {
      {R"({"refType":"CHILD_OF"})", "data[0].spans[0].references: must be an array"},
      {R"([7])", "data[0].spans[0].references[0]: must be an object"},
      {R"([{"traceID":"2","spanID":"b"}])", "data[0].spans[0].references[0]: has no \"refType\""},
      {R"([{"refType":"FOLLOWS_FROM","spanID":"b"}])",
       "data[0].spans[0].references[0]: has no string \"traceID\""},
      {R"([{"refType":"FOLLOWS_FROM","traceID":"1","spanID":"xyz"}])",
       "data[0].spans[0].references[0].spanID: expected 1..16 hex digits, got \"xyz\""},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.references);
    auto spans = DecodeJaegerTraces(JaegerV1WithReferences(c.references));
    ASSERT_FALSE(spans.ok());
    EXPECT_EQ(spans.error().message, c.error);
  }
}

TEST(JaegerV1LinksTest, UiFixtureFollowsFromAndCrossTraceChildOfBecomeLinks) {
  TRACERIG_SHARED_FIXTURE(text, "jaeger_v1_ui_trace_01.json");
  auto spans = DecodeJaegerTraces("{\"data\":[" + text + "]}");
  ASSERT_TRUE(spans.ok()) << spans.error().message;
  size_t with_links = 0;
  for (const Span& s : *spans) {
    if (s.name != "reference-test") {
      EXPECT_TRUE(s.links.empty()) << s.name;
      continue;
    }
    ++with_links;
    // CHILD_OF 00ff/00ff (another trace), CHILD_OF 1/2 (the parent), FOLLOWS_FROM 1/2.
    EXPECT_EQ(s.parent_span_id, SpanId{2});
    EXPECT_EQ(s.links,
              (std::vector<SpanLink>{IdsOnly(TraceId{0, 0xff}, 0xff), IdsOnly(TraceId{0, 1}, 2)}));
  }
  EXPECT_EQ(with_links, 1u);
}

// What API v3, Tempo and tracerig's endpoint carry: OTLP links with state, attributes and flags.
constexpr char kOtlpSpanWithLinks[] = R"({
  "traceId": "0af7651916cd43dd8448eb211c80319c", "spanId": "b7ad6b7169203331",
  "name": "process orders:created", "kind": 5,
  "links": [
    {"traceId": "4bf92f3577b34da6a3ce929d0e0e4736", "spanId": "00f067aa0ba902b7",
     "traceState": "rojo=1", "flags": 257,
     "attributes": [{"key": "tracerig.request_id", "value": {"stringValue": "00000000000000aa"}},
                    {"key": "tracerig.hop", "value": {"stringValue": "0.1"}}]},
    {"traceId": "0000000000000000000000000000abcd", "spanId": "0000000000000002"}
  ]})";

// The same span as Tempo's v1 API writes it: base64 ids, enum names.
constexpr char kTempoSpanWithLinks[] = R"({
  "traceId": "CvdlGRbNQ92ESOshHIAxnA==", "spanId": "t61rcWkgMzE=",
  "name": "process orders:created", "kind": "SPAN_KIND_CONSUMER",
  "links": [
    {"traceId": "S/kvNXezTaajzpKdDg5HNg==", "spanId": "APBnqgupArc=",
     "traceState": "rojo=1", "flags": 257,
     "attributes": [{"key": "tracerig.request_id", "value": {"stringValue": "00000000000000aa"}},
                    {"key": "tracerig.hop", "value": {"stringValue": "0.1"}}]},
    {"traceId": "AAAAAAAAAAAAAAAAAACrzQ==", "spanId": "AAAAAAAAAAI="}
  ]})";

std::vector<SpanLink> WantLinks() {
  return {SpanLink{*TraceId::FromHex("4bf92f3577b34da6a3ce929d0e0e4736"),
                   *SpanId::FromHex("00f067aa0ba902b7"),
                   "rojo=1",
                   {{"tracerig.request_id", std::string("00000000000000aa")},
                    {"tracerig.hop", std::string("0.1")}},
                   257},
          SpanLink{TraceId{0, 0xabcd}, SpanId{2}, "", {}, 0}};
}

std::string ResourceSpans(std::string_view span) {
  return std::string(R"([{"resource":{"attributes":[{"key":"service.name","value":)"
                     R"({"stringValue":"fulfilment"}}]},"scopeSpans":[{"spans":[)") +
         std::string(span) + "]}]}]";
}

TEST(OtlpClientLinksTest, JaegerV3AndTempoReadLinks) {
  struct Case {
    const char* name;
    std::string body;
    Result<std::vector<Span>> (*decode)(std::string_view);
  };
  const Case cases[] = {
      {"jaeger api v3", R"({"result":{"resourceSpans":)" + ResourceSpans(kOtlpSpanWithLinks) + "}}",
       &DecodeJaegerV3Traces},
      {"tempo v1 (base64 ids)", R"({"batches":)" + ResourceSpans(kTempoSpanWithLinks) + "}",
       &DecodeTempoTraceV1},
      {"tempo v2", R"({"trace":{"resourceSpans":)" + ResourceSpans(kOtlpSpanWithLinks) + "}}",
       &DecodeTempoTraceV2},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    auto spans = c.decode(c.body);
    ASSERT_TRUE(spans.ok()) << spans.error().message;
    ASSERT_EQ(spans->size(), 1u);
    const Span& s = (*spans)[0];
    EXPECT_EQ(s.kind, SpanKind::kConsumer);
    EXPECT_FALSE(s.parent_span_id.IsValid());
    EXPECT_EQ(s.links, WantLinks());
  }
}

TEST(OtlpClientLinksTest, JaegerV3ProbeFixtureLink) {
  TRACERIG_SHARED_FIXTURE(text, "jaeger_apiv3_get_trace_anyvalue_probe.json");
  auto spans = DecodeJaegerV3Traces(text);
  ASSERT_TRUE(spans.ok()) << spans.error().message;
  ASSERT_FALSE(spans->empty());
  EXPECT_EQ((*spans)[0].links,
            (std::vector<SpanLink>{SpanLink{*TraceId::FromHex("fedcba9876543210fedcba9876543210"),
                                            *SpanId::FromHex("fedcba9876543210"),
                                            "vendor=example",
                                            {},
                                            1}}));
}

TEST(OtlpClientLinksTest, TracerigClientReadsLinksFromItsBatchEndpoint) {
  std::vector<std::string> targets;
  auto fetcher = std::make_unique<ScriptedFetcher>(&targets);
  ScriptedFetcher* scripted = fetcher.get();
  auto client = MakeTracerigClient(std::move(fetcher), "http://127.0.0.1:16686");
  Span batch;
  batch.trace_id = *TraceId::FromHex("0af7651916cd43dd8448eb211c80319c");
  batch.span_id = *SpanId::FromHex("b7ad6b7169203331");
  batch.name = "process orders:created";
  batch.kind = SpanKind::kConsumer;
  batch.service_name = "fulfilment";
  batch.links = WantLinks();
  scripted->Answer(200, EncodeOtlpProtobuf({batch}));
  auto trace = client->GetTrace(batch.trace_id);
  ASSERT_TRUE(trace.ok()) << trace.error().message;
  ASSERT_TRUE(trace->has_value());
  ASSERT_EQ((*trace)->size(), 1u);
  EXPECT_EQ((**trace)[0].links, WantLinks());
}

TEST(SupportsLinksTest, EveryClientButZipkinV2) {
  std::vector<std::string> targets;
  auto fetcher = [&targets] { return std::make_unique<ScriptedFetcher>(&targets); };
  const std::string base = "http://127.0.0.1:1";
  EXPECT_TRUE(MakeJaegerV1Client(fetcher(), base)->SupportsLinks());
  EXPECT_TRUE(MakeJaegerV3Client(fetcher(), base)->SupportsLinks());
  EXPECT_TRUE(MakeTempoClient(fetcher(), base)->SupportsLinks());
  EXPECT_TRUE(MakeTracerigClient(fetcher(), base)->SupportsLinks());
  EXPECT_FALSE(MakeZipkinV2Client(fetcher(), base)->SupportsLinks());
  EXPECT_TRUE(targets.empty());  // asking costs no request
}

}  // namespace
}  // namespace tracerig
