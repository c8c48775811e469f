// Hand-built expected trees and spans shared by the verifier tests: the quickstart call tree
// (driver -> frontend -> {cart, checkout -> payment}) and spans carrying tracerig's ground truth.
#pragma once

#include <string>
#include <vector>

#include "core/ids.h"
#include "core/ledger.h"
#include "core/span.h"
#include "topology/expected_tree.h"
#include "topology/scenario.h"

namespace tracerig::verifier_testing {

inline ExpectedSpan Expect(std::string hop, std::string service, SpanKind kind, std::string name,
                           int parent, std::string peer) {
  ExpectedSpan span;
  span.hop = std::move(hop);
  span.service = std::move(service);
  span.kind = kind;
  span.name = std::move(name);
  span.parent = parent;
  span.peer = std::move(peer);
  return span;
}

// The quickstart scenario, whose expected tree is QuickstartTree(): frontend "GET /checkout" ->
// cart "GetCart", checkout "PlaceOrder";
// checkout "PlaceOrder" -> payment "Charge".
inline Call CallTo(std::string service, std::string route) {
  Call call;
  call.service = std::move(service);
  call.route = std::move(route);
  return call;
}

inline Scenario QuickstartScenario() {
  auto route = [](std::string name, std::vector<Call> calls) {
    Route r;
    r.name = std::move(name);
    for (Call& c : calls) r.calls.push_back(CallStep{false, {std::move(c)}});
    return r;
  };
  auto service = [](std::string name, Route r) {
    Service s;
    s.name = std::move(name);
    s.routes.push_back(std::move(r));
    return s;
  };
  Scenario s;
  s.name = "quickstart";
  s.load.entries = {LoadEntry{"frontend", "GET /checkout", 1.0}};
  s.services = {
      service("frontend", route("GET /checkout",
                                {CallTo("cart", "GetCart"), CallTo("checkout", "PlaceOrder")})),
      service("cart", route("GetCart", {})),
      service("checkout", route("PlaceOrder", {CallTo("payment", "Charge")})),
      service("payment", route("Charge", {})),
  };
  return s;
}

// The quickstart tree, 8 spans in pre-order; with `fraud`, payment also calls fraud "Check" (10).
inline ExpectedTree QuickstartTree(bool fraud = false) {
  const std::string driver(kDriverServiceName);
  ExpectedTree tree;
  tree.spans = {
      Expect("0", driver, SpanKind::kClient, "GET /checkout", -1, "frontend"),
      Expect("0", "frontend", SpanKind::kServer, "GET /checkout", 0, driver),
      Expect("0.0", "frontend", SpanKind::kClient, "GetCart", 1, "cart"),
      Expect("0.0", "cart", SpanKind::kServer, "GetCart", 2, "frontend"),
      Expect("0.1", "frontend", SpanKind::kClient, "PlaceOrder", 1, "checkout"),
      Expect("0.1", "checkout", SpanKind::kServer, "PlaceOrder", 4, "frontend"),
      Expect("0.1.0", "checkout", SpanKind::kClient, "Charge", 5, "payment"),
      Expect("0.1.0", "payment", SpanKind::kServer, "Charge", 6, "checkout"),
  };
  if (fraud) {
    tree.spans.push_back(Expect("0.1.0.0", "payment", SpanKind::kClient, "Check", 7, "fraud"));
    tree.spans.push_back(Expect("0.1.0.0", "fraud", SpanKind::kServer, "Check", 8, "payment"));
  }
  return tree;
}

// A span as a simulated service records it for `expected`, under `trace`.
inline Span SpanFor(const ExpectedSpan& expected, TraceId trace, uint64_t request_id,
                    uint64_t span_id) {
  Span span;
  span.trace_id = trace;
  span.span_id = SpanId{span_id};
  span.name = expected.name;
  span.kind = expected.kind;
  span.service_name = expected.service;
  span.start_unix_nano = 1'700'000'000'000'000'000ull + span_id;
  span.end_unix_nano = span.start_unix_nano + 1000;
  span.attributes = {{std::string(kRequestIdAttribute), FormatRequestId(request_id)},
                     {std::string(kHopAttribute), expected.hop}};
  return span;
}

// Every span of `tree` under `trace`, as a correct trace has them: span i has id 0x100 + i, its
// parent is its expected parent's span, and each span lies inside its parent's time window (spans
// later in pre-order start later and end earlier, 1 µs apart).
inline std::vector<Span> AllSpans(const ExpectedTree& tree, TraceId trace, uint64_t request_id) {
  constexpr uint64_t kStart = 1'700'000'000'000'000'000ull;
  constexpr uint64_t kStep = 1000;
  std::vector<Span> spans;
  for (size_t i = 0; i < tree.spans.size(); ++i) {
    Span span = SpanFor(tree.spans[i], trace, request_id, 0x100 + i);
    const int parent = tree.spans[i].parent;
    if (parent >= 0) span.parent_span_id = SpanId{0x100 + static_cast<uint64_t>(parent)};
    span.start_unix_nano = kStart + i * kStep;
    span.end_unix_nano = kStart + (1000 - i) * kStep;
    spans.push_back(std::move(span));
  }
  return spans;
}

// The request the classification tests verify: sequence 7, trace kTrace, request kRequest.
inline constexpr TraceId kTrace{0, 0x4a};
inline constexpr uint64_t kRequest = 0xabc;
inline const std::string kTraceHex = "0000000000000000000000000000004a";

inline LedgerEntry Entry() {
  LedgerEntry entry;
  entry.sequence = 7;
  entry.trace_id = kTrace;
  entry.request_id = kRequest;
  return entry;
}

}  // namespace tracerig::verifier_testing
