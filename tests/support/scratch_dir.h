// Fresh directories for what a test writes (reports, certificates, browser output), under gtest's
// temp dir.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <string>
#include <string_view>

namespace tracerig::test_support {

// A new directory `prefix`-XXXXXX under the test temp dir; empty if it could not be made. The
// caller removes it.
inline std::filesystem::path MakeScratchDir(std::string_view prefix) {
  std::string tmpl =
      (std::filesystem::path(::testing::TempDir()) / (std::string(prefix) + "-XXXXXX")).string();
  if (mkdtemp(tmpl.data()) == nullptr) return {};
  return tmpl;
}

}  // namespace tracerig::test_support
