#include "net/address.h"

#include <charconv>

#include <fmt/format.h>

namespace tracerig {

std::string HostPort::ToString() const {
  if (host.find(':') != std::string::npos) return fmt::format("[{}]:{}", host, port);
  return fmt::format("{}:{}", host, port);
}

Result<HostPort> ParseHostPort(std::string_view text) {
  HostPort hp;
  std::string_view port_text;
  if (!text.empty() && text.front() == '[') {
    size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return MakeError(fmt::format("\"{}\" is not HOST:PORT", text));
    }
    hp.host = std::string(text.substr(1, close - 1));
    port_text = text.substr(close + 2);
  } else {
    size_t colon = text.rfind(':');
    if (colon == std::string_view::npos || text.find(':') != colon) {
      return MakeError(fmt::format("\"{}\" is not HOST:PORT", text));
    }
    hp.host = std::string(text.substr(0, colon));
    port_text = text.substr(colon + 1);
  }
  unsigned port = 0;
  auto [ptr, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (hp.host.empty() || port_text.empty() || ec != std::errc() ||
      ptr != port_text.data() + port_text.size() || port > 65535) {
    return MakeError(fmt::format("\"{}\" is not HOST:PORT (port 0-65535)", text));
  }
  hp.port = static_cast<uint16_t>(port);
  return hp;
}

Result<Url> ParseUrl(std::string_view text, uint16_t default_port) {
  size_t sep = text.find("://");
  if (sep == std::string_view::npos || sep == 0) {
    return MakeError(fmt::format("\"{}\" is not a URL (expected scheme://host:port)", text));
  }
  Url url;
  url.scheme = std::string(text.substr(0, sep));
  std::string_view rest = text.substr(sep + 3);
  size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  if (slash != std::string_view::npos) url.path = std::string(rest.substr(slash));
  bool has_port = !authority.empty() && authority.back() != ']' &&
                  authority.find(':', authority.front() == '[' ? authority.find(']') : 0) !=
                      std::string_view::npos;
  std::string with_port(authority);
  if (!has_port) {
    if (default_port == 0) {
      return MakeError(fmt::format("\"{}\" has no port", text));
    }
    with_port += fmt::format(":{}", default_port);
  }
  auto hp = ParseHostPort(with_port);
  if (!hp) return MakeError(fmt::format("\"{}\": {}", text, hp.error().message));
  url.address = std::move(*hp);
  return url;
}

}  // namespace tracerig
