// ClassifyTrace and CheckTraceStructure on what the expected tree marks as not tracerig's to
// judge strictly: external services' SERVER spans (matched by structure), spans whose parent was
// sampled out (parent_unexported), and spans of attempts that may time out (optional retries,
// callees that may outlive their callers).
#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "tests/verifier/test_spans.h"
#include "verifier/classify.h"

namespace tracerig {
namespace {

using verifier_testing::AllSpans;
using verifier_testing::Entry;
using verifier_testing::Expect;
using verifier_testing::kRequest;
using verifier_testing::kTrace;
using verifier_testing::kTraceHex;
using verifier_testing::QuickstartTree;


// A span a real service records: no tracerig ground truth, its own operation name.
Span RealSpan(std::string service, SpanKind kind, uint64_t id, uint64_t parent) {
  Span span;
  span.trace_id = kTrace;
  span.span_id = SpanId{id};
  span.parent_span_id = SpanId{parent};
  span.service_name = std::move(service);
  span.kind = kind;
  span.name = "POST /charge";
  span.start_unix_nano = 1'700'000'000'000'000'000ull + 10'000;
  span.end_unix_nano = span.start_unix_nano + 1000;
  return span;
}

// The quickstart tree with payment (hop 0.1.0) an external service: its SERVER span, index 7,
// is the real service's, under checkout's CLIENT span (id 0x106).
ExpectedTree ExternalPaymentTree() {
  ExpectedTree tree = QuickstartTree();
  tree.spans[7].external = true;
  return tree;
}

std::vector<Span> TracerigSpansOf(const ExpectedTree& tree) {
  std::vector<Span> spans = AllSpans(tree, kTrace, kRequest);
  spans.pop_back();  // payment's SERVER span: the real service records its own
  return spans;
}

struct ExternalCase {
  const char* name;
  std::function<void(std::vector<Span>&)> add;  // the real service's spans
  TraceStatus status;
  std::string explanation;
  std::vector<Violation> violations;
};

std::vector<ExternalCase> ExternalCases() {
  const std::string missing =
      "1 of 8 expected spans missing: payment SERVER Charge (hop 0.1.0";
  // Nothing of the real service where its SERVER span belongs: what to check, said.
  const std::string absent =
      missing + "; payment is a real service: no SERVER span of it under the caller's CLIENT "
                "span; does it export to tracerig's backend, as service.name \"payment\", "
                "continuing the trace it was sent?)";
  return {
      {"present", [](std::vector<Span>& s) {
         s.push_back(RealSpan("payment", SpanKind::kServer, 0x900, 0x106));
       },
       TraceStatus::kComplete, "all 8 expected spans found under trace " + kTraceHex, {}},
      {"absent", [](std::vector<Span>&) {}, TraceStatus::kIncomplete, absent, {}},
      {"under-another-service-name",
       [](std::vector<Span>& s) {
         s.push_back(RealSpan("payments-v2", SpanKind::kServer, 0x900, 0x106));
       },
       TraceStatus::kIncomplete,
       missing + "; found a SERVER span from service \"payments-v2\" under the client span, not "
                 "from \"payment\": does the external service report another service.name?)",
       {{"unexpected-span", "", "payments-v2",
         "payments-v2 SERVER POST /charge (span 0000000000000900) is where payment SERVER "
         "Charge (hop 0.1.0) was expected: found a SERVER span from service "
         "\"payments-v2\" under the client span, not from \"payment\": does the external "
         "service report another service.name?"}}},
      {"with-its-own-spans-below",
       [](std::vector<Span>& s) {
         s.push_back(RealSpan("payment", SpanKind::kServer, 0x900, 0x106));
         s.push_back(RealSpan("payment", SpanKind::kInternal, 0x901, 0x900));
         s.push_back(RealSpan("payment", SpanKind::kClient, 0x902, 0x901));
         s.push_back(RealSpan("ledger-db", SpanKind::kServer, 0x903, 0x902));
       },
       TraceStatus::kComplete, "all 8 expected spans found under trace " + kTraceHex, {}},
      {"misnamed-with-its-own-spans-below",
       [](std::vector<Span>& s) {
         s.push_back(RealSpan("payments-v2", SpanKind::kServer, 0x900, 0x106));
         s.push_back(RealSpan("payments-v2", SpanKind::kClient, 0x901, 0x900));
       },
       TraceStatus::kIncomplete,
       missing + "; found a SERVER span from service \"payments-v2\" under the client span, not "
                 "from \"payment\": does the external service report another service.name?)",
       {{"unexpected-span", "", "payments-v2",
         "payments-v2 SERVER POST /charge (span 0000000000000900) is where payment SERVER "
         "Charge (hop 0.1.0) was expected: found a SERVER span from service "
         "\"payments-v2\" under the client span, not from \"payment\": does the external "
         "service report another service.name?"}}},
      // A real server ends its span once its answer is written, often after the caller has read
      // it: no clock skew for that.
      {"ends-after-its-client-span",
       [](std::vector<Span>& s) {
         Span server = RealSpan("payment", SpanKind::kServer, 0x900, 0x106);
         server.end_unix_nano += 1'000'000'000;
         s.push_back(server);
       },
       TraceStatus::kComplete, "all 8 expected spans found under trace " + kTraceHex, {}},
      // Its clock is not tracerig's: a start a little before the CLIENT span's is tolerated (one
      // further off is reported: ClockSkewOfTheRealServiceIsStillReported).
      {"starts-a-little-before-its-client-span",
       [](std::vector<Span>& s) {
         Span server = RealSpan("payment", SpanKind::kServer, 0x900, 0x106);
         for (Span& client : s) {
           if (client.span_id != SpanId{0x106}) continue;
           client.start_unix_nano = server.start_unix_nano + 1'000'000;
           client.end_unix_nano = client.start_unix_nano + 2'000'000;
         }
         s.push_back(server);
       },
       TraceStatus::kComplete, "all 8 expected spans found under trace " + kTraceHex, {}},
      {"under-another-client-span",
       [](std::vector<Span>& s) {
         s.push_back(RealSpan("payment", SpanKind::kServer, 0x900, 0x104));
       },
       TraceStatus::kIncomplete, absent,
       {{"unexpected-span", "", "payment",
         "payment SERVER POST /charge (span 0000000000000900) carries no tracerig ground truth "
         "(request id and hop)"}}},
      {"a-client-span-is-not-its-server-span",
       [](std::vector<Span>& s) {
         s.push_back(RealSpan("payment", SpanKind::kClient, 0x900, 0x106));
       },
       TraceStatus::kIncomplete, absent,
       {{"unexpected-span", "", "payment",
         "payment CLIENT POST /charge (span 0000000000000900) carries no tracerig ground truth "
         "(request id and hop)"}}},
  };
}

TEST(ClassifyExternalTest, OneRowPerWhatTheRealServiceRecorded) {
  const ExpectedTree tree = ExternalPaymentTree();
  for (const ExternalCase& c : ExternalCases()) {
    SCOPED_TRACE(c.name);
    std::vector<Span> spans = TracerigSpansOf(tree);
    c.add(spans);
    const TraceVerdict v = ClassifyTrace(tree, Entry(), spans, {});
    EXPECT_EQ(v.status, c.status);
    EXPECT_EQ(v.explanation, c.explanation);
    EXPECT_EQ(v.violations, c.violations);
    if (c.status == TraceStatus::kComplete) {
      EXPECT_EQ(v.found_spans, 8u);
      ASSERT_EQ(v.timings.size(), 8u);
      EXPECT_EQ(v.timings[7].service, "payment");
      EXPECT_EQ(v.timings[7].start_unix_nano, 1'700'000'000'000'000'000ull + 10'000);
    } else {
      ASSERT_EQ(v.missing.size(), 1u);
      EXPECT_EQ(v.missing[0].hop, "0.1.0");
      EXPECT_EQ(v.missing[0].service, "payment");
      EXPECT_EQ(v.missing[0].kind, SpanKind::kServer);
    }
  }
}

TEST(ClassifyExternalTest, AServiceTracerigSimulatesIsNotMatchedByStructure) {
  // Without the external mark, a span without ground truth under the CLIENT span is nobody's.
  const ExpectedTree tree = QuickstartTree();
  std::vector<Span> spans = TracerigSpansOf(tree);
  spans.push_back(RealSpan("payment", SpanKind::kServer, 0x900, 0x106));
  const TraceVerdict v = ClassifyTrace(tree, Entry(), spans, {});
  EXPECT_EQ(v.status, TraceStatus::kIncomplete);
  ASSERT_EQ(v.violations.size(), 1u);
  EXPECT_EQ(v.violations[0].kind, "unexpected-span");
}

TEST(ClassifyExternalTest, ClockSkewOfTheRealServiceIsStillReported) {
  const ExpectedTree tree = ExternalPaymentTree();
  std::vector<Span> spans = TracerigSpansOf(tree);
  Span real = RealSpan("payment", SpanKind::kServer, 0x900, 0x106);
  // Beyond the 50ms a real service's clock is allowed.
  real.start_unix_nano = spans[6].start_unix_nano - 100'000'000;
  spans.push_back(real);
  const TraceVerdict v = ClassifyTrace(tree, Entry(), spans, {});
  EXPECT_EQ(v.status, TraceStatus::kComplete);
  ASSERT_EQ(v.violations.size(), 1u);
  EXPECT_EQ(v.violations[0].kind, "clock-skew");
}

// The quickstart with checkout sampled out and payment sampling afresh: payment's SERVER span is
// exported, its parent (checkout's CLIENT span) is not; the tree hangs it off frontend's CLIENT
// span to checkout (index 4).
ExpectedTree SampledOutCheckoutTree(bool parent_unexported) {
  ExpectedTree tree = QuickstartTree();
  tree.spans.erase(tree.spans.begin() + 5, tree.spans.begin() + 7);  // checkout's SERVER, CLIENT
  tree.spans[5].parent = 4;
  tree.spans[5].parent_unexported = parent_unexported;
  return tree;
}

TEST(ClassifyParentUnexportedTest, ASpanWhoseParentWasSampledOutIsNoOrphan) {
  const ExpectedTree tree = SampledOutCheckoutTree(true);
  std::vector<Span> spans = AllSpans(tree, kTrace, kRequest);
  spans[5].parent_span_id = SpanId{0x5a5a};  // checkout's CLIENT span, never exported
  const TraceVerdict v = ClassifyTrace(tree, Entry(), spans, {});
  EXPECT_EQ(v.status, TraceStatus::kComplete);
  EXPECT_TRUE(v.violations.empty()) << v.violations[0].explanation;
}

TEST(ClassifyParentUnexportedTest, AnyOtherSpanWithAnAbsentParentIsStillAnOrphan) {
  struct Case {
    const char* name;
    bool parent_unexported;
    size_t span;  // the span whose parent is replaced by an absent one
    std::string want;
  };
  const Case cases[] = {
      {"not marked in the tree", false, 5,
       "payment SERVER Charge (hop 0.1.0)'s parent span 0000000000005a5a is not in the trace"},
      {"another span of a marked tree", true, 3,
       "cart SERVER GetCart (hop 0.0)'s parent span 0000000000005a5a is not in the trace"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const ExpectedTree tree = SampledOutCheckoutTree(c.parent_unexported);
    std::vector<Span> spans = AllSpans(tree, kTrace, kRequest);
    spans[c.span].parent_span_id = SpanId{0x5a5a};
    const std::vector<Violation> got = CheckTraceStructure(tree, Entry(), spans);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].kind, "orphan");
    EXPECT_EQ(got[0].explanation, c.want);
  }
}

TEST(ClassifyParentUnexportedTest, ASpanWithNoGroundTruthAndAnAbsentParentIsAnOrphan) {
  const ExpectedTree tree = SampledOutCheckoutTree(true);
  std::vector<Span> spans = AllSpans(tree, kTrace, kRequest);
  spans[5].parent_span_id = SpanId{0x5a5a};
  spans.push_back(RealSpan("stranger", SpanKind::kServer, 0x900, 0x5a5b));
  const std::vector<Violation> got = CheckTraceStructure(tree, Entry(), spans);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].kind, "unexpected-span");
  EXPECT_EQ(got[1].kind, "orphan");
  EXPECT_EQ(got[1].service, "stranger");
}

