// Sends span batches as OTLP/HTTP protobuf (POST /v1/traces) over one kept-alive connection,
// classifying answers the way the OTLP specification asks exporters to.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "export/exporter.h"
#include "net/http_client.h"

namespace tracerig {

struct OtlpHttpTarget {
  std::string host;
  uint16_t port = 4318;
  std::string path = "/v1/traces";
  std::vector<std::pair<std::string, std::string>> headers;  // e.g. auth; never printed
};

class OtlpHttpSender final : public BatchSender {
 public:
  explicit OtlpHttpSender(OtlpHttpTarget target, HttpClientOptions options = {});
  SendResult Send(const std::vector<Span>& batch) override;

 private:
  OtlpHttpTarget target_;
  BlockingHttpClient client_;
};

// Pure classification of an OTLP/HTTP answer: 2xx ok (with partial success from the body),
// 429/502/503/504 retryable (Retry-After in seconds honoured), anything else permanent.
SendResult ClassifyOtlpHttpResponse(unsigned status, std::string_view body,
                                    std::string_view retry_after);

}  // namespace tracerig
