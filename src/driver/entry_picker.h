// Chooses which entry (scenario [load] entry) each root request goes to, by weight. The choice is a
// pure function of (seed, sequence number), so any request of a run can be re-derived later and
// threads need no shared random state.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace tracerig {

class EntryPicker {
 public:
  // Entry i is picked with probability weights[i] / sum(weights). Weights that are not positive
  // and finite count as 0 (never picked). With no positive weight at all, Pick always returns 0;
  // the scenario validator is expected to have rejected that.
  explicit EntryPicker(std::vector<double> weights);

  // Deterministic: the same seed and sequence always give the same entry. O(log n).
  size_t Pick(uint64_t seed, uint64_t sequence) const;

  size_t size() const { return cumulative_.size(); }

 private:
  std::vector<double> cumulative_;  // cumulative_[i] = sum of weights[0..i]
  size_t last_positive_ = 0;        // guards against rounding past the last real choice
};

}  // namespace tracerig
