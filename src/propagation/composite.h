// Several propagation formats at once (e.g. tracecontext and b3 during a migration): extraction
// takes the ids from the first format that yields a valid context and the baggage from the first
// format that yields any (the baggage format carries no ids); injection writes every format.
#pragma once

#include <memory>
#include <vector>

#include "propagation/propagator.h"

namespace tracerig {

class CompositePropagator final : public Propagator {
 public:
  // Order matters for Extract: earlier propagators win. Null entries are ignored.
  explicit CompositePropagator(std::vector<std::unique_ptr<Propagator>> propagators);

  // The ids, flags, debug and tracestate all come from one format, the first with a valid context;
  // baggage comes from the first non-empty baggage in order, even when no format has valid ids
  // (the trace restarts but the baggage still travels).
  SpanContext Extract(const HeaderReader& carrier) const override;
  void Inject(const SpanContext& context, HeaderWriter& carrier) const override;

  size_t size() const { return propagators_.size(); }

 private:
  std::vector<std::unique_ptr<Propagator>> propagators_;
};

}  // namespace tracerig
