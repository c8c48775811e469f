// The HTML report as text: sections and ids the docs promise, failing checks first, edges coloured
// by health, every example trace with its faulty hop, escaping of user-given names, and nothing
// that would need the network.
#include "report/html.h"

#include <gtest/gtest.h>

#include <string>

#include "synthetic_report.h"

namespace tracerig {
namespace {

size_t Count(const std::string& haystack, const std::string& needle) {
  size_t n = 0;
  for (size_t pos = haystack.find(needle); pos != std::string::npos;
       pos = haystack.find(needle, pos + 1)) {
    ++n;
  }
  return n;
}

TEST(EscapeHtmlTest, EscapesMarkupQuotesAndControlCharacters) {
  const std::pair<const char*, const char*> cases[] = {
      {"plain", "plain"},
      {"a<b>c", "a&lt;b&gt;c"},
      {"fish & chips", "fish &amp; chips"},
      {"say \"hi\"", "say &quot;hi&quot;"},
      {"it's", "it&#39;s"},
      {"line\nbreak", "line&#10;break"},
      {"bell\x07tab\t", "bell tab "},
      {"</script><script>alert(1)</script>", "&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;"},
      {"naïve · ✓", "naïve · ✓"},
  };
  for (const auto& [in, out] : cases) EXPECT_EQ(EscapeHtml(in), out) << in;
}

TEST(HtmlReportTest, HasEverySectionAndTheScriptMarksTheBody) {
  const std::string html = RenderHtmlReport(SyntheticRun());
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  for (const char* id : {"summary", "verdict", "checks", "graph", "service-graph", "edges", "load",
                         "verification", "latency", "percentiles", "hist-corrected",
                         "hist-uncorrected", "hist-lag", "sampling", "sampling-checks", "traces",
                         "filters", "filter-status", "filter-service", "filter-count"}) {
    EXPECT_EQ(Count(html, std::string("id=\"") + id + "\""), 1u) << id;
  }
  EXPECT_NE(html.find("<body data-verdict=\"fail\" data-exit-code=\"1\" data-ready=\"no\">"),
            std::string::npos);
  EXPECT_NE(html.find("setAttribute('data-ready', 'yes')"), std::string::npos);
  EXPECT_NE(html.find("no sampling checks in this run"), std::string::npos);
}

TEST(HtmlReportTest, FailingChecksComeFirst) {
  const std::string html = RenderHtmlReport(SyntheticRun());
  const size_t broken = html.find("<tr class=\"check fail\"><td>FAIL</td><td><code>broken-propagation");
  const size_t exported = html.find("<tr class=\"check fail\"><td>FAIL</td><td><code>spans-exported");
  const size_t complete = html.find("<tr class=\"check pass\"><td>pass</td><td><code>completeness");
  ASSERT_NE(broken, std::string::npos);
  ASSERT_NE(exported, std::string::npos);
  ASSERT_NE(complete, std::string::npos);
  EXPECT_LT(broken, exported);
  EXPECT_LT(exported, complete);
}

TEST(HtmlReportTest, WarningsAreShownBetweenFailuresAndPasses) {
  RunReport r = SyntheticRun();
  r.fail_on = *ParseFailOn("completeness");
  Judge(r);
  const std::string html = RenderHtmlReport(r);
  EXPECT_EQ(Count(html, "<tr class=\"check warn\">"), 2u);
  EXPECT_EQ(Count(html, "<tr class=\"check fail\">"), 0u);
  EXPECT_NE(html.find("data-verdict=\"pass\" data-exit-code=\"0\""), std::string::npos);
}

TEST(HtmlReportTest, EdgesAreColouredByHealth) {
  const std::string html = RenderHtmlReport(SyntheticRun());
  EXPECT_NE(html.find("<g class=\"edge broken\" data-caller=\"checkout\" data-callee=\"payment\">"),
            std::string::npos);
  EXPECT_NE(html.find("<g class=\"edge broken\" data-caller=\"frontend\" data-callee=\"checkout\">"),
            std::string::npos);
  EXPECT_NE(html.find(">6 broke</text>"), std::string::npos);
  // The expected edge into the fraud service lost spans in an example trace.
  EXPECT_NE(html.find("<g class=\"edge missing\" data-caller=\"payment\" data-callee=\"fraud|check "
                      "&lt;beta&gt; &amp; &quot;co&quot;\">"),
            std::string::npos);
  EXPECT_NE(html.find("<g class=\"edge ok\" data-caller=\"tracerig-driver\" data-callee=\"frontend\">"),
            std::string::npos);
}

TEST(HtmlReportTest, WithoutExpectedEdgesOnlyProblemEdgesAreDrawn) {
  RunReport r = SyntheticRun();
  r.expected_edges.clear();
  const std::string html = RenderHtmlReport(r);
  EXPECT_EQ(Count(html, "<g class=\"edge "), 2u);
  EXPECT_NE(html.find("does not carry the scenario's expected edges"), std::string::npos);
}

TEST(HtmlReportTest, EveryExampleTraceHasAWaterfallWithItsFaultyHop) {
  const RunReport r = SyntheticRun();
  const std::string html = RenderHtmlReport(r);
  EXPECT_EQ(Count(html, "<article class=\"trace "), r.verification->examples.size());
  EXPECT_EQ(Count(html, "<article class=\"trace broken\" data-status=\"broken\""), 5u);
  EXPECT_EQ(Count(html, "<article class=\"trace incomplete\" data-status=\"incomplete\""), 1u);
  EXPECT_EQ(Count(html, "<article class=\"trace missing\" data-status=\"missing\""), 1u);
  // Each broken trace breaks at hop 0.1.0 and the hop below it moved with it; the incomplete one
  // lacks the fraud service's span at 0.1.0.0.
  EXPECT_EQ(Count(html, "<div class=\"row moved fault\" data-hop=\"0.1.0\">"), 5u);
  EXPECT_EQ(Count(html, "<div class=\"row moved\" data-hop=\"0.1.0.0\">"), 5u);
  EXPECT_EQ(Count(html, "<div class=\"row missing fault\" data-hop=\"0.1.0.0\">"), 1u);
  EXPECT_NE(html.find("trace id changed here: payment&#39;s span is under "
                      "000000007049bba40000000000000003"),
            std::string::npos);
}

TEST(HtmlReportTest, WaterfallBarsArePlacedByTimeWhenTheExampleHasTimings) {
  const std::string html = RenderHtmlReport(SyntheticRun());
  // 5 broken traces with both spans of 4 edges, the incomplete one without the fraud SERVER span.
  EXPECT_EQ(Count(html, "<span class=\"bar span client\""), 24u);
  EXPECT_EQ(Count(html, "<span class=\"bar span server\""), 23u);
  EXPECT_EQ(Count(html, "<div class=\"row axis\">"), 6u);
  // Relative to each trace's first span (20 ms long): the driver's CLIENT span fills the lane,
  // the entry's SERVER span (1-19 ms) sits inside it, the fraud SERVER span is 8-9.5 ms.
  EXPECT_EQ(Count(html, "<span class=\"bar span client\" data-start-ns=\"0\" "
                        "data-end-ns=\"20000000\" style=\"left:0.00%;width:100.00%\""),
            6u);
  EXPECT_EQ(Count(html, "<span class=\"bar span server\" data-start-ns=\"1000000\" "
                        "data-end-ns=\"19000000\" style=\"left:5.00%;width:90.00%\""),
            6u);
  EXPECT_EQ(Count(html, "data-start-ns=\"8000000\" data-end-ns=\"9500000\" "
                        "style=\"left:40.00%;width:7.50%\""),
            5u);
  EXPECT_EQ(Count(html, "<span class=\"tick\" style=\"left:100%\">20ms</span>"), 6u);
  // The missing span is a dashed placeholder over its CLIENT span (7-10 ms), still the fault.
  const size_t row = html.find("<div class=\"row missing fault\" data-hop=\"0.1.0.0\">");
  ASSERT_NE(row, std::string::npos);
  const std::string missing_row = html.substr(row, html.find("</div>", row) - row);
  EXPECT_NE(missing_row.find("<span class=\"bar gap\" style=\"left:35.00%;width:15.00%\">"),
            std::string::npos)
      << missing_row;
  EXPECT_EQ(Count(missing_row, "bar span server"), 0u);
  // The missing trace has no timings: nesting layout, one bar per row.
  EXPECT_EQ(Count(html, "<span class=\"bar\" style=\"left:0%;width:100%\"></span>"), 1u);
}

TEST(HtmlReportTest, LatencyOverTimeHasOnePointPerInterval) {
  const RunReport r = SyntheticRun();
  const std::string html = RenderHtmlReport(r);
  const size_t chart = html.find("<svg id=\"latency-over-time\"");
  ASSERT_NE(chart, std::string::npos);
  EXPECT_LT(html.find("<section id=\"latency\">"), chart);
  EXPECT_LT(chart, html.find("<section id=\"sampling\">"));
  EXPECT_NE(html.find("data-interval-ns=\"1000000000\" data-points=\"5\""), std::string::npos);
  EXPECT_EQ(Count(html, "<g class=\"interval\""), r.load.timeline.points().size());
  EXPECT_EQ(Count(html, "<polyline class=\"line "), 3u);
  for (const char* point :
       {"data-start-ns=\"0\" data-requests=\"50\" data-errors=\"0\"><title>0ns – 1s: 50 "
        "requests (50/s), 0 errors; p50 ",
        "data-start-ns=\"3000000000\" data-requests=\"50\" data-errors=\"3\"><title>3s – 4s: "
        "50 requests (50/s), 3 errors; p50 "}) {
    EXPECT_NE(html.find(point), std::string::npos) << point;
  }
  // Latency rises by 2 ms per second in the synthetic run: maxima 5, 7, ..., 13 ms.
  for (const char* max : {"max 5ms</title>", "max 9ms</title>", "max 13ms</title>"}) {
    EXPECT_NE(html.find(max), std::string::npos) << max;
  }
  EXPECT_EQ(Count(html, "<rect class=\"rate-errors\""), 1u);
  EXPECT_NE(html.find(">1ms</text>"), std::string::npos);  // decade grid of the log scale
  EXPECT_NE(html.find(">100ms</text>"), std::string::npos);
  EXPECT_EQ(html.find("no timeline in this report"), std::string::npos);
}

TEST(HtmlReportTest, ViolationsAppearInTheWaterfallAndTheFilter) {
  RunReport r = SyntheticRun();
  TraceVerdict v = SyntheticVerdict(TraceStatus::kComplete, 120, "complete");
  v.found_spans = 9;
  v.violations.push_back({"orphan", "0.1", "checkout", "parent span 00f067aa0ba902b7 not in trace"});
  r.verification->violation_examples.push_back(v);
  r.verification->violation_counts["orphan"] = 1;
  r.verification->traces_with_violations = 1;
  Judge(r);
  const std::string html = RenderHtmlReport(r);
  EXPECT_NE(html.find("<article class=\"trace complete\" data-status=\"complete\" "
                      "data-services=\"checkout\" data-errors=\"orphan\""),
            std::string::npos);
  EXPECT_NE(html.find("<div class=\"row violation\" data-hop=\"0.1\">"), std::string::npos);
  EXPECT_NE(html.find("<option value=\"violation:orphan\">"), std::string::npos);
  EXPECT_NE(html.find("<g class=\"edge broken\" data-caller=\"frontend\""), std::string::npos);
}

TEST(HtmlReportTest, TimeToQueryableHasALateSpansTable) {
  const std::string html = RenderHtmlReport(SyntheticRun());
  const size_t latency = html.find("<section id=\"latency\">");
  const size_t table = html.find("<table id=\"time-to-queryable\">");
  const size_t late = html.find("<table id=\"late-spans\">");
  ASSERT_NE(latency, std::string::npos);
  ASSERT_NE(table, std::string::npos);
  ASSERT_NE(late, std::string::npos);
  EXPECT_LT(latency, table);
  EXPECT_LT(table, late);
  EXPECT_LT(late, html.find("<section id=\"sampling\">"));
  EXPECT_NE(html.find("<td class=\"num\">240</td><td class=\"num\">200</td><td class=\"num\">"
                      "1.2s</td>"),
            std::string::npos);
  EXPECT_NE(html.find("<p>12 traces were complete only after their first poll (later than 1s)"),
            std::string::npos);
  EXPECT_NE(html.find("<tr data-hop=\"0.1.0.0\"><td class=\"mono\">0.1.0.0</td><td>payment → "
                      "fraud|check &lt;beta&gt; &amp; &quot;co&quot;</td><td>SERVER</td>"
                      "<td class=\"num\">9</td><td class=\"num\">3.9s</td></tr>"),
            std::string::npos);
  EXPECT_NE(html.find("<tr data-hop=\"0.1.0\"><td class=\"mono\">0.1.0</td><td>checkout → "
                      "payment</td><td>CLIENT</td><td class=\"num\">3</td>"),
            std::string::npos);

  RunReport on_time = SyntheticRun();
  on_time.verification->time_to_queryable.late_hops.clear();
  const std::string no_late = RenderHtmlReport(on_time);
  EXPECT_NE(no_late.find("<table id=\"time-to-queryable\">"), std::string::npos);
  EXPECT_EQ(no_late.find("late-spans"), std::string::npos);

  RunReport none = SyntheticRun();
  none.verification->time_to_queryable = TimeToQueryable{};
  EXPECT_NE(RenderHtmlReport(none).find("<p class=\"placeholder\" id=\"time-to-queryable\">no "
                                        "complete trace gave a time-to-queryable sample</p>"),
            std::string::npos);
}

TEST(HtmlReportTest, BackendDependencyListSitsNextToTheGraph) {
  RunReport r = SyntheticRun();
  r.verification->backend_graph = SyntheticBackendGraph("missing-and-unexpected");
  Judge(r);
  std::string html = RenderHtmlReport(r);
  const size_t graph = html.find("<section id=\"graph\">");
  const size_t backend = html.find("<div id=\"backend-graph\" data-served=\"yes\" "
                                   "data-missing=\"1\" data-unexpected=\"1\">");
  ASSERT_NE(backend, std::string::npos) << html;
  EXPECT_LT(graph, backend);
  EXPECT_LT(backend, html.find("<section id=\"load\">"));
  EXPECT_NE(html.find("<p>3 of 4 expected edges listed by the backend, 1 edges not in the topology "
                      "(window 2025-11-25 11:59:00 UTC to 2025-11-25 12:01:07 UTC).</p>"),
            std::string::npos);
  EXPECT_NE(html.find("<tr class=\"missing\"><td>checkout</td><td>payment</td><td>missing</td>"
                      "<td class=\"num\">243.0</td><td class=\"num\">0</td></tr>"),
            std::string::npos);
  EXPECT_NE(html.find("<tr class=\"unexpected\"><td>checkout</td><td>warehouse</td>"
                      "<td>unexpected</td><td class=\"num\">0.0</td><td class=\"num\">31</td>"
                      "</tr>"),
            std::string::npos);
  EXPECT_EQ(Count(html, "<tr class=\"missing\">") + Count(html, "<tr class=\"unexpected\">"), 2u);

  r.verification->backend_graph = SyntheticBackendGraph("clean");
  html = RenderHtmlReport(r);
  EXPECT_NE(html.find("data-served=\"yes\" data-missing=\"0\" data-unexpected=\"0\""),
            std::string::npos);
  EXPECT_EQ(html.find("id=\"backend-graph-edges\""), std::string::npos);

  r.verification->backend_graph = SyntheticBackendGraph("fetch-error");
  html = RenderHtmlReport(r);
  EXPECT_NE(html.find("data-served=\"no\""), std::string::npos);
  EXPECT_NE(html.find("<p class=\"placeholder\">not compared: GET /api/dependencies: HTTP 503 "
                      "from 127.0.0.1:16686</p>"),
            std::string::npos);

  EXPECT_NE(RenderHtmlReport(SyntheticRun())
                .find("<p class=\"placeholder\">not compared: not served by this backend</p>"),
            std::string::npos);
  r.verification->backend_graph.reset();
  EXPECT_EQ(RenderHtmlReport(r).find("id=\"backend-graph"), std::string::npos);
}

TEST(HtmlReportTest, UserGivenNamesAreEscapedEverywhere) {
  RunReport r = SyntheticRun();
  r.scenario_name = "<script>alert('x')</script>";
  r.services.push_back({"</svg><img src=x onerror=alert(1)>", {}, "http://127.0.0.1:1"});
  const std::string html = RenderHtmlReport(r);
  EXPECT_EQ(html.find("<script>alert"), std::string::npos);
  EXPECT_EQ(html.find("<img"), std::string::npos);
  EXPECT_EQ(html.find("fraud|check <beta>"), std::string::npos);
  EXPECT_NE(html.find("fraud|check &lt;beta&gt; &amp; &quot;co&quot;"), std::string::npos);
  EXPECT_EQ(Count(html, "<script>"), 1u);  // ours only
}

TEST(HtmlReportTest, NeedsNoNetwork) {
  const std::string html = RenderHtmlReport(SyntheticRun());
  for (const char* needle : {"src=\"http", "href=\"http", "@import", "url(http", "<link",
                             "src=\"//", "<iframe"}) {
    EXPECT_EQ(html.find(needle), std::string::npos) << needle;
  }
}

TEST(HtmlReportTest, RendersRunsWithoutVerificationOrSamples) {
  RunReport r;
  r.scenario_name = "empty";
  r.verification_skipped = true;
  Judge(r);
  const std::string html = RenderHtmlReport(r);
  EXPECT_NE(html.find("no example traces"), std::string::npos);
  EXPECT_NE(html.find("no services in this report"), std::string::npos);
  EXPECT_EQ(Count(html, ">no samples<"), 6u);  // three table rows, three histograms
  EXPECT_NE(html.find("<tr class=\"check skipped\">"), std::string::npos);
  EXPECT_NE(html.find("no timeline in this report"), std::string::npos);
  EXPECT_EQ(html.find("id=\"latency-over-time\""), std::string::npos);
}

TEST(HtmlReportTest, TransportErrorsHaveATableOfTheirKinds) {
  RunReport r = SyntheticRun();
  r.load.ok = 0;
  r.load.http_errors = 0;
  r.load.transport_errors = 250;
  r.load.transport_error_reasons = {{"connection refused", 240, "connect: Connection refused"},
                                    {"tls handshake", 10, "handshake: <bad certificate>"}};
  Judge(r);
  const std::string html = RenderHtmlReport(r);
  EXPECT_NE(html.find("(240 connection refused: connect: Connection refused; 10 tls handshake: "
                      "handshake: &lt;bad certificate&gt;); the topology did not serve the load"),
            std::string::npos);
  EXPECT_NE(html.find("<table id=\"transport-errors\">"), std::string::npos);
  EXPECT_NE(html.find("<tr><td>connection refused</td><td class=\"num\">240</td><td><code>connect: "
                      "Connection refused</code></td></tr>\n<tr><td>tls handshake</td><td "
                      "class=\"num\">10</td><td><code>handshake: &lt;bad "
                      "certificate&gt;</code></td></tr>"),
            std::string::npos)
      << html;
  r.load.transport_error_reasons.clear();  // an older report: no kinds, no table
  EXPECT_EQ(RenderHtmlReport(r).find("id=\"transport-errors\""), std::string::npos);
}

// A verify-only run measured no load: the ledger's requests and outcomes, "not measured" for the
// rest, and no zero rate, latency, histogram or span figure that would read as measured.
TEST(HtmlReportTest, AVerifyOnlyRunShowsTheLedgerAndNoLoadFigures) {
  const std::string html = RenderHtmlReport(SyntheticVerifyRun());
  EXPECT_NE(html.find("<tr><th>load</th><td class=\"num\">not measured (verify only): sent by an "
                      "earlier run</td></tr>"),
            std::string::npos);
  EXPECT_NE(html.find("<tr><th>requests in the ledger</th><td class=\"num\">250</td></tr>"),
            std::string::npos);
  EXPECT_NE(html.find("<tr><th>ok</th><td class=\"num\">247</td></tr>"), std::string::npos);
  EXPECT_NE(html.find("<tr><th>transport errors</th><td class=\"num\">1</td></tr>"),
            std::string::npos);
  EXPECT_NE(html.find("id=\"latency-not-measured\">not measured (verify only)"), std::string::npos);
  EXPECT_NE(html.find("id=\"spans-not-measured\">spans: not measured (verify only)"),
            std::string::npos);
  EXPECT_NE(html.find("<tr class=\"check skipped\"><td>not measured</td><td><code>spans-exported"),
            std::string::npos);
  for (const char* absent :
       {"/s for", "0.0/s", "throughput", "id=\"percentiles\"", "id=\"hist-corrected\"",
        ">no samples<", "no timeline in this report", "id=\"latency-over-time\"", "spans exported",
        "spans recorded by services", "<th>target</th>", "<th>elapsed</th>",
        "0 spans recorded but not exported"}) {
    const size_t at = html.find(absent);
    EXPECT_EQ(at, std::string::npos)
        << absent << " in: " << html.substr(at < 80 ? 0 : at - 80, 160);
  }
  EXPECT_EQ(html.find("<tr class=\"check pass\"><td>pass</td><td><code>spans-exported"),
            std::string::npos);
  // What verification measured is all there.
  EXPECT_EQ(Count(html, "id=\"verification\""), 1u);
  EXPECT_EQ(Count(html, "id=\"time-to-queryable\""), 1u);
}

}  // namespace
}  // namespace tracerig
