// Small helpers for decoders that read parsed JSON (OTLP/JSON, Zipkin v2 JSON); templates so
// they serve nlohmann::json and nlohmann::ordered_json alike.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace tracerig {

// A short rendering of an offending value for error messages.
template <typename JsonT>
std::string JsonPreview(const JsonT& v) {
  std::string text = v.dump(-1, ' ', false, JsonT::error_handler_t::replace);
  constexpr size_t kMax = 48;
  if (text.size() > kMax) text = text.substr(0, kMax) + "...";
  return text;
}

// The member, or nullptr when absent or null (proto3 JSON and Zipkin: null means default).
template <typename JsonT>
const JsonT* JsonMember(const JsonT& object, const char* key) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return nullptr;
  return &*it;
}

}  // namespace tracerig
