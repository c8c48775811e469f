// Where finished spans go: the batching exporter in a run, an in-memory list in tests. Lives in core
// so that the span producers (simulated services, the driver) need not depend on export.
#pragma once

#include "core/span.h"

namespace tracerig {

class SpanSink {
 public:
  virtual ~SpanSink() = default;
  // Thread-safe; never blocks on I/O. A sink that cannot keep a span counts it as dropped.
  virtual void Submit(Span span) = 0;
};

}  // namespace tracerig
