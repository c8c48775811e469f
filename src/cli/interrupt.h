// Ctrl-C handling for long commands: the first SIGINT/SIGTERM asks the work to stop gracefully
// (stop load, flush, verify what was sent, report); a second one exits at once with code 130.
#pragma once

#include <sys/types.h>

#include <atomic>

namespace tracerig {

// Installs the handlers. The returned flag becomes true at the first signal, when `first_message`
// (a string literal: it is written from the signal handler) is printed on stderr.
const std::atomic<bool>& InstallInterruptHandler(const char* first_message);

inline constexpr const char* kRunInterruptMessage =
    "\ntracerig: stopping load; flushing, verifying what was sent and writing the report "
    "(Ctrl-C again to exit at once)\n";
inline constexpr const char* kStopInterruptMessage =
    "\ntracerig: stopping (Ctrl-C again to exit at once)\n";
bool Interrupted();

// Process groups (services tracerig started) the second signal kills before tracerig exits, so
// none outlives it. At most 32 at a time; more are still stopped by their owner, just not then.
void KillOnForcedExit(pid_t process_group);
void ForgetOnForcedExit(pid_t process_group);

}  // namespace tracerig
