// Where spans are exported and where the verifier reads them, decided from (in order of precedence)
// the command line, the scenario's [backend] table, the OTEL_EXPORTER_OTLP_* environment (only
// for an external backend), and the default: the embedded backend. Pure, so it is testable.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "net/tls.h"
#include "topology/scenario.h"

namespace tracerig {

struct Endpoint {
  std::string host;
  uint16_t port = 0;
  std::string path;
};

// How spans travel to the backend.
enum class ExportProtocol { kOtlpHttpProtobuf, kOtlpHttpJson, kZipkin, kOtlpGrpc };
// "otlp-http", "otlp-http-json", "zipkin", "otlp-grpc"
std::string_view ExportProtocolName(ExportProtocol protocol);
// Parses --export-protocol's value.
Result<ExportProtocol> ParseExportProtocol(std::string_view text);
// What ParseExportProtocol accepts: "otlp-http, otlp-http-json, otlp-grpc, zipkin".
std::string ExportProtocolList();

// For --help and messages, from the tables PlanBackend parses with. The --export schemes:
// "otlp-http:// (or http://), otlp-http-json://, ...; for TLS otlp-https:// (or https://), ...".
std::string ExportSchemeList();
// The --backend query URL schemes: "jaeger://, jaeger-v3://, zipkin://, tempo://, tracerig://".
std::string QuerySchemeList();

struct BackendPlan {
  bool embedded = true;
  ExportProtocol protocol = ExportProtocol::kOtlpHttpProtobuf;
  Endpoint export_target;  // OTLP/HTTP; for the embedded backend filled in once it has started
  std::vector<std::pair<std::string, std::string>> export_headers;  // secrets: never printed
  // otlp-grpcs://, otlp-https://, otlp-https-json://, https://, zipkin+https:// or an https://
  // OTEL_EXPORTER_OTLP_*ENDPOINT.
  bool export_tls = false;
  // Used only with export_tls: each of [backend] ca_file, client_cert, client_key, else
  // OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE / _CLIENT_CERTIFICATE / _CLIENT_KEY, else the generic
  // OTEL_EXPORTER_OTLP_CERTIFICATE / ... (the OpenTelemetry SDKs' precedence).
  TlsConfig export_tls_config;
  bool query_tls = false;  // jaeger+https://, jaeger-v3+https://, zipkin+https://, tempo+https://
  TlsConfig query_tls_config;  // [backend] ca_file, client_cert, client_key
  Endpoint query;          // the query API's address (for messages)
  // The query URL the verifier's clients are made from (verifier/backend_factory.h):
  // "jaeger://host:port", "jaeger-v3://...", "zipkin://...", "tempo://..."; for the embedded
  // backend set once it has started.
  std::string query_url;
  std::vector<Header> query_headers;  // secrets: never printed
  std::string Describe() const;  // no header values
};

using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;

// `backend_flag` is --backend ("embedded", "jaeger://host:port", "zipkin://", "tempo://",
// "jaeger-v3://", each with a "+https" TLS form such as "jaeger+https://"), `export_flag` is
// --export ("otlp-http://host:port[/path]", "otlp-http-json://", "otlp-grpc://", "zipkin://"; TLS
// forms "otlp-https://" (or "https://"), "otlp-https-json://", "otlp-grpcs://", "zipkin+https://").
// Headers come from [backend] export_headers / query_headers, then OTEL_EXPORTER_OTLP_HEADERS for
// export. Errors name the offending value, never a header value. Without `query_needed` (nothing
// will be verified) an export target needs no query backend; the plan's query_url is then empty.
Result<BackendPlan> PlanBackend(const BackendConfig& scenario_backend,
                                const std::optional<std::string>& backend_flag,
                                const std::optional<std::string>& export_flag, const EnvLookup& env,
                                bool query_needed = true);

// "k1=v1,k2=v2" as OTEL_EXPORTER_OTLP_HEADERS (values percent-decoded).
Result<std::vector<std::pair<std::string, std::string>>> ParseOtlpHeaders(std::string_view text);

}  // namespace tracerig
