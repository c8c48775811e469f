#include "driver/progress.h"

#include <fmt/format.h>

#include "core/units.h"

namespace tracerig {

std::string FormatProgressLine(const DriverProgress& p, uint64_t spans_exported,
                               uint64_t spans_dropped) {
  const std::string target =
      p.closed_loop ? fmt::format("closed loop, {} user{}", p.virtual_users,
                                  p.virtual_users == 1 ? "" : "s")
                    : fmt::format("target {:.1f}/s", p.target_rate);
  return fmt::format(
      "load {:>5.1f}s/{}  rate {:.1f}/s ({})  sent {}  in flight {}  queued {}  errors {}  "
      "p99 {}  spans exported {}  dropped {}",
      static_cast<double>(p.elapsed_ns) / 1e9, FormatDuration(p.total_ns), p.current_rate, target,
      p.sent, p.in_flight, p.queued, p.errors,
      p.completed == 0 ? std::string("-") : FormatDuration(p.p99_ns), spans_exported,
      spans_dropped);
}

}  // namespace tracerig
