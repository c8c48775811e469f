#include "verifier/classify.h"

#include <fmt/format.h>

#include <map>
#include <optional>
#include <tuple>

namespace tracerig {
namespace {

// How many missing spans an explanation names before summarising the rest.
constexpr size_t kMissingNamedInExplanation = 4;

using SpanKey = std::tuple<std::string_view, SpanKind, std::string_view>;  // hop, kind, service

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

const std::string* HopOf(const Span& span) {
  const AttributeValue* value = span.FindAttribute(kHopAttribute);
  return value == nullptr ? nullptr : std::get_if<std::string>(value);
}

// The services on both sides of the edge an expected span belongs to.
PropagationBreak BreakAt(const ExpectedSpan& span, TraceId found_under) {
  PropagationBreak b;
  b.hop = span.hop;
  if (span.kind == SpanKind::kServer) {
    b.caller = span.peer;
    b.callee = span.service;
  } else {
    b.caller = span.service;
    b.callee = span.peer;
  }
  b.found_under = found_under;
  return b;
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

std::string DescribeMissing(const std::vector<MissingSpan>& missing) {
  std::string text;
  for (size_t i = 0; i < missing.size() && i < kMissingNamedInExplanation; ++i) {
    const MissingSpan& m = missing[i];
    if (i > 0) text += ", ";
    text += fmt::format("{} {} {} (hop {})", m.service, SpanKindName(m.kind), m.name, m.hop);
  }
  if (missing.size() > kMissingNamedInExplanation) {
    text += fmt::format(", and {} more", missing.size() - kMissingNamedInExplanation);
  }
  return text;
}

std::string DescribeBreak(const PropagationBreak& b, const ExpectedSpan& span) {
  return fmt::format("between {} and {} at hop {}: {}'s span is under trace {}", b.caller, b.callee,
                     b.hop, span.service, b.found_under.ToHex());
}

}  // namespace

std::string_view TraceStatusName(TraceStatus status) {
  switch (status) {
    case TraceStatus::kComplete:
      return "complete";
    case TraceStatus::kIncomplete:
      return "incomplete";
    case TraceStatus::kBroken:
      return "broken";
    case TraceStatus::kMissing:
      return "missing";
  }
  return "unknown";
}

TraceVerdict ClassifyTrace(const ExpectedTree& expected, const LedgerEntry& entry,
                           const std::vector<Span>& trace_spans,
                           const std::vector<Span>& fragments) {
  TraceVerdict verdict;
  verdict.sequence = entry.sequence;
  verdict.trace_id = entry.trace_id;
  verdict.request_id = entry.request_id;
  verdict.expected_spans = expected.spans.size();

  const size_t n = expected.spans.size();
  std::map<SpanKey, size_t> index;
  for (size_t i = 0; i < n; ++i) {
    const ExpectedSpan& e = expected.spans[i];
    index.emplace(SpanKey{e.hop, e.kind, e.service}, i);
  }

  // Where each expected span was found: the ledger's trace id wins over any other, so a span the
  // search also returned under the right trace never looks broken.
  std::vector<std::optional<TraceId>> location(n);
  auto place = [&](const Span& span) {
    if (!CarriesRequestId(span, entry.request_id)) return;
    const std::string* hop = HopOf(span);
    if (hop == nullptr) return;
    auto it = index.find(SpanKey{*hop, span.kind, span.service_name});
    if (it == index.end()) return;
    std::optional<TraceId>& where = location[it->second];
    if (!where || (*where != entry.trace_id && span.trace_id == entry.trace_id)) {
      where = span.trace_id;
    }
  };
  for (const Span& span : trace_spans) place(span);
  for (const Span& span : fragments) place(span);

  // Pre-order walk: each found span is compared with its nearest found ancestor (the ledger's trace
  // id for the root). Below a break, further changes are consequences, not separate breaks.
  std::vector<TraceId> inherited(n);
  std::vector<bool> below_break(n, false);
  std::vector<bool> breaks_here(n, false);
  std::vector<size_t> break_span;  // expected index of each reported break
  bool elsewhere = false;
  for (size_t i = 0; i < n; ++i) {
    const ExpectedSpan& e = expected.spans[i];
    const bool has_parent = e.parent >= 0 && static_cast<size_t>(e.parent) < i;
    const size_t p = has_parent ? static_cast<size_t>(e.parent) : 0;
    if (!has_parent) {
      inherited[i] = entry.trace_id;
    } else {
      inherited[i] = location[p] ? *location[p] : inherited[p];
      below_break[i] = below_break[p] || breaks_here[p];
    }
    if (!location[i]) {
      verdict.missing.push_back(MissingSpan{e.hop, e.service, e.name, e.kind});
      continue;
    }
    if (*location[i] == entry.trace_id) {
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

  const std::string suffix = OutcomeSuffix(entry);
  if (trace_spans.empty() && fragments.empty()) {
    verdict.status = TraceStatus::kMissing;
    verdict.explanation = fmt::format(
        "no span of request {} found: nothing under trace {} and nothing with its request id "
        "elsewhere{}",
        FormatRequestId(entry.request_id), entry.trace_id.ToHex(), suffix);
  } else if (verdict.missing.empty() && !elsewhere) {
    verdict.status = TraceStatus::kComplete;
    verdict.explanation = fmt::format("all {} expected spans found under trace {}{}", n,
                                      entry.trace_id.ToHex(), suffix);
  } else if (elsewhere) {
    verdict.status = TraceStatus::kBroken;
    std::string text = verdict.breaks.size() == 1
                           ? "trace id changed "
                           : fmt::format("trace id changed at {} edges: ", verdict.breaks.size());
    for (size_t b = 0; b < verdict.breaks.size(); ++b) {
      if (b > 0) text += "; ";
      text += DescribeBreak(verdict.breaks[b], expected.spans[break_span[b]]);
    }
    if (!verdict.missing.empty()) {
      text += fmt::format("; also missing: {}", DescribeMissing(verdict.missing));
    }
    verdict.explanation = text + suffix;
  } else {
    verdict.status = TraceStatus::kIncomplete;
    verdict.explanation =
        fmt::format("{} of {} expected spans missing: {}{}", verdict.missing.size(), n,
                    DescribeMissing(verdict.missing), suffix);
  }
  return verdict;
}

}  // namespace tracerig
