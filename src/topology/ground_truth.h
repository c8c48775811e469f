// Headers that carry tracerig's ground truth between simulated services, independent of any trace
// context format, so a broken trace can still be reassembled by the verifier.
#pragma once

#include <string>
#include <string_view>

namespace tracerig {

inline constexpr std::string_view kRequestIdHeader = "tracerig-request-id";  // 16 hex digits
inline constexpr std::string_view kSequenceHeader = "tracerig-seq";  // request number, decimal
inline constexpr std::string_view kHopHeader = "tracerig-hop";       // hop of the edge being called
// The root request's intended start offset into the load, nanoseconds, decimal: fault time windows
// are decided on it, so they hit the same requests on every run.
inline constexpr std::string_view kOffsetHeader = "tracerig-offset";

// Ground truth for a real (external) service to carry on: W3C baggage members tracerig adds to
// the requests it sends into an external service. OpenTelemetry SDKs forward baggage by default,
// so a simulated service the real one calls can tie the request to its root request.
inline constexpr std::string_view kRequestIdBaggageKey = "tracerig.request_id";
inline constexpr std::string_view kSequenceBaggageKey = "tracerig.seq";
inline constexpr std::string_view kHopBaggageKey = "tracerig.hop";  // the external service's hop
inline constexpr std::string_view kOffsetBaggageKey = "tracerig.offset";
// The tracestate member tracerig adds to requests into an external service (value: the request
// id), to see whether the real service passes tracestate on.
inline constexpr std::string_view kTracestateKey = "tracerig";

// How a route name maps onto HTTP: "GET /checkout" is a method and a path; any other name
// ("GetCart") is served as POST /GetCart.
struct HttpRouteTarget {
  std::string_view method;
  std::string path;
};
HttpRouteTarget RouteToHttp(std::string_view route_name);

}  // namespace tracerig
