// The documentation against the real binary's --help: docs/CLI.md is every command's --help
// verbatim (TRACERIG_UPDATE_GOLDEN=1 regenerates it), and every --flag that README.md or docs/
// give a command is one that command accepts.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "tests/cli/run_tracerig.h"
#include "tests/support/fixtures.h"

namespace {

namespace fs = std::filesystem;
using tracerig::test_support::ReadRepoFile;
using tracerig::test_support::RepoPath;
using tracerig::testing::RunTracerig;

// Every command and subcommand, as typed after "tracerig".
const std::vector<std::string> kCommands = {"run",          "validate",      "serve",
                                            "canary",       "backend",       "verify",
                                            "conformance-service",           "report merge",
                                            "report diff",  "report render"};

std::vector<std::string> Words(const std::string& command) {
  std::vector<std::string> words;
  std::istringstream in(command);
  for (std::string w; in >> w;) words.push_back(w);
  return words;
}

std::string Help(const std::string& command) {
  std::vector<std::string> args = Words(command);
  args.push_back("--help");
  auto r = RunTracerig(args);
  EXPECT_EQ(r.exit_code, 0) << command << ": " << r.output;
  return r.output;
}

// The flags of a --help text's "Flags:" section, without --help.
std::set<std::string> FlagsOf(const std::string& help) {
  std::set<std::string> flags;
  static const std::regex kFlagLine(R"(^  (--[a-z0-9-]+))");
  std::istringstream in(help.substr(help.find("\nFlags:\n")));
  for (std::string line; std::getline(in, line);) {
    std::smatch m;
    if (std::regex_search(line, m, kFlagLine) && m[1] != "--help") flags.insert(m[1]);
  }
  return flags;
}

// docs/CLI.md as the binary describes itself.
std::string GenerateCliReference() {
  std::string out =
      "# Command-line reference\n\n"
      "Every command's `--help`, verbatim. Generated from the binary and checked by\n"
      "`tests/cli/cli_docs_e2e_test.cc`; after changing a flag or a help text, regenerate it with\n"
      "`TRACERIG_UPDATE_GOLDEN=1 build/tests/cli/cli_docs_e2e_test` and review the diff.\n\n"
      "## `tracerig help`\n\n```text\n";
  out += RunTracerig({"help"}).output;
  out += "```\n";
  for (const std::string& command : kCommands) {
    out += "\n## `tracerig " + command + "`\n\n```text\n" + Help(command) + "```\n";
  }
  return out;
}

TEST(CliDocsTest, CliReferenceIsEveryCommandsHelp) {
  const std::string generated = GenerateCliReference();
  const std::string path = RepoPath("docs/CLI.md");
  const char* update = std::getenv("TRACERIG_UPDATE_GOLDEN");
  if (update != nullptr && std::string(update) == "1") {
    std::ofstream(path, std::ios::binary | std::ios::trunc) << generated;
    FAIL() << "rewrote " << path << " because TRACERIG_UPDATE_GOLDEN=1: review the diff, then "
           << "rerun without TRACERIG_UPDATE_GOLDEN (this run cannot pass)";
  }
  auto documented = ReadRepoFile("docs/CLI.md");
  ASSERT_TRUE(documented.has_value());
  EXPECT_EQ(*documented, generated)
      << "docs/CLI.md differs from the binary's --help texts; regenerate it with "
         "TRACERIG_UPDATE_GOLDEN=1 build/tests/cli/cli_docs_e2e_test and review the diff";
}

// Other programs' flags the docs mention (Chromium for the HTML report, perf): not tracerig's.
// Chromium's and perf's in the report and performance docs; docker's and Prometheus' (as in
// --config.file, --storage.tsdb.path, --web.listen-address) in docs/CANARY.md.
const std::set<std::string> kOtherProgramsFlags = {
    "--headless", "--screenshot", "--window-size", "--dump-dom", "--call-graph",
    "--name",     "--config",     "--storage",     "--web"};

TEST(CliDocsTest, EveryFlagTheDocsGiveACommandExists) {
  std::map<std::string, std::set<std::string>> flags;
  std::set<std::string> all;
  for (const std::string& command : kCommands) {
    flags[command] = FlagsOf(Help(command));
    EXPECT_FALSE(command != "validate" && flags[command].empty()) << command;
    all.insert(flags[command].begin(), flags[command].end());
  }
  std::vector<std::string> files = {"README.md"};
  for (const auto& entry : fs::directory_iterator(RepoPath("docs"))) {
    const std::string name = entry.path().filename().string();
    if (entry.path().extension() == ".md" && name != "CLI.md") files.push_back("docs/" + name);
  }
  // --name (not --name_: Google Benchmark's flags); "tracerig CMD" and "`CMD` takes" name whose
  // flags follow, until the end of the line (or of a code span, a table cell, a "\" continuation).
  static const std::regex kToken(
      R"(--[a-z][a-z0-9-]*(?![a-z0-9_-])|tracerig (?:report (?:merge|diff|render)|run|validate|serve|canary|backend|verify|conformance-service)\b|`(?:run|serve|canary|verify|backend)` takes)");
  size_t checked = 0;
  for (const std::string& file : files) {
    auto text = ReadRepoFile(file);
    ASSERT_TRUE(text.has_value()) << file;
    std::istringstream in(*text);
    std::string owner;            // the command the flags on this line belong to
    std::string paragraph_owner;  // "`serve` takes ..." lasts until the paragraph ends
    std::string table_owner;      // README's "Flags of `run`" table
    int line_number = 0;
    bool continued = false;
    for (std::string line; std::getline(in, line);) {
      ++line_number;
      if (line.empty()) paragraph_owner.clear();
      if (!continued) owner.clear();
      if (line.find("Flags of `run`") != std::string::npos) {
        table_owner = "run";
      } else if (!line.empty() && !line.starts_with("|")) {
        table_owner.clear();
      }
      if (line.starts_with("|") && !table_owner.empty()) paragraph_owner = table_owner;
      continued = !line.empty() && line.back() == '\\';
      for (auto it = std::sregex_iterator(line.begin(), line.end(), kToken);
           it != std::sregex_iterator(); ++it) {
        const std::string token = it->str();
        const std::string where = file + ":" + std::to_string(line_number) + ": ";
        if (token.starts_with("tracerig ")) {
          owner = token.substr(9);
          continue;
        }
        if (token.starts_with("`")) {
          paragraph_owner = token.substr(1, token.find('`', 1) - 1);
          owner.clear();
          continue;
        }
        if (kOtherProgramsFlags.count(token) > 0 || token == "--help") continue;
        // A mistyped flag quoted in an example of tracerig's own error message.
        constexpr std::string_view kUnknownFlag = "unknown flag \"";
        const size_t at = static_cast<size_t>(it->position());
        if (at >= kUnknownFlag.size() &&
            std::string_view(line).substr(at - kUnknownFlag.size(), kUnknownFlag.size()) ==
                kUnknownFlag) {
          continue;
        }
        EXPECT_TRUE(all.count(token) > 0) << where << token << " is no flag of any command";
        const std::string& who = owner.empty() ? paragraph_owner : owner;
        if (!who.empty()) {
          EXPECT_TRUE(flags[who].count(token) > 0)
              << where << token << " is documented for `tracerig " << who
              << "`, which does not take it";
          ++checked;
        }
      }
      // A code span or table cell ends what "tracerig CMD" started.
      if (!continued && line.find("tracerig ") == std::string::npos) owner.clear();
    }
  }
  EXPECT_GT(checked, 30u);
}

// The --help texts name what the code accepts (each list is built from the parsers' tables; the
// unit tests in backend_plan_test.cc check those lists against PlanBackend).
TEST(CliDocsTest, HelpNamesWhatTheCodeAccepts) {
  const std::string run = Help("run");
  const std::string serve = Help("serve");
  for (const std::string* help : {&run, &serve}) {
    for (const char* form : {"otlp-grpc://", "otlp-grpcs://", "otlp-https://", "https://",
                             "otlp-https-json://", "zipkin+https://", "tracerig://"}) {
      EXPECT_NE(help->find(form), std::string::npos) << form << " in\n" << *help;
    }
    EXPECT_NE(help->find("otlp-http, otlp-http-json, otlp-grpc, zipkin"), std::string::npos)
        << *help;
  }
  EXPECT_NE(Help("verify").find("tracerig://"), std::string::npos);
  const std::string conformance = Help("conformance-service");
  EXPECT_EQ(conformance.find("7777"), std::string::npos) << conformance;
  EXPECT_NE(conformance.find("http://127.0.0.1:7779/test"), std::string::npos) << conformance;
  const std::string top = RunTracerig({"help"}).output;
  EXPECT_NE(top.find("OTLP/gRPC, OTLP/HTTP and Zipkin in"), std::string::npos) << top;
}

}  // namespace
