// Classifying one trace against its expected tree: where each expected span was found, and the
// structure checks (duplicates, matching, roots, orphans, parents, clock skew, attributes).
#include "verifier/classify.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <optional>
#include <tuple>
#include <unordered_map>
#include <utility>

#include "core/units.h"
#include "verifier/async_edges.h"
#include "verifier/retry_parents.h"

namespace tracerig {
namespace {

// How many missing spans (or roots) an explanation names before summarising the rest.
constexpr size_t kMissingNamedInExplanation = 4;

using SpanKey = std::tuple<std::string_view, SpanKind, std::string_view>;  // hop, kind, service

}  // namespace

bool CarriesRequestId(const Span& span, uint64_t request_id) {
  const AttributeValue* value = span.FindAttribute(kRequestIdAttribute);
  if (value == nullptr) return false;
  if (const auto* text = std::get_if<std::string>(value)) {
    std::optional<uint64_t> parsed = ParseHex64(*text);
    return parsed && *parsed == request_id;
  }
  // Backends that type tags may have turned the hex text into a number; accept it as well.
  if (const auto* number = std::get_if<int64_t>(value)) {
    return static_cast<uint64_t>(*number) == request_id;
  }
  return false;
}

namespace {

const std::string* HopOf(const Span& span) {
  const AttributeValue* value = span.FindAttribute(kHopAttribute);
  return value == nullptr ? nullptr : std::get_if<std::string>(value);
}

// The services on both sides of the edge an expected span belongs to.
PropagationBreak BreakAt(const ExpectedSpan& span, TraceId found_under) {
  PropagationBreak b;
  b.hop = span.hop;
  if (IsAsync(span)) b.destination = std::string(DestinationOfSpanName(span.name));
  if (span.kind == SpanKind::kServer || span.kind == SpanKind::kConsumer) {
    b.caller = span.peer;
    b.callee = span.service;
  } else {
    b.caller = span.service;
    b.callee = span.peer;
  }
  b.found_under = found_under;
  return b;
}

std::string DescribeExpected(const ExpectedSpan& e) {
  return fmt::format("{} {} {} (hop {})", e.service, SpanKindName(e.kind), e.name, e.hop);
}

// How a user recognises a span that arrived: by its hop when it has one, else by its id.
std::string DescribeSpan(const Span& span) {
  const std::string* hop = HopOf(span);
  if (hop != nullptr) {
    return fmt::format("{} {} {} (hop {})", span.service_name, SpanKindName(span.kind), span.name,
                       *hop);
  }
  return fmt::format("{} {} {} (span {})", span.service_name, SpanKindName(span.kind), span.name,
                     span.span_id.ToHex());
}

Violation MakeViolation(std::string kind, const Span& span, std::string explanation) {
  const std::string* hop = HopOf(span);
  return Violation{std::move(kind), hop == nullptr ? std::string() : *hop, span.service_name,
                   std::move(explanation)};
}

// Why a span under the trace has no place in the expected tree.
std::string WhyUnexpected(const Span& span, uint64_t request_id) {
  const AttributeValue* id = span.FindAttribute(kRequestIdAttribute);
  if (id == nullptr || HopOf(span) == nullptr) {
    return fmt::format("{} carries no tracerig ground truth (request id and hop)",
                       DescribeSpan(span));
  }
  if (!CarriesRequestId(span, request_id)) {
    return fmt::format("{} belongs to request {}, not {}", DescribeSpan(span),
                       AttributeValueToString(*id), FormatRequestId(request_id));
  }
  return fmt::format("{} is not in the expected call tree", DescribeSpan(span));
}

std::string OutcomeSuffix(const LedgerEntry& entry) {
  switch (entry.outcome) {
    case RequestOutcome::kOk:
      return "";
    case RequestOutcome::kHttpError:
      return fmt::format(" (the request itself failed: HTTP {})", entry.http_status);
    case RequestOutcome::kTransportError:
      return " (the request itself failed: transport error)";
  }
  return "";
}

// `hints`, when not empty, has one entry per missing span: what was found in its place.
std::string DescribeMissing(const std::vector<MissingSpan>& missing,
                            const std::vector<std::string>& hints) {
  std::string text;
  for (size_t i = 0; i < missing.size() && i < kMissingNamedInExplanation; ++i) {
    const MissingSpan& m = missing[i];
    if (i > 0) text += ", ";
    text += fmt::format("{} {} {} (hop {}", m.service, SpanKindName(m.kind), m.name, m.hop);
    if (i < hints.size() && !hints[i].empty()) text += "; " + hints[i];
    text += ")";
  }
  if (missing.size() > kMissingNamedInExplanation) {
    text += fmt::format(", and {} more", missing.size() - kMissingNamedInExplanation);
  }
  return text;
}

std::string DescribeBreak(const PropagationBreak& b, const ExpectedTree& tree, size_t index,
                          TraceId sent) {
  const ExpectedSpan& span = tree.spans[index];
  if (IsAsync(span)) return DescribeAsyncBreak(tree, index, b.found_under, sent);
  return fmt::format("between {} and {} at hop {}: {}'s span is under trace {}, {}", b.caller,
                     b.callee, b.hop, span.service, b.found_under.ToHex(),
                     DescribeTraceIdChange(sent, b.found_under));
}

// What an expected span of an external service is identified with (see FindExternalServer).
struct ExternalMatch {
  const Span* span = nullptr;   // a SERVER span of the expected service under the CLIENT span
  const Span* other = nullptr;  // else the first SERVER span of another service there, if any
};

// A real service's SERVER span carries no tracerig ground truth: it is identified by structure,
// as the SERVER span of `expected.service` whose parent is `client` (the caller's CLIENT span of
// the same hop), among `candidates` under the client's trace id.
ExternalMatch FindExternalServer(const ExpectedSpan& expected, const Span& client,
                                 const std::vector<const Span*>& candidates) {
  ExternalMatch match;
  if (!client.span_id.IsValid()) return match;
  for (const Span* span : candidates) {
    if (span->kind != SpanKind::kServer || span->trace_id != client.trace_id ||
        span->parent_span_id != client.span_id) {
      continue;
    }
    if (span->service_name == expected.service) {
      match.span = span;
      return match;
    }
    if (match.other == nullptr) match.other = span;
  }
  return match;
}

// Whether a CLIENT span says its caller gave up waiting: error.type "timeout" (HTTP clients) or
// DEADLINE_EXCEEDED (gRPC, also as rpc.grpc.status_code 4).
bool RecordsTimeout(const Span& client) {
  constexpr int64_t kDeadlineExceeded = 4;
  if (const AttributeValue* type = client.FindAttribute("error.type")) {
    const auto* text = std::get_if<std::string>(type);
    if (text != nullptr && (*text == "timeout" || *text == "DEADLINE_EXCEEDED")) return true;
  }
  if (const AttributeValue* code = client.FindAttribute("rpc.grpc.status_code")) {
    const auto* number = std::get_if<int64_t>(code);
    if (number != nullptr && *number == kDeadlineExceeded) return true;
  }
  return false;
}

bool IsExternalServer(const ExpectedSpan& e) { return e.external && e.kind == SpanKind::kServer; }

std::string OtherServiceHint(const ExpectedSpan& expected, const Span& other) {
  return fmt::format(
      "found a SERVER span from service \"{}\" under the client span, not from \"{}\": does "
      "the external service report another service.name?",
      other.service_name, expected.service);
}

// The spans under the ledger's trace id, each span id once (its first occurrence).
struct TraceSpans {
  std::vector<const Span*> spans;
  std::unordered_map<uint64_t, const Span*> by_id;
  // Span id -> every copy of it; ordered, so explanations are stable.
  std::map<uint64_t, std::vector<const Span*>> repeated;
};

// Which span stands for each expected span, and what is wrong with the spans that stand for none.
struct SpanMatch {
  std::vector<const Span*> matched;               // per expected span
  std::vector<int> expected_of;                   // per entry of `spans`: expected index, or -1
  std::vector<std::optional<Violation>> problem;  // per entry of `spans`
};

TraceSpans CollectTraceSpans(const LedgerEntry& entry, const std::vector<Span>& trace_spans) {
  TraceSpans t;
  for (const Span& span : trace_spans) {
    if (span.trace_id != entry.trace_id) continue;
    if (span.span_id.IsValid()) {
      auto [it, inserted] = t.by_id.emplace(span.span_id.value, &span);
      if (!inserted) {
        std::vector<const Span*>& copies = t.repeated[span.span_id.value];
        if (copies.empty()) copies.push_back(it->second);
        copies.push_back(&span);
        continue;
      }
    }
    t.spans.push_back(&span);
  }
  return t;
}

// A span id used more than once is reported here, then checked once.
void CheckDuplicateSpanIds(const TraceSpans& t, std::vector<Violation>& violations) {
  for (const auto& [id, copies] : t.repeated) {
    const bool identical = std::all_of(copies.begin(), copies.end(),
                                       [&](const Span* s) { return *s == *copies.front(); });
    std::string text = fmt::format("span id {} is used by {} spans", SpanId{id}.ToHex(),
                                   copies.size());
    if (identical) {
      text += fmt::format(": identical copies of {} (stored more than once)",
                          DescribeSpan(*copies.front()));
    } else {
      for (size_t i = 0; i < copies.size(); ++i) {
        text += (i == 0 ? ": " : ", ") + DescribeSpan(*copies[i]);
      }
    }
    violations.push_back(MakeViolation("duplicate-span-id", *copies.front(), std::move(text)));
    violations.back().identical_copies = identical;
  }
}

// Identifies spans with expected spans by their ground truth; the first span for an expected one
// is its match. A span's problem is held back until external services' spans are identified by
// structure.
SpanMatch MatchExpectedSpans(const ExpectedTree& expected, const LedgerEntry& entry,
                             const std::vector<const Span*>& spans) {
  const size_t n = expected.spans.size();
  std::map<SpanKey, size_t> index;
  std::map<std::pair<std::string_view, std::string_view>, std::vector<SpanKind>> kinds_at;
  for (size_t i = 0; i < n; ++i) {
    const ExpectedSpan& e = expected.spans[i];
    index.emplace(SpanKey{e.hop, e.kind, e.service}, i);
    kinds_at[{e.hop, e.service}].push_back(e.kind);
  }
  SpanMatch m;
  m.matched.assign(n, nullptr);
  m.problem.resize(spans.size());
  m.expected_of.reserve(spans.size());
  for (size_t k = 0; k < spans.size(); ++k) {
    const Span* span = spans[k];
    const std::string* hop = HopOf(*span);
    int found = -1;
    if (hop != nullptr && CarriesRequestId(*span, entry.request_id)) {
      auto it = index.find(SpanKey{*hop, span->kind, span->service_name});
      if (it != index.end()) {
        if (m.matched[it->second] == nullptr) {
          m.matched[it->second] = span;
          found = static_cast<int>(it->second);
        } else {
          m.problem[k] = MakeViolation(
              "unexpected-span", *span,
              fmt::format("{} is a second span for the same call (span {}; the first is {})",
                          DescribeSpan(*span), span->span_id.ToHex(),
                          m.matched[it->second]->span_id.ToHex()));
        }
      } else if (auto at = kinds_at.find({*hop, span->service_name}); at != kinds_at.end()) {
        std::string want;
        for (SpanKind kind : at->second) {
          if (!want.empty()) want += " or ";
          want += SpanKindName(kind);
        }
        m.problem[k] = MakeViolation(
            "wrong-kind", *span,
            fmt::format("{} recorded {} at hop {} as {}, expected {}", span->service_name,
                        span->name, *hop, SpanKindName(span->kind), want));
      } else {
        m.problem[k] =
            MakeViolation("unexpected-span", *span, WhyUnexpected(*span, entry.request_id));
      }
    } else {
      m.problem[k] =
          MakeViolation("unexpected-span", *span, WhyUnexpected(*span, entry.request_id));
    }
    m.expected_of.push_back(found);
  }
  return m;
}

// External services' SERVER spans, by structure (only trees with external services pay for
// this). Returns, per entry of `spans`, whether it is the SERVER span found under tracerig's
// CLIENT span of an external hop; empty when there is none.
std::vector<bool> MatchExternalServers(const ExpectedTree& expected,
                                       const std::vector<const Span*>& spans,
                                       std::unordered_map<const Span*, size_t>& position,
                                       SpanMatch& m) {
  const size_t n = expected.spans.size();
  const bool tree_has_external = std::any_of(expected.spans.begin(), expected.spans.end(),
                                             [](const ExpectedSpan& e) { return e.external; });
  if (tree_has_external) {
    for (size_t k = 0; k < spans.size(); ++k) position.emplace(spans[k], k);
  }
  std::vector<bool> external_root(tree_has_external ? spans.size() : 0, false);
  bool any_external = false;
  for (size_t i = 0; tree_has_external && i < n; ++i) {
    const ExpectedSpan& e = expected.spans[i];
    if (!IsExternalServer(e) || m.matched[i] != nullptr || e.parent < 0 ||
        static_cast<size_t>(e.parent) >= n ||
        m.matched[static_cast<size_t>(e.parent)] == nullptr) {
      continue;
    }
    std::vector<const Span*> unmatched;
    for (size_t k = 0; k < spans.size(); ++k) {
      if (m.expected_of[k] < 0) unmatched.push_back(spans[k]);
    }
    const ExternalMatch found =
        FindExternalServer(e, *m.matched[static_cast<size_t>(e.parent)], unmatched);
    if (found.span != nullptr) {
      const size_t k = position[found.span];
      m.matched[i] = found.span;
      m.expected_of[k] = static_cast<int>(i);
      m.problem[k].reset();
      external_root[k] = any_external = true;
    } else if (found.other != nullptr) {
      const size_t k = position[found.other];
      m.problem[k] = MakeViolation(
          "unexpected-span", *found.other,
          fmt::format("{} is where {} was expected: {}", DescribeSpan(*found.other),
                      DescribeExpected(e), OtherServiceHint(e, *found.other)));
      external_root[k] = any_external = true;
    }
  }
  if (!any_external) external_root.clear();
  return external_root;
}

// Whatever a real service records below its SERVER span under tracerig's CLIENT span (whichever
// service.name it reports) is its own: no problem of tracerig's tree.
void ExcuseSpansBelowExternalServers(const TraceSpans& t,
                                     std::unordered_map<const Span*, size_t>& position,
                                     const std::vector<bool>& external_root, SpanMatch& m) {
  const std::vector<const Span*>& spans = t.spans;
  // 0: not known yet, 1: below an external root, 2: not. Parent chains are followed at most
  // spans.size() steps, so a cycle of parent ids cannot loop.
  std::vector<uint8_t> below(spans.size(), 0);
  for (size_t k = 0; k < spans.size(); ++k) {
    std::vector<size_t> chain;
    size_t at = k;
    uint8_t verdict = 2;
    for (size_t steps = 0; steps <= spans.size(); ++steps) {
      if (below[at] != 0) {
        verdict = below[at];
        break;
      }
      chain.push_back(at);
      auto parent = t.by_id.find(spans[at]->parent_span_id.value);
      if (!spans[at]->parent_span_id.IsValid() || parent == t.by_id.end()) break;
      const size_t p = position[parent->second];
      if (external_root[p]) {
        verdict = 1;
        break;
      }
      // A span of tracerig's tree below the real service (a call it declared) is no longer its.
      if (m.expected_of[p] >= 0) break;
      at = p;
    }
    for (size_t c : chain) below[c] = verdict;
  }
  for (size_t k = 0; k < spans.size(); ++k) {
    if (below[k] == 1 && m.expected_of[k] < 0 && !external_root[k]) m.problem[k].reset();
  }
}

// Exactly one span without a parent (the driver's CLIENT span).
void CheckSingleRoot(const std::vector<const Span*>& spans, const SpanMatch& m,
                     std::vector<Violation>& violations) {
  std::vector<const Span*> roots;
  for (const Span* span : spans) {
    if (!span->parent_span_id.IsValid()) roots.push_back(span);
  }
  if (roots.size() <= 1) return;
  // Blame the first root that is not the expected one.
  const Span* blamed = !m.matched.empty() && roots[0] == m.matched[0] ? roots[1] : roots[0];
  std::string text = fmt::format("{} spans have no parent: ", roots.size());
  for (size_t i = 0; i < roots.size() && i < kMissingNamedInExplanation; ++i) {
    if (i > 0) text += ", ";
    text += DescribeSpan(*roots[i]);
  }
  if (roots.size() > kMissingNamedInExplanation) {
    text += fmt::format(", and {} more", roots.size() - kMissingNamedInExplanation);
  }
  violations.push_back(MakeViolation("multiple-roots", *blamed, std::move(text)));
}

// Orphans: the parent id names no span of the trace.
void CheckOrphans(const ExpectedTree& expected, const TraceSpans& t, const SpanMatch& m,
                  std::vector<Violation>& violations) {
  const size_t n = expected.spans.size();
  for (size_t k = 0; k < t.spans.size(); ++k) {
    const Span& span = *t.spans[k];
    if (!span.parent_span_id.IsValid() || t.by_id.contains(span.parent_span_id.value)) continue;
    const int i = m.expected_of[k];
    // The expected tree says this span's parent was sampled out: its absence is no break.
    if (i >= 0 && expected.spans[static_cast<size_t>(i)].parent_unexported) continue;
    std::string text = fmt::format("{}'s parent span {} is not in the trace", DescribeSpan(span),
                                   span.parent_span_id.ToHex());
    if (i >= 0 && expected.spans[static_cast<size_t>(i)].parent >= 0) {
      const auto p = static_cast<size_t>(expected.spans[static_cast<size_t>(i)].parent);
      if (p < n && m.matched[p] == nullptr) {
        text += fmt::format(" (its expected parent, {}, is missing)",
                            DescribeExpected(expected.spans[p]));
      }
    }
    violations.push_back(MakeViolation("orphan", span, std::move(text)));
  }
}

// How far a real service's SERVER span may start before its caller's CLIENT span: its clock is
// not tracerig's (the OpenTelemetry JS SDK's timestamps, from performance.now(), were 0.25ms
// ahead of the system clock in 11 of 40 traces).
constexpr uint64_t kExternalClockToleranceNs = 50'000'000;

// A SERVER span that starts before or ends after its caller's CLIENT span by more than the
// tolerance; nullopt when it does not.
std::optional<Violation> ClockSkewOf(const ExpectedSpan& e, const Span& span, const Span& parent,
                                     uint64_t clock_skew_tolerance_ns) {
  if (e.external) {
    clock_skew_tolerance_ns = std::max(clock_skew_tolerance_ns, kExternalClockToleranceNs);
  }
  const uint64_t early = parent.start_unix_nano > span.start_unix_nano
                             ? parent.start_unix_nano - span.start_unix_nano
                             : 0;
  // A callee its caller gave up on (a timeout) goes on working after the CLIENT span ends. A real
  // service ends its SERVER span once its answer is written (Node's http instrumentation on
  // 'finish'), often after tracerig has read the answer and ended the CLIENT span.
  const bool may_end_later = e.may_outlive_parent || e.external;
  const uint64_t late = !may_end_later && span.end_unix_nano > parent.end_unix_nano
                            ? span.end_unix_nano - parent.end_unix_nano
                            : 0;
  if (early <= clock_skew_tolerance_ns && late <= clock_skew_tolerance_ns) return std::nullopt;
  std::string text = DescribeSpan(span);
  if (early > clock_skew_tolerance_ns) {
    text += fmt::format(" starts {} before", FormatDuration(early));
  }
  if (late > clock_skew_tolerance_ns) {
    text += fmt::format("{} ends {} after", early > clock_skew_tolerance_ns ? " and" : "",
                        FormatDuration(late));
  }
  text += fmt::format(" its parent {}", DescribeSpan(parent));
  return MakeViolation("clock-skew", span, std::move(text));
}

// Whether `span` is `ancestor` or below it, following parent ids within the trace (at most as
// many steps as the trace has spans, so a cycle of parent ids cannot loop).
bool DescendsFrom(const TraceSpans& t, const Span& span, const Span& ancestor) {
  const Span* at = &span;
  for (size_t steps = 0; steps <= t.spans.size(); ++steps) {
    if (at == &ancestor || at->span_id == ancestor.span_id) return true;
    auto parent = t.by_id.find(at->parent_span_id.value);
    if (!at->parent_span_id.IsValid() || parent == t.by_id.end()) return false;
    at = parent->second;
  }
  return false;
}

// Parents and time windows against the expected tree, where both ends arrived; per span, a wrong
// parent before a clock skew.
void CheckParentsAndTimes(const ExpectedTree& expected, const TraceSpans& t, const SpanMatch& m,
                          uint64_t clock_skew_tolerance_ns, std::vector<Violation>& violations) {
  const size_t n = expected.spans.size();
  for (size_t i = 0; i < n; ++i) {
    const Span* span = m.matched[i];
    if (span == nullptr) continue;
    const ExpectedSpan& e = expected.spans[i];
    auto actual = t.by_id.find(span->parent_span_id.value);
    const Span* actual_parent = actual == t.by_id.end() ? nullptr : actual->second;
    if (e.parent < 0 || static_cast<size_t>(e.parent) >= n) {
      if (actual_parent != nullptr) {
        violations.push_back(MakeViolation(
            "wrong-parent", *span,
            fmt::format("{} should be the root, but its parent is {}", DescribeSpan(*span),
                        DescribeSpan(*actual_parent))));
      }
      continue;
    }
    const Span* parent = m.matched[static_cast<size_t>(e.parent)];
    // A batch span links to its message instead (verifier/link_checks.h says how it fared).
    if (parent == nullptr || e.linked) continue;
    if (e.parent_external) {
      // Called by the real service: any span of it under its SERVER span is a right parent.
      if (actual_parent != nullptr && !DescendsFrom(t, *actual_parent, *parent)) {
        violations.push_back(MakeViolation(
            "wrong-parent", *span,
            fmt::format("{}'s parent is {}, expected a span of {} under {}", DescribeSpan(*span),
                        DescribeSpan(*actual_parent), e.peer, DescribeSpan(*parent))));
      }
      continue;
    }
    if (actual_parent != nullptr && actual_parent != parent) {
      // Another attempt's CLIENT span of the same call: a retry that sent a stale context.
      const std::string* parent_hop = HopOf(*actual_parent);
      std::optional<std::string> stale =
          parent_hop == nullptr ? std::nullopt
                                : DescribeOtherAttemptParent(e, *parent_hop,
                                                             actual_parent->service_name,
                                                             actual_parent->kind);
      std::string text =
          stale ? std::move(*stale)
                : fmt::format("{}'s parent is {}, expected {}", DescribeSpan(*span),
                              DescribeSpan(*actual_parent), DescribeSpan(*parent));
      // An async edge is named as its delivery: "redelivery 2 of orders:created to fulfilment".
      if (IsAsync(e)) text = DescribeAsyncEdge(expected, i) + ": " + text;
      violations.push_back(MakeViolation("wrong-parent", *span, std::move(text)));
    }
    if (e.kind != SpanKind::kServer || parent->kind != SpanKind::kClient) continue;
    if (auto skew = ClockSkewOf(e, *span, *parent, clock_skew_tolerance_ns)) {
      violations.push_back(std::move(*skew));
    }
  }
}

// The required attributes on every expected span that arrived.
void CheckExpectedAttributes(const ExpectedTree& expected, const SpanMatch& m,
                             const std::vector<AttributeExpectation>& attributes,
                             std::vector<Violation>& violations) {
  if (attributes.empty()) return;
  for (size_t i = 0; i < expected.spans.size(); ++i) {
    if (m.matched[i] == nullptr) continue;
    for (Violation& v : CheckAttributes(expected.spans[i], *m.matched[i], attributes)) {
      violations.push_back(std::move(v));
    }
  }
}

}  // namespace

std::vector<Violation> CheckTraceStructure(const ExpectedTree& expected, const LedgerEntry& entry,
                                           const std::vector<Span>& trace_spans,
                                           uint64_t clock_skew_tolerance_ns) {
  ClassifyOptions options;
  options.clock_skew_tolerance_ns = clock_skew_tolerance_ns;
  return CheckTraceStructure(expected, entry, trace_spans, options);
}

std::vector<Violation> CheckTraceStructure(const ExpectedTree& expected, const LedgerEntry& entry,
                                           const std::vector<Span>& trace_spans,
                                           const ClassifyOptions& options) {
  std::vector<Violation> violations;
  const TraceSpans t = CollectTraceSpans(entry, trace_spans);
  CheckDuplicateSpanIds(t, violations);
  SpanMatch m = MatchExpectedSpans(expected, entry, t.spans);
  std::unordered_map<const Span*, size_t> position;  // index into t.spans
  const std::vector<bool> external_root = MatchExternalServers(expected, t.spans, position, m);
  if (!external_root.empty()) ExcuseSpansBelowExternalServers(t, position, external_root, m);
  for (std::optional<Violation>& v : m.problem) {
    if (v) violations.push_back(std::move(*v));
  }
  CheckSingleRoot(t.spans, m, violations);
  CheckOrphans(expected, t, m, violations);
  CheckParentsAndTimes(expected, t, m, options.clock_skew_tolerance_ns, violations);
  CheckExpectedAttributes(expected, m, options.attributes, violations);
  return violations;
}

TraceVerdict ClassifyTrace(const ExpectedTree& expected, const LedgerEntry& entry,
                           const std::vector<Span>& trace_spans,
                           const std::vector<Span>& fragments,
                           uint64_t clock_skew_tolerance_ns) {
  ClassifyOptions options;
  options.clock_skew_tolerance_ns = clock_skew_tolerance_ns;
  return ClassifyTrace(expected, entry, trace_spans, fragments, options);
}

TraceVerdict ClassifyTrace(const ExpectedTree& expected, const LedgerEntry& entry,
                           const std::vector<Span>& trace_spans,
                           const std::vector<Span>& fragments, const ClassifyOptions& options) {
  TraceVerdict verdict;
  verdict.sequence = entry.sequence;
  verdict.trace_id = entry.trace_id;
  verdict.request_id = entry.request_id;

  const size_t n = expected.spans.size();
  std::map<SpanKey, size_t> index;
  for (size_t i = 0; i < n; ++i) {
    const ExpectedSpan& e = expected.spans[i];
    index.emplace(SpanKey{e.hop, e.kind, e.service}, i);
  }

  // Where each expected span was found: the ledger's trace id wins over any other, so a span the
  // search also returned under the right trace never looks broken.
  std::vector<std::optional<TraceId>> location(n);
  std::vector<const Span*> chosen(n, nullptr);  // the span behind location[i], for its timing
  auto place = [&](const Span& span) {
    if (!CarriesRequestId(span, entry.request_id)) return;
    const std::string* hop = HopOf(span);
    if (hop == nullptr) return;
    auto it = index.find(SpanKey{*hop, span.kind, span.service_name});
    if (it == index.end()) return;
    std::optional<TraceId>& where = location[it->second];
    if (!where || (*where != entry.trace_id && span.trace_id == entry.trace_id)) {
      where = span.trace_id;
      chosen[it->second] = &span;
    }
  };
  for (const Span& span : trace_spans) place(span);
  for (const Span& span : fragments) place(span);

  // External services' SERVER spans, by structure, under the CLIENT span found for their hop.
  std::vector<std::string> hint(n);  // what was found in place of a missing span
  std::vector<const Span*> all;
  for (size_t i = 0; i < n; ++i) {
    const ExpectedSpan& e = expected.spans[i];
    if (!IsExternalServer(e) || location[i] || e.parent < 0 ||
        static_cast<size_t>(e.parent) >= n || chosen[static_cast<size_t>(e.parent)] == nullptr) {
      continue;
    }
    if (all.empty()) {
      for (const Span& span : trace_spans) all.push_back(&span);
      for (const Span& span : fragments) all.push_back(&span);
    }
    const ExternalMatch m = FindExternalServer(e, *chosen[static_cast<size_t>(e.parent)], all);
    if (m.span != nullptr) {
      location[i] = m.span->trace_id;
      chosen[i] = m.span;
    } else if (m.other != nullptr) {
      hint[i] = OtherServiceHint(e, *m.other);
    }
  }

  // Pre-order walk: each found span is compared with its nearest found ancestor (the ledger's trace
  // id for the root). Below a break, further changes are consequences, not separate breaks.
  std::vector<TraceId> inherited(n);
  std::vector<TraceId> home(n);  // where the span belongs: the ledger's id, or the one started
  std::vector<bool> below_break(n, false);
  std::vector<bool> breaks_here(n, false);
  // Below a SERVER span whose caller recorded a timeout: the callee may have been cut off.
  std::vector<bool> given_up(n, false);
  std::vector<size_t> break_span;  // expected index of each reported break
  std::vector<std::string> missing_hints;  // per entry of verdict.missing
  size_t optional_absent = 0;
  size_t linked = 0;  // batch spans: in traces of their own, checked by their links
  bool elsewhere = false;
  for (size_t i = 0; i < n; ++i) {
    const ExpectedSpan& e = expected.spans[i];
    if (e.linked) {
      ++linked;
      location[i].reset();
      chosen[i] = nullptr;
      continue;
    }
    const bool has_parent = e.parent >= 0 && static_cast<size_t>(e.parent) < i;
    const size_t p = has_parent ? static_cast<size_t>(e.parent) : 0;
    if (!has_parent) {
      inherited[i] = home[i] = entry.trace_id;
    } else {
      inherited[i] = location[p] ? *location[p] : inherited[p];
      home[i] = home[p];
      below_break[i] = below_break[p] || breaks_here[p];
      given_up[i] = given_up[p] || (e.may_outlive_parent && chosen[p] != nullptr &&
                                    RecordsTimeout(*chosen[p]));
    }
    // A request sent without context: its entry's SERVER span roots a trace of its own.
    if (e.starts_trace && location[i] && *location[i] != entry.trace_id &&
        !chosen[i]->parent_span_id.IsValid()) {
      inherited[i] = home[i] = *location[i];
      verdict.started_trace = *location[i];
    }
    if (!location[i]) {
      if (e.optional || given_up[i]) {
        ++optional_absent;
        continue;
      }
      verdict.missing.push_back(MissingSpan{e.hop, e.service, e.name, e.kind});
      std::string why = hint[i];
      if (why.empty() && IsAsync(e)) why = DescribeAsyncEdge(expected, i);
      if (why.empty() && IsExternalServer(e) && entry.outcome != RequestOutcome::kTransportError) {
        why = fmt::format("{} is a real service: no SERVER span of it under the caller's CLIENT "
                          "span; does it export to tracerig's backend, as service.name \"{}\", "
                          "continuing the trace it was sent?",
                          e.service, e.service);
      }
      missing_hints.push_back(std::move(why));
      continue;
    }
    if (*location[i] == home[i]) {
      ++verdict.found_spans;
    } else {
      elsewhere = true;
    }
    if (*location[i] != inherited[i]) {
      breaks_here[i] = true;
      if (!below_break[i]) {
        verdict.breaks.push_back(BreakAt(e, *location[i]));
        break_span.push_back(i);
      }
    }
  }

  verdict.expected_spans = n - optional_absent - linked;
  verdict.timings.reserve(n - verdict.missing.size() - optional_absent - linked);
  for (size_t i = 0; i < n; ++i) {
    const Span* span = chosen[i];
    if (span == nullptr) continue;
    const ExpectedSpan& e = expected.spans[i];
    verdict.timings.push_back(
        SpanTiming{e.hop, e.kind, e.service, span->start_unix_nano, span->end_unix_nano});
  }

  const std::string suffix = OutcomeSuffix(entry);
  if (n == 0 && trace_spans.empty() && fragments.empty()) {
    verdict.status = TraceStatus::kComplete;
    verdict.explanation = fmt::format(
        "no span expected (nothing of request {} was sampled) and none found under trace {}{}",
        FormatRequestId(entry.request_id), entry.trace_id.ToHex(), suffix);
  } else if (trace_spans.empty() && fragments.empty()) {
    verdict.status = TraceStatus::kMissing;
    verdict.explanation = fmt::format(
        "no span of request {} found: nothing under trace {} and nothing with its request id "
        "elsewhere{}",
        FormatRequestId(entry.request_id), entry.trace_id.ToHex(), suffix);
  } else if (verdict.missing.empty() && !elsewhere) {
    verdict.status = TraceStatus::kComplete;
    const std::string absent =
        optional_absent == 0
            ? std::string()
            : fmt::format(" ({} optional span{} absent)", optional_absent,
                          optional_absent == 1 ? "" : "s");
    verdict.explanation =
        verdict.started_trace.IsValid()
            ? fmt::format("all {} expected spans found: the driver's under trace {}, the rest "
                          "under trace {}, which the entry started (the request carried no "
                          "trace context){}{}",
                          verdict.expected_spans, entry.trace_id.ToHex(),
                          verdict.started_trace.ToHex(), absent, suffix)
            : fmt::format("all {} expected spans found under trace {}{}{}",
                          verdict.expected_spans, entry.trace_id.ToHex(), absent, suffix);
  } else if (elsewhere) {
    verdict.status = TraceStatus::kBroken;
    std::string text = verdict.breaks.size() == 1
                           ? "trace id changed "
                           : fmt::format("trace id changed at {} edges: ", verdict.breaks.size());
    for (size_t b = 0; b < verdict.breaks.size(); ++b) {
      if (b > 0) text += "; ";
      text += DescribeBreak(verdict.breaks[b], expected, break_span[b], entry.trace_id);
    }
    if (!verdict.missing.empty()) {
      text += fmt::format("; also missing: {}", DescribeMissing(verdict.missing, missing_hints));
    }
    verdict.explanation = text + suffix;
  } else {
    verdict.status = TraceStatus::kIncomplete;
    verdict.explanation =
        fmt::format("{} of {} expected spans missing: {}{}", verdict.missing.size(),
                    verdict.expected_spans, DescribeMissing(verdict.missing, missing_hints),
                    suffix);
  }
  verdict.violations = CheckTraceStructure(expected, entry, trace_spans, options);
  if (verdict.started_trace.IsValid()) {
    // The entry's own trace has a structure of its own to check.
    LedgerEntry own = entry;
    own.trace_id = verdict.started_trace;
    for (Violation& v : CheckTraceStructure(expected, own, fragments, options)) {
      verdict.violations.push_back(std::move(v));
    }
  }
  return verdict;
}

}  // namespace tracerig
