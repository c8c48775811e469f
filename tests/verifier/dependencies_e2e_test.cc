// The backends' dependency lists over loopback: the embedded backend's Zipkin query port serves
// /api/v2/dependencies, its Jaeger query port has no /api/dependencies (the client says "not
// served", not an error). Real sockets on port 0.
#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "backend/embedded_backend.h"
#include "core/clock.h"
#include "export/otlp_codec.h"
#include "net/http_client.h"
#include "verifier/blocking_http_fetcher.h"
#include "verifier/graph.h"
#include "verifier/jaeger_v1_client.h"
#include "verifier/zipkin_v2_client.h"

namespace tracerig {
namespace {

constexpr uint64_t kNanosPerMicro = 1000;
constexpr uint64_t kMinuteMicros = 60'000'000;

Span MakeSpan(TraceId trace, uint64_t id, uint64_t parent, std::string service, SpanKind kind,
              uint64_t start_unix_nano) {
  Span s;
  s.trace_id = trace;
  s.span_id = SpanId{id};
  s.parent_span_id = SpanId{parent};
  s.name = "op";
  s.kind = kind;
  s.service_name = std::move(service);
  s.start_unix_nano = start_unix_nano;
  s.end_unix_nano = start_unix_nano + 1'000'000;
  return s;
}

class DependenciesE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    EmbeddedBackendOptions options;
    options.otlp_http = "127.0.0.1:0";
    options.query = "127.0.0.1:0";
    options.zipkin = "127.0.0.1:0";
    backend_ = std::make_unique<EmbeddedBackend>(options);
    ASSERT_TRUE(backend_->Start().ok());
  }
  void TearDown() override { backend_->Stop(); }

  // Two traces of driver -> a -> b (CLIENT and SERVER span per call), a third calling only a.
  void IngestTraces(uint64_t now_ns) {
    std::vector<Span> spans;
    for (uint64_t t = 1; t <= 3; ++t) {
      const TraceId trace{0, t};
      spans.push_back(MakeSpan(trace, 1, 0, "tracerig-driver", SpanKind::kClient, now_ns));
      spans.push_back(MakeSpan(trace, 2, 1, "a", SpanKind::kServer, now_ns));
      if (t == 3) continue;
      spans.push_back(MakeSpan(trace, 3, 2, "a", SpanKind::kClient, now_ns));
      spans.push_back(MakeSpan(trace, 4, 3, "b", SpanKind::kServer, now_ns));
    }
    BlockingHttpClient ingest("127.0.0.1", backend_->otlp_http_endpoint().port());
    auto posted = ingest.Request(http::verb::post, "/v1/traces", "application/x-protobuf",
                                 EncodeOtlpProtobuf(spans));
    ASSERT_TRUE(posted.ok()) << posted.error().message;
    ASSERT_EQ(posted->status, 200u) << posted->body;
  }

  std::unique_ptr<EmbeddedBackend> backend_;
};

TEST_F(DependenciesE2eTest, ZipkinPortServesTheListTheVerifierCompares) {
  const uint64_t now_ns = SystemClock::Instance().NowUnixNano();
  ASSERT_NO_FATAL_FAILURE(IngestTraces(now_ns));
  auto client = MakeZipkinV2Client(
      std::make_unique<BlockingHttpFetcher>("127.0.0.1", backend_->zipkin_endpoint().port()),
      "embedded zipkin");
  const uint64_t now_us = now_ns / kNanosPerMicro;
  auto links = client->GetDependencies(now_us - kMinuteMicros, now_us + kMinuteMicros);
  ASSERT_TRUE(links.ok()) << links.error().message;
  ASSERT_TRUE(links->has_value());
  EXPECT_EQ(**links, (std::vector<DependencyLink>{{"a", "b", 2}, {"tracerig-driver", "a", 3}}));

  // Against the topology's edges: c is missing from the backend's list.
  const std::vector<ExpectedEdge> expected = {
      {"tracerig-driver", "a", 3, 0}, {"a", "b", 2, 0}, {"b", "c", 2, 0}};
  const GraphComparison compared = CompareDependencies(expected, **links);
  EXPECT_EQ(compared.missing, 1u);
  EXPECT_EQ(compared.unexpected, 0u);

  // A window that ends before the traces started holds none of them.
  auto before = client->GetDependencies(now_us - 2 * kMinuteMicros, now_us - kMinuteMicros);
  ASSERT_TRUE(before.ok()) << before.error().message;
  ASSERT_TRUE(before->has_value());
  EXPECT_TRUE((*before)->empty());
}

TEST_F(DependenciesE2eTest, JaegerQueryPortServesNoListAndSaysSo) {
  auto client = MakeJaegerV1Client(
      std::make_unique<BlockingHttpFetcher>("127.0.0.1", backend_->query_endpoint().port()),
      "embedded jaeger");
  auto links = client->GetDependencies(1'700'000'000'000'000, 1'700'000'060'000'000);
  ASSERT_TRUE(links.ok()) << links.error().message;
  EXPECT_FALSE(links->has_value());
}

}  // namespace
}  // namespace tracerig
