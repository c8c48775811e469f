#include "verifier/tracerig_client.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <string_view>
#include <utility>
#include <vector>

#include "export/otlp_codec.h"
#include "verifier/jaeger_v1_client.h"

namespace tracerig {
namespace {

// Error bodies are quoted in messages only this far: enough to recognise, short enough to read.
constexpr size_t kQuotedBodyChars = 200;

// Lets the Jaeger v1 client share the tracerig client's connection.
class BorrowedFetcher final : public HttpFetcher {
 public:
  explicit BorrowedFetcher(HttpFetcher& inner) : inner_(inner) {}
  Result<FetchResponse> Get(std::string_view target) override { return inner_.Get(target); }

 private:
  HttpFetcher& inner_;
};

class TracerigClient final : public BackendClient {
 public:
  TracerigClient(std::unique_ptr<HttpFetcher> fetcher, std::string base_description)
      : fetcher_(std::move(fetcher)),
        base_(std::move(base_description)),
        jaeger_(MakeJaegerV1Client(std::make_unique<BorrowedFetcher>(*fetcher_), base_)) {}

  std::string Describe() const override { return "tracerig at " + base_; }

  Result<std::optional<std::vector<Span>>> GetTrace(TraceId id) override {
    auto traces = GetTraces(std::span<const TraceId>(&id, 1));
    if (!traces) return traces.error();
    return std::move(traces->front());
  }

  size_t MaxTracesPerRequest() const override { return kTracerigMaxTracesPerRequest; }

  Result<std::vector<TraceFetch>> GetTraces(std::span<const TraceId> ids) override {
    std::string target = "/api/tracerig/traces?ids=";
    target.reserve(target.size() + ids.size() * 33);
    for (size_t i = 0; i < ids.size(); ++i) {
      if (i > 0) target.push_back(',');
      target += ids[i].ToHex();
    }
    auto response = fetcher_->Get(target);
    if (!response) {
      return MakeError(ErrorCode::kUnavailable,
                       fmt::format("{}: GET /api/tracerig/traces ({} ids): {}", Describe(),
                                   ids.size(), response.error().message));
    }
    if (response->status != 200) {
      const std::string_view body(response->body);
      return MakeError(
          ErrorCode::kUnavailable,
          fmt::format("{} answered HTTP {} to GET /api/tracerig/traces: {}{}", Describe(),
                      response->status, body.substr(0, std::min(body.size(), kQuotedBodyChars)),
                      response->status == 404
                          ? " (only tracerig's embedded backend serves this endpoint; "
                            "use jaeger:// for a Jaeger query service)"
                          : ""));
    }
    auto spans = DecodeOtlpProtobuf(response->body);
    if (!spans) {
      return MakeError(ErrorCode::kUnavailable,
                       fmt::format("{} returned malformed OTLP protobuf for {} traces: {}",
                                   Describe(), ids.size(), spans.error().message));
    }
    return GroupSpansByTrace(ids, std::move(*spans), Describe());
  }

  Result<std::vector<Span>> FindSpans(std::string_view service, std::string_view key,
                                      std::string_view value, uint64_t start_unix_micros,
                                      uint64_t end_unix_micros) override {
    return jaeger_->FindSpans(service, key, value, start_unix_micros, end_unix_micros);
  }

  Result<std::optional<std::vector<DependencyLink>>> GetDependencies(
      uint64_t start_unix_micros, uint64_t end_unix_micros) override {
    return jaeger_->GetDependencies(start_unix_micros, end_unix_micros);
  }

  // GET /api/tracerig/stats: the store's eviction figures (backend/query_api.h).
  Result<std::optional<BackendStoreStats>> GetStoreStats() override {
    auto response = fetcher_->Get("/api/tracerig/stats");
    if (!response) return response.error();
    if (response->status != 200) {
      return MakeError(fmt::format("{}: /api/tracerig/stats answered HTTP {}", Describe(),
                                   response->status));
    }
    const auto j = nlohmann::json::parse(response->body, nullptr, /*allow_exceptions=*/false);
    const auto store = j.is_object() ? j.find("store") : j.end();
    if (!j.is_object() || store == j.end() || !store->is_object()) {
      return MakeError(fmt::format("{}: /api/tracerig/stats: no \"store\" object", Describe()));
    }
    BackendStoreStats s;
    for (const auto& [key, field] :
         {std::pair{"traces_evicted", &s.traces_evicted}, {"spans_evicted", &s.spans_evicted},
          {"evicted_through_unix_nano", &s.evicted_through_unix_nano},
          {"max_spans", &s.max_spans}, {"max_bytes", &s.max_bytes}}) {
      const auto it = store->find(key);
      // Older backends do not say what they evicted through: no trace is then called evicted.
      if (it == store->end() && field == &s.evicted_through_unix_nano) continue;
      if (it == store->end() || !it->is_number_unsigned()) {
        return MakeError(fmt::format("{}: /api/tracerig/stats: store.{} is not a count",
                                     Describe(), key));
      }
      *field = it->get<uint64_t>();
    }
    return std::optional<BackendStoreStats>{s};
  }

 private:
  std::unique_ptr<HttpFetcher> fetcher_;
  std::string base_;
  std::unique_ptr<BackendClient> jaeger_;  // over fetcher_, so declared after it
};

}  // namespace

std::unique_ptr<BackendClient> MakeTracerigClient(std::unique_ptr<HttpFetcher> fetcher,
                                                  std::string base_description) {
  return std::make_unique<TracerigClient>(std::move(fetcher), std::move(base_description));
}

}  // namespace tracerig
