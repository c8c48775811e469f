// The verification loop: polls a backend for every trace in the ledger until each one has settled
// (ingestion is asynchronous), looks for fragments of the ones that are not complete, and
// classifies them. Time and waiting are injected so tests run on a fake clock without sleeping.
// The polling strategy, precisely (stable counts, settle time, deadline, backoff, batches, time to
// queryable, late spans) is documented in docs/VERIFYING.md under "The rules, precisely"; every
// knob is a VerifyOptions field.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/ledger.h"
#include "core/result.h"
#include "topology/scenario.h"
#include "verifier/backend_client.h"
#include "verifier/classify.h"
#include "verifier/external_hops.h"
#include "verifier/graph.h"
#include "verifier/ledger_feed.h"
#include "verifier/sampling_stats.h"

namespace tracerig {

class Sleeper {
 public:
  virtual ~Sleeper() = default;
  virtual void SleepFor(uint64_t nanos) = 0;
};

// Sleeps the calling thread. Thread-safe.
class ThreadSleeper final : public Sleeper {
 public:
  void SleepFor(uint64_t nanos) override;
};

// One trace settled and classified, as VerifyOptions::on_trace hears of it (canary metrics).
struct TraceOutcome {
  const LedgerEntry* entry = nullptr;  // valid only during the call
  const TraceVerdict* verdict = nullptr;  // valid only during the call
  // The trace was absent because the backend evicted it to stay within its bounds.
  bool evicted = false;
  // Complete traces: the time from its last export to the first poll that found it whole (see
  // TimeToQueryable); nullopt when there is no sample.
  std::optional<uint64_t> time_to_queryable_ns;
};

class WireLog;  // topology/wire_log.h
class BatchLog;  // topology/batch_log.h

struct VerifyOptions {
  // Between polls of a trace that has fewer spans than expected.
  uint64_t poll_interval_ns = std::chrono::nanoseconds(std::chrono::milliseconds(100)).count();
  // Between polls of a trace that already has all expected spans (confirming it is stable).
  uint64_t min_repoll_interval_ns = std::chrono::nanoseconds(std::chrono::milliseconds(20)).count();
  // A trace settles when its span count was the same in this many consecutive polls and either it
  // has all expected spans or it has not changed for settle_incomplete_ns.
  int stable_polls = 2;
  uint64_t settle_incomplete_ns = std::chrono::nanoseconds(std::chrono::seconds(2)).count();
  // Overall: when it passes, what is known is classified and deadline_hit is set.
  uint64_t deadline_ns = std::chrono::nanoseconds(std::chrono::seconds(60)).count();
  // Failed backend requests in a row before giving up with "backend unreachable".
  int max_backend_errors = 3;
  // When set, a streak of failures also has to have lasted this long (from its first failure, by
  // `clock`) before giving up: a canary rides out a backend blip shorter than this, whether its
  // requests fail at once (connection refused) or only at their timeout (a hung backend).
  uint64_t backend_retry_ns = 0;
  // Wait before retrying a failed request; doubles per consecutive failure up to the max.
  uint64_t error_backoff_ns = std::chrono::nanoseconds(std::chrono::milliseconds(100)).count();
  uint64_t error_backoff_max_ns = std::chrono::nanoseconds(std::chrono::seconds(2)).count();
  // Worker threads, each with its own client: the bound on requests in flight. Only the
  // client-factory overload of VerifyLedger uses more than one.
  size_t concurrency = 8;
  // Requests started per second over all workers; 0 = no limit.
  double max_requests_per_second = 0;
  // Trace ids per poll request, further capped by BackendClient::MaxTracesPerRequest(); 0 or 1:
  // one GetTrace per poll.
  size_t max_traces_per_request = 100;
  // A child SERVER span may start before / end after its parent CLIENT span by this much before
  // it is a "clock-skew" violation.
  uint64_t clock_skew_tolerance_ns = 0;
  size_t max_examples = 5;  // per non-complete status, and per violation kind
  // Confidence of the sampling verdicts and of the graph's call-count tolerance, in (0, 1).
  double sampling_confidence = kDefaultSamplingConfidence;
  // Exact (tracerig's simulated services made every sampling decision, seeded): each request's
  // expected tree applies its decisions, so completeness is exact and no statistical verdict is
  // needed. Statistical: the decisions are not known per request (a collector or SDK sampling on
  // its own): one tree per load entry, sampling rates judged with Wilson intervals; requests
  // sampled out then count as incomplete, so completeness must be read with that in mind.
  bool statistical_sampling = false;
  // Required attributes on expected spans (the scenario's [expect.attributes]); violations of
  // kind "attribute".
  std::vector<AttributeExpectation> attribute_expectations;
  // A trace seen incomplete at its first poll and complete later, with a time to queryable above
  // this, counts the spans it lacked at that first poll as late (used when the scenario sets no
  // time_to_queryable expectation; otherwise the smallest expectation is the floor).
  uint64_t late_span_floor_ns = std::chrono::nanoseconds(std::chrono::seconds(1)).count();
  size_t max_late_hops = 10;  // TimeToQueryable::late_hops keeps the most frequent ones
  // Fetch the backend's own dependency list after verifying (VerificationSummary::backend_graph).
  bool fetch_backend_dependencies = true;
  uint64_t dependency_window_padding_ns =
      std::chrono::nanoseconds(std::chrono::minutes(1)).count();
  // When the last span of an entry's trace was exported (Unix ns; 0 = unknown, no sample). Empty:
  // the entry's end_unix_nano. Called from worker threads, so it must be thread-safe.
  std::function<uint64_t(const LedgerEntry&)> last_export_unix_nano;
  // Streaming only: a trace's first poll comes this long after its entry arrived. At once (the
  // default), it mostly finds the trace still in the exporter's batch, so the later poll that
  // finds it full gives a measured sample rather than an upper bound ...
  uint64_t stream_first_poll_delay_ns = 0;
  // ... and a worker takes new entries and polls what is due on a grid of this step: at most one
  // request per worker and step, however the traces trickle in. Samples then overestimate by up
  // to poll_interval_ns plus this.
  uint64_t stream_wait_ns = std::chrono::nanoseconds(std::chrono::milliseconds(25)).count();
  // Why tracerig's own exporter dropped spans of a trace ("" when it did not): a missing or
  // incomplete trace it names is "not exported", the backend never had the chance to hold it.
  // Asked once each poller has settled all its traces (`tracerig run` flushes the exporter
  // before that), from worker threads, so it must be thread-safe.
  std::function<std::string(const TraceId&)> export_loss;
  // What the simulated services received (`tracerig run` only: they run in this process); null
  // when unknown (`tracerig verify`). Explanations quote it; checks below external services use it.
  const WireLog* wire_log = nullptr;
  // What the batch consumers processed (in process only); null: batch links are not checked.
  const BatchLog* batch_log = nullptr;
  // Messages published that no consumer has finished with yet (in process only; empty: unknown).
  // An incomplete trace whose tree has consumers is not judged while this is above 0 (until the
  // deadline): a consumer's backlog may hold its message far longer than its latency.
  // Thread-safe.
  std::function<uint64_t()> messages_outstanding;
  // Called once per trace as soon as it is classified, from worker threads (so it must be
  // thread-safe and quick). Statuses are as classified: a missing trace that export_loss later
  // names is reported missing here. Empty: nothing is called.
  std::function<void(const TraceOutcome&)> on_trace;
};

// One service's observed sampled fraction against what its policy implies (sampling_stats.h).
struct SamplingVerdict {
  std::string service;
  std::string policy;  // SamplingPolicyName of the service's own policy: "ratio(0.25)", ...
  uint64_t n = 0;      // verified requests whose expected tree reaches the service
  uint64_t k = 0;      // of those, requests in which at least one of its spans was found
  double observed = 0;       // k / n
  double expected = 0;       // mean over the n requests of the chance its spans are sampled
  double interval_low = 0;   // Wilson interval of k / n at `confidence`
  double interval_high = 0;
  double confidence = 0;
  std::string verdict;  // "pass", "fail", "not enough traces", "not judged" (see `reason`)
  // Parent-based visits of this service whose decision (spans found or not) differed from their
  // caller's, in complete and incomplete traces.
  uint64_t parent_based_inconsistencies = 0;
  // Fault kind ("drop-span", "unsampled-child") -> requests in which the scenario's fault withheld
  // spans of this service. Withheld spans are the fault's doing: they are left out of n and k (a
  // request whose spans of the service were all withheld is no trial).
  std::map<std::string, uint64_t> withheld_by_faults;
  std::string reason;  // why, when "not judged"
};

// One `[expect] sampling` entry judged (SamplingExpectation in topology/scenario.h), in file order.
struct SamplingExpectationVerdict {
  // "payment" (a service's ratio), "errors", "slower-than-500ms", "ratio" (of the other
  // requests), "whole-traces": the check is "sampling:expect:<name>".
  std::string name;
  // Ratios: requests reaching the service (all requests for "ratio": those neither errors nor
  // slow) and, of them, those with its spans kept. errors / slower-than: such requests and, of
  // them, those kept. whole-traces: kept traces and, of them, those complete.
  uint64_t n = 0;
  uint64_t k = 0;
  double expected = 1;  // the declared ratio; 1 for the others (every one)
  double interval_low = 0;  // ratios: Wilson interval of k / n at `confidence`
  double interval_high = 0;
  double confidence = 0;
  std::string verdict;  // "pass", "fail", "not enough traces"
  std::string message;  // one line: the figures and what was expected
  // errors, slower-than, ratio, whole-traces: the backend is expected to sample whole traces
  // itself, so the run's completeness is judged over the traces it kept.
  bool trace_level = false;
};

// Spans of one edge of the call tree that were missing at their traces' first poll and arrived
// later (see "Late spans" above).
struct LateHop {
  std::string hop;
  std::string caller;
  std::string callee;
  SpanKind kind = SpanKind::kUnspecified;  // the late span's: CLIENT (caller's), SERVER (callee's)
  size_t traces = 0;
  uint64_t max_ns = 0;  // the largest time to queryable among those traces

