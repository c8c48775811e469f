// The live progress line of a run: what the driver and the exporter report, as one line of text for
// a terminal (rewritten in place) or a CI log (one line per interval). Pure, so its text is tested.
#pragma once

#include <cstdint>
#include <string>

#include "driver/driver_result.h"

namespace tracerig {

// One line, no newline, e.g.
//   load   3.0s/10s  rate 199.8/s (target 200.0/s)  sent 600  in flight 4  queued 0  errors 0
//   p99 12.5ms  spans exported 1800  dropped 0
// (on one line). The closed loop has no target: "(closed loop, 8 users)" instead. p99 is "-" until
// a request has completed. `spans_exported` and `spans_dropped` come from the exporter (dropped:
// queue full or failed), which the driver does not know about.
std::string FormatProgressLine(const DriverProgress& progress, uint64_t spans_exported,
                               uint64_t spans_dropped);

}  // namespace tracerig
