// The embedded backend's OTLP/gRPC receiver: opentelemetry.proto.collector.trace.v1.TraceService
// served with the gRPC async API on one completion-queue thread. HandleOtlpGrpcExport is the pure
// part (bytes in, status out, spans into the store) and counts like the OTLP/HTTP ingest path
// (handlers.h); the receiver class is the thin shell that moves bytes. gRPC types stay out of this
// header.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "backend/handlers.h"
#include "backend/span_store.h"
#include "core/clock.h"
#include "core/result.h"

namespace tracerig {

// The full method name OTLP exporters call.
inline constexpr std::string_view kOtlpGrpcExportMethod =
    "/opentelemetry.proto.collector.trace.v1.TraceService/Export";

struct OtlpGrpcAnswer {
  int grpc_code = 0;  // grpc::StatusCode value
  std::string message;
  // ExportTracePartialSuccess, sent with OK when some spans were rejected.
  int64_t rejected_spans = 0;
  std::string partial_message;
};

// One ExportTraceServiceRequest, serialized. Counts into every IngestCounters given (e.g. this
// receiver's own and the backend's total): requests, body_bytes_received, spans_accepted, and on
// rejection requests_rejected plus rejected_too_large (RESOURCE_EXHAUSTED: request over
// limits.max_body_bytes) or rejected_bad_data (INVALID_ARGUMENT: not a decodable request, or no
// valid span in it). Spans with invalid ids (trace id not 16 non-zero bytes, span id not 8 non-zero
// bytes, parent id neither empty nor 8 bytes) are dropped one by one: when others remain, they are
// stored and the answer is OK with partial_success naming the count and the first problem.
// Otherwise the spans are stored exactly as the OTLP/HTTP path stores them (DecodeOtlpProtobuf,
// SpanStore::Add).
OtlpGrpcAnswer HandleOtlpGrpcExport(SpanStore& store, std::span<IngestCounters* const> counters,
                                    std::string_view request, const IngestLimits& limits,
                                    uint64_t now_unix_nano);

class OtlpGrpcReceiver {
 public:
  // `total` (e.g. the backend's counters over every receiver) and counters() both count.
  OtlpGrpcReceiver(SpanStore& store, IngestCounters& total, IngestLimits limits,
                   const Clock& clock = SystemClock::Instance());
  ~OtlpGrpcReceiver();  // calls Stop()
  OtlpGrpcReceiver(const OtlpGrpcReceiver&) = delete;
  OtlpGrpcReceiver& operator=(const OtlpGrpcReceiver&) = delete;

  // Binds "host:port" (port 0 picks a free port, see port()) and starts serving. Once only.
  // Other methods than Export are answered UNIMPLEMENTED and counted as rejected_not_found.
  Status Listen(const std::string& host_port);
  uint16_t port() const;
  // Cancels calls in progress, shuts down and joins the completion-queue thread. Idempotent.
  void Stop();
  // This receiver's requests only.
  const IngestCounters& counters() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tracerig
