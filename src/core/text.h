// Small ASCII text helpers shared by parsers of headers, query strings and environment values.
#pragma once

#include <string>
#include <string_view>

namespace tracerig {

// Without leading and trailing spaces and tabs (HTTP's optional whitespace).
inline std::string_view TrimSpaceAndTab(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// ASCII letters lowercased; every other byte unchanged.
inline std::string AsciiLowercase(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

}  // namespace tracerig
