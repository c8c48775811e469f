// BackendClient for Zipkin's v2 query API (Zipkin itself, and what the embedded backend serves on
// its Zipkin port): GET /api/v2/trace/{id}, GET /api/v2/traces?serviceName=&annotationQuery= and
// GET /api/v2/dependencies.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "core/span.h"
#include "verifier/backend_client.h"

namespace tracerig {

// `base_description` names the backend in Describe() and errors, e.g. "http://127.0.0.1:9411".
std::unique_ptr<BackendClient> MakeZipkinV2Client(std::unique_ptr<HttpFetcher> fetcher,
                                                  std::string base_description);

// One trace's Zipkin v2 span array (GET /api/v2/trace/{id}), normalised into Span by
// DecodeZipkinJson (export/zipkin_codec.h: ids of 16 or 32 hex digits compared as 128-bit
// integers, µs -> ns, kind, localEndpoint.serviceName, tags -> string attributes, otel.status_code
// and error tags -> status), then NormaliseSharedSpans.
Result<std::vector<Span>> DecodeZipkinTrace(std::string_view json);

// The answer of GET /api/v2/traces: an array of traces, each an array of spans; all their spans,
// decoded as DecodeZipkinTrace does per trace. Errors name the trace: "traces[1]: spans[0]: ...".
Result<std::vector<Span>> DecodeZipkinTraces(std::string_view json);

// The answer of GET /api/v2/dependencies?endTs=&lookback= (milliseconds): a bare array of
// {"parent", "child", "callCount"[, "errorCount"]} links.
Result<std::vector<DependencyLink>> DecodeZipkinDependencies(std::string_view json);

// Zipkin's shared spans (B3 "one span per RPC", as Brave and Finagle record): the SERVER half
// reuses its CLIENT half's span id. tracerig's model has one span per id, so, as Jaeger's span-id
// deduper does, the SERVER half of each (trace, id) that has both a CLIENT and a SERVER span gets a
// new id (one above the largest id in the trace, then the next), becomes the CLIENT half's child,
// and the other spans whose parent was the shared id (the server's local work) become its
// children. Spans that merely repeat an id without that CLIENT/SERVER pairing are left alone: those
// are duplicates for the verifier to report.
void NormaliseSharedSpans(std::vector<Span>& spans);

}  // namespace tracerig
