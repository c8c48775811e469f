// Ctrl-C handling for long commands: the first SIGINT/SIGTERM asks the work to stop gracefully
// (stop load, flush, verify what was sent, report); a second one exits at once with code 130.
#pragma once

#include <atomic>

namespace tracerig {

// Installs the handlers. The returned flag becomes true at the first signal.
const std::atomic<bool>& InstallInterruptHandler();
bool Interrupted();

}  // namespace tracerig
