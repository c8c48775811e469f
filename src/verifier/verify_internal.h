// What the pieces of the verification loop share: prepared expected trees, per-trace state, the
// ledger sources and trace pollers, and the per-poller results merged at the end. Not public API.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <queue>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "core/clock.h"
#include "core/ledger.h"
#include "core/result.h"
#include "topology/expected_tree.h"
#include "topology/scenario.h"
#include "verifier/backend_client.h"
#include "verifier/classify.h"
#include "verifier/graph.h"
#include "verifier/ledger_feed.h"
#include "verifier/sampling_stats.h"
#include "verifier/verify.h"
#include "topology/batch_log.h"

namespace tracerig::verify_internal {

using ProgressFn = std::function<void(size_t done, size_t total)>;

constexpr uint64_t kNanosPerMicro = 1000;
constexpr uint64_t kAllPresent = UINT64_MAX;
constexpr size_t kMaskBits = 64;
// (hop, caller, callee, kind of the late span).
using LateHopKey = std::tuple<std::string, std::string, std::string, SpanKind>;

// ---- Expected trees (prepared_tree.cc) ----

// An expected edge of a tree, with its calls grouped by the sampling decisions behind them.
struct TreeEdge {
  std::string key;  // caller '\0' callee, as the per-poller map is keyed
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
  // With external services: of `required`, the spans tracerig records (with its ground truth).
  // A real service's own spans (its CLIENT spans, internal ones) are not in the tree but count in
  // a trace's size, so a trace is full only when this many spans carry tracerig.hop as well.
  bool has_external = false;
  size_t required_ground_truth = 0;
  // (tracerig.hop, kind) of each required span tracerig records under the ledger's trace id,
  // sorted: a trace is full only when each is there, so spans the tree does not expect (a
  // service recording below a sampled-out caller) cannot make it look whole early.
  std::vector<std::pair<std::string, SpanKind>> required_keys;
  TreeSamplingModel sampling;
  std::vector<TreeEdge> edges;
  // The calls a complete trace without violations shows: every span is an expected one under its
  // expected parent, so its graph is known without looking at the spans.
  std::vector<std::pair<std::string, std::string>> clean_calls;  // caller, callee; repeats kept
  // Parent-based visits: (opening span, its caller's visit, index into sampling.services).
  std::vector<std::tuple<uint32_t, uint32_t, uint32_t>> follows;
};

// The prepared tree of one ledger entry: per request, every seeded decision of that request
// applies; shared, the tree without random decisions (sampling is then modelled statistically).
PreparedTree Prepare(const Scenario& scenario, const LedgerEntry& entry, bool per_request);

// Whether `spans` may hold the whole trace of `prepared` (see PreparedTree::required).
bool HoldsRequiredSpans(const PreparedTree& prepared, const std::vector<Span>& spans);

// Per-request trees when the seeded decisions change a request's tree. In statistical sampling
// mode ratio sampling alone does not count: its rates are judged statistically on the shared tree
// (sampling_stats.h), which per-request trees could not do, since they apply each decision.
bool TreesVaryPerRequest(const Scenario& scenario, bool statistical_sampling);

// ---- Per-trace state ----

// What a poller keeps per trace: no spans (a poll's spans are classified at once or dropped),
// which is what bounds memory per ledger entry.
struct TraceState {
  uint64_t last_change_ns = 0;
  uint64_t first_full_unix_ns = 0;  // the first poll with all expected spans; 0 = none yet
  // Bit i: expected span i was there at the first poll (kAllPresent: it was full, or the tree has
  // more spans than bits, so lateness is not attributed).
  uint64_t first_poll_present = kAllPresent;
  const LedgerEntry* entry = nullptr;  // in the ledger or the feed, which outlive the pollers
  uint32_t last_count = 0;
  uint16_t same_count_polls = 0;  // consecutive polls that saw last_count
  bool polled = false;
  bool full_at_first_poll = false;
};
static_assert(sizeof(TraceState) <= 40, "keep per-trace state small (<= ~200 B per entry)");

// ---- Per-poller results (trace_tally.cc), merged at the end (merge_summary.cc) ----

// Sampling trials of one service, summed over requests.
struct SamplingCounts {
  std::string policy;
  uint64_t n = 0;
  uint64_t k = 0;
  double expected_sum = 0;
  bool deterministic = true;  // every trial's chance was 0 or 1
  uint64_t inconsistencies = 0;
  std::map<std::string, uint64_t> withheld;  // fault kind -> requests (SamplingVerdict)
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
  // Takes out the kept verdict of `sequence`, if there is one.
  std::optional<TraceVerdict> Remove(uint64_t sequence) {
    auto it = std::find_if(kept_.begin(), kept_.end(),
                           [&](const TraceVerdict& v) { return v.sequence == sequence; });
    if (it == kept_.end()) return std::nullopt;
    TraceVerdict v = std::move(*it);
    kept_.erase(it);
    return v;
  }

