// Content-Encoding, size limits and gzip inflation for the OTLP/HTTP and Zipkin ingest handlers.
#include "backend/ingest_body.h"

#include <fmt/format.h>

#include <atomic>
#include <utility>

#include "core/text.h"
#include "export/gzip.h"

namespace tracerig {
namespace {

IngestBody Rejected(IngestCounters& counters, std::atomic<uint64_t>& reason, unsigned http_status,
                    ErrorCode code, std::string message) {
  counters.requests_rejected.fetch_add(1, std::memory_order_relaxed);
  reason.fetch_add(1, std::memory_order_relaxed);
  return IngestBody{{}, BodyRejection{http_status, MakeError(code, std::move(message))}};
}

}  // namespace

IngestBody ReadIngestBody(const HttpRequestView& request, const IngestLimits& limits,
                          QuoteFn quote_encoding, IngestCounters& counters, std::string& inflated) {
  const std::string content_encoding = AsciiLowercase(TrimSpaceAndTab(request.content_encoding));
  const bool gzip = content_encoding == "gzip";
  if (!gzip && !content_encoding.empty() && content_encoding != "identity") {
    return Rejected(counters, counters.rejected_unsupported_media, 415, ErrorCode::kInvalidArgument,
                    fmt::format("unsupported content encoding {}; use gzip or none",
                                quote_encoding(request.content_encoding)));
  }
  if (request.body.size() > limits.max_body_bytes) {
    return Rejected(counters, counters.rejected_too_large, 413, ErrorCode::kResourceExhausted,
                    fmt::format("request body of {} bytes exceeds the limit of {}",
                                request.body.size(), limits.max_body_bytes));
  }
  if (!gzip) return IngestBody{request.body, std::nullopt};

  auto decompressed = GzipDecompress(request.body, limits.max_body_bytes);
  if (!decompressed) {
    if (decompressed.error().code == ErrorCode::kResourceExhausted) {
      return Rejected(
          counters, counters.rejected_too_large, 413, ErrorCode::kResourceExhausted,
          fmt::format("gzip body decompresses to more than {} bytes", limits.max_body_bytes));
    }
    return Rejected(counters, counters.rejected_bad_data, 400, ErrorCode::kInvalidArgument,
                    "cannot decompress gzip body: " + decompressed.error().message);
  }
  inflated = std::move(*decompressed);
  return IngestBody{inflated, std::nullopt};
}

}  // namespace tracerig
