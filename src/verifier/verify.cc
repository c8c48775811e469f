#include "verifier/verify.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <queue>
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
constexpr double kNanosPerSecond = 1e9;

using ProgressFn = std::function<void(size_t done, size_t total)>;

// What a worker keeps per trace: no spans (a poll's spans are classified at once or dropped), which
// is what bounds memory per ledger entry.
struct TraceState {
  uint64_t last_change_ns = 0;
  uint32_t ledger_index = 0;
  uint32_t last_count = 0;
  uint16_t same_count_polls = 0;  // consecutive polls that saw last_count
  bool polled = false;
};
static_assert(sizeof(TraceState) <= 24, "keep per-trace state small (issue 6: <= ~200 B/entry)");

// Keeps the `limit` verdicts with the lowest sequence numbers, whatever order they come in.
class FirstVerdicts {
 public:
  void Offer(const TraceVerdict& verdict, size_t limit) {
    if (limit == 0) return;
    if (kept_.size() >= limit && kept_.back().sequence < verdict.sequence) return;
    auto at = std::upper_bound(
        kept_.begin(), kept_.end(), verdict.sequence,
        [](uint64_t seq, const TraceVerdict& v) { return seq < v.sequence; });
    kept_.insert(at, verdict);
    if (kept_.size() > limit) kept_.pop_back();
  }
  const std::vector<TraceVerdict>& kept() const { return kept_; }

 private:
  std::vector<TraceVerdict> kept_;  // by sequence
};

// One worker's results, merged at the end (no shared mutable state while verifying).
struct PartialSummary {
  VerificationSummary counts;  // counters only
  std::map<std::tuple<std::string, std::string, std::string>, size_t> edge_counts;
  std::map<TraceStatus, FirstVerdicts> examples;
  std::map<std::string, FirstVerdicts> violation_examples;
  std::optional<Error> error;
};

// Shared between workers: the first error stops everyone; progress is reported under a lock.
struct SharedRun {
  std::atomic<bool> abort{false};
  std::mutex progress_mu;
  size_t settled = 0;
  size_t total = 0;
  ProgressFn progress;

  void Settled() {
    std::lock_guard lock(progress_mu);
    ++settled;
    if (progress) progress(settled, total);
  }
};

struct Inputs {
  const Ledger& ledger;
  const std::vector<std::optional<ExpectedTree>>& trees;
  const VerifyOptions& options;
  const Clock& clock;
  Sleeper& sleeper;
  uint64_t start_ns;
};

// Orders spans so that duplicates (the same span returned by two searches) sit together.
auto SpanIdentity(const Span& s) {
  return std::tie(s.trace_id, s.span_id, s.service_name, s.kind, s.start_unix_nano);
}

// Polls and classifies its share of the traces with its own client. Single-threaded.
class Worker {
 public:
  Worker(const Inputs& in, SharedRun& shared, BackendClient& backend, size_t workers)
      : in_(in), shared_(shared), backend_(backend) {
    if (in.options.max_requests_per_second > 0) {
      request_gap_ns_ = static_cast<uint64_t>(static_cast<double>(workers) * kNanosPerSecond /
                                              in.options.max_requests_per_second);
    }
  }

  void Add(uint32_t ledger_index) {
    TraceState state;
    state.ledger_index = ledger_index;
    states_.push_back(std::move(state));
  }

