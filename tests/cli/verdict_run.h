// Runs a library scenario through the real binary and checks its report.json against the verdict
// its header states (verdict_header.h): the exit code, exactly the failing checks, some work
// verified, and the named edge. Shared by the realworld and messaging end-to-end tests.
#pragma once

#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/cli/run_tracerig.h"
#include "tests/cli/verdict_header.h"

namespace tracerig::testing {

// `library` is the scenario's folder under the source tree; `extra` goes after the run's own
// arguments (e.g. {"--broker", url}). Reports go under `dir`.
inline void RunAndExpectVerdict(const std::string& library, const Expectation& e,
                                const std::filesystem::path& dir,
                                const std::vector<std::string>& extra = {}) {
  ASSERT_TRUE(e.error.empty()) << e.file << ": " << e.error;
  const std::string who = e.report.empty() ? e.file : e.file + " (" + e.report + ")";
  std::vector<std::string> args = {"run", library + "/" + e.file, "--quiet", "--report-dir",
                                   dir.string()};
  args.insert(args.end(), extra.begin(), extra.end());
  auto r = RunTracerig(args);
  ASSERT_EQ(r.exit_code, e.exit_code) << who << "\n" << r.output;
  nlohmann::json report = ReadJsonUnder(dir, "report.json");
  ASSERT_TRUE(report.is_object()) << "no report.json\n" << r.output;
  std::set<std::string> failed;
  for (const auto& check : report["checks"]) {
    if (!check["passed"].get<bool>()) failed.insert(check["name"].get<std::string>());
  }
  EXPECT_EQ(failed, e.failed_checks) << who << "\n" << report["checks"].dump(1);
  EXPECT_GT(report["verification"]["checked"].get<int>(), 0) << report["verification"].dump();
  if (!e.caller.empty()) {
    std::string looked_at;
    EXPECT_TRUE(NamesEdge(report, e, looked_at))
        << "the report does not name " << e.caller << " -> " << e.callee
        << (e.hop.empty() ? "" : " (hop " + e.hop + ")") << "; it says:\n"
        << looked_at;
  }
}

}  // namespace tracerig::testing
