// BackendClient for tracerig's own embedded backend (tracerig://HOST:PORT): traces in batches
// through GET /api/tracerig/traces?ids=ID,ID,... answered as OTLP protobuf (the cheapest answer to
// build and to read, see backend/query_api.h), and span searches and the dependency list through
// the Jaeger v1 API the same port serves.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "verifier/backend_client.h"

namespace tracerig {

// Ids per request: 128 ids of 32 hex digits keep the request line near 4.3 KiB, well below the
// 8 KiB header limit of Beast's parser, which the embedded backend keeps.
inline constexpr size_t kTracerigMaxTracesPerRequest = 128;

// `base_description` names the backend in Describe() and errors, e.g. "http://127.0.0.1:16686".
std::unique_ptr<BackendClient> MakeTracerigClient(std::unique_ptr<HttpFetcher> fetcher,
                                                  std::string base_description);

}  // namespace tracerig
