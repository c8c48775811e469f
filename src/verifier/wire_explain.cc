// Explanations from the wire: what simulated services received, quoted into verdicts.
#include "verifier/wire_explain.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>
#include <utility>

#include "core/ledger.h"
#include "verifier/async_edges.h"

namespace tracerig {
namespace {

// Missing SERVER spans whose arrival is quoted, per verdict (as many as an explanation names).
constexpr size_t kMissingQuoted = 4;

bool Quotes(std::string_view kind) {
  return kind == "orphan" || kind == "wrong-parent" || kind == "multiple-roots";
}

}  // namespace

std::string DescribeReceived(const WireObservation& o, const std::vector<std::string>& formats,
                             std::optional<TraceId> expected, std::string_view from) {
  std::string text =
      from.empty() ? fmt::format("{} received {}", o.service, o.DescribeHeaders(formats))
                   : fmt::format("{} received from {}: {}", o.service, from,
                                 o.DescribeHeaders(formats));
  if (!o.has_context) {
    const bool readable_header_arrived =
        std::any_of(formats.begin(), formats.end(), [&](const std::string& format) {
          const std::string_view header = WireLog::IdHeaderOf(format);
          return !header.empty() && std::any_of(o.headers.begin(), o.headers.end(),
                                                [&](const auto& h) { return h.first == header; });
        });
    if (readable_header_arrived) text += " which it could not read";
    return text;
  }
  std::vector<std::string> read;
  if (expected && o.trace_id != *expected) {
    read.push_back(fmt::format("trace id {} (expected {})", o.trace_id.ToHex(), expected->ToHex()));
  }
  if (!o.sampled) read.emplace_back("the sampled flag off");
  if (!read.empty()) text += fmt::format(" with {}", fmt::join(read, " and "));
  return text;
}

std::string DescribeReceived(const WireLog& log, const Scenario& scenario, uint64_t request_id,
                             std::string_view hop, std::string_view service,
                             std::optional<TraceId> expected, std::string_view from) {
  const Service* receiver = scenario.FindService(service);
  if (receiver == nullptr || receiver->IsExternal()) return "";
  const std::optional<WireObservation> o = log.Find(FormatRequestId(request_id), hop, service);
  if (!o) return "";
  return DescribeReceived(*o, receiver->extract, expected, from);
}

void AddWireExplanations(const WireLog& log, const Scenario& scenario, const LedgerEntry& entry,
                         TraceVerdict& verdict) {
  for (Violation& v : verdict.violations) {
    if (!Quotes(v.kind) || v.hop.empty()) continue;
    const std::string received =
        DescribeReceived(log, scenario, entry.request_id, v.hop, v.service, entry.trace_id);
    if (!received.empty()) v.explanation += "; " + received;
  }
  if (verdict.status != TraceStatus::kBroken && verdict.status != TraceStatus::kIncomplete) {
    return;
  }
  std::set<std::pair<std::string, std::string>> said;  // (hop, service)
  auto say = [&](const std::string& hop, const std::string& service,
                 std::optional<TraceId> expected, std::string_view from) {
    if (!said.emplace(hop, service).second) return;
    const std::string received =
        DescribeReceived(log, scenario, entry.request_id, hop, service, expected, from);
    // The checks below a real service may have quoted the same arrival already.
    if (!received.empty() && verdict.explanation.find(received) == std::string::npos) {
      verdict.explanation += "; " + received;
    }
  };
  // A topmost break sits below spans all under the ledger's trace id: the callee should have
  // received that one.
  for (const PropagationBreak& b : verdict.breaks) {
    say(b.hop, b.callee, entry.trace_id, b.destination);
  }
  // Below a break the trace id a missing span's service should have received is not known.
  const std::optional<TraceId> expected =
      verdict.breaks.empty() ? std::optional<TraceId>(entry.trace_id) : std::nullopt;
  size_t quoted = 0;
  for (const MissingSpan& m : verdict.missing) {
    if (m.kind != SpanKind::kServer && m.kind != SpanKind::kConsumer) continue;
    if (quoted++ == kMissingQuoted) break;
    say(m.hop, m.service, expected,
        m.kind == SpanKind::kConsumer ? DestinationOfSpanName(m.name) : std::string_view());
  }
}

}  // namespace tracerig