// The quickstart where checkout's call to payment (hop 0.1.0) has a timeout payment may outlast,
// and one retry: payment's first SERVER span may end after its CLIENT span, and the retry (hop
// 0.1.0r1) is optional.
ExpectedTree TimeoutTree() {
  ExpectedTree tree = QuickstartTree();
  tree.spans[7].may_outlive_parent = true;
  tree.spans.push_back(Expect("0.1.0r1", "checkout", SpanKind::kClient, "Charge", 5, "payment"));
  tree.spans.push_back(Expect("0.1.0r1", "payment", SpanKind::kServer, "Charge", 8, "checkout"));
  tree.spans[8].optional = true;
  tree.spans[9].optional = true;
  tree.spans[9].may_outlive_parent = true;
  return tree;
}

struct OptionalCase {
  const char* name;
  std::function<void(std::vector<Span>&)> mutate;  // spans of every expected span, by index
  TraceStatus status;
  size_t expected_spans;
  std::string explanation;
  std::vector<std::string> violation_kinds;
};

// Erases the spans at `indices` (descending) of AllSpans(TimeoutTree()).
std::function<void(std::vector<Span>&)> Without(std::vector<size_t> indices) {
  return [indices](std::vector<Span>& spans) {
    for (size_t i : indices) spans.erase(spans.begin() + static_cast<std::ptrdiff_t>(i));
  };
}

