#include "core/ids.h"

namespace tracerig {
namespace {

constexpr char kHexDigits[] = "0123456789abcdef";

int HexValue(char c, bool lowercase_only) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (!lowercase_only && c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void StoreBigEndian(uint64_t v, uint8_t* out) {
  for (int i = 7; i >= 0; --i) {
    out[i] = static_cast<uint8_t>(v & 0xff);
    v >>= 8;
  }
}

uint64_t LoadBigEndian(const uint8_t* in) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | in[i];
  return v;
}

}  // namespace

void WriteHex(uint64_t v, int width, char* out) {
  for (int i = width - 1; i >= 0; --i) {
    out[i] = kHexDigits[v & 0xf];
    v >>= 4;
  }
}

std::optional<uint64_t> ParseHex64(std::string_view hex, bool lowercase_only) {
  if (hex.empty() || hex.size() > 16) return std::nullopt;
  uint64_t v = 0;
  for (char c : hex) {
    int d = HexValue(c, lowercase_only);
    if (d < 0) return std::nullopt;
    v = (v << 4) | static_cast<uint64_t>(d);
  }
  return v;
}

std::string TraceId::ToHex() const {
  std::string s(32, '0');
  WriteHex(high, 16, s.data());
  WriteHex(low, 16, s.data() + 16);
  return s;
}

std::array<uint8_t, 16> TraceId::ToBytes() const {
  std::array<uint8_t, 16> b{};
  StoreBigEndian(high, b.data());
  StoreBigEndian(low, b.data() + 8);
  return b;
}

TraceId TraceId::FromBytes(const uint8_t* bytes16) {
  return TraceId{LoadBigEndian(bytes16), LoadBigEndian(bytes16 + 8)};
}

std::optional<TraceId> TraceId::FromHex(std::string_view hex) {
  if (hex.empty() || hex.size() > 32) return std::nullopt;
  TraceId id;
  if (hex.size() > 16) {
    auto high = ParseHex64(hex.substr(0, hex.size() - 16));
    auto low = ParseHex64(hex.substr(hex.size() - 16));
    if (!high || !low) return std::nullopt;
    id.high = *high;
    id.low = *low;
  } else {
    auto low = ParseHex64(hex);
    if (!low) return std::nullopt;
    id.low = *low;
  }
  return id;
}

std::string SpanId::ToHex() const {
  std::string s(16, '0');
  WriteHex(value, 16, s.data());
  return s;
}

std::array<uint8_t, 8> SpanId::ToBytes() const {
  std::array<uint8_t, 8> b{};
  StoreBigEndian(value, b.data());
  return b;
}

SpanId SpanId::FromBytes(const uint8_t* bytes8) { return SpanId{LoadBigEndian(bytes8)}; }

std::optional<SpanId> SpanId::FromHex(std::string_view hex) {
  auto v = ParseHex64(hex);
  if (!v) return std::nullopt;
  return SpanId{*v};
}

}  // namespace tracerig
