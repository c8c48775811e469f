#include "cli/backend_plan.h"

#include <fmt/format.h>

#include "backend/query_params.h"
#include "core/text.h"
#include "net/address.h"

namespace tracerig {
namespace {

Result<Endpoint> ParseExport(std::string_view what, std::string_view text,
                             ExportProtocol& protocol) {
  const bool zipkin = text.rfind("zipkin://", 0) == 0;
  auto url = ParseUrl(text, zipkin ? 9411 : 4318);
  if (!url) return MakeError(fmt::format("{}: {}", what, url.error().message));
  if (zipkin) {
    protocol = ExportProtocol::kZipkin;
    return Endpoint{url->address.host, url->address.port,
                    url->path.empty() ? "/api/v2/spans" : url->path};
  }
  if (url->scheme == "otlp-grpc") {
    return MakeError(
        fmt::format("{}: \"{}\": exporting with {} is not supported yet (use otlp-http://)", what,
                    text, url->scheme));
  }
  if (url->scheme != "otlp-http" && url->scheme != "http") {
    return MakeError(
        fmt::format("{}: \"{}\": unknown export scheme \"{}\" (expected otlp-http:// "
                    "or zipkin://)",
                    what, text, url->scheme));
  }
  if (protocol == ExportProtocol::kZipkin) protocol = ExportProtocol::kOtlpHttpProtobuf;
  return Endpoint{url->address.host, url->address.port,
                  url->path.empty() ? "/v1/traces" : url->path};
}

Result<Endpoint> ParseQuery(std::string_view what, std::string_view text) {
  auto url = ParseUrl(text, 16686);
  if (!url) return MakeError(fmt::format("{}: {}", what, url.error().message));
  if (url->scheme == "zipkin" || url->scheme == "tempo") {
    return MakeError(fmt::format("{}: \"{}\": querying {} is not supported yet (use jaeger://)",
                                 what, text, url->scheme));
  }
  if (url->scheme != "jaeger") {
    return MakeError(
        fmt::format("{}: \"{}\": unknown backend scheme \"{}\" (expected embedded or "
                    "jaeger://host:port)",
                    what, text, url->scheme));
  }
  return Endpoint{url->address.host, url->address.port, url->path};
}

}  // namespace

std::string_view ExportProtocolName(ExportProtocol protocol) {
  switch (protocol) {
    case ExportProtocol::kOtlpHttpJson:
      return "otlp-http-json";
    case ExportProtocol::kZipkin:
      return "zipkin";
    case ExportProtocol::kOtlpHttpProtobuf:
      break;
  }
  return "otlp-http";
}

Result<ExportProtocol> ParseExportProtocol(std::string_view text) {
  for (auto p : {ExportProtocol::kOtlpHttpProtobuf, ExportProtocol::kOtlpHttpJson,
                 ExportProtocol::kZipkin}) {
    if (text == ExportProtocolName(p)) return p;
  }
  return MakeError(fmt::format(
      "--export-protocol \"{}\" is not one of otlp-http, otlp-http-json, zipkin", text));
}

std::string BackendPlan::Describe() const {
  if (embedded) {
    return fmt::format("embedded ({} {}:{}, Jaeger query {}:{})", ExportProtocolName(protocol),
                       export_target.host, export_target.port, query.host, query.port);
  }
  return fmt::format(
      "export {}://{}:{}{}{}, query jaeger://{}:{}",
      protocol == ExportProtocol::kZipkin ? "zipkin" : "otlp-http", export_target.host,
      export_target.port, export_target.path,
      export_headers.empty() ? "" : fmt::format(" ({} headers)", export_headers.size()), query.host,
      query.port);
}

Result<std::vector<std::pair<std::string, std::string>>> ParseOtlpHeaders(std::string_view text) {
  std::vector<std::pair<std::string, std::string>> headers;
  while (!text.empty()) {
    size_t comma = text.find(',');
    std::string_view item = TrimSpaceAndTab(text.substr(0, comma));
    text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
    if (item.empty()) continue;
    size_t eq = item.find('=');
    if (eq == std::string_view::npos || TrimSpaceAndTab(item.substr(0, eq)).empty()) {
      // Never echo the item: it may hold a secret.
      return MakeError("OTEL_EXPORTER_OTLP_HEADERS: an entry is not key=value");
    }
    auto key = PercentDecode(TrimSpaceAndTab(item.substr(0, eq)), /*plus_is_space=*/false);
    auto value = PercentDecode(TrimSpaceAndTab(item.substr(eq + 1)), /*plus_is_space=*/false);
    if (!key || !value) {
      return MakeError("OTEL_EXPORTER_OTLP_HEADERS: an entry has an invalid %-escape");
    }
    headers.emplace_back(std::move(*key), std::move(*value));
  }
  return headers;
}

Result<BackendPlan> PlanBackend(const BackendConfig& scenario_backend,
                                const std::optional<std::string>& backend_flag,
                                const std::optional<std::string>& export_flag,
                                const EnvLookup& env) {
  BackendPlan plan;
  std::string query = scenario_backend.query_url;
  std::string export_url = scenario_backend.export_url;
  std::string query_what = "[backend] query";
  std::string export_what = "[backend] export";
  if (backend_flag) {
    query = *backend_flag == "embedded" ? "" : *backend_flag;
    query_what = "--backend";
    if (*backend_flag == "embedded" && !export_flag) export_url.clear();
  }
  if (export_flag) {
    export_url = *export_flag;
    export_what = "--export";
  }
  if (query.empty() && export_url.empty()) {
    plan.embedded = true;
    return plan;
  }
  if (query.empty()) {
    return MakeError(
        fmt::format("{} is set but no query backend: the verifier must read the spans "
                    "back (set --backend jaeger://HOST:PORT or [backend] query)",
                    export_what));
  }
  plan.embedded = false;
  auto q = ParseQuery(query_what, query);
  if (!q) return q.error();
  plan.query = *q;
  if (export_url.empty()) {
    // As every OpenTelemetry SDK does: the signal-specific variable is a full URL, the generic
    // one a base to which /v1/traces is appended.
    if (auto protocol = env("OTEL_EXPORTER_OTLP_PROTOCOL"); protocol && !protocol->empty()) {
      if (*protocol == "http/json") {
        plan.protocol = ExportProtocol::kOtlpHttpJson;
      } else if (*protocol != "http/protobuf") {
        return MakeError(
            fmt::format("OTEL_EXPORTER_OTLP_PROTOCOL=\"{}\" is not supported yet (use "
                        "http/protobuf or http/json)",
                        *protocol));
      }
    }
    if (auto traces = env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"); traces && !traces->empty()) {
      auto e = ParseExport("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", *traces, plan.protocol);
      if (!e) return e.error();
      plan.export_target = *e;
    } else if (auto base = env("OTEL_EXPORTER_OTLP_ENDPOINT"); base && !base->empty()) {
      std::string b = *base;
      while (!b.empty() && b.back() == '/') b.pop_back();
      auto url = ParseUrl(b, 4318);
      if (!url) return MakeError("OTEL_EXPORTER_OTLP_ENDPOINT: " + url.error().message);
      plan.export_target = Endpoint{url->address.host, url->address.port, url->path + "/v1/traces"};
    } else {
      // Same host as the query API, the standard OTLP/HTTP port.
      plan.export_target = Endpoint{plan.query.host, 4318, "/v1/traces"};
    }
  } else {
    auto e = ParseExport(export_what, export_url, plan.protocol);
    if (!e) return e.error();
    plan.export_target = *e;
  }
  if (auto headers = env("OTEL_EXPORTER_OTLP_HEADERS"); headers && !headers->empty()) {
    auto parsed = ParseOtlpHeaders(*headers);
    if (!parsed) return parsed.error();
    plan.export_headers = std::move(*parsed);
  }
  return plan;
}

}  // namespace tracerig
