#include "propagation/w3c.h"

#include <array>
#include <bit>
#include <cstring>
#include <utility>

namespace tracerig {
namespace {

// Hex digits are decoded eight at a time (SWAR): traceparent parsing runs on every hop.
constexpr uint64_t kEachByte = 0x0101010101010101ull;
constexpr uint64_t kHighBits = 0x8080808080808080ull;

uint64_t LoadLittleEndian64(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof v);
  if constexpr (std::endian::native == std::endian::big) v = __builtin_bswap64(v);
  return v;
}

// Parses 8 lowercase hex digits (the first one most significant) into 32 bits. Returns false when
// any byte is not in [0-9a-f] (uppercase is rejected, as the spec requires).
bool ParseLowerHex8(const char* p, uint32_t& out) {
  const uint64_t x = LoadLittleEndian64(p);  // first character in the low byte
  if ((x & kHighBits) != 0) return false;
  // With every byte < 0x80, adding (0x80 - c) sets a byte's high bit iff byte >= c, no carries.
  const uint64_t ge_0 = x + kEachByte * (0x80 - '0');
  const uint64_t gt_9 = x + kEachByte * (0x80 - '9' - 1);
  const uint64_t ge_a = x + kEachByte * (0x80 - 'a');
  const uint64_t gt_f = x + kEachByte * (0x80 - 'f' - 1);
  const uint64_t valid = ((ge_0 & ~gt_9) | (ge_a & ~gt_f)) & kHighBits;
  if (valid != kHighBits) return false;
  // '0'-'9' -> low nibble; 'a'-'f' (bit 0x40 set) -> low nibble + 9.
  uint64_t n = (x & (kEachByte * 0x0f)) + ((x & (kEachByte * 0x40)) >> 6) * 9;
  // Gather the eight nibbles, first character most significant.
  n = __builtin_bswap64(n);
  n = (n | (n >> 4)) & 0x00ff00ff00ff00ffull;
  n = (n | (n >> 8)) & 0x0000ffff0000ffffull;
  n = (n | (n >> 16)) & 0x00000000ffffffffull;
  out = static_cast<uint32_t>(n);
  return true;
}

bool ParseLowerHex16(const char* p, uint64_t& out) {
  uint32_t high = 0;
  uint32_t low = 0;
  if (!ParseLowerHex8(p, high) || !ParseLowerHex8(p + 8, low)) return false;
  out = (static_cast<uint64_t>(high) << 32) | low;
  return true;
}

int LowerHexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// Two lowercase hex digits (version, flags); -1 when invalid.
int ParseLowerHex2(const char* p) {
  const int high = LowerHexDigit(p[0]);
  const int low = LowerHexDigit(p[1]);
  return (high | low) < 0 ? -1 : (high << 4) | low;
}

// "000102...ff": two lowercase hex digits per byte value.
constexpr std::array<char, 512> kHexPairs = [] {
  constexpr char kDigits[] = "0123456789abcdef";
  std::array<char, 512> pairs{};
  for (int i = 0; i < 256; ++i) {
    pairs[2 * i] = kDigits[i >> 4];
    pairs[2 * i + 1] = kDigits[i & 0xf];
  }
  return pairs;
}();

void WriteHexByte(uint8_t v, char* out) { std::memcpy(out, &kHexPairs[2 * v], 2); }

void WriteHex16(uint64_t v, char* out) {
  for (int i = 7; i >= 0; --i) {
    WriteHexByte(static_cast<uint8_t>(v), out + 2 * i);
    v >>= 8;
  }
}

bool IsOws(char c) { return c == ' ' || c == '\t'; }

std::string_view TrimOws(std::string_view s) {
  while (!s.empty() && IsOws(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsOws(s.back())) s.remove_suffix(1);
  return s;
}

bool IsKeyFirstChar(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

bool IsKeyChar(char c) {
  return IsKeyFirstChar(c) || c == '_' || c == '-' || c == '*' || c == '/' || c == '@';
}

// The key of a normalised member ("key=value"); the whole member when it has no '='.
std::string_view MemberKey(std::string_view member) { return member.substr(0, member.find('=')); }

// Calls `fn(member)` for each non-empty, OWS-trimmed member of a comma-separated list; stops early
// when fn returns false. Returns false when stopped early.
template <typename Fn>
bool ForEachMember(std::string_view list, Fn&& fn) {
  size_t pos = 0;
  while (true) {
    const size_t comma = list.find(',', pos);
    const std::string_view member =
        TrimOws(list.substr(pos, comma == std::string_view::npos ? comma : comma - pos));
    if (!member.empty() && !fn(member)) return false;
    if (comma == std::string_view::npos) return true;
    pos = comma + 1;
  }
}

constexpr size_t kMaxKeySize = 256;
constexpr size_t kMaxValueSize = 256;

}  // namespace

std::optional<Traceparent> ParseTraceparent(std::string_view value) {
  value = TrimOws(value);
  if (value.size() < kTraceparentSize) return std::nullopt;
  const char* p = value.data();
  if (p[2] != '-' || p[35] != '-' || p[52] != '-') return std::nullopt;

  const int version = ParseLowerHex2(p);
  if (version < 0 || version == 0xff) return std::nullopt;
  if (version == 0) {
    if (value.size() != kTraceparentSize) return std::nullopt;
  } else if (value.size() > kTraceparentSize && p[kTraceparentSize] != '-') {
    // A future version may append fields, but only as further '-'-separated fields.
    return std::nullopt;
  }

  uint64_t high = 0;
  uint64_t low = 0;
  uint64_t parent = 0;
  const int flags = ParseLowerHex2(p + 53);
  if (flags < 0 || !ParseLowerHex16(p + 3, high) || !ParseLowerHex16(p + 19, low) ||
      !ParseLowerHex16(p + 36, parent)) {
    return std::nullopt;
  }
  Traceparent result;
  result.version = static_cast<uint8_t>(version);
  result.trace_id = TraceId{high, low};
  result.parent_id = SpanId{parent};
  result.flags = static_cast<uint8_t>(flags);
  if (!result.trace_id.IsValid() || !result.parent_id.IsValid()) return std::nullopt;
  return result;
}

void FormatTraceparent(const TraceId& trace_id, const SpanId& parent_id, uint8_t flags,
                       char* out55) {
  out55[0] = '0';
  out55[1] = '0';
  out55[2] = '-';
  WriteHex16(trace_id.high, out55 + 3);
  WriteHex16(trace_id.low, out55 + 19);
  out55[35] = '-';
  WriteHex16(parent_id.value, out55 + 36);
  out55[52] = '-';
  WriteHexByte(flags, out55 + 53);
}

std::string FormatTraceparent(const TraceId& trace_id, const SpanId& parent_id, uint8_t flags) {
  std::string out(kTraceparentSize, '\0');
  FormatTraceparent(trace_id, parent_id, flags, out.data());
  return out;
}

bool IsValidTracestateKey(std::string_view key) {
  if (key.empty() || key.size() > kMaxKeySize || !IsKeyFirstChar(key.front())) return false;
  for (char c : key.substr(1)) {
    if (!IsKeyChar(c)) return false;
  }
  return true;
}

bool IsValidTracestateValue(std::string_view value) {
  if (value.empty() || value.size() > kMaxValueSize || value.back() == ' ') return false;
  for (char c : value) {
    if (c < 0x20 || c > 0x7e || c == ',' || c == '=') return false;
  }
  return true;
}

std::optional<std::string> ParseTracestate(const std::vector<std::string_view>& fields) {
  // Members point into `fields`; the list is copied once, after it is known to be valid.
  std::array<std::string_view, kMaxTracestateMembers> members;
  std::array<std::string_view, kMaxTracestateMembers> keys;
  size_t received = 0;  // members as sent, duplicates included: the limit of 32 is on these
  size_t count = 0;     // members kept
  size_t total_size = 0;
  const auto accept = [&](std::string_view member) {
    if (received == kMaxTracestateMembers) return false;
    ++received;
    const size_t eq = member.find('=');
    if (eq == std::string_view::npos) return false;
    const std::string_view key = member.substr(0, eq);
    if (!IsValidTracestateKey(key) || !IsValidTracestateValue(member.substr(eq + 1))) {
      return false;
    }
    // A repeated key keeps its first (leftmost, most recently updated) member: the spec lets a
    // vendor discard duplicates it did not write, and the list must still be inherited.
    for (size_t i = 0; i < count; ++i) {
      if (keys[i] == key) return true;
    }
    keys[count] = key;
    members[count] = member;
    ++count;
    total_size += member.size() + 1;
    return true;
  };
  for (std::string_view field : fields) {
    if (!ForEachMember(field, accept)) return std::nullopt;
  }

  std::string out;
  out.reserve(total_size);
  for (size_t i = 0; i < count; ++i) {
    if (i > 0) out.push_back(',');
    out.append(members[i]);
  }
  return out;
}

std::string UpdateTracestate(std::string_view normalised, std::string_view key,
                             std::string_view value) {
  if (!IsValidTracestateKey(key) || !IsValidTracestateValue(value)) {
    return std::string(normalised);
  }
  std::string out;
  out.reserve(key.size() + 1 + value.size() + 1 + normalised.size());
  out.append(key);
  out.push_back('=');
  out.append(value);
  size_t count = 1;
  ForEachMember(normalised, [&](std::string_view member) {
    if (MemberKey(member) == key) return true;
    if (count == kMaxTracestateMembers) return false;  // drop the rest, from the right
    out.push_back(',');
    out.append(member);
    ++count;
    return true;
  });
  return out;
}

SpanContext W3cTraceContextPropagator::Extract(const HeaderReader& carrier) const {
  // Per-thread scratch space keeps extraction free of allocations after a thread's first request
  // (GetAll can only append to a std::vector). Not shared between threads; cleared before use.
  thread_local std::vector<std::string_view> values;
  values.clear();
  carrier.GetAll(kTraceparentHeader, values);
  if (values.size() != 1) return {};
  const std::optional<Traceparent> parent = ParseTraceparent(values.front());
  if (!parent) return {};

  SpanContext context;
  context.trace_id = parent->trace_id;
  context.span_id = parent->parent_id;
  // Version 00 defines only sampled (0x01) and random (0x02); other bits are not ours to forward.
  context.trace_flags =
      parent->version == 0 ? static_cast<uint8_t>(parent->flags & 0x03) : parent->flags;

  values.clear();
  carrier.GetAll(kTracestateHeader, values);
  if (!values.empty()) {
    if (std::optional<std::string> state = ParseTracestate(values)) {
      context.trace_state = std::move(*state);
    }
  }
  return context;
}

void W3cTraceContextPropagator::Inject(const SpanContext& context, HeaderWriter& carrier) const {
  if (!context.IsValid()) return;
  char buffer[kTraceparentSize];
  // Traceparent has no debug flag: a debug context goes as sampled, which debug implies.
  const uint8_t flags =
      static_cast<uint8_t>((context.trace_flags & 0x03) | (context.debug ? 0x01 : 0x00));
  FormatTraceparent(context.trace_id, context.span_id, flags, buffer);
  carrier.Set(kTraceparentHeader, std::string_view(buffer, kTraceparentSize));
  if (!context.trace_state.empty()) carrier.Set(kTracestateHeader, context.trace_state);
}

}  // namespace tracerig