  PartialSummary Run() {
    const VerifyOptions& options = in_.options;
    // Earliest next poll first; equal times in ledger order. The first poll of every trace is due
    // at 0, so all traces are asked once, in order, before any repoll.
    using Due = std::pair<uint64_t, uint32_t>;  // next poll time, index into states_
    std::priority_queue<Due, std::vector<Due>, std::greater<>> queue;
    for (uint32_t i = 0; i < states_.size(); ++i) queue.emplace(0, i);
    size_t unpolled = states_.size();
    while (!queue.empty() && !shared_.abort.load(std::memory_order_relaxed)) {
      const auto [due, i] = queue.top();
      uint64_t now = Elapsed();
      if (unpolled == 0 && now >= options.deadline_ns) {
        result_.counts.deadline_hit = true;
        break;
      }
      if (due > now) {
        in_.sleeper.SleepFor(std::min(due, options.deadline_ns) - now);
        continue;
      }
      queue.pop();
      TraceState& s = states_[i];
      const LedgerEntry& entry = in_.ledger[s.ledger_index];
      std::vector<Span> spans;
      if (!Poll(entry, spans)) return std::move(result_);
      if (!s.polled) --unpolled;
      const size_t count = spans.size();
      const size_t expected = TreeOf(s).spans.size();
      now = Elapsed();
      if (!s.polled || count != s.last_count) {
        s.polled = true;
        s.last_count = static_cast<uint32_t>(count);
        s.same_count_polls = 1;
        s.last_change_ns = now;
      } else if (s.same_count_polls < UINT16_MAX) {
        ++s.same_count_polls;
      }
      const bool full = count >= expected;
      if (s.same_count_polls >= options.stable_polls &&
          (full || now - s.last_change_ns >= options.settle_incomplete_ns)) {
        shared_.Settled();
        if (!Finish(s, spans)) return std::move(result_);
        continue;
      }
      queue.emplace(now + (full ? options.min_repoll_interval_ns : options.poll_interval_ns), i);
    }
    if (shared_.abort.load()) return std::move(result_);
    // Past the deadline: one last poll of each pending trace (spans are not kept between polls),
    // classified as it stands, in ledger order.
    std::vector<uint32_t> rest;
    while (!queue.empty()) {
      rest.push_back(queue.top().second);
      queue.pop();
    }
    std::sort(rest.begin(), rest.end());
    for (uint32_t i : rest) {
      std::vector<Span> spans;
      if (!Poll(in_.ledger[states_[i].ledger_index], spans) || !Finish(states_[i], spans)) break;
    }
    return std::move(result_);
  }

 private:
  uint64_t Elapsed() const { return in_.clock.NowMonotonicNano() - in_.start_ns; }
  const ExpectedTree& TreeOf(const TraceState& s) const {
    return *in_.trees[in_.ledger[s.ledger_index].entry];
  }

  // GetTrace with retries; "not found" is no spans. False on failure (the error is recorded).
  bool Poll(const LedgerEntry& entry, std::vector<Span>& spans) {
    auto trace = WithRetries([&] { return backend_.GetTrace(entry.trace_id); });
    if (!trace) {
      Fail(trace.error());
      return false;
    }
    ++result_.counts.polls;
    if (trace->has_value()) spans = std::move(**trace);
    return true;
  }

  void Fail(const Error& error) {
    result_.error = error;
    shared_.abort.store(true);
  }

  // Keeps the worker's share of max_requests_per_second.
  void Pace() {
    if (request_gap_ns_ == 0) return;
    const uint64_t now = Elapsed();
    if (next_request_ns_ > now) in_.sleeper.SleepFor(next_request_ns_ - now);
    next_request_ns_ = std::max(now, next_request_ns_) + request_gap_ns_;
  }

  // Runs `call` until it succeeds or fails max_backend_errors times in a row, backing off.
  template <typename Call>
  auto WithRetries(Call&& call) -> decltype(call()) {
    const VerifyOptions& options = in_.options;
    const int attempts = std::max(1, options.max_backend_errors);
    uint64_t backoff = options.error_backoff_ns;
    for (int failures = 0;;) {
      Pace();
      ++result_.counts.backend_requests;
      auto result = call();
      if (result) return result;
      if (++failures >= attempts || shared_.abort.load(std::memory_order_relaxed)) {
        return MakeError(fmt::format("backend unreachable: {}", result.error().message));
      }
      in_.sleeper.SleepFor(backoff);
      backoff = std::min(backoff * 2, std::max(options.error_backoff_max_ns, backoff));
    }
  }

  // Classifies a trace from its last poll; for one that is not complete, searches each service
  // that still has missing spans for spans with the request id under other trace ids. One search
  // often finds a whole broken subtree, so the verdict is recomputed after each. False when a
  // search failed (the error is recorded).
  bool Finish(const TraceState& s, const std::vector<Span>& spans) {
    const LedgerEntry& entry = in_.ledger[s.ledger_index];
    const ExpectedTree& tree = TreeOf(s);
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
    const uint64_t tolerance = in_.options.clock_skew_tolerance_ns;
    for (;;) {
      verdict = ClassifyTrace(tree, entry, spans, fragments, tolerance);
      if (verdict.status == TraceStatus::kComplete) break;
      auto next = std::find_if(verdict.missing.begin(), verdict.missing.end(),
                               [&](const MissingSpan& m) { return !searched.contains(m.service); });
      if (next == verdict.missing.end()) break;
      const std::string service = next->service;
      searched.insert(service);
      auto found = WithRetries([&] {
        return backend_.FindSpans(service, kRequestIdAttribute, request_id, window_start,
                                  window_end);
      });
      if (!found) {
        Fail(found.error());
        return false;
      }
      for (Span& span : *found) fragments.push_back(std::move(span));
      std::sort(fragments.begin(), fragments.end(),
                [](const Span& a, const Span& b) { return SpanIdentity(a) < SpanIdentity(b); });
      fragments.erase(std::unique(fragments.begin(), fragments.end(),
                                  [](const Span& a, const Span& b) {
                                    return SpanIdentity(a) == SpanIdentity(b);
                                  }),
                      fragments.end());
    }
    Record(verdict);
    return true;
  }

