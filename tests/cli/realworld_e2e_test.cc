// The real-world library (issue 17): every scenario in scenarios/realworld/ restates a public
// propagation bug report and says in its header which verdict tracerig must give. Each file is run
// end to end through the real binary and the embedded backend, and must give exactly that verdict:
// the exit code, the set of failing checks, and the edge where it happened named in the report.
//
// Header lines (anywhere in the file's leading comment block):
//   # report: owner/repo#N "title"
//   # expect: exit=1 checks=completeness,broken-propagation edge=checkout->payment hop=0.0.0
// `checks` and `edge` are required when exit=1 and absent when exit=0; `hop` is optional.
#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <ostream>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/cli/run_tracerig.h"
#include "tests/support/scratch_dir.h"

namespace {

namespace fs = std::filesystem;
using tracerig::test_support::MakeScratchDir;
using tracerig::testing::ReadJsonUnder;
using tracerig::testing::RunTracerig;

const char* const kLibrary = "scenarios/realworld";

struct Expectation {
  std::string file;    // under scenarios/realworld/
  std::string report;  // "owner/repo#N"
  int exit_code = -1;
  std::set<std::string> failed_checks;
  std::string caller;  // the edge the verdict must name; empty for a passing scenario
  std::string callee;
  std::string hop;     // optional: the hop the naming text must give, e.g. "0.0.0"
  std::string error;   // why the header is malformed; empty when well formed
};

void PrintTo(const Expectation& e, std::ostream* os) { *os << e.file; }

std::string ReadText(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// The leading comment block: the lines before the first line that is neither a comment nor blank.
std::vector<std::string> HeaderLines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    if (line[0] != '#') break;
    lines.push_back(line);
  }
  return lines;
}

// Parses the `# report:` and `# expect:` lines of `text` (the file `file`).
Expectation ParseHeader(const std::string& file, const std::string& text) {
  Expectation e;
  e.file = file;
  static const std::regex kReport(R"(^# report: ([A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+#[0-9]+)(\s.*)?$)");
  static const std::regex kEdge(R"(^([a-z0-9][a-z0-9_.-]*)->([a-z0-9][a-z0-9_.-]*)$)");
  static const std::regex kHop(R"(^[0-9]+(\.[0-9]+)*$)");
  static const std::regex kCheck(R"(^[a-z][a-z0-9:_.>-]*$)");
  int expect_lines = 0;
  for (const std::string& line : HeaderLines(text)) {
    std::smatch m;
    if (line.starts_with("# report:")) {
      if (!std::regex_match(line, m, kReport)) {
        e.error = "malformed report line (want `# report: owner/repo#N title`): " + line;
        return e;
      }
      if (!e.report.empty()) {
        e.error = "more than one `# report:` line";
        return e;
      }
      e.report = m[1];
      continue;
    }
    if (!line.starts_with("# expect:")) continue;
    if (++expect_lines > 1) {
      e.error = "more than one `# expect:` line";
      return e;
    }
    std::istringstream fields(line.substr(std::string("# expect:").size()));
    for (std::string field; fields >> field;) {
      const size_t eq = field.find('=');
      if (eq == std::string::npos || eq == 0 || eq + 1 == field.size()) {
        e.error = "expect field is not key=value: " + field;
        return e;
      }
      const std::string key = field.substr(0, eq);
      const std::string value = field.substr(eq + 1);
      if (key == "exit") {
        if (value != "0" && value != "1") {
          e.error = "exit must be 0 or 1, not " + value;
          return e;
        }
        e.exit_code = value == "0" ? 0 : 1;
      } else if (key == "checks") {
        std::istringstream names(value);
        for (std::string name; std::getline(names, name, ',');) {
          if (!std::regex_match(name, kCheck) || !e.failed_checks.insert(name).second) {
            e.error = "bad or repeated check name \"" + name + "\"";
            return e;
          }
        }
      } else if (key == "edge") {
        if (!std::regex_match(value, m, kEdge)) {
          e.error = "edge must be caller->callee, not " + value;
          return e;
        }
        e.caller = m[1];
        e.callee = m[2];
      } else if (key == "hop") {
        if (!std::regex_match(value, kHop)) {
          e.error = "hop must look like 0.1.0, not " + value;
          return e;
        }
        e.hop = value;
      } else {
        e.error = "unknown expect key \"" + key + "\" (keys: exit, checks, edge, hop)";
        return e;
      }
    }
  }
  if (e.report.empty()) {
    e.error = "no `# report: owner/repo#N` line citing the public report";
  } else if (expect_lines == 0) {
    e.error = "no `# expect:` line";
  } else if (e.exit_code < 0) {
    e.error = "`# expect:` gives no exit=";
  } else if (e.exit_code == 1 && (e.failed_checks.empty() || e.caller.empty())) {
    e.error = "exit=1 needs checks= and edge= (which checks fail, and where)";
  } else if (e.exit_code == 0 && (!e.failed_checks.empty() || !e.caller.empty())) {
    e.error = "exit=0 takes no checks= or edge=";
  } else if (!e.hop.empty() && e.caller.empty()) {
    e.error = "hop= needs edge=";
  }
  return e;
}

