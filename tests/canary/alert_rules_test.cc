// Keeps deploy/prometheus/ true: promtool accepts the alerting rules and the example scrape
// configuration and passes the rules' unit tests (alerts_test.yml), and the rules name only the
// tracerig_canary_* families, labels and label values that the canary exports.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "tests/support/fixtures.h"

namespace tracerig {
namespace {

using test_support::ReadRepoFile;
using test_support::RepoPath;

constexpr const char* kPromtool = "/usr/bin/promtool";

// The metric families of `tracerig canary`, as src/canary/canary_metrics.cc declares them (the
// contract of issue 19; docs/CANARY.md "Metrics"). A family renamed there must be renamed here,
// in deploy/prometheus/alerts.yml and in the docs.
const std::set<std::string> kCounterFamilies = {
    "tracerig_canary_traces_written_total", "tracerig_canary_write_failures_total",
    "tracerig_canary_checks_total",         "tracerig_canary_check_failures_total",
    "tracerig_canary_spans_expected_total", "tracerig_canary_spans_found_total",
};
const std::set<std::string> kGaugeFamilies = {
    "tracerig_canary_last_success_timestamp_seconds",
    "tracerig_canary_traces_pending",
    "tracerig_canary_build_info",
};
const std::set<std::string> kHistogramFamilies = {
    "tracerig_canary_time_to_queryable_seconds",
    "tracerig_canary_query_duration_seconds",
};
// Label values the canary uses (src/canary/canary_metrics.h): checks, reasons of a failed check
// and of a failed write, query kinds. Ages other than "0s" are whatever --reread says.
const std::set<std::string> kChecks = {"trace", "search"};
const std::set<std::string> kReasons = {
    "missing",        "incomplete",   "broken",  "structure", "not_found_by_search",
    "request_failed", "not_exported", "evicted", "late",      "transport",
    "http_status",    "export"};
const std::set<std::string> kQueries = {"trace", "traces", "search", "other"};
// Metrics the rules may use besides the canary's own: Prometheus' scrape health.
const std::set<std::string> kOtherMetrics = {"up"};

std::string ShellQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// Runs `promtool ARGS` (stdout and stderr together); returns its exit status, -1 when it did not
// exit normally.
int RunPromtool(const std::string& args, std::string& output) {
  const std::string command = std::string(kPromtool) + " " + args + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) {
    output = "popen failed for: " + command;
    return -1;
  }
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) output.append(buf, n);
  const int status = pclose(pipe);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// The promtool tests skip, saying why, where promtool is not installed.
class Promtool : public testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(kPromtool)) {
      GTEST_SKIP()
          << kPromtool
          << " is not installed (Debian's prometheus package; scripts/deps.sh installs it)";
    }
  }
};

TEST_F(Promtool, AcceptsTheAlertRules) {
  std::string output;
  const int status =
      RunPromtool("check rules " + ShellQuote(RepoPath("deploy/prometheus/alerts.yml")), output);
  EXPECT_EQ(status, 0) << "promtool check rules deploy/prometheus/alerts.yml:\n" << output;
}

TEST_F(Promtool, AcceptsTheExampleConfig) {
  std::string output;
  const int status = RunPromtool(
      "check config " + ShellQuote(RepoPath("deploy/prometheus/prometheus.yml")), output);
  EXPECT_EQ(status, 0) << "promtool check config deploy/prometheus/prometheus.yml:\n" << output;
}

TEST_F(Promtool, PassesTheAlertRuleUnitTests) {
  std::string output;
  const int status = RunPromtool(
      "test rules " + ShellQuote(RepoPath("deploy/prometheus/alerts_test.yml")), output);
  EXPECT_EQ(status, 0) << "promtool test rules deploy/prometheus/alerts_test.yml:\n" << output;
}

// ---- the names the rules use (no promtool needed) ---------------------------------------------

