// A server a test starts as a child process in a process group of its own (so stopping it reaches
// every process it started: a shell script and its VM, say), its output in a log file, dying with
// the test. Shared by the private RabbitMQ node and Prometheus server.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

namespace tracerig::test_support {

// Starts args[0] (an absolute path) with `args`, in `dir`, stdout and stderr into `log`; with
// `env` (KEY=VALUE each) as its whole environment when given, else this process's. The child's
// pid, or -1 with `error` set.
inline pid_t SpawnInOwnGroup(std::vector<std::string> args, const std::filesystem::path& dir,
                             const std::filesystem::path& log, std::string& error,
                             const std::vector<std::string>* env = nullptr) {
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_copy = env != nullptr ? *env : std::vector<std::string>{};
  std::vector<char*> envp;
  for (auto& e : env_copy) envp.push_back(e.data());
  envp.push_back(nullptr);

  const int out = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (out < 0) {
    error = "cannot create " + log.string();
    return -1;
  }
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) {
    close(out);
    error = "fork failed";
    return -1;
  }
  if (pid == 0) {
    // Its own process group, so StopProcessGroup reaches all of it; dies with the test (a script
    // in between, such as runuser, passes SIGTERM on).
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent) _exit(127);
    dup2(out, STDOUT_FILENO);
    dup2(out, STDERR_FILENO);
    if (chdir(dir.c_str()) != 0) _exit(127);
    if (env != nullptr) {
      execve(argv[0], argv.data(), envp.data());
    } else {
      execv(argv[0], argv.data());
    }
    _exit(127);
  }
  close(out);
  setpgid(pid, pid);  // also from the parent, so kill(-pid) works however the race goes
  return pid;
}

// SIGTERM to the group, up to `grace` for its leader to exit, then SIGKILL to whatever of the
// group is left (all of it after the grace); reaps the leader. No-op for pid <= 0.
inline void StopProcessGroup(pid_t pid, std::chrono::seconds grace) {
  if (pid <= 0) return;
  kill(-pid, SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + grace;
  bool exited = false;
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) {
      exited = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  kill(-pid, SIGKILL);
  if (!exited) waitpid(pid, nullptr, 0);
}

}  // namespace tracerig::test_support