TEST(ClassifyOptionalTest, OneRowPerWhatTimingDid) {
  const std::string all = "expected spans found under trace " + kTraceHex;
  const OptionalCase cases[] = {
      {"timed out and retried", Without({}), TraceStatus::kComplete, 10, "all 10 " + all, {}},
      {"no timeout: no retry", Without({9, 8}), TraceStatus::kComplete, 8,
       "all 8 " + all + " (2 optional spans absent)", {}},
      {"the retry's CLIENT span without its SERVER span", Without({9}), TraceStatus::kComplete,
       9, "all 9 " + all + " (1 optional span absent)", {}},
      {"the given-up callee ends after its CLIENT span",
       [](std::vector<Span>& s) { s[7].end_unix_nano = s[6].end_unix_nano + 5'000'000; },
       TraceStatus::kComplete, 10, "all 10 " + all, {}},
      {"but starting before it is still clock skew",
       [](std::vector<Span>& s) { s[7].start_unix_nano = s[6].start_unix_nano - 5'000'000; },
       TraceStatus::kComplete, 10, "all 10 " + all, {"clock-skew"}},
      {"a callee not given up on ending late is clock skew",
       [](std::vector<Span>& s) { s[3].end_unix_nano = s[2].end_unix_nano + 5'000'000; },
       TraceStatus::kComplete, 10, "all 10 " + all, {"clock-skew"}},
      {"an optional span present under the wrong parent",
       [](std::vector<Span>& s) { s[9].parent_span_id = s[6].span_id; },
       TraceStatus::kComplete, 10, "all 10 " + all, {"wrong-parent"}},
      {"a callee cut off after an HTTP timeout",
       [](std::vector<Span>& s) {
         s[6].attributes.push_back({"error.type", std::string("timeout")});
         s.erase(s.begin() + 7);
       },
       TraceStatus::kComplete, 9, "all 9 " + all + " (1 optional span absent)", {}},
      {"a callee cut off after a gRPC deadline",
       [](std::vector<Span>& s) {
         s[6].attributes.push_back({"rpc.grpc.status_code", int64_t{4}});
         s.erase(s.begin() + 7);
       },
       TraceStatus::kComplete, 9, "all 9 " + all + " (1 optional span absent)", {}},
      {"without a timeout on its CLIENT span the callee's SERVER span is required", Without({7}),
       TraceStatus::kIncomplete, 10,
       "1 of 10 expected spans missing: payment SERVER Charge (hop 0.1.0)", {}},
      {"another error on the CLIENT span excuses nothing",
       [](std::vector<Span>& s) {
         s[6].attributes.push_back({"error.type", std::string("500")});
         s.erase(s.begin() + 7);
       },
       TraceStatus::kIncomplete, 10,
       "1 of 10 expected spans missing: payment SERVER Charge (hop 0.1.0)", {}},
      {"a required span missing is still missing", Without({9, 8, 3}), TraceStatus::kIncomplete,
       8, "1 of 8 expected spans missing: cart SERVER GetCart (hop 0.0)", {}},
      {"the CLIENT span of an attempt surely made is required", Without({9, 8, 6}),
       TraceStatus::kIncomplete, 8,
       "1 of 8 expected spans missing: checkout CLIENT Charge (hop 0.1.0)", {"orphan"}},
  };
  const ExpectedTree tree = TimeoutTree();
  for (const OptionalCase& c : cases) {
    SCOPED_TRACE(c.name);
    std::vector<Span> spans = AllSpans(tree, kTrace, kRequest);
    c.mutate(spans);
    const TraceVerdict v = ClassifyTrace(tree, Entry(), spans, {});
    EXPECT_EQ(v.status, c.status);
    EXPECT_EQ(v.expected_spans, c.expected_spans);
    EXPECT_EQ(v.explanation, c.explanation);
    std::vector<std::string> kinds;
    for (const Violation& violation : v.violations) kinds.push_back(violation.kind);
    EXPECT_EQ(kinds, c.violation_kinds);
  }
}