// The PromQL of every rule: the block scalar after `expr: |` (lines indented deeper than `expr:`),
// or the rest of the line after `expr:`.
std::vector<std::string> RuleExpressions(const std::string& yaml) {
  std::vector<std::string> exprs;
  std::istringstream in(yaml);
  std::string line;
  const std::regex expr_line(R"(^(\s*)expr:\s*(.*)$)");
  std::smatch m;
  std::string* block = nullptr;
  size_t block_indent = 0;
  while (std::getline(in, line)) {
    if (block != nullptr) {
      const size_t indent = line.find_first_not_of(' ');
      if (indent == std::string::npos || indent > block_indent) {
        *block += line + "\n";
        continue;
      }
      block = nullptr;
    }
    if (std::regex_match(line, m, expr_line)) {
      const std::string rest = m[2].str();
      if (rest == "|" || rest == ">" || rest == "|-" || rest == ">-") {
        exprs.emplace_back();
        block = &exprs.back();
        block_indent = m[1].length();
      } else {
        exprs.push_back(rest);
      }
    }
  }
  return exprs;
}

// A series name the canary exports (a histogram's: with _bucket, _sum or _count).
bool IsCanarySeries(const std::string& name) {
  if (kCounterFamilies.count(name) != 0 || kGaugeFamilies.count(name) != 0) return true;
  for (const char* suffix : {"_bucket", "_sum", "_count"}) {
    const std::string s = suffix;
    if (name.size() > s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0 &&
        kHistogramFamilies.count(name.substr(0, name.size() - s.size())) != 0) {
      return true;
    }
  }
  return false;
}

// A name prose may use: a series, or a histogram family's own name.
bool IsCanaryFamily(const std::string& name) {
  return IsCanarySeries(name) || kHistogramFamilies.count(name) != 0;
}

