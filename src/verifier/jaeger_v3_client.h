// BackendClient for the Jaeger query service's API v3 over HTTP/JSON (Jaeger v2, and recent Jaeger
// v1 releases): GET /api/v3/traces/{id} and GET /api/v3/traces?query.service_name=&query.attributes=.
// Answers are OTLP JSON inside {"result":{"resourceSpans":[...]}}, decoded by export/otlp_codec.h.
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
// Jaeger answers 404 with {"error":{"httpCode":404,"message":"trace not found"}} for an unknown
// trace, and the same with "No traces found" for an empty search: both are "nothing", not errors.
// A 404 whose body is Go's "404 page not found" is a server without API v3: an Error.
// Searches send the snake_case parameter names, which every Jaeger with API v3 reads (newer ones
// as deprecated aliases); servers that ignore query.attributes answer whole traces of the service,
// so the spans are filtered by the attribute here too.
std::unique_ptr<BackendClient> MakeJaegerV3Client(std::unique_ptr<HttpFetcher> fetcher,
                                                  std::string base_description);

// {"result":{"resourceSpans":[...]}} (a missing or null result or list is no spans).
Result<std::vector<Span>> DecodeJaegerV3Traces(std::string_view json);

}  // namespace tracerig
