// https end to end over loopback with throwaway certificates: the OTLP/HTTP (protobuf and JSON)
// and Zipkin senders deliver to a TLS receiver (exact span counts), a handshake failure is a
// retryable transport error that says why, and a Jaeger query client reads the spans back over
// https (jaeger+https://). No secret (auth header value) appears in any error.
#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <mutex>

#include "backend/jaeger_json.h"
#include "export/otlp_codec.h"
#include "export/otlp_http_sender.h"
#include "export/zipkin_codec.h"
#include "export/zipkin_sender.h"
#include "net/tls.h"
#include "tests/net/tls_test_support.h"
#include "verifier/backend_factory.h"

namespace tracerig {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using testing::TestPki;
using testing::TlsFakeServer;
using testing::TlsServerOptions;

constexpr char kSecret[] = "Bearer t0ps3cr3t";

// A TLS backend in miniature: OTLP/HTTP protobuf or JSON and Zipkin JSON in, Jaeger v1 trace by id
// out. Remembers the authorization header it saw, to prove it travelled.
class TlsBackend {
 public:
  explicit TlsBackend(const TestPki& pki)
      : server_(TlsServerOptions{pki.File("server.pem"), pki.File("server.key"), ""},
                [this](const HttpRequest& request) { return Handle(request); }) {}
  Status Start() { return server_.Start(); }
  uint16_t port() const { return server_.port(); }
  const TlsFakeServer& server() const { return server_; }
  size_t spans() const {
    std::lock_guard lock(mu_);
    return spans_.size();
  }
  std::string authorization() const {
    std::lock_guard lock(mu_);
    return authorization_;
  }

 private:
  HttpResponse Handle(const HttpRequest& request) {
    HttpResponse response{http::status::ok, request.version()};
    const std::string target(request.target());
    std::lock_guard lock(mu_);
    authorization_ = std::string(request[http::field::authorization]);
    if (request.method() == http::verb::post) {
      const std::string content_type(request[http::field::content_type]);
      auto decoded = target == "/api/v2/spans"            ? DecodeZipkinJson(request.body())
                     : content_type == "application/json" ? DecodeOtlpJson(request.body())
                                                          : DecodeOtlpProtobuf(request.body());
      if (!decoded) {
        response.result(http::status::bad_request);
        response.body() = decoded.error().message;
        return response;
      }
      spans_.insert(spans_.end(), decoded->begin(), decoded->end());
      response.result(target == "/api/v2/spans" ? http::status::accepted : http::status::ok);
      return response;
    }
    constexpr std::string_view kTraces = "/api/traces/";
    auto id = target.starts_with(kTraces) ? TraceId::FromHex(target.substr(kTraces.size()))
                                          : std::nullopt;
    std::vector<Span> trace;
    for (const Span& span : spans_) {
      if (id && span.trace_id == *id) trace.push_back(span);
    }
    response.set(http::field::content_type, "application/json");
    if (trace.empty()) {
      response.result(http::status::not_found);
      response.body() = JaegerErrorResponse(404, "trace not found");
      return response;
    }
    nlohmann::ordered_json data = nlohmann::ordered_json::array();
    data.push_back(EncodeJaegerTrace(trace));
    response.body() = JaegerDataResponse(std::move(data), 1);
    return response;
  }

  mutable std::mutex mu_;
  std::vector<Span> spans_;
  std::string authorization_;
  TlsFakeServer server_;
};

// `count` spans of one trace (a root and its children), trace id `trace`.
std::vector<Span> Batch(uint64_t trace, size_t count) {
  std::vector<Span> spans;
  for (size_t i = 0; i < count; ++i) {
    Span span;
    span.trace_id = TraceId{0x1234, trace};
    span.span_id = SpanId{trace * 100 + i + 1};
    if (i > 0) span.parent_span_id = SpanId{trace * 100 + 1};
    span.name = fmt::format("op-{}", i);
    span.kind = SpanKind::kServer;
    span.service_name = "svc";
    span.start_unix_nano = 1'700'000'000'000'000'000ull + i * 1000;
    span.end_unix_nano = span.start_unix_nano + 5'000'000;
    spans.push_back(span);
  }
  return spans;
}

class HttpsExportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(pki_.status()) << pki_.status().error().message;
    auto s = backend_.Start();
    ASSERT_TRUE(s) << s.error().message;
  }
  HttpClientOptions Options(std::string_view ca) const {
    HttpClientOptions options;
    auto tls = LoadTlsClientContext(TlsConfig{pki_.File(ca), "", ""});
    EXPECT_TRUE(tls) << tls.error().message;
    if (tls) options.tls = *tls;
    return options;
  }

  TestPki pki_;
  TlsBackend backend_{pki_};
};

