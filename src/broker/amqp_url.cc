// Parsing and rendering amqp:// URLs (the RabbitMQ URI spec's subset tracerig needs).
#include "broker/amqp_url.h"

#include <charconv>

namespace tracerig {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Percent-decodes `s`; false on a malformed escape.
bool PercentDecode(std::string_view s, std::string& out) {
  out.clear();
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out.push_back(s[i]);
      continue;
    }
    if (i + 2 >= s.size()) return false;
    const int hi = HexValue(s[i + 1]), lo = HexValue(s[i + 2]);
    if (hi < 0 || lo < 0) return false;
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return true;
}

std::string PercentEncode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                       c == '-' || c == '.' || c == '_' || c == '~';
    if (plain) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

}  // namespace

std::string MaskAmqpPassword(std::string_view url) {
  const size_t scheme = url.find("://");
  if (scheme == std::string_view::npos) return std::string(url);
  const size_t start = scheme + 3;
  const size_t slash = url.find('/', start);
  const size_t at = url.rfind('@', slash == std::string_view::npos ? url.size() : slash);
  if (at == std::string_view::npos || at < start) return std::string(url);
  const size_t colon = url.find(':', start);
  if (colon == std::string_view::npos || colon > at) return std::string(url);
  return std::string(url.substr(0, colon + 1)) + "***" + std::string(url.substr(at));
}

Result<AmqpUrl> ParseAmqpUrl(std::string_view url) {
  auto fail = [&](std::string_view why) -> Error {
    return MakeError(ErrorCode::kInvalidArgument,
                     "broker URL \"" + MaskAmqpPassword(url) + "\": " + std::string(why));
  };
  constexpr std::string_view kScheme = "amqp://";
  if (!url.starts_with(kScheme)) {
    return fail(url.starts_with("amqps://") ? "amqps (TLS) is not supported; use amqp://"
                                            : "not an amqp://HOST:PORT URL");
  }
  std::string_view rest = url.substr(kScheme.size());
  if (rest.find_first_of("?#") != std::string_view::npos) {
    return fail("query parameters and fragments are not supported");
  }
  AmqpUrl out;
  const size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? "" : rest.substr(slash + 1);

  const size_t at = authority.rfind('@');
  if (at != std::string_view::npos) {
    std::string_view userinfo = authority.substr(0, at);
    authority = authority.substr(at + 1);
    const size_t colon = userinfo.find(':');
    out.password.clear();  // a user named without ":password" has an empty one
    if (!PercentDecode(userinfo.substr(0, colon), out.user)) return fail("bad %-escape in user");
    if (colon != std::string_view::npos &&
        !PercentDecode(userinfo.substr(colon + 1), out.password)) {
      return fail("bad %-escape in password");
    }
    if (out.user.empty()) return fail("empty user name before '@'");
    out.user_given = true;
  }

  std::string_view port_text;
  if (authority.starts_with('[')) {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) return fail("unterminated '[' in IPv6 host");
    out.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') return fail("expected ':PORT' after ']'");
      port_text = after.substr(1);
      if (port_text.empty()) return fail("empty port after ':'");
    }
  } else {
    const size_t colon = authority.find(':');
    out.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) {
      port_text = authority.substr(colon + 1);
      if (port_text.empty()) return fail("empty port after ':'");
    }
  }
  if (out.host.empty()) return fail("no host");
  if (!port_text.empty()) {
    unsigned port = 0;
    const auto [end, ec] =
        std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc() || end != port_text.data() + port_text.size() || port == 0 ||
        port > 65535) {
      return fail("port \"" + std::string(port_text) + "\" is not a number 1-65535");
    }
    out.port = static_cast<uint16_t>(port);
  }
  if (path.find('/') != std::string_view::npos) {
    return fail("a vhost containing '/' must be written %2F");
  }
  if (!path.empty()) {
    if (!PercentDecode(path, out.vhost)) return fail("bad %-escape in vhost");
  }
  return out;
}

std::string DescribeAmqpUrl(const AmqpUrl& url) {
  std::string out = "amqp://";
  if (url.user_given) out += PercentEncode(url.user) + "@";
  out += url.host.find(':') != std::string::npos ? "[" + url.host + "]" : url.host;
  out += ":" + std::to_string(url.port) + "/";
  if (url.vhost != "/") out += PercentEncode(url.vhost);
  return out;
}

}  // namespace tracerig