  bool operator==(const LateHop&) const = default;
};

// Time from a trace's last export to the first poll that returned all of it (see the polling
// strategy above for the approximation and its precision).
struct TimeToQueryable {
  size_t traces = 0;        // complete traces with a sample
  size_t upper_bounds = 0;  // of those, full at their first poll: the sample is an upper bound
  uint64_t p50_ns = 0;      // nearest-rank percentiles of the samples
  uint64_t p90_ns = 0;
  uint64_t p99_ns = 0;
  uint64_t max_ns = 0;
  // Each sample overestimates by up to this: the poll interval (plus stream_wait_ns, streaming).
  uint64_t precision_ns = 0;
  // What an expectation is judged on: the same p99 and max with each upper bound counted as 0. A
  // trace full at its first poll became queryable at some unknown time before it; when
  // verification starts after the run, its bound is mostly how long the run went on after that
  // request, not the backend's lag. So only traces seen incomplete, then complete, count.
  uint64_t observed_p99_ns = 0;
  uint64_t observed_max_ns = 0;
  size_t late_traces = 0;  // traces whose late spans were attributed (above the floor)
  uint64_t late_floor_ns = 0;
  std::vector<LateHop> late_hops;  // most traces first, then by hop; at most max_late_hops
};

// The backend's own dependency list against the expected edges (presence only).
struct BackendGraph {
  bool fetched = false;
  std::string error;  // why it was not fetched ("not served by this backend", a fetch failure)
  uint64_t start_unix_micros = 0;  // the window asked for
  uint64_t end_unix_micros = 0;
  std::vector<DependencyLink> links;  // as the backend answered
  GraphComparison comparison;
};

// How many traces broke at one edge of the call tree.
struct BreakEdgeCount {
  std::string hop;
  std::string caller;
  std::string callee;
  size_t traces = 0;
};

// Subtrees recorded below a span the configuration left unrecorded: a service that samples a
// request its caller sampled out (`always` below `ratio(0.25)`) records spans whose parent never
// arrives. One per cause (orphan_causes.h); failing checks "orphans:..." of kind "orphans".
struct OrphanCause {
  std::string service;  // the service whose spans top the subtrees
  std::string policy;   // its sampling policy, as SamplingPolicyName names it
  // The topmost ancestor whose spans were not recorded: a service and its policy, or the driver
  // (kDriverServiceName) and "sampled=0" when the driver sent the request unsampled.
  std::string cause_service;
  std::string cause_policy;
  // The service whose CLIENT span, the subtree's real parent, was not recorded (the caller).
  std::string parent_service;
  size_t traces = 0;  // traces holding at least one such subtree
  // The first such trace, in ledger order (its request's sequence number).
  uint64_t example_sequence = 0;
  TraceId example_trace;

