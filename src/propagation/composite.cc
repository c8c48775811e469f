#include "propagation/composite.h"

#include <utility>

namespace tracerig {

CompositePropagator::CompositePropagator(std::vector<std::unique_ptr<Propagator>> propagators)
    : propagators_(std::move(propagators)) {
  std::erase(propagators_, nullptr);
}

SpanContext CompositePropagator::Extract(const HeaderReader& carrier) const {
  SpanContext merged;
  bool have_ids = false;
  for (const auto& propagator : propagators_) {
    SpanContext context = propagator->Extract(carrier);
    if (!have_ids && context.IsValid()) {
      have_ids = true;
      std::string baggage = std::move(merged.baggage);
      merged = std::move(context);
      if (!baggage.empty()) merged.baggage = std::move(baggage);
    } else if (merged.baggage.empty() && !context.baggage.empty()) {
      merged.baggage = std::move(context.baggage);
    }
    if (have_ids && !merged.baggage.empty()) break;
  }
  return merged;
}

void CompositePropagator::Inject(const SpanContext& context, HeaderWriter& carrier) const {
  for (const auto& propagator : propagators_) propagator->Inject(context, carrier);
}

}  // namespace tracerig
