// Shared by the service runtime tests: span lookups, scenarios built in C++ (the parser is tested
// on its own) and a root request sent the way the driver sends it.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/ledger.h"
#include "net/http_client.h"
#include "propagation/w3c.h"
#include "tests/support/loopback_server.h"
#include "topology/ground_truth.h"
#include "topology/topology_runtime.h"

namespace tracerig::runtime_test_support {

inline std::string Attr(const Span& span, std::string_view key) {
  const AttributeValue* v = span.FindAttribute(key);
  return v ? AttributeValueToString(*v) : "";
}

inline const Span* Find(const std::vector<Span>& spans, std::string_view service, SpanKind kind,
                        std::string_view hop) {
  for (const auto& s : spans) {
    if (s.service_name == service && s.kind == kind && Attr(s, kHopAttribute) == hop) return &s;
  }
  return nullptr;
}

inline Route Rt(std::string name, std::vector<CallStep> calls = {}) {
  Route r;
  r.name = std::move(name);
  r.calls = std::move(calls);
  return r;
}

inline Call To(std::string service, std::string route) {
  Call c;
  c.service = std::move(service);
  c.route = std::move(route);
  return c;
}

inline CallStep Seq(Call call) { return CallStep{false, {std::move(call)}}; }

inline Service Svc(std::string name, std::vector<Route> routes) {
  Service s;
  s.name = std::move(name);
  s.routes = std::move(routes);
  return s;
}

inline Fault MakeFault(FaultKind kind, std::string service) {
  Fault f;
  f.kind = kind;
  f.service = std::move(service);
  return f;
}

inline constexpr TraceId kTrace{0x1111, 0x2222};
inline constexpr SpanId kRootSpan{0x3333};

// Sends one root request the way the driver does; returns the status (0 on transport error).
inline unsigned SendRoot(const tcp::endpoint& entry, std::string_view route, uint64_t seq,
                         std::string_view offset = {}, TraceId trace = kTrace,
                         uint64_t* body_size = nullptr) {
  asio::io_context ioc;
  HttpClientPool pool(ioc, entry);
  auto target = RouteToHttp(route);
  HttpRequest request{http::string_to_verb(std::string(target.method)), target.path, 11};
  request.set(std::string(kTraceparentHeader), FormatTraceparent(trace, kRootSpan, 0x01));
  request.set(std::string(kRequestIdHeader), FormatRequestId(seq + 1));
  request.set(std::string(kSequenceHeader), std::to_string(seq));
  request.set(std::string(kHopHeader), "0");
  if (!offset.empty()) request.set(std::string(kOffsetHeader), std::string(offset));
  unsigned status = 0;
  pool.Send(std::move(request), [&](beast::error_code ec, HttpResponse&& r) {
    status = ec ? 0 : r.result_int();
    if (body_size != nullptr) *body_size = ec ? 0 : r.body().size();
  });
  ioc.run();
  return status;
}

// Sends request `seq` to `route` with tracerig's ground-truth headers and `context` as its
// trace-context headers (any formats, none at all), as a driver entry configured to send them
// does; returns the status (0 on transport error).
inline unsigned SendWithContext(const tcp::endpoint& entry, std::string_view route, uint64_t seq,
                                const std::vector<std::pair<std::string, std::string>>& context) {
  asio::io_context ioc;
  HttpClientPool pool(ioc, entry);
  auto target = RouteToHttp(route);
  HttpRequest request{http::string_to_verb(std::string(target.method)), target.path, 11};
  for (const auto& [name, value] : context) request.insert(name, value);
  request.set(std::string(kRequestIdHeader), FormatRequestId(seq + 1));
  request.set(std::string(kSequenceHeader), std::to_string(seq));
  request.set(std::string(kHopHeader), "0");
  unsigned status = 0;
  pool.Send(std::move(request),
            [&](beast::error_code ec, HttpResponse&& r) { status = ec ? 0 : r.result_int(); });
  ioc.run();
  return status;
}

// a (simulated, GET /a) calls the external service "ext" (POST /Ext) once.
inline Scenario CallsExternal(const test_support::CaptureServer& ext) {
  Scenario s;
  s.seed = 5;
  s.services = {Svc("a", {Rt("GET /a", {Seq(To("ext", "Ext"))})}), Svc("ext", {Rt("Ext")})};
  s.services[1].external_url = ext.url();
  return s;
}

inline Scenario JustA() {
  Scenario s;
  s.seed = 5;
  s.services = {Svc("a", {Rt("GET /a")})};
  return s;
}

}  // namespace tracerig::runtime_test_support
