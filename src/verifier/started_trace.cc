// Which expected spans of an edge-started request live under the trace the entry started.
#include "verifier/started_trace.h"

#include <algorithm>

namespace tracerig {

std::vector<bool> InStartedTrace(const ExpectedTree& tree) {
  const size_t n = tree.spans.size();
  std::vector<bool> in(n, false);
  for (size_t i = 0; i < n; ++i) {
    const ExpectedSpan& e = tree.spans[i];
    const bool has_parent = e.parent >= 0 && static_cast<size_t>(e.parent) < i;
    in[i] = e.starts_trace || (has_parent && in[static_cast<size_t>(e.parent)]);
  }
  return in;
}

bool StartsOwnTrace(const ExpectedTree& tree) {
  return std::any_of(tree.spans.begin(), tree.spans.end(),
                     [](const ExpectedSpan& e) { return e.starts_trace; });
}

size_t RequiredUnderLedgerTrace(const ExpectedTree& tree) {
  const std::vector<bool> in = InStartedTrace(tree);
  size_t required = 0;
  for (size_t i = 0; i < tree.spans.size(); ++i) {
    if (!tree.spans[i].optional && !tree.spans[i].linked && !in[i]) ++required;
  }
  return required;
}

}  // namespace tracerig
