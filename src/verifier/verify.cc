#include "verifier/verify.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <thread>
#include <tuple>
#include <utility>

#include "topology/expected_tree.h"

namespace tracerig {
namespace {

// Fragments are searched this far around the request's own times: spans of a broken trace start
// within the request, but backends index by a span's start time, which clock skew can move.
constexpr uint64_t kFragmentWindowNs = 60'000'000'000ull;
constexpr uint64_t kNanosPerMicro = 1000;

struct TraceState {
  size_t ledger_index = 0;
  const ExpectedTree* tree = nullptr;
  std::vector<Span> spans;  // from the latest poll
  bool polled = false;
  bool settled = false;
  size_t last_count = 0;
  int same_count_polls = 0;  // consecutive polls that saw last_count
  uint64_t last_change_ns = 0;
};

// Runs `call` until it succeeds or fails max_backend_errors times in a row.
template <typename Call>
auto WithRetries(Call&& call, const VerifyOptions& options, Sleeper& sleeper, uint64_t& requests)
    -> decltype(call()) {
  const int attempts = std::max(1, options.max_backend_errors);
  for (int failures = 0;;) {
    ++requests;
    auto result = call();
    if (result) return result;
    if (++failures >= attempts) {
      return MakeError(fmt::format("backend unreachable: {}", result.error().message));
    }
    sleeper.SleepFor(options.poll_interval_ns);
  }
}

// Orders spans so that duplicates (the same span returned by two searches) sit together.
auto SpanIdentity(const Span& s) {
  return std::tie(s.trace_id, s.span_id, s.service_name, s.kind, s.start_unix_nano);
}

}  // namespace

void ThreadSleeper::SleepFor(uint64_t nanos) {
  std::this_thread::sleep_for(std::chrono::nanoseconds(nanos));
}

Result<VerificationSummary> VerifyLedger(const Scenario& scenario, const Ledger& ledger,
                                         BackendClient& backend, const VerifyOptions& options,
                                         const Clock& clock, Sleeper& sleeper,
                                         std::function<void(size_t done, size_t total)> progress) {
  VerificationSummary summary;
  const uint64_t start_ns = clock.NowMonotonicNano();
  auto elapsed = [&] { return clock.NowMonotonicNano() - start_ns; };

  // One expected tree per load entry, built on first use.
  std::vector<std::optional<ExpectedTree>> trees(scenario.load.entries.size());
  std::vector<TraceState> states;
  for (size_t i = 0; i < ledger.size(); ++i) {
    const LedgerEntry& entry = ledger[i];
    if (entry.entry >= scenario.load.entries.size()) {
      return MakeError(fmt::format(
          "ledger entry {} names load entry {}, but scenario \"{}\" has {} load entries",
          entry.sequence, entry.entry, scenario.name, scenario.load.entries.size()));
    }
    if (!entry.sampled) {
      ++summary.skipped_unsampled;
      continue;
    }
    std::optional<ExpectedTree>& tree = trees[entry.entry];
    if (!tree) tree = BuildExpectedTree(scenario, scenario.load.entries[entry.entry]);
    TraceState state;
    state.ledger_index = i;
    state.tree = &*tree;
    states.push_back(std::move(state));
  }
  const size_t total = states.size();
  size_t settled = 0;
  auto report_progress = [&] {
    if (progress) progress(settled, total);
  };

  // Poll in rounds. The first round always visits every trace, so each one is asked at least once
  // however short the deadline.
  std::vector<TraceState*> pending;
  for (TraceState& s : states) pending.push_back(&s);
  for (bool first_round = true; !pending.empty(); first_round = false) {
    const uint64_t round_start = elapsed();
    bool polled_any = false;
    for (TraceState* s : pending) {
      if (!first_round && elapsed() >= options.deadline_ns) {
        summary.deadline_hit = true;
        break;
      }
      polled_any = true;
      const LedgerEntry& entry = ledger[s->ledger_index];
      auto trace = WithRetries([&] { return backend.GetTrace(entry.trace_id); }, options, sleeper,
                               summary.backend_requests);
      if (!trace) return trace.error();
      s->spans = trace->has_value() ? std::move(**trace) : std::vector<Span>{};
      const size_t count = s->spans.size();
      const uint64_t now = elapsed();
      if (!s->polled || count != s->last_count) {
        s->polled = true;
        s->last_count = count;
        s->same_count_polls = 1;
        s->last_change_ns = now;
      } else {
        ++s->same_count_polls;
      }
      if (s->same_count_polls >= options.stable_polls &&
          (count >= s->tree->spans.size() ||
           now - s->last_change_ns >= options.settle_incomplete_ns)) {
        s->settled = true;
        ++settled;
        report_progress();
      }
    }
    if (polled_any) ++summary.polls;
    std::erase_if(pending, [](const TraceState* s) { return s->settled; });
    if (pending.empty() || summary.deadline_hit) break;
    const uint64_t now = elapsed();
    if (now >= options.deadline_ns) {
      summary.deadline_hit = true;
      break;
    }
    // Rounds start poll_interval apart, never past the deadline.
    const uint64_t round_took = now - round_start;
    uint64_t wait =
        round_took < options.poll_interval_ns ? options.poll_interval_ns - round_took : 0;
    wait = std::min(wait, options.deadline_ns - now);
    if (wait > 0) sleeper.SleepFor(wait);
  }

  // Classify in ledger order; for traces that are not complete, search each service that still
  // has missing spans for spans with the request id under other trace ids. One search often finds
  // a whole broken subtree, so the verdict is recomputed after each.
  std::map<std::tuple<std::string, std::string, std::string>, size_t> edge_counts;
  std::map<TraceStatus, size_t> examples_per_status;
  const std::string_view key = kRequestIdAttribute;
  for (TraceState& s : states) {
    const LedgerEntry& entry = ledger[s.ledger_index];
    const std::string request_id = FormatRequestId(entry.request_id);
    // Times the driver did not record are 0; they must not widen the window back to 1970.
    uint64_t first_ns = UINT64_MAX;
    uint64_t last_ns = 0;
    for (uint64_t t : {entry.intended_unix_nano, entry.start_unix_nano, entry.end_unix_nano}) {
      if (t == 0) continue;
      first_ns = std::min(first_ns, t);
      last_ns = std::max(last_ns, t);
    }
    if (last_ns == 0) first_ns = 0;
    const uint64_t window_start =
        (first_ns > kFragmentWindowNs ? first_ns - kFragmentWindowNs : 0) / kNanosPerMicro;
    const uint64_t window_end = (last_ns + kFragmentWindowNs) / kNanosPerMicro;

    std::vector<Span> fragments;
    std::set<std::string> searched;
    TraceVerdict verdict;
    for (;;) {
      verdict = ClassifyTrace(*s.tree, entry, s.spans, fragments);
      if (verdict.status == TraceStatus::kComplete) break;
      auto next = std::find_if(verdict.missing.begin(), verdict.missing.end(),
                               [&](const MissingSpan& m) { return !searched.contains(m.service); });
      if (next == verdict.missing.end()) break;
      const std::string service = next->service;
      searched.insert(service);
      auto found = WithRetries(
          [&] { return backend.FindSpans(service, key, request_id, window_start, window_end); },
          options, sleeper, summary.backend_requests);
      if (!found) return found.error();
      for (Span& span : *found) fragments.push_back(std::move(span));
      std::sort(fragments.begin(), fragments.end(),
                [](const Span& a, const Span& b) { return SpanIdentity(a) < SpanIdentity(b); });
      fragments.erase(std::unique(fragments.begin(), fragments.end(),
                                  [](const Span& a, const Span& b) {
                                    return SpanIdentity(a) == SpanIdentity(b);
                                  }),
                      fragments.end());
    }

    ++summary.checked;
    switch (verdict.status) {
      case TraceStatus::kComplete:
        ++summary.complete;
        break;
      case TraceStatus::kIncomplete:
        ++summary.incomplete;
        break;
      case TraceStatus::kBroken:
        ++summary.broken;
        break;
      case TraceStatus::kMissing:
        ++summary.missing;
        break;
    }
    for (const PropagationBreak& b : verdict.breaks) ++edge_counts[{b.hop, b.caller, b.callee}];
    if (verdict.status != TraceStatus::kComplete &&
        examples_per_status[verdict.status]++ < options.max_examples) {
      summary.examples.push_back(std::move(verdict));
    }
  }
  if (settled < total) {
    settled = total;
    report_progress();
  }

  for (const auto& [edge, count] : edge_counts) {
    const auto& [hop, caller, callee] = edge;
    summary.break_edges.push_back(BreakEdgeCount{hop, caller, callee, count});
  }
  std::stable_sort(
      summary.break_edges.begin(), summary.break_edges.end(),
      [](const BreakEdgeCount& a, const BreakEdgeCount& b) { return a.traces > b.traces; });
  summary.elapsed_ns = elapsed();
  return summary;
}

}  // namespace tracerig
