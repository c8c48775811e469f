// The Zipkin sender and the OTLP/HTTP sender's JSON encoding against a real loopback server (port
// 0) whose fake handler records each request and answers from a script (503, then 202, ...).
#include <gtest/gtest.h>

#include <deque>
#include <mutex>

#include "export/exporter.h"
#include "export/gzip.h"
#include "export/otlp_codec.h"
#include "export/otlp_http_sender.h"
#include "export/zipkin_codec.h"
#include "export/zipkin_sender.h"
#include "tests/export/recording_waiter.h"
#include "tests/support/loopback_server.h"

namespace tracerig {
namespace {

struct Recorded {
  std::string target;
  std::string content_type;
  std::string content_encoding;
  std::string body;
};

struct Answer {
  http::status status;
  std::string body;
  std::string retry_after;
};

// Answers requests in order from `script` (the last answer repeats) and records them.
class ScriptedServer {
 public:
  explicit ScriptedServer(std::vector<Answer> script)
      : script_(std::move(script)), server_([this](HttpRequest&& request, HttpResponder respond) {
          Answer answer;
          {
            std::lock_guard lock(mu_);
            requests_.push_back(Recorded{
                std::string(request.target()), std::string(request[http::field::content_type]),
                std::string(request[http::field::content_encoding]), request.body()});
            answer = script_[std::min(next_++, script_.size() - 1)];
          }
          HttpResponse response = MakeResponse(request, answer.status, "text/plain", answer.body);
          if (!answer.retry_after.empty())
            response.set(http::field::retry_after, answer.retry_after);
          respond(std::move(response));
        }) {}
  uint16_t port() const { return server_.port(); }
  std::vector<Recorded> requests() const {
    std::lock_guard lock(mu_);
    return requests_;
  }

 private:
  mutable std::mutex mu_;
  std::vector<Answer> script_;
  size_t next_ = 0;
  std::vector<Recorded> requests_;
  test_support::LoopbackServer server_;  // last: stopped first, while the members above still exist
};

ZipkinHttpTarget ZipkinTarget(uint16_t port) {
  ZipkinHttpTarget target;
  target.host = "127.0.0.1";
  target.port = port;
  return target;
}

OtlpHttpTarget OtlpTarget(uint16_t port) {
  OtlpHttpTarget target;
  target.host = "127.0.0.1";
  target.port = port;
  return target;
}

Span TestSpan(uint64_t id) {
  Span s;
  s.trace_id = TraceId{0x1234, 0x5678};
  s.span_id = SpanId{id};
  s.name = "GET /cart";
  s.kind = SpanKind::kServer;
  s.start_unix_nano = 1'700'000'000'000'000'000ull + id * 1000;
  s.end_unix_nano = s.start_unix_nano + 2'000'000;
  s.attributes = {{"tracerig.request_id", std::string("00000000000000aa")}};
  s.service_name = "cart";
  return s;
}

using testing::RecordingWaiter;

TEST(ZipkinHttpSenderTest, PostsZipkinJsonAndRetriesUnavailable) {
  ScriptedServer server(
      {{http::status::service_unavailable, "busy", "2"}, {http::status::accepted, "", ""}});
  ZipkinHttpSender sender(ZipkinTarget(server.port()));
  const std::vector<Span> batch = {TestSpan(1), TestSpan(2)};

  SendResult first = sender.Send(batch);
  EXPECT_EQ(first.kind, SendResult::Kind::kRetryable);
  EXPECT_EQ(first.retry_after_ms, 2000u);
  EXPECT_EQ(first.reason, "HTTP 503: busy");
  SendResult second = sender.Send(batch);
  EXPECT_EQ(second.kind, SendResult::Kind::kOk);

  auto requests = server.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[1].target, "/api/v2/spans");
  EXPECT_EQ(requests[1].content_type, "application/json");
  EXPECT_EQ(requests[1].content_encoding, "");
  EXPECT_EQ(requests[1].body, EncodeZipkinJson(batch));
}

TEST(ZipkinHttpSenderTest, GzipAndHeaders) {
  ScriptedServer server({{http::status::accepted, "", ""}});
  ZipkinHttpTarget target = ZipkinTarget(server.port());
  target.path = "/zipkin/api/v2/spans";
  target.gzip = true;
  ZipkinHttpSender sender(target);
  EXPECT_EQ(sender.Send({TestSpan(3)}).kind, SendResult::Kind::kOk);
  auto requests = server.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].target, "/zipkin/api/v2/spans");
  EXPECT_EQ(requests[0].content_encoding, "gzip");
  auto body = GzipDecompress(requests[0].body, 1 << 20);
  ASSERT_TRUE(body) << body.error().message;
  auto spans = DecodeZipkinJson(*body);
  ASSERT_TRUE(spans) << spans.error().message;
  ASSERT_EQ(spans->size(), 1u);
  EXPECT_EQ((*spans)[0].span_id, SpanId{3});
}

TEST(ZipkinHttpSenderTest, ExporterRetriesThroughTheSenderUntilAccepted) {
  ScriptedServer server({{http::status::service_unavailable, "", ""},
                         {http::status::too_many_requests, "", "1"},
                         {http::status::accepted, "", ""}});
  std::vector<uint64_t> delays;
  ExporterOptions options;
  options.max_batch_spans = 10;
  BatchingExporter exporter(std::make_unique<ZipkinHttpSender>(ZipkinTarget(server.port())),
                            options, 1, std::make_unique<RecordingWaiter>(&delays));
  for (uint64_t i = 1; i <= 10; ++i) exporter.Submit(TestSpan(i));
  ASSERT_TRUE(exporter.Flush(std::chrono::seconds(30)));
  exporter.Shutdown();
  const ExporterStats stats = exporter.stats();
  EXPECT_EQ(stats.exported, 10u);
  EXPECT_EQ(stats.retries, 2u);
  ASSERT_EQ(delays.size(), 2u);
  EXPECT_EQ(delays[1], 1000u);  // Retry-After: 1
  EXPECT_EQ(server.requests().size(), 3u);
}

