// Span links through the embedded backend: ingested over OTLP (protobuf and JSON), kept by the
// store (and charged to its byte bound), and answered by every query API it serves: Jaeger v1 as
// FOLLOWS_FROM references, Jaeger API v3 and tracerig's batch endpoint as OTLP links. Zipkin's API
// has no links to answer with.
#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "backend/handlers.h"
#include "backend/jaeger_json.h"
#include "backend/query_api.h"
#include "backend/span_store.h"
#include "backend/zipkin_handlers.h"
#include "export/otlp_codec.h"
#include "export/zipkin_codec.h"
#include "test_spans.h"

namespace tracerig {
namespace {

using nlohmann::json;
using testing::MakeSpan;

constexpr uint64_t kT0 = 1'700'000'000'000'000'000ull;

// A producer trace (two messages published from one request) and a batch consumer's trace whose
// root links to both messages: one link with a 128-bit trace id, state, attributes and flags, one
// with a 64-bit trace id and nothing else; plus a child of the batch span that also has a link,
// so a parent and a link appear on one span.
struct BatchTraces {
  Span send_a;
  Span send_b;
  Span batch;
  Span batch_child;
};

BatchTraces MakeBatchTraces() {
  BatchTraces t;
  t.send_a = MakeSpan(0x111, 0xa1, "orders", "send orders:created", kT0, 1000);
  t.send_a.trace_id.high = 0x4bf92f3577b34da6;
  t.send_a.kind = SpanKind::kProducer;
  t.send_b = MakeSpan(0x222, 0xb2, "orders", "send orders:created", kT0 + 10, 1000);
  t.send_b.kind = SpanKind::kProducer;
  t.batch = MakeSpan(0x333, 0xc3, "fulfilment", "process orders:created", kT0 + 5000, 2000,
                     {{"messaging.batch.message_count", int64_t{2}}});
  t.batch.kind = SpanKind::kConsumer;
  t.batch.links = {SpanLink{t.send_a.trace_id,
                            t.send_a.span_id,
                            "rojo=00f067aa0ba902b7",
                            {{"tracerig.request_id", std::string("00000000000000aa")},
                             {"tracerig.hop", std::string("0.1")}},
                            0x301},
                   SpanLink{t.send_b.trace_id, t.send_b.span_id, "", {}, 0}};
  t.batch_child = MakeSpan(0x333, 0xd4, "fulfilment", "GetStock", kT0 + 5100, 500);
  t.batch_child.kind = SpanKind::kClient;
  t.batch_child.parent_span_id = t.batch.span_id;
  t.batch_child.links = {SpanLink{t.send_b.trace_id, t.send_b.span_id, "", {}, 1}};
  return t;
}

class LinksQueryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    traces_ = MakeBatchTraces();
    store_.Add({traces_.send_a}, 1);
    store_.Add({traces_.send_b}, 2);
    store_.Add({traces_.batch, traces_.batch_child}, 3);
  }

  HttpResponseData Get(std::string_view target) {
    return HandleQueryPort(store_, {}, HttpRequestView{"GET", target, "", "", ""});
  }

  BatchTraces traces_;
  SpanStore store_{1000};
};

TEST_F(LinksQueryTest, TheStoreKeepsLinks) {
  auto trace = store_.GetTrace(traces_.batch.trace_id);
  ASSERT_TRUE(trace);
  ASSERT_EQ(trace->spans.size(), 2u);
  EXPECT_EQ(trace->spans[0].links, traces_.batch.links);
  EXPECT_EQ(trace->spans[1].links, traces_.batch_child.links);
}

TEST_F(LinksQueryTest, JaegerV1AnswersLinksAsFollowsFromAfterTheParent) {
  HttpResponseData r = Get("/api/traces/0000000000000333");
  ASSERT_EQ(r.status, 200u) << r.body;
  const json spans = json::parse(r.body)["data"][0]["spans"];
  ASSERT_EQ(spans.size(), 2u);
  // A batch root: no CHILD_OF, one FOLLOWS_FROM per message, trace ids printed as Jaeger does.
  EXPECT_EQ(spans[0]["references"], json::parse(R"([
      {"refType":"FOLLOWS_FROM","traceID":"4bf92f3577b34da60000000000000111",
       "spanID":"00000000000000a1"},
      {"refType":"FOLLOWS_FROM","traceID":"0000000000000222","spanID":"00000000000000b2"}])"));
  // The parent comes first as CHILD_OF, the link after it.
  EXPECT_EQ(spans[1]["references"], json::parse(R"([
      {"refType":"CHILD_OF","traceID":"0000000000000333","spanID":"00000000000000c3"},
      {"refType":"FOLLOWS_FROM","traceID":"0000000000000222","spanID":"00000000000000b2"}])"));
  // Spans without links keep an empty list.
  const json producer = json::parse(Get("/api/traces/0000000000000222").body);
  EXPECT_EQ(producer["data"][0]["spans"][0]["references"], json::array());
}

TEST_F(LinksQueryTest, JaegerV1SearchAnswersLinksToo) {
  HttpResponseData r = Get("/api/traces?service=fulfilment&start=1699999999000000");
  ASSERT_EQ(r.status, 200u) << r.body;
  const json data = json::parse(r.body)["data"];
  ASSERT_EQ(data.size(), 1u);
  EXPECT_EQ(data[0]["spans"][0]["references"].size(), 2u);
  EXPECT_EQ(data[0]["spans"][0]["references"][1]["refType"], "FOLLOWS_FROM");
}

