// The [broker] section (where publishes and consumers go: the embedded broker when it is left out,
// RabbitMQ at amqp://HOST:PORT), and the URL check `--broker` shares with it.
#include <fmt/format.h>
#include <toml++/toml.h>

#include <algorithm>

#include "topology/parse_internal.h"
#include "topology/parse_values.h"

namespace tracerig {
namespace {

constexpr std::string_view kAmqpScheme = "amqp://";
constexpr std::string_view kExample = "as in \"amqp://127.0.0.1:5672\"";

}  // namespace

std::string RedactedBrokerUrl(std::string_view url) {
  const size_t start = url.find("://");
  if (start == std::string_view::npos) return std::string(url);
  const size_t authority = start + 3;
  const size_t end = std::min(url.find('/', authority), url.size());
  const size_t at = url.substr(0, end).rfind('@');
  if (at == std::string_view::npos || at < authority) return std::string(url);
  const size_t colon = url.substr(0, at).find(':', authority);
  if (colon == std::string_view::npos) return std::string(url);
  return std::string(url.substr(0, colon + 1)) + "****" + std::string(url.substr(at));
}

std::string BrokerUrlProblem(std::string_view url) {
  const std::string shown = RedactedBrokerUrl(url);
  if (url.starts_with("amqps://")) {
    return fmt::format(
        "broker URL \"{}\" uses TLS (amqps://), which is not supported yet (write "
        "amqp://HOST:PORT)",
        shown);
  }
  if (!url.starts_with(kAmqpScheme)) {
    return fmt::format(
        "invalid broker URL \"{}\" (expected amqp://[USER:PASSWORD@]HOST:PORT"
        "[/VHOST], {}; the embedded broker needs no URL)",
        shown, kExample);
  }
  std::string_view rest = url.substr(kAmqpScheme.size());
  const size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  if (slash != std::string_view::npos) {
    const std::string_view vhost = rest.substr(slash + 1);
    if (vhost.find_first_of("/?#") != std::string_view::npos) {
      return fmt::format(
          "broker URL \"{}\" has more than a virtual host after HOST:PORT (write "
          "amqp://HOST:PORT/VHOST, with a '/' in the vhost written %2F)",
          shown);
    }
  }
  if (const size_t at = authority.rfind('@'); at != std::string_view::npos) {
    authority.remove_prefix(at + 1);
  }
  const size_t colon = authority.rfind(':');
  const bool bracketed = authority.starts_with('[');
  if (colon == std::string_view::npos || (bracketed && authority.rfind(']') > colon)) {
    return fmt::format(
        "broker URL \"{}\" has no port (write amqp://HOST:PORT, {}: tracerig "
        "does not assume RabbitMQ's default port)",
        shown, kExample);
  }
  if (!IsValidListen(authority) || !ListensOnFixedPort(authority)) {
    return fmt::format("invalid broker URL \"{}\" (HOST:PORT with a port from 1 to 65535, {})",
                       shown, kExample);
  }
  return "";
}

namespace parse_internal {

void ScenarioParser::ParseBroker(const toml::table& root) {
  static constexpr std::string_view kBrokerKeys[] = {"url"};
  const toml::node* node = root.get("broker");
  if (node == nullptr) return;
  const toml::table* t = AsTable(*node, "broker");
  if (t == nullptr) return;
  CheckKeys(*t, "[broker]", kBrokerKeys);
  scenario_.broker.where = Loc(t->source());
  const toml::node* n = Require(*t, "url", "[broker]");
  if (n == nullptr) return;
  auto url = AsString(*n, "url");
  if (!url) return;
  if (url->empty()) {
    Error(n->source(), "\"url\" must not be empty (leave [broker] out for the embedded broker)");
    return;
  }
  if (std::string problem = BrokerUrlProblem(*url); !problem.empty()) {
    Error(n->source(), problem);
    return;
  }
  scenario_.broker.url = *url;
  scenario_.broker.where = Loc(n->source());
}

}  // namespace parse_internal
}  // namespace tracerig
