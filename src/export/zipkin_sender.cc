#include "export/zipkin_sender.h"

#include "export/gzip.h"
#include "export/otlp_http_sender.h"
#include "export/zipkin_codec.h"

namespace tracerig {

ZipkinHttpSender::ZipkinHttpSender(ZipkinHttpTarget target, HttpClientOptions options)
    : target_(std::move(target)),
      headers_(target_.headers),
      client_(target_.host, target_.port, options) {
  if (target_.gzip) headers_.emplace_back("Content-Encoding", "gzip");
}

SendResult ZipkinHttpSender::Send(const std::vector<Span>& batch) {
  std::string body = EncodeZipkinJson(batch);
  if (target_.gzip) body = GzipCompress(body);
  auto response = client_.Request(http::verb::post, target_.path, "application/json",
                                  std::move(body), headers_);
  if (!response) {
    SendResult r;
    r.kind = SendResult::Kind::kRetryable;
    r.reason = response.error().message;
    return r;
  }
  return ClassifyZipkinHttpResponse(response->status, response->body, response->retry_after);
}

SendResult ClassifyZipkinHttpResponse(unsigned status, std::string_view body,
                                      std::string_view retry_after) {
  // A 2xx body is not an OTLP response here, so it must not be read for partial success.
  if (status >= 200 && status < 300) return SendResult{};
  return ClassifyOtlpHttpResponse(status, body, retry_after);
}

}  // namespace tracerig