// Every problem with the names in `yaml` (a rule file), one line each; empty when there is none.
// Canary metric names anywhere in the file (annotations too: they tell people what to query),
// metric selectors in the expressions, and the values their matchers compare check, reason and
// query with.
std::vector<std::string> NameProblems(const std::string& yaml) {
  std::vector<std::string> problems;
  const std::regex canary_name(R"(tracerig_canary_[a-zA-Z0-9_]+)");
  for (auto it = std::sregex_iterator(yaml.begin(), yaml.end(), canary_name);
       it != std::sregex_iterator(); ++it) {
    if (!IsCanaryFamily(it->str())) problems.push_back("unknown canary metric " + it->str());
  }
  const std::vector<std::string> exprs = RuleExpressions(yaml);
  if (exprs.empty()) problems.push_back("no rule expressions found");
  const std::regex selector(R"(([a-zA-Z_:][a-zA-Z0-9_:]*)\{)");
  const std::regex matcher(R"((check|reason|query)\s*(=~|!~|!=|=)\s*"([^"]*)\")");
  for (const std::string& expr : exprs) {
    for (auto it = std::sregex_iterator(expr.begin(), expr.end(), canary_name);
         it != std::sregex_iterator(); ++it) {
      if (IsCanaryFamily(it->str()) && !IsCanarySeries(it->str())) {
        problems.push_back("a histogram is queried by its _bucket, _sum or _count series, not " +
                           it->str());
      }
    }
    for (auto it = std::sregex_iterator(expr.begin(), expr.end(), selector);
         it != std::sregex_iterator(); ++it) {
      const std::string name = (*it)[1].str();
      if (!IsCanarySeries(name) && kOtherMetrics.count(name) == 0) {
        problems.push_back("selector of a metric the canary does not export: " + name);
      }
    }
    for (auto it = std::sregex_iterator(expr.begin(), expr.end(), matcher);
         it != std::sregex_iterator(); ++it) {
      const std::string label = (*it)[1].str();
      const std::set<std::string>& known = label == "check"    ? kChecks
                                           : label == "reason" ? kReasons
                                                               : kQueries;
      std::istringstream values((*it)[3].str());
      std::string value;
      while (std::getline(values, value, '|')) {
        if (known.count(value) == 0) {
          problems.push_back("label " + label + " never takes the value \"" + value + "\"");
        }
      }
    }
  }
  return problems;
}

TEST(AlertRules, UseOnlyTheCanaryFamiliesAndLabelValues) {
  const auto yaml = ReadRepoFile("deploy/prometheus/alerts.yml");
  ASSERT_TRUE(yaml);
  const std::vector<std::string> problems = NameProblems(*yaml);
  std::string all;
  for (const std::string& p : problems) all += p + "\n";
  EXPECT_TRUE(problems.empty()) << "deploy/prometheus/alerts.yml:\n" << all;
}

// The checker itself finds what it is there to find (a typo in a name or a reason).
TEST(AlertRules, NameCheckReportsUnknownNames) {
  struct Row {
    const char* yaml;
    std::vector<std::string> problems;
  };
  const std::vector<Row> rows = {
      {"      - alert: A\n        expr: |\n          rate(tracerig_canary_checks_total[5m]) > 0\n"
       "        for: 1m\n",
       {}},
      {"        expr: tracerig_canary_time_to_queryable_seconds_bucket{le=\"1\"} > 0\n", {}},
      {"        expr: rate(tracerig_canary_check_total[5m]) > 0\n",
       {"unknown canary metric tracerig_canary_check_total"}},
      {"        expr: tracerig_canary_build_info_bucket > 0\n",
       {"unknown canary metric tracerig_canary_build_info_bucket"}},
      {"        expr: tracerig_canary_query_duration_seconds > 1\n",
       {"a histogram is queried by its _bucket, _sum or _count series, not "
        "tracerig_canary_query_duration_seconds"}},
      {"        expr: |\n          process_resident_memory_bytes{job=\"x\"} > 1\n",
       {"selector of a metric the canary does not export: process_resident_memory_bytes"}},
      {"        expr: |\n          tracerig_canary_check_failures_total{reason=~\"missing|lost\"}"
       " > 0\n",
       {"label reason never takes the value \"lost\""}},
      {"        expr: |\n          tracerig_canary_checks_total{check=\"id\"} > 0\n",
       {"label check never takes the value \"id\""}},
      {"groups: []\n", {"no rule expressions found"}},
  };
  for (const Row& row : rows) {
    EXPECT_EQ(NameProblems(row.yaml), row.problems) << row.yaml;
  }
}

// Every alert has a unit test in which it fires (exp_alerts), so none is left unproven.
TEST(AlertRules, EveryAlertFiresInAUnitTest) {
  const auto rules = ReadRepoFile("deploy/prometheus/alerts.yml");
  const auto tests = ReadRepoFile("deploy/prometheus/alerts_test.yml");
  ASSERT_TRUE(rules && tests);
  std::set<std::string> alerts;
  const std::regex alert_line(R"(-\s*alert:\s*(\w+))");
  for (auto it = std::sregex_iterator(rules->begin(), rules->end(), alert_line);
       it != std::sregex_iterator(); ++it) {
    alerts.insert((*it)[1].str());
  }
  ASSERT_FALSE(alerts.empty()) << "no `- alert:` in deploy/prometheus/alerts.yml";
  std::set<std::string> fired;
  const std::regex firing_case(R"(alertname:\s*(\w+)\s*\n\s*exp_alerts:\s*\n\s*-)");
  for (auto it = std::sregex_iterator(tests->begin(), tests->end(), firing_case);
       it != std::sregex_iterator(); ++it) {
    fired.insert((*it)[1].str());
  }
  for (const std::string& alert : alerts) {
    EXPECT_EQ(fired.count(alert), 1u)
        << alert << " never fires in deploy/prometheus/alerts_test.yml (no case with exp_alerts)";
  }
}

}  // namespace
}  // namespace tracerig
