// The HTML report's waterfalls: each example trace is drawn against its own request's expected
// tree (its entry route and its seeded call decisions), never against the hops of other entries.
#include "report/html.h"

#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "tests/verifier/test_spans.h"
#include "topology/expected_tree.h"
#include "topology/parse.h"
#include "verifier/classify.h"

namespace tracerig {
namespace {

// (hop, "caller → callee") of each waterfall row of the example trace with `sequence`.
using Rows = std::vector<std::pair<std::string, std::string>>;

Rows WaterfallRows(const std::string& html, uint64_t sequence) {
  const std::string marker = "data-sequence=\"" + std::to_string(sequence) + "\">";
  const size_t start = html.find(marker);
  if (start == std::string::npos) return {{"no article for request", std::to_string(sequence)}};
  const std::string article = html.substr(start, html.find("</article>", start) - start);
  static const std::regex row(
      "<div class=\"row [^\"]*\" data-hop=\"([^\"]*)\"><span class=\"label\" title=\"([^\"]*)\"");
  Rows rows;
  for (auto it = std::sregex_iterator(article.begin(), article.end(), row);
       it != std::sregex_iterator(); ++it) {
    rows.emplace_back((*it)[1].str(), (*it)[2].str());
  }
  return rows;
}

SpanTiming Timing(std::string hop, SpanKind kind, std::string service, uint64_t ms_from,
                  uint64_t ms_to) {
  constexpr uint64_t kStart = 1'764'072'000'000'000'000ull;
  return {std::move(hop), kind, std::move(service), kStart + ms_from * 1'000'000,
          kStart + ms_to * 1'000'000};
}

// Two entries on the same entry service, as ExpectedGraphEdges lists them: frontend "GET /product"
// -> catalog, recommendation -> catalog; frontend "GET /cart" -> cart, currency.
RunReport TwoEntryReport() {
  RunReport r;
  r.scenario_name = "two-entries";
  r.services = {{"frontend", {}, ""},
                {"catalog", {}, ""},
                {"recommendation", {}, ""},
                {"cart", {}, ""},
                {"currency", {}, ""}};
  r.expected_edges = {
      {"0", "tracerig-driver", "frontend"},  {"0.0", "frontend", "cart"},
      {"0.0", "frontend", "catalog"},        {"0.1", "frontend", "currency"},
      {"0.1", "frontend", "recommendation"}, {"0.1.0", "recommendation", "catalog"}};
  VerificationSummary v;
  // Request 3 went to "GET /product" and broke below recommendation.
  TraceVerdict product;
  product.status = TraceStatus::kBroken;
  product.sequence = 3;
  product.breaks.push_back({"0.1.0", "recommendation", "catalog", TraceId{0, 0x99}});
  product.timings = {Timing("0", SpanKind::kClient, "tracerig-driver", 0, 20),
                     Timing("0", SpanKind::kServer, "frontend", 1, 19),
                     Timing("0.0", SpanKind::kClient, "frontend", 2, 6),
                     Timing("0.0", SpanKind::kServer, "catalog", 3, 5),
                     Timing("0.1", SpanKind::kClient, "frontend", 7, 18),
                     Timing("0.1", SpanKind::kServer, "recommendation", 8, 17),
                     Timing("0.1.0", SpanKind::kClient, "recommendation", 9, 16),
                     Timing("0.1.0", SpanKind::kServer, "catalog", 10, 15)};
  // Request 4 went to "GET /cart" and lost currency's SERVER span.
  TraceVerdict cart;
  cart.status = TraceStatus::kIncomplete;
  cart.sequence = 4;
  cart.missing.push_back({"0.1", "currency", "GET /convert", SpanKind::kServer});
  cart.timings = {Timing("0", SpanKind::kClient, "tracerig-driver", 0, 10),
                  Timing("0", SpanKind::kServer, "frontend", 1, 9),
                  Timing("0.0", SpanKind::kClient, "frontend", 2, 4),
                  Timing("0.0", SpanKind::kServer, "cart", 2, 3),
                  Timing("0.1", SpanKind::kClient, "frontend", 5, 8)};
  // Request 5 went to "GET /cart" and reached nothing: every expected span is missing.
  TraceVerdict lost;
  lost.status = TraceStatus::kMissing;
  lost.sequence = 5;
  lost.missing = {{"0", "tracerig-driver", "GET /cart", SpanKind::kClient},
                  {"0", "frontend", "GET /cart", SpanKind::kServer},
                  {"0.0", "frontend", "GetCart", SpanKind::kClient},
                  {"0.0", "cart", "GetCart", SpanKind::kServer},
                  {"0.1", "frontend", "GET /convert", SpanKind::kClient},
                  {"0.1", "currency", "GET /convert", SpanKind::kServer}};
  v.examples = {product, cart, lost};
  r.verification = v;
  return r;
}

TEST(HtmlWaterfallTest, EachWaterfallShowsOnlyItsOwnEntrysHops) {
  const std::string html = RenderHtmlReport(TwoEntryReport());
  EXPECT_EQ(WaterfallRows(html, 3), (Rows{{"0", "tracerig-driver → frontend"},
                                          {"0.0", "frontend → catalog"},
                                          {"0.1", "frontend → recommendation"},
                                          {"0.1.0", "recommendation → catalog"}}));
  const Rows cart_rows = {{"0", "tracerig-driver → frontend"},
                          {"0.0", "frontend → cart"},
                          {"0.1", "frontend → currency"}};
  EXPECT_EQ(WaterfallRows(html, 4), cart_rows);
  EXPECT_EQ(WaterfallRows(html, 5), cart_rows);
  // The faults are where the verdicts put them.
  EXPECT_NE(html.find("<div class=\"row moved fault\" data-hop=\"0.1.0\">"), std::string::npos);
  EXPECT_NE(html.find("<div class=\"row missing fault\" data-hop=\"0.1\">"), std::string::npos);
}

TEST(HtmlWaterfallTest, ATraceThatNamesNoHopIsNotDrawnAgainstEveryEntry) {
  // A missing trace from a report that does not list its missing spans: which entry it went to
  // is unknown, so no entry's hops are drawn for it.
  RunReport r = TwoEntryReport();
  r.verification->examples[2].missing.clear();
  const std::string html = RenderHtmlReport(r);
  EXPECT_EQ(WaterfallRows(html, 5), Rows{});
  EXPECT_NE(html.find("no hop of this request is known"), std::string::npos);
}

TEST(HtmlWaterfallTest, RetriesFollowTheAttemptTheyRetry) {
  RunReport r = TwoEntryReport();
  TraceVerdict& cart = r.verification->examples[1];
  cart.timings.push_back(Timing("0.1r1", SpanKind::kClient, "frontend", 8, 9));
  cart.timings.push_back(Timing("0.0r1", SpanKind::kClient, "frontend", 4, 5));
  cart.timings.push_back(Timing("0.0r1", SpanKind::kServer, "cart", 4, 5));
  const Rows rows = WaterfallRows(RenderHtmlReport(r), 4);
  ASSERT_EQ(rows.size(), 5u);
  EXPECT_EQ(rows[1].first, "0.0");
  EXPECT_EQ(rows[2], (std::pair<std::string, std::string>{"0.0r1", "frontend → cart"}));
  EXPECT_EQ(rows[3].first, "0.1");
  // Its SERVER span is absent and no expected edge names hop 0.1r1: the callee is left blank.
  EXPECT_EQ(rows[4].first, "0.1r1");
}

// The expected edges of `tree` as waterfall rows: (hop, "caller → callee") of each SERVER span.
Rows TreeRows(const ExpectedTree& tree) {
  Rows rows;
  for (const ExpectedSpan& s : tree.spans) {
    if (s.kind == SpanKind::kServer) rows.emplace_back(s.hop, s.peer + " → " + s.service);
  }
  return rows;
}

// The real pipeline below the report: the ecommerce-fault scenario (three entries on frontend,
// a call made with probability 0.7), each request's own expected tree, spans classified by the
// verifier, and the verdicts rendered.
TEST(HtmlWaterfallTest, VerifiedRequestsOfEveryEntryShowTheirOwnTrees) {
  const std::string path = std::string(TRACERIG_SOURCE_DIR) + "/scenarios/ecommerce-fault.toml";
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  const ParseResult parsed = ParseScenario(path, text.str());
  ASSERT_TRUE(parsed.ok()) << path << ": "
                           << (parsed.diagnostics.empty() ? "" : parsed.diagnostics[0].ToString());
  const Scenario& scenario = *parsed.scenario;
  ASSERT_EQ(scenario.load.entries.size(), 3u);

  RunReport r;
  r.scenario_name = scenario.name;
  r.expected_edges = ExpectedGraphEdges(scenario);
  VerificationSummary v;
  std::vector<Rows> expected;
  for (uint32_t entry = 0; entry < 3; ++entry) {
    // Requests 10 + entry, one per entry: the product request lost catalog's SERVER span, the
    // cart request currency's, and the checkout request's payment spans are under another trace.
    LedgerEntry ledger;
    ledger.sequence = 10 + entry;
    ledger.entry = entry;
    ledger.trace_id = TraceId{0x1234, 0x100 + entry};
    ledger.request_id = 0xabc0 + entry;
    const ExpectedTree tree =
        BuildExpectedTree(scenario, scenario.load.entries[entry], ledger.sequence);
    std::vector<Span> spans = verifier_testing::AllSpans(tree, ledger.trace_id, ledger.request_id);
    std::vector<Span> elsewhere;
    std::erase_if(spans, [&](const Span& s) {
      const bool lost =
          s.kind == SpanKind::kServer && ((entry == 0 && s.service_name == "catalog") ||
                                          (entry == 1 && s.service_name == "currency"));
      if (entry == 2 && s.service_name == "payment") {
        elsewhere.push_back(s);
        elsewhere.back().trace_id = TraceId{0x5678, 0x1};
        return true;
      }
      return lost;
    });
    TraceVerdict verdict = ClassifyTrace(tree, ledger, spans, elsewhere, ClassifyOptions{});
    ASSERT_NE(verdict.status, TraceStatus::kComplete) << "entry " << entry;
    v.examples.push_back(std::move(verdict));
    expected.push_back(TreeRows(tree));
  }
  r.verification = v;
  const std::string html = RenderHtmlReport(r);
  for (uint32_t entry = 0; entry < 3; ++entry) {
    EXPECT_EQ(WaterfallRows(html, 10 + entry), expected[entry]) << "entry " << entry;
  }
}

}  // namespace
}  // namespace tracerig
