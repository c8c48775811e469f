// Sends span batches to a Zipkin collector as Zipkin v2 JSON (POST /api/v2/spans) over one
// kept-alive connection, classifying answers with the same retry rules as OTLP/HTTP.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "export/exporter.h"
#include "net/http_client.h"

namespace tracerig {

struct ZipkinHttpTarget {
  std::string host;
  uint16_t port = 9411;
  std::string path = "/api/v2/spans";
  std::vector<std::pair<std::string, std::string>> headers;  // e.g. auth; never printed
  bool gzip = false;  // Content-Encoding: gzip, which Zipkin's collector accepts
};

class ZipkinHttpSender final : public BatchSender {
 public:
  explicit ZipkinHttpSender(ZipkinHttpTarget target, HttpClientOptions options = {});
  SendResult Send(const std::vector<Span>& batch) override;

 private:
  ZipkinHttpTarget target_;
  std::vector<std::pair<std::string, std::string>> headers_;  // target headers + encoding
  BlockingHttpClient client_;
};

// Pure classification of a Zipkin collector's answer: any 2xx (Zipkin answers 202) is success
// (Zipkin reports no partial success); 429/502/503/504 retryable, honouring Retry-After in
// seconds; anything else permanent, with the status and the start of the body as the reason.
SendResult ClassifyZipkinHttpResponse(unsigned status, std::string_view body,
                                      std::string_view retry_after);

}  // namespace tracerig
