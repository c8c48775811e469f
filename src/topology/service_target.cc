// Service targets: the simulated services' bound endpoints and the external services' URLs.
#include "topology/service_target.h"

#include <fmt/format.h>

#include <fstream>
#include <sstream>

#include "net/address.h"
#include "net/resolve.h"

namespace tracerig {
namespace {

std::string SimulatedBaseUrl(const tcp::endpoint& bound) {
  return fmt::format("http://{}:{}", bound.address().to_string(), bound.port());
}

Result<std::string> ReadPem(std::string_view setting, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return MakeError(ErrorCode::kInvalidArgument, fmt::format("{} {}: cannot read", setting, path));
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// LoadTlsClientContext checked the files (and says precisely what is wrong with one); gRPC wants
// their contents.
Result<std::shared_ptr<const GrpcClientTls>> ReadGrpcTls(const TlsConfig& files) {
  auto tls = std::make_shared<GrpcClientTls>();
  const std::pair<std::string_view, const std::string*> settings[] = {
      {"ca_file", &files.ca_file},
      {"client_cert", &files.client_cert_file},
      {"client_key", &files.client_key_file}};
  std::string* into[] = {&tls->root_certs_pem, &tls->cert_chain_pem, &tls->private_key_pem};
  for (size_t i = 0; i < 3; ++i) {
    if (settings[i].second->empty()) continue;
    auto pem = ReadPem(settings[i].first, *settings[i].second);
    if (!pem) return pem.error();
    *into[i] = std::move(*pem);
  }
  return std::shared_ptr<const GrpcClientTls>(std::move(tls));
}

}  // namespace

Result<ServiceTarget> ResolveExternalTarget(const Service& service) {
  const std::string who = fmt::format("service \"{}\": url \"{}\"", service.name, service.external_url);
  const bool https = std::string_view(service.external_url).starts_with("https://");
  auto url = ParseUrl(service.external_url, https ? 443 : 80);
  if (!url) return MakeError(ErrorCode::kInvalidArgument, fmt::format("{}: {}", who, url.error().message));
  if (url->scheme != "http" && url->scheme != "https") {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("{}: tracerig speaks http:// and https:// (gRPC services: "
                                 "http:// for plaintext HTTP/2, https:// for TLS)",
                                 who));
  }
  auto endpoint = ResolveEndpoint(url->address);
  if (!endpoint) {
    return MakeError(ErrorCode::kUnavailable, fmt::format("{}: {}", who, endpoint.error().message));
  }
  ServiceTarget target;
  target.external = true;
  target.endpoint = *endpoint;
  target.host = url->address.host;
  target.port = url->address.port;
  // The Host header names the port only when the URL does (as browsers and curl send it).
  const bool explicit_port = static_cast<bool>(ParseUrl(service.external_url));
  target.authority = explicit_port ? url->address.ToString()
                     : target.host.find(':') != std::string::npos ? "[" + target.host + "]"
                                                                  : target.host;
  target.url_path = url->path;
  while (!target.url_path.empty() && target.url_path.back() == '/') target.url_path.pop_back();
  target.base_url = fmt::format("{}://{}{}", url->scheme, target.authority, target.url_path);
  target.tls = https;
  if (!https) return target;
  const TlsConfig files{service.ca_file, service.client_cert, service.client_key};
  auto context = LoadTlsClientContext(files);
  if (!context) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("service \"{}\": {}", service.name, context.error().message));
  }
  if (service.protocol == Protocol::kGrpc) {
    auto grpc_tls = ReadGrpcTls(files);
    if (!grpc_tls) {
      return MakeError(ErrorCode::kInvalidArgument,
                       fmt::format("service \"{}\": {}", service.name, grpc_tls.error().message));
    }
    target.grpc_tls = std::move(*grpc_tls);
  } else {
    target.tls_context = std::move(*context);
  }
  return target;
}

ServiceTarget::ServiceTarget(tcp::endpoint bound)
    : endpoint(bound),
      host(bound.address().to_string()),
      port(bound.port()),
      base_url(SimulatedBaseUrl(bound)) {}

Result<std::vector<ServiceTarget>> ResolveEntryTargets(const Scenario& scenario,
                                                     const BoundEndpointOf& bound) {
  std::vector<ServiceTarget> targets;
  for (const LoadEntry& entry : scenario.load.entries) {
    const Service* service = scenario.FindService(entry.service);
    if (service == nullptr) {
      return MakeError(ErrorCode::kInvalidArgument,
                       fmt::format("load entry names unknown service \"{}\"", entry.service));
    }
    if (service->IsExternal()) {
      auto target = ResolveExternalTarget(*service);
      if (!target) return target.error();
      targets.push_back(std::move(*target));
      continue;
    }
    auto endpoint = bound ? bound(entry.service) : std::nullopt;
    if (!endpoint) {
      return MakeError(ErrorCode::kInternal,
                       fmt::format("service \"{}\" is not running", entry.service));
    }
    targets.emplace_back(*endpoint);
  }
  return targets;
}

std::optional<GrpcMethodName> FullGrpcMethod(std::string_view route) {
  if (route.starts_with('/')) route.remove_prefix(1);
  const size_t slash = route.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 == route.size() ||
      route.find('/', slash + 1) != std::string_view::npos ||
      route.find(' ') != std::string_view::npos) {
    return std::nullopt;
  }
  return GrpcMethodName{"/" + std::string(route), std::string(route.substr(0, slash)),
                        std::string(route.substr(slash + 1))};
}

std::string EntryUrl(const ServiceTarget& target, std::string_view path) {
  return target.base_url + std::string(path);
}

}  // namespace tracerig
