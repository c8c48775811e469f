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
}

}  // namespace
}  // namespace tracerig
