// ClassifyTrace on hand-built span sets: each status, where breaks are reported, and the sentence
// a user reads.
#include "verifier/classify.h"

#include <gtest/gtest.h>

#include <functional>

#include "tests/verifier/test_spans.h"

namespace tracerig {
namespace {

using verifier_testing::AllSpans;
using verifier_testing::Entry;
using verifier_testing::kRequest;
using verifier_testing::kTrace;
using verifier_testing::kTraceHex;
using verifier_testing::QuickstartTree;
using verifier_testing::SpanFor;

constexpr TraceId kOther{0x3f00000000000000ull, 0x1};
constexpr TraceId kThird{0, 0x77};

// Erases the spans recorded for (hop, service) from `spans` and returns them.
std::vector<Span> Take(std::vector<Span>& spans, std::string_view hop, std::string_view service) {
  std::vector<Span> taken;
  std::erase_if(spans, [&](const Span& s) {
    const bool match =
        AttributeValueToString(*s.FindAttribute(kHopAttribute)) == hop && s.service_name == service;
    if (match) taken.push_back(s);
    return match;
  });
  return taken;
}

std::vector<Span> MoveTo(std::vector<Span> spans, TraceId trace) {
  for (Span& s : spans) s.trace_id = trace;
  return spans;
}

TEST(TraceStatusNameTest, NamesEveryStatus) {
  EXPECT_EQ(TraceStatusName(TraceStatus::kComplete), "complete");
  EXPECT_EQ(TraceStatusName(TraceStatus::kIncomplete), "incomplete");
  EXPECT_EQ(TraceStatusName(TraceStatus::kBroken), "broken");
  EXPECT_EQ(TraceStatusName(TraceStatus::kMissing), "missing");
}

TEST(ClassifyTraceTest, AllSpansUnderTheTraceIsComplete) {
  const ExpectedTree tree = QuickstartTree();
  TraceVerdict v = ClassifyTrace(tree, Entry(), AllSpans(tree, kTrace, kRequest), {});
  EXPECT_EQ(v.status, TraceStatus::kComplete);
  EXPECT_EQ(v.sequence, 7u);
  EXPECT_EQ(v.trace_id, kTrace);
  EXPECT_EQ(v.request_id, kRequest);
  EXPECT_EQ(v.expected_spans, 8u);
  EXPECT_EQ(v.found_spans, 8u);
  EXPECT_TRUE(v.missing.empty());
  EXPECT_TRUE(v.breaks.empty());
  EXPECT_EQ(v.explanation, "all 8 expected spans found under trace " + kTraceHex);
}

TEST(ClassifyTraceTest, ExtraAndDuplicateSpansDoNotMatter) {
  const ExpectedTree tree = QuickstartTree();
  std::vector<Span> spans = AllSpans(tree, kTrace, kRequest);
  spans.push_back(spans[3]);  // a retried call records its SERVER span twice
  Span foreign;               // instrumentation tracerig knows nothing about
  foreign.trace_id = kTrace;
  foreign.name = "SELECT";
  spans.push_back(foreign);
  TraceVerdict v = ClassifyTrace(tree, Entry(), spans, {});
  EXPECT_EQ(v.status, TraceStatus::kComplete);
  EXPECT_EQ(v.found_spans, 8u);
  // They are violations, though: status is about presence only.
  std::vector<std::string> kinds;
  for (const Violation& violation : v.violations) kinds.push_back(violation.kind);
  EXPECT_EQ(kinds, (std::vector<std::string>{"duplicate-span-id", "unexpected-span",
                                             "multiple-roots"}));
}

TEST(ClassifyTraceTest, OneMissingLeafIsIncomplete) {
  const ExpectedTree tree = QuickstartTree();
  std::vector<Span> spans = AllSpans(tree, kTrace, kRequest);
  Take(spans, "0.0", "cart");
  TraceVerdict v = ClassifyTrace(tree, Entry(), spans, {});
  EXPECT_EQ(v.status, TraceStatus::kIncomplete);
  EXPECT_EQ(v.found_spans, 7u);
  ASSERT_EQ(v.missing.size(), 1u);
  EXPECT_EQ(v.missing[0].hop, "0.0");
  EXPECT_EQ(v.missing[0].service, "cart");
  EXPECT_EQ(v.missing[0].name, "GetCart");
  EXPECT_EQ(v.missing[0].kind, SpanKind::kServer);
  EXPECT_TRUE(v.breaks.empty());
  EXPECT_EQ(v.explanation, "1 of 8 expected spans missing: cart SERVER GetCart (hop 0.0)");
}

TEST(ClassifyTraceTest, ExplanationNamesAtMostFourMissingSpans) {
  const ExpectedTree tree = QuickstartTree();
  std::vector<Span> spans = AllSpans(tree, kTrace, kRequest);
  spans.resize(2);  // only the driver's and frontend's SERVER span arrived
  TraceVerdict v = ClassifyTrace(tree, Entry(), spans, {});
  EXPECT_EQ(v.status, TraceStatus::kIncomplete);
  EXPECT_EQ(v.missing.size(), 6u);
  EXPECT_EQ(
      v.explanation,
      "6 of 8 expected spans missing: frontend CLIENT GetCart (hop 0.0), cart SERVER GetCart "
      "(hop 0.0), frontend CLIENT PlaceOrder (hop 0.1), checkout SERVER PlaceOrder (hop 0.1), "
      "and 2 more");
}

TEST(ClassifyTraceTest, SpansOfAnotherRequestOrWithoutGroundTruthAreNotMatched) {
  const ExpectedTree tree = QuickstartTree();
  std::vector<Span> spans = AllSpans(tree, kTrace, kRequest + 1);  // another request's spans
  std::vector<Span> no_hop = AllSpans(tree, kTrace, kRequest);
  for (Span& s : no_hop) s.attributes.pop_back();  // drops tracerig.hop
  spans.insert(spans.end(), no_hop.begin(), no_hop.end());
  TraceVerdict v = ClassifyTrace(tree, Entry(), spans, {});
  EXPECT_EQ(v.status, TraceStatus::kIncomplete);
  EXPECT_EQ(v.found_spans, 0u);
  EXPECT_EQ(v.missing.size(), 8u);
}

TEST(ClassifyTraceTest, RequestIdIsComparedAsANumber) {
  const ExpectedTree tree = QuickstartTree();
  std::vector<Span> spans = AllSpans(tree, kTrace, kRequest);
  for (Span& s : spans) s.attributes[0].value = std::string("0000000000000ABC");  // upper case
  spans[1].attributes[0].value = int64_t{kRequest};  // a backend that typed the tag
  EXPECT_EQ(ClassifyTrace(tree, Entry(), spans, {}).status, TraceStatus::kComplete);
}

TEST(ClassifyTraceTest, SubtreeUnderANewTraceIdIsBrokenAtItsEdge) {
  const ExpectedTree tree = QuickstartTree();
  std::vector<Span> spans = AllSpans(tree, kTrace, kRequest);
  std::vector<Span> fragments = MoveTo(Take(spans, "0.1.0", "payment"), kOther);
  TraceVerdict v = ClassifyTrace(tree, Entry(), spans, fragments);
  EXPECT_EQ(v.status, TraceStatus::kBroken);
  EXPECT_EQ(v.found_spans, 7u);
  EXPECT_TRUE(v.missing.empty());
  ASSERT_EQ(v.breaks.size(), 1u);
  EXPECT_EQ(v.breaks[0].hop, "0.1.0");
  EXPECT_EQ(v.breaks[0].caller, "checkout");
  EXPECT_EQ(v.breaks[0].callee, "payment");
  EXPECT_EQ(v.breaks[0].found_under, kOther);
  EXPECT_EQ(v.explanation,
            "trace id changed between checkout and payment at hop 0.1.0: payment's span is under "
            "trace 3f000000000000000000000000000001, a new trace id");
}

TEST(ClassifyTraceTest, WholeSubtreeMovedCountsOneBreak) {
  const ExpectedTree tree = QuickstartTree();
  std::vector<Span> spans = AllSpans(tree, kTrace, kRequest);
  // frontend lost context for its PlaceOrder call: checkout and payment are under another trace.
  std::vector<Span> fragments = MoveTo(Take(spans, "0.1", "checkout"), kOther);
  for (Span& s : MoveTo(Take(spans, "0.1.0", "checkout"), kOther)) fragments.push_back(s);
  for (Span& s : MoveTo(Take(spans, "0.1.0", "payment"), kOther)) fragments.push_back(s);
  ASSERT_EQ(fragments.size(), 3u);
  TraceVerdict v = ClassifyTrace(tree, Entry(), spans, fragments);
  EXPECT_EQ(v.status, TraceStatus::kBroken);
  EXPECT_EQ(v.found_spans, 5u);
  ASSERT_EQ(v.breaks.size(), 1u);
  EXPECT_EQ(v.breaks[0].hop, "0.1");
  EXPECT_EQ(v.breaks[0].caller, "frontend");
  EXPECT_EQ(v.breaks[0].callee, "checkout");
}

TEST(ClassifyTraceTest, BreakBelowABreakIsCountedOnce) {
  const ExpectedTree tree = QuickstartTree(/*fraud=*/true);
  std::vector<Span> spans = AllSpans(tree, kTrace, kRequest);
  // checkout drops context towards payment, and payment drops it again towards fraud.
  std::vector<Span> fragments = MoveTo(Take(spans, "0.1.0", "payment"), kOther);
  for (Span& s : MoveTo(Take(spans, "0.1.0.0", "payment"), kOther)) fragments.push_back(s);
  for (Span& s : MoveTo(Take(spans, "0.1.0.0", "fraud"), kThird)) fragments.push_back(s);
  TraceVerdict v = ClassifyTrace(tree, Entry(), spans, fragments);
  EXPECT_EQ(v.status, TraceStatus::kBroken);
  ASSERT_EQ(v.breaks.size(), 1u);
  EXPECT_EQ(v.breaks[0].hop, "0.1.0");
  EXPECT_EQ(v.breaks[0].found_under, kOther);
}

TEST(ClassifyTraceTest, BreaksOnSeparatePathsAreEachReported) {
  const ExpectedTree tree = QuickstartTree();
  std::vector<Span> spans = AllSpans(tree, kTrace, kRequest);
  std::vector<Span> fragments = MoveTo(Take(spans, "0.0", "cart"), kOther);
  for (Span& s : MoveTo(Take(spans, "0.1.0", "payment"), kThird)) fragments.push_back(s);
  TraceVerdict v = ClassifyTrace(tree, Entry(), spans, fragments);
  EXPECT_EQ(v.status, TraceStatus::kBroken);
  ASSERT_EQ(v.breaks.size(), 2u);
  EXPECT_EQ(v.breaks[0].hop, "0.0");
  EXPECT_EQ(v.breaks[1].hop, "0.1.0");
  EXPECT_EQ(v.explanation,
            "trace id changed at 2 edges: between frontend and cart at hop 0.0: cart's span is "
            "under trace 3f000000000000000000000000000001, a new trace id; between checkout and "
            "payment at hop 0.1.0: payment's span is under trace "
            "00000000000000000000000000000077, a new trace id");
}

TEST(ClassifyTraceTest, BreakWithAMissingClientSpanComparesWithTheNearestFoundAncestor) {
  const ExpectedTree tree = QuickstartTree();
  std::vector<Span> spans = AllSpans(tree, kTrace, kRequest);
  Take(spans, "0.1.0", "checkout");  // the CLIENT span of the edge never arrived
  std::vector<Span> fragments = MoveTo(Take(spans, "0.1.0", "payment"), kOther);
  TraceVerdict v = ClassifyTrace(tree, Entry(), spans, fragments);
  EXPECT_EQ(v.status, TraceStatus::kBroken);
  ASSERT_EQ(v.breaks.size(), 1u);
  EXPECT_EQ(v.breaks[0].caller, "checkout");
  EXPECT_EQ(v.breaks[0].callee, "payment");
  ASSERT_EQ(v.missing.size(), 1u);
  EXPECT_EQ(v.missing[0].kind, SpanKind::kClient);
  EXPECT_EQ(v.explanation,
            "trace id changed between checkout and payment at hop 0.1.0: payment's span is under "
            "trace 3f000000000000000000000000000001, a new trace id; also missing: checkout CLIENT "
            "Charge (hop "
            "0.1.0)");
}

TEST(ClassifyTraceTest, FragmentsThatRepeatTraceSpansAreNotBreaks) {
  const ExpectedTree tree = QuickstartTree();
  const std::vector<Span> spans = AllSpans(tree, kTrace, kRequest);
  // A search by request id returns the trace's own spans as well.
  TraceVerdict v = ClassifyTrace(tree, Entry(), spans, spans);
  EXPECT_EQ(v.status, TraceStatus::kComplete);
}

TEST(ClassifyTraceTest, SpanUnderTheLedgerTraceWinsOverACopyElsewhere) {
  const ExpectedTree tree = QuickstartTree();
  const std::vector<Span> spans = AllSpans(tree, kTrace, kRequest);
  std::vector<Span> fragments = MoveTo({spans[7]}, kOther);
  // The fragment is listed first: placement must not depend on list order.
  TraceVerdict v = ClassifyTrace(tree, Entry(), fragments, spans);
  EXPECT_EQ(v.status, TraceStatus::kComplete);
}

TEST(ClassifyTraceTest, TimingsAreThoseOfTheSpansIdentifiedWithExpectedOnes) {
  const ExpectedTree tree = QuickstartTree();
  std::vector<Span> spans = AllSpans(tree, kTrace, kRequest);
  // payment's SERVER span is missing; checkout's SERVER span also arrived under another trace id
  // with other times: the copy under the ledger's trace id is the one timed.
  Take(spans, "0.1.0", "payment");
  Span elsewhere = spans[5];
  elsewhere.trace_id = kOther;
  elsewhere.start_unix_nano = 1;
  elsewhere.end_unix_nano = 2;
  // cart's SERVER span only arrived under another trace id: timed there.
  std::vector<Span> cart = MoveTo(Take(spans, "0.0", "cart"), kOther);
  std::vector<Span> fragments = {elsewhere, cart[0]};
  TraceVerdict v = ClassifyTrace(tree, Entry(), spans, fragments);
  ASSERT_EQ(v.timings.size(), 7u);  // every expected span but payment's SERVER span, pre-order
  constexpr uint64_t kStart = 1'700'000'000'000'000'000ull;
  const std::vector<size_t> expected_index = {0, 1, 2, 3, 4, 5, 6};
  for (size_t k = 0; k < v.timings.size(); ++k) {
    const ExpectedSpan& e = tree.spans[expected_index[k]];
    const SpanTiming& t = v.timings[k];
    EXPECT_EQ(t.hop, e.hop) << k;
    EXPECT_EQ(t.kind, e.kind) << k;
    EXPECT_EQ(t.service, e.service) << k;
    // AllSpans: span i runs from kStart + i µs to kStart + (1000 - i) µs.
    EXPECT_EQ(t.start_unix_nano, kStart + expected_index[k] * 1000) << k;
    EXPECT_EQ(t.end_unix_nano, kStart + (1000 - expected_index[k]) * 1000) << k;
  }
  EXPECT_TRUE(ClassifyTrace(tree, Entry(), {}, {}).timings.empty());
}

TEST(ClassifyTraceTest, NothingFoundIsMissing) {
  const ExpectedTree tree = QuickstartTree();
  TraceVerdict v = ClassifyTrace(tree, Entry(), {}, {});
  EXPECT_EQ(v.status, TraceStatus::kMissing);
  EXPECT_EQ(v.found_spans, 0u);
  EXPECT_EQ(v.missing.size(), 8u);
  EXPECT_EQ(v.explanation, "no span of request 0000000000000abc found: nothing under trace " +
                               kTraceHex + " and nothing with its request id elsewhere");
}

TEST(ClassifyTraceTest, EverythingUnderAnotherTraceIsBrokenAtTheRoot) {
  // The driver recorded a different trace id than the one it wrote in the ledger.
  const ExpectedTree tree = QuickstartTree();
  TraceVerdict v = ClassifyTrace(tree, Entry(), {}, AllSpans(tree, kOther, kRequest));
  EXPECT_EQ(v.status, TraceStatus::kBroken);
  EXPECT_EQ(v.found_spans, 0u);
  ASSERT_EQ(v.breaks.size(), 1u);
  EXPECT_EQ(v.breaks[0].hop, "0");
  EXPECT_EQ(v.breaks[0].caller, kDriverServiceName);
  EXPECT_EQ(v.breaks[0].callee, "frontend");
}

TEST(ClassifyTraceTest, ExplanationSaysWhenTheRequestItselfFailed) {
  const ExpectedTree tree = QuickstartTree();
  std::vector<Span> spans = AllSpans(tree, kTrace, kRequest);
  spans.resize(1);
  LedgerEntry entry = Entry();
  entry.outcome = RequestOutcome::kTransportError;
  TraceVerdict v = ClassifyTrace(tree, entry, spans, {});
  EXPECT_EQ(v.status, TraceStatus::kIncomplete);
  EXPECT_TRUE(v.explanation.ends_with(" (the request itself failed: transport error)"))
      << v.explanation;
  entry.outcome = RequestOutcome::kHttpError;
  entry.http_status = 503;
  v = ClassifyTrace(tree, entry, spans, {});
  EXPECT_TRUE(v.explanation.ends_with(" (the request itself failed: HTTP 503)")) << v.explanation;
}

// One row per violation kind (and the clean trace): a mutation of the correct quickstart trace,
// and exactly the violations it must produce.
struct StructureCase {
  std::string name;
  std::function<void(std::vector<Span>&)> mutate;
  std::vector<Violation> want;
};

Span Copy(const Span& span, uint64_t span_id) {
  Span copy = span;
  copy.span_id = SpanId{span_id};
  return copy;
}

std::vector<StructureCase> StructureCases() {
  return {
      {"clean", [](std::vector<Span>&) {}, {}},
      {"orphan",
       [](std::vector<Span>& s) { s[3].parent_span_id = SpanId{0xdead}; },
       {{"orphan", "0.0", "cart",
         "cart SERVER GetCart (hop 0.0)'s parent span 000000000000dead is not in the trace"}}},
      {"orphan-of-a-missing-parent",
       [](std::vector<Span>& s) { s.erase(s.begin() + 2); },
       {{"orphan", "0.0", "cart",
         "cart SERVER GetCart (hop 0.0)'s parent span 0000000000000102 is not in the trace (its "
         "expected parent, frontend CLIENT GetCart (hop 0.0), is missing)"}}},
      {"multiple-roots",
       [](std::vector<Span>& s) { s[5].parent_span_id = SpanId{}; },
       {{"multiple-roots", "0.1", "checkout",
         "2 spans have no parent: tracerig-driver CLIENT GET /checkout (hop 0), checkout SERVER "
         "PlaceOrder (hop 0.1)"}}},
      {"duplicate-span-id",
       [](std::vector<Span>& s) { s[3].span_id = SpanId{0x102}; },
       {{"duplicate-span-id", "0.0", "frontend",
         "span id 0000000000000102 is used by 2 spans: frontend CLIENT GetCart (hop 0.0), cart "
         "SERVER GetCart (hop 0.0)"}}},
      {"duplicate-span-id-identical-copies",
       [](std::vector<Span>& s) { s.push_back(s[3]); },
       {{"duplicate-span-id", "0.0", "cart",
         "span id 0000000000000103 is used by 2 spans: identical copies of cart SERVER GetCart "
         "(hop 0.0) (stored more than once)",
         /*identical_copies=*/true}}},
      {"wrong-parent",
       [](std::vector<Span>& s) { s[7].parent_span_id = SpanId{0x105}; },
       {{"wrong-parent", "0.1.0", "payment",
         "payment SERVER Charge (hop 0.1.0)'s parent is checkout SERVER PlaceOrder (hop 0.1), "
         "expected checkout CLIENT Charge (hop 0.1.0)"}}},
      {"wrong-parent-of-the-root",
       [](std::vector<Span>& s) { s[0].parent_span_id = SpanId{0x107}; },
       {{"wrong-parent", "0", "tracerig-driver",
         "tracerig-driver CLIENT GET /checkout (hop 0) should be the root, but its parent is "
         "payment SERVER Charge (hop 0.1.0)"}}},
      {"wrong-kind",
       [](std::vector<Span>& s) { s[3].kind = SpanKind::kInternal; },
       {{"wrong-kind", "0.0", "cart",
         "cart recorded GetCart at hop 0.0 as INTERNAL, expected SERVER"}}},
      {"unexpected-span-unknown-hop",
       [](std::vector<Span>& s) {
         Span extra = Copy(s[3], 0x200);
         extra.attributes[1].value = std::string("0.2");
         s.push_back(extra);
       },
       {{"unexpected-span", "0.2", "cart",
         "cart SERVER GetCart (hop 0.2) is not in the expected call tree"}}},
      {"unexpected-span-without-ground-truth",
       [](std::vector<Span>& s) {
         Span db;
         db.trace_id = kTrace;
         db.span_id = SpanId{0x201};
         db.parent_span_id = SpanId{0x103};
         db.name = "SELECT";
         db.kind = SpanKind::kClient;
         db.service_name = "cart";
         s.push_back(db);
       },
       {{"unexpected-span", "", "cart",
         "cart CLIENT SELECT (span 0000000000000201) carries no tracerig ground truth (request "
         "id and hop)"}}},
      {"unexpected-span-of-another-request",
       [](std::vector<Span>& s) {
         Span other = Copy(s[3], 0x202);
         other.attributes[0].value = FormatRequestId(kRequest + 1);
         s.push_back(other);
       },
       {{"unexpected-span", "0.0", "cart",
         "cart SERVER GetCart (hop 0.0) belongs to request 0000000000000abd, not "
         "0000000000000abc"}}},
      {"unexpected-span-second-for-one-call",
       [](std::vector<Span>& s) { s.push_back(Copy(s[3], 0x203)); },
       {{"unexpected-span", "0.0", "cart",
         "cart SERVER GetCart (hop 0.0) is a second span for the same call (span "
         "0000000000000203; the first is 0000000000000103)"}}},
      {"clock-skew-start",
       [](std::vector<Span>& s) { s[7].start_unix_nano = s[6].start_unix_nano - 1500; },
       {{"clock-skew", "0.1.0", "payment",
         "payment SERVER Charge (hop 0.1.0) starts 1.5µs before its parent checkout CLIENT "
         "Charge (hop 0.1.0)"}}},
      {"clock-skew-end",
       [](std::vector<Span>& s) { s[3].end_unix_nano = s[2].end_unix_nano + 2'000'000; },
       {{"clock-skew", "0.0", "cart",
         "cart SERVER GetCart (hop 0.0) ends 2ms after its parent frontend CLIENT GetCart (hop "
         "0.0)"}}},
      {"clock-skew-both",
       [](std::vector<Span>& s) {
         s[1].start_unix_nano = s[0].start_unix_nano - 3'000'000'000ull;
         s[1].end_unix_nano = s[0].end_unix_nano + 4'000'000'000ull;
       },
       {{"clock-skew", "0", "frontend",
         "frontend SERVER GET /checkout (hop 0) starts 3s before and ends 4s after its parent "
         "tracerig-driver CLIENT GET /checkout (hop 0)"}}},
      {"spans-under-other-trace-ids-are-not-checked",
       [](std::vector<Span>& s) {
         s[7].trace_id = kOther;
         s[7].parent_span_id = SpanId{0xdead};
       },
       {}},
  };
}

TEST(CheckTraceStructureTest, OneRowPerViolationKind) {
  const ExpectedTree tree = QuickstartTree();
  for (const StructureCase& c : StructureCases()) {
    SCOPED_TRACE(c.name);
    std::vector<Span> spans = AllSpans(tree, kTrace, kRequest);
    c.mutate(spans);
    const std::vector<Violation> got = CheckTraceStructure(tree, Entry(), spans);
    ASSERT_EQ(got.size(), c.want.size());
    for (size_t i = 0; i < got.size(); ++i) {
      EXPECT_EQ(got[i].kind, c.want[i].kind);
      EXPECT_EQ(got[i].hop, c.want[i].hop);
      EXPECT_EQ(got[i].service, c.want[i].service);
      EXPECT_EQ(got[i].explanation, c.want[i].explanation);
    }
  }
}

TEST(CheckTraceStructureTest, ClockSkewWithinTheToleranceIsAccepted) {
  const ExpectedTree tree = QuickstartTree();
  std::vector<Span> spans = AllSpans(tree, kTrace, kRequest);
  spans[7].start_unix_nano = spans[6].start_unix_nano - 1500;
  EXPECT_TRUE(CheckTraceStructure(tree, Entry(), spans, 1500).empty());
  const std::vector<Violation> got = CheckTraceStructure(tree, Entry(), spans, 1499);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].kind, "clock-skew");
}

