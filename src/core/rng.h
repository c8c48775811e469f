// Seeded, fast, reproducible randomness (xoshiro256**). Every random decision in a run derives from
// the scenario seed, so the same file and seed reproduce the same experiment.
#pragma once

#include <cstdint>

namespace tracerig {

class Rng {
 public:
  explicit Rng(uint64_t seed) {
    // SplitMix64 expands the seed into the state, as the xoshiro authors recommend.
    for (auto& s : s_) s = SplitMix(seed);
  }

  uint64_t Next() {
    const uint64_t result = Rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = Rotl(s_[3], 45);
    return result;
  }

  // Uniform in [0, 1).
  double NextDouble() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }

  // A non-zero 64-bit value (valid span id).
  uint64_t NextNonZero() {
    uint64_t v;
    do v = Next();
    while (v == 0);
    return v;
  }

  // Derives an independent stream, e.g. per request number: Rng(seed).Fork(n).
  static uint64_t Mix(uint64_t a, uint64_t b) {
    uint64_t x = a ^ (b + 0x9E3779B97F4A7C15ull + (a << 6) + (a >> 2));
    return SplitMix(x);
  }

 private:
  static uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  static uint64_t SplitMix(uint64_t& x) {
    uint64_t z = (x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  static uint64_t SplitMix(uint64_t&& x) { return SplitMix(x); }

  uint64_t s_[4];
};

}  // namespace tracerig
