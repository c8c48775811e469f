#include "broker/topic.h"

#include <vector>

namespace tracerig {
namespace {

std::vector<std::string_view> Words(std::string_view s) {
  std::vector<std::string_view> words;
  size_t start = 0;
  while (true) {
    const size_t dot = s.find('.', start);
    words.push_back(s.substr(start, dot == std::string_view::npos ? dot : dot - start));
    if (dot == std::string_view::npos) return words;
    start = dot + 1;
  }
}

// Classic wildcard matching with '#' as "any run of words": p and k index words.
bool Match(const std::vector<std::string_view>& pattern, size_t p,
           const std::vector<std::string_view>& key, size_t k) {
  while (p < pattern.size()) {
    if (pattern[p] == "#") {
      // Collapse consecutive '#', then try every split point.
      while (p < pattern.size() && pattern[p] == "#") ++p;
      if (p == pattern.size()) return true;
      for (size_t rest = k; rest <= key.size(); ++rest) {
        if (Match(pattern, p, key, rest)) return true;
      }
      return false;
    }
    if (k == key.size()) return false;
    if (pattern[p] != "*" && pattern[p] != key[k]) return false;
    ++p;
    ++k;
  }
  return k == key.size();
}

}  // namespace

bool TopicMatches(std::string_view pattern, std::string_view routing_key) {
  const std::vector<std::string_view> p = Words(pattern);
  // An empty routing key is zero words, not one empty word ("#" and "" match it).
  const std::vector<std::string_view> k =
      routing_key.empty() ? std::vector<std::string_view>{} : Words(routing_key);
  if (pattern.empty()) return routing_key.empty();
  return Match(p, 0, k, 0);
}

}  // namespace tracerig
