#include "propagation/baggage.h"

#include <optional>
#include <utility>

#include "propagation/header_text.h"

namespace tracerig {
namespace {

// RFC 7230 tchar.
bool IsTokenChar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool IsToken(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!IsTokenChar(c)) return false;
  }
  return true;
}

// baggage-octet: %x21 / %x23-2B / %x2D-3A / %x3C-5B / %x5D-7E (printable ASCII except space,
// '"', ',', ';' and '\').
bool IsBaggageOctet(char ch) {
  const auto c = static_cast<unsigned char>(ch);
  return c >= 0x21 && c <= 0x7e && c != '"' && c != ',' && c != ';' && c != '\\';
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Decodes a value made of baggage-octets; nullopt for any other character or a bad %XX escape.
std::optional<std::string> DecodeValue(std::string_view encoded) {
  std::string out;
  out.reserve(encoded.size());
  for (size_t i = 0; i < encoded.size(); ++i) {
    const char c = encoded[i];
    if (!IsBaggageOctet(c)) return std::nullopt;
    if (c != '%') {
      out.push_back(c);
      continue;
    }
    if (i + 2 >= encoded.size()) return std::nullopt;
    const int high = HexDigit(encoded[i + 1]);
    const int low = HexDigit(encoded[i + 2]);
    if (high < 0 || low < 0) return std::nullopt;
    out.push_back(static_cast<char>((high << 4) | low));
    i += 2;
  }
  return out;
}

void AppendEncoded(std::string_view value, std::string& out) {
  constexpr char kHex[] = "0123456789ABCDEF";
  for (char c : value) {
    if (IsBaggageOctet(c) && c != '%') {
      out.push_back(c);
    } else {
      const auto b = static_cast<unsigned char>(c);
      out.push_back('%');
      out.push_back(kHex[b >> 4]);
      out.push_back(kHex[b & 0xf]);
    }
  }
}

// Splits `s` at the first `sep`: {before, after}; after is nullopt when sep is absent.
std::pair<std::string_view, std::optional<std::string_view>> SplitFirst(std::string_view s,
                                                                        char sep) {
  const size_t at = s.find(sep);
  if (at == std::string_view::npos) return {s, std::nullopt};
  return {s.substr(0, at), s.substr(at + 1)};
}

// One property ("key" or "key=value"), normalised without whitespace; nullopt when malformed.
// Its value stays encoded as received (it was checked to decode).
std::optional<std::string> NormaliseProperty(std::string_view property) {
  const auto [raw_key, raw_value] = SplitFirst(property, '=');
  const std::string_view key = TrimHeaderWhitespace(raw_key);
  if (!IsToken(key)) return std::nullopt;
  std::string out(key);
  if (raw_value) {
    const std::string_view value = TrimHeaderWhitespace(*raw_value);
    if (!DecodeValue(value)) return std::nullopt;
    out.push_back('=');
    out.append(value);
  }
  return out;
}

std::optional<BaggageMember> ParseMember(std::string_view member) {
  const auto [key_value, raw_properties] = SplitFirst(member, ';');
  const auto [raw_key, raw_value] = SplitFirst(key_value, '=');
  if (!raw_value) return std::nullopt;
  BaggageMember parsed;
  const std::string_view key = TrimHeaderWhitespace(raw_key);
  if (!IsToken(key)) return std::nullopt;
  parsed.key = std::string(key);
  std::optional<std::string> value = DecodeValue(TrimHeaderWhitespace(*raw_value));
  if (!value) return std::nullopt;
  parsed.value = std::move(*value);
  std::optional<std::string_view> rest = raw_properties;
  while (rest) {
    const auto [property, next] = SplitFirst(*rest, ';');
    std::optional<std::string> normalised = NormaliseProperty(property);
    if (!normalised) return std::nullopt;
    if (!parsed.properties.empty()) parsed.properties.push_back(';');
    parsed.properties.append(*normalised);
    rest = next;
  }
  return parsed;
}

}  // namespace

std::vector<BaggageMember> ParseBaggage(const std::vector<std::string_view>& fields) {
  std::vector<BaggageMember> members;
  for (std::string_view field : fields) {
    std::optional<std::string_view> rest = field;
    while (rest) {
      const auto [raw_member, next] = SplitFirst(*rest, ',');
      rest = next;
      const std::string_view member = TrimHeaderWhitespace(raw_member);
      if (member.empty()) continue;
      if (std::optional<BaggageMember> parsed = ParseMember(member)) {
        members.push_back(std::move(*parsed));
      }
    }
  }
  return members;
}

std::string FormatBaggage(const std::vector<BaggageMember>& members) {
  std::string out;
  std::string item;
  size_t count = 0;
  for (const BaggageMember& member : members) {
    if (count == kMaxBaggageMembers) break;
    item.clear();
    item.append(member.key);
    item.push_back('=');
    AppendEncoded(member.value, item);
    if (!member.properties.empty()) {
      item.push_back(';');
      item.append(member.properties);
    }
    const size_t separator = out.empty() ? 0 : 1;
    if (out.size() + separator + item.size() > kMaxBaggageBytes) break;
    if (separator != 0) out.push_back(',');
    out.append(item);
    ++count;
  }
  return out;
}

std::string NormaliseBaggage(const std::vector<std::string_view>& fields) {
  return FormatBaggage(ParseBaggage(fields));
}

SpanContext BaggagePropagator::Extract(const HeaderReader& carrier) const {
  std::vector<std::string_view> values;
  carrier.GetAll(kBaggageHeader, values);
  SpanContext context;
  if (!values.empty()) context.baggage = NormaliseBaggage(values);
  return context;
}

void BaggagePropagator::Inject(const SpanContext& context, HeaderWriter& carrier) const {
  if (context.baggage.empty()) return;
  const std::string baggage = NormaliseBaggage({context.baggage});
  if (!baggage.empty()) carrier.Set(kBaggageHeader, baggage);
}

}  // namespace tracerig
