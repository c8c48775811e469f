// Runs the tracerig binary under test (TRACERIG_BINARY) from the source directory and collects its
// output, for the end-to-end tests.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <cstdio>
#include <fstream>
#include <functional>
#include <iterator>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace tracerig::testing {

struct ProcessResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr interleaved
};

namespace detail {

// In a forked child: becomes the tracerig binary under test with `args`, in the source directory.
[[noreturn]] inline void ExecTracerig(const std::vector<std::string>& args) {
  if (chdir(TRACERIG_SOURCE_DIR) != 0) _exit(127);
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(TRACERIG_BINARY));
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  execv(TRACERIG_BINARY, argv.data());
  _exit(127);
}

// Starts the tracerig binary with `args` from the source directory, its stdout (and its stderr,
// unless `stderr_path` names a file for it) into a pipe. The child's pid and the pipe's read end;
// pid -1 when the pipe could not be made.
inline std::pair<pid_t, int> StartTracerig(const std::vector<std::string>& args,
                                           const std::string& stderr_path) {
  int pipefd[2];
  if (pipe(pipefd) != 0) return {-1, -1};
  pid_t pid = fork();
  if (pid == 0) {
    int err_fd = pipefd[1];
    if (!stderr_path.empty()) {
      FILE* err = std::fopen(stderr_path.c_str(), "w");
      if (err == nullptr) _exit(127);
      err_fd = fileno(err);
    }
    dup2(pipefd[1], STDOUT_FILENO);
    dup2(err_fd, STDERR_FILENO);
    close(pipefd[0]);
    close(pipefd[1]);
    ExecTracerig(args);
  }
  close(pipefd[1]);
  return {pid, pipefd[0]};
}

// Reads `fd` to its end into `out` (calling `on_read` after every read), closes it and waits for
// `pid`: its exit code, or 128 + the signal that ended it.
inline int ReadAndWait(pid_t pid, int fd, std::string& out,
                       const std::function<void(pid_t, const std::string&)>& on_read = {}) {
  char buf[4096];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (on_read) on_read(pid, out);
  }
  close(fd);
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace detail

// Runs the tracerig binary with `args`, from the source directory. `on_output` sees the output so
// far after every read and may signal the process (for Ctrl-C tests).
inline ProcessResult RunTracerig(
    const std::vector<std::string>& args,
    const std::function<void(pid_t, const std::string&)>& on_output = {}) {
  const auto [pid, fd] = detail::StartTracerig(args, "");
  if (pid < 0) return {};
  ProcessResult result;
  result.exit_code = detail::ReadAndWait(pid, fd, result.output, on_output);
  return result;
}

struct SplitResult {
  int exit_code = -1;
  std::string out;  // stdout
  std::string err;  // stderr
};

// Runs the tracerig binary with `args`, from the source directory, keeping stdout and stderr
// apart: stderr goes to `stderr_file` (a file, so neither pipe can fill while the other is read).
inline SplitResult RunTracerigSplit(const std::vector<std::string>& args,
                                    const std::filesystem::path& stderr_file) {
  const auto [pid, fd] = detail::StartTracerig(args, stderr_file.string());
  if (pid < 0) return {};
  SplitResult result;
  result.exit_code = detail::ReadAndWait(pid, fd, result.out);
  std::ifstream in(stderr_file, std::ios::binary);
  result.err.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return result;
}

// The JSON file named `file_name` somewhere under `dir` (a run writes one per report folder);
// null when there is none.
inline nlohmann::json ReadJsonUnder(const std::filesystem::path& dir, std::string_view file_name) {
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    if (entry.path().filename() == file_name) {
      std::ifstream in(entry.path());
      return nlohmann::json::parse(in);
    }
  }
  return nullptr;
}

}  // namespace tracerig::testing
