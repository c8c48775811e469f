// The service graph: calls counted from spans (CLIENT -> SERVER, SERVER -> SERVER when the CLIENT
// span is missing), merging, and comparisons with the expected edges, row by row.
#include "verifier/graph.h"

#include <gtest/gtest.h>

#include "tests/verifier/test_spans.h"

namespace tracerig {
namespace {

using verifier_testing::AllSpans;
using verifier_testing::QuickstartTree;

constexpr TraceId kTrace{0, 0x4a};
constexpr uint64_t kRequest = 0xabc;
const std::string kDriver(kDriverServiceName);

std::vector<DependencyLink> QuickstartLinks(uint64_t n) {
  return {{"checkout", "payment", n},
          {"frontend", "cart", n},
          {"frontend", "checkout", n},
          {kDriver, "frontend", n}};
}

TEST(ServiceGraphCounterTest, CountsClientToServerCalls) {
  ServiceGraphCounter g;
  g.AddSpans(AllSpans(QuickstartTree(), kTrace, kRequest));
  g.AddSpans(AllSpans(QuickstartTree(), TraceId{0, 0x4b}, kRequest));
  EXPECT_EQ(g.Links(), QuickstartLinks(2));
}

TEST(ServiceGraphCounterTest, ServerToServerWhenTheClientSpanIsMissing) {
  std::vector<Span> spans = AllSpans(QuickstartTree(), kTrace, kRequest);
  // checkout's CLIENT span (index 6) is gone; payment's SERVER span hangs off checkout's SERVER.
  spans[7].parent_span_id = spans[5].span_id;
  spans.erase(spans.begin() + 6);
  ServiceGraphCounter g;
  g.AddSpans(spans);
  EXPECT_EQ(g.Links(), QuickstartLinks(1));
}

TEST(ServiceGraphCounterTest, AClientSpanWithoutServerChildNamesNoCallee) {
  std::vector<Span> spans = AllSpans(QuickstartTree(), kTrace, kRequest);
  spans.erase(spans.begin() + 7);  // payment's SERVER span
  ServiceGraphCounter g;
  g.AddSpans(spans);
  EXPECT_EQ(g.Links(), (std::vector<DependencyLink>{
                           {"frontend", "cart", 1}, {"frontend", "checkout", 1}, {kDriver, "frontend", 1}}));
}

TEST(ServiceGraphCounterTest, ParentsAreLookedUpWithinTheirOwnTrace) {
  // Two traces with the same span ids: each SERVER span's parent is in its own trace, and an
  // orphan (parent id in another trace only) counts nothing.
  std::vector<Span> spans = AllSpans(QuickstartTree(), kTrace, kRequest);
  std::vector<Span> other = AllSpans(QuickstartTree(), TraceId{0, 0x4b}, kRequest);
  other.erase(other.begin() + 6);  // checkout's CLIENT span in the second trace
  spans.insert(spans.end(), other.begin(), other.end());
  ServiceGraphCounter g;
  g.AddSpans(spans);
  EXPECT_EQ(g.Links(), (std::vector<DependencyLink>{{"checkout", "payment", 1},
                                                    {"frontend", "cart", 2},
                                                    {"frontend", "checkout", 2},
                                                    {kDriver, "frontend", 2}}));
}

TEST(ServiceGraphCounterTest, SpansUnderTheExceptedTraceAreSkipped) {
  std::vector<Span> spans = AllSpans(QuickstartTree(), kTrace, kRequest);
  std::vector<Span> other = AllSpans(QuickstartTree(), TraceId{0, 0x4b}, kRequest);
  spans.insert(spans.end(), other.begin(), other.end());
  ServiceGraphCounter g;
  g.AddSpans(spans, kTrace);
  EXPECT_EQ(g.Links(), QuickstartLinks(1));
}

TEST(ServiceGraphCounterTest, SameServiceParentsCountOnlyThroughAClientSpan) {
  // A SERVER span whose parent is an INTERNAL span of the same service is not a call.
  std::vector<Span> spans = AllSpans(QuickstartTree(), kTrace, kRequest);
  spans[6].kind = SpanKind::kInternal;  // checkout's span before payment
  spans[6].service_name = "checkout";
  ServiceGraphCounter g;
  g.AddSpans(spans);
  EXPECT_EQ(g.Links(), QuickstartLinks(1));  // INTERNAL of checkout -> payment: another service
  spans[7].service_name = "checkout";
  ServiceGraphCounter same;
  same.AddSpans(spans);
  EXPECT_EQ(same.Links().size(), 3u);
}

TEST(ServiceGraphCounterTest, MergeAndAddSum) {
  ServiceGraphCounter a;
  a.AddSpans(AllSpans(QuickstartTree(), kTrace, kRequest));
  ServiceGraphCounter b;
  b.Add("frontend", "cart", 4);
  b.Add("cart", "db", 1);
  a.Merge(b);
  EXPECT_EQ(a.Links(), (std::vector<DependencyLink>{{"cart", "db", 1},
                                                    {"checkout", "payment", 1},
                                                    {"frontend", "cart", 5},
                                                    {"frontend", "checkout", 1},
                                                    {kDriver, "frontend", 1}}));
}

struct CompareRow {
  const char* name;
  std::vector<ExpectedEdge> expected;
  std::vector<DependencyLink> observed;
  double z;
  std::string status;  // of the only edge
};

TEST(CompareGraphsTest, OneEdge) {
  const CompareRow rows[] = {
      {"exact", {{"a", "b", 10, 0}}, {{"a", "b", 10}}, 0, "ok"},
      {"never observed", {{"a", "b", 10, 0}}, {}, 0, "missing"},
      {"observed zero", {{"a", "b", 10, 0}}, {{"a", "b", 0}}, 0, "missing"},
      {"not in the topology", {}, {{"a", "b", 3}}, 0, "unexpected"},
      {"one call short", {{"a", "b", 10, 0}}, {{"a", "b", 9}}, 0, "count-mismatch"},
      {"one call too many", {{"a", "b", 10, 0}}, {{"a", "b", 11}}, 0, "count-mismatch"},
      // 100 calls at chance 0.5: 50 expected, sd 5; z = 2.5758 allows 12.9 either way.
      {"within z sd", {{"a", "b", 50, 25}}, {{"a", "b", 62}}, 2.5758, "ok"},
      {"beyond z sd", {{"a", "b", 50, 25}}, {{"a", "b", 63}}, 2.5758, "count-mismatch"},
      {"variance without z is exact", {{"a", "b", 50, 25}}, {{"a", "b", 51}}, 0,
       "count-mismatch"},
      // Sampled out almost always: nobody seeing it is fine.
      {"expected under half a call", {{"a", "b", 0.4, 0.24}}, {}, 2.5758, "ok"},
  };
  for (const CompareRow& r : rows) {
    const GraphComparison c = CompareGraphs(r.expected, r.observed, r.z);
    ASSERT_EQ(c.edges.size(), 1u) << r.name;
    EXPECT_EQ(c.edges[0].status, r.status) << r.name;
    EXPECT_EQ(c.missing, r.status == "missing" ? 1u : 0u) << r.name;
    EXPECT_EQ(c.unexpected, r.status == "unexpected" ? 1u : 0u) << r.name;
    EXPECT_EQ(c.count_mismatches, r.status == "count-mismatch" ? 1u : 0u) << r.name;
    EXPECT_EQ(c.Matches(), r.status == "ok") << r.name;
  }
}

TEST(CompareGraphsTest, SortsSumsDuplicatesAndKeepsBothSides) {
  const GraphComparison c = CompareGraphs(
      {{"frontend", "cart", 2, 0}, {"checkout", "payment", 1, 0}, {"frontend", "cart", 1, 0}},
      {{"frontend", "cart", 3}, {"cart", "db", 1}}, 0);
  ASSERT_EQ(c.edges.size(), 3u);
  EXPECT_EQ(c.edges[0].caller, "cart");
  EXPECT_FALSE(c.edges[0].in_topology);
  EXPECT_EQ(c.edges[0].status, "unexpected");
  EXPECT_EQ(c.edges[1].caller, "checkout");
  EXPECT_EQ(c.edges[1].status, "missing");
  EXPECT_EQ(c.edges[1].expected_calls, 1.0);
  EXPECT_EQ(c.edges[1].observed_calls, 0u);
  EXPECT_EQ(c.edges[2].caller, "frontend");
  EXPECT_EQ(c.edges[2].expected_calls, 3.0);
  EXPECT_EQ(c.edges[2].observed_calls, 3u);
  EXPECT_EQ(c.edges[2].status, "ok");
  EXPECT_EQ(c.missing, 1u);
  EXPECT_EQ(c.unexpected, 1u);
  EXPECT_EQ(c.count_mismatches, 0u);
  EXPECT_EQ(ExpectedEdgesOf(c), (std::vector<ExpectedEdge>{{"checkout", "payment", 1, 0},
                                                           {"frontend", "cart", 3, 0}}));
}

TEST(CompareDependenciesTest, PresenceOnlyUnlessAskedForCounts) {
  // A backend's /api/dependencies counts other traffic too: 500 calls where 10 were expected is
  // not a problem by default, a missing or unexpected edge is.
  const std::vector<ExpectedEdge> expected = {{"frontend", "cart", 10, 0},
                                              {"frontend", "checkout", 10, 0}};
  const std::vector<DependencyLink> observed = {{"frontend", "cart", 500}, {"cart", "db", 7}};
  const GraphComparison c = CompareDependencies(expected, observed);
  EXPECT_EQ(c.missing, 1u);
  EXPECT_EQ(c.unexpected, 1u);
  EXPECT_EQ(c.count_mismatches, 0u);
  ASSERT_EQ(c.edges.size(), 3u);
  EXPECT_EQ(c.edges[1].caller, "frontend");
  EXPECT_EQ(c.edges[1].callee, "cart");
  EXPECT_EQ(c.edges[1].observed_calls, 500u);
  EXPECT_EQ(c.edges[1].status, "ok");

  const GraphComparison counted = CompareDependencies(expected, observed, true);
  EXPECT_EQ(counted.count_mismatches, 1u);
  EXPECT_EQ(counted.edges[1].status, "count-mismatch");
  EXPECT_TRUE(CompareDependencies(expected, {{"frontend", "cart", 10}, {"frontend", "checkout", 10}},
                                  true)
                  .Matches());
}

}  // namespace
}  // namespace tracerig
