// `tracerig backend`: the embedded tracing backend alone, until Ctrl-C.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "backend/embedded_backend.h"
#include "cli/command_failure.h"
#include "cli/commands.h"
#include "cli/flags.h"
#include "cli/interrupt.h"
#include "cli/listen.h"
#include "core/units.h"
#include "report/run_report.h"

namespace tracerig {
namespace {

// The backend, its flags parsed: runs until Ctrl-C.
CommandOutcome ServeBackend(const ParsedFlags& flags) {
  if (!flags.positional.empty()) {
    return UsageError(fmt::format("unexpected argument \"{}\"", flags.positional[0]));
  }
  EmbeddedBackendOptions options;
  options.otlp_http = flags.Get("otlp-http").value_or(options.otlp_http);
  options.query = flags.Get("query").value_or(options.query);
  options.zipkin = flags.Get("zipkin").value_or("127.0.0.1:9411");
  if (options.zipkin == "off") options.zipkin.clear();
  options.otlp_grpc = flags.Get("otlp-grpc").value_or(std::string(kDefaultOtlpGrpcListen));
  if (options.otlp_grpc == "off") options.otlp_grpc.clear();
  if (auto m = flags.Get("max-spans")) {
    char* end = nullptr;
    options.max_spans = std::strtoull(m->c_str(), &end, 10);
    if (m->empty() || *end != '\0' || options.max_spans == 0) {
      return UsageError(fmt::format("--max-spans \"{}\" must be a positive integer", *m));
    }
  }
  if (auto m = flags.Get("max-bytes")) {
    const std::optional<uint64_t> bytes = ParseSize(*m);
    if (!bytes || *bytes == 0) {
      return UsageError(fmt::format("--max-bytes \"{}\" must be a size such as 512MiB", *m));
    }
    options.max_bytes = *bytes;
  }
  // Every address is checked before anything listens: a bad one is a usage error, a port in use
  // is named (gRPC would only say that it could not bind).
  const std::pair<const char*, const std::string*> addresses[] = {
      {"otlp-http", &options.otlp_http},
      {"query", &options.query},
      {"zipkin", &options.zipkin},
      {"otlp-grpc", &options.otlp_grpc}};
  std::vector<std::pair<const char*, tcp::endpoint>> endpoints;
  for (const auto& [flag, text] : addresses) {
    if (text->empty()) continue;  // "off"
    auto endpoint = ParseListenAddress(flag, *text);
    if (!endpoint) return FailureFrom(endpoint.error());
    endpoints.emplace_back(flag, *endpoint);
  }
  for (const auto& [flag, endpoint] : endpoints) {
    if (auto s = CheckCanListen(flag, endpoint); !s) return FailureFrom(s.error());
  }
  const std::atomic<bool>& stop = InstallInterruptHandler(kStopInterruptMessage);
  EmbeddedBackend backend(options);
  if (auto s = backend.Start(); !s) return FailureFrom(s.error());
  auto otlp = backend.otlp_http_endpoint();
  auto query = backend.query_endpoint();
  std::printf("tracerig backend %s\n", TracerigVersion());
  std::printf("otlp-http: http://%s:%u/v1/traces\n", otlp.address().to_string().c_str(), otlp.port());
  if (!options.otlp_grpc.empty()) {
    auto grpc = backend.otlp_grpc_endpoint();
    std::printf("otlp-grpc: %s:%u\n", grpc.address().to_string().c_str(), grpc.port());
  }
  std::printf("query:     http://%s:%u/api/traces\n", query.address().to_string().c_str(), query.port());
  if (!options.zipkin.empty()) {
    auto zipkin = backend.zipkin_endpoint();
    std::printf("zipkin:    http://%s:%u/api/v2/spans\n", zipkin.address().to_string().c_str(),
                zipkin.port());
  }
  std::printf("Ctrl-C to stop.\n");
  std::fflush(stdout);
  while (!stop.load()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  backend.Stop();
  auto stats = backend.store().stats();
  std::printf("stopped: %llu spans received, %llu stored in %llu traces, %llu evicted\n",
              static_cast<unsigned long long>(stats.spans_received),
              static_cast<unsigned long long>(stats.spans_stored),
              static_cast<unsigned long long>(stats.traces_stored),
              static_cast<unsigned long long>(stats.spans_evicted));
  return kExitPass;
}

}  // namespace

int BackendCommand(const std::vector<std::string>& args) {
  static const std::vector<FlagSpec> specs = {
      {"otlp-http", "HOST:PORT", "OTLP/HTTP receiver, POST /v1/traces (default 127.0.0.1:4318)"},
      {"query", "HOST:PORT", "Jaeger query API v1 and v3, and /api/tracerig/stats (default "
                             "127.0.0.1:16686)"},
      {"max-spans", "N", "spans kept in memory; the oldest whole traces are evicted (default 1000000)"},
      {"max-bytes", "SIZE", "memory the stored spans may take, estimated, e.g. 512MiB; the oldest "
                            "whole traces are evicted (default: no byte bound)"},
      {"zipkin", "HOST:PORT", "Zipkin v2 receiver (POST /api/v2/spans) and query API (default "
                              "127.0.0.1:9411; \"off\" disables it)"},
      {"otlp-grpc", "HOST:PORT", "OTLP/gRPC receiver, TraceService/Export (default 127.0.0.1:4317; "
                                 "\"off\" disables it)"},
  };
  std::string help = CommandHelp(
      "tracerig backend [flags]",
      "Runs tracerig's embedded tracing backend until Ctrl-C: it receives spans over OTLP/gRPC,\n"
      "OTLP/HTTP (protobuf or JSON, gzip allowed) and Zipkin v2 JSON, and serves them over the\n"
      "Jaeger query API v1 (GET /api/traces/{id}, /api/traces?service=..., /api/services,\n"
      "/api/services/{s}/operations) and API v3 (/api/v3/traces/{id}, /api/v3/traces?query...,\n"
      "/api/v3/services, /api/v3/operations) and the Zipkin v2 API (on the Zipkin port), so the\n"
      "Jaeger UI's API clients and tracerig's verifier can read them. GET /api/tracerig/stats on\n"
      "the query port gives ingest counters per receiver. Port 0 picks a free port; the bound\n"
      "addresses are printed on start.",
      specs);
  ParsedFlags flags;
  if (auto code = ParseCommandFlags("backend", args, specs, help, flags)) return *code;
  return ExitCodeOf("backend", ServeBackend(flags));
}

}  // namespace tracerig
