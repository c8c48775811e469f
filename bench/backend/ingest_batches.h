// The OTLP/HTTP ingest benchmark's workload, shared by the load process (ingest_load) and the
// in-process benchmark (ingest_bench) so both measure the same bytes: batches of eight-span traces
// shaped like the quickstart's, encoded as ExportTraceServiceRequest protobuf.
#pragma once

#include <fmt/format.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/rng.h"
#include "core/span.h"
#include "export/otlp_codec.h"

namespace tracerig::bench {

// A driver CLIENT span, then SERVER/CLIENT pairs, each with the attributes simulated services set.
// Distinct trace and span ids throughout (seeded, so every run sends the same bytes).
inline std::vector<std::string> EncodeIngestBatches(size_t batches, size_t batch_size) {
  static const char* kServices[] = {"frontend", "cart",  "checkout", "payment", "catalog",
                                    "shipping", "email", "currency", "ads",     "recommendation"};
  Rng rng(42);
  std::vector<std::string> bodies;
  bodies.reserve(batches);
  const uint64_t t0 = 1'764'000'000'000'000'000ull;
  for (size_t b = 0; b < batches; ++b) {
    std::vector<Span> spans;
    spans.reserve(batch_size);
    Span parent;
    for (size_t i = 0; i < batch_size; ++i) {
      Span s;
      if (i % 8 == 0) {
        s.trace_id = TraceId{rng.NextNonZero(), rng.Next()};
      } else {
        s.trace_id = parent.trace_id;
        s.parent_span_id = parent.span_id;
      }
      s.span_id = SpanId{rng.NextNonZero()};
      s.kind = i % 2 == 0 ? SpanKind::kServer : SpanKind::kClient;
      s.service_name = kServices[(b + i) % 10];
      s.name = fmt::format("GET /api/{}", kServices[i % 10]);
      s.start_unix_nano = t0 + b * 1'000'000 + i * 1000;
      s.end_unix_nano = s.start_unix_nano + 250'000 + rng.Next() % 1'000'000;
      s.flags = 1;
      s.attributes = {{"http.request.method", std::string("GET")},
                      {"http.route", s.name},
                      {"http.response.status_code", int64_t{200}},
                      {"server.address", std::string("127.0.0.1")},
                      {"server.port", int64_t{40000 + static_cast<int64_t>(i % 100)}},
                      {"tracerig.request_id", fmt::format("{:016x}", rng.Next())},
                      {"tracerig.hop", fmt::format("0.{}", i % 8)}};
      s.resource_attributes = {{"telemetry.sdk.name", std::string("tracerig")}};
      parent = s;
      spans.push_back(std::move(s));
    }
    bodies.push_back(EncodeOtlpProtobuf(spans));
  }
  return bodies;
}

}  // namespace tracerig::bench
