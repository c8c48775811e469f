// Small ASCII text helpers shared by parsers of headers, query strings and environment values.
#pragma once

#include <cstddef>
#include <span>
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

// Levenshtein distance (insertions, deletions, substitutions).
size_t EditDistance(std::string_view a, std::string_view b);

// " (did you mean "x"?)" for the closest candidate within a third of the name's length (at least
// `min_edits`), or "" when nothing is close enough to be a plausible typo. A candidate that would
// need as many edits as it has characters is never suggested.
std::string DidYouMean(std::string_view name, std::span<const std::string_view> candidates,
                       size_t min_edits = 1);

}  // namespace tracerig
