// External services (`url`): the keys only they take (TLS files, a command tracerig starts them
// with), their gRPC method names, and the calls their routes declare the real service makes.
#include <fmt/format.h>
#include <toml++/toml.h>

#include <iterator>
#include <string>
#include <string_view>

#include "topology/parse_internal.h"
#include "topology/parse_values.h"

namespace tracerig::parse_internal {
namespace {

constexpr std::string_view kTlsKeys[] = {"ca_file", "client_cert", "client_key"};
constexpr std::string_view kCommandKeys[] = {"command", "start_timeout"};

// Call keys that describe how a caller behaves: the real service decides these itself, so a
// scenario cannot promise them. `what` completes "the real service decides its own ...".
struct DecidedKey {
  std::string_view key;
  std::string_view what;
};
constexpr DecidedKey kDecidedByRealService[] = {
    {"probability", "call probability"},
    {"repeat", "call count"},
    {"timeout", "timeouts"},
    {"retries", "retries"},
    {"retry_backoff", "retry backoff"},
    {"request_bytes", "request sizes"},
};

// "pkg.Service/Method" or "/pkg.Service/Method": one '/' between two non-empty parts, after an
// optional leading one, and no spaces.
bool IsGrpcFullMethod(std::string_view name) {
  if (name.starts_with('/')) name.remove_prefix(1);
  const size_t slash = name.find('/');
  return slash != std::string_view::npos && slash > 0 && slash + 1 < name.size() &&
         name.find('/', slash + 1) == std::string_view::npos &&
         name.find_first_of(" \t") == std::string_view::npos;
}

}  // namespace

// The keys only an external service takes: on a simulated one each is an error, and the TLS
// files need an https:// URL. The files are read when tracerig starts, not here.
void ScenarioParser::ParseExternalOnlyKeys(const ServiceBody& body, Service& service,
                                           std::string_view url_scheme) {
  const std::string name = service.name.empty() ? std::string("?") : service.name;
  if (!service.IsExternal()) {
    for (Keys keys : {Keys(kTlsKeys), Keys(kCommandKeys)}) {
      const bool tls = keys.data() == kTlsKeys;
      for (std::string_view key : keys) {
        const toml::node* n = body.get(key);
        if (n == nullptr) continue;
        Error(n->source(), fmt::format("\"{}\" is only for external services (with a \"url\"{}): "
                                       "tracerig runs service \"{}\" itself",
                                       key, tls ? " starting https://" : "", name));
      }
    }
    return;
  }
  std::string* targets[] = {&service.ca_file, &service.client_cert, &service.client_key};
  for (size_t i = 0; i < std::size(kTlsKeys); ++i) {
    const toml::node* n = body.get(kTlsKeys[i]);
    if (n == nullptr) continue;
    auto v = AsNonEmptyString(*n, kTlsKeys[i]);
    if (!v) continue;
    // An invalid URL is reported already; its scheme says nothing.
    if (!url_scheme.empty() && url_scheme != "https") {
      Error(n->source(), fmt::format("\"{}\" needs an https:// URL: service \"{}\" is called at "
                                     "\"{}\", without TLS",
                                     kTlsKeys[i], name, service.external_url));
      continue;
    }
    *targets[i] = *v;
  }
  const toml::node* cert = body.get("client_cert");
  const toml::node* key = body.get("client_key");
  if ((cert == nullptr) != (key == nullptr)) {
    const bool has_cert = cert != nullptr;
    Error((has_cert ? cert : key)->source(),
          fmt::format("\"{}\" needs \"{}\" too (a client certificate and its key go together)",
                      has_cert ? "client_cert" : "client_key",
                      has_cert ? "client_key" : "client_cert"));
  }
  const toml::node* command = body.get("command");
  if (command != nullptr) {
    if (auto v = AsNonEmptyString(*command, "command")) service.command = *v;
  }
  // Without `command` it bounds the wait for a service the user starts from --urls-env.
  if (const toml::node* n = body.get("start_timeout")) {
    if (auto v = AsPositiveDuration(*n, "start_timeout")) service.start_timeout_ns = *v;
  }
}

// An external gRPC service's route may name the real method ("pkg.Service/Method"): tracerig
// then calls that method with an empty message. A plain name ("GetCart") is a route of tracerig's
// own gRPC service, as for simulated services.
void ScenarioParser::CheckExternalRouteName(const toml::node& node, std::string_view route,
                                            const Service& service) {
  // An HTTP-looking name ("GET /cart") is reported as such already.
  if (service.protocol != Protocol::kGrpc || route.find('/') == std::string_view::npos ||
      LooksLikeHttpRoute(route)) {
    return;
  }
  if (IsGrpcFullMethod(route)) return;
  Error(node.source(), fmt::format("route \"{}\" of external grpc service \"{}\" is not a gRPC "
                                   "method: write \"package.Service/Method\" (or a plain name "
                                   "such as \"GetCart\")",
                                   route, service.name));
}

// A call of an external route names only its callee: how the real service calls (whether, how
// often, with what timeout and retries) is its own. False when the call has such a key.
bool ScenarioParser::CheckExternalCallKeys(const toml::table& t, std::string_view service) {
  bool ok = true;
  for (const DecidedKey& d : kDecidedByRealService) {
    const toml::node* n = t.get(d.key);
    if (n == nullptr) continue;
    ok = false;
    Error(n->source(), fmt::format("\"{}\" is not allowed on a call of external service \"{}\": "
                                   "the real service decides its own {} (write only \"service\" "
                                   "and \"route\")",
                                   d.key, service, d.what));
  }
  return ok;
}

// tracerig observes a real service's calls where they arrive: at the simulated services it runs.
// A call from one real service to another never passes through tracerig.
void ScenarioParser::CheckExternalCallers() {
  for (const CallSite& c : call_sites_) {
    const Service& caller = scenario_.services[c.service];
    if (!caller.IsExternal()) continue;
    const Service* callee = scenario_.FindService(c.callee_service);
    if (callee == nullptr || !callee->IsExternal()) continue;
    Error(c.service_at, fmt::format("external service \"{}\" calls external service \"{}\": "
                                    "tracerig cannot observe calls between two real services "
                                    "(a call of an external route names a simulated service)",
                                    caller.name, callee->name));
  }
  // What arrives below a real service is matched to the call of its route that names the
  // arrival's service and route; two such calls could not be told apart.
  for (size_t i = 0; i < call_sites_.size(); ++i) {
    const CallSite& c = call_sites_[i];
    if (!scenario_.services[c.service].IsExternal()) continue;
    for (size_t j = 0; j < i; ++j) {
      const CallSite& first = call_sites_[j];
      if (first.service != c.service || first.route != c.route ||
          first.callee_service != c.callee_service || first.callee_route != c.callee_route) {
        continue;
      }
      const Service& caller = scenario_.services[c.service];
      Error(c.where, fmt::format("route \"{}\" of external service \"{}\" calls \"{}\" route "
                                 "\"{}\" a second time (first at line {}): tracerig could not "
                                 "tell which call an arrival is, so declare each callee once",
                                 caller.routes[c.route].name, caller.name, c.callee_service,
                                 c.callee_route, first.where.line));
      break;
    }
  }
}

}  // namespace tracerig::parse_internal
