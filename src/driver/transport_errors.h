// Transport errors by kind for the load driver: each thread tallies its own (no locks on the hot
// path, only the first error of a kind is formatted), and the tallies merge into
// DriverResult::transport_error_reasons at the end, as wrk merges its per-thread socket errors.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "driver/driver_result.h"
#include "net/error_reason.h"

namespace tracerig {

class TransportErrorTally {
 public:
  // Counts one error of `kind` at `now_mono`; `describe()` gives its text, asked for only for the
  // first error of each kind.
  template <typename Describe>
  void Count(TransportErrorKind kind, uint64_t now_mono, Describe&& describe) {
    Kind& k = kinds_[static_cast<size_t>(kind)];
    if (k.count++ == 0) {
      k.first_mono = now_mono;
      k.first_message = describe();
    }
  }

  struct Kind {
    uint64_t count = 0;
    uint64_t first_mono = 0;
    std::string first_message;
  };
  const Kind& of(TransportErrorKind kind) const { return kinds_[static_cast<size_t>(kind)]; }

 private:
  std::array<Kind, kTransportErrorKindCount> kinds_{};
};

// The tallies merged: counts summed, each kind's earliest first message; the requests still
// unanswered at the drain deadline (`unanswered`, after `drain_timeout_ns`) as their own kind.
// Kinds with no errors are left out; the most frequent come first (ties in kind order).
std::vector<TransportErrorReason> MergeTransportErrors(
    const std::vector<const TransportErrorTally*>& tallies, uint64_t unanswered,
    uint64_t drain_timeout_ns);

}  // namespace tracerig