// Every scenario of the library, read now: a new file is covered without a code change.
std::vector<Expectation> Library() {
  std::vector<Expectation> all;
  const fs::path dir = fs::path(TRACERIG_SOURCE_DIR) / kLibrary;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (entry.path().extension() != ".toml") continue;
    const std::string file = entry.path().filename().string();
    all.push_back(ParseHeader(file, ReadText(entry.path())));
  }
  std::sort(all.begin(), all.end(),
            [](const Expectation& a, const Expectation& b) { return a.file < b.file; });
  return all;
}

std::string Name(const ::testing::TestParamInfo<Expectation>& info) {
  std::string name = info.param.file.substr(0, info.param.file.rfind('.'));
  for (char& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return name;
}

bool IsNameChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-';
}

// Whether `text` holds `word` as a whole service name (not inside a longer one).
bool HasWord(const std::string& text, const std::string& word) {
  for (size_t at = text.find(word); at != std::string::npos; at = text.find(word, at + 1)) {
    const bool left = at == 0 || !IsNameChar(text[at - 1]);
    const size_t end = at + word.size();
    // A sentence may end right after the name: "... to payment." is still "payment".
    const bool right = end == text.size() || !IsNameChar(text[end]) ||
                       (text[end] == '.' && (end + 1 == text.size() || !IsNameChar(text[end + 1])));
    if (left && right) return true;
  }
  return false;
}

// Whether `text` gives the hop `hop`: "hop 0.0" but not "hop 0.0.1" (a retry suffix, "hop 0.0r1",
// is the same edge).
bool HasHop(const std::string& text, const std::string& hop) {
  const std::string needle = "hop " + hop;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) {
    const size_t end = at + needle.size();
    if (end == text.size()) return true;
    const char next = text[end];
    if (std::isdigit(static_cast<unsigned char>(next))) continue;
    if (next == '.' && end + 1 < text.size() &&
        std::isdigit(static_cast<unsigned char>(text[end + 1]))) {
      continue;
    }
    return true;
  }
  return false;
}

// Every string under `j`, but not the topology summaries (graph), which name every edge.
void CollectTexts(const nlohmann::json& j, std::vector<std::string>& out) {
  if (j.is_string()) {
    out.push_back(j.get<std::string>());
  } else if (j.is_array()) {
    for (const auto& item : j) CollectTexts(item, out);
  } else if (j.is_object()) {
    for (const auto& [key, value] : j.items()) {
      if (key == "graph" || key == "backend_graph" || key == "timings") continue;
      CollectTexts(value, out);
    }
  }
}

// Where the report names the edge: a break edge, or one text (a failing check's message, an
// example's explanation, a violation's) naming caller, callee and the hop when one is expected.
bool NamesEdge(const nlohmann::json& report, const Expectation& e, std::string& looked_at) {
  const auto& v = report["verification"];
  for (const auto& edge : v["break_edges"]) {
    looked_at += "break edge " + edge.dump() + "\n";
    const std::string hop = edge.value("hop", "");
    if (edge.value("caller", "") == e.caller && edge.value("callee", "") == e.callee &&
        (e.hop.empty() || hop == e.hop || hop.starts_with(e.hop + "r"))) {
      return true;
    }
  }
  std::vector<std::string> texts;
  for (const auto& check : report["checks"]) {
    if (!check["passed"].get<bool>()) texts.push_back(check["message"].get<std::string>());
  }
  CollectTexts(v, texts);
  for (const std::string& text : texts) {
    if (HasWord(text, e.caller) && HasWord(text, e.callee) && (e.hop.empty() || HasHop(text, e.hop))) {
      return true;
    }
  }
  for (size_t i = 0; i < texts.size() && i < 12; ++i) looked_at += texts[i] + "\n";
  return false;
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
  const Expectation& e = GetParam();
  ASSERT_TRUE(e.error.empty()) << e.file << ": " << e.error;
  auto r = RunTracerig({"run", std::string(kLibrary) + "/" + e.file, "--quiet", "--report-dir",
                        dir_.string()});
  ASSERT_EQ(r.exit_code, e.exit_code) << e.report << "\n" << r.output;
  nlohmann::json report = ReadJsonUnder(dir_, "report.json");
  ASSERT_TRUE(report.is_object()) << "no report.json\n" << r.output;
  std::set<std::string> failed;
  for (const auto& check : report["checks"]) {
    if (!check["passed"].get<bool>()) failed.insert(check["name"].get<std::string>());
  }
  EXPECT_EQ(failed, e.failed_checks) << e.report << "\n" << report["checks"].dump(1);
  EXPECT_GT(report["verification"]["checked"].get<int>(), 0) << report["verification"].dump();
  if (!e.caller.empty()) {
    std::string looked_at;
    EXPECT_TRUE(NamesEdge(report, e, looked_at))
        << "the report does not name " << e.caller << " -> " << e.callee
        << (e.hop.empty() ? "" : " (hop " + e.hop + ")") << "; it says:\n"
        << looked_at;
  }
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
