#include "driver/entry_picker.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "core/rng.h"

namespace tracerig {
namespace {

// Keeps entry choice independent of other per-request decisions that also mix (seed, sequence),
// e.g. id generation: without it a request's entry and its trace id bits would be correlated.
constexpr uint64_t kEntryStream = 0x656e7472795f7069ull;  // "entry_pi"

}  // namespace

EntryPicker::EntryPicker(std::vector<double> weights) : cumulative_(std::move(weights)) {
  double total = 0;
  for (size_t i = 0; i < cumulative_.size(); ++i) {
    const double w = cumulative_[i];
    if (w > 0 && std::isfinite(w)) {
      total += w;
      last_positive_ = i;
    }
    cumulative_[i] = total;
  }
}

size_t EntryPicker::Pick(uint64_t seed, uint64_t sequence) const {
  if (cumulative_.empty() || !(cumulative_.back() > 0)) return 0;
  const uint64_t bits = Rng::Mix(Rng::Mix(seed, kEntryStream), sequence);
  const double unit = static_cast<double>(bits >> 11) * 0x1.0p-53;  // [0, 1)
  const double target = unit * cumulative_.back();
  // The first entry whose cumulative weight exceeds the target; zero-weight entries repeat the
  // previous cumulative value and so are never first.
  const auto it = std::upper_bound(cumulative_.begin(), cumulative_.end(), target);
  const auto index = static_cast<size_t>(it - cumulative_.begin());
  return std::min(index, last_positive_);
}

}  // namespace tracerig
