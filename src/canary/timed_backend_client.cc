// A BackendClient decorator that times every request the canary makes of the backend, failed
// ones included, into query_duration_seconds{query}.
#include "canary/timed_backend_client.h"

#include <chrono>
#include <memory>
#include <utility>

namespace tracerig {

namespace {

// Runs `request`, and records how long it took (failed or not) under `query`.
template <typename Request>
auto Timed(CanaryMetrics& metrics, std::string_view query, Request&& request) {
  const auto start = std::chrono::steady_clock::now();
  auto result = request();
  const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
  metrics.QueryDuration(query, took.count());
  return result;
}

class TimedBackendClient final : public BackendClient {
 public:
  TimedBackendClient(std::unique_ptr<BackendClient> inner, CanaryMetrics& metrics)
      : inner_(std::move(inner)), metrics_(metrics) {}

  std::string Describe() const override { return inner_->Describe(); }

  Result<std::optional<std::vector<Span>>> GetTrace(TraceId id) override {
    return Timed(metrics_, kQueryTrace, [&] { return inner_->GetTrace(id); });
  }

  size_t MaxTracesPerRequest() const override { return inner_->MaxTracesPerRequest(); }

  // The inner client's own batching (or its per-id default) is kept: with a batch size of 1 its
  // default asks GetTrace of the inner client, timed here as one "traces" request.
  Result<std::vector<TraceFetch>> GetTraces(std::span<const TraceId> ids) override {
    return Timed(metrics_, kQueryTraces, [&] { return inner_->GetTraces(ids); });
  }

  Result<std::vector<Span>> FindSpans(std::string_view service, std::string_view key,
                                      std::string_view value, uint64_t start_unix_micros,
                                      uint64_t end_unix_micros) override {
    return Timed(metrics_, kQuerySearch, [&] {
      return inner_->FindSpans(service, key, value, start_unix_micros, end_unix_micros);
    });
  }

  Result<std::optional<std::vector<DependencyLink>>> GetDependencies(
      uint64_t start_unix_micros, uint64_t end_unix_micros) override {
    return Timed(metrics_, kQueryOther,
                 [&] { return inner_->GetDependencies(start_unix_micros, end_unix_micros); });
  }

  bool SupportsLinks() const override { return inner_->SupportsLinks(); }

  Result<std::optional<BackendStoreStats>> GetStoreStats() override {
    return Timed(metrics_, kQueryOther, [&] { return inner_->GetStoreStats(); });
  }

 private:
  std::unique_ptr<BackendClient> inner_;
  CanaryMetrics& metrics_;
};

}  // namespace

BackendClientFactory TimedBackendClients(BackendClientFactory inner, CanaryMetrics& metrics) {
  return [inner = std::move(inner), &metrics]() -> std::unique_ptr<BackendClient> {
    auto client = inner();
    if (client == nullptr) return nullptr;
    return std::make_unique<TimedBackendClient>(std::move(client), metrics);
  };
}

}  // namespace tracerig
