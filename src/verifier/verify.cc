#include "verifier/verify.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <queue>
#include <set>
#include <thread>
#include <tuple>
#include <utility>

#include "core/units.h"
#include "topology/expected_tree.h"

namespace tracerig {
namespace {

// Fragments are searched this far around the request's own times: spans of a broken trace start
// within the request, but backends index by a span's start time, which clock skew can move.
constexpr uint64_t kFragmentWindowNs = 60'000'000'000ull;
constexpr uint64_t kNanosPerMicro = 1000;
constexpr double kNanosPerSecond = 1e9;

using ProgressFn = std::function<void(size_t done, size_t total)>;

constexpr uint64_t kAllPresent = UINT64_MAX;
// (hop, caller, callee, kind of the late span).
using LateHopKey = std::tuple<std::string, std::string, std::string, SpanKind>;
constexpr size_t kMaskBits = 64;

// Which expected spans a first poll returned, as TraceState::first_poll_present.
uint64_t PresentAtFirstPoll(const ExpectedTree& tree, const LedgerEntry& entry,
                            const std::vector<Span>& spans) {
  const size_t n = tree.spans.size();
  if (n > kMaskBits) return kAllPresent;
  // Nothing yet (the usual first poll of a trace still in the exporter's batch): all missing.
  if (spans.empty()) return n == kMaskBits ? 0 : ~((uint64_t{1} << n) - 1);
  const TraceVerdict verdict = ClassifyTrace(tree, entry, spans, {}, ClassifyOptions{});
  uint64_t present = kAllPresent;
  for (const MissingSpan& m : verdict.missing) {
    for (size_t i = 0; i < tree.spans.size(); ++i) {
      const ExpectedSpan& e = tree.spans[i];
      if (e.hop == m.hop && e.kind == m.kind && e.service == m.service) {
        present &= ~(uint64_t{1} << i);
      }
    }
  }
  return present;
}

// The smallest time-to-queryable expectation, else the option: a trace later than this has its
// late spans attributed to hops.
uint64_t LateSpanFloor(const Scenario& scenario, const VerifyOptions& options) {
  std::optional<uint64_t> floor;
  for (const auto& e :
       {scenario.expect.time_to_queryable_p99_ns, scenario.expect.time_to_queryable_max_ns}) {
    if (e) floor = floor ? std::min(*floor, *e) : *e;
  }
  return floor.value_or(options.late_span_floor_ns);
}

// What the caller of a broken edge injects and what the callee extracts, from the scenario: the
// services' propagation formats and the faults on that edge (a fault may apply to only some
// requests, so this says what the scenario makes possible). Empty when the caller is the driver
// or either service is not a simulated one.
std::string DescribeEdgeFormats(const Scenario& scenario, const PropagationBreak& b) {
  const Service* caller = scenario.FindService(b.caller);
  const Service* callee = scenario.FindService(b.callee);
  if (caller == nullptr || callee == nullptr || caller->IsExternal() || callee->IsExternal()) {
    return "";
  }
  auto formats = [](const std::vector<std::string>& list) {
    std::string text;
    for (const std::string& f : list) text += (text.empty() ? "" : "+") + f;
    return text.empty() ? std::string("nothing") : text;
  };
  std::string sent = formats(caller->propagation);
  std::string read = formats(callee->propagation);
  for (const Fault& f : scenario.faults) {
    const bool on_edge =
        f.service == b.caller && (f.callee.empty() || f.callee == b.callee);
    switch (f.kind) {
      case FaultKind::kDropContext:
        if (on_edge) sent = "no context (drop-context fault)";
        break;
      case FaultKind::kWrongFormat:
        if (on_edge) sent = f.format + " (wrong-format fault)";
        break;
      case FaultKind::kCorrupt:
        if (on_edge) sent = "malformed " + sent + " (corrupt fault)";
        break;
      case FaultKind::kTruncateTraceId:
        if (on_edge) sent += " with a 64-bit trace id (truncate-trace-id fault)";
        break;
      case FaultKind::kNewTrace:
        if (f.service == b.callee) read += " but starts a new trace (new-trace fault)";
        break;
      default:
        break;
    }
  }
  return fmt::format("{} injects {}; {} extracts {}", b.caller, sent, b.callee, read);
}

// What a worker keeps per trace: no spans (a poll's spans are classified at once or dropped), which
// is what bounds memory per ledger entry.
struct TraceState {
  uint64_t last_change_ns = 0;
  uint64_t first_full_unix_ns = 0;  // the first poll with all expected spans; 0 = none yet
  // Bit i: expected span i was there at the first poll (kAllPresent: it was full, or the tree has
  // more spans than bits, so lateness is not attributed).
  uint64_t first_poll_present = kAllPresent;
  const LedgerEntry* entry = nullptr;  // in the ledger or the feed, which outlive the workers
  uint32_t last_count = 0;
  uint16_t same_count_polls = 0;  // consecutive polls that saw last_count
  bool polled = false;
  bool full_at_first_poll = false;
};
static_assert(sizeof(TraceState) <= 40, "keep per-trace state small (issue 6: <= ~200 B/entry)");

// The expected tree of one ledger entry: the one place that decides it. Per request, every seeded
// decision of that request applies; shared, the tree without random decisions (sampling is then
// modelled statistically).
ExpectedTree ExpectedTreeFor(const Scenario& scenario, const LedgerEntry& entry, bool per_request) {
  const LoadEntry& load_entry = scenario.load.entries[entry.entry];
  return per_request ? BuildExpectedTree(scenario, load_entry, entry.sequence)
                     : BuildExpectedTree(scenario, load_entry);
}
// Per-request trees when the seeded decisions change a request's tree. In statistical sampling
// mode ratio sampling alone does not count: its rates are judged statistically on the shared tree
// (sampling_stats.h), which per-request trees could not do, since they apply each decision.
bool TreesVaryPerRequest(const Scenario& scenario, bool statistical_sampling) {
  if (!TreeVariesPerRequest(scenario)) return false;
  if (!statistical_sampling) return true;
  Scenario without_ratio_sampling = scenario;
  for (Service& service : without_ratio_sampling.services) {
    if (service.sampling.kind == SamplingPolicy::Kind::kRatio) {
      service.sampling.kind = SamplingPolicy::Kind::kAlways;
    }
  }
  return TreeVariesPerRequest(without_ratio_sampling);
}

// An expected edge of a tree, with its calls grouped by the sampling decisions behind them.
struct TreeEdge {
  std::string key;  // caller '\0' callee, as the per-worker map is keyed
  std::string caller;
  std::string callee;
  double calls = 0;     // expected calls per request
  double variance = 0;  // of the calls per request (calls with the same decisions move together)
};

// An expected tree with what the analytics derive from it once, not per trace.
struct PreparedTree {
  uint64_t sequence = UINT64_MAX;  // the entry it was built for, when trees vary per request
  ExpectedTree tree;
  // Spans a complete trace must have: the tree less its optional spans (retries only a timeout
  // causes). A trace counts as full, for settling and time to queryable, at this many.
  size_t required = 0;
  TreeSamplingModel sampling;
  std::vector<TreeEdge> edges;
  // The calls a complete trace without violations shows: every span is an expected one under its
  // expected parent, so its graph is known without looking at the spans.
  std::vector<std::pair<std::string, std::string>> clean_calls;  // caller, callee; repeats kept
  // Parent-based visits: (opening span, its caller's visit, index into sampling.services).
  std::vector<std::tuple<uint32_t, uint32_t, uint32_t>> follows;
};

PreparedTree Prepare(const Scenario& scenario, const LedgerEntry& entry, bool per_request) {
  PreparedTree p;
  p.sequence = entry.sequence;
  p.tree = ExpectedTreeFor(scenario, entry, per_request);
  p.required = RequiredSpanCount(p.tree);
  p.sampling = ModelTreeSampling(scenario, p.tree);
  if (per_request) {
    // The tree applied every seeded sampling decision of its request: what it holds is sampled
    // (a ratio policy's 0.5 would otherwise halve the calls the graph expects on its edges).
    for (double& chance : p.sampling.probability) chance = 1;
    for (auto& trials : p.sampling.services) trials.expected = 1;
  }
  const std::vector<ExpectedSpan>& spans = p.tree.spans;
  // Calls per edge and pair of fresh decisions: those calls are all seen or all not.
  std::map<std::tuple<std::string, std::string, uint32_t, uint32_t>, std::pair<double, double>>
      groups;  // -> (calls, chance)
  for (size_t i = 0; i < spans.size(); ++i) {
    const int parent = spans[i].parent;
    // A span whose caller was sampled out hangs off an ancestor that did not call it: the call
    // into it is invisible, so it is no expected edge.
    // An optional span (a retry only a timeout causes) may or may not be there: no clean call.
    if (spans[i].kind != SpanKind::kServer || parent < 0 || static_cast<size_t>(parent) >= i ||
        spans[i].parent_unexported || spans[i].optional) {
      continue;
    }
    const auto c = static_cast<uint32_t>(parent);
    const auto s = static_cast<uint32_t>(i);
    p.clean_calls.emplace_back(spans[c].service, spans[i].service);
    const uint32_t a = std::min(p.sampling.source[c], p.sampling.source[s]);
    const uint32_t b = std::max(p.sampling.source[c], p.sampling.source[s]);
    auto& g = groups[{spans[c].service, spans[i].service, a, b}];
    g.first += 1;
    g.second = BothSampled(p.sampling, c, s);
  }
  for (const auto& [k, g] : groups) {
    const std::string& caller = std::get<0>(k);
    const std::string& callee = std::get<1>(k);
    std::string key = caller;
    key.push_back('\0');
    key += callee;
    if (p.edges.empty() || p.edges.back().key != key) {
      p.edges.push_back(TreeEdge{key, caller, callee, 0, 0});
    }
    const auto [calls, chance] = g;
    p.edges.back().calls += calls * chance;
    p.edges.back().variance += calls * calls * chance * (1 - chance);
  }
  for (uint32_t i = 0; i < spans.size(); ++i) {
    if (!p.sampling.parent_based[i]) continue;
    const auto caller_visit = p.sampling.visit[static_cast<size_t>(spans[i].parent)];
    for (uint32_t k = 0; k < p.sampling.services.size(); ++k) {
      if (p.sampling.services[k].service == spans[i].service) {
        p.follows.emplace_back(i, caller_visit, k);
        break;
      }
    }
  }
  return p;
}

// Sampling trials of one service, summed over requests.
struct SamplingCounts {
  std::string policy;
  uint64_t n = 0;
  uint64_t k = 0;
  double expected_sum = 0;
  bool deterministic = true;  // every trial's chance was 0 or 1
  uint64_t inconsistencies = 0;
};

struct EdgeExpectation {
  std::string caller;
  std::string callee;
  double calls = 0;
  double variance = 0;
};

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

// Trials of one `[expect] sampling` entry (SamplingExpectationVerdict says what n and k count).
struct ExpectationCounts {
  uint64_t n = 0;
  uint64_t k = 0;
};

// The requests a trace-level `[expect] sampling` entry is about: answered with an error, or
// slower (send to answer) than some slower_than entry's bound. The others are what a trace
// ratio is judged on.
bool IsErrorRequest(const LedgerEntry& e) { return e.outcome == RequestOutcome::kHttpError; }
uint64_t RequestLatency(const LedgerEntry& e) {
  return e.end_unix_nano > e.start_unix_nano && e.start_unix_nano != 0
             ? e.end_unix_nano - e.start_unix_nano
             : 0;
}

// One worker's results, merged at the end (no shared mutable state while verifying).
struct PartialSummary {
  VerificationSummary counts;  // counters only
  std::map<std::tuple<std::string, std::string, std::string>, size_t> edge_counts;
  std::map<TraceStatus, FirstVerdicts> examples;
  std::map<std::string, FirstVerdicts> violation_examples;
  std::map<std::string, SamplingCounts, std::less<>> sampling;  // by service
  std::map<std::string, EdgeExpectation, std::less<>> expected_edges;  // by TreeEdge::key
  ServiceGraphCounter observed_edges;
  std::vector<uint64_t> time_to_queryable;
  size_t ttq_upper_bounds = 0;
  std::vector<uint64_t> ttq_exact;  // the samples that are not upper bounds
  // (hop, caller, callee, kind) -> (traces, largest time to queryable among them).
  std::map<LateHopKey, std::pair<size_t, uint64_t>> late_hops;
  size_t late_traces = 0;
  std::vector<ExpectationCounts> expectations;  // per scenario.expect.sampling entry
  std::optional<Error> error;
};

// Shared between workers: the first error stops everyone; progress is reported under a lock.
struct SharedRun {
  std::atomic<bool> abort{false};
  std::mutex progress_mu;
  size_t settled = 0;
  size_t total = 0;                   // a ledger's sampled entries
  const LedgerFeed* feed = nullptr;   // streaming: the total is what has arrived so far
  ProgressFn progress;

