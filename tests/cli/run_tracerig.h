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
#include <vector>

#include <nlohmann/json.hpp>

namespace tracerig::testing {

struct ProcessResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr interleaved
};

// Runs the tracerig binary with `args`, from the source directory. `on_output` sees the output so
// far after every read and may signal the process (for Ctrl-C tests).
inline ProcessResult RunTracerig(
    const std::vector<std::string>& args,
    const std::function<void(pid_t, const std::string&)>& on_output = {}) {
  int pipefd[2];
  if (pipe(pipefd) != 0) return {};
  pid_t pid = fork();
  if (pid == 0) {
    dup2(pipefd[1], STDOUT_FILENO);
    dup2(pipefd[1], STDERR_FILENO);
    close(pipefd[0]);
    close(pipefd[1]);
    if (chdir(TRACERIG_SOURCE_DIR) != 0) _exit(127);
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(TRACERIG_BINARY));
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(TRACERIG_BINARY, argv.data());
    _exit(127);
  }
  close(pipefd[1]);
  ProcessResult result;
  char buf[4096];
  for (;;) {
    ssize_t n = read(pipefd[0], buf, sizeof buf);
    if (n <= 0) break;
    result.output.append(buf, static_cast<size_t>(n));
    if (on_output) on_output(pid, result.output);
  }
  close(pipefd[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
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
  int pipefd[2];
  if (pipe(pipefd) != 0) return {};
  const std::string err_path = stderr_file.string();
  pid_t pid = fork();
  if (pid == 0) {
    FILE* err = std::fopen(err_path.c_str(), "w");
    if (err == nullptr) _exit(127);
    dup2(pipefd[1], STDOUT_FILENO);
    dup2(fileno(err), STDERR_FILENO);
    close(pipefd[0]);
    close(pipefd[1]);
    if (chdir(TRACERIG_SOURCE_DIR) != 0) _exit(127);
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(TRACERIG_BINARY));
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(TRACERIG_BINARY, argv.data());
    _exit(127);
  }
  close(pipefd[1]);
  SplitResult result;
  char buf[4096];
  for (;;) {
    ssize_t n = read(pipefd[0], buf, sizeof buf);
    if (n <= 0) break;
    result.out.append(buf, static_cast<size_t>(n));
  }
  close(pipefd[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
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
