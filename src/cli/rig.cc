// Starting the backend, the query clients, the exporter and the topology, in that order.
#include "cli/rig.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <utility>

#include <fmt/format.h>

#include "cli/verify_flags.h"
#include "export/otlp_grpc_sender.h"
#include "export/otlp_http_sender.h"
#include "export/zipkin_sender.h"
#include "net/http_client.h"
#include "net/tls.h"

namespace tracerig {
namespace {

std::optional<std::string> GetEnv(const std::string& name) {
  const char* v = std::getenv(name.c_str());
  if (!v) return std::nullopt;
  return std::string(v);
}

Result<StartedBackend> StartBackend(const Scenario& scenario, const ParsedFlags& flags,
                                    bool query_needed) {
  auto plan = PlanBackend(scenario.backend, flags.Get("backend"), flags.Get("export"), GetEnv,
                          query_needed);
  if (!plan) return plan.error();
  StartedBackend started;
  started.plan = std::move(*plan);
  if (auto p = flags.Get("export-protocol")) {
    if (!started.plan.embedded) {
      return MakeError("--export-protocol applies to the embedded backend; for another backend the "
                       "--export URL's scheme (otlp-http://, otlp-grpc://, zipkin://...) or "
                       "OTEL_EXPORTER_OTLP_PROTOCOL chooses");
    }
    auto protocol = ParseExportProtocol(*p);
    if (!protocol) return protocol.error();
    started.plan.protocol = *protocol;
  }
  const auto max_spans = flags.Get("max-spans");
  if (max_spans && !started.plan.embedded) {
    return MakeError("--max-spans applies to the embedded backend only");
  }
  if (started.plan.embedded) {
    EmbeddedBackendOptions options;
    options.otlp_http = "127.0.0.1:0";
    options.query = "127.0.0.1:0";
    if (max_spans) {
      char* end = nullptr;
      options.max_spans = std::strtoull(max_spans->c_str(), &end, 10);
      if (max_spans->empty() || *end != '\0' || (*max_spans)[0] == '-' || options.max_spans == 0) {
        return MakeError(fmt::format("--max-spans \"{}\" must be a positive integer", *max_spans));
      }
    }
    const bool zipkin = started.plan.protocol == ExportProtocol::kZipkin;
    const bool grpc = started.plan.protocol == ExportProtocol::kOtlpGrpc;
    if (zipkin) options.zipkin = "127.0.0.1:0";
    if (grpc) options.otlp_grpc = "127.0.0.1:0";
    started.embedded = std::make_unique<EmbeddedBackend>(options);
    if (auto s = started.embedded->Start(); !s) return MakeError("embedded backend: " + s.error().message);
    auto in = zipkin ? started.embedded->zipkin_endpoint()
              : grpc ? started.embedded->otlp_grpc_endpoint()
                     : started.embedded->otlp_http_endpoint();
    auto query = started.embedded->query_endpoint();
    started.plan.export_target = {in.address().to_string(), in.port(),
                                  zipkin ? "/api/v2/spans" : grpc ? "" : "/v1/traces"};
    started.plan.query = {query.address().to_string(), query.port(), ""};
    started.plan.query_url =
        fmt::format("tracerig://{}:{}", query.address().to_string(), query.port());
  }
  return started;
}

// The sender that speaks the plan's export protocol. TLS files are read here, at start-up, so a
// missing CA file is a usage error naming the file rather than a failure on every export.
Result<std::unique_ptr<BatchSender>> MakeSender(const BackendPlan& plan) {
  const Endpoint& e = plan.export_target;
  if (plan.protocol == ExportProtocol::kOtlpGrpc) {
    OtlpGrpcTarget target;
    target.host_port = fmt::format("{}:{}", e.host, e.port);
    target.headers = plan.export_headers;
    target.tls = plan.export_tls;
    if (plan.export_tls) {
      target.ca_file = plan.export_tls_config.ca_file;
      target.client_cert_file = plan.export_tls_config.client_cert_file;
      target.client_key_file = plan.export_tls_config.client_key_file;
    }
    auto sender = OtlpGrpcSender::Create(std::move(target));
    if (!sender) return sender.error();
    return std::unique_ptr<BatchSender>(std::move(*sender));
  }
  HttpClientOptions options;
  if (plan.export_tls) {
    auto tls = LoadTlsClientContext(plan.export_tls_config);
    if (!tls) return MakeError("export over TLS: " + tls.error().message);
    options.tls = std::move(*tls);
  }
  if (plan.protocol == ExportProtocol::kZipkin) {
    ZipkinHttpTarget target;
    target.host = e.host;
    target.port = e.port;
    target.path = e.path;
    target.headers = plan.export_headers;
    return std::unique_ptr<BatchSender>(std::make_unique<ZipkinHttpSender>(target, options));
  }
  OtlpHttpTarget target{e.host, e.port, e.path, plan.export_headers};
  if (plan.protocol == ExportProtocol::kOtlpHttpJson) target.encoding = OtlpEncoding::kJson;
  return std::unique_ptr<BatchSender>(std::make_unique<OtlpHttpSender>(target, options));
}

}  // namespace

OrFailure<Rig> StartRig(const Scenario& scenario, const ParsedFlags& flags,
                        const RigOptions& options, const Clock& clock) {
  Rig rig;
  auto backend = StartBackend(scenario, flags, options.query_clients);
  if (!backend) return UsageError(backend.error());
  rig.backend = std::move(*backend);
  if (options.query_clients) {
    auto query_clients = MakeQueryClients(rig.backend.plan, flags);
    if (!query_clients) return UsageError(query_clients.error());
    rig.query_clients = std::move(*query_clients);
  }
  auto sender = MakeSender(rig.backend.plan);
  if (!sender) return UsageError(sender.error());
  ExporterOptions exporter_options;
  exporter_options.forget_oldest_losses = options.forget_oldest_losses;
  rig.exporter =
      std::make_unique<BatchingExporter>(std::move(*sender), exporter_options, scenario.seed);
  rig.id_seed = RandomRunSeed();
  TopologyOptions topology_options;
  topology_options.threads = options.service_threads;
  topology_options.id_seed = rig.id_seed;
  topology_options.wire_log_capacity = options.wire_log_capacity;
  rig.topology =
      std::make_unique<TopologyRuntime>(scenario, *rig.exporter, clock, topology_options);
  if (auto s = rig.topology->Start(); !s) return InfrastructureError(s.error());
  return rig;
}

Result<size_t> ParseServiceThreads(const ParsedFlags& flags) {
  size_t threads = std::max(1u, std::thread::hardware_concurrency());
  if (auto t = flags.Get("threads")) {
    threads = std::strtoul(t->c_str(), nullptr, 10);
    if (threads == 0 || threads > 256) {
      return MakeError(fmt::format("--threads \"{}\" must be 1 to 256", *t));
    }
  }
  return threads;
}

uint64_t RandomRunSeed() {
  std::random_device device;
  uint64_t seed = (static_cast<uint64_t>(device()) << 32) ^ device();
  return seed ^ static_cast<uint64_t>(
                    std::chrono::system_clock::now().time_since_epoch().count());
}

}  // namespace tracerig
