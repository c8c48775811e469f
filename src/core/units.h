// Parsing and printing of the units users write: durations ("500ms", "30s", "2m") and sizes ("4MiB").
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tracerig {

// Nanoseconds. Accepts an unsigned decimal number (fraction allowed) followed by one of
// ns, us, µs, ms, s, m, h. Returns nullopt for anything else (including a missing unit).
std::optional<uint64_t> ParseDuration(std::string_view text);
// "1.5s", "250ms", "12µs": the shortest readable form.
std::string FormatDuration(uint64_t nanos);
// Bytes. Accepts a number with B, KiB, MiB, GiB, KB, MB, GB, or none (bytes).
std::optional<uint64_t> ParseSize(std::string_view text);

}  // namespace tracerig