TEST_F(HttpsExportTest, EverySenderDeliversOverTls) {
  OtlpHttpTarget protobuf{"127.0.0.1", backend_.port(), "/v1/traces", {{"authorization", kSecret}}};
  OtlpHttpTarget json = protobuf;
  json.encoding = OtlpEncoding::kJson;
  ZipkinHttpTarget zipkin{"localhost", backend_.port(), "/api/v2/spans", {}, /*gzip=*/false};
  std::vector<std::unique_ptr<BatchSender>> senders;
  senders.push_back(std::make_unique<OtlpHttpSender>(protobuf, Options("ca.pem")));
  senders.push_back(std::make_unique<OtlpHttpSender>(json, Options("ca.pem")));
  senders.push_back(std::make_unique<ZipkinHttpSender>(zipkin, Options("ca.pem")));
  size_t sent = 0;
  uint64_t trace = 1;
  for (auto& sender : senders) {
    for (size_t size : {1, 7, 3}) {
      const SendResult r = sender->Send(Batch(trace++, size));
      ASSERT_EQ(r.kind, SendResult::Kind::kOk) << r.reason;
      sent += size;
      EXPECT_EQ(backend_.spans(), sent);
    }
  }
  EXPECT_EQ(backend_.spans(), 33u);
  EXPECT_EQ(backend_.server().requests(), 9u);
  EXPECT_EQ(backend_.server().handshakes(), 3u);  // one kept-alive connection per sender
}

TEST_F(HttpsExportTest, HandshakeFailureIsRetryableAndSaysWhy) {
  OtlpHttpTarget target{"127.0.0.1", backend_.port(), "/v1/traces", {{"authorization", kSecret}}};
  OtlpHttpSender sender(target, Options("other-ca.pem"));
  const SendResult r = sender.Send(Batch(1, 2));
  EXPECT_EQ(r.kind, SendResult::Kind::kRetryable);  // as a refused connection is
  EXPECT_EQ(r.reason, fmt::format("TLS handshake with 127.0.0.1:{} failed: certificate verify "
                                  "failed: unable to get local issuer certificate",
                                  backend_.port()));
  EXPECT_THAT(r.reason, Not(HasSubstr("t0ps3cr3t")));
  EXPECT_EQ(backend_.spans(), 0u);
  EXPECT_EQ(backend_.server().WaitForFailedHandshakes(1), 1u);
}

TEST_F(HttpsExportTest, QueryClientReadsATraceBackOverHttps) {
  OtlpHttpSender sender({"127.0.0.1", backend_.port(), "/v1/traces", {}}, Options("ca.pem"));
  const std::vector<Span> sent = Batch(42, 4);
  ASSERT_EQ(sender.Send(sent).kind, SendResult::Kind::kOk);

  const std::string url = fmt::format("jaeger+https://127.0.0.1:{}", backend_.port());
  auto factory =
      MakeBackendClientFactory(url, {Header{"authorization", kSecret}}, Options("ca.pem"));
  ASSERT_TRUE(factory) << factory.error().message;
  auto client = (*factory)();
  EXPECT_THAT(client->Describe(), HasSubstr(fmt::format("https://127.0.0.1:{}", backend_.port())));
  auto trace = client->GetTrace(sent[0].trace_id);
  ASSERT_TRUE(trace) << trace.error().message;
  ASSERT_TRUE(trace->has_value());
  ASSERT_EQ((*trace)->size(), 4u);
  std::map<uint64_t, std::string> names;
  for (const Span& span : **trace) names[span.span_id.value] = span.name;
  EXPECT_EQ(names, (std::map<uint64_t, std::string>{
                       {4201, "op-0"}, {4202, "op-1"}, {4203, "op-2"}, {4204, "op-3"}}));
  EXPECT_EQ(backend_.authorization(), kSecret);
  auto missing = client->GetTrace(TraceId{1, 1});
  ASSERT_TRUE(missing) << missing.error().message;
  EXPECT_FALSE(missing->has_value());

  // Without a CA file the system's roots are used, which do not know the throwaway CA.
  auto system = MakeBackendClientFactory(url, {Header{"authorization", kSecret}});
  ASSERT_TRUE(system) << system.error().message;
  auto failed = (*system)()->GetTrace(sent[0].trace_id);
  ASSERT_FALSE(failed);
  EXPECT_THAT(failed.error().message, HasSubstr("certificate verify failed"));
  EXPECT_THAT(failed.error().message, Not(HasSubstr("t0ps3cr3t")));
}

TEST(QueryTargetTlsTest, PlusHttpsSelectsTls) {
  struct Case {
    const char* url;
    QueryApi api;
    uint16_t port;
    bool tls;
    const char* base;
  };
  const Case cases[] = {
      {"jaeger://h", QueryApi::kJaegerV1, 16686, false, "http://h:16686"},
      {"jaeger+https://h", QueryApi::kJaegerV1, 16686, true, "https://h:16686"},
      {"jaeger-v3+https://h:443/jaeger", QueryApi::kJaegerV3, 443, true, "https://h:443/jaeger"},
      {"zipkin+https://h", QueryApi::kZipkinV2, 9411, true, "https://h:9411"},
      {"tempo+https://h", QueryApi::kTempo, 3200, true, "https://h:3200"},
  };
  for (const Case& c : cases) {
    auto target = ParseQueryTarget(c.url);
    ASSERT_TRUE(target) << c.url << ": " << target.error().message;
    EXPECT_EQ(target->api, c.api) << c.url;
    EXPECT_EQ(target->address.port, c.port) << c.url;
    EXPECT_EQ(target->tls, c.tls) << c.url;
    EXPECT_EQ(target->HttpBase(), c.base) << c.url;
  }
  EXPECT_FALSE(ParseQueryTarget("jaeger+tls://h"));
  EXPECT_FALSE(ParseQueryTarget("+https://h"));
}

}  // namespace
}  // namespace tracerig
