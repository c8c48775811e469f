// Checks below a real service (external_hops.h) and the classification of the calls it declares:
// synthetic spans of driver -> frontend -> fraud-check (real) -> payment, with what payment
// received as a wire log.
#include "verifier/external_hops.h"

#include <gtest/gtest.h>

#include "propagation/w3c.h"
#include "tests/verifier/test_spans.h"
#include "topology/ground_truth.h"
#include "verifier/verify_internal.h"

namespace tracerig {
namespace {

using verifier_testing::AllSpans;
using verifier_testing::CallTo;
using verifier_testing::Entry;
using verifier_testing::kRequest;
using verifier_testing::kTrace;

Scenario ThroughFraudCheck() {
  auto service = [](std::string name, std::string route, std::vector<Call> calls,
                    std::string url = "") {
    Service s;
    s.name = std::move(name);
    Route r;
    r.name = std::move(route);
    for (Call& c : calls) r.calls.push_back(CallStep{false, {std::move(c)}});
    s.routes.push_back(std::move(r));
    s.external_url = std::move(url);
    return s;
  };
  Scenario s;
  s.load.entries = {LoadEntry{"frontend", "GET /", 1.0}};
  s.services = {service("frontend", "GET /", {CallTo("fraud-check", "POST /check")}),
                service("fraud-check", "POST /check", {CallTo("payment", "Charge")},
                        "http://127.0.0.1:9"),
                service("payment", "Charge", {})};
  return s;
}

constexpr uint64_t kRealClient = 0x200;  // fraud-check's CLIENT span into payment
const std::string kId = FormatRequestId(kRequest);

// The trace as it is when fraud-check passes everything on: its SERVER span (no ground truth)
// under frontend's CLIENT span, its CLIENT span below, payment's SERVER span below that.
std::vector<Span> GoodSpans(const ExpectedTree& tree) {
  std::vector<Span> spans = AllSpans(tree, kTrace, kRequest);
  spans[3].attributes.clear();  // the real service records no tracerig ground truth
  spans[3].name = "POST /check";
  Span client = spans[3];
  client.span_id = SpanId{kRealClient};
  client.parent_span_id = spans[3].span_id;
  client.kind = SpanKind::kClient;
  client.start_unix_nano += 10;
  spans.push_back(client);
  spans[4].parent_span_id = SpanId{kRealClient};
  return spans;
}

WireObservation GoodObservation() {
  WireObservation o;
  o.service = "payment";
  o.route = "Charge";
  o.request_id = kId;
  o.hop = "0.0.0";
  o.external_caller = "fraud-check";
  o.source = GroundTruthSource::kBaggage;
  o.has_context = true;
  o.trace_id = kTrace;
  o.parent_span_id = SpanId{kRealClient};
  o.sampled = true;
  o.tracestate = "tracerig=" + kId;
  o.baggage = "tracerig.request_id=" + kId + ",tracerig.seq=7,tracerig.hop=0.0";
  o.headers = {{"traceparent", FormatTraceparent(kTrace, SpanId{kRealClient}, 1)},
               {"tracestate", o.tracestate},
               {"baggage", o.baggage}};
  return o;
}

TEST(ExternalHopsClassify, AWholeTraceThroughARealServiceIsCompleteWithoutViolations) {
  const Scenario s = ThroughFraudCheck();
  const ExpectedTree tree = BuildExpectedTree(s, s.load.entries[0]);
  ASSERT_EQ(tree.spans.size(), 5u);
  ASSERT_TRUE(tree.spans[4].parent_external);
  const std::vector<Span> spans = GoodSpans(tree);
  const TraceVerdict verdict = ClassifyTrace(tree, Entry(), spans, {});
  EXPECT_EQ(verdict.status, TraceStatus::kComplete) << verdict.explanation;
  EXPECT_TRUE(verdict.violations.empty())
      << (verdict.violations.empty() ? "" : verdict.violations[0].explanation);
}

TEST(ExternalHopsClassify, AParentOutsideTheRealServiceIsAWrongParent) {
  const Scenario s = ThroughFraudCheck();
  const ExpectedTree tree = BuildExpectedTree(s, s.load.entries[0]);
  std::vector<Span> spans = GoodSpans(tree);
  spans[4].parent_span_id = spans[2].span_id;  // frontend's CLIENT span, passed on unchanged
  const TraceVerdict verdict = ClassifyTrace(tree, Entry(), spans, {});
  EXPECT_EQ(verdict.status, TraceStatus::kComplete);
  ASSERT_EQ(verdict.violations.size(), 1u);
  EXPECT_EQ(verdict.violations[0].kind, "wrong-parent");
  EXPECT_NE(verdict.violations[0].explanation.find("expected a span of fraud-check under"),
            std::string::npos)
      << verdict.violations[0].explanation;
}

TEST(ExternalHopsClassify, ANewTraceBelowTheRealServiceIsABreakAtItsEdge) {
  const Scenario s = ThroughFraudCheck();
  const ExpectedTree tree = BuildExpectedTree(s, s.load.entries[0]);
  std::vector<Span> spans = GoodSpans(tree);
  Span moved = spans[4];
  moved.trace_id = TraceId{0, 0x99};
  moved.parent_span_id = SpanId{};
  spans.erase(spans.begin() + 4);
  const TraceVerdict verdict = ClassifyTrace(tree, Entry(), spans, {moved});
  EXPECT_EQ(verdict.status, TraceStatus::kBroken);
  ASSERT_EQ(verdict.breaks.size(), 1u);
  EXPECT_EQ(verdict.breaks[0].caller, "fraud-check");
  EXPECT_EQ(verdict.breaks[0].callee, "payment");
  EXPECT_EQ(verdict.breaks[0].hop, "0.0.0");
}

struct HopCase {
  std::string name;
  std::function<void(WireObservation&, std::vector<Span>&, std::vector<Span>&)> change;
  bool with_wire_log = true;
  std::string want;  // the one violation's explanation; "" for none
};

TEST(CheckExternalHops, Table) {
  const Scenario s = ThroughFraudCheck();
  const ExpectedTree tree = BuildExpectedTree(s, s.load.entries[0]);
  const TraceId other{0x5, 0x77};
  const std::vector<HopCase> cases = {
      {"everything passed on", [](auto&, auto&, auto&) {}, true, ""},
      {"no wire log, the span continues the trace", [](auto&, auto&, auto&) {}, false, ""},
      {"no context",
       [&](WireObservation& o, std::vector<Span>& spans, std::vector<Span>& fragments) {
         o = WireObservation{};
         o.service = "payment";
         o.request_id = kId;
         o.hop = "0.0.0";
         o.external_caller = "fraud-check";
         o.source = GroundTruthSource::kSingleInFlight;
         spans[4].trace_id = other;
         fragments.push_back(spans[4]);
         spans.erase(spans.begin() + 4);
       },
       true,
       "fraud-check did not pass trace context on to payment (hop 0.0.0): payment received no "
       "trace context headers (no traceparent) (request tied by single request in flight)"},
      {"a new trace id",
       [&](WireObservation& o, std::vector<Span>& spans, std::vector<Span>& fragments) {
         o.trace_id = TraceId{0x5, 0x4a};
         spans[4].trace_id = o.trace_id;
         fragments.push_back(spans[4]);
         spans.erase(spans.begin() + 4);
       },
       true,
       "fraud-check did not continue the trace into payment (hop 0.0.0): payment received trace "
       "0000000000000005000000000000004a, the trace id's high 64 bits replaced (padded or "
       "rewritten) (request tied by baggage)"},
      {"a new trace id, seen in the spans only",
       [&](WireObservation&, std::vector<Span>& spans, std::vector<Span>& fragments) {
         spans[4].trace_id = other;
         fragments.push_back(spans[4]);
         spans.erase(spans.begin() + 4);
       },
       false,
       "fraud-check did not continue the trace into payment (hop 0.0.0): payment received trace "
       "00000000000000050000000000000077, a new trace id"},
      {"the context it was sent, passed on unchanged",
       [](WireObservation&, std::vector<Span>& spans, std::vector<Span>&) {
         spans[4].parent_span_id = spans[2].span_id;
       },
       true,
       "fraud-check passed on the context it was sent instead of its own span's: payment's parent "
       "is frontend's CLIENT span at hop 0.0, not a span of fraud-check (request tied by baggage)"},
      {"sampled flag cleared", [](WireObservation& o, auto&, auto&) { o.sampled = false; }, true,
       "fraud-check changed the sampled flag on fraud-check to payment (hop 0.0.0): sent sampled, "
       "payment received not sampled (request tied by baggage)"},
      {"tracestate dropped", [](WireObservation& o, auto&, auto&) { o.tracestate = "vendor=1"; },
       true,
       "fraud-check dropped tracestate on fraud-check to payment (hop 0.0.0): "
       "tracerig=0000000000000abc was sent, payment received `tracestate: vendor=1` (request tied "
       "by baggage)"},
      {"baggage dropped",
       [](WireObservation& o, auto&, auto&) {
         o.baggage.clear();
         o.source = GroundTruthSource::kHeaders;
       },
       true,
       "fraud-check dropped baggage on fraud-check to payment (hop 0.0.0): "
       "tracerig.request_id=0000000000000abc was sent, payment received no baggage (request tied "
       "by headers)"},
      {"another request's observation is not this one's",
       [](WireObservation& o, auto&, auto&) {
         o.request_id = FormatRequestId(1);
         o.has_context = false;
       },
       true, ""},
  };
  for (const HopCase& c : cases) {
    SCOPED_TRACE(c.name);
    WireObservation o = GoodObservation();
    std::vector<Span> spans = GoodSpans(tree);
    std::vector<Span> fragments;
    c.change(o, spans, fragments);
    WireLog log;
    log.Record(o);
    const std::vector<Violation> v =
        CheckExternalHops(s, tree, Entry(), spans, fragments, c.with_wire_log ? &log : nullptr);
    if (c.want.empty()) {
      EXPECT_TRUE(v.empty()) << (v.empty() ? "" : v[0].explanation);
      continue;
    }
    ASSERT_EQ(v.size(), 1u);
    EXPECT_EQ(v[0].kind, kExternalHopViolation);
    EXPECT_EQ(v[0].service, "fraud-check");
    EXPECT_EQ(v[0].hop, "0.0.0");
    EXPECT_EQ(v[0].explanation, c.want);
  }
}

// tracerig's tracestate member rides on traceparent: a caller that does not inject tracecontext
// never sent it, so a real service that adds W3C headers of its own dropped nothing.
TEST(CheckExternalHops, NoTracestateCheckWhenTheCallerNeverSentTheMember) {
  Scenario s = ThroughFraudCheck();
  s.services[0].extract = {"b3"};  // frontend calls fraud-check with b3 only
  const ExpectedTree tree = BuildExpectedTree(s, s.load.entries[0]);
  WireObservation o = GoodObservation();
  o.tracestate = "vendor=1";
  WireLog log;
  log.Record(o);
  const std::vector<Violation> v =
      CheckExternalHops(s, tree, Entry(), GoodSpans(tree), {}, &log);
  EXPECT_TRUE(v.empty()) << (v.empty() ? "" : v[0].explanation);
}

TEST(DescribeUntiedHops, NamesAMissingCallOfARealServiceThatNothingTiedToTheRequest) {
  const Scenario s = ThroughFraudCheck();
  const ExpectedTree tree = BuildExpectedTree(s, s.load.entries[0]);
  const std::vector<MissingSpan> missing = {{"0.0.0", "payment", "Charge", SpanKind::kServer}};
  WireLog log;
  EXPECT_EQ(DescribeUntiedHops(tree, Entry(), missing, &log),
            std::vector<std::string>{
                "payment (hop 0.0.0), called by fraud-check, received nothing tied to this "
                "request (no tracerig baggage, known trace id or single request in flight): "
                "judged by counts below fraud-check"});
  log.Record(GoodObservation());  // tied: checked per request instead
  EXPECT_TRUE(DescribeUntiedHops(tree, Entry(), missing, &log).empty());
  const WireLog empty;
  EXPECT_TRUE(DescribeUntiedHops(tree, Entry(), {}, &empty).empty());  // nothing missing
  EXPECT_TRUE(DescribeUntiedHops(tree, Entry(), missing, nullptr).empty());  // no wire log
}

// The real service's own CLIENT span must not make a trace look full while one of tracerig's
// spans (here the driver's, exported last) is still on its way.
TEST(HoldsRequiredSpans, TheRealServicesOwnSpansDoNotStandInForTracerigs) {
  const Scenario s = ThroughFraudCheck();
  const verify_internal::PreparedTree prepared =
      verify_internal::Prepare(s, Entry(), /*per_request=*/false);
  EXPECT_EQ(prepared.required, 5u);
  EXPECT_EQ(prepared.required_ground_truth, 4u);
  std::vector<Span> spans = GoodSpans(prepared.tree);  // 5 expected + fraud-check's CLIENT span
  EXPECT_TRUE(verify_internal::HoldsRequiredSpans(prepared, spans));
  spans.erase(spans.begin());  // the driver's CLIENT span
  ASSERT_EQ(spans.size(), 5u);
  EXPECT_FALSE(verify_internal::HoldsRequiredSpans(prepared, spans));
}

TEST(CountExternalHops, TiedRequestsPerRequestTheOthersByCounts) {
  const Scenario s = ThroughFraudCheck();
  WireLog log;
  WireObservation tied = GoodObservation();
  log.Record(tied);
  tied.request_id = FormatRequestId(2);
  log.Record(tied);
  WireObservation untied;
  untied.service = "payment";
  untied.external_caller = "fraud-check";
  untied.source = GroundTruthSource::kNone;
  untied.has_context = true;
  untied.trace_id = kTrace;  // one of the run's
  log.Record(untied);
  untied.trace_id = TraceId{0, 0x1234};
  log.Record(untied);
  untied.has_context = false;
  log.Record(untied);
  WireObservation elsewhere = untied;
  elsewhere.service = "audit";  // not a callee fraud-check declares: not counted
  log.Record(elsewhere);
  const auto counts = CountExternalHops(s, log, {kTrace}, {{{"fraud-check", "payment"}, 1}});
  ASSERT_EQ(counts.size(), 1u);
  const ExternalHopCounts& c = counts[0];
  EXPECT_EQ(c.requests, 5u);
  EXPECT_EQ(c.tied, (std::map<std::string, uint64_t>{{"baggage", 2}}));
  EXPECT_EQ(c.untied_continued, 1u);
  EXPECT_EQ(c.untied_not_continued, 2u);
  EXPECT_EQ(c.attribution, "per request and by counts");
  EXPECT_EQ(DescribeExternalHop(c),
            "below fraud-check: payment received 5 requests, 2 tied per request (baggage 2), 3 by "
            "counts (1 continuing a trace of the run, 2 not); 1 trace broken there");
  const auto none = CountExternalHops(s, WireLog{}, {}, {});
  ASSERT_EQ(none.size(), 1u);
  EXPECT_EQ(none[0].attribution, "none");
  EXPECT_EQ(DescribeExternalHop(none[0]), "below fraud-check: payment received 0 requests");
}

}  // namespace
}  // namespace tracerig
