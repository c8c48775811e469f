// The embedded backend as it runs: real sockets on port 0, OTLP/HTTP in (protobuf, JSON, gzip,
// and what must be refused), Jaeger query API out, read back by the verifier's own client.
#include "backend/embedded_backend.h"

#include <gtest/gtest.h>

#include <algorithm>

#include <nlohmann/json.hpp>

#include "export/exporter.h"
#include "export/gzip.h"
#include "export/otlp_codec.h"
#include "export/otlp_http_sender.h"
#include "export/zipkin_codec.h"
#include "export/zipkin_sender.h"
#include "net/http_client.h"
#include "verifier/blocking_http_fetcher.h"
#include "verifier/jaeger_v1_client.h"
#include "verifier/jaeger_v3_client.h"
#include "verifier/tracerig_client.h"

namespace tracerig {
namespace {

Span MakeSpan(TraceId trace, uint64_t id, uint64_t parent, std::string service, SpanKind kind) {
  Span s;
  s.trace_id = trace;
  s.span_id = SpanId{id};
  s.parent_span_id = SpanId{parent};
  s.name = "op-" + std::to_string(id);
  s.kind = kind;
  s.service_name = std::move(service);
  s.start_unix_nano = 1'700'000'000'000'000'000ull + id * 1000;
  s.end_unix_nano = s.start_unix_nano + 5'000'000;
  s.attributes = {{"tracerig.request_id", std::string("00000000000000aa")}, {"n", int64_t(7)}};
  return s;
}

class EmbeddedBackendTest : public ::testing::Test {
 protected:
  void SetUp() override {
    EmbeddedBackendOptions options;
    options.otlp_http = "127.0.0.1:0";
    options.query = "127.0.0.1:0";
    options.max_body_bytes = 64 * 1024;
    backend_ = std::make_unique<EmbeddedBackend>(options);
    ASSERT_TRUE(backend_->Start().ok());
    ingest_ = std::make_unique<BlockingHttpClient>("127.0.0.1", backend_->otlp_http_endpoint().port());
    query_ = std::make_unique<BlockingHttpClient>("127.0.0.1", backend_->query_endpoint().port());
  }
  void TearDown() override { backend_->Stop(); }

