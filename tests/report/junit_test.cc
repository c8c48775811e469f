// RenderJUnit: escaping, well-formedness and consistent counts over every kind of run (passing,
// failing, infrastructure errors, nothing verified, hostile names), and, when xmllint is installed,
// validation against tests/report/junit.xsd (the common JUnit format CI systems read).
#include "report/junit.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "mini_xml.h"
#include "synthetic_report.h"
#include "tests/support/fixtures.h"
#include "tests/support/scratch_dir.h"

namespace tracerig {
namespace {

using testing::MiniXmlParser;
using testing::XmlElement;

const std::string kFffd = "\xEF\xBF\xBD";

struct EscapeCase {
  std::string input;
  std::string text;       // EscapeXmlText
  std::string attribute;  // EscapeXmlAttribute
};

TEST(JUnitEscapeTest, Table) {
  const std::vector<EscapeCase> cases = {
      {"plain", "plain", "plain"},
      {"", "", ""},
      {"a & b", "a &amp; b", "a &amp; b"},
      {"<tag>", "&lt;tag&gt;", "&lt;tag&gt;"},
      {"say \"hi\"", "say \"hi\"", "say &quot;hi&quot;"},
      {"it's", "it's", "it&apos;s"},
      {"a\tb\nc", "a\tb\nc", "a&#9;b&#10;c"},
      {"a\r\nb", "a&#13;\nb", "a&#13;&#10;b"},
      {std::string("nul\0here", 8), "nul" + kFffd + "here", "nul" + kFffd + "here"},
      {"bell\x07 esc\x1b", "bell" + kFffd + " esc" + kFffd, "bell" + kFffd + " esc" + kFffd},
      {"del\x7f", "del\x7f", "del\x7f"},  // allowed by XML 1.0
      {"caf\xC3\xA9 \xE2\x86\x92 \xF0\x9F\x94\xA5", "caf\xC3\xA9 \xE2\x86\x92 \xF0\x9F\x94\xA5",
       "caf\xC3\xA9 \xE2\x86\x92 \xF0\x9F\x94\xA5"},
      {"bad \xff byte", "bad " + kFffd + " byte", "bad " + kFffd + " byte"},
      {"truncated \xE2\x86", "truncated " + kFffd + kFffd, "truncated " + kFffd + kFffd},
      {"overlong \xC0\xAF", "overlong " + kFffd + kFffd, "overlong " + kFffd + kFffd},
      {"surrogate \xED\xA0\x80", "surrogate " + kFffd + kFffd + kFffd,
       "surrogate " + kFffd + kFffd + kFffd},
      {"nonchar \xEF\xBF\xBF", "nonchar " + kFffd, "nonchar " + kFffd},
      {"]]>", "]]&gt;", "]]&gt;"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(EscapeXmlText(c.input), c.text) << "input: " << c.input;
    EXPECT_EQ(EscapeXmlAttribute(c.input), c.attribute) << "input: " << c.input;
  }
}

struct Variant {
  std::string name;
  RunReport report;
  // Expected test cases, in order, as "name:outcome" with outcome pass/failure/error/skipped.
  std::vector<std::string> cases;
};

std::vector<Variant> Variants() {
  std::vector<Variant> v;
  v.push_back({"failing",
               SyntheticRun(),
               {"completeness:pass", "broken-propagation:failure", "spans-exported:failure",
                "trace-structure:pass"}});

  RunReport pass = SyntheticRun();
  pass.verification->complete = 250;
  pass.verification->incomplete = pass.verification->broken = pass.verification->missing = 0;
  pass.verification->break_edges.clear();
  pass.verification->examples.clear();
  pass.exporter.dropped_queue_full = 0;
  Judge(pass);
  v.push_back(
      {"passing",
       pass,
       {"completeness:pass", "broken-propagation:pass", "spans-exported:pass",
        "trace-structure:pass"}});

  RunReport deadline = SyntheticRun();
  deadline.verification->deadline_hit = true;
  Judge(deadline);
  v.push_back({"deadline",
               deadline,
               {"completeness:pass", "broken-propagation:failure", "spans-exported:failure",
                "trace-structure:pass", "verification-deadline:failure"}});

  RunReport backend_down = SyntheticRun();
  backend_down.verification.reset();
  backend_down.verification_error = "backend unreachable: cannot connect to 127.0.0.1:1";
  Judge(backend_down);
  v.push_back({"backend-down", backend_down, {"verification:error"}});

  RunReport no_topology = SyntheticRun();
  no_topology.load.ok = 0;
  no_topology.load.transport_errors = 250;
  no_topology.load.transport_error_reasons = {{"connection refused", 250,
                                               "connect: Connection refused"}};
  Judge(no_topology);
  v.push_back({"no-topology", no_topology, {"run:error"}});

  RunReport no_verify = SyntheticRun();
  no_verify.verification.reset();
  no_verify.verification_skipped = true;
  Judge(no_verify);
  v.push_back({"no-verify", no_verify, {"verification:skipped"}});

  RunReport nothing_sampled = SyntheticRun();
  nothing_sampled.verification = VerificationSummary{};
  Judge(nothing_sampled);
  v.push_back({"nothing-sampled", nothing_sampled, {"verification:skipped"}});

  // A verify-only run: the export check was judged over load figures it never took.
  v.push_back({"verify-only",
               SyntheticVerifyRun(),
               {"completeness:pass", "broken-propagation:failure", "spans-exported:skipped",
                "trace-structure:pass"}});

  RunReport hostile = SyntheticRun();
  hostile.scenario_name = "a\"<&>' b\t\n\r\x01\xff";
  hostile.backend = "]]> & <!-- -->";
  hostile.verification->examples[0].explanation = "</failure><oops attr=\"x\">&bogus;";
  hostile.verification->break_edges[0].callee = "pay<ment>";
  Judge(hostile);
  v.push_back({"hostile",
               hostile,
               {"completeness:pass", "broken-propagation:failure", "spans-exported:failure",
                "trace-structure:pass"}});
  return v;
}

std::string Outcome(const XmlElement& testcase) {
  if (testcase.children.empty()) return "pass";
  return testcase.children.front().name;
}

size_t ToSize(const std::string* s) { return s == nullptr ? SIZE_MAX : std::stoul(*s); }

TEST(JUnitTest, EveryVariantIsWellFormedWithConsistentCounts) {
  for (const auto& variant : Variants()) {
    SCOPED_TRACE(variant.name);
    const RunReport& r = variant.report;
    const std::string xml = RenderJUnit(r);
    auto parsed = MiniXmlParser(xml).Parse();
    ASSERT_TRUE(parsed.ok()) << parsed.error().message << "\n" << xml;
    const XmlElement& root = *parsed;
    ASSERT_EQ(root.name, "testsuites");
    ASSERT_EQ(root.children.size(), 1u);
    const XmlElement& suite = root.children[0];
    ASSERT_EQ(suite.name, "testsuite");
    if (variant.name != "hostile") {
      EXPECT_EQ(*suite.Attribute("name"), "tracerig." + r.scenario_name);
    }

    ASSERT_FALSE(suite.children.empty());
    EXPECT_EQ(suite.children[0].name, "properties");
    std::vector<std::string> cases;
    size_t failures = 0, errors = 0, skipped = 0;
    for (size_t i = 1; i < suite.children.size(); ++i) {
      const XmlElement& tc = suite.children[i];
      if (tc.name == "system-out") {  // the suite's own output: transport errors, last, by kind
        EXPECT_EQ(i + 1, suite.children.size());
        EXPECT_FALSE(r.load.transport_error_reasons.empty());
        EXPECT_EQ(tc.text.rfind("transport errors: ", 0), 0u) << tc.text;
        continue;
      }
      ASSERT_EQ(tc.name, "testcase");
      EXPECT_EQ(*tc.Attribute("classname"), *suite.Attribute("name"));
      ASSERT_NE(tc.Attribute("time"), nullptr);
      EXPECT_LE(tc.children.size(), 1u);
      const std::string outcome = Outcome(tc);
      failures += outcome == "failure";
      errors += outcome == "error";
      skipped += outcome == "skipped";
      if (outcome != "pass") {
        EXPECT_FALSE(tc.children.front().Attribute("message")->empty());
      }
      cases.push_back(*tc.Attribute("name") + ":" + outcome);
    }
    EXPECT_EQ(cases, variant.cases);
    EXPECT_EQ(ToSize(suite.Attribute("tests")), cases.size());
    EXPECT_EQ(ToSize(suite.Attribute("failures")), failures);
    EXPECT_EQ(ToSize(suite.Attribute("errors")), errors);
    EXPECT_EQ(ToSize(suite.Attribute("skipped")), skipped);
    EXPECT_EQ(ToSize(root.Attribute("tests")), cases.size());
    EXPECT_EQ(ToSize(root.Attribute("failures")), failures);
    EXPECT_EQ(ToSize(root.Attribute("errors")), errors);
  }
}

// What went in comes back out of a parser, except characters XML cannot carry (U+FFFD instead).
TEST(JUnitTest, HostileTextSurvivesARoundTrip) {
  const auto variants = Variants();
  const RunReport& r = variants.back().report;
  auto parsed = MiniXmlParser(RenderJUnit(r)).Parse();
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  const XmlElement& suite = parsed->children[0];
  const std::string expected_name = "a\"<&>' b\t\n\r" + kFffd + kFffd;
  EXPECT_EQ(*suite.Attribute("name"), "tracerig." + expected_name);
  std::map<std::string, std::string> properties;
  for (const auto& p : suite.children[0].children) {
    properties[*p.Attribute("name")] = *p.Attribute("value");
  }
  EXPECT_EQ(properties["scenario.name"], expected_name);
  EXPECT_EQ(properties["backend"], "]]> & <!-- -->");
  EXPECT_EQ(properties["seed"], "42");
  EXPECT_EQ(properties["tracerig.version"], "0.1.0");
  EXPECT_EQ(properties["exit_code"], "1");
  const XmlElement& broken = suite.children[2];
  ASSERT_EQ(*broken.Attribute("name"), "broken-propagation");
  const XmlElement& failure = broken.children.at(0);
  EXPECT_NE(failure.Attribute("message")->find("checkout -> pay<ment> (hop 0.1.0): 6 traces"),
            std::string::npos);
  EXPECT_NE(failure.text.find("</failure><oops attr=\"x\">&bogus;"), std::string::npos)
      << failure.text;
}

TEST(JUnitTest, FailuresNameTracesAndEdges) {
  const RunReport r = SyntheticRun();
  auto parsed = MiniXmlParser(RenderJUnit(r)).Parse();
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  const XmlElement& suite = parsed->children[0];
  const XmlElement& broken = suite.children[2];
  ASSERT_EQ(*broken.Attribute("name"), "broken-propagation");
  const XmlElement& failure = broken.children.at(0);
  EXPECT_EQ(*failure.Attribute("message"), r.checks[1].message);
  EXPECT_EQ(*failure.Attribute("type"), "broken-propagation");
  // The five broken example traces, not the incomplete or missing ones.
  for (const auto& ex : r.verification->examples) {
    const bool listed = failure.text.find(ex.trace_id.ToHex()) != std::string::npos;
    EXPECT_EQ(listed, ex.status == TraceStatus::kBroken) << ex.trace_id.ToHex();
  }
  EXPECT_NE(failure.text.find("broken trace 0af7651916cd43dd8448eb211c800003 (request "
                              "5eed000000000003): trace id changed between checkout and payment"),
            std::string::npos)
      << failure.text;
  EXPECT_NE(failure.text.find("checkout -> payment (hop 0.1.0): 6 traces"), std::string::npos);

  // Timing: the suite spans the run, trace checks the verification, the export check the load.
  EXPECT_EQ(*suite.Attribute("time"), "7.250");
  EXPECT_EQ(*suite.Attribute("timestamp"), "2025-11-25T12:00:00Z");
  EXPECT_EQ(*broken.Attribute("time"), "1.234");
  EXPECT_EQ(*suite.children[3].Attribute("time"), "5.012");
}

TEST(JUnitTest, CompletenessFailureListsAtMostFiveExamples) {
  RunReport r = SyntheticRun();
  r.expect.completeness = 1.0;
  Judge(r);
  auto parsed = MiniXmlParser(RenderJUnit(r)).Parse();
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  const XmlElement& completeness = parsed->children[0].children[1];
  ASSERT_EQ(*completeness.Attribute("name"), "completeness");
  const std::string& text = completeness.children.at(0).text;
  size_t listed = 0;
  for (const auto& ex : r.verification->examples) {
    listed += text.find(ex.trace_id.ToHex()) != std::string::npos;
  }
  EXPECT_EQ(r.verification->examples.size(), 7u);
  EXPECT_EQ(listed, 5u) << text;
  EXPECT_NE(text.find("incomplete trace"), std::string::npos);
  EXPECT_NE(text.find("missing trace"), std::string::npos);
}

// A verify-only run says so and gives the ledger's requests and outcomes as properties; its
// export check is skipped as not measured rather than passed over zero figures.
TEST(JUnitTest, AVerifyOnlyRunSaysItsLoadWasNotMeasured) {
  auto parsed = MiniXmlParser(RenderJUnit(SyntheticVerifyRun())).Parse();
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  const XmlElement& suite = parsed->children[0];
  std::map<std::string, std::string> properties;
  for (const auto& p : suite.children[0].children) {
    properties[*p.Attribute("name")] = *p.Attribute("value");
  }
  EXPECT_EQ(properties["load"], "not measured (verify only)");
  EXPECT_EQ(properties["ledger.requests"], "250");
  EXPECT_EQ(properties["ledger.ok"], "247");
  EXPECT_EQ(properties["ledger.http_errors"], "2");
  EXPECT_EQ(properties["ledger.transport_errors"], "1");
  const XmlElement& exported = suite.children[3];
  ASSERT_EQ(*exported.Attribute("name"), "spans-exported");
  EXPECT_EQ(*exported.Attribute("time"), "0.000");
  const XmlElement& skipped = exported.children.at(0);
  EXPECT_EQ(skipped.name, "skipped");
  EXPECT_EQ(*skipped.Attribute("message"), "not measured (verify only)");
  EXPECT_EQ(skipped.text,
            "not known: the spans were exported by the run that wrote the ledger\n");

  // A run that measured its load has none of this.
  const std::string measured = RenderJUnit(SyntheticRun());
  EXPECT_EQ(measured.find("not measured"), std::string::npos);
  EXPECT_EQ(measured.find("ledger."), std::string::npos);
}

// A topology that did not serve the load: the run's error names why the requests failed, in its
// message (the verdict) and its body, and the suite's output lists the kinds.
TEST(JUnitTest, TransportErrorsSayWhyTheRequestsFailed) {
  RunReport r = SyntheticRun();
  r.load.ok = 0;
  r.load.http_errors = 0;
  r.load.transport_errors = 250;
  r.load.transport_error_reasons = {{"connection refused", 240, "connect: Connection refused"},
                                    {"timeout", 10, "connect: timed out after 2s"}};
  Judge(r);
  auto parsed = MiniXmlParser(RenderJUnit(r)).Parse();
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  const XmlElement& suite = parsed->children.at(0);
  const XmlElement& run = suite.children.at(1);
  ASSERT_EQ(*run.Attribute("name"), "run");
  const XmlElement& error = run.children.at(0);
  EXPECT_EQ(*error.Attribute("message"),
            "ERROR: 250 of 250 requests failed at the transport level (240 connection refused: "
            "connect: Connection refused; 10 timeout: connect: timed out after 2s); the topology "
            "did not serve the load");
  const std::string lines =
      "transport errors: 250\n"
      "  240 connection refused: connect: Connection refused\n"
      "  10 timeout: connect: timed out after 2s\n";
  EXPECT_EQ(error.text, *error.Attribute("message") + "\n" + lines);
  EXPECT_EQ(suite.children.back().name, "system-out");
  EXPECT_EQ(suite.children.back().text, lines);
  bool property = false;
  for (const XmlElement& p : suite.children.at(0).children) {
    if (*p.Attribute("name") != "transport_errors") continue;
    property = true;
    EXPECT_EQ(*p.Attribute("value"),
              "250 (240 connection refused: connect: Connection refused; 10 timeout: connect: "
              "timed out after 2s)");
  }
  EXPECT_TRUE(property);

  // No transport errors: no property, no suite output.
  RunReport clean = SyntheticRun();
  clean.load.ok += clean.load.transport_errors;
  clean.load.transport_errors = 0;
  clean.load.transport_error_reasons.clear();
  Judge(clean);
  const std::string xml = RenderJUnit(clean);
  EXPECT_EQ(xml.find("transport_errors"), std::string::npos);
  EXPECT_EQ(xml.find("<system-out>transport"), std::string::npos);
}

#ifdef TRACERIG_XMLLINT
// Validates every variant against the schema with xmllint (libxml2's XSD validator).
TEST(JUnitTest, ValidatesAgainstTheJUnitSchema) {
  const std::string schema = test_support::RepoPath("tests/report/junit.xsd");
  const std::filesystem::path dir = test_support::MakeScratchDir("tracerig-junit");
  ASSERT_FALSE(dir.empty());
  for (const auto& variant : Variants()) {
    const std::string path = (dir / (variant.name + ".xml")).string();
    {
      std::ofstream out(path, std::ios::binary);
      out << RenderJUnit(variant.report);
    }
    const std::string log = path + ".log";
    const std::string command = std::string(TRACERIG_XMLLINT) + " --noout --schema '" + schema +
                                "' '" + path + "' >'" + log + "' 2>&1";
    const int status = std::system(command.c_str());
    EXPECT_EQ(status, 0) << variant.name << ": " << command << "\n"
                         << test_support::ReadTestFile(log).value_or("");
  }
  std::filesystem::remove_all(dir);
}
#else
TEST(JUnitTest, ValidatesAgainstTheJUnitSchema) {
  GTEST_SKIP() << "xmllint was not found at configure time; schema validation skipped "
                  "(install libxml2-utils to enable it)";
}
#endif

}  // namespace
}  // namespace tracerig
