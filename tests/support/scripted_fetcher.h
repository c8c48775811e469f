// An HttpFetcher answering from a script, for the backend clients' tests: no sockets, and every
// target it was asked for is recorded.
#pragma once

#include <deque>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "verifier/backend_client.h"

namespace tracerig::test_support {

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

}  // namespace tracerig::test_support
