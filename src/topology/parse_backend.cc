// The [backend] section: where spans are exported and queried (URLs checked against the known
// schemes), the headers sent with each, and the TLS files.
#include <fmt/format.h>
#include <toml++/toml.h>

#include <algorithm>

#include "core/text.h"
#include "net/address.h"
#include "topology/parse_internal.h"
#include "topology/parse_values.h"

namespace tracerig::parse_internal {
namespace {

constexpr std::string_view kBackendKeys[] = {
    "export", "query", "export_headers", "query_headers", "ca_file", "client_cert", "client_key"};
// "tracerig": the embedded backend's own batch endpoint (`tracerig backend`).
constexpr std::string_view kQuerySchemes[] = {"jaeger",       "jaeger-v3",    "zipkin",
                                              "tempo",        "jaeger+https", "jaeger-v3+https",
                                              "zipkin+https", "tempo+https",  "tracerig"};

// Default ports per URL scheme, so "jaeger://host" means the port the real system listens on.
uint16_t DefaultPort(std::string_view scheme) {
  // "zipkin+https" has zipkin's port: TLS changes the transport, not the system's port.
  if (const size_t plus = scheme.find('+'); plus != std::string_view::npos) {
    scheme = scheme.substr(0, plus);
  }
  if (scheme == "otlp-grpc" || scheme == "otlp-grpcs") return 4317;
  if (scheme == "otlp-http" || scheme == "otlp-http-json") return 4318;
  if (scheme == "otlp-https" || scheme == "otlp-https-json") return 4318;
  if (scheme == "zipkin") return 9411;
  if (scheme == "jaeger" || scheme == "jaeger-v3" || scheme == "tracerig") return 16686;
  if (scheme == "tempo") return 3200;
  return 80;
}

}  // namespace

// A backend URL: a known scheme (with a suggestion for a near miss) and a valid HOST[:PORT]
// (the port defaults to the real system's). `what` is "export" or "query".
bool ScenarioParser::CheckBackendUrl(const toml::node& node, const std::string& url,
                                     std::string_view what, Keys schemes) {
  const size_t sep = url.find("://");
  if (sep == std::string::npos || sep == 0) {
    Error(node.source(),
          fmt::format(
              "invalid {} URL \"{}\" (expected SCHEME://HOST[:PORT], as in \"{}\")", what, url,
              what == "export" ? "otlp-http://127.0.0.1:4318" : "jaeger://127.0.0.1:16686"));
    return false;
  }
  const std::string scheme = url.substr(0, sep);
  if (!Contains(schemes, scheme)) {
    std::string hint = DidYouMean(scheme, schemes);
    if (hint.empty()) hint = fmt::format(" (supported: {})", QuotedList(schemes));
    Error(node.source(),
          fmt::format("unknown {} scheme \"{}\" in \"{}\"{}", what, scheme, url, hint));
    return false;
  }
  if (!ParseUrl(url, DefaultPort(scheme))) {
    Error(node.source(),
          fmt::format("invalid {} URL \"{}\" (expected SCHEME://HOST[:PORT][/PATH])", what, url));
    return false;
  }
  return true;
}

// A table of header name -> string, values expanded from the environment ("${TOKEN}").
std::vector<Header> ScenarioParser::ParseHeaders(const toml::node& node, std::string_view key) {
  std::vector<Header> headers;
  const toml::table* t = AsTable(node, key);
  if (t == nullptr) return headers;
  for (auto&& [name, value] : *t) {
    const std::string_view n = name.str();
    const bool token = !n.empty() && std::all_of(n.begin(), n.end(), [](char c) {
      return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
             std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
    });
    if (!token) {
      Error(name.source(), fmt::format("invalid header name \"{}\" in \"{}\"", n, key));
      continue;
    }
    const auto* s = value.as_string();
    if (s == nullptr) {
      Error(value.source(), fmt::format("header \"{}\" in \"{}\" must be a string, got {}", n, key,
                                        TypeName(value)));
      continue;
    }
    auto expanded = ExpandEnvironmentReferences(s->get(), environment_.get_env);
    if (!expanded) {
      Error(value.source(),
            fmt::format("header \"{}\" in \"{}\": {}", n, key, expanded.error().message));
      continue;
    }
    headers.push_back(Header{std::string(n), std::move(*expanded)});
  }
  return headers;
}

void ScenarioParser::ParseBackend(const toml::table& root) {
  const toml::node* node = root.get("backend");
  if (node == nullptr) return;
  const toml::table* t = AsTable(*node, "backend");
  if (t == nullptr) return;
  CheckKeys(*t, "[backend]", kBackendKeys);
  BackendConfig& backend = scenario_.backend;
  if (const auto* n = t->get("export")) {
    auto v = AsString(*n, "export");
    if (v && CheckBackendUrl(*n, *v, "export", kExportSchemes)) backend.export_url = *v;
  }
  if (const auto* n = t->get("query")) {
    auto v = AsString(*n, "query");
    if (v && CheckBackendUrl(*n, *v, "query", kQuerySchemes)) backend.query_url = *v;
  }
  if (const auto* n = t->get("export_headers")) {
    backend.export_headers = ParseHeaders(*n, "export_headers");
  }
  if (const auto* n = t->get("query_headers")) {
    backend.query_headers = ParseHeaders(*n, "query_headers");
  }
  const std::pair<std::string_view, std::string*> files[] = {
      {"ca_file", &backend.ca_file},
      {"client_cert", &backend.client_cert_file},
      {"client_key", &backend.client_key_file}};
  for (const auto& [key, target] : files) {
    if (const auto* n = t->get(key)) {
      if (auto v = AsNonEmptyString(*n, key)) *target = *v;
    }
  }
  const bool has_cert = t->contains("client_cert");
  const bool has_key = t->contains("client_key");
  if (has_cert != has_key) {
    const toml::node* given = t->get(has_cert ? "client_cert" : "client_key");
    Error(given->source(),
          fmt::format("\"{}\" needs \"{}\" too (a client certificate and its key go together)",
                      has_cert ? "client_cert" : "client_key",
                      has_cert ? "client_key" : "client_cert"));
  }
}

}  // namespace tracerig::parse_internal
