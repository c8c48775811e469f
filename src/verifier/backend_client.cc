// Helpers shared by the BackendClient implementations that fetch traces in batches.
#include "verifier/backend_client.h"

#include <fmt/format.h>

#include <unordered_map>
#include <utility>

namespace tracerig {

Result<std::vector<TraceFetch>> GroupSpansByTrace(std::span<const TraceId> ids,
                                                  std::vector<Span> spans,
                                                  std::string_view backend) {
  std::unordered_map<TraceId, size_t, TraceIdHash> index;  // id -> its position
  index.reserve(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) index.emplace(ids[i], i);
  std::vector<TraceFetch> out(ids.size());
  for (Span& span : spans) {
    auto it = index.find(span.trace_id);
    if (it == index.end()) {
      return MakeError(ErrorCode::kUnavailable,
                       fmt::format("{} answered a span of trace {}, which was not asked for",
                                   backend, span.trace_id.ToHex()));
    }
    TraceFetch& trace = out[it->second];
    if (!trace) trace.emplace();
    trace->push_back(std::move(span));
  }
  return out;
}

}  // namespace tracerig
