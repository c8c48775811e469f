// Test doubles for the backend clients: an HttpFetcher answering from a script (recording every
// target it was asked for) and the reader of ../shared/fixtures files.
#pragma once

#include <deque>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "verifier/backend_client.h"

namespace tracerig {

// The fixture's bytes, or nullopt when ../shared is absent (tests then GTEST_SKIP).
inline std::optional<std::string> ReadSharedFixture(const std::string& name) {
  std::ifstream in(std::string(TRACERIG_SHARED_DIR) + "/fixtures/" + name, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Answers from a script, one per call, and remembers what was asked.
class ScriptedFetcher final : public HttpFetcher {
 public:
  explicit ScriptedFetcher(std::vector<std::string>* targets) : targets_(targets) {}
  void Answer(unsigned status, std::string body) {
    answers_.push_back(FetchResponse{status, std::move(body)});
  }
  // A transport failure, as BlockingHttpFetcher reports one (refused, reset, timeout).
  void Fail(std::string reason) { answers_.push_back(MakeError(std::move(reason))); }
  Result<FetchResponse> Get(std::string_view target) override {
    targets_->emplace_back(target);
    if (answers_.empty()) return MakeError("no scripted answer");
    Result<FetchResponse> next = answers_.front();
    answers_.pop_front();
    return next;
  }

 private:
  std::vector<std::string>* targets_;
  std::deque<Result<FetchResponse>> answers_;
};

}  // namespace tracerig
