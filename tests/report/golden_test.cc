// Golden-file tests: tests/report/golden/report.{json,xml,md,html} are exactly what
// ReportToJson, RenderJUnit, RenderMarkdown and RenderHtmlReport make of SyntheticRun() (fixed
// times and ids, so even the timestamps in them are stable). After an intended change to a
// renderer or to SyntheticRun(), regenerate them:
//   TRACERIG_UPDATE_GOLDEN=1 build/tests/report/report_golden_test
// That run writes the files and fails, saying so; review the diff like code, then run the test
// again without the variable. An update is always a deliberate second run, never a silent pass.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <set>
#include <string>

#include "report/html.h"
#include "report/junit.h"
#include "report/markdown.h"
#include "report/render.h"
#include "synthetic_report.h"
#include "tests/support/fixtures.h"

namespace tracerig {
namespace {

// With TRACERIG_UPDATE_GOLDEN=1 the golden file is rewritten and the test fails, so that accepting
// new output takes a second run without the variable.
void ExpectGolden(const std::string& name, const std::string& actual) {
  const std::string path = test_support::RepoPath("tests/report/golden/" + name);
  const char* update = std::getenv("TRACERIG_UPDATE_GOLDEN");
  if (update != nullptr && std::string(update) == "1") {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << actual;
    ASSERT_TRUE(out.good()) << "cannot write " << path;
    FAIL() << "rewrote " << path << " because TRACERIG_UPDATE_GOLDEN=1: review the diff, then "
           << "rerun without TRACERIG_UPDATE_GOLDEN (this run cannot pass)";
  }
  const auto golden = test_support::ReadTestFile(path);
  ASSERT_TRUE(golden.has_value()) << path
                                  << " is missing; run with TRACERIG_UPDATE_GOLDEN=1 to create it";
  EXPECT_EQ(actual, *golden)
      << name << " differs from the golden file; if the change is intended, run this test with "
      << "TRACERIG_UPDATE_GOLDEN=1 and review the diff";
}

TEST(GoldenTest, Json) { ExpectGolden("report.json", ReportToJson(SyntheticRun()).dump(2) + "\n"); }

TEST(GoldenTest, JUnit) { ExpectGolden("report.xml", RenderJUnit(SyntheticRun())); }

TEST(GoldenTest, Markdown) { ExpectGolden("report.md", RenderMarkdown(SyntheticRun())); }

TEST(GoldenTest, Html) { ExpectGolden("report.html", RenderHtmlReport(SyntheticRun())); }

TEST(GoldenTest, RenderingIsDeterministic) {
  EXPECT_EQ(RenderHtmlReport(SyntheticRun()), RenderHtmlReport(SyntheticRun()));
  EXPECT_EQ(RenderJUnit(SyntheticRun()), RenderJUnit(SyntheticRun()));
  EXPECT_EQ(RenderMarkdown(SyntheticRun()), RenderMarkdown(SyntheticRun()));
  EXPECT_EQ(ReportToJson(SyntheticRun()).dump(), ReportToJson(SyntheticRun()).dump());
}

void CollectKeys(const nlohmann::ordered_json& j, std::set<std::string>& keys) {
  if (j.is_object()) {
    for (const auto& [key, value] : j.items()) {
      keys.insert(key);
      CollectKeys(value, keys);
    }
  } else if (j.is_array()) {
    for (const auto& value : j) CollectKeys(value, keys);
  }
}

// docs/REPORT.md documents the schema field by field: every key ReportToJson writes, with and
// without a verification section, must appear there in backticks.
TEST(GoldenTest, EveryJsonFieldIsDocumented) {
  const auto doc_file = test_support::ReadRepoFile("docs/REPORT.md");
  ASSERT_TRUE(doc_file.has_value());
  const std::string& doc = *doc_file;
  ASSERT_FALSE(doc.empty()) << "docs/REPORT.md is empty";
  std::set<std::string> keys;
  CollectKeys(ReportToJson(SyntheticRun()), keys);
  RunReport unverified = SyntheticRun();
  unverified.verification.reset();
  unverified.verification_skipped = true;
  CollectKeys(ReportToJson(unverified), keys);
  // Arrays the synthetic run leaves empty: a served backend graph's edges and sampling verdicts.
  RunReport full = SyntheticRun();
  full.verification->backend_graph = SyntheticBackendGraph("missing-and-unexpected");
  full.verification->sampling = {
      {"checkout", "ratio(0.25)", 240, 52, 52.0 / 240, 0.25, 0.17, 0.27, 0.99, "pass", 0, {}, ""}};
  CollectKeys(ReportToJson(full), keys);
  EXPECT_GT(keys.size(), 50u);
  for (const auto& key : keys) {
    EXPECT_NE(doc.find("`" + key + "`"), std::string::npos)
        << "docs/REPORT.md does not document the JSON field \"" << key << "\"";
  }
}

}  // namespace
}  // namespace tracerig
