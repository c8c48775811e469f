// The W3C trace-context harness protocol over loopback: a fake harness records what the
// conformance service sends back to it.
#include "topology/conformance_service.h"

#include <gtest/gtest.h>

#include <thread>

namespace tracerig {
namespace {

TEST(HarnessRequestTest, ParseTable) {
  auto ok = ParseHarnessRequest(
      R"([{"url":"http://127.0.0.1:1/a","arguments":[{"url":"x","arguments":[]}]},{"url":"http://h:2/b"}])");
  ASSERT_TRUE(ok) << ok.error().message;
  ASSERT_EQ(ok->size(), 2u);
  EXPECT_EQ((*ok)[0].url, "http://127.0.0.1:1/a");
  EXPECT_EQ((*ok)[0].arguments_json, R"([{"arguments":[],"url":"x"}])");
  EXPECT_EQ((*ok)[1].arguments_json, "[]");
  EXPECT_TRUE(ParseHarnessRequest("[]")->empty());

  struct Case {
    const char* body;
    const char* message;
  };
  const Case bad[] = {
      {"{", "body is not valid JSON"},
      {"{}", "body must be a JSON array of {\"url\", \"arguments\"}"},
      {"[1]", "element 0 is not an object"},
      {R"([{"url":"http://a:1/"},{"arguments":[]}])", "element 1 has no string \"url\""},
  };
  for (const auto& c : bad) {
    auto r = ParseHarnessRequest(c.body);
    ASSERT_FALSE(r) << c.body;
    EXPECT_EQ(r.error().message, c.message);
  }
}

struct Recorded {
  std::vector<std::string> traceparent;
  std::vector<std::string> tracestate;
  std::string body;
  std::string content_type;
};

class ConformanceServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    harness_ = std::make_unique<HttpServer>(ioc_, [this](HttpRequest&& request, HttpResponder respond) {
      Recorded r;
      for (auto& f : request) {
        if (f.name_string() == "traceparent") r.traceparent.emplace_back(f.value());
        if (f.name_string() == "tracestate") r.tracestate.emplace_back(f.value());
      }
      r.body = request.body();
      r.content_type = std::string(request[http::field::content_type]);
      recorded_.push_back(std::move(r));
      respond(MakeResponse(request, http::status::ok, "text/plain", ""));
    });
    ASSERT_TRUE(harness_->Listen(tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)).ok());
    service_ = std::make_unique<ConformanceService>(ioc_, 42);
    ASSERT_TRUE(service_->Listen(tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)).ok());
  }

  // POSTs `body` to the service's /test with `headers`, runs everything on one thread.
  unsigned Post(const std::string& body,
                const std::vector<std::pair<std::string, std::string>>& headers) {
    HttpClientPool client(ioc_, service_->local_endpoint());
    HttpRequest request{http::verb::post, "/test", 11};
    for (const auto& [k, v] : headers) request.insert(k, v);
    request.body() = body;
    unsigned status = 0;
    client.Send(std::move(request), [&](beast::error_code ec, HttpResponse&& r) {
      status = ec ? 0 : r.result_int();
      ioc_.stop();
    });
    ioc_.restart();
    ioc_.run_for(std::chrono::seconds(10));
    return status;
  }

  std::string HarnessUrl() const {
    return "http://127.0.0.1:" + std::to_string(harness_->local_endpoint().port()) + "/callback";
  }

  asio::io_context ioc_;
  std::unique_ptr<HttpServer> harness_;
  std::unique_ptr<ConformanceService> service_;
  std::vector<Recorded> recorded_;
};

TEST_F(ConformanceServiceTest, PropagatesTheTraceToEveryCallbackInOrder) {
  const std::string body = R"([{"url":")" + HarnessUrl() + R"(","arguments":[1]},{"url":")" +
                           HarnessUrl() + R"("}])";
  unsigned status = Post(body, {{"traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"},
                                {"tracestate", "foo=1"},
                                {"tracestate", "bar=2"}});
  ASSERT_EQ(status, 200u);
  ASSERT_EQ(recorded_.size(), 2u);
  EXPECT_EQ(recorded_[0].body, "[1]");
  EXPECT_EQ(recorded_[1].body, "[]");  // never an empty body
  EXPECT_EQ(recorded_[0].content_type, "application/json");
  std::string parents[2];
  for (int i = 0; i < 2; ++i) {
    ASSERT_EQ(recorded_[i].traceparent.size(), 1u);
    const std::string& tp = recorded_[i].traceparent[0];
    EXPECT_EQ(tp.size(), 55u);
    EXPECT_EQ(tp.substr(0, 36), "00-0af7651916cd43dd8448eb211c80319c-");
    EXPECT_EQ(tp.substr(52), "-01");
    parents[i] = tp.substr(36, 16);
    EXPECT_NE(parents[i], "b7ad6b7169203331");  // our own span, not the caller's
    ASSERT_EQ(recorded_[i].tracestate.size(), 1u);
    EXPECT_EQ(recorded_[i].tracestate[0], "foo=1,bar=2");  // several fields joined in order
  }
  EXPECT_NE(parents[0], parents[1]);
  EXPECT_EQ(service_->stats().callbacks, 2u);
  EXPECT_EQ(service_->stats().restarted, 0u);
}

TEST_F(ConformanceServiceTest, InvalidOrDuplicatedTraceparentRestartsTheTrace) {
  const std::string body = R"([{"url":")" + HarnessUrl() + R"("}])";
  ASSERT_EQ(Post(body, {{"traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"},
                        {"traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203332-01"},
                        {"tracestate", "foo=1"}}),
            200u);
  ASSERT_EQ(recorded_.size(), 1u);
  ASSERT_EQ(recorded_[0].traceparent.size(), 1u);
  EXPECT_EQ(recorded_[0].traceparent[0].find("0af7651916cd43dd8448eb211c80319c"), std::string::npos);
  EXPECT_TRUE(recorded_[0].tracestate.empty());  // dropped with the old trace
  EXPECT_EQ(service_->stats().restarted, 1u);
}

TEST_F(ConformanceServiceTest, BadRequestsAreRefused) {
  EXPECT_EQ(Post("not json", {}), 400u);
  EXPECT_EQ(service_->stats().bad_requests, 1u);
  EXPECT_TRUE(recorded_.empty());
}

}  // namespace
}  // namespace tracerig
