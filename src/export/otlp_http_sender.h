// Sends span batches as OTLP/HTTP protobuf or JSON (POST /v1/traces) over one kept-alive connection,
// classifying answers the way the OTLP specification asks exporters to.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "export/exporter.h"
#include "net/http_client.h"

namespace tracerig {

enum class OtlpEncoding {
  kProtobuf,  // application/x-protobuf
  kJson,      // application/json (OTLP/JSON, EncodeOtlpJson)
};

struct OtlpHttpTarget {
  std::string host;
  uint16_t port = 4318;
  std::string path = "/v1/traces";
  std::vector<std::pair<std::string, std::string>> headers;  // e.g. auth; never printed
  OtlpEncoding encoding = OtlpEncoding::kProtobuf;
};

class OtlpHttpSender final : public BatchSender {
 public:
  explicit OtlpHttpSender(OtlpHttpTarget target, HttpClientOptions options = {});
  SendResult Send(const std::vector<Span>& batch) override;

 private:
  OtlpHttpTarget target_;
  BlockingHttpClient client_;
};

// Pure classification of an OTLP/HTTP answer: 2xx ok (with partial success from the body, read in
// `encoding`), 429/502/503/504 retryable (Retry-After in seconds honoured), anything else permanent.
SendResult ClassifyOtlpHttpResponse(unsigned status, std::string_view body,
                                    std::string_view retry_after,
                                    OtlpEncoding encoding = OtlpEncoding::kProtobuf);

}  // namespace tracerig