TEST(ClassifyOptionalTest, ACutOffCalleesSubtreeIsExcusedToo) {
  // payment -> fraud below the SERVER span checkout gave up on.
  ExpectedTree tree = QuickstartTree(/*fraud=*/true);
  tree.spans[7].may_outlive_parent = true;
  std::vector<Span> spans = AllSpans(tree, kTrace, kRequest);
  spans[6].attributes.push_back({"error.type", std::string("timeout")});
  spans.erase(spans.begin() + 7, spans.end());
  const TraceVerdict v = ClassifyTrace(tree, Entry(), spans, {});
  EXPECT_EQ(v.status, TraceStatus::kComplete);
  EXPECT_EQ(v.expected_spans, 7u);
  EXPECT_TRUE(v.missing.empty());
}

TEST(ClassifyOptionalTest, AnOptionalSpanIsNeverMissingAndNeverUnexpected) {
  const ExpectedTree tree = TimeoutTree();
  std::vector<Span> spans = AllSpans(tree, kTrace, kRequest);
  spans.erase(spans.begin() + 9);
  const TraceVerdict v = ClassifyTrace(tree, Entry(), spans, {});
  EXPECT_TRUE(v.missing.empty());
  EXPECT_TRUE(v.violations.empty());
  EXPECT_EQ(v.found_spans, 9u);
  EXPECT_EQ(v.timings.size(), 9u);
}

}  // namespace
}  // namespace tracerig
