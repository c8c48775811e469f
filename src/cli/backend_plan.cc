#include "cli/backend_plan.h"

#include <iterator>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "backend/query_params.h"
#include "core/text.h"
#include "net/address.h"
#include "verifier/backend_factory.h"

namespace tracerig {
namespace {

// An export URL's scheme: its protocol and whether it is the TLS form. The TLS forms follow the
// plain ones: an "s" where the scheme names the transport (otlp-grpcs, otlp-https), "+https"
// where it names the system (zipkin+https, as the query URLs do).
struct ExportScheme {
  std::string_view scheme;
  ExportProtocol protocol;
  bool tls;
};
constexpr ExportScheme kExportSchemes[] = {
    {"otlp-http", ExportProtocol::kOtlpHttpProtobuf, false},
    {"http", ExportProtocol::kOtlpHttpProtobuf, false},
    {"otlp-http-json", ExportProtocol::kOtlpHttpJson, false},
    {"otlp-grpc", ExportProtocol::kOtlpGrpc, false},
    {"zipkin", ExportProtocol::kZipkin, false},
    {"otlp-https", ExportProtocol::kOtlpHttpProtobuf, true},
    {"https", ExportProtocol::kOtlpHttpProtobuf, true},
    {"otlp-https-json", ExportProtocol::kOtlpHttpJson, true},
    {"otlp-grpcs", ExportProtocol::kOtlpGrpc, true},
    {"zipkin+https", ExportProtocol::kZipkin, true},
};

// " (did you mean "otlp-grpc"?)" for a mistyped protocol or scheme, also when it was typed
// without its "otlp-" ("gprc"), or "" when nothing is close.
template <typename Names>
std::string DidYouMeanExportName(std::string_view text, const Names& names) {
  std::vector<std::string_view> candidates(std::begin(names), std::end(names));
  if (std::string hint = DidYouMean(text, candidates, 2); !hint.empty()) return hint;
  constexpr std::string_view kOtlp = "otlp-";
  std::string_view best;
  size_t best_distance = 3;
  for (std::string_view name : candidates) {
    if (name.substr(0, kOtlp.size()) != kOtlp) continue;
    const std::string_view rest = name.substr(kOtlp.size());
    const size_t d = EditDistance(text, rest);
    if (d < best_distance && d < rest.size()) {
      best = name;
      best_distance = d;
    }
  }
  return best.empty() ? "" : fmt::format(" (did you mean \"{}\"?)", best);
}

Result<Endpoint> ParseExport(std::string_view what, std::string_view text,
                             ExportProtocol& protocol, bool& tls) {
  const size_t sep = text.find("://");
  const std::string_view scheme = text.substr(0, sep == std::string_view::npos ? 0 : sep);
  const ExportScheme* known = nullptr;
  for (const ExportScheme& s : kExportSchemes) {
    if (s.scheme == scheme) known = &s;
  }
  const bool zipkin = known != nullptr && known->protocol == ExportProtocol::kZipkin;
  const bool grpc = known != nullptr && known->protocol == ExportProtocol::kOtlpGrpc;
  auto url = ParseUrl(text, zipkin ? 9411 : grpc ? 4317 : 4318);
  if (!url) return MakeError(fmt::format("{}: {}", what, url.error().message));
  if (known == nullptr) {
    std::vector<std::string_view> schemes;
    for (const ExportScheme& s : kExportSchemes) schemes.push_back(s.scheme);
    return MakeError(fmt::format(
        "{}: \"{}\": unknown export scheme \"{}\"{} (expected otlp-http://, otlp-http-json://, "
        "otlp-grpc:// or zipkin://, or for TLS otlp-https://, otlp-https-json://, otlp-grpcs:// or "
        "zipkin+https://)",
        what, text, url->scheme, DidYouMeanExportName(url->scheme, schemes)));
  }
  tls = known->tls;
  if (grpc) {
    if (!url->path.empty()) {
      return MakeError(fmt::format(
          "{}: \"{}\": OTLP/gRPC has a fixed method path; give only host:port", what, text));
    }
    protocol = ExportProtocol::kOtlpGrpc;
    return Endpoint{url->address.host, url->address.port, ""};
  }
  if (zipkin) {
    protocol = ExportProtocol::kZipkin;
    return Endpoint{url->address.host, url->address.port,
                    url->path.empty() ? "/api/v2/spans" : url->path};
  }
  // http:// and https:// keep an --export-protocol / environment choice of JSON.
  if (known->protocol == ExportProtocol::kOtlpHttpJson) {
    protocol = ExportProtocol::kOtlpHttpJson;
  } else if (scheme == "otlp-http" || scheme == "otlp-https" ||
             protocol == ExportProtocol::kZipkin || protocol == ExportProtocol::kOtlpGrpc) {
    protocol = ExportProtocol::kOtlpHttpProtobuf;
  }
  return Endpoint{url->address.host, url->address.port,
                  url->path.empty() ? "/v1/traces" : url->path};
}

// The scenario's file, else the signal-specific variable, else the generic one.
std::string TlsFileSetting(const std::string& scenario_value, std::string_view variable,
                           const EnvLookup& env) {
  if (!scenario_value.empty()) return scenario_value;
  for (const std::string& name : {fmt::format("OTEL_EXPORTER_OTLP_TRACES_{}", variable),
                                  fmt::format("OTEL_EXPORTER_OTLP_{}", variable)}) {
    if (auto value = env(name); value && !value->empty()) return *value;
  }
  return "";
}

Result<Endpoint> ParseQuery(std::string_view what, std::string_view text, bool& tls) {
  auto target = ParseQueryTarget(text);
  if (!target) return MakeError(fmt::format("{}: {}", what, target.error().message));
  tls = target->tls;
  return Endpoint{target->address.host, target->address.port, target->base_path};
}

}  // namespace

std::string_view ExportProtocolName(ExportProtocol protocol) {
  switch (protocol) {
    case ExportProtocol::kOtlpHttpJson:
      return "otlp-http-json";
    case ExportProtocol::kZipkin:
      return "zipkin";
    case ExportProtocol::kOtlpGrpc:
      return "otlp-grpc";
    case ExportProtocol::kOtlpHttpProtobuf:
      break;
  }
  return "otlp-http";
}

namespace {

constexpr ExportProtocol kExportProtocols[] = {
    ExportProtocol::kOtlpHttpProtobuf, ExportProtocol::kOtlpHttpJson, ExportProtocol::kOtlpGrpc,
    ExportProtocol::kZipkin};

constexpr QueryApi kQueryApis[] = {QueryApi::kJaegerV1, QueryApi::kJaegerV3, QueryApi::kZipkinV2,
                                   QueryApi::kTempo, QueryApi::kTracerig};

// The names --export-protocol accepts, in the order help and messages list them.
std::vector<std::string_view> ExportProtocolNames() {
  std::vector<std::string_view> names;
  for (auto p : kExportProtocols) names.push_back(ExportProtocolName(p));
  return names;
}

}  // namespace

Result<ExportProtocol> ParseExportProtocol(std::string_view text) {
  for (auto p : kExportProtocols) {
    if (text == ExportProtocolName(p)) return p;
  }
  return MakeError(fmt::format("--export-protocol \"{}\" is not one of {}{}", text,
                               ExportProtocolList(),
                               DidYouMeanExportName(text, ExportProtocolNames())));
}

std::string ExportProtocolList() {
  return fmt::format("{}", fmt::join(ExportProtocolNames(), ", "));
}

std::string ExportSchemeList() {
  std::string plain;
  std::string tls;
  const ExportScheme* previous = nullptr;
  for (const ExportScheme& s : kExportSchemes) {
    std::string& out = s.tls ? tls : plain;
    // A second scheme for the same protocol and transport is an alias: "otlp-http:// (or http://)".
    if (previous != nullptr && previous->protocol == s.protocol && previous->tls == s.tls) {
      out += fmt::format(" (or {}://)", s.scheme);
    } else {
      out += fmt::format("{}{}://", out.empty() ? "" : ", ", s.scheme);
    }
    previous = &s;
  }
  return plain + "; for TLS " + tls;
}

std::string QuerySchemeList() {
  std::vector<std::string> names;
  for (QueryApi api : kQueryApis) names.push_back(fmt::format("{}://", QueryApiScheme(api)));
  return fmt::format("{}", fmt::join(names, ", "));
}

std::string BackendPlan::Describe() const {
  if (embedded) {
    return fmt::format("embedded ({} {}:{}, tracerig query {}:{})", ExportProtocolName(protocol),
                       export_target.host, export_target.port, query.host, query.port);
  }
  return fmt::format(
      "export {}://{}:{}{}{}{}, query {}{}", ExportProtocolName(protocol), export_target.host,
      export_target.port, export_target.path, export_tls ? " over TLS" : "",
      export_headers.empty() ? "" : fmt::format(" ({} headers)", export_headers.size()),
      query_url.empty() ? "none (not verified)" : query_url,
      query_headers.empty() ? "" : fmt::format(" ({} headers)", query_headers.size()));
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
                                const std::optional<std::string>& export_flag, const EnvLookup& env,
                                bool query_needed) {
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
  if (query.empty() && !query_needed) {
    // Spans are exported but never read back (run --no-verify, serve): no query API to plan.
    plan.embedded = false;
  } else if (query.empty()) {
    return MakeError(
        fmt::format("{} is set but no query backend: the verifier must read the spans "
                    "back (set --backend to {} with HOST:PORT, +https for TLS, or [backend] query)",
                    export_what, QuerySchemeList()));
  }
  plan.embedded = false;
  if (!query.empty()) {
    auto q = ParseQuery(query_what, query, plan.query_tls);
    if (!q) return q.error();
    plan.query = *q;
    plan.query_url = query;
  }
  plan.query_headers = scenario_backend.query_headers;
  plan.query_tls_config = TlsConfig{scenario_backend.ca_file, scenario_backend.client_cert_file,
                                    scenario_backend.client_key_file};
  plan.export_tls_config =
      TlsConfig{TlsFileSetting(scenario_backend.ca_file, "CERTIFICATE", env),
                TlsFileSetting(scenario_backend.client_cert_file, "CLIENT_CERTIFICATE", env),
                TlsFileSetting(scenario_backend.client_key_file, "CLIENT_KEY", env)};
  for (const auto& h : scenario_backend.export_headers) plan.export_headers.emplace_back(h.name, h.value);
  if (export_url.empty()) {
    // As every OpenTelemetry SDK does: the signal-specific variable is a full URL, the generic
    // one a base to which /v1/traces is appended.
    if (auto protocol = env("OTEL_EXPORTER_OTLP_PROTOCOL"); protocol && !protocol->empty()) {
      if (*protocol == "http/json") {
        plan.protocol = ExportProtocol::kOtlpHttpJson;
      } else if (*protocol == "grpc") {
        plan.protocol = ExportProtocol::kOtlpGrpc;
      } else if (*protocol != "http/protobuf") {
        return MakeError(
            fmt::format("OTEL_EXPORTER_OTLP_PROTOCOL=\"{}\" is not one of grpc, http/protobuf, "
                        "http/json",
                        *protocol));
      }
    }
    const bool grpc = plan.protocol == ExportProtocol::kOtlpGrpc;
    if (auto traces = env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"); traces && !traces->empty()) {
      // The SDKs' form: an http(s):// URL, https meaning TLS; for grpc only its host and port
      // count.
      auto url = ParseUrl(*traces, grpc ? 4317 : 4318);
      if (!url) return MakeError("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: " + url.error().message);
      plan.export_tls = url->scheme == "https";
      plan.export_target = Endpoint{url->address.host, url->address.port,
                                    grpc ? "" : (url->path.empty() ? "/v1/traces" : url->path)};
    } else if (auto base = env("OTEL_EXPORTER_OTLP_ENDPOINT"); base && !base->empty()) {
      std::string b = *base;
      while (!b.empty() && b.back() == '/') b.pop_back();
      auto url = ParseUrl(b, grpc ? 4317 : 4318);
      if (!url) return MakeError("OTEL_EXPORTER_OTLP_ENDPOINT: " + url.error().message);
      plan.export_tls = url->scheme == "https";
      plan.export_target = Endpoint{url->address.host, url->address.port,
                                    grpc ? "" : url->path + "/v1/traces"};
    } else {
      // Same host as the query API, the standard OTLP port.
      plan.export_target = Endpoint{plan.query.host, static_cast<uint16_t>(grpc ? 4317 : 4318),
                                    grpc ? "" : "/v1/traces"};
    }
  } else {
    auto e = ParseExport(export_what, export_url, plan.protocol, plan.export_tls);
    if (!e) return e.error();
    plan.export_target = *e;
  }
  if (auto headers = env("OTEL_EXPORTER_OTLP_HEADERS"); headers && !headers->empty()) {
    auto parsed = ParseOtlpHeaders(*headers);
    if (!parsed) return parsed.error();
    // The scenario's headers win over the environment's, as its export URL does.
    for (auto& [name, value] : *parsed) {
      bool set = false;
      for (const auto& h : plan.export_headers) set = set || AsciiLowercase(h.first) == AsciiLowercase(name);
      if (!set) plan.export_headers.emplace_back(std::move(name), std::move(value));
    }
  }
  return plan;
}

}  // namespace tracerig