 private:
  std::vector<TraceVerdict> kept_;  // by sequence
};

// Trials of one `[expect] sampling` entry (SamplingExpectationVerdict says what n and k count).
struct ExpectationCounts {
  uint64_t n = 0;
  uint64_t k = 0;
};

// One poller's results, merged at the end (no shared mutable state while verifying).
struct PartialSummary {
  VerificationSummary counts;  // counters only
  std::map<std::tuple<std::string, std::string, std::string>, size_t> edge_counts;
  std::map<TraceStatus, FirstVerdicts> examples;
  std::map<std::string, FirstVerdicts> violation_examples;
  std::vector<OrphanCause> orphan_causes;  // MergeOrphanCauses of every trace's
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
  std::optional<BackendStoreStats> store;  // the backend's store figures, last read
  // Trace ids of the requests whose trees reach a real service's declared calls, and per
  // (real service, callee) the traces with an external-hop violation there.
  std::set<TraceId> external_traces;
  std::map<std::pair<std::string, std::string>, uint64_t> external_broken;
  // Async edges (trace_poller_async.cc): publish-to-process samples per (queue, consumer), and
  // batch links (LinkSummary's counts; `links_unsupported`: the backend's description when it
  // returns no links, so none were checked).
  std::map<std::pair<std::string, std::string>, std::vector<uint64_t>> queue_latency;
  size_t links_expected = 0;
  size_t links_found = 0;
  std::optional<std::string> links_unsupported;
  std::optional<Error> error;
};

// VerificationSummary::queue_latency and ::links from the pollers' async samples and counts
// (trace_poller_async.cc).
void MergeAsyncEdges(const Scenario& scenario, const std::vector<PartialSummary>& parts,
                     const VerifyOptions& options, VerificationSummary& summary);

// Merges the pollers' results into one summary, examples in ledger order. `per_request`: the
// expected trees applied every seeded decision, sampling included, so each service's sampled
// count is exact (judged as a certain count); with statistical sampling it is not judged.
Result<VerificationSummary> Merge(const Scenario& scenario, std::vector<PartialSummary>& parts,
                                  size_t skipped, const VerifyOptions& options, double z,
                                  bool per_request, uint64_t late_floor_ns,
                                  uint64_t precision_ns);

// ---- What the pollers share ----

// How far the run got, shared by the pollers: the first error stops everyone (`abort`); settled
// traces are counted and reported under a lock.
struct RunProgress {
  std::atomic<bool> abort{false};
  std::mutex progress_mu;
  size_t settled = 0;
  size_t total = 0;                  // a ledger's sampled entries
  const LedgerFeed* feed = nullptr;  // streaming: the total is what has arrived so far
  ProgressFn progress;

