// ProgressPrinter: a terminal gets the line rewritten in place, a log gets whole lines.
#include "cli/progress_printer.h"

#include <unistd.h>

#include <cstdio>

namespace tracerig {

ProgressPrinter::ProgressPrinter(bool quiet)
    : quiet_(quiet),
      tty_(isatty(STDERR_FILENO) == 1),
      interval_(tty_ ? std::chrono::milliseconds(200) : std::chrono::milliseconds(5000)) {}

void ProgressPrinter::Line(const std::string& text, bool force) {
  if (quiet_) return;
  auto now = std::chrono::steady_clock::now();
  if (!force && printed_once_ && now - last_ < interval_) return;
  last_ = now;
  printed_once_ = true;
  if (tty_) {
    std::fprintf(stderr, "\r\033[K%s", text.c_str());
    dirty_ = true;
  } else {
    std::fprintf(stderr, "%s\n", text.c_str());
  }
}

void ProgressPrinter::Done() {
  if (dirty_) std::fputc('\n', stderr);
  dirty_ = false;
  printed_once_ = false;
}

}  // namespace tracerig
