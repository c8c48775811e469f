#include "verifier/tracerig_client.h"

#include <fmt/format.h>

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
