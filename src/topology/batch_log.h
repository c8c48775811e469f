// What the simulated batch consumers did: which messages (request id and hop) each batch CONSUMER
// span processed. A batch span roots a trace of its own, so the verifier cannot reach it from a
// request's trace id; it looks it up here instead (in process: `tracerig run`), then fetches the
// batch's trace by its id and checks its links. Thread-safe: consumers add from their loops while
// the live verifier reads. Bounded: beyond its capacity the oldest batches are forgotten (a
// canary runs for days; the verifier asks about batches seconds old).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
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
  static constexpr size_t kDefaultCapacity = 100'000;  // batches

  explicit BatchLog(size_t capacity = kDefaultCapacity) : capacity_(capacity == 0 ? 1 : capacity) {}

  // Keeps the record; beyond capacity the oldest one goes (counted in forgotten()).
  void Add(BatchRecord record);
  // The batch that processed delivery `hop` of request `request_id`; nullopt when none did, or
  // when it was forgotten.
  std::optional<BatchRecord> Find(std::string_view request_id, std::string_view hop) const;
  size_t size() const;  // batches kept
  uint64_t forgotten() const;

 private:
  const size_t capacity_;
  mutable std::mutex mu_;
  std::deque<BatchRecord> batches_;
  uint64_t first_ = 0;  // the number of batches_.front() among all batches added
  // request_id + "/" + hop -> the number of its batch among all batches added.
  std::unordered_map<std::string, uint64_t> index_;
};

}  // namespace tracerig
