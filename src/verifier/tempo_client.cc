#include "verifier/tempo_client.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include <set>
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
constexpr uint64_t kMicrosPerSecond = 1'000'000;
constexpr std::string_view kNotTempoHint = "no Tempo query API there (is it Tempo, port 3200?)";

// The ResourceSpans list under `object` (either name Tempo has used), or null.
Result<std::vector<Span>> DecodeResourceSpansIn(const json& object, const std::string& where) {
  if (!object.is_object()) return MakeError(fmt::format("{}must be an object", where));
  for (const char* name : {"resourceSpans", "batches"}) {
    if (const json* list = JsonMember(object, name)) {
      return DecodeOtlpJsonResourceSpans(*list, where + name);
    }
  }
  return std::vector<Span>{};
}

std::string TraceQlString(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

class TempoClient final : public BackendClient {
 public:
  TempoClient(std::unique_ptr<HttpFetcher> fetcher, std::string base_description)
      : fetcher_(std::move(fetcher)), describe_("tempo at " + std::move(base_description)) {}

  std::string Describe() const override { return describe_; }

  Result<std::optional<std::vector<Span>>> GetTrace(TraceId id) override {
    if (use_v2_) {
      const std::string target = "/api/v2/traces/" + id.ToHex();
      auto response = FetchFrom(*fetcher_, describe_, target);
      if (!response) return response.error();
      if (!IsMissingEndpoint(*response)) return Interpret(*response, target, /*v2=*/true);
      use_v2_ = false;  // a Tempo older than the v2 endpoint: ask v1 from now on
    }
    const std::string target = "/api/traces/" + id.ToHex();
    auto response = FetchFrom(*fetcher_, describe_, target);
    if (!response) return response.error();
    if (IsMissingEndpoint(*response)) {
      return MissingEndpoint(describe_, target, *response, kNotTempoHint);
    }
    return Interpret(*response, target, /*v2=*/false);
  }

  Result<std::vector<Span>> FindSpans(std::string_view service, std::string_view key,
                                      std::string_view value, uint64_t start_unix_micros,
                                      uint64_t end_unix_micros) override {
    // Seconds, rounded outwards; Tempo wants end after start.
    const uint64_t start_s = start_unix_micros / kMicrosPerSecond;
    uint64_t end_s = (end_unix_micros + kMicrosPerSecond - 1) / kMicrosPerSecond;
    if (end_s <= start_s) end_s = start_s + 1;
    const std::string target =
        fmt::format("/api/search?q={}&start={}&end={}&limit={}",
                    PercentEncode(TempoSearchQuery(service, key, value)), start_s, end_s,
                    kSearchLimit);
    auto response = FetchFrom(*fetcher_, describe_, target);
    if (!response) return response.error();
    if (IsMissingEndpoint(*response)) {
      return MissingEndpoint(describe_, target, *response, kNotTempoHint);
    }
    if (response->status != 200) return UnexpectedStatus(describe_, target, *response);
    auto ids = DecodeTempoSearch(response->body);
    if (!ids) return MalformedAnswer(describe_, target, ids.error().message);
    // The search names traces; their spans come from trace by id.
    std::vector<Span> spans;
    std::set<TraceId> seen;
    for (TraceId id : *ids) {
      if (!seen.insert(id).second) continue;
      auto trace = GetTrace(id);
      if (!trace) return trace.error();
      // Found by search but not by id: the trace is between Tempo's search index and its
      // trace store; the verifier polls again.
      if (!trace->has_value()) continue;
      for (Span& span : **trace) spans.push_back(std::move(span));
    }
    return KeepSpansWithAttribute(std::move(spans), key, value);
  }

 private:
  Result<std::optional<std::vector<Span>>> Interpret(const FetchResponse& response,
                                                     const std::string& target, bool v2) {
    if (response.status == 404) return std::optional<std::vector<Span>>{};
    if (response.status != 200) return UnexpectedStatus(describe_, target, response);
    auto spans = v2 ? DecodeTempoTraceV2(response.body) : DecodeTempoTraceV1(response.body);
    if (!spans) return MalformedAnswer(describe_, target, spans.error().message);
    if (spans->empty()) return std::optional<std::vector<Span>>{};
    return std::optional<std::vector<Span>>{std::move(*spans)};
  }

  std::unique_ptr<HttpFetcher> fetcher_;
  std::string describe_;
  bool use_v2_ = true;
};

}  // namespace

Result<std::vector<Span>> DecodeTempoTraceV1(std::string_view text) {
  auto doc = ParseJsonBody(text);
  if (!doc) return doc.error();
  return DecodeResourceSpansIn(*doc, "");
}

Result<std::vector<Span>> DecodeTempoTraceV2(std::string_view text) {
  auto doc = ParseJsonBody(text);
  if (!doc) return doc.error();
  if (!doc->is_object()) return MakeError("must be an object");
  if (const json* status = JsonMember(*doc, "status");
      status != nullptr && (*status == "PARTIAL" || *status == 1)) {
    const json* message = JsonMember(*doc, "message");
    return MakeError(fmt::format(
        "tempo returned a partial trace: {}",
        message != nullptr && message->is_string() ? message->get<std::string>() : "no reason"));
  }
  const json* trace = JsonMember(*doc, "trace");
  if (trace == nullptr) return std::vector<Span>{};
  return DecodeResourceSpansIn(*trace, "trace.");
}

Result<std::vector<TraceId>> DecodeTempoSearch(std::string_view text) {
  auto doc = ParseJsonBody(text);
  if (!doc) return doc.error();
  if (!doc->is_object()) return MakeError("expected an object with \"traces\"");
  std::vector<TraceId> ids;
  const json* traces = JsonMember(*doc, "traces");
  if (traces == nullptr) return ids;  // Tempo omits the list when nothing matched
  if (!traces->is_array()) return MakeError("traces: must be an array");
  for (size_t i = 0; i < traces->size(); ++i) {
    const json& trace = (*traces)[i];
    const json* hex = trace.is_object() ? JsonMember(trace, "traceID") : nullptr;
    if (hex == nullptr || !hex->is_string()) {
      return MakeError(fmt::format("traces[{}]: has no string \"traceID\"", i));
    }
    auto id = TraceId::FromHex(hex->get_ref<const std::string&>());
    if (!id || !id->IsValid()) {
      return MakeError(fmt::format("traces[{}].traceID: expected 1..32 hex digits, not all zero, "
                                   "got {}",
                                   i, JsonPreview(*hex)));
    }
    ids.push_back(*id);
  }
  return ids;
}

std::string TempoSearchQuery(std::string_view service, std::string_view key,
                             std::string_view value) {
  return fmt::format("{{ resource.service.name = {} && span.{} = {} }}", TraceQlString(service),
                     TraceQlString(key), TraceQlString(value));
}

std::unique_ptr<BackendClient> MakeTempoClient(std::unique_ptr<HttpFetcher> fetcher,
                                               std::string base_description) {
  return std::make_unique<TempoClient>(std::move(fetcher), std::move(base_description));
}

}  // namespace tracerig