  std::unique_ptr<EmbeddedBackend> backend_;
  std::unique_ptr<BlockingHttpClient> ingest_;
  std::unique_ptr<BlockingHttpClient> query_;
};

TEST_F(EmbeddedBackendTest, ProtobufJsonAndGzipAreStoredAndQueryable) {
  const TraceId trace{0xabc, 0xdef};
  auto pb = ingest_->Request(http::verb::post, "/v1/traces", "application/x-protobuf",
                             EncodeOtlpProtobuf({MakeSpan(trace, 1, 0, "frontend", SpanKind::kServer)}));
  ASSERT_TRUE(pb);
  EXPECT_EQ(pb->status, 200u);
  auto json = ingest_->Request(http::verb::post, "/v1/traces", "application/json",
                               EncodeOtlpJson({MakeSpan(trace, 2, 1, "frontend", SpanKind::kClient)}));
  ASSERT_TRUE(json);
  EXPECT_EQ(json->status, 200u);
  auto gz = ingest_->Request(
      http::verb::post, "/v1/traces", "application/x-protobuf",
      GzipCompress(EncodeOtlpProtobuf({MakeSpan(trace, 3, 2, "cart", SpanKind::kServer)})),
      {{"Content-Encoding", "gzip"}});
  ASSERT_TRUE(gz);
  EXPECT_EQ(gz->status, 200u);
  EXPECT_EQ(backend_->counters().spans_accepted, 3u);

  auto services = query_->Get("/api/services");
  ASSERT_TRUE(services);
  EXPECT_EQ(nlohmann::json::parse(services->body)["data"], nlohmann::json::array({"cart", "frontend"}));

  // Read back through the verifier's client, as a run does.
  auto client = MakeJaegerV1Client(
      std::make_unique<BlockingHttpFetcher>("127.0.0.1", backend_->query_endpoint().port()), "embedded");
  auto spans = client->GetTrace(trace);
  ASSERT_TRUE(spans) << spans.error().message;
  ASSERT_TRUE(spans->has_value());
  ASSERT_EQ((*spans)->size(), 3u);
  auto found = client->FindSpans("cart", "tracerig.request_id", "00000000000000aa", 0,
                                 4'000'000'000'000'000ull);
  ASSERT_TRUE(found) << found.error().message;
  // Every span carrying the request id in the traces that involve cart (the whole trace here).
  ASSERT_EQ(found->size(), 3u);
  auto cart = std::find_if(found->begin(), found->end(),
                           [](const Span& s) { return s.service_name == "cart"; });
  ASSERT_NE(cart, found->end());
  EXPECT_EQ(cart->parent_span_id, SpanId{2});
  EXPECT_EQ(cart->kind, SpanKind::kServer);
  auto none = client->FindSpans("cart", "tracerig.request_id", "00000000000000bb", 0,
                                4'000'000'000'000'000ull);
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
  auto unknown = client->GetTrace(TraceId{1, 2});
  ASSERT_TRUE(unknown);
  EXPECT_FALSE(unknown->has_value());
}

TEST_F(EmbeddedBackendTest, BadInputIsRefusedWithTheProtocolsErrorsAndCounted) {
  auto wrong_type = ingest_->Request(http::verb::post, "/v1/traces", "text/plain", "hello");
  ASSERT_TRUE(wrong_type);
  EXPECT_EQ(wrong_type->status, 415u);
  auto garbage = ingest_->Request(http::verb::post, "/v1/traces", "application/x-protobuf",
                                  std::string("\xff\xff\xff\xff", 4));
  ASSERT_TRUE(garbage);
  EXPECT_EQ(garbage->status, 400u);
  auto bad_gzip = ingest_->Request(http::verb::post, "/v1/traces", "application/x-protobuf",
                                   "not gzip", {{"Content-Encoding", "gzip"}});
  ASSERT_TRUE(bad_gzip);
  EXPECT_EQ(bad_gzip->status, 400u);
  // Over the HTTP layer's body limit: 413 from the server itself, before any decoding.
  BlockingHttpClient fresh("127.0.0.1", backend_->otlp_http_endpoint().port());
  auto huge = fresh.Request(http::verb::post, "/v1/traces", "application/x-protobuf",
                            std::string(128 * 1024, 'x'));
  ASSERT_TRUE(huge);
  EXPECT_EQ(huge->status, 413u);
  EXPECT_EQ(backend_->counters().requests_rejected, 3u);
  EXPECT_EQ(backend_->http_rejections(), 1u);
  EXPECT_EQ(backend_->counters().spans_accepted, 0u);
  // The backend is still healthy.
  auto ok = ingest_->Request(http::verb::post, "/v1/traces", "application/x-protobuf",
                             EncodeOtlpProtobuf({MakeSpan(TraceId{5, 5}, 9, 0, "a", SpanKind::kServer)}));
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200u);
}

TEST_F(EmbeddedBackendTest, ExporterDeliversThroughTheRealSenderAndFlushes) {
  OtlpHttpTarget target{"127.0.0.1", backend_->otlp_http_endpoint().port(), "/v1/traces", {}};
  ExporterOptions options;
  options.max_batch_spans = 64;
  BatchingExporter exporter(std::make_unique<OtlpHttpSender>(target), options, 1);
  for (uint64_t i = 1; i <= 1000; ++i) {
    exporter.Submit(MakeSpan(TraceId{7, i}, i, 0, "svc", SpanKind::kServer));
  }
  ASSERT_TRUE(exporter.Flush(std::chrono::seconds(30)));
  auto stats = exporter.stats();
  EXPECT_EQ(stats.exported, 1000u);
  EXPECT_EQ(stats.dropped_queue_full + stats.dropped_failed, 0u);
  EXPECT_EQ(backend_->store().stats().spans_stored, 1000u);
}

// A batch consumer's links go out through the real OTLP/HTTP sender and come back through every
// query client the embedded backend serves: ids, state, attributes and flags from API v3 and
// tracerig's endpoint, ids from Jaeger v1's FOLLOWS_FROM references.
TEST_F(EmbeddedBackendTest, LinksSurviveExportIngestAndEveryQueryClient) {
  Span batch = MakeSpan(TraceId{0x51, 0x52}, 9, 0, "fulfilment", SpanKind::kConsumer);
  batch.links = {SpanLink{TraceId{0x61, 0x62}, SpanId{0x63}, "rojo=1",
                          {{"tracerig.request_id", std::string("00000000000000aa")}}, 1},
                 SpanLink{TraceId{0, 0x72}, SpanId{0x73}, "", {}, 0}};
  OtlpHttpTarget target{"127.0.0.1", backend_->otlp_http_endpoint().port(), "/v1/traces", {}};
  BatchingExporter exporter(std::make_unique<OtlpHttpSender>(target), ExporterOptions{}, 1);
  exporter.Submit(batch);
  ASSERT_TRUE(exporter.Flush(std::chrono::seconds(30)));

  const uint16_t port = backend_->query_endpoint().port();
  auto fetcher = [port] { return std::make_unique<BlockingHttpFetcher>("127.0.0.1", port); };
  struct Case {
    const char* name;
    std::unique_ptr<BackendClient> client;
    std::vector<SpanLink> want;
  };
  std::vector<Case> cases;
  cases.push_back({"jaeger api v3", MakeJaegerV3Client(fetcher(), "embedded"), batch.links});
  cases.push_back({"tracerig", MakeTracerigClient(fetcher(), "embedded"), batch.links});
  cases.push_back({"jaeger v1 (ids only)", MakeJaegerV1Client(fetcher(), "embedded"),
                   {SpanLink{TraceId{0x61, 0x62}, SpanId{0x63}, "", {}, 0},
                    SpanLink{TraceId{0, 0x72}, SpanId{0x73}, "", {}, 0}}});
  for (Case& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_TRUE(c.client->SupportsLinks());
    auto spans = c.client->GetTrace(batch.trace_id);
    ASSERT_TRUE(spans) << spans.error().message;
    ASSERT_TRUE(spans->has_value());
    ASSERT_EQ((*spans)->size(), 1u);
    EXPECT_FALSE((**spans)[0].parent_span_id.IsValid());
    EXPECT_EQ((**spans)[0].links, c.want);
  }
}

TEST_F(EmbeddedBackendTest, ZipkinServerIsOffUnlessAsked) {
  EXPECT_EQ(backend_->zipkin_endpoint().port(), 0);
}

// --max-bytes reaches the store: a bound with room for one of these traces keeps only the newest,
// and /api/tracerig/stats says so.
TEST(EmbeddedBackendBytesTest, ByteBoundEvictsOldestTracesAndStatsShowIt) {
  const std::vector<Span> first = {MakeSpan(TraceId{0, 1}, 1, 0, "frontend", SpanKind::kServer),
                                   MakeSpan(TraceId{0, 1}, 2, 1, "frontend", SpanKind::kClient)};
  const std::vector<Span> second = {MakeSpan(TraceId{0, 2}, 3, 0, "frontend", SpanKind::kServer),
                                    MakeSpan(TraceId{0, 2}, 4, 3, "frontend", SpanKind::kClient)};
  // What the store charges for a trace is what it charges for the decoded spans.
  auto decoded = DecodeOtlpProtobuf(EncodeOtlpProtobuf(second));
  ASSERT_TRUE(decoded.ok());
  uint64_t second_bytes = kTraceOverheadBytes + kServiceLinkBytes;  // one service
  for (const Span& s : *decoded) second_bytes += EstimateSpanBytes(s);

  EmbeddedBackendOptions options;
  options.otlp_http = "127.0.0.1:0";
  options.query = "127.0.0.1:0";
  options.max_bytes = second_bytes + second_bytes / 2;  // one trace fits, two do not
  EmbeddedBackend backend(options);
  ASSERT_TRUE(backend.Start().ok());
  BlockingHttpClient ingest("127.0.0.1", backend.otlp_http_endpoint().port());
  BlockingHttpClient query("127.0.0.1", backend.query_endpoint().port());
  for (const auto* batch : {&first, &second}) {
    auto r = ingest.Request(http::verb::post, "/v1/traces", "application/x-protobuf",
                            EncodeOtlpProtobuf(*batch));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200u);
  }
  auto stats = query.Get("/api/tracerig/stats");
  ASSERT_TRUE(stats);
  ASSERT_EQ(stats->status, 200u);
  const auto body = nlohmann::json::parse(stats->body);
  EXPECT_EQ(body["store"]["spans_stored"], 2);
  EXPECT_EQ(body["store"]["spans_evicted"], 2);
  EXPECT_EQ(body["store"]["traces_evicted"], 1);
  EXPECT_EQ(body["store"]["bytes_stored"], second_bytes);
  EXPECT_EQ(body["store"]["max_bytes"], options.max_bytes);
  EXPECT_FALSE(backend.store().GetTrace(TraceId{0, 1}));
  EXPECT_TRUE(backend.store().GetTrace(TraceId{0, 2}));
  backend.Stop();
}

TEST(EmbeddedZipkinTest, ZipkinSenderInZipkinQueryApiOutOnePort) {
  EmbeddedBackendOptions options;
  options.otlp_http = "127.0.0.1:0";
  options.query = "127.0.0.1:0";
  options.zipkin = "127.0.0.1:0";
  options.max_body_bytes = 64 * 1024;
  EmbeddedBackend backend(options);
  ASSERT_TRUE(backend.Start().ok());
  const uint16_t port = backend.zipkin_endpoint().port();
  ASSERT_NE(port, 0);

  const TraceId trace{0, 0x5eed};
  ZipkinHttpTarget target;
  target.host = "127.0.0.1";
  target.port = port;
  ExporterOptions exporter_options;
  exporter_options.max_batch_spans = 2;
  BatchingExporter exporter(
      std::make_unique<ZipkinHttpSender>(target), exporter_options, 1);
  exporter.Submit(MakeSpan(trace, 1, 0, "Frontend", SpanKind::kServer));
  exporter.Submit(MakeSpan(trace, 2, 1, "frontend", SpanKind::kClient));
  exporter.Submit(MakeSpan(trace, 3, 2, "cart", SpanKind::kServer));
  ASSERT_TRUE(exporter.Flush(std::chrono::seconds(30)));
  EXPECT_EQ(exporter.stats().exported, 3u);
  EXPECT_EQ(backend.counters().spans_accepted, 3u);

  BlockingHttpClient client("127.0.0.1", port);
  auto got = client.Get("/api/v2/trace/5eed");
  ASSERT_TRUE(got) << got.error().message;
  EXPECT_EQ(got->status, 200u);
  EXPECT_EQ(got->content_type, "application/json");
  auto spans = DecodeZipkinJson(got->body);
  ASSERT_TRUE(spans) << spans.error().message;
  ASSERT_EQ(spans->size(), 3u);
  EXPECT_EQ((*spans)[0].service_name, "frontend");  // lowercased, as Zipkin answers
  EXPECT_EQ((*spans)[2].parent_span_id, SpanId{2});
  EXPECT_EQ(nlohmann::json::parse(got->body)[0]["traceId"], "0000000000005eed");

  auto services = client.Get("/api/v2/services");
  ASSERT_TRUE(services);
  EXPECT_EQ(services->body, R"(["cart","frontend"])");
  auto unknown = client.Get("/api/v2/trace/ffff");
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->status, 404u);
  EXPECT_EQ(unknown->body, "ffff not found");
  auto no_end = client.Get("/api/v2/dependencies");
  ASSERT_TRUE(no_end);
  EXPECT_EQ(no_end->status, 400u);

