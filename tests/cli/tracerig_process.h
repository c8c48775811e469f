// The tracerig binary under test (TRACERIG_BINARY) as a long-running child process, for end-to-end
// tests that talk to it while it runs (`tracerig canary`, `tracerig backend`): its output goes to a
// file the test reads as it grows, and the test signals it, checks it is alive and waits for it.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "tests/cli/run_tracerig.h"

namespace tracerig::testing {

class TracerigProcess {
 public:
  // Starts the binary with `args` from the source directory, stdout and stderr into `log`. It is
  // killed if the test process dies. started() says whether the fork worked.
  TracerigProcess(const std::vector<std::string>& args, std::filesystem::path log)
      : log_(std::move(log)) {
    const int out = open(log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (out < 0) return;
    const pid_t parent = getpid();
    const pid_t pid = fork();
    if (pid == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != parent) _exit(127);
      dup2(out, STDOUT_FILENO);
      dup2(out, STDERR_FILENO);
      detail::ExecTracerig(args);
    }
    close(out);
    pid_ = pid;
  }
  ~TracerigProcess() {
    if (pid_ > 0 && !exit_code_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  TracerigProcess(const TracerigProcess&) = delete;
  TracerigProcess& operator=(const TracerigProcess&) = delete;

  bool started() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }

  // Everything it has written so far.
  std::string Output() const {
    std::ifstream in(log_, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }

  // Polls the output until `pattern` matches (its groups: [0] the match, [1].. the captures), the
  // process exits or `timeout` passes (nullopt).
  std::optional<std::vector<std::string>> WaitForOutput(const std::regex& pattern,
                                                        std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
      const std::string output = Output();
      std::smatch m;
      if (std::regex_search(output, m, pattern)) {
        std::vector<std::string> groups;
        for (const auto& g : m) groups.push_back(g.str());
        return groups;
      }
      if (!Alive() || std::chrono::steady_clock::now() >= deadline) return std::nullopt;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }

  // Whether it is still running (reaps it when it has exited).
  bool Alive() {
    if (pid_ <= 0 || exit_code_) return false;
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      return false;
    }
    return true;
  }

  void Signal(int signal) {
    if (Alive()) kill(pid_, signal);
  }

  // Waits up to `timeout` for it to exit: its exit code, or 128 + the signal that ended it; nullopt
  // while it still runs.
  std::optional<int> WaitForExit(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (Alive()) {
      if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return exit_code_;
  }

 private:
  std::filesystem::path log_;
  pid_t pid_ = -1;
  std::optional<int> exit_code_;
};

}  // namespace tracerig::testing
