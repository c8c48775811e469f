// Where requests to a service go: the bound address of a simulated service, or an external
// service's URL (http, https with the service's CA and client certificate, gRPC over either),
// resolved and with its TLS files loaded before the load starts. The load driver sends to its
// entries this way, and simulated services call external ones the same way.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "net/beast.h"
#include "net/grpc_sim.h"
#include "net/tls.h"
#include "topology/scenario.h"

namespace tracerig {

struct ServiceTarget {
  ServiceTarget() = default;
  // A simulated service bound at `bound` (plain HTTP or plaintext gRPC, Host = the service name).
  // NOLINTNEXTLINE(google-explicit-constructor): a list of endpoints is a list of simulated targets
  ServiceTarget(tcp::endpoint bound);

  tcp::endpoint endpoint;  // what the driver connects to
  bool external = false;   // a real service: ground truth also goes as baggage and tracestate
  // The host as the URL names it (external) or the bound address (simulated): server.address,
  // and for TLS the name sent as SNI and checked against the certificate.
  std::string host;
  uint16_t port = 0;
  // The Host header: "host[:port]" from the URL for an external service; "" = the entry's service
  // name (what simulated services are called by).
  std::string authority;
  // "http://127.0.0.1:8080" or "https://shop.example/api": scheme, authority and the URL's path
  // (no trailing '/'); HTTP requests go to url_path + the route's path, url.full is base_url + it.
  std::string base_url;
  std::string url_path;
  bool tls = false;
  // TLS entries: for HTTP the context loaded from the service's ca_file / client_cert /
  // client_key; for gRPC the same files' contents (grpc::SslCredentials).
  std::shared_ptr<const TlsClientContext> tls_context;
  std::shared_ptr<const GrpcClientTls> grpc_tls;
};

// Where a simulated service is bound (TopologyRuntime::EndpointOf); nullopt for an unknown one.
using BoundEndpointOf = std::function<std::optional<tcp::endpoint>(std::string_view service)>;

// An external service's target: its URL parsed (ports 80 and 443 by default), the host resolved,
// TLS files loaded. Errors as ResolveEntryTargets'.
Result<ServiceTarget> ResolveExternalTarget(const Service& service);

// scenario.load.entries[i]'s target, for every i. External services: their URL parsed (ports 80
// and 443 by default), the host resolved, TLS files loaded. Errors name the service and say why:
// a bad URL or TLS file is kInvalidArgument, a host that does not resolve kUnavailable.
Result<std::vector<ServiceTarget>> ResolveEntryTargets(const Scenario& scenario,
                                                     const BoundEndpointOf& bound);

// An external gRPC entry's route as a full method: "pkg.Service/Method" or "/pkg.Service/Method"
// (path "/pkg.Service/Method", service "pkg.Service", method "Method"); nullopt for any other
// name, which is called as SimService/Call.
struct GrpcMethodName {
  std::string path;
  std::string service;
  std::string method;
};
std::optional<GrpcMethodName> FullGrpcMethod(std::string_view route);

// An external HTTP entry's full URL for `path` (base_url + path); a simulated one's
// "http://address:port" + path.
std::string EntryUrl(const ServiceTarget& target, std::string_view path);

}  // namespace tracerig