TEST(ClassifyTraceTest, ViolationsDoNotChangeACompleteStatus) {
  const ExpectedTree tree = QuickstartTree();
  std::vector<Span> spans = AllSpans(tree, kTrace, kRequest);
  spans[7].parent_span_id = SpanId{0x105};
  spans[3].end_unix_nano = spans[2].end_unix_nano + 10;
  TraceVerdict v = ClassifyTrace(tree, Entry(), spans, {}, /*clock_skew_tolerance_ns=*/5);
  EXPECT_EQ(v.status, TraceStatus::kComplete);
  EXPECT_EQ(v.violations, CheckTraceStructure(tree, Entry(), spans, 5));
  ASSERT_EQ(v.violations.size(), 2u);
  // Expected-tree order: cart (hop 0.0) before payment (hop 0.1.0).
  EXPECT_EQ(v.violations[0].kind, "clock-skew");
  EXPECT_EQ(v.violations[1].kind, "wrong-parent");
}

TEST(ClassifyTraceTest, WrongKindLeavesTheEdgeIncomplete) {
  const ExpectedTree tree = QuickstartTree();
  std::vector<Span> spans = AllSpans(tree, kTrace, kRequest);
  spans[3].kind = SpanKind::kInternal;
  TraceVerdict v = ClassifyTrace(tree, Entry(), spans, {});
  EXPECT_EQ(v.status, TraceStatus::kIncomplete);
  ASSERT_EQ(v.violations.size(), 1u);
  EXPECT_EQ(v.violations[0].kind, "wrong-kind");
}