  size_t Total() const { return feed != nullptr ? feed->sampled() : total; }
  void Settled() {
    std::lock_guard lock(progress_mu);
    ++settled;
    if (progress) progress(settled, Total());
  }
};

// What every poller reads, fixed for the run.
struct PollerInputs {
  const Scenario& scenario;
  // One per load entry, built before the pollers start; unused when trees vary per request.
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

// ---- Where a poller's traces come from (ledger_source.cc) ----

// The traces a poller takes and the pace of its polls: the whole ledger known up front, or one
// shard of a LedgerFeed as entries arrive. Times are from the verification's start.
class LedgerSource {
 public:
  virtual ~LedgerSource() = default;
  // Appends the entries that arrived since the last call to `arrived`; false once no more will
  // come (the source is closed).
  virtual bool Take(std::vector<const LedgerEntry*>& arrived) = 0;
  // When the first poll of a trace taken at `now` is due.
  virtual uint64_t FirstPollAt(uint64_t now) const = 0;
  // The deadline, given that the source was seen closed at `now`.
  virtual uint64_t DeadlineOnClose(uint64_t now) const = 0;
  // When to look again with no trace pending while the source is open.
  virtual uint64_t IdleWakeAt(uint64_t now) const = 0;
  // When to wake for the earliest pending poll, due at `due` (later than `now`).
  virtual uint64_t WakeAt(uint64_t now, uint64_t due, uint64_t deadline) const = 0;
  // No request before this (0: none is held back).
  virtual uint64_t NotBefore() const = 0;
  // A request was made at `now`; `full` when the batch had as many traces as a request takes.
  virtual void Requested(uint64_t now, bool full) = 0;
};

// A poller's share of a ledger known up front: every trace is taken at once and first polled at
// 0, so all are asked once, in ledger order, before any repoll; the deadline counts from the start.
class WholeLedgerSource final : public LedgerSource {
 public:
  WholeLedgerSource(std::vector<const LedgerEntry*> entries, uint64_t deadline_ns)
      : entries_(std::move(entries)), deadline_ns_(deadline_ns) {}
  bool Take(std::vector<const LedgerEntry*>& arrived) override;
  uint64_t FirstPollAt(uint64_t now) const override;
  uint64_t DeadlineOnClose(uint64_t now) const override;
  uint64_t IdleWakeAt(uint64_t now) const override;
  uint64_t WakeAt(uint64_t now, uint64_t due, uint64_t deadline) const override;
  uint64_t NotBefore() const override { return 0; }
  void Requested(uint64_t now, bool full) override;

 private:
  std::vector<const LedgerEntry*> entries_;  // until taken
  uint64_t deadline_ns_;
};

// One shard of a LedgerFeed: entries come until the feed closes, and the deadline counts from
// then. Polls fall on a grid of stream_wait_ns, so traces that arrive one by one are still asked
// for in batches (at most one request per poller and tick, unless a full batch leaves a backlog).
class FeedShardSource final : public LedgerSource {
 public:
  FeedShardSource(LedgerFeed& feed, size_t shard, const VerifyOptions& options)
      : feed_(feed), shard_(shard), options_(options) {}
  bool Take(std::vector<const LedgerEntry*>& arrived) override;
  uint64_t FirstPollAt(uint64_t now) const override;
  uint64_t DeadlineOnClose(uint64_t now) const override;
  uint64_t IdleWakeAt(uint64_t now) const override;
  uint64_t WakeAt(uint64_t now, uint64_t due, uint64_t deadline) const override;
  uint64_t NotBefore() const override { return next_request_ns_; }
  void Requested(uint64_t now, bool full) override;

 private:
  // The first multiple of stream_wait_ns after `t`.
  uint64_t NextTick(uint64_t t) const;

  LedgerFeed& feed_;
  size_t shard_;
  const VerifyOptions& options_;
  bool open_ = true;
  uint64_t next_request_ns_ = 0;
};

// ---- Counting classified traces (trace_tally.cc) ----

// One poller's classified traces counted into a PartialSummary: statuses, examples, sampling
// trials, the service graph, time to queryable and late spans. Single-threaded.
class TraceTally {
 public:
  explicit TraceTally(const PollerInputs& in) : in_(in), slots_(in.trees.size()) {}

