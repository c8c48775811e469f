// The ledger file: JSON Lines, written by the driver as requests finish and read back by
// `tracerig verify --ledger`. Line 1 is a header,
// {"tracerig_ledger":1,"scenario":"...","seed":N,"scenario_hash":"fnv1a64:..."} (the hash of the
// scenario file's bytes; ledgers written before it was added have none);
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
  std::string scenario_hash;  // ScenarioContentHash of the run's scenario file; "" when not written
  Ledger entries;
};

// "ok", "http_error", "transport_error".
std::string_view RequestOutcomeName(RequestOutcome outcome);
std::optional<RequestOutcome> ParseRequestOutcome(std::string_view name);

// "fnv1a64:" and 16 hex digits: the FNV-1a hash of a scenario file's bytes, so `verify` can tell
// the file a run used from an edited one.
std::string ScenarioContentHash(std::string_view file_text);

// The header line, with trailing '\n'; the hash is left out when empty.
std::string LedgerHeaderLine(std::string_view scenario, uint64_t seed,
                             std::string_view scenario_hash = "");
// One entry's line, with trailing '\n'.
std::string LedgerEntryLine(const LedgerEntry& entry);

// Parses a whole ledger file. Errors name the place and the problem:
// `run.ledger:3: field "trace_id" must be 32 hex digits`. Ids are accepted in either case; unknown
// fields are ignored (so older readers accept newer files); blank lines are skipped. Never throws.
Result<LedgerFile> ParseLedger(std::string_view source_name, std::string_view text);

}  // namespace tracerig
