// BuildExpectedTree at the root: what the driver sends (LoadEntry::sampled, debug, no context at
// all) decides the entry's parent flag, whether the driver's span is in the tree, and which spans
// below are expected.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "topology/decisions.h"
#include "topology/expected_tree.h"

namespace tracerig {
namespace {

using K = SamplingPolicy::Kind;

Service Chain(std::string name, std::string route, std::string callee = {},
              std::string callee_route = {}) {
  Service s;
  s.name = std::move(name);
  Route r;
  r.name = std::move(route);
  if (!callee.empty()) {
    Call call;
    call.service = std::move(callee);
    call.route = std::move(callee_route);
    r.calls = {CallStep{false, {call}}};
  }
  s.routes = {r};
  return s;
}

// a (R) -> b (S) -> c (T), with the given policies.
Scenario Abc(SamplingPolicy a, SamplingPolicy b, SamplingPolicy c) {
  Scenario s;
  s.seed = 11;
  s.services = {Chain("a", "R", "b", "S"), Chain("b", "S", "c", "T"), Chain("c", "T")};
  s.services[0].sampling = a;
  s.services[1].sampling = b;
  s.services[2].sampling = c;
  return s;
}

LoadEntry Entry(EntrySampling sampled, bool sends_context = true) {
  LoadEntry entry{"a", "R"};
  entry.sampled = sampled;
  if (!sends_context) entry.inject = std::vector<std::string>{};
  return entry;
}

// "hop KIND service [parent N] [flags]" per span.
std::vector<std::string> Shape(const ExpectedTree& tree) {
  std::vector<std::string> out;
  for (const ExpectedSpan& s : tree.spans) {
    std::string line = s.hop + " " + std::string(SpanKindName(s.kind)) + " " + s.service +
                       " parent " + std::to_string(s.parent);
    if (s.parent_unexported) line += " unexported";
    if (s.starts_trace) line += " starts-trace";
    if (s.debug) line += " debug";
    out.push_back(std::move(line));
  }
  return out;
}

TEST(ExpectedTreeEntryTest, SampledRootIsTheTreeAsBefore) {
  const Scenario s = Abc({}, {}, {});
  const std::vector<std::string> want = {"0 CLIENT tracerig-driver parent -1",
                                         "0 SERVER a parent 0",
                                         "0.0 CLIENT a parent 1",
                                         "0.0 SERVER b parent 2",
                                         "0.0.0 CLIENT b parent 3",
                                         "0.0.0 SERVER c parent 4"};
  EXPECT_EQ(Shape(BuildExpectedTree(s, Entry(EntrySampling::kSampled))), want);
  EXPECT_EQ(Shape(BuildExpectedTree(s, Entry(EntrySampling::kSampled), 3)), want);
}

TEST(ExpectedTreeEntryTest, UnsampledRootLeavesOutTheDriverSpanAndWhatFollowsTheFlag) {
  // a follows the flag; b samples always below it, c follows b.
  const Scenario s = Abc({}, {K::kAlways, 1}, {});
  const ExpectedTree tree = BuildExpectedTree(s, Entry(EntrySampling::kNotSampled), 0);
  const std::vector<std::string> want = {"0.0 SERVER b parent -1 unexported",
                                         "0.0.0 CLIENT b parent 0", "0.0.0 SERVER c parent 1"};
  EXPECT_EQ(Shape(tree), want);
  EXPECT_EQ(tree.unsampled_visits, (std::vector<std::string>{"a"}));
  EXPECT_EQ(Shape(BuildExpectedTree(s, Entry(EntrySampling::kNotSampled))), want);  // static

  // An entry sampling `always` under the unsampled driver: its SERVER span hangs from nothing.
  const Scenario always = Abc({K::kAlways, 1}, {}, {});
  EXPECT_EQ(Shape(BuildExpectedTree(always, Entry(EntrySampling::kNotSampled), 0)),
            (std::vector<std::string>{"0 SERVER a parent -1 unexported", "0.0 CLIENT a parent 0",
                                      "0.0 SERVER b parent 1", "0.0.0 CLIENT b parent 2",
                                      "0.0.0 SERVER c parent 3"}));
  // Nothing samples: nothing expected.
  EXPECT_TRUE(
      BuildExpectedTree(Abc({}, {}, {}), Entry(EntrySampling::kNotSampled), 0).spans.empty());
}

TEST(ExpectedTreeEntryTest, DebugExpectsEveryHopWhateverThePolicies) {
  Scenario s = Abc({K::kNever, 1}, {K::kRatio, 0}, {K::kParentBased, 0});
  s.services[0].extract = {"b3"};  // the driver sends the entry's formats: b3 carries debug
  const std::vector<std::string> want = {
      "0 CLIENT tracerig-driver parent -1", "0 SERVER a parent 0 debug",
      "0.0 CLIENT a parent 1 debug",        "0.0 SERVER b parent 2 debug",
      "0.0.0 CLIENT b parent 3 debug",      "0.0.0 SERVER c parent 4 debug"};
  for (uint64_t seq = 0; seq < 5; ++seq) {
    EXPECT_EQ(Shape(BuildExpectedTree(s, Entry(EntrySampling::kDebug), seq)), want) << seq;
  }
  EXPECT_EQ(Shape(BuildExpectedTree(s, Entry(EntrySampling::kDebug))), want);
  // Without debug the same scenario expects only the driver's span.
  EXPECT_EQ(BuildExpectedTree(s, Entry(EntrySampling::kSampled), 0).spans.size(), 1u);
  // Debug sent in traceparent only (no debug flag there: it is sampled=1): a never entry records
  // nothing, as the parser's warning says.
  s.services[0].extract = {"tracecontext"};
  EXPECT_EQ(BuildExpectedTree(s, Entry(EntrySampling::kDebug), 0).spans.size(), 1u);
}

TEST(ExpectedTreeEntryTest, DebugReachesBelowAnExternalService) {
  Scenario s = Abc({K::kNever, 1}, {}, {K::kNever, 1});
  s.services[0].extract = {"jaeger"};
  s.services[1].external_url = "http://127.0.0.1:9";
  const ExpectedTree tree = BuildExpectedTree(s, Entry(EntrySampling::kDebug), 0);
  // The external b's declared call to c: c's SERVER span under b's, recorded by debug.
  ASSERT_EQ(tree.spans.size(), 5u);
  EXPECT_TRUE(tree.spans[3].external);
  EXPECT_TRUE(tree.spans[4].parent_external);
  EXPECT_EQ(tree.spans[4].service, "c");
  EXPECT_TRUE(tree.spans[4].debug);
}

TEST(ExpectedTreeEntryTest, NoContextStartsATraceAtTheEntryWhichSamplesAsARoot) {
  struct Row {
    const char* name;
    SamplingPolicy entry_policy;
    EntrySampling sampled;
    std::vector<std::string> want;
  };
  const Row rows[] = {
      {"parent-based(1)",
       {K::kParentBased, 1},
       EntrySampling::kSampled,
       {"0 CLIENT tracerig-driver parent -1", "0 SERVER a parent 0 starts-trace",
        "0.0 CLIENT a parent 1", "0.0 SERVER b parent 2", "0.0.0 CLIENT b parent 3",
        "0.0.0 SERVER c parent 4"}},
      {"parent-based(0)",
       {K::kParentBased, 0},
       EntrySampling::kSampled,
       {"0 CLIENT tracerig-driver parent -1"}},
      {"never", {K::kNever, 1}, EntrySampling::kSampled, {"0 CLIENT tracerig-driver parent -1"}},
      // The driver's span is still exported only when its flag says so.
      {"always, driver unsampled",
       {K::kAlways, 1},
       EntrySampling::kNotSampled,
       {"0 SERVER a parent -1 unexported starts-trace", "0.0 CLIENT a parent 0",
        "0.0 SERVER b parent 1", "0.0.0 CLIENT b parent 2", "0.0.0 SERVER c parent 3"}},
      // Debug travels in a context: with none, nothing forces sampling.
      {"debug without context",
       {K::kNever, 1},
       EntrySampling::kDebug,
       {"0 CLIENT tracerig-driver parent -1"}},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(row.name);
    const Scenario s = Abc(row.entry_policy, {}, {});
    EXPECT_EQ(Shape(BuildExpectedTree(s, Entry(row.sampled, false), 4)), row.want);
    EXPECT_EQ(Shape(BuildExpectedTree(s, Entry(row.sampled, false))), row.want);
  }
}

TEST(ExpectedTreeEntryTest, NoContextParentBasedRatioFollowsTheSeededRootDecision) {
  const Scenario s = Abc({K::kParentBased, 0.5}, {}, {});
  size_t sampled = 0;
  for (uint64_t seq = 0; seq < 64; ++seq) {
    const bool want = SamplingDecision(DecisionPoint(s.seed, seq, "0", "a"), s.services[0].sampling,
                                       std::nullopt);
    const ExpectedTree tree = BuildExpectedTree(s, Entry(EntrySampling::kSampled, false), seq);
    EXPECT_EQ(tree.spans.size(), want ? 6u : 1u) << seq;
    sampled += want ? 1 : 0;
  }
  EXPECT_GT(sampled, 0u);
  EXPECT_LT(sampled, 64u);
  // With context the parent's flag decides: the same for every request.
  for (uint64_t seq = 0; seq < 8; ++seq) {
    EXPECT_EQ(BuildExpectedTree(s, Entry(EntrySampling::kSampled), seq).spans.size(), 6u);
  }
}

TEST(ExpectedTreeEntryTest, TreeVariesPerRequestForAnEdgeStartedParentBasedRatioEntry) {
  struct Row {
    const char* name;
    SamplingPolicy entry_policy;
    bool sends_context;
    bool want;
  };
  const Row rows[] = {
      {"parent-based(0.5), no context", {K::kParentBased, 0.5}, false, true},
      {"parent-based(0.5), context", {K::kParentBased, 0.5}, true, false},
      {"parent-based(1), no context", {K::kParentBased, 1}, false, false},
      {"parent-based(0), no context", {K::kParentBased, 0}, false, false},
      {"always, no context", {K::kAlways, 1}, false, false},
  };
  for (const Row& row : rows) {
    Scenario s = Abc(row.entry_policy, {}, {});
    s.load.entries = {Entry(EntrySampling::kSampled, row.sends_context)};
    EXPECT_EQ(TreeVariesPerRequest(s), row.want) << row.name;
  }
}

}  // namespace
}  // namespace tracerig
