// Reads a file for a test; nullopt when it does not exist (tests decide whether to skip or fail).
#pragma once

#include <fstream>
#include <optional>
#include <sstream>
#include <string>

namespace tracerig {

inline std::optional<std::string> ReadTestFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

}  // namespace tracerig
