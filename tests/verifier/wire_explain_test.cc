// Explanations from the wire: DescribeReceived's text (table-driven) and where
// AddWireExplanations appends it to a verdict.
#include "verifier/wire_explain.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/ledger.h"

namespace tracerig {
namespace {

constexpr TraceId kSent{0x80f198ee56343ba8ull, 0x64fe8b2a57d3eff7ull};
constexpr uint64_t kRequestId = 0xaa;

WireObservation Received(std::vector<std::pair<std::string, std::string>> headers,
                         bool has_context = false, TraceId trace = {}, bool sampled = true) {
  WireObservation o;
  o.service = "payment";
  o.route = "POST /pay";
  o.request_id = FormatRequestId(kRequestId);
  o.hop = "0.1";
  o.source = GroundTruthSource::kHeaders;
  o.headers = std::move(headers);
  o.has_context = has_context;
  o.trace_id = trace;
  o.parent_span_id = SpanId{0xe457b5a2e4d86bd1ull};
  o.sampled = sampled;
  return o;
}

TEST(DescribeReceivedTest, Table) {
  const std::string traceparent = "00-80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-01";
  const std::string b3 = "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1";
  struct Row {
    std::string name;
    WireObservation o;
    std::vector<std::string> formats;
    std::optional<TraceId> expected;
    std::string text;
  };
  const std::vector<Row> rows = {
      {"nothing arrived",
       Received({{"tracerig-hop", "0.1"}}),
       {"tracecontext"},
       kSent,
       "payment received no trace context headers (no traceparent)"},
      {"another format",
       Received({{"b3", b3}}),
       {"tracecontext"},
       kSent,
       "payment received `b3: " + b3 + "` and no traceparent"},
      {"its own format, read",
       Received({{"traceparent", traceparent}}, true, kSent),
       {"tracecontext"},
       kSent,
       "payment received `traceparent: " + traceparent + "`"},
      {"its own format, unreadable",
       Received({{"traceparent", "ff-" + traceparent.substr(3)}}),
       {"tracecontext"},
       kSent,
       "payment received `traceparent: ff-" + traceparent.substr(3) + "` which it could not read"},
      {"another trace id",
       Received({{"traceparent", "00-000000000000000064fe8b2a57d3eff7-e457b5a2e4d86bd1-01"}}, true,
                TraceId{0, kSent.low}),
       {"tracecontext"},
       kSent,
       "payment received `traceparent: 00-000000000000000064fe8b2a57d3eff7-e457b5a2e4d86bd1-01` "
       "with trace id 000000000000000064fe8b2a57d3eff7 (expected "
       "80f198ee56343ba864fe8b2a57d3eff7)"},
      {"unsampled",
       Received({{"traceparent", "00-80f1-e457-00"}}, true, kSent, false),
       {"tracecontext"},
       kSent,
       "payment received `traceparent: 00-80f1-e457-00` with the sampled flag off"},
      {"another trace, unsampled",
       Received({{"b3", "1-2-0"}}, true, TraceId{0, 1}, false),
       {"b3"},
       kSent,
       "payment received `b3: 1-2-0` with trace id 00000000000000000000000000000001 (expected "
       "80f198ee56343ba864fe8b2a57d3eff7) and the sampled flag off"},
      {"no expectation of the trace id",
       Received({{"b3", b3}}, true, TraceId{0, 1}),
       {"b3"},
       std::nullopt,
       "payment received `b3: " + b3 + "`"},
      {"one of two formats",
       Received({{"b3", b3}, {"baggage", "k=v"}}, true, kSent),
       {"tracecontext", "b3", "baggage"},
       kSent,
       "payment received `b3: " + b3 + "`, `baggage: k=v` and no traceparent"},
  };
  for (const Row& row : rows) {
    EXPECT_EQ(DescribeReceived(row.o, row.formats, row.expected), row.text) << row.name;
  }
}

Scenario PaymentScenario() {
  Scenario s;
  Service checkout;
  checkout.name = "checkout";
  checkout.extract = {"b3"};
  Service payment;
  payment.name = "payment";
  payment.extract = {"tracecontext"};
  Service real;
  real.name = "real";
  real.external_url = "http://127.0.0.1:1";
  s.services = {checkout, payment, real};
  return s;
}

LedgerEntry Entry() {
  LedgerEntry e;
  e.request_id = kRequestId;
  e.trace_id = kSent;
  return e;
}

TEST(AddWireExplanationsTest, QuotesTheCalleeOfABreakOnce) {
  WireLog log(16);
  log.Record(Received({{"b3", "80f1-e457-1"}}));
  TraceVerdict verdict;
  verdict.status = TraceStatus::kBroken;
  verdict.explanation = "trace id changed between checkout and payment at hop 0.1";
  verdict.breaks = {PropagationBreak{"0.1", "checkout", "payment", TraceId{1, 2}}};
  // The same (hop, service) missing too: said once.
  verdict.missing = {MissingSpan{"0.1", "payment", "POST /pay", SpanKind::kServer}};
  AddWireExplanations(log, PaymentScenario(), Entry(), verdict);
  EXPECT_EQ(verdict.explanation,
            "trace id changed between checkout and payment at hop 0.1; payment received "
            "`b3: 80f1-e457-1` and no traceparent");
}

TEST(AddWireExplanationsTest, QuotesMissingServerSpansNotClientSpans) {
  WireLog log(16);
  log.Record(Received({{"traceparent", "00-80f1-e457-00"}}, true, kSent, false));
  WireObservation checkout = Received({});
  checkout.service = "checkout";
  checkout.hop = "0";
  log.Record(checkout);
  TraceVerdict verdict;
  verdict.status = TraceStatus::kIncomplete;
  verdict.explanation = "2 of 4 expected spans missing";
  verdict.missing = {MissingSpan{"0.1", "checkout", "POST /pay", SpanKind::kClient},
                     MissingSpan{"0.1", "payment", "POST /pay", SpanKind::kServer}};
  AddWireExplanations(log, PaymentScenario(), Entry(), verdict);
  EXPECT_EQ(verdict.explanation,
            "2 of 4 expected spans missing; payment received `traceparent: 00-80f1-e457-00` with "
            "the sampled flag off");
}

TEST(AddWireExplanationsTest, QuotesStructuralViolationsOfAnyStatus) {
  WireLog log(16);
  log.Record(Received({{"traceparent", "00-80f1-e457-01"}}, true, kSent));
  TraceVerdict verdict;
  verdict.status = TraceStatus::kComplete;
  verdict.explanation = "all 4 expected spans found";
  verdict.violations = {
      Violation{"orphan", "0.1", "payment",
                "payment SERVER POST /pay (hop 0.1)'s parent span "
                "0000000000000001 is not in the trace"},
      Violation{"clock-skew", "0.1", "payment", "skewed"},      // not about what arrived
      Violation{"wrong-parent", "0.2", "payment", "elsewhere"}  // nothing recorded there
  };
  AddWireExplanations(log, PaymentScenario(), Entry(), verdict);
  EXPECT_EQ(verdict.explanation, "all 4 expected spans found");
  EXPECT_EQ(verdict.violations[0].explanation,
            "payment SERVER POST /pay (hop 0.1)'s parent span 0000000000000001 is not in the "
            "trace; payment received `traceparent: 00-80f1-e457-01`");
  EXPECT_EQ(verdict.violations[1].explanation, "skewed");
  EXPECT_EQ(verdict.violations[2].explanation, "elsewhere");
}

TEST(AddWireExplanationsTest, SaysNothingWithoutAnObservationOrForRealServices) {
  WireLog log(16);
  WireObservation real = Received({{"b3", "1-2-1"}});
  real.service = "real";  // never recorded by tracerig in practice; ignored if it were
  log.Record(real);
  TraceVerdict verdict;
  verdict.status = TraceStatus::kBroken;
  verdict.explanation = "broken";
  verdict.breaks = {PropagationBreak{"0.1", "checkout", "real", TraceId{1, 2}},
                    PropagationBreak{"0.2", "checkout", "payment", TraceId{1, 3}}};
  AddWireExplanations(log, PaymentScenario(), Entry(), verdict);
  EXPECT_EQ(verdict.explanation, "broken");
  EXPECT_EQ(DescribeReceived(log, PaymentScenario(), kRequestId, "0.1", "unknown", kSent), "");
}

}  // namespace
}  // namespace tracerig
