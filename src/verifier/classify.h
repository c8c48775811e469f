// Trace classification: compares what a backend holds for one root request with the expected call
// tree and says whether the trace is complete, incomplete, broken (propagation lost somewhere, so
// part of the request lives under another trace id) or missing. Pure: no I/O, no clock.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/ids.h"
#include "core/ledger.h"
#include "core/span.h"
#include "topology/expected_tree.h"

namespace tracerig {

enum class TraceStatus { kComplete, kIncomplete, kBroken, kMissing };

std::string_view TraceStatusName(
    TraceStatus status);  // "complete", "incomplete", "broken", "missing"

// An expected span found nowhere (neither under the trace id nor among the fragments).
struct MissingSpan {
  std::string hop;
  std::string service;
  std::string name;
  SpanKind kind = SpanKind::kUnspecified;
};

// The edge where the trace id changed: the span at `hop` recorded by `callee` is under
// `found_under` while its caller's span (or, for the root, the ledger) is under another id.
struct PropagationBreak {
  std::string hop;
  std::string caller;
  std::string callee;
  TraceId found_under;
};

struct TraceVerdict {
  TraceStatus status = TraceStatus::kMissing;
  uint64_t sequence = 0;
  TraceId trace_id;
  uint64_t request_id = 0;
  size_t expected_spans = 0;
  size_t found_spans = 0;                // expected spans found under the ledger's trace id
  std::vector<MissingSpan> missing;      // pre-order of the expected tree
  std::vector<PropagationBreak> breaks;  // topmost breaks only, pre-order
  std::string explanation;               // one human sentence
};

// Identifies spans with expected spans by (tracerig.hop, kind, service) among spans whose
// tracerig.request_id is the entry's. `trace_spans` are the spans the backend returned for the
// ledger's trace id; `fragments` are spans carrying the entry's request id found by searching (they
// may repeat spans of `trace_spans`; spans are placed by their own trace_id, never by which list
// they came in). Spans without the ground-truth attributes are ignored.
//   complete:   every expected span is under the ledger's trace id;
//   missing:    nothing at all was found (both lists empty);
//   broken:     some expected span is under another trace id; `breaks` names each topmost edge
//               where the trace id changed (a change below a change is not counted again);
//   incomplete: otherwise (spans missing and not found elsewhere).
TraceVerdict ClassifyTrace(const ExpectedTree& expected, const LedgerEntry& entry,
                           const std::vector<Span>& trace_spans,
                           const std::vector<Span>& fragments);

}  // namespace tracerig
