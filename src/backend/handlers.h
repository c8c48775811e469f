// The embedded backend's request handlers: OTLP/HTTP trace ingest (POST /v1/traces) and the Jaeger
// query service's v1 JSON API. Pure functions over a request value and the store; the Beast shell
// only moves bytes. No input makes them throw or crash: bad requests get a 4xx naming the problem.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "backend/http_types.h"
#include "backend/span_store.h"
#include "core/result.h"

namespace tracerig {

struct IngestLimits {
  // Applies to the body as received and, for gzip, to the decompressed body (zip bombs get 413).
  size_t max_body_bytes = 16 << 20;
};

// Shared by every connection of the ingest server; relaxed atomics, read for the run report.
struct IngestCounters {
  std::atomic<uint64_t> requests{0};
  std::atomic<uint64_t> requests_rejected{0};  // every answer other than 200
  std::atomic<uint64_t> spans_accepted{0};
  std::atomic<uint64_t> body_bytes_received{0};  // as sent, before decompression
  // Rejections by status; they add up to requests_rejected.
  std::atomic<uint64_t> rejected_not_found{0};          // 404: not /v1/traces
  std::atomic<uint64_t> rejected_method{0};             // 405: not POST
  std::atomic<uint64_t> rejected_unsupported_media{0};  // 415: content type or encoding
  std::atomic<uint64_t> rejected_too_large{0};          // 413
  std::atomic<uint64_t> rejected_bad_data{0};           // 400: corrupt gzip, undecodable body
};

// A plain copy of IngestCounters (one receiver's, or a sum over several).
struct IngestTotals {
  uint64_t requests = 0;
  uint64_t requests_rejected = 0;
  uint64_t spans_accepted = 0;
  uint64_t body_bytes_received = 0;
  uint64_t rejected_not_found = 0;
  uint64_t rejected_method = 0;
  uint64_t rejected_unsupported_media = 0;
  uint64_t rejected_too_large = 0;
  uint64_t rejected_bad_data = 0;

  static IngestTotals Of(const IngestCounters& counters);
  IngestTotals& operator+=(const IngestTotals& other);
};

// POST /v1/traces with application/x-protobuf or application/json (media type parameters
// allowed), optionally Content-Encoding: gzip. Success is 200 with an empty
// ExportTraceServiceResponse in the request's encoding (empty bytes, or "{}"). Errors: 404 other
// paths, 405 other methods, 415 other content types or encodings, 413 body (or decompressed body)
// over the limit, 400 undecodable data with a google.rpc.Status (code 3, INVALID_ARGUMENT) in the
// request's encoding whose message names the problem. Either all spans of a request are stored
// or none.
HttpResponseData HandleOtlpHttpIngest(SpanStore& store, IngestCounters& counters,
                                      const HttpRequestView& request, const IngestLimits& limits,
                                      uint64_t now_unix_nano);

// Jaeger query service v1 (GET only), answered like Jaeger with `raw=true`:
//   /api/traces/{id}                 trace or 400 (bad id) / 404 (unknown), Jaeger's error body
//   /api/traces?service=&operation=&tag=k:v&tags={json}&start=&end=&limit=&minDuration=&maxDuration=
//                                    start/end in µs since the epoch, durations like "1.5ms",
//                                    limit defaults to 100 as in Jaeger (<= 0: no limit)
//   /api/traces?traceID=a&traceID=b  exactly those traces, in that order (other filters ignored,
//                                    no service needed); an unknown id is left out of "data" and
//                                    listed in "errors" as {"msg":"trace not found","traceID":a};
//                                    a bad id is 400 "cannot parse traceID param: ..."
//   /api/services                    sorted service names
//   /api/services/{service}/operations  sorted operation names
// Anything else is 404, other methods on these paths 405, both with Jaeger's error envelope.
HttpResponseData HandleJaegerQuery(const SpanStore& store, const HttpRequestView& request);

// Jaeger's TraceIDFromString (1 to 32 hex digits), with its error texts; shared by the v1 and v3
// query APIs.
Result<TraceId> ParseJaegerTraceId(std::string_view s);
// Go's time.ParseDuration for the forms the Jaeger UI sends: one number with a unit, or "0".
// `param` names the parameter in the error ("unable to parse param 'minDuration': ...").
Result<uint64_t> ParseJaegerDuration(std::string_view param, std::string_view s);

}  // namespace tracerig
