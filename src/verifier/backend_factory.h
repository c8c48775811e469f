// From a query URL ([backend] query or --backend) to BackendClients: which query API the scheme
// names, where it is, and the headers every request carries (X-Scope-OrgID, Authorization).
//   jaeger://HOST[:16686][/base]     Jaeger query service, v1 HTTP JSON API (what the UI uses)
//   jaeger-v3://HOST[:16686][/base]  Jaeger query service, API v3 HTTP JSON
//   zipkin://HOST[:9411][/base]      Zipkin v2 query API
//   tempo://HOST[:3200][/base]       Grafana Tempo
//   tracerig://HOST[:16686][/base]   tracerig's embedded backend: batches of traces as OTLP
//                                    protobuf (GET /api/tracerig/traces), searches via Jaeger v1
// A /base path is prepended to every request (a query service behind a path prefix).
// "+https" after the scheme (jaeger+https://, jaeger-v3+https://, zipkin+https://, tempo+https://)
// queries over TLS, with the same default ports; the CA and client certificate come from
// HttpClientOptions::tls (system roots when unset).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "net/address.h"
#include "net/http_client_options.h"
#include "topology/scenario.h"
#include "verifier/backend_client.h"
#include "verifier/verify.h"

namespace tracerig {

enum class QueryApi { kJaegerV1, kJaegerV3, kZipkinV2, kTempo, kTracerig };

// The URL scheme: "jaeger", "jaeger-v3", "zipkin", "tempo", "tracerig".
std::string_view QueryApiScheme(QueryApi api);

struct QueryTarget {
  QueryApi api = QueryApi::kJaegerV1;
  HostPort address;
  std::string base_path;  // "" or "/prefix" without a trailing slash
  bool tls = false;       // the "+https" form
  // "http://host:port/prefix" (https:// with TLS), for Describe() and messages.
  std::string HttpBase() const;
};

// Errors name the URL: an unknown scheme with the closest known one ("zipkn" -> did you mean
// "zipkin"?), http(s):// (which does not say which API to speak), a missing host or bad port.
Result<QueryTarget> ParseQueryTarget(std::string_view query_url);

// The client for `target` over `fetcher` (which gets paths with the base path prepended).
std::unique_ptr<BackendClient> MakeBackendClient(const QueryTarget& target,
                                                 std::unique_ptr<HttpFetcher> fetcher);

// Checks the URL and headers once, then makes one client per call, each with its own connection
// (BlockingHttpFetcher is one connection, not thread-safe: one per verifier worker) sending
// `headers` on every request. Header names must be HTTP tokens and values must not contain
// CR, LF or NUL; errors name the header, never its value (values may be secrets).
Result<BackendClientFactory> MakeBackendClientFactory(std::string_view query_url,
                                                      const std::vector<Header>& headers,
                                                      HttpClientOptions options = {});

}  // namespace tracerig
