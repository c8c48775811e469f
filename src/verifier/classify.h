// Trace classification: compares what a backend holds for one root request with the expected call
// tree and says whether the trace is complete, incomplete, broken (propagation lost somewhere, so
// part of the request lives under another trace id) or missing, and which structural violations
// (orphans, wrong parents, clock skew, ...) the spans under its trace id show. Pure: no I/O, no
// clock.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/ids.h"
#include "core/ledger.h"
#include "core/span.h"
#include "topology/expected_tree.h"

namespace tracerig {

// kNotExported is never ClassifyTrace's: the verifier gives it to a missing or incomplete trace
// whose spans tracerig's own exporter dropped (VerifyOptions::export_loss).
enum class TraceStatus { kComplete, kIncomplete, kBroken, kMissing, kNotExported };

std::string_view TraceStatusName(
    TraceStatus status);  // "complete", "incomplete", "broken", "missing", "not-exported"

// An expected span found nowhere (neither under the trace id nor among the fragments).
struct MissingSpan {
  std::string hop;
  std::string service;
  std::string name;
  SpanKind kind = SpanKind::kUnspecified;
};

// The edge where the trace id changed: the span at `hop` recorded by `callee` is under
// `found_under` while its caller's span (or, for the root, the ledger) is under another id.
// At an async edge (a CONSUMER span whose parent is a PRODUCER span), `caller` is the publisher
// and `callee` the consumer.
struct PropagationBreak {
  std::string hop;
  std::string caller;
  std::string callee;
  TraceId found_under;
  std::string destination{};  // an async edge's: "{exchange}:{routing key}"; "" for a call
};

// How the trace id a broken part of a request was found under relates to the one the driver
// sent, for explanations: "the trace id truncated to its low 64 bits" (a 64-bit propagator,
// B3 or Jaeger, dropped the high half), "the trace id's high 64 bits replaced (padded or
// rewritten)", "the trace id's low 64 bits replaced", else "a new trace id".
std::string DescribeTraceIdChange(TraceId sent, TraceId found);

// Something wrong with the structure of the spans under the ledger's trace id, even when every
// expected span is present. Kinds:
//   "orphan"            a span's parent span id is not in the trace (unless the span is an
//                       expected one whose parent the tree says was sampled out:
//                       ExpectedSpan::parent_unexported; the verifier reports those per cause,
//                       VerificationSummary::orphan_causes);
//   "multiple-roots"    more than one span without a parent (one violation per trace);
//   "duplicate-span-id" one span id used by several spans (identical copies included);
//   "wrong-parent"      a span's parent exists but is not the one the expected tree names (an
//                       attempt's SERVER span under another attempt's CLIENT span of the same
//                       call is explained as a retry that sent a stale context; for a
//                       call a real service makes, ExpectedSpan::parent_external: not a span
//                       at or below the real service's SERVER span);
//   "wrong-kind"        a span at an expected (hop, service) with a kind the tree does not expect,
//                       which leaves that edge without its CLIENT or SERVER span;
//   "unexpected-span"   a span the expected tree has no place for (no ground truth, another
//                       request's id, an unknown hop, or a second span for the same expected one;
//                       not the spans an external service records below its SERVER span, and
//                       for a SERVER span of another service.name where an external service's
//                       was expected, the explanation says so);
//   "clock-skew"        a SERVER span starting before its parent CLIENT span starts, or ending
//                       after it ends (unless ExpectedSpan::may_outlive_parent: its caller may
//                       have given up on it), by more than the tolerance;
//   "attribute"         an expected span lacks an attribute an AttributeExpectation requires, or
//                       has it with another value.
// The verifier adds "external-hop" violations of its own (verifier/external_hops.h): a call a
// real service declares whose request did not arrive continuing the trace.
// From the wire log it adds "tracestate", "baggage" (a member dropped, mutated or reordered at an
// edge) and "wire-format" (a header form strict readers reject): verifier/context_checks.h.
struct Violation {
  std::string kind;
  std::string hop;      // the offending span's tracerig.hop, "" when it has none
  std::string service;  // the service that recorded the offending span
  std::string explanation;
  // A duplicate-span-id whose copies are identical: the same span stored more than once, as an
  // at-least-once export (a retry after a timeout the backend had in fact accepted) may leave it.
  // Still a violation for a run; the canary does not fail a trace on it.
  bool identical_copies = false;

  bool operator==(const Violation&) const = default;
};

// When an expected span ran, as the service that recorded it says: what the report's waterfall
// draws. One per expected span found (under the ledger's trace id or another one).
struct SpanTiming {
  std::string hop;
  SpanKind kind = SpanKind::kUnspecified;
  std::string service;
  uint64_t start_unix_nano = 0;
  uint64_t end_unix_nano = 0;

