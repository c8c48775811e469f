// Reading the files tests compare against: fixtures inside this repository (a missing one fails
// the test, naming its path) and the real payloads in ../shared/fixtures (tests skip, saying why,
// when ../shared is absent: it is not part of this repository).
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>

namespace tracerig::test_support {

// The file's bytes, or nullopt when it cannot be read; the caller decides whether that fails.
inline std::optional<std::string> ReadTestFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// `relative` inside the source tree ("scenarios/quickstart.toml").
inline std::string RepoPath(std::string_view relative) {
  return std::string(TRACERIG_SOURCE_DIR) + "/" + std::string(relative);
}

// A file that is part of this repository. A missing one fails the test, naming its path, and gives
// nullopt so the caller can stop with ASSERT_TRUE(text).
inline std::optional<std::string> ReadRepoFile(std::string_view relative) {
  const std::string path = RepoPath(relative);
  auto text = ReadTestFile(path);
  if (!text) ADD_FAILURE() << "missing fixture " << path << " (it is part of the repository)";
  return text;
}

inline std::string SharedDir() { return TRACERIG_SHARED_DIR; }

inline bool SharedDirPresent() {
  std::error_code ec;
  return std::filesystem::is_directory(SharedDir(), ec);
}

// Why a test needing ../shared skips.
inline std::string SharedDirAbsent() {
  return "../shared is absent (" + SharedDir() + "): the shared fixtures are not available";
}

inline std::string SharedFixturePath(std::string_view name) {
  return SharedDir() + "/fixtures/" + std::string(name);
}

}  // namespace tracerig::test_support

// Skips the test when ../shared is absent (it lives outside the repository); once it is there, a
// missing file fails the test, naming its path.
#define TRACERIG_SKIP_WITHOUT_SHARED_DIR()           \
  if (!::tracerig::test_support::SharedDirPresent()) \
  GTEST_SKIP() << ::tracerig::test_support::SharedDirAbsent()

// Declares `const std::string var` holding ../shared/fixtures/<name>, skipping or failing the test
// as TRACERIG_SKIP_WITHOUT_SHARED_DIR says.
#define TRACERIG_SHARED_FIXTURE(var, name)                                                       \
  TRACERIG_SKIP_WITHOUT_SHARED_DIR();                                                            \
  const std::optional<std::string> var##_file =                                                  \
      ::tracerig::test_support::ReadTestFile(::tracerig::test_support::SharedFixturePath(name)); \
  ASSERT_TRUE(var##_file.has_value())                                                            \
      << "missing fixture " << ::tracerig::test_support::SharedFixturePath(name);                \
  const std::string& var = *var##_file
