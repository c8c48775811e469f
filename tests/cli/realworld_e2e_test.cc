// The real-world library (issue 17): every scenario in scenarios/realworld/ restates a public
// propagation bug report and says in its header which verdict tracerig must give. Each file is run
// end to end through the real binary and the embedded backend, and must give exactly that verdict:
// the exit code, the set of failing checks, and the edge where it happened named in the report.
// The header format and the matching are in verdict_header.h.
#include <algorithm>
#include <cctype>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/cli/run_tracerig.h"
#include "tests/cli/verdict_header.h"
#include "tests/cli/verdict_run.h"
#include "tests/support/scratch_dir.h"

namespace {

namespace fs = std::filesystem;
using tracerig::test_support::MakeScratchDir;
using tracerig::testing::Expectation;
using tracerig::testing::HasHop;
using tracerig::testing::HasWord;
using tracerig::testing::LibraryIn;
using tracerig::testing::ParseHeader;
using tracerig::testing::ReadText;
using tracerig::testing::RunAndExpectVerdict;
using tracerig::testing::ScenarioTestName;

const char* const kLibrary = "scenarios/realworld";

// Every scenario of the library, read now: a new file is covered without a code change.
std::vector<Expectation> Library() { return LibraryIn(kLibrary); }

std::string Name(const ::testing::TestParamInfo<Expectation>& info) {
  return ScenarioTestName(info.param);
}

class RealworldTest : public ::testing::TestWithParam<Expectation> {
 protected:
  void SetUp() override {
    dir_ = MakeScratchDir("tracerig-realworld");
    ASSERT_FALSE(dir_.empty());
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_P(RealworldTest, GivesTheVerdictItsHeaderStates) {
  RunAndExpectVerdict(kLibrary, GetParam(), dir_);
}

INSTANTIATE_TEST_SUITE_P(EveryReport, RealworldTest, ::testing::ValuesIn(Library()), Name);

// Without this, an empty or missing directory would instantiate nothing and pass silently.
TEST(RealworldLibraryTest, EveryFileCitesItsReportAndStatesItsVerdict) {
  const std::vector<Expectation> all = Library();
  ASSERT_GE(all.size(), 12u) << "scenarios/realworld/ holds too few scenarios";
  std::set<std::string> reports;
  for (const Expectation& e : all) {
    SCOPED_TRACE(e.file);
    EXPECT_TRUE(e.error.empty()) << e.error;
    if (!e.error.empty()) continue;
    reports.insert(e.report);
    const std::string text = ReadText(fs::path(TRACERIG_SOURCE_DIR) / kLibrary / e.file);
    // The named edge is one the scenario has: both ends are its services.
    for (const std::string& service : {e.caller, e.callee}) {
      if (service.empty()) continue;
      EXPECT_NE(text.find("name = \"" + service + "\""), std::string::npos)
          << "the edge names \"" << service << "\", which is not a service of the scenario";
    }
    // A fixed counterpart restates a failing scenario of the same report.
    if (e.file.ends_with("-fixed.toml")) {
      EXPECT_EQ(e.exit_code, 0) << "a -fixed scenario must pass";
      const std::string base = e.file.substr(0, e.file.size() - 11) + ".toml";
      const auto it = std::find_if(all.begin(), all.end(),
                                   [&](const Expectation& o) { return o.file == base; });
      ASSERT_NE(it, all.end()) << "no " << base << " for this fixed counterpart";
      EXPECT_EQ(it->report, e.report);
      EXPECT_EQ(it->exit_code, 1) << base << " should fail where its fix passes";
    }
  }
  // The reports issue 17 names, each restated by at least one scenario.
  for (const char* report :
       {"envoyproxy/envoy#47515", "spring-attic/spring-cloud-sleuth#2001",
        "apollographql/router#2473", "Azure/azure-sdk-for-net#18992",
        "open-telemetry/opentelemetry-cpp#3725", "openzipkin/brave#661",
        "jaegertracing/jaeger-client-java#720", "open-telemetry/opentelemetry-dotnet#1840"}) {
    EXPECT_TRUE(reports.contains(report)) << "no scenario restates " << report;
  }
}

// The header parser itself: what a malformed header is told.
TEST(RealworldLibraryTest, HeaderParserNamesWhatIsWrong) {
  struct Row {
    std::string text;
    std::string error;  // a fragment of it; empty = well formed
  };
  const std::vector<Row> rows = {
      {"# report: a/b#1 t\n# expect: exit=0\n[scenario]\n", ""},
      {"# report: a/b#1 t\n# expect: exit=1 checks=completeness edge=x->y hop=0.0\n", ""},
      {"# expect: exit=0\n", "no `# report:"},
      {"# report: a/b t\n# expect: exit=0\n", "malformed report line"},
      {"# report: a/b#1\n", "no `# expect:` line"},
      {"# report: a/b#1\n# expect: exit=2\n", "exit must be 0 or 1"},
      {"# report: a/b#1\n# expect: exit=1 checks=completeness\n", "exit=1 needs checks= and edge="},
      {"# report: a/b#1\n# expect: exit=1 edge=x->y\n", "exit=1 needs checks= and edge="},
      {"# report: a/b#1\n# expect: exit=0 checks=completeness\n", "exit=0 takes no"},
      {"# report: a/b#1\n# expect: exit=1 checks=a,a edge=x->y\n", "repeated check name"},
      {"# report: a/b#1\n# expect: exit=1 checks=a edge=x-y\n", "edge must be caller->callee"},
      {"# report: a/b#1\n# expect: exit=1 checks=a edge=x->y hop=0.x\n", "hop must look like"},
      // Async hops: a redelivery and the dead-letter delivery of the publish at 0.0.
      {"# report: a/b#1\n# expect: exit=1 checks=a edge=x->y hop=0.0d2\n", ""},
      {"# report: a/b#1\n# expect: exit=1 checks=a edge=x->y hop=0.0q\n", ""},
      {"# report: a/b#1\n# expect: exit=1 checks=a edge=x->y hop=0.0q1\n", "hop must look like"},
      {"# report: a/b#1\n# expect: exit=0 verdict=pass\n", "unknown expect key \"verdict\""},
      {"# report: a/b#1\n# expect: exit=0\n# expect: exit=0\n", "more than one `# expect:`"},
      // The header ends at the first line that is not a comment.
      {"# report: a/b#1\n[scenario]\n# expect: exit=0\n", "no `# expect:` line"},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(row.text);
    const Expectation e = ParseHeader("x.toml", row.text);
    if (row.error.empty()) {
      EXPECT_EQ(e.error, "");
    } else {
      EXPECT_NE(e.error.find(row.error), std::string::npos) << e.error;
    }
  }
  const Expectation e =
      ParseHeader("x.toml", "# report: o/r#7 \"t\"\n# expect: exit=1 checks=b,a edge=p->q hop=0.1\n");
  EXPECT_EQ(e.report, "o/r#7");
  EXPECT_EQ(e.exit_code, 1);
  EXPECT_EQ(e.failed_checks, (std::set<std::string>{"a", "b"}));
  EXPECT_EQ(e.caller, "p");
  EXPECT_EQ(e.callee, "q");
  EXPECT_EQ(e.hop, "0.1");
}

// How the verdict's text is matched against the named edge.
TEST(RealworldLibraryTest, EdgeMatchingNeedsWholeNamesAndTheHop) {
  EXPECT_TRUE(HasWord("orders sent sampled=0 to inventory.", "inventory"));
  EXPECT_TRUE(HasWord("checkout -> payment (hop 0.0.0)", "checkout"));
  EXPECT_FALSE(HasWord("orders-db received", "orders"));
  EXPECT_FALSE(HasWord("myorders received", "orders"));
  EXPECT_TRUE(HasHop("at hop 0.0.0: 40 traces", "0.0.0"));
  EXPECT_TRUE(HasHop("(hop 0.0r1)", "0.0"));
  EXPECT_TRUE(HasHop("at hop 0.0.", "0.0"));
  EXPECT_FALSE(HasHop("at hop 0.0.0", "0.0"));
  EXPECT_FALSE(HasHop("at hop 0.01", "0.0"));
}

}  // namespace