  bool operator==(const SpanTiming&) const = default;
};

struct TraceVerdict {
  TraceStatus status = TraceStatus::kMissing;
  uint64_t sequence = 0;
  TraceId trace_id;
  uint64_t request_id = 0;
  // The expected tree's spans, less the absent ones it excuses (optional, or cut off by a timeout).
  size_t expected_spans = 0;
  // Expected spans found under the ledger's trace id (for an edge-started request, those of the
  // entry's own trace under the id it started).
  size_t found_spans = 0;
  std::vector<MissingSpan> missing;      // pre-order of the expected tree; never optional ones
  std::vector<PropagationBreak> breaks;  // topmost breaks only, pre-order
  std::string explanation;               // one human sentence
  // Structural problems of the spans under the ledger's trace id. They never change `status`,
  // which is about presence: a complete trace can have violations.
  std::vector<Violation> violations;
  // The span identified with each expected span that was found, in the expected tree's pre-order
  // (the copy under the ledger's trace id when there are several).
  std::vector<SpanTiming> timings;
  // An edge-started request (ExpectedSpan::starts_trace): the trace id its entry started, where
  // the entry's SERVER span was found as a root; invalid otherwise.
  TraceId started_trace;
};

// A required attribute on spans (the scenario's `[expect.attributes]`). It applies to every
// expected span recorded by `service` (empty: by every scenario service, not the driver, whose
// span is tracerig's own) with kind `kind` (kUnspecified: any kind). The key is looked up among
// the span's attributes, then its resource attributes; `value`, when set, must equal the value
// rendered by AttributeValueToString.
struct AttributeExpectation {
  std::string service;
  SpanKind kind = SpanKind::kUnspecified;
  std::string key;
  std::optional<std::string> value;

  bool operator==(const AttributeExpectation&) const = default;
};

// Knobs of the checks beyond the expected tree.
struct ClassifyOptions {
  // A child SERVER span may start before / end after its parent CLIENT span by this much.
  uint64_t clock_skew_tolerance_ns = 0;
  // Checked on each expected span found under the ledger's trace id (its first copy).
  std::vector<AttributeExpectation> attributes;
};

// The attribute violations of one span that was identified with `expected` (pure, for tests and
// for the structural checks): one per failing expectation, in `expectations` order, e.g.
// "SERVER span of checkout at hop 0.1 lacks http.route".
std::vector<Violation> CheckAttributes(const ExpectedSpan& expected, const Span& span,
                                       const std::vector<AttributeExpectation>& expectations);

// The structural checks behind TraceVerdict::violations, on the spans of `trace_spans` whose
// trace_id is the entry's (others are ignored). Spans are identified with expected spans as
// ClassifyTrace does; duplicates of a span id are checked once. Order: duplicate span ids,
// wrong kinds and unexpected spans (in `trace_spans` order), multiple roots, orphans, wrong
// parents and clock skew (in expected-tree order).
std::vector<Violation> CheckTraceStructure(const ExpectedTree& expected, const LedgerEntry& entry,
                                           const std::vector<Span>& trace_spans,
                                           uint64_t clock_skew_tolerance_ns = 0);
// The same with attribute expectations, checked last (in expected-tree order).
std::vector<Violation> CheckTraceStructure(const ExpectedTree& expected, const LedgerEntry& entry,
                                           const std::vector<Span>& trace_spans,
                                           const ClassifyOptions& options);

// Whether `span` carries tracerig.request_id `request_id` (hex text, or the number a backend that
// types tags made of it).
bool CarriesRequestId(const Span& span, uint64_t request_id);

// Identifies spans with expected spans by (tracerig.hop, kind, service) among spans whose
// tracerig.request_id is the entry's; an external service's SERVER span (ExpectedSpan::external),
// which carries no ground truth, by structure: the SERVER span of that service.name whose parent
// is the CLIENT span identified for the same hop (when only another service's SERVER span is
// there, the span stays missing and the explanation names the service found instead). Optional
// spans are never missing, nor a may_outlive_parent SERVER span (and its subtree) whose CLIENT
// span records a timeout. `trace_spans` are the spans the backend returned for the
// ledger's trace id; `fragments` are spans carrying the entry's request id found by searching (they
// may repeat spans of `trace_spans`; spans are placed by their own trace_id, never by which list
// they came in). Spans without the ground-truth attributes are ignored.
//   complete:   every expected span is under the ledger's trace id, or, for the subtree of a
//               starts_trace span found as a root under another id, under that id (the
//               request's own trace, also checked for structure: its spans are taken from
//               `fragments`); a tree with no spans is complete when nothing was found;
//   missing:    nothing at all was found (both lists empty) where something was expected;
//   broken:     some expected span is under another trace id; `breaks` names each topmost edge
//               where the trace id changed (a change below a change is not counted again);
//   incomplete: otherwise (spans missing and not found elsewhere).
// `violations` is CheckTraceStructure(expected, entry, trace_spans, clock_skew_tolerance_ns);
// `timings` hold the start and end of each expected span found.
TraceVerdict ClassifyTrace(const ExpectedTree& expected, const LedgerEntry& entry,
                           const std::vector<Span>& trace_spans,
                           const std::vector<Span>& fragments,
                           uint64_t clock_skew_tolerance_ns = 0);
// The same with the options' structural checks (attribute expectations included).
TraceVerdict ClassifyTrace(const ExpectedTree& expected, const LedgerEntry& entry,
                           const std::vector<Span>& trace_spans,
                           const std::vector<Span>& fragments, const ClassifyOptions& options);

}  // namespace tracerig
