#include "backend/span_store.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <thread>

#include "test_spans.h"

namespace tracerig {
namespace {

using testing::MakeSpan;

constexpr uint64_t kT0 = 1'700'000'000'000'000'000ull;

std::vector<uint64_t> Lows(const std::vector<TraceId>& ids) {
  std::vector<uint64_t> out;
  for (const auto& id : ids) out.push_back(id.low);
  return out;
}

TEST(SpanStoreTest, StoresSpansInArrivalOrderWithArrivalTimes) {
  SpanStore store(100);
  store.Add({MakeSpan(1, 11, "a", "root"), MakeSpan(2, 21, "a", "other")}, 1000);
  store.Add({MakeSpan(1, 12, "b", "child")}, 2000);

  auto trace = store.GetTrace(TraceId{0, 1});
  ASSERT_TRUE(trace);
  EXPECT_EQ(trace->trace_id, (TraceId{0, 1}));
  ASSERT_EQ(trace->spans.size(), 2u);
  EXPECT_EQ(trace->spans[0].span_id.value, 11u);
  EXPECT_EQ(trace->spans[1].span_id.value, 12u);
  EXPECT_EQ(trace->first_arrival_unix_nano, 1000u);
  EXPECT_EQ(trace->last_arrival_unix_nano, 2000u);
  EXPECT_FALSE(store.GetTrace(TraceId{0, 3}));
  // Trace ids compare as 128-bit integers: high half matters.
  EXPECT_FALSE(store.GetTrace(TraceId{1, 1}));

  StoreStats stats = store.stats();
  EXPECT_EQ(stats.spans_stored, 3u);
  EXPECT_EQ(stats.traces_stored, 2u);
  EXPECT_EQ(stats.spans_received, 3u);
  EXPECT_EQ(stats.spans_evicted, 0u);
  EXPECT_EQ(stats.traces_evicted, 0u);
}

TEST(SpanStoreTest, DuplicateSpansAreKeptNotHidden) {
  SpanStore store(100);
  Span span = MakeSpan(1, 11, "a", "root");
  store.Add({span, span}, 1);
  store.Add({span}, 2);
  auto trace = store.GetTrace(TraceId{0, 1});
  ASSERT_TRUE(trace);
  EXPECT_EQ(trace->spans.size(), 3u);
  EXPECT_EQ(store.stats().spans_stored, 3u);
  EXPECT_EQ(store.stats().traces_stored, 1u);
}

TEST(SpanStoreTest, EvictsWholeOldestTracesWithExactCounts) {
  SpanStore store(5);
  store.Add({MakeSpan(1, 1, "a", "x"), MakeSpan(1, 2, "a", "x"), MakeSpan(1, 3, "a", "x")}, 10);
  store.Add({MakeSpan(2, 4, "a", "x"), MakeSpan(2, 5, "a", "x")}, 20);
  EXPECT_EQ(store.stats().spans_stored, 5u);
  EXPECT_EQ(store.stats().traces_evicted, 0u);

  // One span over the bound evicts all three spans of trace 1 (the oldest), not one span.
  store.Add({MakeSpan(3, 6, "a", "x")}, 30);
  StoreStats stats = store.stats();
  EXPECT_EQ(stats.spans_stored, 3u);
  EXPECT_EQ(stats.traces_stored, 2u);
  EXPECT_EQ(stats.spans_evicted, 3u);
  EXPECT_EQ(stats.traces_evicted, 1u);
  EXPECT_EQ(stats.spans_received, 6u);
  // Traces that first arrived up to then are gone: what a verifier needs to tell eviction from loss.
  EXPECT_EQ(stats.evicted_through_unix_nano, 10u);
  EXPECT_FALSE(store.GetTrace(TraceId{0, 1}));
  ASSERT_TRUE(store.GetTrace(TraceId{0, 2}));
  EXPECT_EQ(store.GetTrace(TraceId{0, 2})->spans.size(), 2u);

  // Age is first arrival: trace 2 gaining spans later does not make it younger than trace 3.
  store.Add({MakeSpan(2, 7, "a", "x"), MakeSpan(2, 8, "a", "x"), MakeSpan(2, 9, "a", "x")}, 40);
  stats = store.stats();
  EXPECT_EQ(stats.spans_stored, 1u);
  EXPECT_EQ(stats.traces_stored, 1u);
  EXPECT_EQ(stats.spans_evicted, 8u);
  EXPECT_EQ(stats.traces_evicted, 2u);
  EXPECT_FALSE(store.GetTrace(TraceId{0, 2}));
  EXPECT_TRUE(store.GetTrace(TraceId{0, 3}));
}

TEST(SpanStoreTest, TraceLargerThanTheBoundIsEvictedEntirely) {
  SpanStore store(2);
  store.Add({MakeSpan(1, 1, "a", "x"), MakeSpan(1, 2, "a", "x"), MakeSpan(1, 3, "a", "x")}, 10);
  StoreStats stats = store.stats();
  EXPECT_EQ(stats.spans_stored, 0u);
  EXPECT_EQ(stats.traces_stored, 0u);
  EXPECT_EQ(stats.spans_evicted, 3u);
  EXPECT_EQ(stats.traces_evicted, 1u);
  EXPECT_FALSE(store.GetTrace(TraceId{0, 1}));
}

TEST(SpanStoreTest, VisitTracesGoesNewestFirstAndStopsWhenAsked) {
  SpanStore store(3);
  store.Add({MakeSpan(1, 1, "a", "x"), MakeSpan(2, 2, "a", "x")}, 10);
  store.Add({MakeSpan(1, 3, "b", "y"), MakeSpan(3, 4, "b", "y")}, 20);  // evicts trace 1
  store.Add({MakeSpan(4, 5, "c", "z")}, 30);
  std::vector<std::pair<uint64_t, size_t>> seen;  // (trace low, span count)
  store.VisitTraces([&](TraceId id, const std::vector<Span>& spans) {
    seen.emplace_back(id.low, spans.size());
    return true;
  });
  EXPECT_EQ(seen, (std::vector<std::pair<uint64_t, size_t>>{{4, 1}, {3, 1}, {2, 1}}));
  seen.clear();
  store.VisitTraces([&](TraceId id, const std::vector<Span>& spans) {
    seen.emplace_back(id.low, spans.size());
    return seen.size() < 2;
  });
  EXPECT_EQ(seen.size(), 2u);
}

TEST(SpanStoreTest, EvictedTraceThatArrivesAgainStartsAFreshRecord) {
  SpanStore store(1);
  store.Add({MakeSpan(1, 1, "a", "x")}, 10);
  store.Add({MakeSpan(2, 2, "a", "x")}, 20);  // evicts trace 1
  store.Add({MakeSpan(1, 3, "a", "x")}, 30);  // evicts trace 2, trace 1 is back
  auto trace = store.GetTrace(TraceId{0, 1});
  ASSERT_TRUE(trace);
  ASSERT_EQ(trace->spans.size(), 1u);
  EXPECT_EQ(trace->spans[0].span_id.value, 3u);
  EXPECT_EQ(trace->first_arrival_unix_nano, 30u);
  TraceQuery query;
  query.service = "a";
  EXPECT_EQ(Lows(store.Search(query)), (std::vector<uint64_t>{1}));
}

TEST(SpanStoreTest, ServicesAndOperationsAreSortedAndOutliveEviction) {
  SpanStore store(2);
  store.Add({MakeSpan(1, 1, "web", "GET /b"), MakeSpan(1, 2, "web", "GET /a"),
             MakeSpan(1, 3, "db", "query")},
            10);  // three spans in a store of two: all evicted
  store.Add({MakeSpan(2, 4, "cart", "GET /a")}, 20);
  EXPECT_EQ(store.Services(), (std::vector<std::string>{"cart", "db", "web"}));
  EXPECT_EQ(store.Operations("web"), (std::vector<std::string>{"GET /a", "GET /b"}));
  EXPECT_EQ(store.Operations("nope"), std::vector<std::string>{});
}

// glibc's chunk for a request of n bytes, as EstimateSpanBytes documents it.
uint64_t Chunk(uint64_t n) { return std::max<uint64_t>(32, (n + 8 + 15) / 16 * 16); }

TEST(SpanStoreBytesTest, EstimateCountsHeapStringsAndVectorsNotSmallStrings) {
  // Short names fit in the string object: only the span itself counts.
  EXPECT_EQ(EstimateSpanBytes(MakeSpan(1, 1, "a", "x")), sizeof(Span));
  // A 20-character name takes a 21-byte block: 32 with malloc's header and rounding.
  EXPECT_EQ(EstimateSpanBytes(MakeSpan(1, 1, "a", "GET /api/cart/items1")), sizeof(Span) + 32);
  // One attribute with a short key and an integer value: the vector's block only.
  Span one = MakeSpan(1, 1, "a", "x", 0, 1, {{"k", int64_t{7}}});
  EXPECT_EQ(EstimateSpanBytes(one), sizeof(Span) + Chunk(sizeof(Attribute)));
  // Two attributes with long keys and a long string value, one resource attribute, one event.
  Span rich = MakeSpan(1, 1, "a", "x", 0, 1,
                       {{"http.request.method", std::string("GET")},      // key: 32-byte block
                        {"tracerig.request_id", std::string(16, 'f')}});  // key, value: 32 each
  rich.resource_attributes = {{"telemetry.sdk.name", std::string("tracerig")}};  // key: 32
  rich.events = {SpanEvent{5, "exception", {}}};
  EXPECT_EQ(EstimateSpanBytes(rich), sizeof(Span) + Chunk(2 * sizeof(Attribute)) + 32 + 32 + 32 +
                                         Chunk(sizeof(Attribute)) + 32 + Chunk(sizeof(SpanEvent)));
}

TEST(SpanStoreBytesTest, StatsCountBytesPerSpanAndPerTraceAndReturnToZero) {
  SpanStore store(1, 0);  // one span: every new trace evicts the previous one
  const Span span = MakeSpan(1, 1, "a", "GET /api/cart/items1");
  store.Add({span}, 10);
  EXPECT_EQ(store.stats().bytes_stored,
            EstimateSpanBytes(span) + kTraceOverheadBytes + kServiceLinkBytes);
  EXPECT_EQ(store.max_bytes(), 0u);
  store.Add({MakeSpan(2, 2, "a", "x")}, 20);
  EXPECT_EQ(store.stats().bytes_stored, sizeof(Span) + kTraceOverheadBytes + kServiceLinkBytes);
  EXPECT_EQ(store.stats().traces_evicted, 1u);
}

TEST(SpanStoreBytesTest, EachServiceATraceReachesCostsOneLink) {
  SpanStore store(0);
  store.Add({MakeSpan(1, 1, "a", "x"), MakeSpan(1, 2, "b", "x"), MakeSpan(1, 3, "a", "x")}, 10);
  store.Add({MakeSpan(1, 4, "c", "x")}, 20);
  EXPECT_EQ(store.stats().bytes_stored,
            4 * sizeof(Span) + kTraceOverheadBytes + 3 * kServiceLinkBytes);
}

TEST(SpanStoreBytesTest, EvictsWholeOldestTracesUntilTheByteBoundHolds) {
  // Every span here costs sizeof(Span), every trace (one service each) its overhead and one
  // service link more: room for exactly five spans in two traces, or four spans in three.
  const uint64_t span = sizeof(Span);
  const uint64_t trace = kTraceOverheadBytes + kServiceLinkBytes;
  SpanStore store(0, 2 * trace + 5 * span);  // no span bound
  EXPECT_EQ(store.max_spans(), 0u);
  EXPECT_EQ(store.max_bytes(), 2 * trace + 5 * span);
  store.Add({MakeSpan(1, 1, "a", "x"), MakeSpan(1, 2, "a", "x"), MakeSpan(1, 3, "a", "x")}, 10);
  store.Add({MakeSpan(2, 4, "a", "x"), MakeSpan(2, 5, "a", "x")}, 20);
  EXPECT_EQ(store.stats().bytes_stored, 2 * trace + 5 * span);
  EXPECT_EQ(store.stats().traces_evicted, 0u);

  // A third trace goes over: trace 1 (first to arrive) leaves whole, trace 2 stays.
  store.Add({MakeSpan(3, 6, "a", "x")}, 30);
  StoreStats stats = store.stats();
  EXPECT_EQ(stats.spans_stored, 3u);
  EXPECT_EQ(stats.traces_stored, 2u);
  EXPECT_EQ(stats.spans_evicted, 3u);
  EXPECT_EQ(stats.traces_evicted, 1u);
  EXPECT_EQ(stats.bytes_stored, 2 * trace + 3 * span);
  EXPECT_FALSE(store.GetTrace(TraceId{0, 1}));

  // Trace 2 grows later but is still the oldest by first arrival, so it goes before trace 3.
  store.Add({MakeSpan(2, 7, "a", "x"), MakeSpan(2, 8, "a", "x"), MakeSpan(2, 9, "a", "x")}, 40);
  stats = store.stats();
  EXPECT_EQ(stats.spans_stored, 1u);
  EXPECT_EQ(stats.traces_stored, 1u);
  EXPECT_EQ(stats.spans_evicted, 8u);
  EXPECT_EQ(stats.traces_evicted, 2u);
  EXPECT_EQ(stats.bytes_stored, trace + span);
  EXPECT_TRUE(store.GetTrace(TraceId{0, 3}));
}

TEST(SpanStoreBytesTest, TraceLargerThanTheByteBoundIsEvictedWholeAndCounted) {
  SpanStore store(1000, kTraceOverheadBytes + kServiceLinkBytes + 2 * sizeof(Span));
  store.Add({MakeSpan(1, 1, "a", "x")}, 10);
  store.Add({MakeSpan(2, 2, "a", "x"), MakeSpan(2, 3, "a", "x"), MakeSpan(2, 4, "a", "x")}, 20);
  StoreStats stats = store.stats();
  // Trace 1 goes first (oldest), then trace 2 itself, which alone exceeds the bound.
  EXPECT_EQ(stats.spans_stored, 0u);
  EXPECT_EQ(stats.traces_stored, 0u);
  EXPECT_EQ(stats.spans_evicted, 4u);
  EXPECT_EQ(stats.traces_evicted, 2u);
  EXPECT_EQ(stats.bytes_stored, 0u);
  EXPECT_FALSE(store.GetTrace(TraceId{0, 2}));
}

TEST(SpanStoreBytesTest, TheSpanBoundStillAppliesAlongsideTheByteBound) {
  SpanStore store(2, 1'000'000);  // bytes far from the bound: spans decide
  store.Add({MakeSpan(1, 1, "a", "x")}, 10);
  store.Add({MakeSpan(2, 2, "a", "x")}, 20);
  store.Add({MakeSpan(3, 3, "a", "x")}, 30);
  EXPECT_EQ(store.stats().spans_stored, 2u);
  EXPECT_EQ(store.stats().traces_evicted, 1u);
  EXPECT_FALSE(store.GetTrace(TraceId{0, 1}));
}

class SpanStoreSearchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Trace 1: frontend GET /cart (200) calling cart.
    Span t1 = MakeSpan(1, 11, "frontend", "GET /cart", kT0, 5'000'000,
                       {{"http.status_code", int64_t{200}}, {"region", std::string("eu")}});
    t1.resource_attributes = {{"host.name", std::string("node-1")}};
    Span t1_child = MakeSpan(1, 12, "cart", "GetCart", kT0 + 1'000'000, 2'000'000);
    t1_child.parent_span_id = SpanId{11};
    store_.Add({t1, t1_child}, 100);
    // Trace 2: frontend GET /checkout that failed.
    Span t2 = MakeSpan(2, 21, "frontend", "GET /checkout", kT0 + 10'000'000, 50'000'000,
                       {{"http.status_code", int64_t{500}}, {"region", std::string("us")}});
    t2.status_code = StatusCode::kError;
    store_.Add({t2}, 200);
    // Trace 3: frontend GET /cart again; its server span has region=eu but status 404 on another
    // span, so tags must match on one span.
    Span t3a = MakeSpan(3, 31, "frontend", "GET /cart", kT0 + 20'000'000, 1'000'000,
                        {{"region", std::string("eu")}});
    Span t3b = MakeSpan(3, 32, "frontend", "render", kT0 + 20'100'000, 100'000,
                        {{"http.status_code", int64_t{200}}});
    store_.Add({t3a, t3b}, 300);
  }

