#include "propagation/registry.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <array>

#include "propagation/composite.h"
#include "propagation/w3c.h"

namespace tracerig {
namespace {

struct Format {
  std::string_view name;
  std::unique_ptr<Propagator> (*make)();
};

// Adding a format: implement its Propagator and add one row here.
constexpr std::array kFormats = {
    Format{"tracecontext",
           []() -> std::unique_ptr<Propagator> {
             return std::make_unique<W3cTraceContextPropagator>();
           }},
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
    propagators.push_back(format->make());
  }
  if (propagators.size() == 1) return std::move(propagators.front());
  return std::unique_ptr<Propagator>(std::make_unique<CompositePropagator>(std::move(propagators)));
}

}  // namespace tracerig
