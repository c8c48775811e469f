// Every scenario in scenarios/, run briefly against the embedded backend: each line of counts in
// the terminal summary (load, spans, traces checked) names its categories and they sum to its
// total, and report.json holds the same figures.
#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
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

// The top-level scenario files, by name, and the faults that change where spans go (withheld by
// drop-span, submitted late by delay-export, not sampled below an unsampled-child edge). All of
// them run with the embedded backend: none needs anything outside the test (scenarios/common/
// holds included fragments; the other faults have their own matrix test).
std::vector<std::string> TopLevelScenarios() {
  std::vector<std::string> names = {"faults/delay-export.toml", "faults/drop-span.toml",
                                    "faults/unsampled-child.toml"};
  for (const auto& entry : fs::directory_iterator(fs::path(TRACERIG_SOURCE_DIR) / "scenarios")) {
    if (entry.is_regular_file() && entry.path().extension() == ".toml") {
      names.push_back(entry.path().filename().string());
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::string ReadText(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void ReplaceAll(std::string& text, const std::string& from, const std::string& to) {
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// "12 name of it" -> {"name of it", 12}, for each part of `text` split at `separator`.
std::vector<std::pair<std::string, int64_t>> NamedCounts(const std::string& text,
                                                          const std::string& separator,
                                                          bool count_first) {
  std::vector<std::pair<std::string, int64_t>> parts;
  size_t start = 0;
  for (;;) {
    const size_t end = text.find(separator, start);
    const std::string part = text.substr(start, end == std::string::npos ? end : end - start);
    std::smatch m;
    const std::regex pattern = count_first ? std::regex("^(-?[0-9]+) (.+)$")
                                           : std::regex("^(.+) (-?[0-9]+)$");
    if (std::regex_match(part, m, pattern)) {
      parts.emplace_back(m[count_first ? 2 : 1].str(), std::stoll(m[count_first ? 1 : 2].str()));
    } else {
      ADD_FAILURE() << "not a named count: \"" << part << "\" in \"" << text << "\"";
    }
    if (end == std::string::npos) break;
    start = end + separator.size();
  }
  return parts;
}

int64_t Sum(const std::vector<std::pair<std::string, int64_t>>& parts) {
  int64_t sum = 0;
  for (const auto& [name, n] : parts) sum += n;
  return sum;
}

class SummarySumsTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    dir_ = MakeScratchDir("tracerig-sums");
    ASSERT_FALSE(dir_.empty());
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path dir_;
};

TEST_P(SummarySumsTest, EveryCountLineSumsAndMatchesTheJson) {
  const std::string name = GetParam();
  const fs::path source = fs::path(TRACERIG_SOURCE_DIR) / "scenarios" / name;
  std::string text = ReadText(source);
  std::vector<std::string> args = {"run"};
  if (text.find("model = \"ramp\"") != std::string::npos) {
    // A ramp's length follows from its stages (no --duration): run a copy with shorter stages
    // (ramp.toml includes no other file, so the copy can live in the scratch folder).
    ReplaceAll(text, "duration = \"10s\"", "duration = \"1s\"");
    ReplaceAll(text, "duration = \"5s\"", "duration = \"500ms\"");
    ReplaceAll(text, "warmup = \"2s\"", "warmup = \"200ms\"");
    const fs::path copy = dir_ / fs::path(name).filename();
    std::ofstream(copy) << text;
    args.push_back(copy.string());
  } else if (text.find("model = \"count\"") != std::string::npos) {
    // A fixed number of requests: send them faster.
    args.insert(args.end(), {"scenarios/" + name, "--rate", "100"});
  } else {
    args.insert(args.end(), {"scenarios/" + name, "--duration", "1s"});
  }
  args.insert(args.end(), {"--report-dir", (dir_ / "out").string()});
  const auto r = RunTracerig(args);
  ASSERT_TRUE(r.exit_code == 0 || r.exit_code == 1) << r.output;
  const nlohmann::json json = ReadJsonUnder(dir_ / "out", "report.json");
  ASSERT_TRUE(json.is_object()) << r.output;

  const std::vector<std::string> lines = Lines(r.output);
  bool saw_load = false;
  bool saw_spans = false;
  bool saw_traces = false;
  bool saw_transport_kinds = false;
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string& line = lines[i];
    std::smatch m;
    if (std::regex_search(line, m, std::regex("^load: ([0-9]+) requests sent"))) {
      saw_load = true;
      const int64_t sent = std::stoll(m[1].str());
      ASSERT_LT(i + 1, lines.size()) << r.output;
      std::smatch parts;
      if (!std::regex_match(lines[i + 1], parts,
                            std::regex("^ += (.+?)( \\(([0-9]+) of them unfinished: .*\\))?$"))) {
        ADD_FAILURE() << "not a sum of the requests sent: " << lines[i + 1];
        continue;
      }
      std::map<std::string, int64_t> counts;
      for (const auto& [what, n] : NamedCounts(parts[1].str(), " + ", true)) counts[what] = n;
      EXPECT_EQ(Sum(NamedCounts(parts[1].str(), " + ", true)), sent) << line << "\n" << lines[i + 1];
      EXPECT_EQ(counts.size(), 3u) << lines[i + 1];
      EXPECT_EQ(json["load"]["sent"], sent);
      EXPECT_EQ(json["load"]["ok"], counts["ok"]);
      EXPECT_EQ(json["load"]["http_errors"], counts["HTTP errors"]);
      EXPECT_EQ(json["load"]["transport_errors"], counts["transport errors"]);
      const int64_t unfinished = parts[3].matched ? std::stoll(parts[3].str()) : 0;
      EXPECT_EQ(json["load"]["unfinished"], unfinished);
      EXPECT_LE(unfinished, counts["transport errors"]);
    } else if (std::regex_match(line, m, std::regex("^transport errors: ([0-9]+) \\((.+)\\)$"))) {
      // Why requests failed, by kind: "N kind: first message; ...", summing to the load line's
      // transport errors, each kind as report.json has it.
      saw_transport_kinds = true;
      const int64_t total = std::stoll(m[1].str());
      EXPECT_EQ(json["load"]["transport_errors"], total) << line;
      const std::string kinds = m[2].str();
      std::map<std::string, int64_t> counts;
      const std::regex part("(?:^|; )([0-9]+) ([a-z][a-z ]*[a-z])(?=: |; |$)");
      for (auto it = std::sregex_iterator(kinds.begin(), kinds.end(), part);
           it != std::sregex_iterator(); ++it) {
        counts[(*it)[2].str()] += std::stoll((*it)[1].str());
      }
      int64_t sum = 0;
      for (const auto& [what, n] : counts) sum += n;
      EXPECT_EQ(sum, total) << line;
      int64_t json_sum = 0;
      for (const auto& reason : json["load"]["transport_error_reasons"]) {
        const std::string what = reason["reason"].get<std::string>();
        EXPECT_EQ(counts[what], reason["count"].get<int64_t>()) << what << ": " << line;
        json_sum += reason["count"].get<int64_t>();
      }
      EXPECT_EQ(json_sum + counts["of no recorded kind"], total) << json["load"].dump(2);
    } else if (std::regex_match(line, m,
                                std::regex("^spans: ([0-9]+) recorded \\(([0-9]+) by services, "
                                           "([0-9]+) by the driver\\) = (.+?)(, final flush "
                                           "timed out)?$"))) {
      saw_spans = true;
      const int64_t recorded = std::stoll(m[1].str());
      const int64_t by_services = std::stoll(m[2].str());
      const int64_t by_driver = std::stoll(m[3].str());
      EXPECT_EQ(by_services + by_driver, recorded) << line;
      const auto parts = NamedCounts(m[4].str(), " + ", true);
      EXPECT_EQ(Sum(parts), recorded) << line;
      const nlohmann::json& spans = json["spans"];
      ASSERT_TRUE(spans.is_object()) << json.dump(2);
      EXPECT_EQ(spans["recorded"], recorded);
      EXPECT_EQ(spans["recorded_by_services"], by_services);
      EXPECT_EQ(spans["recorded_by_driver"], by_driver);
      const std::map<std::string, std::string> field = {
          {"exported", "exported"},
          {"not exported (sampled out)", "sampled_out"},
          {"withheld by faults", "withheld_by_faults"},
          {"rejected by the backend", "rejected"},
          {"dropped (queue full)", "dropped_queue_full"},
          {"dropped (export failed)", "dropped_failed"},
          {"still in the exporter", "in_flight"}};
      int64_t json_sum = 0;
      for (const auto& [what, n] : parts) {
        auto f = field.find(what);
        if (f == field.end()) {
          ADD_FAILURE() << "unexpected span category \"" << what << "\": " << line;
          continue;
        }
        EXPECT_EQ(spans[f->second], n) << what;
      }
      for (const auto& [what, f] : field) json_sum += spans[f].get<int64_t>();
      EXPECT_EQ(json_sum, recorded) << spans.dump(2);
      EXPECT_EQ(spans["unaccounted"], 0) << spans.dump(2);
      // The same figures from the counters they come from.
      EXPECT_EQ(spans["recorded_by_services"], json["topology"]["spans_recorded"]);
      EXPECT_EQ(spans["sampled_out"], json["topology"]["spans_unsampled"]);
      EXPECT_EQ(spans["exported"], json["export"]["exported"]);
      EXPECT_EQ(json["export"]["submitted"].get<int64_t>(),
                recorded - spans["sampled_out"].get<int64_t>() -
                    spans["withheld_by_faults"].get<int64_t>())
          << json["export"].dump(2);
    } else if (std::regex_search(line, m,
                                 std::regex("^traces checked: ([0-9]+) · (.+?) \\([0-9]+ backend "
                                            "queries"))) {
      saw_traces = true;
      const int64_t checked = std::stoll(m[1].str());
      const auto parts = NamedCounts(m[2].str(), " · ", false);
      EXPECT_EQ(Sum(parts), checked) << line;
      const nlohmann::json& v = json["verification"];
      EXPECT_EQ(v["checked"], checked);
      const std::map<std::string, std::string> field = {{"complete", "complete"},
                                                        {"incomplete", "incomplete"},
                                                        {"broken", "broken"},
                                                        {"missing", "missing"},
                                                        {"evicted by the backend", "evicted"},
                                                        {"not exported", "not_exported"}};
      for (const auto& [what, n] : parts) {
        auto f = field.find(what);
        if (f == field.end()) {
          ADD_FAILURE() << "unexpected trace category \"" << what << "\": " << line;
          continue;
        }
        EXPECT_EQ(v[f->second], n) << what;
      }
      int64_t json_sum = 0;
      for (const auto& [what, f] : field) json_sum += v[f].get<int64_t>();
      EXPECT_EQ(json_sum, checked) << v.dump(2);
    }
  }
  EXPECT_TRUE(saw_load) << r.output;
  EXPECT_TRUE(saw_spans) << "no spans line that sums:\n" << r.output;
  EXPECT_TRUE(saw_traces) << r.output;
  // The kinds are listed whenever the driver recorded them for some transport errors.
  const nlohmann::json& kinds = json["load"]["transport_error_reasons"];
  EXPECT_EQ(saw_transport_kinds, kinds.is_array() && !kinds.empty() &&
                                     json["load"]["transport_errors"].get<int64_t>() > 0)
      << r.output;
}

INSTANTIATE_TEST_SUITE_P(Scenarios, SummarySumsTest, ::testing::ValuesIn(TopLevelScenarios()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           std::string id;
                           for (char c : info.param.substr(0, info.param.size() - 5)) {
                             id += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
                           }
                           return id;
                         });

}  // namespace
