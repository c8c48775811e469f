// Hand-built expected trees and spans shared by the verifier tests: the quickstart call tree
// (driver -> frontend -> {cart, checkout -> payment}) and spans carrying tracerig's ground truth.
#pragma once

#include <string>
#include <vector>

#include "core/ids.h"
#include "core/ledger.h"
#include "core/span.h"
#include "topology/expected_tree.h"

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

// Every span of `tree` under `trace`.
inline std::vector<Span> AllSpans(const ExpectedTree& tree, TraceId trace, uint64_t request_id) {
  std::vector<Span> spans;
  for (size_t i = 0; i < tree.spans.size(); ++i) {
    spans.push_back(SpanFor(tree.spans[i], trace, request_id, 0x100 + i));
  }
  return spans;
}

}  // namespace tracerig::verifier_testing
