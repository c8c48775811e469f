// The embedded backend's in-memory span store: what OTLP ingest writes and the Jaeger query API
// reads. It stores exactly what arrives (duplicates included: tracerig must detect them, never hide
// them), is bounded by a span count and/or an estimate of its memory in bytes, and evicts whole
// traces, oldest first, counting what it drops.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/ids.h"
#include "core/span.h"

namespace tracerig {

struct StoredTrace {
  TraceId trace_id;
  std::vector<Span> spans;  // in arrival order
  uint64_t first_arrival_unix_nano = 0;
  uint64_t last_arrival_unix_nano = 0;
};

// A trace matches when at least one of its spans satisfies every condition at once (as in Jaeger).
struct TraceQuery {
  std::string service;    // required: an empty service matches nothing
  std::string operation;  // empty: any
  // Each must equal, as text (AttributeValueToString), a span attribute, a resource attribute or a
  // tag the Jaeger encoding derives from the span (span.kind, error, otel.status_code, ...).
  std::map<std::string, std::string> tags;
  std::optional<uint64_t> start_min_unix_nano;  // span start >= this
  std::optional<uint64_t> start_max_unix_nano;  // span start <= this
  std::optional<uint64_t> min_duration_nano;    // span duration >= this
  std::optional<uint64_t> max_duration_nano;    // span duration <= this
  size_t limit = 20;                            // 0: no limit
};

struct StoreStats {
  uint64_t spans_stored = 0;
  uint64_t traces_stored = 0;
  uint64_t spans_received = 0;
  uint64_t spans_evicted = 0;
  uint64_t traces_evicted = 0;
  // The first arrival of the newest trace evicted (0: none yet). Eviction goes in order of first
  // arrival, so no trace that first arrived up to then is stored any more.
  uint64_t evicted_through_unix_nano = 0;
  // EstimateSpanBytes over stored spans, plus kTraceOverheadBytes per stored trace and
  // kServiceLinkBytes per (trace, service) pair.
  uint64_t bytes_stored = 0;
};

// What the store charges against max_bytes for one span: sizeof(Span), plus the heap blocks its
// strings and vectors own (attributes, events, links and their strings), each rounded up to
// glibc's malloc chunk (size + 8, multiple of 16, at least 32 bytes). Strings short enough for the
// small-string buffer cost nothing extra. An estimate of what the span costs in RSS, not an exact
// count: vector slack and allocator fragmentation are not seen.
uint64_t EstimateSpanBytes(const Span& span);
// Charged once per stored trace: its hash-table node (112-byte chunk) and bucket, and its slot in
// the arrival order.
inline constexpr uint64_t kTraceOverheadBytes = 144;
// Charged for each service a trace reaches: the entry in that service's index (a 64-byte map node)
// and the trace's pointer back to it.
inline constexpr uint64_t kServiceLinkBytes = 80;

// Thread-safe. One std::shared_mutex guards everything: ingest takes it exclusively, queries share
// it. That is enough for an embedded test backend; shard by trace id if ingest ever contends.
class SpanStore {
 public:
  // At most max_spans spans and max_bytes bytes (stats().bytes_stored) are kept; 0 turns a bound
  // off. A batch is stored first, then whole traces are evicted in order of first arrival until
  // both bounds hold again, so a single trace larger than a bound is evicted entirely (and
  // counted) rather than silently truncated.
  explicit SpanStore(size_t max_spans, uint64_t max_bytes = 0);
  SpanStore(const SpanStore&) = delete;
  SpanStore& operator=(const SpanStore&) = delete;

  void Add(std::vector<Span> spans, uint64_t now_unix_nano);

  // A copy, so the caller can encode it without holding the lock.
  std::optional<StoredTrace> GetTrace(TraceId trace_id) const;
  // Sorted. Services and operations stay listed after their traces are evicted, as in Jaeger.
  std::vector<std::string> Services() const;
  std::vector<std::string> Operations(std::string_view service) const;
  // Matching trace ids, newest first (by when the service's first span of the trace arrived).
  std::vector<TraceId> Search(const TraceQuery& query) const;
  // Calls `visit` with each stored trace, newest first (by first arrival), under the shared lock,
  // until it returns false. For queries no index answers (Zipkin's searches without a service,
  // dependency links); `visit` must not call back into the store.
  void VisitTraces(
      const std::function<bool(TraceId trace_id, const std::vector<Span>& spans)>& visit) const;
  StoreStats stats() const;
  size_t max_spans() const { return max_spans_; }
  uint64_t max_bytes() const { return max_bytes_; }

 private:
  struct ServiceIndex {
    std::set<std::string, std::less<>> operations;
    std::map<uint64_t, TraceId> traces_by_arrival;  // arrival sequence -> trace
  };
  struct TraceRecord {
    std::vector<Span> spans;
    uint64_t first_arrival_unix_nano = 0;
    uint64_t last_arrival_unix_nano = 0;
    uint64_t bytes = 0;  // what this trace adds to stats_.bytes_stored
    // (service, key in that service's traces_by_arrival), so eviction can unlink the trace. A
    // pointer rather than the name: services_ never drops an entry and std::map nodes stay put.
    std::vector<std::pair<ServiceIndex*, uint64_t>> service_entries;
  };

  void EvictOldestTrace();  // requires mu_ held exclusively
  bool OverBounds() const;  // requires mu_ held

  const size_t max_spans_;
  const uint64_t max_bytes_;
  mutable std::shared_mutex mu_;
  std::unordered_map<TraceId, TraceRecord, TraceIdHash> traces_;
  // Trace ids in order of first arrival. Records are only removed from the front (eviction), so the
  // front is always the oldest stored trace.
  std::deque<TraceId> arrival_order_;
  std::map<std::string, ServiceIndex, std::less<>> services_;
  uint64_t next_arrival_seq_ = 0;
  StoreStats stats_;
};

}  // namespace tracerig
