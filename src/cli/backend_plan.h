// Where spans are exported and where the verifier reads them, decided from (in order of precedence)
// the command line, the scenario's [backend] table, the OTEL_EXPORTER_OTLP_* environment (only
// for an external backend), and the default: the embedded backend. Pure, so it is testable.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "topology/scenario.h"

namespace tracerig {

struct Endpoint {
  std::string host;
  uint16_t port = 0;
  std::string path;
};

// How spans travel to the backend.
enum class ExportProtocol { kOtlpHttpProtobuf, kOtlpHttpJson, kZipkin };
std::string_view ExportProtocolName(ExportProtocol protocol);  // "otlp-http", "otlp-http-json", "zipkin"
// Parses --export-protocol's value.
Result<ExportProtocol> ParseExportProtocol(std::string_view text);

struct BackendPlan {
  bool embedded = true;
  ExportProtocol protocol = ExportProtocol::kOtlpHttpProtobuf;
  Endpoint export_target;  // OTLP/HTTP; for the embedded backend filled in once it has started
  std::vector<std::pair<std::string, std::string>> export_headers;  // secrets: never printed
  Endpoint query;          // Jaeger query API
  std::string Describe() const;  // no header values
};

using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;

// `backend_flag` is --backend ("embedded", "jaeger://host:port"), `export_flag` is --export
// ("otlp-http://host:port[/path]"). Errors name the offending value.
Result<BackendPlan> PlanBackend(const BackendConfig& scenario_backend,
                                const std::optional<std::string>& backend_flag,
                                const std::optional<std::string>& export_flag, const EnvLookup& env);

// "k1=v1,k2=v2" as OTEL_EXPORTER_OTLP_HEADERS (values percent-decoded).
Result<std::vector<std::pair<std::string, std::string>>> ParseOtlpHeaders(std::string_view text);

}  // namespace tracerig
