// Stub of the seams commit (issue 19): the metrics helper writes it.
#include "canary/metrics.h"

namespace tracerig {
struct MetricsRegistry::Family {};
MetricsRegistry::MetricsRegistry() = default;
MetricsRegistry::~MetricsRegistry() = default;
}  // namespace tracerig
