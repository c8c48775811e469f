// Sends span batches over OTLP/gRPC (opentelemetry.proto.collector.trace.v1.TraceService/Export)
// on one reused channel, with a deadline per export, metadata headers (auth) and optional TLS, and
// classifies the answer the way the OTLP specification asks exporters to. gRPC types stay out of
// this header.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"
#include "export/exporter.h"

namespace tracerig {

struct OtlpGrpcTarget {
  std::string host_port;  // "collector:4317"
  // Sent as metadata on every export (keys lowercased); e.g. auth. Never printed.
  std::vector<std::pair<std::string, std::string>> headers;
  uint64_t timeout_ms = 10'000;  // deadline of one Export call
  bool tls = false;
  std::string ca_file;           // PEM roots; empty = the system's
  std::string client_cert_file;  // PEM; set together with client_key_file for mutual TLS
  std::string client_key_file;
};

class OtlpGrpcSender final : public BatchSender {
 public:
  // Reads the TLS files (errors name the file) and creates the channel; connecting is lazy, so an
  // unreachable collector shows up as a retryable UNAVAILABLE on the first Send.
  static Result<std::unique_ptr<OtlpGrpcSender>> Create(OtlpGrpcTarget target);
  ~OtlpGrpcSender() override;

  SendResult Send(const std::vector<Span>& batch) override;

 private:
  struct Impl;
  explicit OtlpGrpcSender(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Pure classification of an Export call's outcome. OK is success, with the response's
// partial_success (rejected spans and message). Retryable per the OTLP specification: CANCELLED,
// DEADLINE_EXCEEDED, ABORTED, OUT_OF_RANGE, UNAVAILABLE, DATA_LOSS, and RESOURCE_EXHAUSTED only
// when the server sent RetryInfo; every other code is permanent. `status_details` is the
// serialized google.rpc.Status of the grpc-status-details-bin trailer (may be empty); its
// RetryInfo delay becomes retry_after_ms.
SendResult ClassifyOtlpGrpcStatus(int grpc_code, std::string_view message,
                                  std::string_view status_details, int64_t rejected_spans = 0,
                                  std::string_view partial_success_message = {});

// The RetryInfo.retry_delay in a serialized google.rpc.Status, in milliseconds (rounded up);
// nullopt when absent or undecodable.
std::optional<uint64_t> RetryInfoDelayMs(std::string_view status_details);

// The google.rpc.Status bytes a server sends to ask for a retry after `delay_ms` (for fakes and
// tests).
std::string EncodeRetryInfoStatus(int grpc_code, std::string_view message, uint64_t delay_ms);

}  // namespace tracerig
