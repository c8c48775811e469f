// What the simulated batch consumers did: which messages (request id and hop) each batch CONSUMER
// span processed. A batch span roots a trace of its own, so the verifier cannot reach it from a
// request's trace id; it looks it up here instead (in process: `tracerig run`), then fetches the
// batch's trace by its id and checks its links. Thread-safe: consumers add from their loops while
// the live verifier reads.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/ids.h"

namespace tracerig {

struct BatchMember {
  std::string request_id;  // tracerig-request-id of the message, as received (hex)
  std::string hop;         // its delivery hop (H, Hd1, Hq)
};

struct BatchRecord {
  std::string service;
  std::string queue;
  TraceId trace_id;  // the batch CONSUMER span's
  SpanId span_id;
  bool sampled = false;  // whether the batch span was exported at all
  uint64_t start_unix_nano = 0;
  std::vector<BatchMember> members;  // in delivery order
};

class BatchLog {
 public:
  void Add(BatchRecord record);
  // The batch that processed delivery `hop` of request `request_id`; nullopt when none did.
  std::optional<BatchRecord> Find(std::string_view request_id, std::string_view hop) const;
  size_t size() const;

 private:
  mutable std::mutex mu_;
  std::vector<BatchRecord> batches_;
  // request_id + "/" + hop -> index in batches_.
  std::unordered_map<std::string, size_t> index_;
};

}  // namespace tracerig
