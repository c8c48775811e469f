// What simulated services actually received, as seen on the wire: for every inbound request, the
// propagation headers verbatim (bounded), the context extracted from them, and how the request
// was tied to a root request of the ledger. The verifier explains broken edges from this
// ("payment received `b3: 80f1...-1` and no traceparent") and checks what arrives downstream of a
// real (external) service. Thread-safe; bounded in memory (the oldest observations go first).
#pragma once

#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/ids.h"

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
  std::string tracestate;  // as received ("" when none)
  std::string baggage;     // as received ("" when none)
  uint64_t received_unix_nano = 0;

  // "b3: 80f1...-1 and no traceparent"-style text: the headers received, or "no trace context
  // headers" when there were none. `expected` names formats the caller should have sent; each one
  // absent is said ("and no traceparent").
  std::string DescribeHeaders(const std::vector<std::string>& expected_formats = {}) const;
};

class WireLog {
 public:
  static constexpr size_t kMaxHeaderValue = 256;
  static constexpr size_t kMaxHeaders = 12;
  static constexpr size_t kDefaultCapacity = 200'000;

  explicit WireLog(size_t capacity = kDefaultCapacity) : capacity_(capacity) {}

  // Keeps `o`; beyond capacity the oldest observation is forgotten (counted in forgotten()).
  void Record(WireObservation o);

  // The observation of `service` receiving hop `hop` of request `request_id` (the latest one, for
  // retries), if kept.
  std::optional<WireObservation> Find(std::string_view request_id, std::string_view hop,
                                      std::string_view service) const;
  // Every kept observation `service` recorded below the external service `external_caller`
  // (whatever their source), oldest first.
  std::vector<WireObservation> FromExternal(std::string_view external_caller) const;
  size_t size() const;
  uint64_t forgotten() const;

  // The propagation headers of a header set, as WireObservation::headers keeps them: names that
  // tracerig's formats use (traceparent, tracestate, baggage, b3, x-b3-*, uber-trace-id,
  // uberctx-*), plus tracerig's ground-truth headers.
  static bool IsPropagationHeader(std::string_view lowercase_name);
  static std::string Bound(std::string_view value);

 private:
  static std::string Key(std::string_view request_id, std::string_view hop,
                         std::string_view service);
  size_t capacity_;
  mutable std::mutex mu_;
  std::deque<WireObservation> kept_;
  // Key -> sequence number of the latest observation with that key (index = seq - first_seq_).
  std::unordered_map<std::string, uint64_t> latest_;
  uint64_t first_seq_ = 0;
  uint64_t forgotten_ = 0;
};

}  // namespace tracerig
