// Why a command stops before its end, and the one place that turns that into the text on stderr
// and the exit code: a usage or scenario error exits 2, an infrastructure failure 3.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "core/result.h"

namespace tracerig {

enum class FailureKind {
  kUsage,           // bad flags, arguments, scenario or files the user named: exit 2
  kInfrastructure,  // something the command needs could not be started: exit 3
};

struct CommandFailure {
  FailureKind kind = FailureKind::kUsage;
  // Printed as "tracerig COMMAND: MESSAGE". Empty: the problem was printed where it was found
  // (a scenario's diagnostics, file:line:col).
  std::string message;
};

inline CommandFailure UsageError(std::string message) {
  return {FailureKind::kUsage, std::move(message)};
}
inline CommandFailure UsageError(const Error& error) { return UsageError(error.message); }
inline CommandFailure InfrastructureError(std::string message) {
  return {FailureKind::kInfrastructure, std::move(message)};
}
inline CommandFailure InfrastructureError(const Error& error) {
  return InfrastructureError(error.message);
}

// The failure an Error stands for, from its code: the user's input (invalid argument, not found) is
// a usage error; anything else (unavailable, a limit, an internal fault) an infrastructure failure.
inline CommandFailure FailureFrom(const Error& error) {
  const bool usage =
      error.code == ErrorCode::kInvalidArgument || error.code == ErrorCode::kNotFound;
  return usage ? UsageError(error.message) : InfrastructureError(error.message);
}

// A value, or the failure that stopped the command before it had one.
template <typename T>
class [[nodiscard]] OrFailure {
 public:
  // NOLINTNEXTLINE(google-explicit-constructor)
  OrFailure(T value) : v_(std::move(value)) {}
  // NOLINTNEXTLINE(google-explicit-constructor)
  OrFailure(CommandFailure failure) : v_(std::move(failure)) {}

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& operator*() { return std::get<0>(v_); }
  const T& operator*() const { return std::get<0>(v_); }
  T* operator->() { return &std::get<0>(v_); }
  const T* operator->() const { return &std::get<0>(v_); }
  const CommandFailure& failure() const { return std::get<1>(v_); }

 private:
  std::variant<T, CommandFailure> v_;
};

// What a command's body ends with: its exit code, or the failure that stopped it.
using CommandOutcome = OrFailure<int>;

// "tracerig COMMAND: MESSAGE" on stderr, for problems that do not stop the command.
void PrintCommandError(std::string_view command, std::string_view message);

// Prints the failure (unless it was printed already) and returns its exit code.
int ReportFailure(std::string_view command, const CommandFailure& failure);

// The exit code of `outcome`; a failure is reported first.
int ExitCodeOf(std::string_view command, const CommandOutcome& outcome);

}  // namespace tracerig