  // Counts one classified trace: `spans` came under its trace id, `fragments` from searches.
  void Add(const TraceState& s, const PreparedTree& prepared, const TraceVerdict& verdict,
           const std::vector<Span>& spans, const std::vector<Span>& fragments);
  // Counts an absent trace the backend evicted: evicted, not missing, and no analytics (nothing
  // of it can be seen).
  void AddEvicted(const TraceState& s, const TraceVerdict& verdict);

  // Moves the missing and incomplete traces that VerifyOptions::export_loss names to
  // not_exported, examples included. Once, after every trace is classified.
  void ReclassifyNotExported();

  PartialSummary& partial() { return result_; }

 private:
  // A tree's counters in result_, looked up by name once per shared tree (map nodes do not move).
  struct TreeSlots {
    std::vector<SamplingCounts*> sampling;  // per TreeSamplingModel::services entry
    std::vector<EdgeExpectation*> edges;    // per PreparedTree::edges entry
    std::vector<uint64_t*> clean_calls;     // per PreparedTree::clean_calls entry
  };

  // A missing or incomplete trace, kept (only with export_loss) until ReclassifyNotExported.
  struct LossCandidate {
    TraceId trace_id;
    uint64_t sequence = 0;
    uint64_t request_id = 0;
    TraceStatus status = TraceStatus::kMissing;
  };

  void Record(const TraceVerdict& verdict);
  // Sets ttq_sample_ when the trace gives a time-to-queryable sample.
  void RecordAnalytics(const TraceState& s, const LedgerEntry& entry, const PreparedTree& prepared,
                       const TraceVerdict& verdict, const std::vector<Span>& spans,
                       const std::vector<Span>& fragments);
  void RecordSamplingExpectations(const LedgerEntry& entry, const PreparedTree& prepared,
                                  const TraceVerdict& verdict);
  void RecordLateSpans(const TraceState& s, const std::vector<ExpectedSpan>& expected,
                       uint64_t sample);
  // Sets withheld_by_: per expected span, the index in Scenario::faults of the fault that keeps it
  // from the backend in this request (drop-span, unsampled-child), Scenario::faults.size() when
  // the wire shows its visit followed a sampled flag its caller cleared (ClearedByTheWire), else
  // -1. False when none does.
  bool ConditionHolds(const FaultCondition& when, const LedgerEntry& entry,
                      const ExpectedSpan& server) const;
  bool MarkWithheld(const LedgerEntry& entry, const PreparedTree& prepared);
  // Sampling trials of this trace, per service of the tree (found_ and withheld_by_ set).
  void RecordSamplingTrials(const PreparedTree& prepared, TreeSlots& slots, bool any_withheld);

  const PollerInputs& in_;
  PartialSummary result_;
  std::vector<TreeSlots> slots_;  // per load entry, for shared trees
  std::vector<char> found_;       // per expected span, reused between traces
  std::vector<char> decided_;     // per visit opener, reused between traces
  std::vector<int> withheld_by_;  // per expected span, reused between traces
  std::vector<LossCandidate> loss_candidates_;
  std::optional<uint64_t> ttq_sample_;  // of the trace Add is counting
};

// ---- Polling (trace_poller.cc) ----

// Polls and classifies the traces its source hands it, with its own client. Single-threaded.
class TracePoller {
 public:
  // `pollers`: how many share max_requests_per_second.
  TracePoller(const PollerInputs& in, RunProgress& progress, BackendClient& backend,
              std::unique_ptr<LedgerSource> source, size_t pollers);

  PartialSummary Run();

  // When this poller saw its source closed (from the verification's start).
  uint64_t closed_at_ns() const { return closed_at_ns_; }

