// Requests in flight into external (real) services, and how a simulated service that a real one
// calls recovers the ground truth (request id, sequence, hop, offset) the real service did not
// pass on as tracerig's headers: from tracerig's W3C baggage members, tracerig's headers passed
// through, or the one request in flight into a real service that calls it.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/ids.h"
#include "topology/scenario.h"
#include "topology/wire_log.h"

namespace tracerig {

// One root request's visit to an external service: its ground truth as sent into it.
struct ExternalRequest {
  std::string service;  // the external service
  std::string route;    // its route called
  std::string request_id;
  std::string sequence;
  std::string hop;  // the external service's hop
  std::string offset;
  TraceId trace_id;  // the trace id sent into it; invalid when unknown
};

// Thread-safe registry of the requests in flight into each external service. The simulated
// services register their calls into external services; the load driver registers its requests
// into an external entry. Cheap enough for every such call (one short lock; lookups are indexed,
// so they do not grow with the number of requests in flight).
class ExternalInFlight {
 public:
  using Token = uint64_t;
  // Registers `request` until Unregister(token).
  Token Register(ExternalRequest request);
  void Unregister(Token token);

  // The request in flight with this request id and external hop, if any.
  std::optional<ExternalRequest> Find(std::string_view request_id, std::string_view hop) const;
  // The only request in flight into any of `services`; nullopt when none or several.
  std::optional<ExternalRequest> Single(const std::vector<std::string>& services) const;
  // The only request in flight into any of `services` with this trace id; nullopt when none or
  // several (or the id is invalid).
  std::optional<ExternalRequest> WithTraceId(const std::vector<std::string>& services,
                                             const TraceId& trace_id) const;
  size_t size() const;

 private:
  static std::string Key(std::string_view request_id, std::string_view hop);
  mutable std::mutex mu_;
  Token next_ = 1;
  std::unordered_map<Token, ExternalRequest> in_flight_;
  std::unordered_multimap<std::string, Token> by_request_;  // Key(request id, hop)
  std::unordered_multimap<TraceId, Token, TraceIdHash> by_trace_;
  std::unordered_map<std::string, std::unordered_set<Token>> by_service_;
};

// What goes into a real service besides the trace context (the driver into an external entry,
// hop "0"; a simulated service into an external callee): `baggage` (a normalised list) with
// tracerig's ground-truth members first (kRequestIdBaggageKey, kSequenceBaggageKey,
// kHopBaggageKey, kOffsetBaggageKey when `offset` is set), any earlier ones replaced ...
std::string WithGroundTruthBaggage(std::string_view baggage, std::string_view request_id,
                                   std::string_view sequence, std::string_view hop,
                                   std::string_view offset);
// ... and `trace_state` with tracerig's member (`tracerig=<request id>`) first, any earlier one
// removed, at most 32 members (W3C).
std::string WithGroundTruthTracestate(std::string_view trace_state, std::string_view request_id);

// The ground truth a simulated service recovered for one inbound request.
struct RecoveredGroundTruth {
  GroundTruthSource source = GroundTruthSource::kNone;
  std::string request_id, sequence, hop, offset;  // empty with kNone; hop may be empty
  std::string external_caller;                    // the real service, when known
};

// The external services whose routes call `service`'s route `route`, in scenario order.
std::vector<std::string> ExternalCallersOf(const Scenario& scenario, std::string_view service,
                                           std::string_view route);

// The hop of the call to (service, route) below `external_hop` of external service `external`:
// ChildHop(external_hop, index) for the one call of the external route `external_route` (all
// its routes when empty) naming it; "" when none or several do (the hop is unknown).
std::string ExternalChildHop(const Scenario& scenario, std::string_view external,
                             std::string_view external_route, std::string_view external_hop,
                             std::string_view service, std::string_view route);

// What a request into `service`'s `route` without tracerig's own headers is tied to, in order:
// (a) tracerig's members of the W3C `baggage` header (`baggage_fields`, as received);
// (b) the request in flight into an external service whose routes call this route whose trace id
//     is the one received (`trace_id`: the real service continued the trace);
// (c) the only request in flight into an external service whose routes call this route;
// (d) nothing (kNone).
// `headers_*` are tracerig's own headers as received (empty when absent): when present and
// they name a request in flight into an external service that calls this route (a real service
// passed them through unchanged), the hop is that call's hop below it; else they are a simulated
// caller's and are taken as they are (kHeaders).
struct ReceivedGroundTruth {
  std::string_view request_id, sequence, hop, offset;  // tracerig's headers
  std::vector<std::string_view> baggage_fields;
  TraceId trace_id;  // the trace id of the context received; invalid when none
};
RecoveredGroundTruth RecoverGroundTruth(const Scenario& scenario, std::string_view service,
                                        std::string_view route, const ReceivedGroundTruth& received,
                                        const ExternalInFlight& in_flight);

}  // namespace tracerig
