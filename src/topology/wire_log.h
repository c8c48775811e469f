// What simulated services actually received, as seen on the wire: for every inbound request, the
// propagation headers verbatim (bounded), the context extracted from them, and how the request
// was tied to a root request of the ledger. The verifier explains broken edges from this
// ("payment received `b3: 80f1...-1` and no traceparent") and checks what arrives downstream of a
// real (external) service. Thread-safe; bounded in memory (see WireLog for what is kept).
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/ids.h"
#include "propagation/carrier.h"

namespace tracerig {

// How an inbound request was tied to its root request (ground truth: request id, sequence, hop).
enum class GroundTruthSource {
  kHeaders,         // tracerig's own headers (a simulated caller, or a real one passing them on)
  kBaggage,         // tracerig's members of a W3C baggage header (a real caller forwarding baggage)
  kTraceId,         // the trace id received is that of one request in flight to the real caller
  kSingleInFlight,  // exactly one root request was in flight to the real caller
  kNone,            // not tied to any: judged by counts only
};
std::string_view GroundTruthSourceName(GroundTruthSource source);  // "headers", "baggage", ...

struct WireObservation {
  std::string service;  // the simulated service that received the request
  std::string route;
  std::string request_id;  // 16 hex digits; empty when not tied to a root request
  std::string hop;         // the hop the request was for; empty when unknown
  // When the caller is known to be an external service (its route declared this call), its name.
  std::string external_caller;
  GroundTruthSource source = GroundTruthSource::kNone;
  // Propagation headers as received, lowercase names, in arrival order; each value cut at
  // kMaxHeaderValue bytes (then ending in "..."), at most kMaxHeaders of them.
  std::vector<std::pair<std::string, std::string>> headers;
  // The context the service extracted (its own formats): valid when has_context.
  bool has_context = false;
  TraceId trace_id;
  SpanId parent_span_id;
  bool sampled = false;
  std::string tracestate;  // as extracted ("" when none)
  std::string baggage;     // as extracted ("" when none)
  uint64_t received_unix_nano = 0;

  // "`b3: 80f1...-1` and no traceparent"-style text: the trace-context headers received (not
  // tracerig's ground-truth ones), each quoted, or "no trace context headers" when there were
  // none. `expected_formats` (propagation format names: "tracecontext", "b3", ...) names what the
  // receiver reads; the header of each one that carries ids and is absent is said ("and no
  // traceparent"). Baggage is never said absent: most requests carry none.
  std::string DescribeHeaders(const std::vector<std::string>& expected_formats = {}) const;
};

// The same without owning its text: what the request path hands WireLog::Record, so recording
// costs one copy of the text into the log and no more.
struct WireObservationView {
  std::string_view service, route, request_id, hop, external_caller;
  GroundTruthSource source = GroundTruthSource::kNone;
  std::span<const std::pair<std::string_view, std::string_view>> headers;
  bool has_context = false;
  TraceId trace_id;
  SpanId parent_span_id;
  bool sampled = false;
  std::string_view tracestate, baggage;
  uint64_t received_unix_nano = 0;
};

// Keeps what one service received: bounded memory (one allocation per observation), recorded
// once per inbound request. The first half of the capacity keeps the first observations of the
// run for good (the verifier's examples are a run's first failing requests, which a pure ring
// would have forgotten by the end of a long run); the second half is a ring of the most recent
// ones (what live verification asks about, seconds after the request). Observations are spread
// over shards by their key, so services on different threads rarely share a lock; the halves
// are per shard, so with many shards "first" and "most recent" hold per shard, approximately.
class WireLog {
 public:
  static constexpr size_t kMaxHeaderValue = 256;
  static constexpr size_t kMaxHeaderName = 64;
  static constexpr size_t kMaxHeaders = 12;
  // About 350 bytes each for a typical hop (traceparent and tracerig's headers): ~35 MB full.
  static constexpr size_t kDefaultCapacity = 100'000;

  explicit WireLog(size_t capacity = kDefaultCapacity);
  ~WireLog();
  WireLog(const WireLog&) = delete;
  WireLog& operator=(const WireLog&) = delete;

  // Keeps the observation; beyond capacity the oldest of the recent half goes (counted in
  // forgotten()). Header values and names are cut as WireObservation::headers says.
  void Record(const WireObservationView& o);
  void Record(const WireObservation& o);

  // The observation of `service` receiving hop `hop` of request `request_id` (the latest one kept,
  // when it arrived more than once), if kept. Indexes what was recorded since the last call.
  std::optional<WireObservation> Find(std::string_view request_id, std::string_view hop,
                                      std::string_view service) const;
  // Every kept observation `service` recorded below the external service `external_caller`
  // (whatever their source), oldest first (by received time).
  std::vector<WireObservation> FromExternal(std::string_view external_caller) const;
  size_t size() const;
  uint64_t forgotten() const;
  size_t capacity() const { return capacity_; }

  // The propagation headers of a header set, as WireObservation::headers keeps them: names that
  // tracerig's formats use (traceparent, tracestate, baggage, b3, x-b3-*, uber-trace-id,
  // uberctx-*, jaeger-*), plus tracerig's ground-truth headers (tracerig-*).
  static bool IsPropagationHeader(std::string_view lowercase_name);
  static std::string Bound(std::string_view value);
  // The header a propagation format carries its ids in ("tracecontext" -> "traceparent", "b3",
  // "b3multi" -> "x-b3-traceid", "jaeger" -> "uber-trace-id"); "" for the others (baggage).
  static std::string_view IdHeaderOf(std::string_view format);

  struct Shard;  // wire_log.cc

 private:
  Shard& ShardOf(uint64_t key) const;
  size_t capacity_;
  std::vector<std::unique_ptr<Shard>> shards_;
};

// The propagation headers of one request, picked from a HeaderReader without allocating: names
// lowercased (and cut at WireLog::kMaxHeaderName) into its own storage, values pointing into the
// reader's. At most WireLog::kMaxHeaders, in arrival order. Valid while the reader's headers are.
class PropagationHeaders {
 public:
  explicit PropagationHeaders(const HeaderReader& reader);
  PropagationHeaders(const PropagationHeaders&) = delete;
  PropagationHeaders& operator=(const PropagationHeaders&) = delete;
  std::span<const std::pair<std::string_view, std::string_view>> fields() const {
    return {fields_.data(), count_};
  }

 private:
  void Add(std::string_view name, std::string_view value);
  std::array<char, WireLog::kMaxHeaders * WireLog::kMaxHeaderName> names_{};
  std::array<std::pair<std::string_view, std::string_view>, WireLog::kMaxHeaders> fields_{};
  size_t count_ = 0;
};

}  // namespace tracerig