 private:
  uint64_t Elapsed() const { return in_.clock.NowMonotonicNano() - in_.start_ns; }
  // Starts tracking a trace that arrived at `now`; false (the error is recorded) when it cannot.
  bool Track(const LedgerEntry* entry, uint64_t now);
  const PreparedTree& TreeOf(const TraceState& s);
  void NoteFull(TraceState& s, bool full, bool first_poll);
  uint64_t SettleIncompleteNs(const ExpectedTree& tree) const;
  bool AwaitingMessages(const ExpectedTree& tree, uint64_t quiet_ns) const;
  bool Poll(const std::vector<uint32_t>& batch, std::vector<TraceFetch>& answers);
  void Fail(const Error& error);
  void Pace();
  template <typename Call>
  auto WithRetries(Call&& call) -> decltype(call());
  bool Finish(const TraceState& s, const std::vector<Span>& spans);
  // Whether the backend evicted the absent trace of `entry`: its store figures say every trace
  // that first arrived up to after the request started is gone. Figures are read again at most
  // once per poll interval; a backend that serves none, or fails to, evicted nothing we know of.
  bool EvictedByBackend(const LedgerEntry& entry);
  void CheckBelowRealServices(const ExpectedTree& tree, const LedgerEntry& entry,
                              const std::vector<Span>& spans, const std::vector<Span>& fragments,
                              TraceVerdict& verdict);
  // Async edges of the tree (trace_poller_async.cc): publish-to-process latency samples, and each
  // linked CONSUMER span's batch fetched and its link checked ("link" violations). False when a
  // fetch failed (the error is recorded).
  bool CheckAsyncEdges(const ExpectedTree& tree, const LedgerEntry& entry,
                       const std::vector<Span>& spans, const std::vector<Span>& fragments,
                       TraceVerdict& verdict);
  // The batch trace `id` holding batch span `span_id`, from the cache or the backend (asked again,
  // poll_interval_ns apart, while the span is not in it: a batch span is exported when its batch
  // ends; a batch given up on once is asked once). Null when the backend has no such trace;
  // nullopt when a request failed (the error is recorded).
  std::optional<const std::vector<Span>*> BatchTrace(TraceId id, SpanId span_id);
  // How many looks at the batch log (one poll interval apart) a message to the consumer of linked
  // CONSUMER span `e` gets before it counts as never processed: enough for the consumer's batch
  // wait, latency and calls at their worst, plus a margin (trace_poller_async.cc).
  int BatchLogAttempts(const ExpectedSpan& e);
  // GetTrace with retries (WithRetries, which lives in trace_poller.cc).
  Result<std::optional<std::vector<Span>>> FetchTrace(TraceId id);

  const PollerInputs& in_;
  RunProgress& progress_;
  BackendClient& backend_;
  std::unique_ptr<LedgerSource> source_;
  TraceTally tally_;
  bool may_split_ = true;  // RequestsMaySplit(scenario): worth searching sampled-out visits
  std::vector<TraceState> states_;
  // Earliest next poll first; equal times in the order traces were taken.
  using Due = std::pair<uint64_t, uint32_t>;  // next poll time, index into states_
  std::priority_queue<Due, std::vector<Due>, std::greater<>> queue_;
  size_t unpolled_ = 0;
  uint64_t request_gap_ns_ = 0;
  uint64_t next_request_ns_ = 0;
  size_t batch_size_ = 1;  // trace ids per poll request
  uint64_t closed_at_ns_ = 0;
  std::vector<TraceId> ids_;   // the current batch's distinct trace ids, reused
  std::vector<size_t> id_of_;  // per trace of the batch, its index into ids_
  std::optional<PreparedTree> scratch_;  // per-request trees only
  // Batch traces holding their batch span (bounded: kMaxCachedBatches).
  std::map<TraceId, std::vector<Span>> batch_traces_;
  std::vector<Span> batch_scratch_;  // a batch trace fetched without its batch span (not cached)
  std::set<uint64_t> batch_spans_given_up_;       // waited for in vain once: asked once after
  std::map<std::string, int> batch_log_attempts_;  // per consumer queue (BatchLogAttempts)
  // The batch log's size when a wait for a batch last ran out: while nothing has been logged
  // since, the consumers are taken to be done and a message not logged is not waited for.
  size_t batch_log_stalled_at_ = SIZE_MAX;
  bool store_stats_served_ = true;
  bool store_stats_read_ = false;
  uint64_t store_stats_read_at_ns_ = 0;
};

}  // namespace tracerig::verify_internal