TEST(ZipkinHttpSenderTest, PermanentFailureIsNotRetried) {
  ScriptedServer server(
      {{http::status::bad_request, "Malformed reading List<Span> from json", ""}});
  ZipkinHttpSender sender(ZipkinTarget(server.port()));
  SendResult r = sender.Send({TestSpan(1)});
  EXPECT_EQ(r.kind, SendResult::Kind::kPermanent);
  EXPECT_EQ(r.reason, "HTTP 400: Malformed reading List<Span> from json");
}

TEST(ZipkinHttpSenderTest, UnreachableCollectorIsRetryable) {
  uint16_t port;
  {
    ScriptedServer closed({{http::status::accepted, "", ""}});
    port = closed.port();
  }  // nothing listens on the port any more
  HttpClientOptions options;
  options.connect_timeout = std::chrono::milliseconds(2000);
  ZipkinHttpSender sender(ZipkinTarget(port), options);
  SendResult r = sender.Send({TestSpan(1)});
  EXPECT_EQ(r.kind, SendResult::Kind::kRetryable);
  EXPECT_FALSE(r.reason.empty());
}

TEST(ZipkinHttpResponseTest, ClassificationMatchesOtlpHttp) {
  struct Row {
    unsigned status;
    std::string_view body;
    std::string_view retry_after;
    SendResult::Kind kind;
    uint64_t retry_after_ms;
  };
  const Row rows[] = {
      {202, "", "", SendResult::Kind::kOk, 0},
      {200, "\x08\x05", "", SendResult::Kind::kOk, 0},  // never read as OTLP partial success
      {429, "", "3", SendResult::Kind::kRetryable, 3000},
      {502, "", "", SendResult::Kind::kRetryable, 0},
      {503, "", "soon", SendResult::Kind::kRetryable, 0},
      {504, "", "", SendResult::Kind::kRetryable, 0},
      {400, "bad", "", SendResult::Kind::kPermanent, 0},
      {404, "", "", SendResult::Kind::kPermanent, 0},
      {413, "", "", SendResult::Kind::kPermanent, 0},
      {415, "", "", SendResult::Kind::kPermanent, 0},
      {500, "", "", SendResult::Kind::kPermanent, 0},
  };
  for (const Row& row : rows) {
    SendResult r = ClassifyZipkinHttpResponse(row.status, row.body, row.retry_after);
    EXPECT_EQ(r.kind, row.kind) << row.status;
    EXPECT_EQ(r.retry_after_ms, row.retry_after_ms) << row.status;
    EXPECT_EQ(r.rejected_spans, 0) << row.status;
  }
}

TEST(OtlpHttpSenderJsonTest, SendsOtlpJsonAndReadsJsonPartialSuccess) {
  ScriptedServer server(
      {{http::status::ok, R"({"partialSuccess":{"rejectedSpans":"1","errorMessage":"dup"}})", ""}});
  OtlpHttpTarget target = OtlpTarget(server.port());
  target.encoding = OtlpEncoding::kJson;
  OtlpHttpSender sender(target);
  const std::vector<Span> batch = {TestSpan(1), TestSpan(2)};
  SendResult r = sender.Send(batch);
  EXPECT_EQ(r.kind, SendResult::Kind::kOk);
  EXPECT_EQ(r.rejected_spans, 1);
  EXPECT_EQ(r.reason, "dup");
  auto requests = server.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].target, "/v1/traces");
  EXPECT_EQ(requests[0].content_type, "application/json");
  EXPECT_EQ(requests[0].body, EncodeOtlpJson(batch));
}

TEST(OtlpHttpSenderJsonTest, ProtobufStaysTheDefault) {
  ScriptedServer server({{http::status::ok, "", ""}});
  OtlpHttpSender sender(OtlpTarget(server.port()));
  EXPECT_EQ(sender.Send({TestSpan(1)}).kind, SendResult::Kind::kOk);
  auto requests = server.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].content_type, "application/x-protobuf");
  EXPECT_EQ(requests[0].body, EncodeOtlpProtobuf({TestSpan(1)}));
}

TEST(OtlpHttpResponseJsonTest, PartialSuccessInEitherNumberForm) {
  struct Row {
    std::string_view body;
    int64_t rejected;
    std::string_view reason;
  };
  const Row rows[] = {
      {"{}", 0, ""},
      {"", 0, ""},
      {"not json", 0, ""},
      {R"({"partialSuccess":{}})", 0, ""},
      {R"({"partialSuccess":{"rejectedSpans":3}})", 3, ""},
      {R"({"partialSuccess":{"rejectedSpans":"4","errorMessage":"too old"}})", 4, "too old"},
      {R"({"partialSuccess":{"rejectedSpans":"x"}})", 0, ""},
  };
  for (const Row& row : rows) {
    SendResult r = ClassifyOtlpHttpResponse(200, row.body, "", OtlpEncoding::kJson);
    EXPECT_EQ(r.kind, SendResult::Kind::kOk) << row.body;
    EXPECT_EQ(r.rejected_spans, row.rejected) << row.body;
    EXPECT_EQ(r.reason, row.reason) << row.body;
  }
}

}  // namespace
}  // namespace tracerig
