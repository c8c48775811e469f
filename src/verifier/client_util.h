// What every BackendClient over an HttpFetcher needs besides its own JSON: one wording for
// transport failures, unexpected statuses and unparseable bodies (so the verifier's messages read
// the same whichever backend answered), telling a query API's "not found" from a server that has
// no such endpoint, and the filter that keeps the spans a search asked for.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "core/span.h"
#include "verifier/backend_client.h"
#include "verifier/graph.h"

namespace tracerig {

// At most the first 200 bytes of a body, for error messages: enough to recognise, short enough to
// read.
std::string QuoteBody(std::string_view body);

// The errors below carry ErrorCode::kUnavailable: the backend cannot be used as it is.

// GET `target`; a transport failure (refused, reset, timeout) becomes
// "<describe>: GET <target>: <reason>".
Result<FetchResponse> FetchFrom(HttpFetcher& fetcher, std::string_view describe,
                                std::string_view target);

// "<describe>: GET <target> answered HTTP <status>: <quoted body>".
Error UnexpectedStatus(std::string_view describe, std::string_view target,
                       const FetchResponse& response);

// "<describe>: GET <target>: malformed answer: <problem>".
Error MalformedAnswer(std::string_view describe, std::string_view target, std::string_view problem);

// True when a 404 says "no such route" rather than "no such trace": Go's http.NotFound text
// ("404 page not found", what Tempo's, Jaeger's and most Go servers' routers answer for a path
// they do not serve) or an HTML error page (a reverse proxy or a server that is not a tracing
// backend). Tracing backends say "trace not found" with an empty body, plain text or JSON.
bool IsMissingEndpoint(const FetchResponse& response);

// "<describe>: GET <target> answered 404 for the endpoint itself (<body>): <hint>". `hint` says
// what the server probably is instead.
Error MissingEndpoint(std::string_view describe, std::string_view target,
                      const FetchResponse& response, std::string_view hint);

// Parses a whole body as JSON; the error is nlohmann's message without its
// "[json.exception.parse_error.101] " prefix (the byte position stays). Never throws.
Result<nlohmann::json> ParseJsonBody(std::string_view body);

// The spans whose attribute `key` renders as `value` (searches answer whole traces).
std::vector<Span> KeepSpansWithAttribute(std::vector<Span> spans, std::string_view key,
                                         std::string_view value);

// A dependency list's links, [{"parent", "child", "callCount"}, ...] as Jaeger's and Zipkin's
// dependency endpoints answer (other fields, such as Zipkin's errorCount, are ignored). Errors name
// the element and the field: "[1]: \"callCount\" must be a non-negative integer".
Result<std::vector<DependencyLink>> DecodeDependencyArray(const nlohmann::json& links);

// The query parameters both dependency endpoints take, in milliseconds and rounded outwards:
// endTs (the end, rounded up) and lookback (back to the start, rounded down; at least 1).
struct DependencyWindowMs {
  uint64_t end_ts = 0;
  uint64_t lookback = 0;
};
DependencyWindowMs DependencyWindow(uint64_t start_unix_micros, uint64_t end_unix_micros);

// RFC 3339 in UTC with microseconds, "2023-11-14T22:13:20.000001Z", as Jaeger API v3's time
// parameters take.
std::string FormatRfc3339Micros(uint64_t unix_micros);

}  // namespace tracerig