  TraceQuery Query(std::string service) {
    TraceQuery q;
    q.service = std::move(service);
    return q;
  }

  SpanStore store_{1000};
};

TEST_F(SpanStoreSearchTest, ByServiceNewestFirst) {
  EXPECT_EQ(Lows(store_.Search(Query("frontend"))), (std::vector<uint64_t>{3, 2, 1}));
  EXPECT_EQ(Lows(store_.Search(Query("cart"))), (std::vector<uint64_t>{1}));
  EXPECT_TRUE(store_.Search(Query("unknown")).empty());
  EXPECT_TRUE(store_.Search(Query("")).empty());
}

TEST_F(SpanStoreSearchTest, ByOperation) {
  TraceQuery q = Query("frontend");
  q.operation = "GET /cart";
  EXPECT_EQ(Lows(store_.Search(q)), (std::vector<uint64_t>{3, 1}));
  q.operation = "GetCart";  // an operation of another service
  EXPECT_TRUE(store_.Search(q).empty());
}

TEST_F(SpanStoreSearchTest, ByTagsAllOnOneSpan) {
  TraceQuery q = Query("frontend");
  q.tags = {{"http.status_code", "200"}};  // int attribute compared as text
  EXPECT_EQ(Lows(store_.Search(q)), (std::vector<uint64_t>{3, 1}));
  q.tags = {{"http.status_code", "200"}, {"region", "eu"}};
  EXPECT_EQ(Lows(store_.Search(q)), (std::vector<uint64_t>{1}));
  q.tags = {{"host.name", "node-1"}};  // resource attribute
  EXPECT_EQ(Lows(store_.Search(q)), (std::vector<uint64_t>{1}));
  q.tags = {{"error", "true"}};  // derived from status ERROR, as Jaeger shows it
  EXPECT_EQ(Lows(store_.Search(q)), (std::vector<uint64_t>{2}));
  q.tags = {{"span.kind", "server"}};
  EXPECT_EQ(Lows(store_.Search(q)), (std::vector<uint64_t>{3, 2, 1}));
  q.tags = {{"region", "asia"}};
  EXPECT_TRUE(store_.Search(q).empty());
}

