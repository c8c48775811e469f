// Backend query clients that time every request into CanaryMetrics::QueryDuration (label query:
// trace, traces, search, other) and otherwise behave exactly as the clients they wrap.
#pragma once

#include "canary/canary_metrics.h"
#include "verifier/verify.h"

namespace tracerig {

// Each client `inner` makes, wrapped. `metrics` must outlive every client.
BackendClientFactory TimedBackendClients(BackendClientFactory inner, CanaryMetrics& metrics);

}  // namespace tracerig