// checkout's SERVER span (hop 0.1) with http.route set; service.version as a resource attribute.
Span CheckoutServer() {
  const ExpectedTree tree = QuickstartTree();
  Span span = SpanFor(tree.spans[5], kTrace, kRequest, 0x105);
  span.attributes.push_back({"http.route", std::string("/checkout")});
  span.attributes.push_back({"http.status_code", int64_t{200}});
  span.resource_attributes.push_back({"service.version", std::string("1.2.3")});
  return span;
}

TEST(CheckAttributesTest, OneRowPerExpectation) {
  const ExpectedSpan& expected = QuickstartTree().spans[5];
  struct Row {
    const char* name;
    AttributeExpectation want;
    std::string explanation;  // "" = no violation
  };
  const Row rows[] = {
      {"present", {"checkout", SpanKind::kServer, "http.route", std::nullopt}, ""},
      {"absent", {"checkout", SpanKind::kServer, "rpc.method", std::nullopt},
       "SERVER span of checkout at hop 0.1 lacks rpc.method"},
      {"any service", {"", SpanKind::kServer, "rpc.system", std::nullopt},
       "SERVER span of checkout at hop 0.1 lacks rpc.system"},
      {"any kind", {"checkout", SpanKind::kUnspecified, "db.system", std::nullopt},
       "SERVER span of checkout at hop 0.1 lacks db.system"},
      {"other service", {"cart", SpanKind::kServer, "rpc.method", std::nullopt}, ""},
      {"other kind", {"checkout", SpanKind::kClient, "rpc.method", std::nullopt}, ""},
      {"value matches", {"checkout", SpanKind::kServer, "http.route", "/checkout"}, ""},
      {"value differs", {"checkout", SpanKind::kServer, "http.route", "/pay"},
       "SERVER span of checkout at hop 0.1 has http.route = \"/checkout\", expected \"/pay\""},
      {"typed value as text", {"checkout", SpanKind::kServer, "http.status_code", "200"}, ""},
      {"resource attribute", {"checkout", SpanKind::kServer, "service.version", "1.2.3"}, ""},
  };
  for (const Row& r : rows) {
    const std::vector<Violation> got = CheckAttributes(expected, CheckoutServer(), {r.want});
    if (r.explanation.empty()) {
      EXPECT_TRUE(got.empty()) << r.name << ": " << got[0].explanation;
      continue;
    }
    ASSERT_EQ(got.size(), 1u) << r.name;
    EXPECT_EQ(got[0], (Violation{"attribute", "0.1", "checkout", r.explanation})) << r.name;
  }
}

