// --fail-on: parsing (table-driven, with the exact error texts) and how Judge and the renderers
// treat a failed check whose kind is not in the set: a warning that keeps the exit code.
#include <gtest/gtest.h>

#include <string>

#include "mini_xml.h"
#include "report/junit.h"
#include "report/markdown.h"
#include "report/render.h"
#include "report/run_report.h"
#include "synthetic_report.h"

namespace tracerig {
namespace {

struct ParseCase {
  const char* input;
  const char* formatted;  // FormatFailOn of the result, or nullptr for an error
  const char* error;      // exact message when formatted is nullptr
};

TEST(FailOnTest, ParsesKindListsAndExplainsMistakes) {
  const ParseCase cases[] = {
      {"all", "all", nullptr},
      {"none", "none", nullptr},
      {" all ", "all", nullptr},
      {"completeness", "completeness", nullptr},
      {"broken-propagation,completeness", "completeness,broken-propagation", nullptr},
      {"completeness, sampling", "completeness,sampling", nullptr},
      {"completeness,completeness", "completeness", nullptr},
      {"completeness,broken-propagation,spans-exported,trace-structure,orphans,"
       "verification-deadline,sampling,time-to-queryable,backend-graph",
       "all", nullptr},
      {"completeness,broken-propagation,spans-exported,trace-structure,verification-deadline,"
       "sampling",
       "completeness,broken-propagation,spans-exported,trace-structure,verification-deadline,"
       "sampling",
       nullptr},
      {"time-to-queryable,backend-graph", "time-to-queryable,backend-graph", nullptr},
      {"completness", nullptr,
       "--fail-on: unknown check kind \"completness\" (did you mean \"completeness\"?); kinds: "
       "completeness, broken-propagation, spans-exported, trace-structure, orphans, "
       "verification-deadline, sampling, time-to-queryable, backend-graph (or all, none)"},
      {"samplin,broken", nullptr,
       "--fail-on: unknown check kind \"samplin\" (did you mean \"sampling\"?); kinds: "
       "completeness, broken-propagation, spans-exported, trace-structure, orphans, "
       "verification-deadline, sampling, time-to-queryable, backend-graph (or all, none)"},
      {"latency", nullptr,
       "--fail-on: unknown check kind \"latency\"; kinds: completeness, broken-propagation, "
       "spans-exported, trace-structure, orphans, verification-deadline, sampling, time-to-queryable, "
       "backend-graph (or all, none)"},
      {"completeness,", nullptr, "--fail-on \"completeness,\": an empty check kind between commas"},
      {"", nullptr,
       "--fail-on: give check kinds, \"all\" or \"none\"; kinds: completeness, "
       "broken-propagation, spans-exported, trace-structure, orphans, verification-deadline, sampling, "
       "time-to-queryable, backend-graph"},
      {"ALL", nullptr,
       "--fail-on: unknown check kind \"ALL\"; kinds: completeness, broken-propagation, "
       "spans-exported, trace-structure, orphans, verification-deadline, sampling, time-to-queryable, "
       "backend-graph (or all, none)"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.input);
    auto parsed = ParseFailOn(c.input);
    if (c.formatted != nullptr) {
      ASSERT_TRUE(parsed.ok()) << parsed.error().message;
      EXPECT_EQ(FormatFailOn(*parsed), c.formatted);
      auto again = ParseFailOn(FormatFailOn(*parsed));  // what the JSON report stores reads back
      ASSERT_TRUE(again.ok());
      EXPECT_EQ(*again, *parsed);
    } else {
      ASSERT_FALSE(parsed.ok());
      EXPECT_EQ(parsed.error().message, c.error);
    }
  }
}

TEST(FailOnTest, ViolationChecksAreTraceStructure) {
  EXPECT_EQ(CheckKind("violation:orphan"), "trace-structure");
  EXPECT_EQ(CheckKind("trace-structure"), "trace-structure");
  EXPECT_EQ(CheckKind("completeness"), "completeness");
  FailOn only_structure = *ParseFailOn("trace-structure");
  EXPECT_TRUE(only_structure.Enforces("violation:clock-skew"));
  EXPECT_FALSE(only_structure.Enforces("completeness"));
}

TEST(FailOnTest, OrphanChecksAreTheirOwnKind) {
  EXPECT_EQ(CheckKind("orphans:checkout->recommender"), "orphans");
  EXPECT_EQ(CheckKind("orphans:tracerig-driver->checkout->payment"), "orphans");
  FailOn only_orphans = *ParseFailOn("orphans");
  EXPECT_TRUE(only_orphans.Enforces("orphans:checkout->recommender"));
  EXPECT_FALSE(only_orphans.Enforces("violation:orphan"));  // structural orphans stay apart
  EXPECT_FALSE(ParseFailOn("trace-structure")->Enforces("orphans:checkout->recommender"));
}

// Subtrees below a sampled-out parent fail by default, one check per cause, and only warn when
// --fail-on leaves "orphans" out.
TEST(FailOnTest, OrphanCausesFailByDefaultAndWarnOutsideTheSet) {
  RunReport r;
  r.load.sent = r.load.ok = 500;
  VerificationSummary v;
  v.checked = v.complete = 500;
  OrphanCause sampled_out{"recommender", "always", "checkout", "ratio(0.25)", "checkout", 113, 4,
                          TraceId{0, 0x2a}};
  OrphanCause by_driver{"payment", "always", "tracerig-driver", "sampled=0", "checkout", 7, 9,
                        TraceId{}};
  v.orphan_causes = {sampled_out, by_driver};
  r.verification = v;
  Judge(r);
  EXPECT_EQ(r.exit_code, kExitConformanceFailure);
  std::vector<const CheckResult*> orphans;
  for (const CheckResult& c : r.checks) {
    if (CheckKind(c.name) == "orphans") orphans.push_back(&c);
  }
  ASSERT_EQ(orphans.size(), 2u);
  EXPECT_EQ(r.checks[3].name, "trace-structure");
  EXPECT_TRUE(r.checks[3].passed);
  EXPECT_EQ(r.checks[3].message,
            "no structural orphans, multiple roots, duplicate span ids, wrong parents, wrong "
            "kinds, unexpected spans or clock skew");
  EXPECT_EQ(orphans[0]->name, "orphans:checkout->recommender");
  EXPECT_FALSE(orphans[0]->passed);
  EXPECT_TRUE(orphans[0]->enforced);
  EXPECT_EQ(orphans[0]->message,
            "recommender samples \"always\" below checkout's \"ratio(0.25)\": 113 traces hold "
            "a subtree whose parent checkout CLIENT span was not recorded; e.g. trace "
            "0000000000000000000000000000002a");
  EXPECT_EQ(orphans[1]->name, "orphans:tracerig-driver->checkout->payment");
  EXPECT_EQ(orphans[1]->message,
            "payment samples \"always\" below tracerig-driver's \"sampled=0\": 7 traces hold a "
            "subtree whose parent checkout CLIENT span was not recorded");
  EXPECT_EQ(r.verdict,
            "FAIL: 2 checks failed; orphans:checkout->recommender: recommender samples "
            "\"always\" below checkout's \"ratio(0.25)\": 113 traces hold a subtree whose parent "
            "checkout CLIENT span was not recorded; e.g. trace "
            "0000000000000000000000000000002a");

  r.fail_on = *ParseFailOn("completeness,broken-propagation,spans-exported,trace-structure");
  Judge(r);
  EXPECT_EQ(r.exit_code, kExitPass);
  EXPECT_EQ(r.verdict,
            "PASS: 500 of 500 traces complete (2 warnings not in --fail-on: "
            "orphans:checkout->recommender, orphans:tracerig-driver->checkout->payment)");
}

TEST(FailOnTest, DefaultEnforcesEverything) {
  RunReport r = SyntheticRun();
  EXPECT_EQ(r.exit_code, kExitConformanceFailure);
  for (const auto& c : r.checks) EXPECT_TRUE(c.enforced) << c.name;
}

// The synthetic run fails broken-propagation and spans-exported.
TEST(FailOnTest, ChecksOutsideTheSetAreWarningsThatKeepExitZero) {
  RunReport r = SyntheticRun();
  r.fail_on = *ParseFailOn("completeness,trace-structure");
  Judge(r);
  EXPECT_EQ(r.exit_code, kExitPass);
  EXPECT_EQ(r.verdict,
            "PASS: 240 of 250 traces complete (2 warnings not in --fail-on: broken-propagation, "
            "spans-exported)");
  ASSERT_EQ(r.checks.size(), 4u);
  EXPECT_FALSE(r.checks[1].passed);
  EXPECT_FALSE(r.checks[1].enforced);
  EXPECT_TRUE(r.checks[0].enforced);

  EXPECT_NE(RenderTerminalSummary(r).find("[warn] broken-propagation:"), std::string::npos);
  const std::string md = RenderMarkdown(r);
  EXPECT_NE(md.find("| broken-propagation | ⚠️ warn |"), std::string::npos) << md;
  EXPECT_EQ(md.find("❌"), std::string::npos) << md;
  const auto json = ReportToJson(r);
  EXPECT_EQ(json["fail_on"], "completeness,trace-structure");
  EXPECT_EQ(json["checks"][1]["enforced"], false);
  EXPECT_EQ(json["verdict"]["exit_code"], 0);
}

TEST(FailOnTest, JUnitShowsWarningsAsPassingCasesWithOutput) {
  RunReport r = SyntheticRun();
  r.fail_on = *ParseFailOn("completeness");
  Judge(r);
  auto root = testing::MiniXmlParser(RenderJUnit(r)).Parse();
  ASSERT_TRUE(root.ok()) << root.error().message;
  ASSERT_EQ(root->children.size(), 1u);
  const testing::XmlElement& suite = root->children[0];
  EXPECT_EQ(*suite.Attribute("failures"), "0");
  size_t warnings = 0;
  for (const auto& tc : suite.children) {
    if (tc.name != "testcase") continue;
    for (const auto& child : tc.children) {
      EXPECT_NE(child.name, "failure") << *tc.Attribute("name");
      if (child.name == "system-out") {
        ++warnings;
        EXPECT_EQ(child.text.rfind("warning (not in --fail-on): ", 0), 0u) << child.text;
      }
    }
  }
  EXPECT_EQ(warnings, 2u);
}

TEST(FailOnTest, EnforcedFailuresStillFailWhileOthersWarn) {
  RunReport r = SyntheticRun();
  r.fail_on = *ParseFailOn("spans-exported");
  Judge(r);
  EXPECT_EQ(r.exit_code, kExitConformanceFailure);
  EXPECT_EQ(r.verdict,
            "FAIL: 1 check failed; spans-exported: 1738 spans exported, 12 dropped (queue full), 0 "
            "dropped (export failed)");
}

TEST(FailOnTest, NoneNeverFailsOnChecksButInfrastructureStillErrors) {
  RunReport r = SyntheticRun();
  r.fail_on = *ParseFailOn("none");
  Judge(r);
  EXPECT_EQ(r.exit_code, kExitPass);
  r.verification_error = "backend unreachable: connection refused";
  Judge(r);
  EXPECT_EQ(r.exit_code, kExitInfrastructure);
}

}  // namespace
}  // namespace tracerig
