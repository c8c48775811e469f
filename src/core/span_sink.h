// Where finished spans go: the batching exporter in a run, InMemorySpanSink in tests. Lives in core
// so that the span producers (simulated services, the driver) need not depend on export.
#pragma once

#include <mutex>
#include <vector>

#include "core/span.h"

namespace tracerig {

class SpanSink {
 public:
  virtual ~SpanSink() = default;
  // Thread-safe; never blocks on I/O. A sink that cannot keep a span counts it as dropped.
  virtual void Submit(Span span) = 0;
};

// Keeps every span in memory: the fake sink for tests. Thread-safe.
class InMemorySpanSink final : public SpanSink {
 public:
  void Submit(Span span) override {
    std::lock_guard lock(mu_);
    spans_.push_back(std::move(span));
  }
  std::vector<Span> spans() const {  // a copy
    std::lock_guard lock(mu_);
    return spans_;
  }
  size_t size() const {
    std::lock_guard lock(mu_);
    return spans_.size();
  }

 private:
  mutable std::mutex mu_;
  std::vector<Span> spans_;
};

}  // namespace tracerig
