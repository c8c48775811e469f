// Checking the report folder before a run, and hashing its scenario file for the ledger.
#include "cli/run_files.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

#include <fmt/format.h>

#include "driver/ledger_io.h"

namespace tracerig {

Status CheckReportDir(const std::string& dir) {
  namespace fs = std::filesystem;
  // The deepest part of the path that exists must be a directory we may write in; what is below
  // it is created when the reports are written.
  fs::path existing = dir.empty() ? fs::path(".") : fs::path(dir);
  std::error_code ec;
  while (!existing.empty() && !fs::exists(existing, ec)) existing = existing.parent_path();
  if (existing.empty()) existing = ".";
  if (!fs::is_directory(existing, ec)) {
    if (existing == fs::path(dir)) {
      return MakeError(fmt::format("--report-dir \"{}\": not a directory", dir));
    }
    return MakeError(fmt::format("--report-dir \"{}\": cannot create it: {} is not a directory",
                                 dir, existing.string()));
  }
  if (access(existing.c_str(), W_OK | X_OK) != 0) {
    return MakeError(fmt::format("--report-dir \"{}\": cannot write in {}: {}", dir,
                                 existing.string(), std::strerror(errno)));
  }
  return Ok{};
}

std::string ScenarioFileHash(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  std::stringstream text;
  text << in.rdbuf();
  return ScenarioContentHash(text.str());
}

}  // namespace tracerig
