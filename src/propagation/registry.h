// Propagators by name, as scenarios and the command line spell them (the OpenTelemetry
// OTEL_PROPAGATORS names: "tracecontext", "baggage", "b3", "b3multi", "jaeger").
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "propagation/propagator.h"

namespace tracerig {

// The format names MakePropagator knows, in the order they are listed in error messages.
std::vector<std::string_view> KnownPropagationFormats();

// One format gives that format's propagator; several give a CompositePropagator in the order
// listed (the first valid context gives the ids, "baggage" adds the baggage; see composite.h),
// with one exception: when both "b3" and "b3multi" are listed, "b3" (single header) is tried
// first wherever it is listed (B3's rule: the single header wins when both forms are present);
// the two swap places, so injection order follows. Each B3 propagator reads only its own form.
// An empty list gives a propagator that extracts nothing and injects nothing (a hop that drops
// trace context). Errors name the format: `unknown propagation format "xyz" (known:
// tracecontext, baggage, b3, b3multi, jaeger)`, or a format listed twice.
Result<std::unique_ptr<Propagator>> MakePropagator(const std::vector<std::string>& formats);

}  // namespace tracerig
