// TimedBackendClients: every call reaches the wrapped client unchanged, and every request, failed
// or not, is one observation of query_duration_seconds under its query label.
#include "canary/timed_backend_client.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

namespace tracerig {
namespace {

// Counts calls and answers fixed values; `fail` makes every request an error.
struct CallCounts {
  int describe = 0, get_trace = 0, max_traces = 0, get_traces = 0, find_spans = 0, dependencies = 0,
      links = 0, stats = 0;
};

class CountingBackend final : public BackendClient {
 public:
  CountingBackend(CallCounts& counts, bool fail) : counts_(counts), fail_(fail) {}

  std::string Describe() const override {
    ++counts_.describe;
    return "counting backend";
  }
  Result<std::optional<std::vector<Span>>> GetTrace(TraceId id) override {
    ++counts_.get_trace;
    if (fail_) return MakeError(ErrorCode::kUnavailable, "connection refused");
    std::vector<Span> spans(1);
    spans[0].trace_id = id;
    return std::optional<std::vector<Span>>{std::move(spans)};
  }
  size_t MaxTracesPerRequest() const override {
    ++counts_.max_traces;
    return 7;
  }
  Result<std::vector<TraceFetch>> GetTraces(std::span<const TraceId> ids) override {
    ++counts_.get_traces;
    if (fail_) return MakeError(ErrorCode::kUnavailable, "connection reset");
    // Slow enough to land above the first bucket (1ms).
    std::this_thread::sleep_for(std::chrono::milliseconds(3));
    return std::vector<TraceFetch>(ids.size());
  }
  Result<std::vector<Span>> FindSpans(std::string_view service, std::string_view key,
                                      std::string_view value, uint64_t start,
                                      uint64_t end) override {
    ++counts_.find_spans;
    if (fail_) return MakeError(ErrorCode::kUnavailable, "timeout");
    last_search = std::string(service) + "|" + std::string(key) + "|" + std::string(value) + "|" +
                  std::to_string(start) + "|" + std::to_string(end);
    return std::vector<Span>(2);
  }
  Result<std::optional<std::vector<DependencyLink>>> GetDependencies(uint64_t, uint64_t) override {
    ++counts_.dependencies;
    return std::optional<std::vector<DependencyLink>>{std::vector<DependencyLink>(3)};
  }
  bool SupportsLinks() const override {
    ++counts_.links;
    return false;
  }
  Result<std::optional<BackendStoreStats>> GetStoreStats() override {
    ++counts_.stats;
    BackendStoreStats stats;
    stats.traces_evicted = 9;
    return std::optional<BackendStoreStats>{stats};
  }

  std::string last_search;