TEST(CheckAttributesTest, TheDriverIsNotCoveredByAnyService) {
  const ExpectedTree tree = QuickstartTree();
  const Span root = SpanFor(tree.spans[0], kTrace, kRequest, 0x100);
  EXPECT_TRUE(CheckAttributes(tree.spans[0], root, {{"", SpanKind::kClient, "peer.service", {}}})
                  .empty());
  const std::vector<Violation> named = CheckAttributes(
      tree.spans[0], root,
      {{std::string(kDriverServiceName), SpanKind::kClient, "peer.service", {}}});
  ASSERT_EQ(named.size(), 1u);
  EXPECT_EQ(named[0].explanation, "CLIENT span of tracerig-driver at hop 0 lacks peer.service");
}

TEST(ClassifyTraceTest, AttributeExpectationsAreCheckedOnEveryFoundExpectedSpan) {
  const ExpectedTree tree = QuickstartTree();
  std::vector<Span> spans = AllSpans(tree, kTrace, kRequest);
  spans[5].attributes.push_back({"http.route", std::string("/checkout")});
  spans.erase(spans.begin() + 3);  // cart's SERVER span: missing, so not checked
  ClassifyOptions options;
  options.attributes = {{"", SpanKind::kServer, "http.route", std::nullopt}};
  const TraceVerdict v = ClassifyTrace(tree, Entry(), spans, {}, options);
  EXPECT_EQ(v.status, TraceStatus::kIncomplete);
  EXPECT_EQ(v.violations,
            (std::vector<Violation>{
                {"attribute", "0", "frontend", "SERVER span of frontend at hop 0 lacks http.route"},
                {"attribute", "0.1.0", "payment",
                 "SERVER span of payment at hop 0.1.0 lacks http.route"}}));
  EXPECT_EQ(v.violations, CheckTraceStructure(tree, Entry(), spans, options));
  // Without expectations, nothing.
  EXPECT_TRUE(ClassifyTrace(tree, Entry(), spans, {}).violations.empty());
}

}  // namespace
}  // namespace tracerig

namespace tracerig {
namespace {

TEST(DescribeTraceIdChangeTest, NamesWhatA64BitPropagatorLeaves) {
  const TraceId sent{0x4bf92f3577b34da6, 0xa3ce929d0e0e4736};
  struct Case {
    TraceId found;
    const char* text;
  };
  const Case cases[] = {
      {{0, 0xa3ce929d0e0e4736}, "the trace id truncated to its low 64 bits"},
      {{0x1111, 0xa3ce929d0e0e4736}, "the trace id's high 64 bits replaced (padded or rewritten)"},
      {{0x4bf92f3577b34da6, 0x1}, "the trace id's low 64 bits replaced"},
      {{0x2, 0x3}, "a new trace id"},
  };
  for (const Case& c : cases) EXPECT_EQ(DescribeTraceIdChange(sent, c.found), c.text);
  // A driver id that is itself 64-bit: another low half is simply another trace.
  EXPECT_EQ(DescribeTraceIdChange(TraceId{0, 0x5}, TraceId{0, 0x6}), "a new trace id");
}

}  // namespace
}  // namespace tracerig