  void Record(const TraceVerdict& verdict) {
    VerificationSummary& c = result_.counts;
    ++c.checked;
    switch (verdict.status) {
      case TraceStatus::kComplete:
        ++c.complete;
        break;
      case TraceStatus::kIncomplete:
        ++c.incomplete;
        break;
      case TraceStatus::kBroken:
        ++c.broken;
        break;
      case TraceStatus::kMissing:
        ++c.missing;
        break;
    }
    for (const PropagationBreak& b : verdict.breaks) {
      ++result_.edge_counts[{b.hop, b.caller, b.callee}];
    }
    if (verdict.status != TraceStatus::kComplete) {
      result_.examples[verdict.status].Offer(verdict, in_.options.max_examples);
    }
    if (verdict.violations.empty()) return;
    ++c.traces_with_violations;
    std::set<std::string_view> kinds;
    for (const Violation& v : verdict.violations) kinds.insert(v.kind);
    for (std::string_view kind : kinds) {
      ++c.violation_counts[std::string(kind)];
      result_.violation_examples[std::string(kind)].Offer(verdict, in_.options.max_examples);
    }
  }

  const Inputs& in_;
  SharedRun& shared_;
  BackendClient& backend_;
  std::vector<TraceState> states_;
  PartialSummary result_;
  uint64_t request_gap_ns_ = 0;
  uint64_t next_request_ns_ = 0;
};

// Merges the workers' results into one summary, examples in ledger order.
Result<VerificationSummary> Merge(std::vector<PartialSummary>& parts, size_t skipped,
                                  size_t max_examples) {
  for (PartialSummary& p : parts) {
    if (p.error) return *p.error;
  }
  VerificationSummary summary;
  summary.skipped_unsampled = skipped;
  std::map<std::tuple<std::string, std::string, std::string>, size_t> edge_counts;
  std::map<TraceStatus, FirstVerdicts> examples;
  std::map<std::string, FirstVerdicts> violation_examples;
  for (PartialSummary& p : parts) {
    const VerificationSummary& c = p.counts;
    summary.checked += c.checked;
    summary.complete += c.complete;
    summary.incomplete += c.incomplete;
    summary.broken += c.broken;
    summary.missing += c.missing;
    summary.polls += c.polls;
    summary.backend_requests += c.backend_requests;
    summary.deadline_hit = summary.deadline_hit || c.deadline_hit;
    summary.traces_with_violations += c.traces_with_violations;
    for (const auto& [kind, n] : c.violation_counts) summary.violation_counts[kind] += n;
    for (const auto& [edge, n] : p.edge_counts) edge_counts[edge] += n;
    for (const auto& [status, first] : p.examples) {
      for (const TraceVerdict& v : first.kept()) examples[status].Offer(v, max_examples);
    }
    for (const auto& [kind, first] : p.violation_examples) {
      for (const TraceVerdict& v : first.kept()) violation_examples[kind].Offer(v, max_examples);
    }
  }
  for (const auto& [status, first] : examples) {
    for (const TraceVerdict& v : first.kept()) summary.examples.push_back(v);
  }
  std::set<uint64_t> seen;
  for (const auto& [kind, first] : violation_examples) {
    for (const TraceVerdict& v : first.kept()) {
      if (seen.insert(v.sequence).second) summary.violation_examples.push_back(v);
    }
  }
  auto by_sequence = [](const TraceVerdict& a, const TraceVerdict& b) {
    return a.sequence < b.sequence;
  };
  std::stable_sort(summary.examples.begin(), summary.examples.end(), by_sequence);
  std::stable_sort(summary.violation_examples.begin(), summary.violation_examples.end(),
                   by_sequence);

  for (const auto& [edge, count] : edge_counts) {
    const auto& [hop, caller, callee] = edge;
    summary.break_edges.push_back(BreakEdgeCount{hop, caller, callee, count});
  }
  std::stable_sort(
      summary.break_edges.begin(), summary.break_edges.end(),
      [](const BreakEdgeCount& a, const BreakEdgeCount& b) { return a.traces > b.traces; });
  return summary;
}