 private:
  CallCounts& counts_;
  bool fail_;
};

double Count(const CanaryMetrics& metrics, std::string_view query) {
  return metrics.registry().Value(std::string(kCanaryMetricPrefix) + "query_duration_seconds",
                                  {std::string(query)});
}

TEST(TimedBackendClientTest, ForwardsEveryCallAndTimesEachRequest) {
  CanaryMetrics metrics("dev", {}, true);
  CallCounts counts;
  CountingBackend* inner = nullptr;
  int made = 0;
  BackendClientFactory factory = TimedBackendClients(
      [&]() -> std::unique_ptr<BackendClient> {
        ++made;
        auto client = std::make_unique<CountingBackend>(counts, false);
        inner = client.get();
        return client;
      },
      metrics);
  std::unique_ptr<BackendClient> client = factory();
  ASSERT_NE(client, nullptr);
  EXPECT_EQ(made, 1);

  EXPECT_EQ(client->Describe(), "counting backend");
  EXPECT_EQ(client->MaxTracesPerRequest(), 7u);
  EXPECT_FALSE(client->SupportsLinks());

  const TraceId id{1, 2};
  auto trace = client->GetTrace(id);
  ASSERT_TRUE(trace.ok());
  ASSERT_TRUE(trace->has_value());
  EXPECT_EQ((**trace)[0].trace_id.low, 2u);

  const std::vector<TraceId> ids = {TraceId{0, 1}, TraceId{0, 2}};
  auto batch = client->GetTraces(ids);
  ASSERT_TRUE(batch.ok());
  EXPECT_EQ(batch->size(), 2u);
  ASSERT_TRUE(client->GetTraces(ids).ok());

  auto found = client->FindSpans("shop", "tracerig.request_id", "r-1", 10, 20);
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(found->size(), 2u);
  EXPECT_EQ(inner->last_search, "shop|tracerig.request_id|r-1|10|20");

  auto dependencies = client->GetDependencies(1, 2);
  ASSERT_TRUE(dependencies.ok());
  EXPECT_EQ((*dependencies)->size(), 3u);
  auto stats = client->GetStoreStats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ((*stats)->traces_evicted, 9u);

  EXPECT_EQ(counts.describe, 1);
  EXPECT_EQ(counts.max_traces, 1);
  EXPECT_EQ(counts.links, 1);
  EXPECT_EQ(counts.get_trace, 1);
  EXPECT_EQ(counts.get_traces, 2);
  EXPECT_EQ(counts.find_spans, 1);
  EXPECT_EQ(counts.dependencies, 1);
  EXPECT_EQ(counts.stats, 1);

  EXPECT_EQ(Count(metrics, kQueryTrace), 1);
  EXPECT_EQ(Count(metrics, kQueryTraces), 2);
  EXPECT_EQ(Count(metrics, kQuerySearch), 1);
  EXPECT_EQ(Count(metrics, kQueryOther), 2);
  // The batches slept 3ms each: none in the 1ms bucket, both by 5ms.
  const std::string text = metrics.registry().Render();
  const std::string bucket =
      std::string(kCanaryMetricPrefix) + "query_duration_seconds_bucket{query=\"traces\",le=";
  EXPECT_NE(text.find(bucket + "\"0.001\"} 0\n"), std::string::npos) << text;
  EXPECT_NE(text.find(bucket + "\"+Inf\"} 2\n"), std::string::npos) << text;
}

TEST(TimedBackendClientTest, FailedRequestsAreTimedAndTheirErrorsKept) {
  CanaryMetrics metrics("dev", {}, true);
  CallCounts counts;
  BackendClientFactory factory =
      TimedBackendClients([&] { return std::make_unique<CountingBackend>(counts, true); }, metrics);
  auto client = factory();
  auto trace = client->GetTrace(TraceId{0, 1});
  ASSERT_FALSE(trace.ok());
  EXPECT_EQ(trace.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(trace.error().message, "connection refused");
  const std::vector<TraceId> ids = {TraceId{0, 1}};
  auto batch = client->GetTraces(ids);
  ASSERT_FALSE(batch.ok());
  EXPECT_EQ(batch.error().message, "connection reset");
  auto found = client->FindSpans("a", "b", "c", 0, 1);
  ASSERT_FALSE(found.ok());
  EXPECT_EQ(found.error().message, "timeout");
  EXPECT_EQ(Count(metrics, kQueryTrace), 1);
  EXPECT_EQ(Count(metrics, kQueryTraces), 1);
  EXPECT_EQ(Count(metrics, kQuerySearch), 1);
  EXPECT_EQ(Count(metrics, kQueryOther), 0);
}

TEST(TimedBackendClientTest, EachClientOfTheFactoryIsWrapped) {
  CanaryMetrics metrics("dev", {}, false);
  CallCounts counts;
  BackendClientFactory factory = TimedBackendClients(
      [&] { return std::make_unique<CountingBackend>(counts, false); }, metrics);
  auto a = factory();
  auto b = factory();
  ASSERT_TRUE(a->GetTrace(TraceId{0, 1}).ok());
  ASSERT_TRUE(b->GetTrace(TraceId{0, 2}).ok());
  EXPECT_EQ(Count(metrics, kQueryTrace), 2);
}

}  // namespace
}  // namespace tracerig