TEST_F(LinksQueryTest, JaegerV3AnswersOtlpLinksWithStateAttributesAndFlags) {
  HttpResponseData r = Get("/api/v3/traces/0000000000000333");
  ASSERT_EQ(r.status, 200u) << r.body;
  const json body = json::parse(r.body);
  const json& root = body["result"]["resourceSpans"][0]["scopeSpans"][0]["spans"][0];
  EXPECT_EQ(root["links"][0]["traceId"], "4bf92f3577b34da60000000000000111");
  EXPECT_EQ(root["links"][0]["spanId"], "00000000000000a1");
  EXPECT_EQ(root["links"][0]["traceState"], "rojo=00f067aa0ba902b7");
  EXPECT_EQ(root["links"][0]["flags"], 0x301);
  auto spans = DecodeOtlpJsonResourceSpans(body["result"]["resourceSpans"], "result");
  ASSERT_TRUE(spans) << spans.error().message;
  ASSERT_EQ(spans->size(), 2u);
  EXPECT_EQ((*spans)[0].links, traces_.batch.links);
  EXPECT_EQ((*spans)[1].links, traces_.batch_child.links);
  EXPECT_EQ((*spans)[1].parent_span_id, traces_.batch.span_id);
}

TEST_F(LinksQueryTest, TracerigTracesAnswersLinksInProtobuf) {
  HttpResponseData r = Get("/api/tracerig/traces?ids=333,222");
  ASSERT_EQ(r.status, 200u) << r.body;
  auto spans = DecodeOtlpProtobuf(r.body);
  ASSERT_TRUE(spans) << spans.error().message;
  ASSERT_EQ(spans->size(), 3u);
  EXPECT_EQ((*spans)[0], traces_.batch);
  EXPECT_EQ((*spans)[1], traces_.batch_child);
  EXPECT_TRUE((*spans)[2].links.empty());
}

TEST_F(LinksQueryTest, ZipkinApiHasNoLinksToAnswer) {
  // Zipkin v2 has no links: the trace is answered, its links are not (nor invented as tags).
  HttpResponseData r =
      HandleZipkinQuery(store_, HttpRequestView{"GET", "/api/v2/trace/333", "", "", ""}, kT0);
  ASSERT_EQ(r.status, 200u) << r.body;
  auto spans = DecodeZipkinJson(r.body);
  ASSERT_TRUE(spans) << spans.error().message;
  ASSERT_EQ(spans->size(), 2u);
  for (const Span& s : *spans) {
    EXPECT_TRUE(s.links.empty());
    for (const Attribute& a : s.attributes) EXPECT_NE(a.key, "tracerig.request_id") << a.key;
  }
  EXPECT_EQ(r.body.find("00000000000000a1"), std::string::npos);
}

// Links sent by an SDK arrive over OTLP/HTTP in either encoding and come back from v1 and v3.
TEST(LinksIngestTest, OtlpHttpIngestKeepsLinksForEveryQueryApi) {
  const BatchTraces t = MakeBatchTraces();
  const std::vector<Span> batch = {t.batch, t.batch_child};
  struct Case {
    const char* name;
    std::string body;
    const char* content_type;
  };
  const Case cases[] = {
      {"protobuf", EncodeOtlpProtobuf(batch), "application/x-protobuf"},
      {"json", EncodeOtlpJson(batch), "application/json"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    SpanStore store(1000);
    IngestCounters counters;
    HttpResponseData posted = HandleOtlpHttpIngest(
        store, counters, HttpRequestView{"POST", "/v1/traces", c.content_type, "", c.body},
        IngestLimits{}, kT0);
    ASSERT_EQ(posted.status, 200u) << posted.body;
    auto v3 = HandleQueryPort(store, {},
                              HttpRequestView{"GET", "/api/v3/traces/333", "", "", ""});
    auto spans = DecodeOtlpJsonResourceSpans(json::parse(v3.body)["result"]["resourceSpans"], "r");
    ASSERT_TRUE(spans) << spans.error().message;
    ASSERT_EQ(spans->size(), 2u);
    EXPECT_EQ((*spans)[0].links, t.batch.links);
    auto v1 = HandleQueryPort(store, {}, HttpRequestView{"GET", "/api/traces/333", "", "", ""});
    EXPECT_EQ(json::parse(v1.body)["data"][0]["spans"][0]["references"].size(), 2u);
  }
}

// Glibc's chunk for a request of n bytes, as EstimateSpanBytes documents it.
uint64_t Chunk(uint64_t n) { return std::max<uint64_t>(32, (n + 8 + 15) / 16 * 16); }

TEST(LinksStoreBytesTest, LinksCountAgainstTheByteBound) {
  const Span plain = MakeSpan(1, 1, "a", "x");
  Span linked = plain;
  linked.links = {SpanLink{TraceId{0, 2}, SpanId{3}, std::string(20, 's'),  // state: 32-byte block
                           {{"tracerig.request_id", std::string("short")}},  // key: 32
                           1},
                  SpanLink{TraceId{0, 4}, SpanId{5}, "", {}, 0}};
  EXPECT_EQ(EstimateSpanBytes(linked), EstimateSpanBytes(plain) + Chunk(2 * sizeof(SpanLink)) +
                                           32 + Chunk(sizeof(Attribute)) + 32);
  SpanStore store(0);
  store.Add({linked}, 1);
  EXPECT_EQ(store.stats().bytes_stored,
            EstimateSpanBytes(linked) + kTraceOverheadBytes + kServiceLinkBytes);
}

}  // namespace
}  // namespace tracerig