// Both overloads: `backend` is used when given (one worker), else `make_client` per worker.
Result<VerificationSummary> Verify(const Scenario& scenario, const Ledger& ledger,
                                   BackendClient* backend, const BackendClientFactory* make_client,
                                   const VerifyOptions& options, const Clock& clock,
                                   Sleeper& sleeper, ProgressFn progress) {
  const uint64_t start_ns = clock.NowMonotonicNano();
  if (ledger.size() > UINT32_MAX) {
    return MakeError(fmt::format("ledger has {} entries; at most {} can be verified in one run",
                                 ledger.size(), UINT32_MAX));
  }
  // One expected tree per load entry, built on first use.
  std::vector<std::optional<ExpectedTree>> trees(scenario.load.entries.size());
  std::vector<uint32_t> sampled;
  size_t skipped = 0;
  for (size_t i = 0; i < ledger.size(); ++i) {
    const LedgerEntry& entry = ledger[i];
    if (entry.entry >= scenario.load.entries.size()) {
      return MakeError(fmt::format(
          "ledger entry {} names load entry {}, but scenario \"{}\" has {} load entries",
          entry.sequence, entry.entry, scenario.name, scenario.load.entries.size()));
    }
    if (!entry.sampled) {
      ++skipped;
      continue;
    }
    std::optional<ExpectedTree>& tree = trees[entry.entry];
    if (!tree) tree = BuildExpectedTree(scenario, scenario.load.entries[entry.entry]);
    sampled.push_back(static_cast<uint32_t>(i));
  }

  SharedRun shared;
  shared.total = sampled.size();
  shared.progress = std::move(progress);
  const Inputs inputs{ledger, trees, options, clock, sleeper, start_ns};
  size_t workers = 1;
  if (backend == nullptr) {
    workers = std::max<size_t>(1, std::min(options.concurrency, sampled.size()));
  }
  std::vector<std::unique_ptr<BackendClient>> clients;
  std::vector<std::unique_ptr<Worker>> pool;
  for (size_t w = 0; w < workers; ++w) {
    BackendClient* client = backend;
    if (client == nullptr) {
      clients.push_back((*make_client)());
      if (!clients.back()) return MakeError("verifier: the backend client factory returned null");
      client = clients.back().get();
    }
    pool.push_back(std::make_unique<Worker>(inputs, shared, *client, workers));
  }
  for (size_t k = 0; k < sampled.size(); ++k) pool[k % workers]->Add(sampled[k]);

  std::vector<PartialSummary> parts(workers);
  if (workers == 1) {
    parts[0] = pool[0]->Run();
  } else {
    std::vector<std::thread> threads;
    threads.reserve(workers);
    for (size_t w = 0; w < workers; ++w) {
      threads.emplace_back([&, w] { parts[w] = pool[w]->Run(); });
    }
    for (std::thread& t : threads) t.join();
  }
  auto summary = Merge(parts, skipped, options.max_examples);
  if (!summary) return summary;
  {
    std::lock_guard lock(shared.progress_mu);
    if (shared.settled < shared.total && shared.progress) {
      shared.progress(shared.total, shared.total);
    }
  }
  summary->elapsed_ns = clock.NowMonotonicNano() - start_ns;
  return summary;
}

}  // namespace

void ThreadSleeper::SleepFor(uint64_t nanos) {
  std::this_thread::sleep_for(std::chrono::nanoseconds(nanos));
}

Result<VerificationSummary> VerifyLedger(const Scenario& scenario, const Ledger& ledger,
                                         BackendClient& backend, const VerifyOptions& options,
                                         const Clock& clock, Sleeper& sleeper,
                                         ProgressFn progress) {
  return Verify(scenario, ledger, &backend, nullptr, options, clock, sleeper, std::move(progress));
}

Result<VerificationSummary> VerifyLedger(const Scenario& scenario, const Ledger& ledger,
                                         const BackendClientFactory& make_client,
                                         const VerifyOptions& options, const Clock& clock,
                                         Sleeper& sleeper, ProgressFn progress) {
  return Verify(scenario, ledger, nullptr, &make_client, options, clock, sleeper,
                std::move(progress));
}

}  // namespace tracerig
