// A RetryWaiter for exporter tests: records the delays the exporter asks for and returns at once,
// so tests check which backoff was chosen without sleeping.
#pragma once

#include <chrono>
#include <cstdint>
#include <vector>

#include "export/exporter.h"

namespace tracerig::testing {

class RecordingWaiter final : public RetryWaiter {
 public:
  explicit RecordingWaiter(std::vector<uint64_t>* delays) : delays_(delays) {}
  bool Wait(std::chrono::milliseconds delay) override {
    delays_->push_back(static_cast<uint64_t>(delay.count()));
    return true;
  }
  void Interrupt() override {}

 private:
  std::vector<uint64_t>* delays_;  // written by the exporter thread; read after Shutdown
};

}  // namespace tracerig::testing
