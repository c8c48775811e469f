// The live progress line on stderr: rewritten in place on a terminal (at most 5 times a second),
// one line every 5 seconds in CI logs.
#pragma once

#include <chrono>
#include <string>

namespace tracerig {

class ProgressPrinter {
 public:
  explicit ProgressPrinter(bool quiet);
  // `force` prints regardless of the interval (a final state).
  void Line(const std::string& text, bool force = false);
  // Ends a line rewritten in place; the next Line prints at once.
  void Done();
  bool tty() const { return tty_; }

 private:
  bool quiet_;
  bool tty_;
  std::chrono::steady_clock::duration interval_;
  std::chrono::steady_clock::time_point last_;
  bool printed_once_ = false;
  bool dirty_ = false;
};

}  // namespace tracerig
