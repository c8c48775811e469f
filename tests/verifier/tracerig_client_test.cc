// The tracerig:// client: batches through GET /api/tracerig/traces (OTLP protobuf), every answer
// shape it can get (all found, some missing, garbage, HTTP errors, transport failures), and the
// searches it leaves to the Jaeger v1 API on the same connection.
#include "verifier/tracerig_client.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "export/otlp_codec.h"
#include "tests/support/scripted_fetcher.h"
#include "tests/verifier/batch_answer.h"

namespace tracerig {
namespace {

using test_support::ScriptedFetcher;
using ::testing::StartsWith;
using verifier_testing::BatchCase;
using verifier_testing::ExpectBatchAnswer;
using verifier_testing::kAbsent;

class TracerigClientTest : public ::testing::Test {
 protected:
  TracerigClientTest() {
    auto fetcher = std::make_unique<ScriptedFetcher>(&targets_);
    fetcher_ = fetcher.get();
    client_ = MakeTracerigClient(std::move(fetcher), "http://127.0.0.1:16686");
  }
  std::vector<std::string> targets_;
  ScriptedFetcher* fetcher_ = nullptr;
  std::unique_ptr<BackendClient> client_;
};

// `n` spans of trace `id`, as the embedded backend would store them.
std::vector<Span> SpansOf(TraceId id, int n) {
  std::vector<Span> spans;
  for (int i = 0; i < n; ++i) {
    Span s;
    s.trace_id = id;
    s.span_id = SpanId{static_cast<uint64_t>(i + 1)};
    s.name = "op";
    s.service_name = i % 2 == 0 ? "frontend" : "cart";  // two resources, as a real trace has
    s.start_unix_nano = 1'000;
    s.end_unix_nano = 2'000;
    spans.push_back(std::move(s));
  }
  return spans;
}

std::string Body(const std::vector<std::vector<Span>>& traces) {
  std::vector<Span> all;
  for (const auto& t : traces) all.insert(all.end(), t.begin(), t.end());
  return EncodeOtlpProtobuf(all);
}

const std::vector<TraceId> kIds = {TraceId{0, 0xa}, TraceId{0, 0xb}, TraceId{7, 0xc}};

TEST_F(TracerigClientTest, DescribeAndTarget) {
  EXPECT_EQ(client_->Describe(), "tracerig at http://127.0.0.1:16686");
  EXPECT_EQ(client_->MaxTracesPerRequest(), kTracerigMaxTracesPerRequest);
  fetcher_->Answer(200, "");
  ASSERT_TRUE(client_->GetTraces(kIds).ok());
  EXPECT_EQ(targets_, std::vector<std::string>{"/api/tracerig/traces?ids=" + kIds[0].ToHex() +
                                               "," + kIds[1].ToHex() + "," + kIds[2].ToHex()});
  // A full batch stays below Beast's 8 KiB header limit, with room for the other headers.
  EXPECT_LT(targets_[0].size() / kIds.size() * kTracerigMaxTracesPerRequest, 8192u - 2048);
}

TEST_F(TracerigClientTest, GetTracesAnswersPerIdOrFailsAsAWhole) {
  const std::vector<BatchCase> cases = {
      {"all found", 200, Body({SpansOf(kIds[2], 3), SpansOf(kIds[0], 2), SpansOf(kIds[1], 1)}),
       {2, 1, 3}, ""},
      {"some missing", 200, Body({SpansOf(kIds[0], 8), SpansOf(kIds[2], 1)}), {8, kAbsent, 1}, ""},
      {"none found (empty body)", 200, "", {kAbsent, kAbsent, kAbsent}, ""},
      {"malformed body", 200, "\x0a\x05garb", {},
       "tracerig at http://127.0.0.1:16686 returned malformed OTLP protobuf for 3 traces: "},
      {"a trace not asked for", 200, Body({SpansOf(TraceId{0, 0xd}, 1)}), {},
       "tracerig at http://127.0.0.1:16686 answered a span of trace "
       "0000000000000000000000000000000d, which was not asked for"},
      {"400", 400, "ids[1] \"xyz\": strconv.ParseUint: parsing \"xyz\": invalid syntax", {},
       "tracerig at http://127.0.0.1:16686 answered HTTP 400 to GET /api/tracerig/traces: "
       "ids[1] \"xyz\""},
      {"404 (not tracerig's backend)", 404, "404 page not found", {},
       "tracerig at http://127.0.0.1:16686 answered HTTP 404 to GET /api/tracerig/traces: 404 "
       "page not found (only tracerig's embedded backend serves this endpoint; use jaeger:// for "
       "a Jaeger query service)"},
      {"500", 500, "boom", {},
       "tracerig at http://127.0.0.1:16686 answered HTTP 500 to GET /api/tracerig/traces: boom"},
      {"transport", std::nullopt, "connection refused", {},
       "tracerig at http://127.0.0.1:16686: GET /api/tracerig/traces (3 ids): connection "
       "refused"},
  };
  for (const BatchCase& c : cases) {
    SCOPED_TRACE(c.name);
    if (c.status) {
      fetcher_->Answer(*c.status, c.body);
    } else {
      fetcher_->Fail(c.body);
    }
    ExpectBatchAnswer(client_->GetTraces(kIds), kIds, c);
  }
}

TEST_F(TracerigClientTest, GetTraceIsABatchOfOne) {
  fetcher_->Answer(200, Body({SpansOf(kIds[0], 2)}));
  fetcher_->Answer(200, "");
  auto found = client_->GetTrace(kIds[0]);
  ASSERT_TRUE(found.ok()) << found.error().message;
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->size(), 2u);
  EXPECT_EQ((**found)[1].service_name, "cart");
  auto absent = client_->GetTrace(kIds[0]);
  ASSERT_TRUE(absent.ok()) << absent.error().message;
  EXPECT_FALSE(absent->has_value());
  EXPECT_EQ(targets_.back(), "/api/tracerig/traces?ids=" + kIds[0].ToHex());
}

TEST_F(TracerigClientTest, SearchesAndDependenciesGoThroughJaegerV1) {
  fetcher_->Answer(200, R"({"data":[]})");
  fetcher_->Answer(404, R"({"data":null,"errors":[{"code":404,"msg":"404 page not found"}]})");
  auto spans = client_->FindSpans("cart", "k", "v", 1, 2);
  ASSERT_TRUE(spans.ok()) << spans.error().message;
  EXPECT_TRUE(spans->empty());
  auto links = client_->GetDependencies(1'000'000, 2'000'000);
  ASSERT_TRUE(links.ok()) << links.error().message;
  EXPECT_FALSE(links->has_value());
  ASSERT_EQ(targets_.size(), 2u);
  EXPECT_THAT(targets_[0], StartsWith("/api/traces?service=cart&tags="));
  EXPECT_THAT(targets_[1], StartsWith("/api/dependencies?endTs="));
}

TEST(GroupSpansByTraceTest, SortsSpansIntoTheirIdsOrder) {
  std::vector<Span> spans = SpansOf(TraceId{0, 2}, 1);
  std::vector<Span> first = SpansOf(TraceId{0, 1}, 2);
  spans.insert(spans.end(), first.begin(), first.end());
  const std::vector<TraceId> ids = {TraceId{0, 1}, TraceId{0, 3}, TraceId{0, 2}};
  auto grouped = GroupSpansByTrace(ids, spans, "b");
  ASSERT_TRUE(grouped.ok()) << grouped.error().message;
  ASSERT_EQ(grouped->size(), 3u);
  ASSERT_TRUE((*grouped)[0].has_value());
  EXPECT_EQ((*grouped)[0]->size(), 2u);
  EXPECT_FALSE((*grouped)[1].has_value());
  ASSERT_TRUE((*grouped)[2].has_value());
  EXPECT_EQ((*grouped)[2]->size(), 1u);
}


// The store's eviction figures from /api/tracerig/stats, so a missing trace the backend evicted is
// reported as evicted; a failed or garbled answer is an error, never "nothing evicted".
TEST_F(TracerigClientTest, StoreStatsComeFromTheStatsEndpoint) {
  fetcher_->Answer(200, R"({"store":{"spans_stored":96,"traces_stored":16,"spans_received":240,)"
                        R"("spans_evicted":144,"traces_evicted":24,"max_spans":100,)"
                        R"("bytes_stored":104192,"max_bytes":0,)"
                        R"("evicted_through_unix_nano":1700000000000000000},"receivers":{}})");
  auto stats = client_->GetStoreStats();
  ASSERT_TRUE(stats.ok()) << stats.error().message;
  ASSERT_TRUE(stats->has_value());
  EXPECT_EQ((*stats)->traces_evicted, 24u);
  EXPECT_EQ((*stats)->spans_evicted, 144u);
  EXPECT_EQ((*stats)->evicted_through_unix_nano, 1'700'000'000'000'000'000u);
  EXPECT_EQ((*stats)->max_spans, 100u);
  EXPECT_EQ((*stats)->max_bytes, 0u);
  EXPECT_EQ(targets_.back(), "/api/tracerig/stats");
  fetcher_->Answer(500, "oops");
  EXPECT_FALSE(client_->GetStoreStats().ok());
  fetcher_->Answer(200, "{\"store\":{}}");
  EXPECT_FALSE(client_->GetStoreStats().ok());
}

}  // namespace
}  // namespace tracerig
