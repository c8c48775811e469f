// Async edges in every report format: publish-to-process latency per queue and the span-link
// summary rendered from a summary that has them (and nothing when it has not), links that cannot
// be checked said plainly instead of a verdict, the JSON round trip, merged shards, and the HTML
// service graph drawing an async edge dashed.
#include "report/async_edges.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "mini_xml.h"
#include "report/diff.h"
#include "report/html.h"
#include "report/junit.h"
#include "report/markdown.h"
#include "report/merge.h"
#include "report/read_report.h"
#include "report/render.h"
#include "synthetic_report.h"

namespace tracerig {
namespace {

using testing::MiniXmlParser;
using testing::XmlElement;

QueueLatency Orders() {
  return {"orders", "fulfilment", 1200, 3'100'000, 7'000'000, 9'800'000, 12'000'000};
}

// The synthetic run of a scenario whose checkout publishes to orders, consumed by fulfilment (a
// batch consumer whose links are checked), judged again.
RunReport AsyncRun(std::optional<LinkSummary> links = LinkSummary{true, "", 40, 37}) {
  RunReport r = SyntheticRun();
  r.expected_edges.push_back({"0.1.1", "checkout", "fulfilment", true});
  r.services.push_back({"fulfilment", {}, "http://127.0.0.1:40005"});
  r.verification->queue_latency = {Orders(),
                                   {"audit", "ledger", 1, 250'000, 250'000, 250'000, 250'000}};
  r.verification->links = links;
  Judge(r);
  return r;
}

const LinkSummary kZipkin{false, "zipkin v2 has no links", 0, 0};

const CheckResult* FindCheck(const RunReport& r, const std::string& name) {
  for (const auto& c : r.checks) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

bool Has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(AsyncEdgesTextTest, Table) {
  struct Case {
    uint64_t n;
    const char* grouped;
  };
  for (const Case& c : {Case{0, "0"}, Case{7, "7"}, Case{999, "999"}, Case{1000, "1,000"},
                        Case{1200, "1,200"}, Case{123456, "123,456"},
                        Case{1234567, "1,234,567"}}) {
    EXPECT_EQ(GroupThousands(c.n), c.grouped) << c.n;
  }
  EXPECT_EQ(DescribeQueueLatency(Orders()),
            "orders (fulfilment) p50 3.1ms p99 9.8ms max 12ms, 1,200 messages");
  EXPECT_EQ(QueueLatencyLine({Orders()}),
            "publish -> process latency per queue: orders (fulfilment) p50 3.1ms p99 9.8ms max "
            "12ms, 1,200 messages");
  EXPECT_EQ(QueueLatencyLine({}), "");
  EXPECT_EQ(DescribeLinks({true, "", 40, 40}), "span links: 40 of 40 expected links found (batch "
                                               "consumers)");
  EXPECT_EQ(DescribeLinks({true, "", 40, 37}),
            "span links: 37 of 40 expected links found (batch consumers); 3 missing or not "
            "pointing at their message's PRODUCER span");
  EXPECT_EQ(DescribeLinks(kZipkin), "span links not checked: zipkin v2 has no links");
  EXPECT_FALSE(LinksFailed(kZipkin));
  EXPECT_TRUE(LinksFailed({true, "", 40, 37}));
  EXPECT_EQ(CheckKind("links"), "trace-structure");
}

TEST(AsyncEdgesTest, LinksAreACheckJudgedWithTraceStructure) {
  const RunReport r = AsyncRun();
  const CheckResult* links = FindCheck(r, "links");
  ASSERT_NE(links, nullptr);
  EXPECT_FALSE(links->passed);
  EXPECT_TRUE(links->enforced);
  EXPECT_EQ(r.exit_code, kExitConformanceFailure);
  EXPECT_TRUE(FindCheck(AsyncRun(LinkSummary{true, "", 40, 40}), "links")->passed);
  // Not in --fail-on: a warning.
  RunReport lenient = AsyncRun();
  lenient.fail_on = *ParseFailOn("completeness");
  Judge(lenient);
  EXPECT_FALSE(FindCheck(lenient, "links")->enforced);
  // Links that cannot be checked, or a scenario without batches: no check, no verdict.
  EXPECT_EQ(FindCheck(AsyncRun(kZipkin), "links"), nullptr);
  EXPECT_EQ(FindCheck(AsyncRun(std::nullopt), "links"), nullptr);
}

TEST(AsyncEdgesTest, TerminalSummary) {
  const std::string text = RenderTerminalSummary(AsyncRun());
  EXPECT_TRUE(Has(text, "\npublish -> process latency per queue: orders (fulfilment) p50 3.1ms "
                        "p99 9.8ms max 12ms, 1,200 messages; audit (ledger) p50 250µs p99 250µs "
                        "max 250µs, 1 message\n"))
      << text;
  EXPECT_TRUE(Has(text, "  [FAIL] links: span links: 37 of 40 expected links found")) << text;
  const std::string zipkin = RenderTerminalSummary(AsyncRun(kZipkin));
  EXPECT_TRUE(Has(zipkin, "\nspan links not checked: zipkin v2 has no links\n")) << zipkin;
  EXPECT_FALSE(Has(zipkin, "links:")) << zipkin;
  // Unset: nothing said.
  const std::string plain = RenderTerminalSummary(SyntheticRun());
  EXPECT_FALSE(Has(plain, "publish")) << plain;
  EXPECT_FALSE(Has(plain, "links")) << plain;
}

TEST(AsyncEdgesTest, Markdown) {
  const std::string md = RenderMarkdown(AsyncRun());
  EXPECT_TRUE(Has(md, "\n### Publish → process latency per queue\n\n| Queue | Consumer | "
                      "Messages | p50 | p90 | p99 | max |\n|---|---|---:|---:|---:|---:|---:|\n"
                      "| orders | fulfilment | 1,200 | 3.1ms | 7ms | 9.8ms | 12ms |\n"))
      << md;
  EXPECT_TRUE(Has(md, "| links | ❌ fail | span links: 37 of 40 expected links found")) << md;
  const std::string zipkin = RenderMarkdown(AsyncRun(kZipkin));
  EXPECT_TRUE(
      Has(zipkin, "| links | ⏭️ not checked | span links not checked: zipkin v2 has no links |"))
      << zipkin;
  const std::string plain = RenderMarkdown(SyntheticRun());
  EXPECT_FALSE(Has(plain, "Publish")) << plain;
  EXPECT_FALSE(Has(plain, "links")) << plain;
}

const XmlElement* Testcase(const XmlElement& suite, const std::string& name) {
  for (const auto& c : suite.children) {
    if (c.name == "testcase" && *c.Attribute("name") == name) return &c;
  }
  return nullptr;
}

TEST(AsyncEdgesTest, JUnit) {
  auto parsed = MiniXmlParser(RenderJUnit(AsyncRun())).Parse();
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  const XmlElement& suite = parsed->children.at(0);
  const XmlElement* links = Testcase(suite, "links");
  ASSERT_NE(links, nullptr);
  ASSERT_EQ(links->children.size(), 1u);
  EXPECT_EQ(links->children[0].name, "failure");
  EXPECT_TRUE(Has(*links->children[0].Attribute("message"), "37 of 40 expected links found"));
  const XmlElement& properties = suite.children.at(0);
  bool property = false;
  for (const auto& p : properties.children) {
    property |= *p.Attribute("name") == "queue_latency.orders.fulfilment" &&
                *p.Attribute("value") == DescribeQueueLatency(Orders());
  }
  EXPECT_TRUE(property);
  const XmlElement& out = suite.children.back();
  EXPECT_EQ(out.name, "system-out");
  EXPECT_TRUE(Has(out.text, "publish -> process latency per queue: orders (fulfilment)"));

  auto zipkin = MiniXmlParser(RenderJUnit(AsyncRun(kZipkin))).Parse();
  ASSERT_TRUE(zipkin.ok()) << zipkin.error().message;
  const XmlElement* skipped = Testcase(zipkin->children.at(0), "links");
  ASSERT_NE(skipped, nullptr);
  EXPECT_EQ(skipped->children.at(0).name, "skipped");
  EXPECT_EQ(*skipped->children[0].Attribute("message"),
            "span links not checked: zipkin v2 has no links");

  const std::string plain = RenderJUnit(SyntheticRun());
  EXPECT_FALSE(Has(plain, "queue_latency")) << plain;
  EXPECT_FALSE(Has(plain, "links")) << plain;
}

TEST(AsyncEdgesTest, HtmlTableAndDashedAsyncEdge) {
  const std::string html = RenderHtmlReport(AsyncRun());
  EXPECT_TRUE(Has(html, "<table id=\"queue-latency\">")) << html;
  EXPECT_TRUE(Has(html, "<tr data-queue=\"orders\"><td>orders</td><td>fulfilment</td><td "
                        "class=\"num\">1,200</td><td class=\"num\">3.1ms</td>"))
      << html;
  // The async edge's path is dashed; the synchronous edges' paths are not.
  const size_t edge = html.find("<g class=\"edge ok async\" data-caller=\"checkout\" "
                                "data-callee=\"fulfilment\">");
  ASSERT_NE(edge, std::string::npos) << html;
  const std::string group = html.substr(edge, html.find("</g>", edge) - edge);
  EXPECT_TRUE(Has(group, "<path ")) << group;
  EXPECT_TRUE(Has(group, "style=\"stroke-dasharray:")) << group;
  const size_t sync = html.find("data-caller=\"frontend\" data-callee=\"checkout\">");
  ASSERT_NE(sync, std::string::npos);
  EXPECT_FALSE(Has(html.substr(sync, html.find("</g>", sync) - sync), "stroke-dasharray"));
  EXPECT_TRUE(Has(html, "async: publish → consume</span>"));  // the legend, only when drawn

  const std::string zipkin = RenderHtmlReport(AsyncRun(kZipkin));
  EXPECT_TRUE(Has(zipkin, "<p class=\"placeholder\" id=\"links-not-checked\">span links not "
                          "checked: zipkin v2 has no links</p>"))
      << zipkin;
  EXPECT_TRUE(Has(zipkin, "<tr class=\"check skipped\"><td>not checked</td><td><code>links</code>"))
      << zipkin;
  const std::string plain = RenderHtmlReport(SyntheticRun());
  EXPECT_FALSE(Has(plain, "queue-latency"));
  EXPECT_FALSE(Has(plain, "links-not-checked"));
  EXPECT_FALSE(Has(plain, "edge ok async"));
  EXPECT_FALSE(Has(plain, "publish → consume"));
}

TEST(AsyncEdgesTest, JsonRoundTrip) {
  const RunReport r = AsyncRun();
  const nlohmann::ordered_json j = ReportToJson(r);
  const auto& q = j["verification"]["queue_latency"];
  ASSERT_EQ(q.size(), 2u) << j["verification"].dump();
  EXPECT_EQ(q[0].dump(), "{\"queue\":\"orders\",\"consumer\":\"fulfilment\",\"messages\":1200,"
                         "\"p50_ns\":3100000,\"p90_ns\":7000000,\"p99_ns\":9800000,"
                         "\"max_ns\":12000000}");
  EXPECT_EQ(j["verification"]["links"].dump(),
            "{\"checkable\":true,\"reason\":\"\",\"expected\":40,\"found\":37}");
  EXPECT_EQ(j["expected_edges"].back().dump(),
            "{\"hop\":\"0.1.1\",\"caller\":\"checkout\",\"callee\":\"fulfilment\",\"async\":true}");
  auto read = ReadReport("async.json", j.dump(2));
  ASSERT_TRUE(read.ok()) << read.error().message;
  EXPECT_EQ(read->verification->queue_latency, r.verification->queue_latency);
  ASSERT_TRUE(read->verification->links.has_value());
  EXPECT_EQ(read->verification->links->found, 37u);
  EXPECT_EQ(read->verification->links->expected, 40u);
  EXPECT_EQ(read->expected_edges, r.expected_edges);
  EXPECT_EQ(read->checks.size(), r.checks.size());
  EXPECT_EQ(ReportToJson(*read)["verification"].dump(), j["verification"].dump());

  auto zipkin = ReadReport("zipkin.json", ReportToJson(AsyncRun(kZipkin)).dump());
  ASSERT_TRUE(zipkin.ok()) << zipkin.error().message;
  EXPECT_FALSE(zipkin->verification->links->checkable);
  EXPECT_EQ(zipkin->verification->links->reason, "zipkin v2 has no links");

  // Unset: not written, read back empty.
  const nlohmann::ordered_json plain = ReportToJson(SyntheticRun());
  EXPECT_FALSE(plain["verification"].contains("queue_latency"));
  EXPECT_FALSE(plain["verification"].contains("links"));
  EXPECT_FALSE(plain["expected_edges"][0].contains("async"));
  auto read_plain = ReadReport("plain.json", plain.dump());
  ASSERT_TRUE(read_plain.ok()) << read_plain.error().message;
  EXPECT_TRUE(read_plain->verification->queue_latency.empty());
  EXPECT_FALSE(read_plain->verification->links.has_value());
}

TEST(AsyncEdgesTest, MalformedFieldsNameTheFieldAndTheProblem) {
  struct Bad {
    const char* what;
    void (*mutate)(nlohmann::ordered_json&);
    const char* message;
  };
  const Bad cases[] = {
      {"latency as string",
       [](nlohmann::ordered_json& j) { j["verification"]["queue_latency"][0]["p99_ns"] = "9ms"; },
       "bad.json: verification.queue_latency[0].p99_ns: expected a non-negative integer, found "
       "\"9ms\""},
      {"no queue",
       [](nlohmann::ordered_json& j) { j["verification"]["queue_latency"][1].erase("queue"); },
       "bad.json: verification.queue_latency[1].queue: missing"},
      {"not checkable without a reason",
       [](nlohmann::ordered_json& j) { j["verification"]["links"]["checkable"] = false; },
       "bad.json: verification.links.reason: empty, but checkable is false: links not checked "
       "need a reason"},
      {"more found than expected",
       [](nlohmann::ordered_json& j) { j["verification"]["links"]["found"] = 41; },
       "bad.json: verification.links.found: 41 links found of 40 expected: more than expected"},
      {"async not a bool",
       [](nlohmann::ordered_json& j) { j["expected_edges"][4]["async"] = "yes"; },
       "bad.json: expected_edges[4].async: expected true or false, found \"yes\""},
  };
  for (const Bad& c : cases) {
    nlohmann::ordered_json j = ReportToJson(AsyncRun());
    c.mutate(j);
    auto read = ReadReport("bad.json", j.dump());
    ASSERT_FALSE(read.ok()) << c.what;
    EXPECT_EQ(read.error().message, c.message) << c.what;
  }
}

TEST(AsyncEdgesTest, MergedShardsAddCountsAndBoundPercentilesFromAbove) {
  RunReport a = AsyncRun();
  RunReport b = AsyncRun(LinkSummary{true, "", 20, 20});
  b.started_unix_nano += 60'000'000'000ull;
  b.finished_unix_nano += 60'000'000'000ull;
  b.verification->queue_latency = {
      {"orders", "fulfilment", 800, 2'000'000, 8'000'000, 15'000'000, 30'000'000},
      {"shipping", "courier", 5, 1'000'000, 1'000'000, 1'000'000, 1'000'000}};
  Judge(b);
  // Read back from files, as `tracerig report merge` does.
  auto ra = ReadReport("a.json", ReportToJson(a).dump());
  auto rb = ReadReport("b.json", ReportToJson(b).dump());
  ASSERT_TRUE(ra.ok() && rb.ok());
  auto merged = MergeReports({*ra, *rb});
  ASSERT_TRUE(merged.ok()) << merged.error().message;
  const VerificationSummary& v = *merged->verification;
  const std::vector<QueueLatency> expected = {
      {"audit", "ledger", 1, 250'000, 250'000, 250'000, 250'000},
      {"orders", "fulfilment", 2000, 3'100'000, 8'000'000, 15'000'000, 30'000'000},
      {"shipping", "courier", 5, 1'000'000, 1'000'000, 1'000'000, 1'000'000}};
  EXPECT_EQ(v.queue_latency, expected);
  ASSERT_TRUE(v.links.has_value());
  EXPECT_TRUE(v.links->checkable);
  EXPECT_EQ(v.links->expected, 60u);
  EXPECT_EQ(v.links->found, 57u);
  EXPECT_FALSE(FindCheck(*merged, "links")->passed);
  const std::string text = RenderTerminalSummary(*merged);
  EXPECT_TRUE(Has(text, "orders (fulfilment) p50 3.1ms p99 15ms max 30ms, 2,000 messages")) << text;
  EXPECT_TRUE(Has(text, "(merged from 2 runs: percentiles not combined, each is the largest run's "
                        "(an upper bound))\n"))
      << text;
  EXPECT_TRUE(Has(RenderMarkdown(*merged), "Merged from 2 runs: percentiles not combined"));

  // One shard on a backend without links: the merge gives no link verdict, and says why.
  RunReport c = AsyncRun(kZipkin);
  c.started_unix_nano += 120'000'000'000ull;
  auto with_zipkin = MergeReports({a, c});
  ASSERT_TRUE(with_zipkin.ok()) << with_zipkin.error().message;
  EXPECT_FALSE(with_zipkin->verification->links->checkable);
  EXPECT_EQ(with_zipkin->verification->links->reason, "zipkin v2 has no links");
  EXPECT_EQ(FindCheck(*with_zipkin, "links"), nullptr);
  // Shards without async edges merge to none.
  auto plain = MergeReports({SyntheticRun(), [] {
                               RunReport r = SyntheticRun();
                               r.started_unix_nano += 1;
                               return r;
                             }()});
  ASSERT_TRUE(plain.ok()) << plain.error().message;
  EXPECT_TRUE(plain->verification->queue_latency.empty());
  EXPECT_FALSE(plain->verification->links.has_value());
}

TEST(AsyncEdgesTest, DiffComparesQueueLatencyAndLinksFound) {
  const RunReport a = AsyncRun(LinkSummary{true, "", 40, 40});
  RunReport b = AsyncRun();
  b.verification->queue_latency[0].p99_ns = 12'000'000;  // orders: 9.8ms -> 12ms
  b.verification->queue_latency.pop_back();              // audit: not in B
  const ReportDiff diff = DiffReports(a, b, 10);
  auto row = [&diff](const std::string& metric) -> const DiffRow* {
    for (const auto& r : diff.rows) {
      if (r.metric == metric) return &r;
    }
    return nullptr;
  };
  const DiffRow* orders = row("queue orders (fulfilment) p99");
  ASSERT_NE(orders, nullptr);
  EXPECT_EQ(orders->a, "9.8ms");
  EXPECT_EQ(orders->b, "12ms");
  EXPECT_TRUE(orders->regressed);
  const DiffRow* audit = row("queue audit (ledger) p99");
  ASSERT_NE(audit, nullptr);
  EXPECT_FALSE(audit->comparable);
  EXPECT_EQ(audit->b, "—");
  const DiffRow* links = row("span links found");
  ASSERT_NE(links, nullptr);
  EXPECT_EQ(links->a, "100.00%");
  EXPECT_EQ(links->b, "92.50%");
  EXPECT_FALSE(links->regressed);  // 7.5% fewer: within 10%
  // Without async edges: no such rows.
  for (const auto& r : DiffReports(SyntheticRun(), SyntheticRun(), 10).rows) {
    EXPECT_FALSE(r.metric.starts_with("queue ") || r.metric == "span links found") << r.metric;
  }
}

}  // namespace
}  // namespace tracerig