  bool operator==(const OrphanCause&) const = default;
};

// Publish-to-process latency of one queue: from a message's PRODUCER span start to the start of
// the CONSUMER span that processed it (first delivery, redeliveries and dead-lettered deliveries
// alike), over the async edges found in verified traces (batches: through their links).
struct QueueLatency {
  std::string queue;
  std::string consumer;  // the consuming service
  size_t messages = 0;   // samples
  uint64_t p50_ns = 0;   // nearest-rank percentiles
  uint64_t p90_ns = 0;
  uint64_t p99_ns = 0;
  uint64_t max_ns = 0;

  bool operator==(const QueueLatency&) const = default;
};

// Whether span links could be checked, and how they fared (batch consumers only).
struct LinkSummary {
  // False when the backend cannot hold links (Zipkin v2 has none) or no batch log was available
  // (`tracerig verify`): `reason` says which, and no link verdict is given.
  bool checkable = true;
  std::string reason;
  size_t expected = 0;  // links the batch spans should carry (one per message processed)
  size_t found = 0;     // of those, present and pointing at the message's PRODUCER span
};

struct VerificationSummary {
  size_t checked = 0;  // sampled ledger entries, each classified once
  size_t complete = 0;
  size_t incomplete = 0;
  size_t broken = 0;
  size_t missing = 0;
  // Absent traces the backend itself evicted to stay within its bounds (its store figures say it
  // dropped every trace that arrived up to after the request started): not lost on the way, but
  // not complete either. Not counted in `missing`.
  size_t evicted = 0;
  // The backend's store figures, when it serves them and some trace was absent.
  std::optional<BackendStoreStats> backend_store;
  // Missing or incomplete because tracerig's exporter dropped spans of them (export_loss); not
  // counted in `missing` or `incomplete`.
  size_t not_exported = 0;
  size_t skipped_unsampled = 0;  // entries the driver sent unsampled: nothing is expected of them
  std::vector<TraceVerdict> examples;  // up to max_examples per non-complete status, ledger order
  std::vector<BreakEdgeCount> break_edges;  // most frequent first, then by hop
  // Violation kind -> number of traces with at least one violation of that kind.
  std::map<std::string, size_t> violation_counts;
  size_t traces_with_violations = 0;
  // Up to max_examples traces per violation kind (each trace once), ledger order. Independent of
  // `examples`: a broken trace with violations can be in both.
  std::vector<TraceVerdict> violation_examples;
  // Subtrees whose parent the configuration left unrecorded, per cause, most traces first. Not
  // violations (the structure is what the configuration makes), but never excused silently.
  std::vector<OrphanCause> orphan_causes;
  uint64_t polls = 0;             // traces answered by GetTrace(s) (retries not counted)
  uint64_t backend_requests = 0;  // GetTrace, GetTraces and FindSpans calls, retries included
  uint64_t elapsed_ns = 0;
  // Streaming: verification ran alongside the load, and went on this long after it ended.
  bool streamed = false;
  uint64_t after_load_ns = 0;
  bool deadline_hit = false;
  std::vector<SamplingVerdict> sampling;  // one per scenario service reached, by service name
  // The scenario's `[expect] sampling` entries judged, in file order (empty without them).
  std::vector<SamplingExpectationVerdict> sampling_expectations;
  uint64_t parent_based_inconsistencies = 0;  // sum over `sampling`
  // The service graph observed in the verified traces against the topology's expected edges
  // (expected calls weighted by the requests verified and their sampling chances).
  GraphComparison graph;
  TimeToQueryable time_to_queryable;  // over complete traces
  // Only when options.fetch_backend_dependencies; `fetched` false with an error otherwise.
  std::optional<BackendGraph> backend_graph;
  // Below each real service, per callee its route declares: what arrived and how it was
  // attributed (external_hops.h). Only with a wire log (`tracerig run`) and declared calls.
  std::vector<ExternalHopCounts> external_hops;
  // Async edges: per queue, by queue name (empty when the scenario publishes nothing).
  std::vector<QueueLatency> queue_latency;
  std::optional<LinkSummary> links;  // only when some consumer batches
};

// Per load entry, whether the ledger's unsampled requests to it are verified: those the scenario
// sends with sampled=0 (LoadEntry::sampled), whose expected trees hold what services sampling on
// their own record (an empty tree is complete when the backend holds nothing). Other unsampled
// ledger entries are skipped (skipped_unsampled).
std::vector<bool> UnsampledEntriesVerified(const Scenario& scenario);

// Each entry's expected tree is BuildExpectedTree(scenario, scenario.load.entries[entry.entry]).
// Fragments are searched by tracerig.request_id for each service with missing spans, within the
// entry's times ± 1 minute. Sampling trials count, per service and verified request, whether any
// of its expected spans was found (under the trace id or among fragments); the service graph
// counts the calls in the spans returned for the trace and in fragments under other trace ids.
// The scenario's `[expect] attributes` are checked on every expected span found (as
// options.attribute_expectations are), and its `[expect] sampling` entries are judged into
// sampling_expectations: a trace is kept when anything of it was found (it is not missing); a
// service's spans are kept when any was found; a request reached a service when its expected
// tree has spans of it or visits it sampled out. Ratios are judged like sampling verdicts
// (JudgeSamplingRate at the entry's confidence, else sampling_confidence); errors, slower-than
// and whole-traces pass only when every such request (trace) was kept (whole).
// Errors: a ledger entry naming a load entry the scenario does not have, a sampling_confidence
// outside (0, 1), or "backend unreachable: <reason>" (kUnavailable) after max_backend_errors
// failed requests in a row — a backend failure is never counted as missing traces. `progress` is
// called as traces settle.
// This overload uses `backend` alone, on the calling thread (concurrency 1).
Result<VerificationSummary> VerifyLedger(
    const Scenario& scenario, const Ledger& ledger, BackendClient& backend,
    const VerifyOptions& options, const Clock& clock, Sleeper& sleeper,
    std::function<void(size_t done, size_t total)> progress = {});

// Makes one client per worker; called on the calling thread, so it need not be thread-safe.
using BackendClientFactory = std::function<std::unique_ptr<BackendClient>()>;

// The same with min(options.concurrency, sampled traces) workers, each polling its share of the
// ledger (every n-th trace) with its own client from `make_client`. With one worker it runs on
// the calling thread. `clock` and `sleeper` must be thread-safe (SystemClock, ThreadSleeper and
// FakeClock are); `progress` is never called concurrently.
Result<VerificationSummary> VerifyLedger(
    const Scenario& scenario, const Ledger& ledger, const BackendClientFactory& make_client,
    const VerifyOptions& options, const Clock& clock, Sleeper& sleeper,
    std::function<void(size_t done, size_t total)> progress = {});

// Verifies the entries of `feed` as they arrive, with feed.shards() workers (each its own client
// from `make_client`, taking one shard), until the feed is closed and every trace taken has
// settled (or the deadline, counted from the closing, passed). Run it on its own thread while the
// load runs; the rest is as VerifyLedger. `progress` gets the traces settled and those arrived.
Result<VerificationSummary> VerifyLedgerFeed(
    const Scenario& scenario, LedgerFeed& feed, const BackendClientFactory& make_client,
    const VerifyOptions& options, const Clock& clock, Sleeper& sleeper,
    std::function<void(size_t done, size_t total)> progress = {});

}  // namespace tracerig
