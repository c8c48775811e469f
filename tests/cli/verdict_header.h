// The verdict a scenario file states in its header comment, and how a run's report.json is checked
// against it: shared by the end-to-end tests of scenarios/realworld/ and scenarios/messaging/.
//
// Header lines (anywhere in the file's leading comment block):
//   # report: owner/repo#N "title"
//   # expect: exit=1 checks=completeness,broken-propagation edge=checkout->payment hop=0.0.0
// `checks` and `edge` are required when exit=1 and absent when exit=0; `hop` is optional and may
// end in an async suffix (0.0d1: a redelivery, 0.0q: the dead-letter delivery). `report` is
// required only where the library asks for it (HeaderRules).
#pragma once

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <ostream>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace tracerig::testing {

namespace fs = std::filesystem;

struct HeaderRules {
  bool require_report = true;
};

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

inline void PrintTo(const Expectation& e, std::ostream* os) { *os << e.file; }

inline std::string ReadText(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// The leading comment block: the lines before the first line that is neither a comment nor blank.
inline std::vector<std::string> HeaderLines(const std::string& text) {
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
inline Expectation ParseHeader(const std::string& file, const std::string& text,
                               HeaderRules rules = {}) {
  Expectation e;
  e.file = file;
  static const std::regex kReport(R"(^# report: ([A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+#[0-9]+)(\s.*)?$)");
  static const std::regex kEdge(R"(^([a-z0-9][a-z0-9_.-]*)->([a-z0-9][a-z0-9_.-]*)$)");
  static const std::regex kHop(R"(^[0-9]+(\.[0-9]+|r[0-9]+)*(d[0-9]+|q)?$)");
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
          e.error = "hop must look like 0.1.0 (or 0.1d1, 0.1q), not " + value;
          return e;
        }
        e.hop = value;
      } else {
        e.error = "unknown expect key \"" + key + "\" (keys: exit, checks, edge, hop)";
        return e;
      }
    }
  }
  if (e.report.empty() && rules.require_report) {
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

inline bool IsNameChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-';
}

// Whether `text` holds `word` as a whole service name (not inside a longer one).
inline bool HasWord(const std::string& text, const std::string& word) {
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
inline bool HasHop(const std::string& text, const std::string& hop) {
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
inline void CollectTexts(const nlohmann::json& j, std::vector<std::string>& out) {
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
inline bool NamesEdge(const nlohmann::json& report, const Expectation& e, std::string& looked_at) {
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

// Every scenario file (.toml) in `library` (relative to the source tree), its header read now, by
// file name: a new file is covered without a code change.
inline std::vector<Expectation> LibraryIn(const std::string& library, HeaderRules rules = {}) {
  std::vector<Expectation> all;
  const fs::path dir = fs::path(TRACERIG_SOURCE_DIR) / library;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (entry.path().extension() != ".toml") continue;
    const std::string file = entry.path().filename().string();
    all.push_back(ParseHeader(file, ReadText(entry.path()), rules));
  }
  std::sort(all.begin(), all.end(),
            [](const Expectation& a, const Expectation& b) { return a.file < b.file; });
  return all;
}

// A gtest parameter name for a scenario file: its name without extension, '_' for the rest.
inline std::string ScenarioTestName(const Expectation& e) {
  std::string name = e.file.substr(0, e.file.rfind('.'));
  for (char& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return name;
}

}  // namespace tracerig::testing
