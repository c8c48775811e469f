// BackendClient for the Jaeger query service's v1 HTTP JSON API (what the Jaeger UI uses, and what
// the embedded backend serves): GET /api/traces/{id}, GET /api/traces?traceID=a&traceID=b... (up
// to 10 traces per request), GET /api/traces?service=&tags=... and GET /api/dependencies (which
// the embedded backend does not serve).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "core/span.h"
#include "verifier/backend_client.h"

namespace tracerig {

// `base_description` names the backend in Describe() and errors, e.g. "http://127.0.0.1:16686".
std::unique_ptr<BackendClient> MakeJaegerV1Client(std::unique_ptr<HttpFetcher> fetcher,
                                                  std::string base_description);

// All traces' spans of a {"data":[trace, ...]} body ("data": null yields no spans), normalised
// into Span: ids from 1..32 hex digits; the parent from the first CHILD_OF reference into the same
// trace only (none without one: a FOLLOWS_FROM is never the parent, unlike Jaeger's own model);
// every other reference (FOLLOWS_FROM, CHILD_OF into another trace) a link with ids only, in
// order, as the OpenTelemetry translator maps references to links; times µs -> ns; kind from
// the span.kind tag; status from otel.status_code (else error=true); typed tags (int64 as number or
// decimal string, binary kept as its base64 text); service name and resource tags from the trace's
// processes (or an inline "process"); logs -> events named by their "event" field. The tags mapped
// into fields (span.kind, otel.status_code, otel.status_description, error, w3c.tracestate) are not
// repeated as attributes.
Result<std::vector<Span>> DecodeJaegerTraces(std::string_view json);

// The answer of GET /api/traces?traceID=a&traceID=b...: the same, except that "errors" entries
// with "msg":"trace not found" are how Jaeger lists the ids it does not have (absences, not
// failures), even when "data" is empty.
Result<std::vector<Span>> DecodeJaegerTraceBatch(std::string_view json);

// The answer of GET /api/dependencies?endTs=&lookback= (milliseconds):
// {"data":[{"parent", "child", "callCount"}, ...]}; "data": null is an empty list.
Result<std::vector<DependencyLink>> DecodeJaegerDependencies(std::string_view json);

// RFC 3986 percent-encoding of everything except unreserved characters, for query parameters.
std::string PercentEncode(std::string_view text);

}  // namespace tracerig
