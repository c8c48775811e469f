#include "cli/interrupt.h"

#include <signal.h>

#include <csignal>
#include <cstring>
#include <unistd.h>

namespace tracerig {
namespace {

std::atomic<bool> g_interrupted{false};
const char* g_first_message = "";
size_t g_first_message_size = 0;
std::atomic<pid_t> g_process_groups[32];

extern "C" void OnSignal(int) {
  if (g_interrupted.exchange(true)) {
    static const char kMessage[] = "\ntracerig: interrupted twice, exiting now\n";
    (void)!write(STDERR_FILENO, kMessage, sizeof kMessage - 1);
    for (auto& group : g_process_groups) {
      const pid_t g = group.load();
      if (g > 0) kill(-g, SIGKILL);
    }
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

void KillOnForcedExit(pid_t process_group) {
  for (auto& group : g_process_groups) {
    pid_t empty = 0;
    if (group.compare_exchange_strong(empty, process_group)) return;
  }
}

void ForgetOnForcedExit(pid_t process_group) {
  for (auto& group : g_process_groups) {
    pid_t expected = process_group;
    if (group.compare_exchange_strong(expected, 0)) return;
  }
}

}  // namespace tracerig
