// The request-body steps OTLP/HTTP and Zipkin ingest share: Content-Encoding, the size limit,
// gzip inflation, and the status (415, 413 or 400) a body that fails them is answered with.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "backend/handlers.h"
#include "backend/http_types.h"
#include "core/result.h"

namespace tracerig {

// Why a body was refused: 415 unknown encoding (kInvalidArgument), 413 body or inflated body over
// the limit (kResourceExhausted), 400 corrupt gzip (kInvalidArgument).
struct BodyRejection {
  unsigned http_status = 400;
  Error error;  // its message is the answer's text
};

struct IngestBody {
  std::string_view bytes;                 // to decode: the request's body, or the inflated copy
  std::optional<BodyRejection> rejected;  // set: answer with it (already counted)
};

// How an answer quotes the Content-Encoding it echoes: OTLP escapes like Go's %q, Zipkin does not.
using QuoteFn = std::string (*)(std::string_view);

// Accepts Content-Encoding gzip, identity or none (any case, surrounding blanks ignored); the body
// as sent and, for gzip, as inflated into `inflated` must each fit limits.max_body_bytes. A
// rejection counts in counters.requests_rejected and the counter for its status.
IngestBody ReadIngestBody(const HttpRequestView& request, const IngestLimits& limits,
                          QuoteFn quote_encoding, IngestCounters& counters, std::string& inflated);

}  // namespace tracerig