  size_t Total() const { return feed != nullptr ? feed->sampled() : total; }
  void Settled() {
    std::lock_guard lock(progress_mu);
    ++settled;
    if (progress) progress(settled, Total());
  }
};

struct Inputs {
  const Scenario& scenario;
  LedgerFeed* feed;  // streaming (workers take entries as they come), else null
  // One per load entry, built before the workers start; unused when trees vary per request.
  const std::vector<std::optional<PreparedTree>>& trees;
  bool per_request_trees;
  const ClassifyOptions& classify;
  const VerifyOptions& options;
  const Clock& clock;
  Sleeper& sleeper;
  uint64_t start_ns;
  uint64_t late_floor_ns;
  // How much a time-to-queryable sample may overestimate: the poll interval, plus the tick when
  // streaming (TimeToQueryable::precision_ns).
  uint64_t ttq_precision_ns;
};

// Orders spans so that duplicates (the same span returned by two searches) sit together.
auto SpanIdentity(const Span& s) {
  return std::tie(s.trace_id, s.span_id, s.service_name, s.kind, s.start_unix_nano);
}

// Polls and classifies its share of the traces with its own client. Single-threaded.
class Worker {
 public:
  Worker(const Inputs& in, SharedRun& shared, BackendClient& backend, size_t workers)
      : in_(in), shared_(shared), backend_(backend), slots_(in.trees.size()) {
    batch_size_ = std::max<size_t>(
        1, std::min(in.options.max_traces_per_request, backend.MaxTracesPerRequest()));
    if (in.options.max_requests_per_second > 0) {
      request_gap_ns_ = static_cast<uint64_t>(static_cast<double>(workers) * kNanosPerSecond /
                                              in.options.max_requests_per_second);
    }
  }

