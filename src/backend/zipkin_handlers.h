// The embedded backend's Zipkin v2 API (port 9411 in real Zipkin): span ingest and the query API
// the Zipkin UI reads, answered as Zipkin's server does (names lowercased, 16-hex trace ids when
// the high half is zero). Pure functions over a request value and the store, like handlers.h; no
// input makes them throw or crash.
#pragma once

#include <cstdint>

#include "backend/handlers.h"
#include "backend/http_types.h"
#include "backend/span_store.h"

namespace tracerig {

// Zipkin's default query window (its QUERY_LOOKBACK): one day, in milliseconds.
inline constexpr int64_t kZipkinDefaultLookbackMs = 86'400'000;

// POST /api/v2/spans with application/json (parameters allowed), optionally Content-Encoding:
// gzip; the body is a JSON array of Zipkin v2 spans, decoded leniently (DecodeZipkinJson). Success
// is 202 with an empty body. Errors are text/plain with the reason: 404 other paths, 405 other
// methods, 415 other content types (Zipkin's protobuf encoding included) or encodings, 413 body
// (or decompressed body) over the limit, 400 corrupt gzip or undecodable spans. Counted in
// `counters` like OTLP ingest; either all spans of a request are stored or none.
HttpResponseData HandleZipkinIngest(SpanStore& store, IngestCounters& counters,
                                    const HttpRequestView& request, const IngestLimits& limits,
                                    uint64_t now_unix_nano);

// Zipkin's query API v2 (GET), JSON answers shaped as Zipkin's (Zipkin v2 has no span links, so
// stored links are not answered here; Jaeger v1 and API v3 answer them):
//   /api/v2/trace/{traceId}   the trace's spans; 400 when the id is not 1..32 hex digits, 404
//                             "<id> not found" when unknown
//   /api/v2/traces?serviceName=&remoteServiceName=&spanName=&annotationQuery=&minDuration=
//                 &maxDuration=&endTs=&lookback=&limit=
//                             a list of traces, newest first. A trace matches when its timestamp
//                             (its root span's start, else its earliest) lies in
//                             [endTs - lookback, endTs] and its spans of serviceName (all spans
//                             when not given) satisfy each other condition, as in Zipkin's
//                             QueryRequest. endTs and lookback in ms (endTs defaults to now,
//                             lookback to one day), durations in µs, limit defaults to 10.
//                             annotationQuery is "key" or "key=value" terms joined by " and ",
//                             matched against tags (attributes, resource attributes,
//                             otel.status_code, error) and annotation values.
//   /api/v2/services          sorted service names
//   /api/v2/spans?serviceName=  sorted span names of that service (serviceName required)
//   /api/v2/dependencies?endTs=&lookback=
//                             [{"parent","child","callCount"[,"errorCount"]}], sorted: one call
//                             for each span whose parent span (same trace) belongs to another
//                             service, an error when the child span's status is ERROR; endTs is
//                             required. Unlike Zipkin, calls through an uninstrumented broker or
//                             peer (remoteEndpoint only) are not linked.
// Service and span names are compared and answered lowercased, as Zipkin stores them. Bad
// parameters are 400 with a text reason naming the parameter; unknown paths 404; other methods on
// these paths 405. `now_unix_nano` is the default endTs.
HttpResponseData HandleZipkinQuery(const SpanStore& store, const HttpRequestView& request,
                                   uint64_t now_unix_nano);

}  // namespace tracerig
