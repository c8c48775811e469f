#include "cli/interrupt.h"

#include <csignal>
#include <unistd.h>

namespace tracerig {
namespace {

std::atomic<bool> g_interrupted{false};

extern "C" void OnSignal(int) {
  if (g_interrupted.exchange(true)) {
    static const char kMessage[] = "\ntracerig: interrupted twice, exiting now\n";
    (void)!write(STDERR_FILENO, kMessage, sizeof kMessage - 1);
    _exit(130);
  }
  static const char kMessage[] =
      "\ntracerig: stopping load; flushing, verifying what was sent and writing the report "
      "(Ctrl-C again to exit at once)\n";
  (void)!write(STDERR_FILENO, kMessage, sizeof kMessage - 1);
}

}  // namespace

const std::atomic<bool>& InstallInterruptHandler() {
  struct sigaction action {};
  action.sa_handler = OnSignal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  return g_interrupted;
}

bool Interrupted() { return g_interrupted.load(); }

}  // namespace tracerig
