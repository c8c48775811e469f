#include "propagation/registry.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <array>
#include <utility>

#include "propagation/b3.h"
#include "propagation/b3multi.h"
#include "propagation/baggage.h"
#include "propagation/composite.h"
#include "propagation/jaeger.h"
#include "propagation/w3c.h"

namespace tracerig {
namespace {

struct Format {
  std::string_view name;
  std::unique_ptr<Propagator> (*make)();
};

template <typename P>
std::unique_ptr<Propagator> Make() {
  return std::make_unique<P>();
}

// Adding a format: implement its Propagator and add one row here.
constexpr std::array kFormats = {
    Format{"tracecontext", &Make<W3cTraceContextPropagator>},
    Format{"baggage", &Make<BaggagePropagator>},
    Format{"b3", &Make<B3SinglePropagator>},
    Format{"b3multi", &Make<B3MultiPropagator>},
    Format{"jaeger", &Make<JaegerPropagator>},
};

const Format* FindFormat(std::string_view name) {
  for (const Format& format : kFormats) {
    if (format.name == name) return &format;
  }
  return nullptr;
}

}  // namespace

std::vector<std::string_view> KnownPropagationFormats() {
  std::vector<std::string_view> names;
  for (const Format& format : kFormats) names.push_back(format.name);
  return names;
}

Result<std::unique_ptr<Propagator>> MakePropagator(const std::vector<std::string>& formats) {
  std::vector<std::unique_ptr<Propagator>> propagators;
  size_t b3_single = formats.size();
  size_t b3_multi = formats.size();
  for (size_t i = 0; i < formats.size(); ++i) {
    const std::string& name = formats[i];
    const Format* format = FindFormat(name);
    if (format == nullptr) {
      return MakeError(fmt::format("unknown propagation format \"{}\" (known: {})", name,
                                   fmt::join(KnownPropagationFormats(), ", ")));
    }
    for (size_t j = 0; j < i; ++j) {
      if (formats[j] == name) {
        return MakeError(fmt::format("propagation format \"{}\" is listed twice", name));
      }
    }
    if (name == "b3") b3_single = i;
    if (name == "b3multi") b3_multi = i;
    propagators.push_back(format->make());
  }
  // B3 says a reader prefers the single header when both forms are present: whatever the listed
  // order, the single-header propagator takes the earlier of the two places.
  if (b3_single < formats.size() && b3_multi < b3_single) {
    std::swap(propagators[b3_single], propagators[b3_multi]);
  }
  if (propagators.size() == 1) return std::move(propagators.front());
  return std::unique_ptr<Propagator>(std::make_unique<CompositePropagator>(std::move(propagators)));
}

}  // namespace tracerig
