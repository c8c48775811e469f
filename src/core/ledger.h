// The ledger: what the driver knows it sent, one entry per root request. It is the verifier's
// ground truth, and it is written to disk so `tracerig verify --ledger` can check it later.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/ids.h"

namespace tracerig {

enum class RequestOutcome : uint8_t {
  kOk,         // the entry service answered 2xx
  kHttpError,  // answered with another status
  kTransportError,  // connect/write/read failed or timed out
};

struct LedgerEntry {
  uint64_t sequence = 0;    // request number from 0, in schedule order
  TraceId trace_id;         // the trace id the driver injected
  SpanId root_span_id;      // the driver's CLIENT span
  uint64_t request_id = 0;  // ground-truth id, sent in the tracerig-request-id header
  uint32_t entry = 0;       // index into Scenario::load.entries
  bool sampled = true;      // the sampled flag the driver sent
  uint64_t intended_unix_nano = 0;  // when the request was scheduled to start
  uint64_t start_unix_nano = 0;     // when it was actually sent
  uint64_t end_unix_nano = 0;       // when the response arrived (or the error happened)
  int http_status = 0;              // 0 when no response
  RequestOutcome outcome = RequestOutcome::kOk;
};

using Ledger = std::vector<LedgerEntry>;

// Request ids travel as 16 lowercase hex digits.
std::string FormatRequestId(uint64_t request_id);

}  // namespace tracerig
