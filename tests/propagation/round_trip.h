// Shared by the propagator tests: inject seeded random contexts, extract them again, and check
// that ids and the sampled flag survive unchanged.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "core/rng.h"
#include "propagation/carrier.h"
#include "propagation/propagator.h"

namespace tracerig {

inline void ExpectSeededRoundTrips(const Propagator& propagator, uint64_t seed, int count = 500) {
  Rng rng(seed);
  for (int i = 0; i < count; ++i) {
    const SpanContext sent{TraceId{rng.Next(), rng.NextNonZero()}, SpanId{rng.NextNonZero()},
                           static_cast<uint8_t>(rng.Next() & 0x01), ""};
    HeaderList headers;
    propagator.Inject(sent, headers);
    const SpanContext received = propagator.Extract(headers);
    std::string written;
    for (const auto& [name, value] : headers.fields()) written += name + ": " + value + "\n";
    ASSERT_TRUE(received.IsValid()) << written;
    EXPECT_EQ(received.trace_id, sent.trace_id) << written;
    EXPECT_EQ(received.span_id, sent.span_id) << written;
    EXPECT_EQ(received.trace_flags, sent.trace_flags) << written;
  }
}

}  // namespace tracerig