  // Bad input gets Zipkin's statuses, is counted with the OTLP receiver's, and stores nothing.
  auto bad = client.Request(http::verb::post, "/api/v2/spans", "application/json", "[{}]");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400u);
  EXPECT_EQ(bad->body, "cannot decode Zipkin v2 JSON: spans[0]: traceId is required");
  auto wrong_type = client.Request(http::verb::post, "/api/v2/spans", "text/plain", "[]");
  ASSERT_TRUE(wrong_type);
  EXPECT_EQ(wrong_type->status, 415u);
  BlockingHttpClient fresh("127.0.0.1", port);
  auto huge = fresh.Request(http::verb::post, "/api/v2/spans", "application/json",
                            std::string(128 * 1024, ' '));
  ASSERT_TRUE(huge);
  EXPECT_EQ(huge->status, 413u);
  EXPECT_EQ(backend.counters().requests_rejected, 2u);
  EXPECT_EQ(backend.http_rejections(), 1u);
  EXPECT_EQ(backend.store().stats().spans_stored, 3u);
  // The OTLP receiver feeds the same store.
  BlockingHttpClient otlp("127.0.0.1", backend.otlp_http_endpoint().port());
  auto pb = otlp.Request(http::verb::post, "/v1/traces", "application/x-protobuf",
                         EncodeOtlpProtobuf({MakeSpan(trace, 4, 3, "db", SpanKind::kServer)}));
  ASSERT_TRUE(pb);
  EXPECT_EQ(pb->status, 200u);
  auto again = client.Get("/api/v2/trace/5eed");
  ASSERT_TRUE(again);
  EXPECT_EQ(nlohmann::json::parse(again->body).size(), 4u);
  backend.Stop();
}

TEST(OtlpHttpResponseTest, ClassificationFollowsTheSpecification) {
  EXPECT_EQ(ClassifyOtlpHttpResponse(200, "", "").kind, SendResult::Kind::kOk);
  for (unsigned status : {429u, 502u, 503u, 504u}) {
    EXPECT_EQ(ClassifyOtlpHttpResponse(status, "busy", "").kind, SendResult::Kind::kRetryable) << status;
  }
  auto retry_after = ClassifyOtlpHttpResponse(503, "", "7");
  EXPECT_EQ(retry_after.retry_after_ms, 7000u);
  for (unsigned status : {400u, 401u, 404u, 413u, 500u}) {
    EXPECT_EQ(ClassifyOtlpHttpResponse(status, "no", "").kind, SendResult::Kind::kPermanent) << status;
  }
  EXPECT_EQ(ClassifyOtlpHttpResponse(400, "bad ids", "").reason, "HTTP 400: bad ids");
}

}  // namespace
}  // namespace tracerig
