// RenderMarkdown: escaping of table cells, failing checks first, and what each kind of run shows.
#include "report/markdown.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "synthetic_report.h"

namespace tracerig {
namespace {

struct EscapeCase {
  std::string input;
  std::string escaped;
};

TEST(MarkdownEscapeTest, Table) {
  const std::vector<EscapeCase> cases = {
      {"plain text", "plain text"},
      {"", ""},
      {"a|b", "a\\|b"},
      {"checkout -> payment", "checkout -> payment"},
      {"*bold* _em_", "\\*bold\\* \\_em\\_"},
      {"`code`", "\\`code\\`"},
      {"[link](x)", "\\[link\\](x)"},
      {"back\\slash", "back\\\\slash"},
      {"<script>", "&lt;script>"},
      {"a & b", "a &amp; b"},
      {"two\nlines\r\tand tab", "two lines  and tab"},
      {"nul\x01", "nul "},
      {"caf\xC3\xA9 \xE2\x86\x92", "caf\xC3\xA9 \xE2\x86\x92"},
  };
  for (const auto& c : cases) EXPECT_EQ(EscapeMarkdown(c.input), c.escaped) << c.input;
}

// The lines of the table that follows `heading`, header and separator excluded.
std::vector<std::string> TableRows(const std::string& md, const std::string& heading) {
  std::vector<std::string> rows;
  size_t at = md.find(heading);
  if (at == std::string::npos) return rows;
  at = md.find("\n|", at);
  if (at == std::string::npos) return rows;
  ++at;
  int line = 0;
  while (at < md.size() && md[at] == '|') {
    size_t end = md.find('\n', at);
    if (line++ >= 2) rows.push_back(md.substr(at, end - at));
    at = end + 1;
  }
  return rows;
}

TEST(MarkdownTest, FailingChecksComeFirst) {
  const std::string md = RenderMarkdown(SyntheticRun());
  EXPECT_EQ(md.rfind("## ❌ tracerig · shop — FAIL: 2 checks failed; ", 0), 0u) << md;
  const auto rows = TableRows(md, "### Checks");
  ASSERT_EQ(rows.size(), 4u) << md;
  EXPECT_EQ(rows[0].rfind("| broken-propagation | ❌ fail | 7 traces", 0), 0u) << rows[0];
  EXPECT_EQ(rows[1].rfind("| spans-exported | ❌ fail | 1738 spans exported, 12 dropped", 0), 0u)
      << rows[1];
  EXPECT_EQ(rows[2].rfind("| completeness | ✅ pass |", 0), 0u) << rows[2];
  EXPECT_EQ(rows[3].rfind("| trace-structure | ✅ pass |", 0), 0u) << rows[3];
}

TEST(MarkdownTest, TablesKeepTheirColumnsWhateverTheText) {
  RunReport r = SyntheticRun();
  r.verification->examples[0].explanation = "a | b\n| c";
  const std::string md = RenderMarkdown(r);
  // Every table row has as many unescaped pipes as its header.
  size_t at = 0;
  size_t columns = 0;
  while (at < md.size()) {
    size_t end = md.find('\n', at);
    if (end == std::string::npos) end = md.size();
    const std::string line = md.substr(at, end - at);
    size_t pipes = 0;
    for (size_t i = 0; i < line.size(); ++i)
      pipes += line[i] == '|' && (i == 0 || line[i - 1] != '\\');
    if (line.empty() || line[0] != '|') {
      columns = 0;
    } else if (columns == 0) {
      columns = pipes;
    } else {
      EXPECT_EQ(pipes, columns) << line;
    }
    at = end + 1;
  }
  EXPECT_NE(md.find("a \\| b \\| c"), std::string::npos) << md;
}

TEST(MarkdownTest, ShowsLoadLatencyBreaksAndAtMostFiveExamples) {
  const RunReport r = SyntheticRun();
  const std::string md = RenderMarkdown(r);
  EXPECT_EQ(TableRows(md, "### Load"),
            std::vector<std::string>{"| 250 | 247 | 2 | 1 | 0 | 5.012s | 50/s for 5s |"});
  // The latency table follows the load table under the same heading.
  const size_t corrected = md.find("\n| corrected (from intended start) | ");
  ASSERT_NE(corrected, std::string::npos) << md;
  const std::string row = md.substr(corrected + 1, md.find('\n', corrected + 1) - corrected - 1);
  EXPECT_NE(row.find("| 13ms | 250 |"), std::string::npos) << row;  // max, samples
  EXPECT_NE(md.find("\n| uncorrected (from actual send) | "), std::string::npos) << md;
  EXPECT_EQ(TableRows(md, "### Propagation breaks"),
            (std::vector<std::string>{"| checkout → payment | `0.1.0` | 6 |",
                                      "| frontend → checkout | `0.1` | 1 |"}));
  const auto examples = TableRows(md, "### Example traces (5 of 10 not complete)");
  ASSERT_EQ(examples.size(), 5u) << md;
  EXPECT_EQ(examples[1],
            "| incomplete | `0af7651916cd43dd8448eb211c800011` | `5eed000000000011` | 1 expected "
            "span missing: SERVER span of fraud\\|check &lt;beta> &amp; \"co\" at hop 0.1.0.0 |");
  EXPECT_NE(md.find("<details><summary>Run details</summary>"), std::string::npos);
  EXPECT_NE(md.find("| Seed | 42 |"), std::string::npos);
  EXPECT_NE(md.find("| fraud\\|check &lt;beta> &amp; \"co\" | http://127.0.0.1:40004 |"),
            std::string::npos);
}

TEST(MarkdownTest, TimeToQueryableHasALateSpansTable) {
  const std::string md = RenderMarkdown(SyntheticRun());
  EXPECT_EQ(TableRows(md, "### Time to queryable"),
            std::vector<std::string>{"| 240 | 200 | 1.2s | 2.1s | 3.4s | 3.9s | ± 100ms |"});
  EXPECT_EQ(
      TableRows(md, "#### Late spans (12 traces complete only after their first poll, above 1s)"),
      (std::vector<std::string>{
          "| `0.1.0.0` | payment → fraud\\|check &lt;beta> &amp; \"co\" | SERVER | 9 | 3.9s |",
          "| `0.1.0` | checkout → payment | CLIENT | 3 | 2.5s |"}))
      << md;
  // Before the example traces, after the verification counts.
  EXPECT_LT(md.find("### Verification"), md.find("### Time to queryable"));
  EXPECT_LT(md.find("### Time to queryable"), md.find("### Example traces"));

  RunReport none = SyntheticRun();
  none.verification->time_to_queryable = TimeToQueryable{};
  const std::string without = RenderMarkdown(none);
  EXPECT_EQ(without.find("### Time to queryable"), std::string::npos);
  EXPECT_EQ(without.find("Late spans"), std::string::npos);

  RunReport on_time = SyntheticRun();
  on_time.verification->time_to_queryable.late_hops.clear();
  const std::string no_late = RenderMarkdown(on_time);
  EXPECT_NE(no_late.find("### Time to queryable"), std::string::npos);
  EXPECT_EQ(no_late.find("Late spans"), std::string::npos);
}

TEST(MarkdownTest, BackendDependencyListInEachState) {
  RunReport r = SyntheticRun();
  r.verification->backend_graph = SyntheticBackendGraph("missing-and-unexpected");
  Judge(r);
  std::string md = RenderMarkdown(r);
  EXPECT_NE(md.find("### Backend dependency list\n\n3 of 4 expected edges listed by the backend, "
                    "1 unexpected.\n"),
            std::string::npos)
      << md;
  EXPECT_EQ(TableRows(md, "### Backend dependency list"),
            (std::vector<std::string>{"| checkout → payment | ❌ missing | 0 |",
                                      "| checkout → warehouse | ⚠️ unexpected | 31 |"}));

  r.verification->backend_graph = SyntheticBackendGraph("clean");
  md = RenderMarkdown(r);
  const size_t at = md.find("### Backend dependency list\n\n4 of 4 expected edges listed by the "
                            "backend, 0 unexpected.\n\n###");
  EXPECT_NE(at, std::string::npos) << md;  // no table: nothing to list

  r.verification->backend_graph = SyntheticBackendGraph("fetch-error");
  md = RenderMarkdown(r);
  EXPECT_NE(md.find("### Backend dependency list\n\nNot compared: GET /api/dependencies: HTTP 503 "
                    "from 127.0.0.1:16686.\n"),
            std::string::npos)
      << md;

  md = RenderMarkdown(SyntheticRun());  // not served
  EXPECT_NE(md.find("### Backend dependency list\n\nNot compared: not served by this backend.\n"),
            std::string::npos)
      << md;

  r.verification->backend_graph.reset();
  md = RenderMarkdown(r);
  EXPECT_EQ(md.find("### Backend dependency list"), std::string::npos);
}

TEST(MarkdownTest, PassingRunHasAGreenTitle) {
  RunReport r = SyntheticRun();
  r.verification->complete = 250;
  r.verification->incomplete = r.verification->broken = r.verification->missing = 0;
  r.verification->break_edges.clear();
  r.verification->examples.clear();
  r.exporter.dropped_queue_full = 0;
  Judge(r);
  const std::string md = RenderMarkdown(r);
  EXPECT_EQ(md.rfind("## ✅ tracerig · shop — PASS: 250 of 250 traces complete\n", 0), 0u) << md;
  EXPECT_EQ(md.find("### Propagation breaks"), std::string::npos);
  EXPECT_EQ(md.find("### Example traces"), std::string::npos);
}

TEST(MarkdownTest, InfrastructureErrorsAndSkippedVerification) {
  RunReport down = SyntheticRun();
  down.verification.reset();
  down.verification_error = "backend unreachable: cannot connect to 127.0.0.1:1";
  Judge(down);
  std::string md = RenderMarkdown(down);
  EXPECT_EQ(md.rfind("## ❌ tracerig · shop — ERROR: backend unreachable", 0), 0u) << md;
  EXPECT_EQ(TableRows(md, "### Checks"),
            std::vector<std::string>{"| verification | ⚠️ error | backend unreachable: cannot "
                                     "connect to 127.0.0.1:1 |"});
  EXPECT_NE(md.find("Verification failed: backend unreachable"), std::string::npos);

  RunReport skipped = SyntheticRun();
  skipped.verification.reset();
  skipped.verification_skipped = true;
  Judge(skipped);
  md = RenderMarkdown(skipped);
  EXPECT_EQ(md.rfind("## ✅ tracerig · shop — DONE: verification skipped", 0), 0u) << md;
  EXPECT_EQ(TableRows(md, "### Checks"),
            std::vector<std::string>{
                "| verification | ⏭️ skipped | DONE: verification skipped (--no-verify) |"});
  EXPECT_NE(md.find("Skipped (`--no-verify`)."), std::string::npos);

  RunReport empty;
  Judge(empty);
  md = RenderMarkdown(empty);
  EXPECT_NE(md.find("| — | — | — | — | 0 |"), std::string::npos) << md;  // no latency samples
}

TEST(MarkdownTest, TransportErrorsHaveATableOfTheirKinds) {
  RunReport r = SyntheticRun();
  r.load.ok = 0;
  r.load.http_errors = 0;
  r.load.transport_errors = 250;
  r.load.transport_error_reasons = {{"connection refused", 240, "connect: Connection refused"},
                                    {"protocol error", 10, "bad | status line"}};
  Judge(r);
  const std::string md = RenderMarkdown(r);
  EXPECT_NE(md.find("| run | ⚠️ error | ERROR: 250 of 250 requests failed at the transport level "
                    "(240 connection refused: connect: Connection refused; 10 protocol error: bad "
                    "\\| status line); the topology did not serve the load |"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("| Transport error | Requests | First message |\n|---|---:|---|\n"
                    "| connection refused | 240 | connect: Connection refused |\n"
                    "| protocol error | 10 | bad \\| status line |\n"),
            std::string::npos)
      << md;
}

// A verify-only run measured no load: the ledger's requests and outcomes, "not measured" for the
// rest, and no zero rate, latency or span figure that would read as measured.
TEST(MarkdownTest, AVerifyOnlyRunShowsTheLedgerAndNoLoadFigures) {
  const std::string md = RenderMarkdown(SyntheticVerifyRun());
  EXPECT_EQ(TableRows(md, "### Load"), std::vector<std::string>{"| 250 | 247 | 2 | 1 |"}) << md;
  EXPECT_NE(md.find("| Requests in the ledger | OK | HTTP errors | Transport errors |"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("### Load\n\nNot measured (verify only): the requests were sent by an "
                    "earlier run."),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("### Spans\n\nNot measured (verify only): the spans were exported by the run "
                    "that wrote the ledger.\n"),
            std::string::npos)
      << md;
  for (const char* absent : {"0/s", "| Latency |", "corrected (from intended start)",
                             "uncorrected (from actual send)", "| Exported |", "| Target |",
                             "| Elapsed |", "✅ pass | not known"}) {
    EXPECT_EQ(md.find(absent), std::string::npos) << absent << "\n" << md;
  }
  EXPECT_NE(md.find("| spans-exported | ⏭️ not measured | not known: the spans were exported by "
                    "the run that wrote the ledger |"),
            std::string::npos)
      << md;
  // What verification measured is all there.
  EXPECT_NE(md.find("### Propagation breaks"), std::string::npos);
  EXPECT_NE(md.find("### Time to queryable"), std::string::npos);
}

}  // namespace
}  // namespace tracerig
