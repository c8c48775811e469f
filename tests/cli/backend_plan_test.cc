#include "cli/backend_plan.h"

#include <gtest/gtest.h>

#include <map>
#include <regex>

namespace tracerig {
namespace {

EnvLookup Env(std::map<std::string, std::string> vars) {
  return [vars](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

TEST(BackendPlanTest, DefaultIsEmbeddedAndIgnoresOtelEnvironment) {
  // The embedded backend is where the verifier looks, so the environment must not divert spans.
  auto plan = PlanBackend({}, std::nullopt, std::nullopt,
                          Env({{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://elsewhere:4318"}}));
  ASSERT_TRUE(plan);
  EXPECT_TRUE(plan->embedded);
}

TEST(BackendPlanTest, JaegerFlagWithDefaultExportPort) {
  auto plan = PlanBackend({}, std::string("jaeger://10.1.2.3:16686"), std::nullopt, Env({}));
  ASSERT_TRUE(plan) << plan.error().message;
  EXPECT_FALSE(plan->embedded);
  EXPECT_EQ(plan->query.host, "10.1.2.3");
  EXPECT_EQ(plan->query.port, 16686);
  EXPECT_EQ(plan->export_target.host, "10.1.2.3");
  EXPECT_EQ(plan->export_target.port, 4318);
  EXPECT_EQ(plan->export_target.path, "/v1/traces");
}

TEST(BackendPlanTest, EnvironmentEndpointsAndPrecedence) {
  auto base = PlanBackend({}, std::string("jaeger://q:16686"), std::nullopt,
                          Env({{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/"}}));
  ASSERT_TRUE(base) << base.error().message;
  EXPECT_EQ(base->export_target.host, "collector");
  EXPECT_EQ(base->export_target.path, "/v1/traces");

  auto traces = PlanBackend({}, std::string("jaeger://q:16686"), std::nullopt,
                            Env({{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318"},
                                 {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://t:9999/custom"}}));
  ASSERT_TRUE(traces);
  EXPECT_EQ(traces->export_target.host, "t");
  EXPECT_EQ(traces->export_target.port, 9999);
  EXPECT_EQ(traces->export_target.path, "/custom");

  // The command line wins over the scenario, which wins over the environment.
  BackendConfig scenario;
  scenario.export_url = "otlp-http://from-scenario:4318";
  scenario.query_url = "jaeger://q:16686";
  auto flag = PlanBackend(scenario, std::nullopt, std::string("otlp-http://from-flag:1234"),
                          Env({{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://env:4318"}}));
  ASSERT_TRUE(flag);
  EXPECT_EQ(flag->export_target.host, "from-flag");
  auto file = PlanBackend(scenario, std::nullopt, std::nullopt,
                          Env({{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://env:4318"}}));
  ASSERT_TRUE(file);
  EXPECT_EQ(file->export_target.host, "from-scenario");
}

TEST(BackendPlanTest, ExportProtocolFollowsSchemeAndEnvironment) {
  auto zipkin = PlanBackend({}, std::string("jaeger://q:16686"), std::string("zipkin://z"), Env({}));
  ASSERT_TRUE(zipkin) << zipkin.error().message;
  EXPECT_EQ(zipkin->protocol, ExportProtocol::kZipkin);
  EXPECT_EQ(zipkin->export_target.port, 9411);
  EXPECT_EQ(zipkin->export_target.path, "/api/v2/spans");
  auto json = PlanBackend({}, std::string("jaeger://q:16686"), std::nullopt,
                          Env({{"OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"}}));
  ASSERT_TRUE(json);
  EXPECT_EQ(json->protocol, ExportProtocol::kOtlpHttpJson);
  auto protobuf = PlanBackend({}, std::string("jaeger://q:16686"), std::string("otlp-http://c:1"),
                              Env({{"OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"}}));
  ASSERT_TRUE(protobuf);
  EXPECT_EQ(protobuf->protocol, ExportProtocol::kOtlpHttpProtobuf);  // an explicit URL wins
  EXPECT_EQ(ParseExportProtocol("zipkin").value(), ExportProtocol::kZipkin);
  EXPECT_EQ(ParseExportProtocol("otlp-grpc").value(), ExportProtocol::kOtlpGrpc);
  EXPECT_EQ(ParseExportProtocol("grpc").error().message,
            "--export-protocol \"grpc\" is not one of otlp-http, otlp-http-json, otlp-grpc, "
            "zipkin (did you mean \"otlp-grpc\"?)");
  // OTLP/gRPC: the scheme or the SDKs' protocol variable; port 4317, no path; otlp-grpcs is TLS.
  auto grpc = PlanBackend({}, std::string("tempo://t"), std::string("otlp-grpc://c"), Env({}));
  ASSERT_TRUE(grpc) << grpc.error().message;
  EXPECT_EQ(grpc->protocol, ExportProtocol::kOtlpGrpc);
  EXPECT_EQ(grpc->export_target.port, 4317);
  EXPECT_EQ(grpc->export_target.path, "");
  EXPECT_FALSE(grpc->export_tls);
  EXPECT_EQ(grpc->query_url, "tempo://t");
  auto grpcs = PlanBackend({}, std::string("zipkin://z"), std::string("otlp-grpcs://c:443"), Env({}));
  ASSERT_TRUE(grpcs) << grpcs.error().message;
  EXPECT_TRUE(grpcs->export_tls);
  auto env_grpc = PlanBackend({}, std::string("jaeger-v3://q"), std::nullopt,
                              Env({{"OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"},
                                   {"OTEL_EXPORTER_OTLP_ENDPOINT", "https://collector"}}));
  ASSERT_TRUE(env_grpc) << env_grpc.error().message;
  EXPECT_EQ(env_grpc->protocol, ExportProtocol::kOtlpGrpc);
  EXPECT_EQ(env_grpc->export_target.host, "collector");
  EXPECT_EQ(env_grpc->export_target.port, 4317);
  EXPECT_TRUE(env_grpc->export_tls);
}

// Every export scheme: the protocol, the port and path defaults, and whether it is TLS.
TEST(BackendPlanTest, ExportSchemesAndTheirTlsForms) {
  struct Case {
    const char* url;
    ExportProtocol protocol;
    uint16_t port;
    const char* path;
    bool tls;
  };
  const Case cases[] = {
      {"otlp-http://c", ExportProtocol::kOtlpHttpProtobuf, 4318, "/v1/traces", false},
      {"http://c", ExportProtocol::kOtlpHttpProtobuf, 4318, "/v1/traces", false},
      {"otlp-http-json://c/p", ExportProtocol::kOtlpHttpJson, 4318, "/p", false},
      {"otlp-grpc://c", ExportProtocol::kOtlpGrpc, 4317, "", false},
      {"zipkin://c", ExportProtocol::kZipkin, 9411, "/api/v2/spans", false},
      {"otlp-https://c", ExportProtocol::kOtlpHttpProtobuf, 4318, "/v1/traces", true},
      {"https://c:443/otlp/v1/traces", ExportProtocol::kOtlpHttpProtobuf, 443, "/otlp/v1/traces",
       true},
      {"otlp-https-json://c", ExportProtocol::kOtlpHttpJson, 4318, "/v1/traces", true},
      {"otlp-grpcs://c", ExportProtocol::kOtlpGrpc, 4317, "", true},
      {"zipkin+https://c", ExportProtocol::kZipkin, 9411, "/api/v2/spans", true},
  };
  for (const Case& c : cases) {
    auto plan = PlanBackend({}, std::string("jaeger://q"), std::string(c.url), Env({}));
    ASSERT_TRUE(plan) << c.url << ": " << plan.error().message;
    EXPECT_EQ(plan->protocol, c.protocol) << c.url;
    EXPECT_EQ(plan->export_target.host, "c") << c.url;
    EXPECT_EQ(plan->export_target.port, c.port) << c.url;
    EXPECT_EQ(plan->export_target.path, c.path) << c.url;
    EXPECT_EQ(plan->export_tls, c.tls) << c.url;
    EXPECT_EQ(plan->Describe().find("over TLS") != std::string::npos, c.tls) << c.url;
  }
}

TEST(BackendPlanTest, QueryTlsAndItsFiles) {
  BackendConfig scenario;
  scenario.query_url = "tempo+https://t";
  scenario.ca_file = "/etc/ca.pem";
  scenario.client_cert_file = "/etc/c.pem";
  scenario.client_key_file = "/etc/c.key";
  auto plan = PlanBackend(scenario, std::nullopt, std::nullopt, Env({}));
  ASSERT_TRUE(plan) << plan.error().message;
  EXPECT_TRUE(plan->query_tls);
  EXPECT_EQ(plan->query.port, 3200);
  EXPECT_EQ(plan->query_tls_config.ca_file, "/etc/ca.pem");
  EXPECT_EQ(plan->query_tls_config.client_cert_file, "/etc/c.pem");
  EXPECT_EQ(plan->query_tls_config.client_key_file, "/etc/c.key");
  EXPECT_FALSE(plan->export_tls);  // spans go to http://t:4318
  auto plain = PlanBackend({}, std::string("jaeger://q"), std::nullopt, Env({}));
  ASSERT_TRUE(plain);
  EXPECT_FALSE(plain->query_tls);
}

// OTLP/HTTP to an https:// endpoint from the environment is TLS (it used to go out in clear),
// with the certificate variables the OpenTelemetry SDKs read: the scenario's files first, then
// the traces-specific variable, then the generic one.
TEST(BackendPlanTest, TlsFilesFromTheEnvironment) {
  const std::map<std::string, std::string> env = {
      {"OTEL_EXPORTER_OTLP_ENDPOINT", "https://collector"},
      {"OTEL_EXPORTER_OTLP_CERTIFICATE", "/generic/ca.pem"},
      {"OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE", "/traces/ca.pem"},
      {"OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", "/generic/c.pem"},
      {"OTEL_EXPORTER_OTLP_CLIENT_KEY", "/generic/c.key"}};
  auto plan = PlanBackend({}, std::string("jaeger://q"), std::nullopt, Env(env));
  ASSERT_TRUE(plan) << plan.error().message;
  EXPECT_EQ(plan->protocol, ExportProtocol::kOtlpHttpProtobuf);
  EXPECT_EQ(plan->export_target.host, "collector");
  EXPECT_EQ(plan->export_target.path, "/v1/traces");
  EXPECT_TRUE(plan->export_tls);
  EXPECT_EQ(plan->export_tls_config.ca_file, "/traces/ca.pem");
  EXPECT_EQ(plan->export_tls_config.client_cert_file, "/generic/c.pem");
  EXPECT_EQ(plan->export_tls_config.client_key_file, "/generic/c.key");
  EXPECT_TRUE(plan->query_tls_config.ca_file.empty());  // the variables are for export only

  BackendConfig scenario;
  scenario.query_url = "jaeger://q";
  scenario.ca_file = "/scenario/ca.pem";
  auto with_file = PlanBackend(scenario, std::nullopt, std::nullopt, Env(env));
  ASSERT_TRUE(with_file) << with_file.error().message;
  EXPECT_EQ(with_file->export_tls_config.ca_file, "/scenario/ca.pem");
  EXPECT_EQ(with_file->export_tls_config.client_key_file, "/generic/c.key");

  auto traces = PlanBackend({}, std::string("jaeger://q"), std::nullopt,
                            Env({{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "https://c/v1/traces"}}));
  ASSERT_TRUE(traces);
  EXPECT_TRUE(traces->export_tls);
  auto clear = PlanBackend({}, std::string("jaeger://q"), std::nullopt,
                           Env({{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://c"}}));
  ASSERT_TRUE(clear);
  EXPECT_FALSE(clear->export_tls);
}

TEST(BackendPlanTest, ScenarioHeadersWinOverTheEnvironmentAndAreNeverDescribed) {
  BackendConfig config;
  config.export_url = "otlp-http://c:4318";
  config.query_url = "tempo://t:3200";
  config.export_headers = {{"Authorization", "Bearer from-scenario"}};
  config.query_headers = {{"X-Scope-OrgID", "tenant-a"}};
  auto plan = PlanBackend(config, std::nullopt, std::nullopt,
                          Env({{"OTEL_EXPORTER_OTLP_HEADERS",
                                "authorization=Bearer%20from-env,X-Extra=1"}}));
  ASSERT_TRUE(plan) << plan.error().message;
  ASSERT_EQ(plan->export_headers.size(), 2u);
  EXPECT_EQ(plan->export_headers[0].second, "Bearer from-scenario");
  EXPECT_EQ(plan->export_headers[1].first, "X-Extra");
  ASSERT_EQ(plan->query_headers.size(), 1u);
  EXPECT_EQ(plan->query_headers[0].value, "tenant-a");
  const std::string described = plan->Describe();
  EXPECT_EQ(described.find("from-scenario"), std::string::npos) << described;
  EXPECT_EQ(described.find("tenant-a"), std::string::npos) << described;
  EXPECT_NE(described.find("tempo://t:3200"), std::string::npos) << described;
}

TEST(BackendPlanTest, HeadersAreParsedButNeverDescribed) {
  auto plan = PlanBackend({}, std::string("jaeger://q:16686"), std::nullopt,
                          Env({{"OTEL_EXPORTER_OTLP_HEADERS",
                                "Authorization=Bearer%20s3cret, X-Scope-OrgID=tenant1"}}));
  ASSERT_TRUE(plan) << plan.error().message;
  ASSERT_EQ(plan->export_headers.size(), 2u);
  EXPECT_EQ(plan->export_headers[0].first, "Authorization");
  EXPECT_EQ(plan->export_headers[0].second, "Bearer s3cret");
  EXPECT_EQ(plan->export_headers[1].second, "tenant1");
  EXPECT_EQ(plan->Describe().find("s3cret"), std::string::npos);
  EXPECT_EQ(plan->Describe().find("tenant1"), std::string::npos);

  auto bad = ParseOtlpHeaders("Authorization: Bearer s3cret");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message.find("s3cret"), std::string::npos);
  auto bad_escape = ParseOtlpHeaders("Authorization=Bearer%zzs3cret");
  ASSERT_FALSE(bad_escape);
  EXPECT_EQ(bad_escape.error().message,
            "OTEL_EXPORTER_OTLP_HEADERS: an entry has an invalid %-escape");
}

TEST(BackendPlanTest, ErrorsNameTheValue) {
  struct Case {
    std::optional<std::string> backend;
    std::optional<std::string> exporter;
    std::map<std::string, std::string> env;
    const char* message;
  };
  const Case cases[] = {
      {std::string("jaegr://q:1"), std::nullopt, {},
       "--backend: query URL \"jaegr://q:1\": unknown scheme \"jaegr\" (did you mean "
       "\"jaeger\"?); expected jaeger://HOST:PORT, jaeger-v3://HOST:PORT, zipkin://HOST:PORT or "
       "tempo://HOST:PORT"},
      {std::string("jaeger://q:16686"), std::string("otlp-grpc://c:4317/v1/traces"), {},
       "--export: \"otlp-grpc://c:4317/v1/traces\": OTLP/gRPC has a fixed method path; give only "
       "host:port"},
      {std::string("jaeger://q:16686"), std::string("kafka://c:9092"), {},
       "--export: \"kafka://c:9092\": unknown export scheme \"kafka\" (expected otlp-http://, "
       "otlp-http-json://, otlp-grpc:// or zipkin://, or for TLS otlp-https://, "
       "otlp-https-json://, otlp-grpcs:// or zipkin+https://)"},
      {std::string("jaeger://q:16686"), std::string("otlp-gprc://c:4317"), {},
       "--export: \"otlp-gprc://c:4317\": unknown export scheme \"otlp-gprc\" (did you mean "
       "\"otlp-grpc\"?) (expected otlp-http://, otlp-http-json://, otlp-grpc:// or zipkin://, or "
       "for TLS otlp-https://, otlp-https-json://, otlp-grpcs:// or zipkin+https://)"},
      {std::string("jaeger://q:16686"), std::string("gprc://c:4317"), {},
       "--export: \"gprc://c:4317\": unknown export scheme \"gprc\" (did you mean "
       "\"otlp-grpc\"?) (expected otlp-http://, otlp-http-json://, otlp-grpc:// or zipkin://, or "
       "for TLS otlp-https://, otlp-https-json://, otlp-grpcs:// or zipkin+https://)"},
      {std::string("jaeger+http://q:16686"), std::nullopt, {},
       "--backend: query URL \"jaeger+http://q:16686\": unknown scheme \"jaeger+http\" (did you "
       "mean \"jaeger+https\"?); expected jaeger://HOST:PORT, jaeger-v3://HOST:PORT, zipkin://HOST:PORT "
       "or tempo://HOST:PORT"},
      {std::nullopt, std::string("otlp-http://c:4318"), {},
       "--export is set but no query backend: the verifier must read the spans back (set "
       "--backend to jaeger://, jaeger-v3://, zipkin://, tempo://, tracerig:// with HOST:PORT, "
       "+https for TLS, or [backend] query)"},
      {std::string("jaeger://q:16686"), std::nullopt, {{"OTEL_EXPORTER_OTLP_PROTOCOL", "thrift"}},
       "OTEL_EXPORTER_OTLP_PROTOCOL=\"thrift\" is not one of grpc, http/protobuf, http/json"},
  };
  for (const auto& c : cases) {
    auto plan = PlanBackend({}, c.backend, c.exporter, Env(c.env));
    ASSERT_FALSE(plan) << c.message;
    EXPECT_EQ(plan.error().message, c.message);
  }
}

// Mistyped protocol names get a suggestion, also without their "otlp-".
TEST(BackendPlanTest, ExportProtocolTyposGetADidYouMean) {
  const std::pair<const char*, const char*> cases[] = {
      {"gprc", " (did you mean \"otlp-grpc\"?)"},
      {"grpc", " (did you mean \"otlp-grpc\"?)"},
      {"otlp-htpp", " (did you mean \"otlp-http\"?)"},
      {"zipkn", " (did you mean \"zipkin\"?)"},
      {"http-jsn", " (did you mean \"otlp-http-json\"?)"},
      {"kafka", ""},
  };
  for (const auto& [text, hint] : cases) {
    auto protocol = ParseExportProtocol(text);
    ASSERT_FALSE(protocol) << text;
    EXPECT_EQ(protocol.error().message,
              std::string("--export-protocol \"") + text +
                  "\" is not one of otlp-http, otlp-http-json, otlp-grpc, zipkin" + hint);
  }
}

// With nothing to verify (run --no-verify, serve) an export target needs no query backend.
TEST(BackendPlanTest, ExportWithoutQueryWhenNothingIsVerified) {
  auto plan = PlanBackend({}, std::nullopt, std::string("otlp-http://c:4318"), Env({}),
                          /*query_needed=*/false);
  ASSERT_TRUE(plan) << plan.error().message;
  EXPECT_FALSE(plan->embedded);
  EXPECT_EQ(plan->export_target.host, "c");
  EXPECT_EQ(plan->export_target.port, 4318);
  EXPECT_EQ(plan->query_url, "");
  EXPECT_EQ(plan->Describe(), "export otlp-http://c:4318/v1/traces, query none (not verified)");
  // Without --export it is still the embedded backend.
  auto embedded = PlanBackend({}, std::nullopt, std::nullopt, Env({}), false);
  ASSERT_TRUE(embedded);
  EXPECT_TRUE(embedded->embedded);
}

// The lists --help and messages give are the schemes the parser accepts, all of them.
TEST(BackendPlanTest, SchemeListsAreWhatPlanBackendAccepts) {
  EXPECT_EQ(ExportSchemeList(),
            "otlp-http:// (or http://), otlp-http-json://, otlp-grpc://, zipkin://; for TLS "
            "otlp-https:// (or https://), otlp-https-json://, otlp-grpcs://, zipkin+https://");
  EXPECT_EQ(QuerySchemeList(), "jaeger://, jaeger-v3://, zipkin://, tempo://, tracerig://");
  EXPECT_EQ(ExportProtocolList(), "otlp-http, otlp-http-json, otlp-grpc, zipkin");
  const std::regex scheme(R"([a-z0-9+-]+://)");
  const std::string exports = ExportSchemeList();
  for (auto it = std::sregex_iterator(exports.begin(), exports.end(), scheme);
       it != std::sregex_iterator(); ++it) {
    auto plan = PlanBackend({}, std::string("jaeger://q:16686"), it->str() + "c:1234", Env({}));
    ASSERT_TRUE(static_cast<bool>(plan)) << it->str() << ": " << plan.error().message;
    EXPECT_EQ(plan->export_tls, exports.find(it->str()) > exports.find("for TLS")) << it->str();
  }
  const std::string queries = QuerySchemeList();
  for (auto it = std::sregex_iterator(queries.begin(), queries.end(), scheme);
       it != std::sregex_iterator(); ++it) {
    const std::string name = it->str().substr(0, it->str().size() - 3);
    for (const std::string& url : {name + "://q:1", name + "+https://q:1"}) {
      auto plan = PlanBackend({}, url, std::nullopt, Env({}));
      ASSERT_TRUE(static_cast<bool>(plan)) << url << ": " << plan.error().message;
      EXPECT_EQ(plan->query_tls, url.find("+https") != std::string::npos) << url;
    }
  }
  for (const char* protocol : {"otlp-http", "otlp-http-json", "otlp-grpc", "zipkin"}) {
    EXPECT_TRUE(static_cast<bool>(ParseExportProtocol(protocol))) << protocol;
    EXPECT_NE(ExportProtocolList().find(protocol), std::string::npos) << protocol;
  }
}

}  // namespace
}  // namespace tracerig
