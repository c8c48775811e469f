// BackendClient for Grafana Tempo's HTTP API: trace by id (GET /api/v2/traces/{id}, falling back
// to GET /api/traces/{id} on servers older than the v2 endpoint) and TraceQL search (GET
// /api/search). Multi-tenant Tempo needs X-Scope-OrgID: the fetcher sends it (BlockingHttpFetcher
// takes headers; backend_factory.h passes the scenario's [backend] headers).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "core/span.h"
#include "verifier/backend_client.h"

namespace tracerig {

// `base_description` names the backend in Describe() and errors, e.g. "http://127.0.0.1:3200".
// Not-found vs missing endpoint: Tempo answers 404 for an unknown trace on both endpoints (empty,
// "trace not found" or JSON body) and 200 with an empty trace on some v2 versions; a 404 whose
// body is Go's "404 page not found" (or an HTML page) means the route does not exist. The client
// asks /api/v2/traces/{id} first; when that route is missing it uses /api/traces/{id} from then on.
// A trace Tempo marks partial (too big to return whole) is an Error, not an incomplete trace.
std::unique_ptr<BackendClient> MakeTempoClient(std::unique_ptr<HttpFetcher> fetcher,
                                               std::string base_description);

// Tempo's trace-by-id answers, normalised by DecodeOtlpJsonResourceSpans (export/otlp_codec.h:
// base64 or hex ids, enum names or numbers). v1: {"batches":[ResourceSpans...]} (newer servers
// may say "resourceSpans"); v2: {"trace":{"resourceSpans":[...]},"status":...,"message":...}.
// An empty or absent list decodes to no spans.
Result<std::vector<Span>> DecodeTempoTraceV1(std::string_view json);
Result<std::vector<Span>> DecodeTempoTraceV2(std::string_view json);

// The trace ids of a GET /api/search answer ({"traces":[{"traceID":"..."}, ...]}). Tempo trims
// leading zeros from these ids; they are compared as 128-bit integers like every other id.
Result<std::vector<TraceId>> DecodeTempoSearch(std::string_view json);

// `{ resource.service.name = "<service>" && span."<key>" = "<value>" }` with TraceQL string
// escapes (backslash and double quote).
std::string TempoSearchQuery(std::string_view service, std::string_view key,
                             std::string_view value);

}  // namespace tracerig
