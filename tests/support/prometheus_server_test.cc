// The private Prometheus server (tests/support/prometheus_server.h) against a real loopback page:
// it scrapes what the test serves, and the query helpers read back exactly that.
#include "tests/support/prometheus_server.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <string>

#include "net/http_server.h"
#include "tests/support/free_port.h"
#include "tests/support/loopback_server.h"

namespace tracerig::test_support {
namespace {

using std::chrono::seconds;

// A page in the Prometheus text format with one counter the test sets, and one labelled series.
class ExpositionPage {
 public:
  ExpositionPage()
      : server_([this](HttpRequest&& request, HttpResponder respond) {
          if (request.target() != "/metrics") {
            respond(MakeResponse(request, http::status::not_found, "text/plain", "no\n"));
            return;
          }
          const std::string body =
              "# HELP probe_requests_total Requests the probe saw.\n"
              "# TYPE probe_requests_total counter\n"
              "probe_requests_total " +
              std::to_string(counter_.load()) +
              "\n"
              "# HELP probe_up Whether the probe is up, per zone.\n"
              "# TYPE probe_up gauge\n"
              "probe_up{zone=\"a\"} 1\n"
              "probe_up{zone=\"b\"} 0\n";
          respond(MakeResponse(request, http::status::ok, "text/plain; version=0.0.4", body));
        }) {}

  void Set(long value) { counter_.store(value); }
  std::string target() const { return "127.0.0.1:" + std::to_string(server_.port()); }

 private:
  std::atomic<long> counter_{0};
  LoopbackServer server_;  // last: stopped first
};

std::unique_ptr<PrometheusServer> StartOrSkip(const std::vector<std::string>& targets,
                                              std::string& skip) {
  skip = PrometheusServer::Unavailable();
  if (!skip.empty()) return nullptr;
  std::string error;
  auto server = PrometheusServer::Start(targets, error);
  EXPECT_NE(server, nullptr) << error;
  return server;
}

TEST(PrometheusServerTest, ScrapesALoopbackPageAndQueriesTheCounterAsItGrows) {
  ExpositionPage page;
  page.Set(3);
  std::string skip;
  auto prometheus = StartOrSkip({page.target()}, skip);
  if (!skip.empty()) GTEST_SKIP() << skip;
  ASSERT_NE(prometheus, nullptr);

  auto three = prometheus->WaitForValue(
      "probe_requests_total", [](double v) { return v == 3; }, seconds(20));
  ASSERT_TRUE(three.met) << three.Describe() << "\n" << prometheus->LogTail();
  std::string why;
  EXPECT_TRUE(prometheus->TargetsHealthy(&why)) << why;

  page.Set(41);
  auto grown = prometheus->WaitForValue(
      "probe_requests_total", [](double v) { return v == 41; }, seconds(20));
  EXPECT_TRUE(grown.met) << grown.Describe();

  // The labels of each sample, the job's and instance's added by the scrape.
  auto up = prometheus->Query("probe_up");
  ASSERT_TRUE(up.ok()) << up.error().message;
  ASSERT_EQ(up->size(), 2u) << Describe(*up);
  for (const PromSample& sample : *up) {
    EXPECT_EQ(sample.labels.at("__name__"), "probe_up");
    EXPECT_EQ(sample.labels.at("job"), "tracerig");
    EXPECT_EQ(sample.labels.at("instance"), page.target());
    EXPECT_EQ(sample.value, sample.labels.at("zone") == "a" ? 1 : 0) << Describe(*up);
  }
  auto sum = prometheus->QueryValue("sum(probe_up)");
  ASSERT_TRUE(sum.ok()) << sum.error().message;
  EXPECT_EQ(*sum, 1);
  auto scalar = prometheus->QueryValue("scalar(probe_up{zone=\"a\"}) + 1");
  ASSERT_TRUE(scalar.ok()) << scalar.error().message;
  EXPECT_EQ(*scalar, 2);

  // Errors say what went wrong: two samples where one was expected, Prometheus' own parse error.
  auto two = prometheus->QueryValue("probe_up");
  ASSERT_FALSE(two.ok());
  EXPECT_NE(two.error().message.find("gave 2 samples, not one"), std::string::npos)
      << two.error().message;
  auto bad = prometheus->Query("sum(probe_up");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("query sum(probe_up on " + prometheus->url() +
                                     ": HTTP 400, "
                                     "bad_data: "),
            std::string::npos)
      << bad.error().message;
  // A series nobody exposes is an empty vector, which no value predicate matches.
  auto none = prometheus->WaitForValue(
      "absent_series_total", [](double) { return true; }, std::chrono::milliseconds(300));
  EXPECT_FALSE(none.met);
  EXPECT_EQ(none.Describe(), "the last answer was (no samples)");
}

TEST(PrometheusServerTest, ATargetNobodyServesIsUnhealthyWithTheReason) {
  const uint16_t dead = FreeLoopbackPort();
  ASSERT_NE(dead, 0);
  const std::string target = "127.0.0.1:" + std::to_string(dead);
  std::string skip;
  auto prometheus = StartOrSkip({target}, skip);
  if (!skip.empty()) GTEST_SKIP() << skip;
  ASSERT_NE(prometheus, nullptr);

  // `up` is 0 once the first scrape has failed.
  auto down = prometheus->WaitForValue(
      "up", [](double v) { return v == 0; }, seconds(20));
  ASSERT_TRUE(down.met) << down.Describe();
  std::string why;
  EXPECT_FALSE(prometheus->TargetsHealthy(&why));
  EXPECT_NE(why.find("target http://" + target + "/metrics is down: "), std::string::npos) << why;
  EXPECT_NE(why.find("connection refused"), std::string::npos) << why;
}

TEST(PrometheusServerTest, StoppingRemovesTheServerAndItsDirectory) {
  std::string skip = PrometheusServer::Unavailable();
  if (!skip.empty()) GTEST_SKIP() << skip;
  std::string error;
  auto prometheus = PrometheusServer::Start({}, error);
  ASSERT_NE(prometheus, nullptr) << error;
  const uint16_t port = prometheus->port();
  const std::filesystem::path dir = prometheus->dir();
  EXPECT_TRUE(LoopbackAccepts(port));
  EXPECT_TRUE(std::filesystem::exists(dir / "prometheus.yml"));
  std::string why;
  EXPECT_FALSE(prometheus->TargetsHealthy(&why));
  EXPECT_NE(why.find("Prometheus has no active targets"), std::string::npos) << why;
  prometheus.reset();
  EXPECT_FALSE(LoopbackAccepts(port));
  EXPECT_FALSE(std::filesystem::exists(dir));
}

}  // namespace
}  // namespace tracerig::test_support