  void Add(const LedgerEntry* entry) {
    TraceState state;
    state.entry = entry;
    states_.push_back(std::move(state));
  }

  // Streaming: which of the feed's shards this worker takes.
  void SetShard(size_t shard) { shard_ = shard; }

  PartialSummary Run() {
    const VerifyOptions& options = in_.options;
    // Earliest next poll first; equal times in ledger order. From a ledger, the first poll of
    // every trace is due at 0, so all traces are asked once, in order, before any repoll; from a
    // feed, stream_first_poll_delay_ns after the entry arrived.
    using Due = std::pair<uint64_t, uint32_t>;  // next poll time, index into states_
    std::priority_queue<Due, std::vector<Due>, std::greater<>> queue;
    for (uint32_t i = 0; i < states_.size(); ++i) queue.emplace(0, i);
    size_t unpolled = states_.size();
    // Streaming: entries come until the feed closes, and the deadline counts from then.
    bool more = in_.feed != nullptr;
    uint64_t deadline = more ? UINT64_MAX : options.deadline_ns;
    std::vector<const LedgerEntry*> arrived;
    uint64_t next_poll_ns = 0;  // streaming: no request before this
    std::vector<uint32_t> batch;
    std::vector<TraceFetch> answers;
    while (!shared_.abort.load(std::memory_order_relaxed)) {
      uint64_t now = Elapsed();
      if (more) {
        arrived.clear();
        more = in_.feed->Take(shard_, arrived);
        for (const LedgerEntry* e : arrived) {
          if (e->entry >= in_.scenario.load.entries.size()) {
            Fail(MakeError(fmt::format(
                "ledger entry {} names load entry {}, but scenario \"{}\" has {} load entries",
                e->sequence, e->entry, in_.scenario.name, in_.scenario.load.entries.size())));
            return std::move(result_);
          }
          if (states_.size() >= UINT32_MAX) {
            Fail(MakeError(fmt::format("more than {} traces for one verifier worker", UINT32_MAX)));
            return std::move(result_);
          }
          Add(e);
          queue.emplace(now + options.stream_first_poll_delay_ns,
                        static_cast<uint32_t>(states_.size() - 1));
          ++unpolled;
        }
        if (!more) {
          deadline = now + std::min(options.deadline_ns, UINT64_MAX - now);
          closed_at_ns_ = now;
        }
      }
      if (queue.empty()) {
        if (!more) break;
        in_.sleeper.SleepFor(NextTick(now) - now);
        continue;
      }
      const uint64_t due = queue.top().first;
      // Past the deadline, only traces never polled yet and already due are still asked.
      if (now >= deadline && (unpolled == 0 || due > now)) {
        result_.counts.deadline_hit = true;
        break;
      }
      if (due > now) {
        uint64_t wake = std::min(due, deadline);
        if (in_.feed != nullptr) {
          // Streaming: polls fall on a grid of stream_wait_ns, so traces that arrive one by one
          // are still asked for in batches (at most one request per worker and tick).
          wake = std::min(deadline, NextTick(due - 1));
          if (more) wake = std::min(wake, NextTick(now));
        }
        in_.sleeper.SleepFor(wake - now);
        continue;
      }
      if (now < next_poll_ns && now < deadline) {  // streaming: this step had its request
        in_.sleeper.SleepFor(std::min(next_poll_ns, deadline) - now);
        continue;
      }
      // Every trace due now, earliest first, in one request.
      batch.clear();
      while (!queue.empty() && queue.top().first <= now && batch.size() < batch_size_) {
        batch.push_back(queue.top().second);
        queue.pop();
      }
      // A full batch may leave more due at once (a backlog): those go without waiting.
      if (in_.feed != nullptr && batch.size() < batch_size_) next_poll_ns = NextTick(now);
      if (!Poll(batch, answers)) return std::move(result_);
      for (size_t k = 0; k < batch.size(); ++k) {
        const uint32_t i = batch[k];
        TraceState& s = states_[i];
        const LedgerEntry& entry = *s.entry;
        std::vector<Span> spans;
        if (answers[k]) spans = std::move(*answers[k]);
        if (!s.polled) --unpolled;
        const size_t count = spans.size();
        const size_t expected = TreeOf(s).required;
        now = Elapsed();
        if (!s.polled && count < expected) {
          s.first_poll_present = PresentAtFirstPoll(TreeOf(s).tree, entry, spans);
        }
        NoteFull(s, count >= expected, !s.polled);
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
    for (size_t first = 0; first < rest.size(); first += batch_size_) {
      batch.assign(rest.begin() + static_cast<std::ptrdiff_t>(first),
                   rest.begin() + static_cast<std::ptrdiff_t>(
                                      std::min(rest.size(), first + batch_size_)));
      if (!Poll(batch, answers)) break;
      for (size_t k = 0; k < batch.size(); ++k) {
        TraceState& s = states_[batch[k]];
        std::vector<Span> spans;
        if (answers[k]) spans = std::move(*answers[k]);
        NoteFull(s, spans.size() >= TreeOf(s).required, !s.polled);
        if (!Finish(s, spans)) return std::move(result_);
      }
    }
    return std::move(result_);
  }

  // Streaming: when this worker saw the feed closed (from the verification's start).
  uint64_t closed_at_ns() const { return closed_at_ns_; }

 private:
  uint64_t Elapsed() const { return in_.clock.NowMonotonicNano() - in_.start_ns; }
  // The first multiple of stream_wait_ns after `t`.
  uint64_t NextTick(uint64_t t) const {
    const uint64_t tick = std::max<uint64_t>(1, in_.options.stream_wait_ns);
    return (t / tick + 1) * tick;
  }
  // The prepared tree of a trace: shared per load entry, or built for the entry (and kept until
  // another entry needs one) when trees vary per request.
  const PreparedTree& TreeOf(const TraceState& s) {
    const LedgerEntry& entry = *s.entry;
    if (!in_.per_request_trees) return *in_.trees[entry.entry];
    if (!scratch_ || scratch_->sequence != entry.sequence) {
      scratch_ = Prepare(in_.scenario, entry, /*per_request=*/true);
    }
    return *scratch_;
  }

  // Remembers when a trace was first seen with all its expected spans (time to queryable).
  void NoteFull(TraceState& s, bool full, bool first_poll) {
    if (!full || s.first_full_unix_ns != 0) return;
    s.first_full_unix_ns = in_.clock.NowUnixNano();
    s.full_at_first_poll = first_poll;
  }

  // The traces of `batch` in one request (GetTrace for a batch of one), with retries; `answers`
  // gets one per trace. False on failure (the error is recorded).
  bool Poll(const std::vector<uint32_t>& batch, std::vector<TraceFetch>& answers) {
    // GetTraces wants distinct ids; two ledger entries under one trace id (a driver bug the
    // checks must still see) share one answer. A batch is small, so a linear search will do.
    ids_.clear();
    id_of_.clear();
    for (uint32_t i : batch) {
      const TraceId id = states_[i].entry->trace_id;
      const auto at = std::find(ids_.begin(), ids_.end(), id);
      id_of_.push_back(static_cast<size_t>(at - ids_.begin()));
      if (at == ids_.end()) ids_.push_back(id);
    }
    auto fetched = WithRetries([&]() -> Result<std::vector<TraceFetch>> {
      if (ids_.size() == 1) {
        auto trace = backend_.GetTrace(ids_[0]);
        if (!trace) return trace.error();
        std::vector<TraceFetch> one;
        one.push_back(std::move(*trace));
        return one;
      }
      auto traces = backend_.GetTraces(ids_);
      if (traces && traces->size() != ids_.size()) {
        return MakeError(ErrorCode::kUnavailable,
                         fmt::format("{} answered {} traces for {} ids", backend_.Describe(),
                                     traces->size(), ids_.size()));
      }
      return traces;
    });
    if (!fetched) {
      Fail(fetched.error());
      return false;
    }
    result_.counts.polls += batch.size();
    if (ids_.size() == batch.size()) {
      answers = std::move(*fetched);
    } else {
      answers.clear();
      for (size_t k : id_of_) answers.push_back((*fetched)[k]);
    }
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
        return MakeError(ErrorCode::kUnavailable,
                         fmt::format("backend unreachable: {}", result.error().message));
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
    const LedgerEntry& entry = *s.entry;
    const PreparedTree& prepared = TreeOf(s);
    const ExpectedTree& tree = prepared.tree;
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
      verdict = ClassifyTrace(tree, entry, spans, fragments, in_.classify);
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
    for (const PropagationBreak& b : verdict.breaks) {
      const std::string formats = DescribeEdgeFormats(in_.scenario, b);
      if (!formats.empty()) verdict.explanation += "; " + formats;
    }
    Record(verdict);
    RecordAnalytics(s, entry, prepared, verdict, spans, fragments);
    return true;
  }

  // Sampling trials, parent-based consistency, the service graph and time to queryable of one
  // classified trace: counts only.
  void RecordAnalytics(const TraceState& s, const LedgerEntry& entry, const PreparedTree& prepared,
                       const TraceVerdict& verdict, const std::vector<Span>& spans,
                       const std::vector<Span>& fragments) {
    const std::vector<ExpectedSpan>& expected = prepared.tree.spans;
    const TreeSamplingModel& model = prepared.sampling;
    // Which expected spans were found anywhere (under the trace id or in fragments).
    found_.assign(expected.size(), 1);
    for (const MissingSpan& m : verdict.missing) {
      for (size_t i = 0; i < expected.size(); ++i) {
        const ExpectedSpan& e = expected[i];
        if (e.hop == m.hop && e.kind == m.kind && e.service == m.service) found_[i] = 0;
      }
    }
    // Counters of this tree's services and edges: looked up by name once per shared tree (map
    // nodes do not move), on every trace when trees vary per request.
    TreeSlots local;
    TreeSlots& slots = in_.per_request_trees ? local : slots_[entry.entry];
    if (slots.sampling.empty() && slots.edges.empty()) {
      for (const TreeSamplingModel::ServiceTrials& t : model.services) {
        auto it = result_.sampling.find(t.service);
        if (it == result_.sampling.end()) {
          it = result_.sampling.emplace(t.service, SamplingCounts{}).first;
          it->second.policy = t.policy;
        }
        slots.sampling.push_back(&it->second);
      }
      for (const TreeEdge& e : prepared.edges) {
        auto it = result_.expected_edges.find(e.key);
        if (it == result_.expected_edges.end()) {
          it = result_.expected_edges.emplace(e.key, EdgeExpectation{e.caller, e.callee, 0, 0})
                   .first;
        }
        slots.edges.push_back(&it->second);
      }
      for (const auto& [caller, callee] : prepared.clean_calls) {
        slots.clean_calls.push_back(&result_.observed_edges.Count(caller, callee));
      }
    }
    for (size_t j = 0; j < model.services.size(); ++j) {
      const TreeSamplingModel::ServiceTrials& t = model.services[j];
      SamplingCounts& c = *slots.sampling[j];
      ++c.n;
      c.expected_sum += t.expected;
      c.deterministic = c.deterministic && (t.expected == 0 || t.expected == 1);
      if (std::any_of(t.spans.begin(), t.spans.end(), [&](uint32_t i) { return found_[i]; })) {
        ++c.k;
      }
    }
    // A visit's decision shows as any of its spans being there; compared only where presence is
    // about sampling (not a lost trace or a broken one, whose parts follow other decisions).
    if (!prepared.follows.empty() && (verdict.status == TraceStatus::kComplete ||
                                      verdict.status == TraceStatus::kIncomplete)) {
      decided_.assign(expected.size(), 0);
      for (size_t i = 0; i < expected.size(); ++i) decided_[model.visit[i]] |= found_[i];
      for (const auto& [visit, caller_visit, service] : prepared.follows) {
        if (decided_[visit] != decided_[caller_visit]) {
          ++slots.sampling[service]->inconsistencies;
        }
      }
    }
    for (size_t j = 0; j < prepared.edges.size(); ++j) {
      slots.edges[j]->calls += prepared.edges[j].calls;
      slots.edges[j]->variance += prepared.edges[j].variance;
    }
    if (verdict.status == TraceStatus::kComplete && verdict.violations.empty()) {
      for (uint64_t* count : slots.clean_calls) ++*count;
    } else {
      result_.observed_edges.AddSpans(spans);
      if (!fragments.empty()) result_.observed_edges.AddSpans(fragments, entry.trace_id);
    }

    RecordSamplingExpectations(entry, prepared, verdict);

    if (verdict.status != TraceStatus::kComplete || s.first_full_unix_ns == 0) return;
    const uint64_t exported = in_.options.last_export_unix_nano
                                  ? in_.options.last_export_unix_nano(entry)
                                  : entry.end_unix_nano;
    if (exported == 0) return;
    const uint64_t sample = s.first_full_unix_ns > exported ? s.first_full_unix_ns - exported : 0;
    result_.time_to_queryable.push_back(sample);
    // Full at its first poll: it became queryable at some time up to `sample`. Within a poll
    // interval of the export, that is as precise as a measured sample (which overestimates by up
    // to the interval), so it counts as one; beyond, it is only an upper bound.
    if (s.full_at_first_poll && sample > in_.ttq_precision_ns) {
      ++result_.ttq_upper_bounds;
      return;
    }
    result_.ttq_exact.push_back(sample);
    if (sample > in_.late_floor_ns) RecordLateSpans(s, expected, sample);
  }

  // The trials of the scenario's `[expect] sampling` entries for one classified trace; found_
  // holds which expected spans were found.
  void RecordSamplingExpectations(const LedgerEntry& entry, const PreparedTree& prepared,
                                  const TraceVerdict& verdict) {
    const std::vector<SamplingExpectation>& expectations = in_.scenario.expect.sampling;
    if (expectations.empty()) return;
    std::vector<ExpectationCounts>& counts = result_.expectations;
    counts.resize(expectations.size());
    const bool kept = verdict.status != TraceStatus::kMissing;
    const uint64_t latency = RequestLatency(entry);
    bool special = IsErrorRequest(entry);  // kept whatever the ratio says
    for (const SamplingExpectation& e : expectations) {
      if (e.kind == SamplingExpectation::Kind::kSlowerThan && latency > e.slower_than_ns) {
        special = true;
      }
    }
    const std::vector<ExpectedSpan>& spans = prepared.tree.spans;
    for (size_t j = 0; j < expectations.size(); ++j) {
      const SamplingExpectation& e = expectations[j];
      ExpectationCounts& c = counts[j];
      switch (e.kind) {
        case SamplingExpectation::Kind::kServiceRatio: {
          bool reached = std::find(prepared.tree.unsampled_visits.begin(),
                                   prepared.tree.unsampled_visits.end(),
                                   e.service) != prepared.tree.unsampled_visits.end();
          bool found = false;
          for (size_t i = 0; i < spans.size(); ++i) {
            if (spans[i].service != e.service) continue;
            reached = true;
            found = found || found_[i] != 0;
          }
          c.n += reached ? 1 : 0;
          c.k += reached && found ? 1 : 0;
          break;
        }
        case SamplingExpectation::Kind::kErrors:
          if (IsErrorRequest(entry)) {
            ++c.n;
            c.k += kept ? 1 : 0;
          }
          break;
        case SamplingExpectation::Kind::kSlowerThan:
          if (latency > e.slower_than_ns) {
            ++c.n;
            c.k += kept ? 1 : 0;
          }
          break;
        case SamplingExpectation::Kind::kTraceRatio:
          if (!special) {
            ++c.n;
            c.k += kept ? 1 : 0;
          }
          break;
        case SamplingExpectation::Kind::kWholeTraces:
          if (kept) {
            ++c.n;
            c.k += verdict.status == TraceStatus::kComplete ? 1 : 0;
          }
          break;
      }
    }
  }

  // The edges of the spans a complete trace lacked at its first poll, each once per trace.
  void RecordLateSpans(const TraceState& s, const std::vector<ExpectedSpan>& expected,
                       uint64_t sample) {
    if (s.first_poll_present == kAllPresent) return;
    std::set<LateHopKey> late;
    for (size_t i = 0; i < expected.size() && i < kMaskBits; ++i) {
      if ((s.first_poll_present >> i) & 1) continue;
      const ExpectedSpan& e = expected[i];
      // A CLIENT span's peer is its callee, a SERVER span's its caller.
      const bool client = e.kind == SpanKind::kClient;
      late.emplace(e.hop, client ? e.service : e.peer, client ? e.peer : e.service, e.kind);
    }
    if (late.empty()) return;
    ++result_.late_traces;
    for (const auto& key : late) {
      auto& [traces, max_ns] = result_.late_hops[key];
      ++traces;
      max_ns = std::max(max_ns, sample);
    }
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
  size_t batch_size_ = 1;      // trace ids per poll request
  size_t shard_ = 0;
  uint64_t closed_at_ns_ = 0;
  std::vector<TraceId> ids_;   // the current batch's distinct trace ids, reused
  std::vector<size_t> id_of_;  // per trace of the batch, its index into ids_
  std::optional<PreparedTree> scratch_;  // per-request trees only
  struct TreeSlots {
    std::vector<SamplingCounts*> sampling;  // per TreeSamplingModel::services entry
    std::vector<EdgeExpectation*> edges;    // per PreparedTree::edges entry
    std::vector<uint64_t*> clean_calls;     // per PreparedTree::clean_calls entry
  };
  std::vector<TreeSlots> slots_;  // per load entry, for shared trees
  std::vector<char> found_;    // per expected span, reused between traces
  std::vector<char> decided_;  // per visit opener, reused between traces
};

// The p-th nearest-rank percentile of sorted values (0 when empty).
uint64_t Percentile(const std::vector<uint64_t>& sorted, double p) {
  if (sorted.empty()) return 0;
  const auto rank = static_cast<size_t>(std::ceil(p / 100 * static_cast<double>(sorted.size())));
  return sorted[std::clamp<size_t>(rank, 1, sorted.size()) - 1];
}

// The scenario's `[expect] sampling` entries judged on the workers' summed trials.
Result<std::vector<SamplingExpectationVerdict>> JudgeSamplingExpectations(
    const Scenario& scenario, const std::vector<PartialSummary>& parts,
    const VerifyOptions& options) {
  std::vector<SamplingExpectationVerdict> out;
  const std::vector<SamplingExpectation>& expectations = scenario.expect.sampling;
  for (size_t j = 0; j < expectations.size(); ++j) {
    const SamplingExpectation& e = expectations[j];
    SamplingExpectationVerdict v;
    for (const PartialSummary& p : parts) {
      if (j < p.expectations.size()) {
        v.n += p.expectations[j].n;
        v.k += p.expectations[j].k;
      }
    }
    using Kind = SamplingExpectation::Kind;
    v.trace_level = e.kind != Kind::kServiceRatio;
    if (e.kind == Kind::kServiceRatio || e.kind == Kind::kTraceRatio) {
      v.name = e.kind == Kind::kServiceRatio ? e.service : "ratio";
      v.expected = e.ratio;
      v.confidence = e.confidence.value_or(options.sampling_confidence);
      auto test = JudgeSamplingRate(v.k, v.n, e.ratio, v.confidence);
      if (!test) return MakeError(fmt::format("{}: {}", e.where.ToString(), test.error().message));
      v.interval_low = test->interval.low;
      v.interval_high = test->interval.high;
      v.verdict = std::string(SamplingJudgementName(test->judgement));
      const std::string what =
          e.kind == Kind::kServiceRatio
              ? fmt::format("{}: spans kept in {} of {} requests reaching it", e.service, v.k, v.n)
              : fmt::format("{} of {} requests neither errors nor slow kept", v.k, v.n);
      v.message = test->judgement == SamplingJudgement::kNotEnoughTraces
                      ? fmt::format("{}: not enough traces to judge a ratio of {:g}", what, e.ratio)
                      : fmt::format("{} ({:.4f}); expected {:g}, {:g}% interval [{:.4f}, {:.4f}]",
                                    what, test->observed, e.ratio, v.confidence * 100,
                                    v.interval_low, v.interval_high);
    } else {
      const bool all = v.k == v.n;
      v.verdict = all ? "pass" : "fail";
      switch (e.kind) {
        case Kind::kErrors:
          v.name = "errors";
          v.message = fmt::format("{} of {} requests answered with an error kept, expected all",
                                  v.k, v.n);
          break;
        case Kind::kSlowerThan:
          v.name = "slower-than-" + FormatDuration(e.slower_than_ns);
          v.message = fmt::format("{} of {} requests slower than {} kept, expected all", v.k, v.n,
                                  FormatDuration(e.slower_than_ns));
          break;
        default:
          v.name = "whole-traces";
          v.message = fmt::format("{} of {} kept traces whole, expected all ({} kept in part)",
                                  v.k, v.n, v.n - v.k);
          break;
      }
    }
    out.push_back(std::move(v));
  }
  return out;
}

// Merges the workers' results into one summary, examples in ledger order.
// `per_request`: the expected trees applied every seeded decision, sampling included, so the
// sampling rates are exact and already checked span by span; no statistical verdict is made.
Result<VerificationSummary> Merge(const Scenario& scenario, std::vector<PartialSummary>& parts,
                                  size_t skipped, const VerifyOptions& options, double z,
                                  bool per_request, uint64_t late_floor_ns,
                                  uint64_t precision_ns) {
  const size_t max_examples = options.max_examples;
  for (PartialSummary& p : parts) {
    if (p.error) return *p.error;
  }
  VerificationSummary summary;
  summary.skipped_unsampled = skipped;
  std::map<std::tuple<std::string, std::string, std::string>, size_t> edge_counts;
  std::map<TraceStatus, FirstVerdicts> examples;
  std::map<std::string, FirstVerdicts> violation_examples;
  std::map<std::string, SamplingCounts, std::less<>> sampling;
  std::map<std::pair<std::string, std::string>, EdgeExpectation> expected_edges;
  ServiceGraphCounter observed_edges;
  std::vector<uint64_t> ttq;
  std::vector<uint64_t> ttq_exact;
  std::map<LateHopKey, std::pair<size_t, uint64_t>> late_hops;
  for (PartialSummary& p : parts) {
    for (const auto& [service, c] : p.sampling) {
      SamplingCounts& m = sampling[service];
      m.policy = c.policy;
      m.n += c.n;
      m.k += c.k;
      m.expected_sum += c.expected_sum;
      m.deterministic = m.deterministic && c.deterministic;
      m.inconsistencies += c.inconsistencies;
    }
    for (const auto& [key, e] : p.expected_edges) {
      EdgeExpectation& m = expected_edges[{e.caller, e.callee}];
      m.calls += e.calls;
      m.variance += e.variance;
    }
    observed_edges.Merge(p.observed_edges);
    ttq.insert(ttq.end(), p.time_to_queryable.begin(), p.time_to_queryable.end());
    summary.time_to_queryable.upper_bounds += p.ttq_upper_bounds;
    ttq_exact.insert(ttq_exact.end(), p.ttq_exact.begin(), p.ttq_exact.end());
    summary.time_to_queryable.late_traces += p.late_traces;
    for (const auto& [key, c] : p.late_hops) {
      auto& m = late_hops[key];
      m.first += c.first;
      m.second = std::max(m.second, c.second);
    }
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

  auto judged = JudgeSamplingExpectations(scenario, parts, options);
  if (!judged) return judged.error();
  summary.sampling_expectations = std::move(*judged);

  if (per_request) sampling.clear();
  for (const auto& [service, c] : sampling) {
    const double mean = c.n == 0 ? 0 : std::clamp(c.expected_sum / static_cast<double>(c.n), 0.0, 1.0);
    auto test = JudgeSamplingRate(c.k, c.n, mean, options.sampling_confidence);
    if (!test) return test.error();
    SamplingVerdict v;
    v.service = service;
    v.policy = c.policy;
    v.n = c.n;
    v.k = c.k;
    v.observed = test->observed;
    v.expected = mean;
    v.interval_low = test->interval.low;
    v.interval_high = test->interval.high;
    v.confidence = options.sampling_confidence;
    SamplingJudgement judgement = test->judgement;
    // Requests certain to be sampled or not, whatever their mix: only the exact count passes.
    if (c.deterministic && c.n > 0) {
      judgement = static_cast<double>(c.k) == std::round(c.expected_sum) ? SamplingJudgement::kPass
                                                                        : SamplingJudgement::kFail;
    }
    v.verdict = std::string(SamplingJudgementName(judgement));
    v.parent_based_inconsistencies = c.inconsistencies;
    summary.parent_based_inconsistencies += c.inconsistencies;
    summary.sampling.push_back(std::move(v));
  }

  std::vector<ExpectedEdge> expected;
  for (const auto& [name, e] : expected_edges) {
    expected.push_back(ExpectedEdge{name.first, name.second, e.calls, e.variance});
  }
  summary.graph = CompareGraphs(expected, observed_edges.Links(), z);

  std::sort(ttq.begin(), ttq.end());
  TimeToQueryable& t = summary.time_to_queryable;
  t.traces = ttq.size();
  t.p50_ns = Percentile(ttq, 50);
  t.p90_ns = Percentile(ttq, 90);
  t.p99_ns = Percentile(ttq, 99);
  t.max_ns = ttq.empty() ? 0 : ttq.back();
  t.precision_ns = precision_ns;
  // Upper bounds count as 0: they sort first, so rank r falls among the exact samples only when r
  // is above their number.
  std::sort(ttq_exact.begin(), ttq_exact.end());
  const size_t zeros = ttq.size() - ttq_exact.size();
  if (!ttq.empty()) {
    const auto rank = std::clamp<size_t>(
        static_cast<size_t>(std::ceil(0.99 * static_cast<double>(ttq.size()))), 1, ttq.size());
    t.observed_p99_ns = rank <= zeros ? 0 : ttq_exact[rank - zeros - 1];
  }
  t.observed_max_ns = ttq_exact.empty() ? 0 : ttq_exact.back();
  t.late_floor_ns = late_floor_ns;
  for (const auto& [key, c] : late_hops) {
    const auto& [hop, caller, callee, kind] = key;
    t.late_hops.push_back(LateHop{hop, caller, callee, kind, c.first, c.second});
  }
  std::stable_sort(t.late_hops.begin(), t.late_hops.end(),
                   [](const LateHop& a, const LateHop& b) { return a.traces > b.traces; });
  if (t.late_hops.size() > options.max_late_hops) t.late_hops.resize(options.max_late_hops);
  return summary;
}

// The earliest and latest request times in a ledger (0, 0 when none has any).
std::pair<uint64_t, uint64_t> LedgerTimeSpan(const Ledger& ledger) {
  uint64_t first_ns = UINT64_MAX;
  uint64_t last_ns = 0;
  for (const LedgerEntry& e : ledger) {
    for (uint64_t t : {e.intended_unix_nano, e.start_unix_nano, e.end_unix_nano}) {
      if (t == 0) continue;
      first_ns = std::min(first_ns, t);
      last_ns = std::max(last_ns, t);
    }
  }
  if (last_ns == 0) return {0, 0};
  return {first_ns, last_ns};
}

// The backend's own dependency list over the requests' time span, against the expected edges of
// the observed graph. Never an Error: a failed fetch is the graph's `error`.
BackendGraph FetchBackendGraph(BackendClient& backend, std::pair<uint64_t, uint64_t> span,
                               const GraphComparison& observed, const VerifyOptions& options) {
  BackendGraph g;
  const auto [first_ns, last_ns] = span;
  if (last_ns == 0) {
    g.error = "no request times in the ledger to choose a window";
    return g;
  }
  const uint64_t pad = options.dependency_window_padding_ns;
  g.start_unix_micros = (first_ns > pad ? first_ns - pad : 0) / kNanosPerMicro;
  g.end_unix_micros = (last_ns + pad) / kNanosPerMicro;
  auto links = backend.GetDependencies(g.start_unix_micros, g.end_unix_micros);
  if (!links) {
    g.error = links.error().message;
  } else if (!*links) {
    g.error = fmt::format("not served by this backend ({})", backend.Describe());
  } else {
    g.fetched = true;
    g.links = std::move(**links);
    g.comparison = CompareDependencies(ExpectedEdgesOf(observed), g.links);
  }
  return g;
}

// Every overload: `backend` is used when given (one worker), else `make_client` per worker;
// the traces come from `ledger`, or from `feed` as they arrive.
Result<VerificationSummary> Verify(const Scenario& scenario, const Ledger* ledger,
                                   LedgerFeed* feed, BackendClient* backend,
                                   const BackendClientFactory* make_client,
                                   const VerifyOptions& options, const Clock& clock,
                                   Sleeper& sleeper, ProgressFn progress) {
  const uint64_t start_ns = clock.NowMonotonicNano();
  if (ledger != nullptr && ledger->size() > UINT32_MAX) {
    return MakeError(fmt::format("ledger has {} entries; at most {} can be verified in one run",
                                 ledger->size(), UINT32_MAX));
  }
  auto z = TwoSidedZ(options.sampling_confidence);
  if (!z) return MakeError(fmt::format("verifier: {}", z.error().message));
  // One expected tree per load entry, built before the workers start, unless they vary per
  // request.
  const bool per_request = TreesVaryPerRequest(scenario, options.statistical_sampling);
  std::vector<std::optional<PreparedTree>> trees(scenario.load.entries.size());
  if (!per_request) {
    for (uint32_t e = 0; e < trees.size(); ++e) {
      LedgerEntry any;
      any.entry = e;
      trees[e] = Prepare(scenario, any, /*per_request=*/false);
    }
  }
  std::vector<const LedgerEntry*> sampled;
  size_t skipped = 0;
  if (ledger != nullptr) {
    for (const LedgerEntry& entry : *ledger) {
      if (entry.entry >= scenario.load.entries.size()) {
        return MakeError(fmt::format(
            "ledger entry {} names load entry {}, but scenario \"{}\" has {} load entries",
            entry.sequence, entry.entry, scenario.name, scenario.load.entries.size()));
      }
      if (!entry.sampled) {
        ++skipped;
        continue;
      }
      sampled.push_back(&entry);
    }
  }

  SharedRun shared;
  shared.total = sampled.size();
  shared.feed = feed;
  shared.progress = std::move(progress);
  ClassifyOptions classify;
  classify.clock_skew_tolerance_ns = options.clock_skew_tolerance_ns;
  classify.attributes = options.attribute_expectations;
  for (const AttributeRequirement& r : scenario.expect.attributes) {
    for (const std::string& key : r.required) {
      classify.attributes.push_back(AttributeExpectation{r.service, r.kind, key, std::nullopt});
    }
    for (const auto& [key, value] : r.values) {
      classify.attributes.push_back(AttributeExpectation{r.service, r.kind, key, value});
    }
  }
  const uint64_t late_floor_ns = LateSpanFloor(scenario, options);
  const uint64_t precision_ns =
      options.poll_interval_ns + (feed != nullptr ? options.stream_wait_ns : 0);
  const Inputs inputs{scenario, feed,     trees,         per_request,  classify, options,
                      clock,    sleeper,  start_ns,      late_floor_ns, precision_ns};
  size_t workers = 1;
  if (backend == nullptr) {
    workers = feed != nullptr ? feed->shards()
                              : std::max<size_t>(1, std::min(options.concurrency, sampled.size()));
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
  if (feed != nullptr) {
    for (size_t w = 0; w < workers; ++w) pool[w]->SetShard(w);
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
  if (feed != nullptr) skipped = feed->skipped_unsampled();
  auto summary =
      Merge(scenario, parts, skipped, options, *z, per_request, late_floor_ns, precision_ns);
  if (!summary) return summary;
  if (options.fetch_backend_dependencies) {
    // The workers are done: the first one's client asks (no new connection).
    BackendClient& client = backend != nullptr ? *backend : *clients.front();
    summary->backend_graph =
        FetchBackendGraph(client, feed != nullptr ? feed->TimeSpan() : LedgerTimeSpan(*ledger),
                          summary->graph, options);
  }
  {
    std::lock_guard lock(shared.progress_mu);
    const size_t total = shared.Total();
    if (shared.settled < total && shared.progress) shared.progress(total, total);
  }
  summary->elapsed_ns = clock.NowMonotonicNano() - start_ns;
  if (feed != nullptr) {
    summary->streamed = true;
    uint64_t closed_at = 0;
    for (const auto& w : pool) closed_at = std::max(closed_at, w->closed_at_ns());
    summary->after_load_ns = summary->elapsed_ns - std::min(summary->elapsed_ns, closed_at);
  }
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
  return Verify(scenario, &ledger, nullptr, &backend, nullptr, options, clock, sleeper,
                std::move(progress));
}

Result<VerificationSummary> VerifyLedger(const Scenario& scenario, const Ledger& ledger,
                                         const BackendClientFactory& make_client,
                                         const VerifyOptions& options, const Clock& clock,
                                         Sleeper& sleeper, ProgressFn progress) {
  return Verify(scenario, &ledger, nullptr, nullptr, &make_client, options, clock, sleeper,
                std::move(progress));
}

Result<VerificationSummary> VerifyLedgerFeed(const Scenario& scenario, LedgerFeed& feed,
                                             const BackendClientFactory& make_client,
                                             const VerifyOptions& options, const Clock& clock,
                                             Sleeper& sleeper, ProgressFn progress) {
  return Verify(scenario, nullptr, &feed, nullptr, &make_client, options, clock, sleeper,
                std::move(progress));
}

}  // namespace tracerig
