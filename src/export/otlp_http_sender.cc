#include "export/otlp_http_sender.h"

#include <fmt/format.h>

#include <charconv>
#include <nlohmann/json.hpp>

#include "export/otlp_codec.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"

namespace tracerig {

OtlpHttpSender::OtlpHttpSender(OtlpHttpTarget target, HttpClientOptions options)
    : target_(std::move(target)), client_(target_.host, target_.port, options) {}

SendResult OtlpHttpSender::Send(const std::vector<Span>& batch) {
  const bool json = target_.encoding == OtlpEncoding::kJson;
  auto response = client_.Request(http::verb::post, target_.path,
                                  json ? "application/json" : "application/x-protobuf",
                                  json ? EncodeOtlpJson(batch) : EncodeOtlpProtobuf(batch),
                                  target_.headers);
  if (!response) {
    SendResult r;
    r.kind = SendResult::Kind::kRetryable;
    r.reason = response.error().message;
    return r;
  }
  return ClassifyOtlpHttpResponse(response->status, response->body, response->retry_after,
                                  target_.encoding);
}

namespace {

// ExportTraceServiceResponse.partialSuccess in OTLP/JSON; rejectedSpans is an int64, so a decimal
// string or a number.
void ReadJsonPartialSuccess(std::string_view body, SendResult& r) {
  auto parsed = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!parsed.is_object()) return;
  auto partial = parsed.find("partialSuccess");
  if (partial == parsed.end() || !partial->is_object()) return;
  if (auto rejected = partial->find("rejectedSpans"); rejected != partial->end()) {
    if (rejected->is_number_integer()) {
      r.rejected_spans = rejected->get<int64_t>();
    } else if (rejected->is_string()) {
      const auto& text = rejected->get_ref<const std::string&>();
      int64_t n = 0;
      auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
      if (ec == std::errc() && ptr == text.data() + text.size()) r.rejected_spans = n;
    }
  }
  if (auto message = partial->find("errorMessage");
      message != partial->end() && message->is_string()) {
    r.reason = message->get<std::string>();
  }
}

}  // namespace

SendResult ClassifyOtlpHttpResponse(unsigned status, std::string_view body,
                                    std::string_view retry_after, OtlpEncoding encoding) {
  SendResult r;
  if (status >= 200 && status < 300) {
    r.kind = SendResult::Kind::kOk;
    if (encoding == OtlpEncoding::kJson) {
      ReadJsonPartialSuccess(body, r);
      return r;
    }
    opentelemetry::proto::collector::trace::v1::ExportTraceServiceResponse parsed;
    if (!body.empty() && parsed.ParseFromArray(body.data(), static_cast<int>(body.size())) &&
        parsed.has_partial_success()) {
      r.rejected_spans = parsed.partial_success().rejected_spans();
      r.reason = parsed.partial_success().error_message();
    }
    return r;
  }
  std::string_view snippet = body.substr(0, 200);
  r.reason = fmt::format("HTTP {}: {}", status, snippet);
  if (status == 429 || status == 502 || status == 503 || status == 504) {
    r.kind = SendResult::Kind::kRetryable;
    uint64_t seconds = 0;
    auto [ptr, ec] =
        std::from_chars(retry_after.data(), retry_after.data() + retry_after.size(), seconds);
    if (ec == std::errc() && ptr == retry_after.data() + retry_after.size() &&
        !retry_after.empty()) {
      r.retry_after_ms = seconds * 1000;
    }
    return r;
  }
  r.kind = SendResult::Kind::kPermanent;
  return r;
}

}  // namespace tracerig
