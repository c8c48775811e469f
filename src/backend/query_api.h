// The embedded backend's query port beyond Jaeger v1: Jaeger API v3 over HTTP/JSON (what Jaeger 2
// serves next to v1 on 16686), tracerig's own ingest statistics and its batch trace endpoint. Pure functions over a request
// value and the store, like handlers.h; HandleQueryPort routes a request to the right one.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "backend/handlers.h"
#include "backend/http_types.h"
#include "backend/span_store.h"

namespace tracerig {

// Jaeger API v3 (GET only), answered like Jaeger's HTTP gateway:
//   /api/v3/traces/{trace_id}  {"result":{"resourceSpans":[OTLP JSON]}}; 404 when unknown
//   /api/v3/traces?query.service_name=&query.operation_name=&query.start_time_min=
//       &query.start_time_max=&query.num_traces=&query.duration_min=&query.duration_max=
//       &query.attributes={"key":"value"}
//                               every span of every matching trace in one result; the two start
//                               times (RFC 3339, required as in Jaeger) bound span start times;
//                               num_traces defaults to 100 like our v1 search
//   /api/v3/services            {"services":[...]} sorted
//   /api/v3/operations?service= {"operations":[{"name":...}]} sorted
// Errors are Jaeger's gateway envelope {"error":{"httpCode":N,"message":"..."}}: 400 for
// malformed parameters ("malformed parameter query.start_time_min: ..."), 404 for an unknown
// trace ("trace not found") or path, 405 for other methods.
HttpResponseData HandleJaegerV3Query(const SpanStore& store, const HttpRequestView& request);

// One ingest receiver's counters, named for the stats answer ("otlp-http", "zipkin", ...).
struct NamedIngestCounters {
  std::string_view receiver;
  const IngestCounters* counters = nullptr;
};

// GET /api/tracerig/stats: {"store":{spans_stored, traces_stored, spans_received, spans_evicted,
// traces_evicted, max_spans, bytes_stored, max_bytes (0: no byte bound),
// evicted_through_unix_nano (StoreStats)},
// "receivers":{"<name>":{requests, requests_rejected, spans_accepted, body_bytes_received,
// rejected:{not_found, method, unsupported_media, too_large, bad_data}}}, "spans_accepted": total
// over receivers}. Documented in README.
HttpResponseData HandleTracerigStats(const SpanStore& store,
                                     const std::vector<NamedIngestCounters>& receivers);

// GET /api/tracerig/traces?ids=ID,ID,...: the spans of every listed trace that is stored, as one
// OTLP ExportTraceServiceRequest in protobuf (application/x-protobuf; EncodeTracesProtobuf, in
// the order asked and stored, which the verifier regroups by trace id). The verifier's batch poll:
// far cheaper to build and to read than Jaeger JSON. Ids are Jaeger's (1 to 32 hex digits),
// separated by commas, the parameter may repeat, an id listed twice is answered once; an unknown
// id is simply absent (an empty body when none is known). Errors, as text/plain naming the
// problem: 400 when `ids` is missing or empty, holds more than kMaxTracerigTraceIds ids, or an id
// that is not one ("ids[2] \"xyz\": strconv.ParseUint: ..."); 405 for other methods. Documented
// in README.
inline constexpr size_t kMaxTracerigTraceIds = 1000;
HttpResponseData HandleTracerigTraces(const SpanStore& store, const HttpRequestView& request);

// That answer's body: `spans` as an OTLP ExportTraceServiceRequest in protobuf, written directly
// (several times cheaper than EncodeOtlpProtobuf's generated messages) with the same fields, in
// the given order (one ResourceSpans per run of spans sharing service and resource attributes).
// DecodeOtlpProtobuf gives the spans back as they were (invalid UTF-8 becomes U+FFFD).
std::string EncodeTracesProtobuf(const std::vector<Span>& spans);

// The query port's router: /api/v3/... to HandleJaegerV3Query, /api/tracerig/stats to
// HandleTracerigStats, /api/tracerig/traces to HandleTracerigTraces, everything else to
// HandleJaegerQuery (v1).
HttpResponseData HandleQueryPort(const SpanStore& store,
                                 const std::vector<NamedIngestCounters>& receivers,
                                 const HttpRequestView& request);

// RFC 3339 with optional fractional seconds, as Go's time.RFC3339Nano parses it
// ("2026-11-25T14:00:00Z", "2026-11-25T15:00:00.5+01:00"), to nanoseconds since the epoch.
// Errors quote the input. Times before 1970 are an error (spans cannot start then).
Result<uint64_t> ParseRfc3339Nanos(std::string_view text);

}  // namespace tracerig
