// Result<T>: a value or an error with a code and a human-readable reason. Used on hot and network
// paths instead of exceptions (std::expected is C++23; this is the small subset we need).
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace tracerig {

// What kind of failure an Error is, after gRPC's status codes. Decisions (413 or 400, exit 3 or 1)
// come from the code; the message is for people and may change.
enum class ErrorCode {
  kUnknown,            // not classified by whoever made the error (the MakeError(message) default)
  kInvalidArgument,    // the input is malformed or breaks a rule: fixing the input fixes it
  kResourceExhausted,  // a size or count limit was exceeded
  kUnavailable,        // a peer could not be reached or answered garbage; may pass on retry
  kNotFound,           // the thing asked for does not exist
  kInternal,           // an invariant of tracerig's own broke
};

// "invalid argument", "unavailable", ...: for tests and diagnostics, never parsed back.
constexpr std::string_view ErrorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::kUnknown:
      return "unknown";
    case ErrorCode::kInvalidArgument:
      return "invalid argument";
    case ErrorCode::kResourceExhausted:
      return "resource exhausted";
    case ErrorCode::kUnavailable:
      return "unavailable";
    case ErrorCode::kNotFound:
      return "not found";
    case ErrorCode::kInternal:
      return "internal";
  }
  return "unknown";
}

struct Error {
  std::string message;
  ErrorCode code = ErrorCode::kUnknown;
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  Result(Error error) : v_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

// Result<void> equivalent.
struct Ok {};
using Status = Result<Ok>;

// An error whose maker does not classify it gets kUnknown, as gRPC's UNKNOWN: most such errors are
// bad input, but guessing kInvalidArgument would let a connection failure that nobody classified
// pass for bad input (a 400, exit 1). Where a decision depends on the kind, the maker says which.
inline Error MakeError(std::string message) {
  return Error{std::move(message), ErrorCode::kUnknown};
}
inline Error MakeError(ErrorCode code, std::string message) {
  return Error{std::move(message), code};
}

}  // namespace tracerig
