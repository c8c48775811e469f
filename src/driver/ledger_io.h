// The ledger file: JSON Lines, written by the driver as requests finish and read back by
// `tracerig verify --ledger`. Line 1 is a header, {"tracerig_ledger":1,"scenario":"...","seed":N};
// every further line is one LedgerEntry with fields named after its members, ids as lowercase hex,
// times as integer nanoseconds and outcome as "ok" | "http_error" | "transport_error".
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/ledger.h"
#include "core/result.h"

namespace tracerig {

inline constexpr int kLedgerFormatVersion = 1;

struct LedgerFile {
  std::string scenario;
  uint64_t seed = 0;
  Ledger entries;
};

// "ok", "http_error", "transport_error".
std::string_view RequestOutcomeName(RequestOutcome outcome);
std::optional<RequestOutcome> ParseRequestOutcome(std::string_view name);

// The header line, with trailing '\n'.
std::string LedgerHeaderLine(std::string_view scenario, uint64_t seed);
// One entry's line, with trailing '\n'.
std::string LedgerEntryLine(const LedgerEntry& entry);

// Parses a whole ledger file. Errors name the place and the problem:
// `run.ledger:3: field "trace_id" must be 32 hex digits`. Ids are accepted in either case; unknown
// fields are ignored (so older readers accept newer files); blank lines are skipped. Never throws.
Result<LedgerFile> ParseLedger(std::string_view source_name, std::string_view text);

}  // namespace tracerig
