#include "verifier/jaeger_v3_client.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include <utility>

#include "export/json_read.h"
#include "export/otlp_codec.h"
#include "verifier/client_util.h"
#include "verifier/jaeger_v1_client.h"

namespace tracerig {
namespace {

using nlohmann::json;

// Traces per search: tracerig searches one request id, which is at most a few fragments.
constexpr int kSearchLimit = 100;
constexpr std::string_view kNoApiV3Hint =
    "no Jaeger API v3 there (an older Jaeger only has the v1 API: use jaeger://)";

class JaegerV3Client final : public BackendClient {
 public:
  JaegerV3Client(std::unique_ptr<HttpFetcher> fetcher, std::string base_description)
      : fetcher_(std::move(fetcher)), describe_("jaeger api v3 at " + std::move(base_description)) {}

  std::string Describe() const override { return describe_; }

  Result<std::optional<std::vector<Span>>> GetTrace(TraceId id) override {
    const std::string target = "/api/v3/traces/" + id.ToHex();
    auto spans = Query(target);
    if (!spans) return spans.error();
    if (spans->empty()) return std::optional<std::vector<Span>>{};
    return std::optional<std::vector<Span>>{std::move(*spans)};
  }

  Result<std::vector<Span>> FindSpans(std::string_view service, std::string_view key,
                                      std::string_view value, uint64_t start_unix_micros,
                                      uint64_t end_unix_micros) override {
    json attributes = json::object();
    attributes[std::string(key)] = std::string(value);
    const std::string target = fmt::format(
        "/api/v3/traces?query.service_name={}&query.attributes={}&query.start_time_min={}"
        "&query.start_time_max={}&query.num_traces={}",
        PercentEncode(service), PercentEncode(attributes.dump()),
        PercentEncode(FormatRfc3339Micros(start_unix_micros)),
        PercentEncode(FormatRfc3339Micros(end_unix_micros)), kSearchLimit);
    auto spans = Query(target);
    if (!spans) return spans.error();
    return KeepSpansWithAttribute(std::move(*spans), key, value);
  }

 private:
  // The spans of a 200 answer; none for Jaeger's own 404 ("trace not found", "No traces found").
  Result<std::vector<Span>> Query(const std::string& target) {
    auto response = FetchFrom(*fetcher_, describe_, target);
    if (!response) return response.error();
    if (response->status == 404) {
      if (IsMissingEndpoint(*response)) {
        return MissingEndpoint(describe_, target, *response, kNoApiV3Hint);
      }
      return std::vector<Span>{};
    }
    if (response->status != 200) return UnexpectedStatus(describe_, target, *response);
    auto spans = DecodeJaegerV3Traces(response->body);
    if (!spans) return MalformedAnswer(describe_, target, spans.error().message);
    return spans;
  }

  std::unique_ptr<HttpFetcher> fetcher_;
  std::string describe_;
};

}  // namespace

Result<std::vector<Span>> DecodeJaegerV3Traces(std::string_view text) {
  auto doc = ParseJsonBody(text);
  if (!doc) return doc.error();
  if (!doc->is_object()) return MakeError("expected an object with \"result\"");
  // A 200 that carries an error object is the server failing, not an empty answer.
  if (const json* error = JsonMember(*doc, "error")) {
    return MakeError(fmt::format("error: {}", JsonPreview(*error)));
  }
  const json* result = JsonMember(*doc, "result");
  if (result == nullptr) return std::vector<Span>{};
  if (!result->is_object()) return MakeError("result: must be an object");
  const json* resource_spans = JsonMember(*result, "resourceSpans");
  if (resource_spans == nullptr) return std::vector<Span>{};
  return DecodeOtlpJsonResourceSpans(*resource_spans, "result.resourceSpans");
}

std::unique_ptr<BackendClient> MakeJaegerV3Client(std::unique_ptr<HttpFetcher> fetcher,
                                                  std::string base_description) {
  return std::make_unique<JaegerV3Client>(std::move(fetcher), std::move(base_description));
}

}  // namespace tracerig
