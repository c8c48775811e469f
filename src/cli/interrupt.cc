#include "cli/interrupt.h"

#include <csignal>
#include <cstring>
#include <unistd.h>

namespace tracerig {
namespace {

std::atomic<bool> g_interrupted{false};
const char* g_first_message = "";
size_t g_first_message_size = 0;

extern "C" void OnSignal(int) {
  if (g_interrupted.exchange(true)) {
    static const char kMessage[] = "\ntracerig: interrupted twice, exiting now\n";
    (void)!write(STDERR_FILENO, kMessage, sizeof kMessage - 1);
    _exit(130);
  }
  (void)!write(STDERR_FILENO, g_first_message, g_first_message_size);
}

}  // namespace

const std::atomic<bool>& InstallInterruptHandler(const char* first_message) {
  g_first_message = first_message;
  g_first_message_size = std::strlen(first_message);
  struct sigaction action {};
  action.sa_handler = OnSignal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  return g_interrupted;
}

bool Interrupted() { return g_interrupted.load(); }

}  // namespace tracerig
