#include "propagation/composite.h"

#include <utility>

namespace tracerig {

CompositePropagator::CompositePropagator(std::vector<std::unique_ptr<Propagator>> propagators)
    : propagators_(std::move(propagators)) {
  std::erase(propagators_, nullptr);
}

SpanContext CompositePropagator::Extract(const HeaderReader& carrier) const {
  for (const auto& propagator : propagators_) {
    SpanContext context = propagator->Extract(carrier);
    if (context.IsValid()) return context;
  }
  return {};
}

void CompositePropagator::Inject(const SpanContext& context, HeaderWriter& carrier) const {
  for (const auto& propagator : propagators_) propagator->Inject(context, carrier);
}

}  // namespace tracerig
