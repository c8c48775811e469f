// Trace and span identifiers: 128-bit trace ids and 64-bit span ids, compared as integers
// (never as strings: backends print them with and without leading zeros).
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace tracerig {

struct TraceId {
  uint64_t high = 0;
  uint64_t low = 0;

  bool IsValid() const { return high != 0 || low != 0; }
  // 32 lowercase hex characters.
  std::string ToHex() const;
  // 16 bytes, big-endian, as in OTLP's bytes field.
  std::array<uint8_t, 16> ToBytes() const;
  static TraceId FromBytes(const uint8_t* bytes16);
  // Accepts 1..32 hex digits (either case); shorter ids are left-padded with zeros, as Jaeger and
  // Zipkin do for 64-bit ids. Returns nullopt for anything else.
  static std::optional<TraceId> FromHex(std::string_view hex);

  auto operator<=>(const TraceId&) const = default;
};

struct SpanId {
  uint64_t value = 0;

  bool IsValid() const { return value != 0; }
  std::string ToHex() const;  // 16 lowercase hex characters
  std::array<uint8_t, 8> ToBytes() const;
  static SpanId FromBytes(const uint8_t* bytes8);
  // Accepts 1..16 hex digits (either case), left-padded.
  static std::optional<SpanId> FromHex(std::string_view hex);

  auto operator<=>(const SpanId&) const = default;
};

// Writes `v` as `width` lowercase hex digits into out (no terminator).
void WriteHex(uint64_t v, int width, char* out);
// Parses exactly hex.size() (<= 16) hex digits; lowercase_only rejects 'A'-'F'.
std::optional<uint64_t> ParseHex64(std::string_view hex, bool lowercase_only = false);

struct TraceIdHash {
  size_t operator()(const TraceId& id) const {
    return std::hash<uint64_t>()(id.high * 0x9E3779B97F4A7C15ull ^ id.low);
  }
};

}  // namespace tracerig
