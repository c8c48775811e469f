// The backend factory: query URLs to clients (table of accepted and rejected URLs with their exact
// errors), base paths, and, against a real loopback server, that query headers reach the backend.
#include "verifier/backend_factory.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <mutex>

#include "tests/support/loopback_server.h"
#include "tests/support/scripted_fetcher.h"

namespace tracerig {
namespace {

using test_support::LoopbackServer;
using test_support::ScriptedFetcher;
using ::testing::HasSubstr;

TEST(ParseQueryTargetTest, AcceptedUrls) {
  struct Case {
    const char* url;
    QueryApi api;
    const char* host;
    uint16_t port;
    const char* base_path;
    const char* http_base;
  };
  const Case cases[] = {
      {"jaeger://127.0.0.1:16686", QueryApi::kJaegerV1, "127.0.0.1", 16686, "",
       "http://127.0.0.1:16686"},
      {"jaeger://jaeger", QueryApi::kJaegerV1, "jaeger", 16686, "", "http://jaeger:16686"},
      {"jaeger-v3://q:8080/jaeger/", QueryApi::kJaegerV3, "q", 8080, "/jaeger",
       "http://q:8080/jaeger"},
      {"zipkin://zipkin", QueryApi::kZipkinV2, "zipkin", 9411, "", "http://zipkin:9411"},
      {"tempo://tempo", QueryApi::kTempo, "tempo", 3200, "", "http://tempo:3200"},
      {"tempo://[::1]:3201/tempo", QueryApi::kTempo, "::1", 3201, "/tempo",
       "http://[::1]:3201/tempo"},
      {"tracerig://127.0.0.1", QueryApi::kTracerig, "127.0.0.1", 16686, "",
       "http://127.0.0.1:16686"},
  };
  for (const Case& c : cases) {
    auto target = ParseQueryTarget(c.url);
    ASSERT_TRUE(target.ok()) << c.url << ": " << target.error().message;
    EXPECT_EQ(target->api, c.api) << c.url;
    EXPECT_EQ(target->address.host, c.host) << c.url;
    EXPECT_EQ(target->address.port, c.port) << c.url;
    EXPECT_EQ(target->base_path, c.base_path) << c.url;
    EXPECT_EQ(target->HttpBase(), c.http_base) << c.url;
  }
  EXPECT_EQ(QueryApiScheme(QueryApi::kJaegerV3), "jaeger-v3");
  EXPECT_EQ(QueryApiScheme(QueryApi::kTempo), "tempo");
}

TEST(ParseQueryTargetTest, RejectedUrlsSayWhy) {
  const std::string expected =
      "expected jaeger://HOST:PORT, jaeger-v3://HOST:PORT, zipkin://HOST:PORT or tempo://HOST:PORT";
  struct Case {
    const char* url;
    std::string error;
  };
  const std::vector<Case> cases = {
      {"zipkn://h:9411",
       "query URL \"zipkn://h:9411\": unknown scheme \"zipkn\" (did you mean \"zipkin\"?); " +
           expected},
      {"jaegerv3://h", "query URL \"jaegerv3://h\": unknown scheme \"jaegerv3\" (did you mean "
                       "\"jaeger-v3\"?); " + expected},
      {"tmpo://h", "unknown scheme \"tmpo\" (did you mean \"tempo\"?)"},
      {"otlp-grpc://h:4317", "query URL \"otlp-grpc://h:4317\": unknown scheme \"otlp-grpc\"; " +
                                 expected},
      {"http://h:16686",
       "query URL \"http://h:16686\": http:// does not say which query API the server speaks; "
       "name it with the same host and port: " + expected.substr(9)},
      {"https://h", "(for TLS, add +https to the API: jaeger+https://...)"},
      {"embedded", "query URL \"embedded\" has no scheme (" + expected + ")"},
      {"://h", "has no scheme"},
      {"tempo://h:notaport", "query URL \"tempo://h:notaport\""},
      {"zipkin://h:0", "query URL \"zipkin://h:0\": port 0 cannot be queried"},
      {"jaeger://h:16686/api?x=1", "a query string or fragment has no meaning here"},
  };
  for (const Case& c : cases) {
    auto target = ParseQueryTarget(c.url);
    ASSERT_FALSE(target.ok()) << c.url;
    EXPECT_THAT(target.error().message, HasSubstr(c.error)) << c.url;
  }
}

TEST(MakeBackendClientTest, EachApiGetsItsClientAndTheBasePath) {
  struct Case {
    const char* url;
    const char* describe;
    const char* target;
  };
  const Case cases[] = {
      {"jaeger://h:1/base", "jaeger v1 at http://h:1/base",
       "/base/api/traces/00000000000000000000000000000001"},
      {"jaeger-v3://h:1", "jaeger api v3 at http://h:1",
       "/api/v3/traces/00000000000000000000000000000001"},
      {"zipkin://h:1/z/", "zipkin v2 at http://h:1/z", "/z/api/v2/trace/0000000000000001"},
      {"tempo://h:1", "tempo at http://h:1", "/api/v2/traces/00000000000000000000000000000001"},
  };
  for (const Case& c : cases) {
    auto target = ParseQueryTarget(c.url);
    ASSERT_TRUE(target.ok()) << target.error().message;
    std::vector<std::string> targets;
    auto fetcher = std::make_unique<ScriptedFetcher>(&targets);
    fetcher->Answer(404, "");
    auto client = MakeBackendClient(*target, std::move(fetcher));
    EXPECT_EQ(client->Describe(), c.describe);
    auto trace = client->GetTrace(TraceId{0, 1});
    ASSERT_TRUE(trace.ok()) << c.url << ": " << trace.error().message;
    EXPECT_FALSE(trace->has_value());
    EXPECT_EQ(targets, std::vector<std::string>{c.target});
  }
}

TEST(MakeBackendClientTest, TracerigBatchesThroughItsOwnEndpoint) {
  auto target = ParseQueryTarget("tracerig://h:1/base");
  ASSERT_TRUE(target.ok()) << target.error().message;
  std::vector<std::string> targets;
  auto fetcher = std::make_unique<ScriptedFetcher>(&targets);
  fetcher->Answer(200, "");  // an empty OTLP request: none of the traces is known
  auto client = MakeBackendClient(*target, std::move(fetcher));
  EXPECT_EQ(client->Describe(), "tracerig at http://h:1/base");
  EXPECT_GT(client->MaxTracesPerRequest(), 1u);
  const std::vector<TraceId> ids = {TraceId{0, 1}, TraceId{0, 2}};
  auto traces = client->GetTraces(ids);
  ASSERT_TRUE(traces.ok()) << traces.error().message;
  EXPECT_EQ(*traces, (std::vector<TraceFetch>{std::nullopt, std::nullopt}));
  EXPECT_EQ(targets, std::vector<std::string>{"/base/api/tracerig/traces?ids="
                                              "00000000000000000000000000000001,"
                                              "00000000000000000000000000000002"});
}

TEST(MakeBackendClientFactoryTest, RejectsBadUrlsAndHeadersWithoutPrintingValues) {
  auto bad_url = MakeBackendClientFactory("zipkn://h", {});
  ASSERT_FALSE(bad_url.ok());
  EXPECT_THAT(bad_url.error().message, HasSubstr("did you mean \"zipkin\"?"));
  struct Case {
    Header header;
    std::string error;
  };
  const std::vector<Case> cases = {
      {{"", "x"}, "a query header has an empty name"},
      {{"X Scope", "secret-1"}, "query header \"X Scope\": the name is not an HTTP token"},
      {{"X-Scope-OrgID:", "secret-2"}, "query header \"X-Scope-OrgID:\": the name is not"},
      {{"Authorization", "Bearer secret-3\r\nX-Evil: 1"},
       "query header \"Authorization\": the value contains a line break or NUL"},
      {{"Authorization", std::string("secret-4\0", 9)}, "line break or NUL"},
  };
  for (const Case& c : cases) {
    auto factory = MakeBackendClientFactory("tempo://h", {c.header});
    ASSERT_FALSE(factory.ok()) << c.error;
    EXPECT_THAT(factory.error().message, HasSubstr(c.error));
    EXPECT_THAT(factory.error().message, ::testing::Not(HasSubstr("secret")));
  }
}

TEST(MakeBackendClientFactoryTest, EveryClientSendsTheHeadersToARealServer) {
  std::mutex mu;
  std::vector<std::string> seen;  // "target org auth"
  LoopbackServer server([&](HttpRequest&& request, HttpResponder respond) {
    {
      std::lock_guard lock(mu);
      seen.push_back(std::string(request.target()) + " " +
                     std::string(request["X-Scope-OrgID"]) + " " +
                     std::string(request[http::field::authorization]));
    }
    HttpResponse response(http::status::not_found, request.version());
    response.body() = "trace not found";
    response.prepare_payload();
    respond(std::move(response));
  });
  const std::string url = fmt::format("tempo://127.0.0.1:{}/t", server.endpoint().port());
  HttpClientOptions options;
  options.request_timeout = std::chrono::milliseconds(5000);
  auto factory = MakeBackendClientFactory(
      url, {{"X-Scope-OrgID", "tenant-a"}, {"Authorization", "Bearer abc"}}, options);
  ASSERT_TRUE(factory.ok()) << factory.error().message;
  for (int i = 0; i < 2; ++i) {  // two clients: each with its own connection and the headers
    auto client = (*factory)();
    ASSERT_NE(client, nullptr);
    EXPECT_EQ(client->Describe(),
              fmt::format("tempo at http://127.0.0.1:{}/t", server.endpoint().port()));
    auto trace = client->GetTrace(TraceId{0, 0x42});
    ASSERT_TRUE(trace.ok()) << trace.error().message;
    EXPECT_FALSE(trace->has_value());
  }
  std::lock_guard lock(mu);
  const std::string want =
      "/t/api/v2/traces/00000000000000000000000000000042 tenant-a Bearer abc";
  EXPECT_EQ(seen, (std::vector<std::string>{want, want}));
}

TEST(MakeBackendClientFactoryTest, UnreachableBackendIsAnErrorNotAMissingTrace) {
  // Bind a port, then close it: nothing listens there any more.
  uint16_t port = 0;
  {
    asio::io_context ioc;
    tcp::acceptor acceptor(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    port = acceptor.local_endpoint().port();
  }
  for (const char* scheme : {"jaeger", "jaeger-v3", "zipkin", "tempo"}) {
    auto factory = MakeBackendClientFactory(fmt::format("{}://127.0.0.1:{}", scheme, port), {});
    ASSERT_TRUE(factory.ok()) << factory.error().message;
    auto client = (*factory)();
    auto trace = client->GetTrace(TraceId{0, 1});
    ASSERT_FALSE(trace.ok()) << scheme;
    EXPECT_THAT(trace.error().message, HasSubstr(fmt::format("127.0.0.1:{}", port))) << scheme;
    auto spans = client->FindSpans("svc", "k", "v", 0, 1'000'000);
    EXPECT_FALSE(spans.ok()) << scheme;
  }
}

}  // namespace
}  // namespace tracerig