TEST_F(SpanStoreSearchTest, ByTimeWindowAndDuration) {
  TraceQuery q = Query("frontend");
  q.start_min_unix_nano = kT0 + 10'000'000;
  EXPECT_EQ(Lows(store_.Search(q)), (std::vector<uint64_t>{3, 2}));
  q.start_max_unix_nano = kT0 + 19'999'999;
  EXPECT_EQ(Lows(store_.Search(q)), (std::vector<uint64_t>{2}));

  q = Query("frontend");
  q.min_duration_nano = 5'000'000;
  EXPECT_EQ(Lows(store_.Search(q)), (std::vector<uint64_t>{2, 1}));
  q.max_duration_nano = 5'000'000;
  EXPECT_EQ(Lows(store_.Search(q)), (std::vector<uint64_t>{1}));
}

TEST_F(SpanStoreSearchTest, LimitKeepsTheNewest) {
  TraceQuery q = Query("frontend");
  q.limit = 2;
  EXPECT_EQ(Lows(store_.Search(q)), (std::vector<uint64_t>{3, 2}));
  q.limit = 0;  // no limit
  EXPECT_EQ(store_.Search(q).size(), 3u);
  EXPECT_EQ(TraceQuery{}.limit, 20u);
}

TEST(SpanStoreTest, SearchOrderIsWhenTheServiceFirstAppearedInTheTrace) {
  SpanStore store(100);
  store.Add({MakeSpan(1, 1, "x", "op")}, 10);
  store.Add({MakeSpan(2, 2, "y", "op")}, 20);
  store.Add({MakeSpan(1, 3, "y", "op")}, 30);  // trace 1 reaches service y after trace 2
  TraceQuery q;
  q.service = "y";
  EXPECT_EQ(Lows(store.Search(q)), (std::vector<uint64_t>{1, 2}));
  q.service = "x";
  EXPECT_EQ(Lows(store.Search(q)), (std::vector<uint64_t>{1}));
}

TEST(SpanStoreTest, ConcurrentIngestAndQueriesKeepExactCounts) {
  SpanStore store(1'000'000);
  constexpr int kThreads = 4;
  constexpr int kBatches = 200;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&store, t] {
      for (int b = 0; b < kBatches; ++b) {
        const uint64_t trace = static_cast<uint64_t>(t * kBatches + b + 1);
        store.Add({MakeSpan(trace, 1, "svc", "op"), MakeSpan(trace, 2, "svc", "op")},
                  static_cast<uint64_t>(b));
        TraceQuery q;
        q.service = "svc";
        q.limit = 5;
        EXPECT_LE(store.Search(q).size(), 5u);
        EXPECT_TRUE(store.GetTrace(TraceId{0, trace}));
      }
    });
  }
  for (auto& thread : threads) thread.join();
  StoreStats stats = store.stats();
  EXPECT_EQ(stats.spans_stored, 2u * kThreads * kBatches);
  EXPECT_EQ(stats.traces_stored, 1u * kThreads * kBatches);
  TraceQuery q;
  q.service = "svc";
  q.limit = 0;
  EXPECT_EQ(store.Search(q).size(), 1u * kThreads * kBatches);
}

}  // namespace
}  // namespace tracerig
