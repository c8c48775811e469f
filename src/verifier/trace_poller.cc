// The trace poller: polls the traces its LedgerSource hands it until each settles (or the deadline
// passes), with batching, pacing and retries, and classifies each, searching fragments if needed.
#include "verifier/verify_internal.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <tuple>
#include <utility>

#include "verifier/async_edges.h"
#include "verifier/context_checks.h"
#include "verifier/unexpected_fragments.h"
#include "verifier/wire_explain.h"

namespace tracerig::verify_internal {
namespace {

// Fragments are searched this far around the request's own times: spans of a broken trace start
// within the request, but backends index by a span's start time, which clock skew can move.
constexpr uint64_t kFragmentWindowNs = 60'000'000'000ull;
constexpr double kNanosPerSecond = 1e9;
// The most an incomplete trace's settle time grows for its consumers (as `tracerig run` waits at
// most 30 s for queued messages after the load).
constexpr uint64_t kMaxAsyncSettleNs = 30'000'000'000ull;

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
  std::string sent = formats(caller->Injects());
  std::string read = formats(callee->extract);
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
  if (!b.destination.empty()) {
    return fmt::format("{} injects {} into the message's headers; {} extracts {}{}", b.caller,
                       sent, b.callee, read, DescribeConsumerFaults(scenario, b));
  }
  return fmt::format("{} injects {}; {} extracts {}", b.caller, sent, b.callee, read);
}

// Orders spans so that duplicates (the same span returned by two searches) sit together.
auto SpanIdentity(const Span& s) {
  return std::tie(s.trace_id, s.span_id, s.service_name, s.kind, s.start_unix_nano);
}

}  // namespace

TracePoller::TracePoller(const PollerInputs& in, RunProgress& progress, BackendClient& backend,
                         std::unique_ptr<LedgerSource> source, size_t pollers)
    : in_(in),
      progress_(progress),
      backend_(backend),
      source_(std::move(source)),
      tally_(in),
      may_split_(RequestsMaySplit(in.scenario)) {
  batch_size_ = std::max<size_t>(
      1, std::min(in.options.max_traces_per_request, backend.MaxTracesPerRequest()));
  if (in.options.max_requests_per_second > 0) {
    request_gap_ns_ = static_cast<uint64_t>(static_cast<double>(pollers) * kNanosPerSecond /
                                            in.options.max_requests_per_second);
  }
}

bool TracePoller::Track(const LedgerEntry* e, uint64_t now) {
  if (e->entry >= in_.scenario.load.entries.size()) {
    Fail(MakeError(fmt::format(
        "ledger entry {} names load entry {}, but scenario \"{}\" has {} load entries",
        e->sequence, e->entry, in_.scenario.name, in_.scenario.load.entries.size())));
    return false;
  }
  if (states_.size() >= UINT32_MAX) {
    Fail(MakeError(fmt::format("more than {} traces for one verifier worker", UINT32_MAX)));
    return false;
  }
  TraceState state;
  state.entry = e;
  states_.push_back(state);
  queue_.emplace(source_->FirstPollAt(now), static_cast<uint32_t>(states_.size() - 1));
  ++unpolled_;
  return true;
}

PartialSummary TracePoller::Run() {
  const VerifyOptions& options = in_.options;
  PartialSummary& result = tally_.partial();
  // Traces come until the source closes; the deadline is known from then.
  bool open = true;
  uint64_t deadline = UINT64_MAX;
  std::vector<const LedgerEntry*> arrived;
  std::vector<uint32_t> batch;
  std::vector<TraceFetch> answers;
  while (!progress_.abort.load(std::memory_order_relaxed)) {
    uint64_t now = Elapsed();
    if (open) {
      arrived.clear();
      open = source_->Take(arrived);
      for (const LedgerEntry* e : arrived) {
        if (!Track(e, now)) return std::move(result);
      }
      if (!open) {
        deadline = source_->DeadlineOnClose(now);
        closed_at_ns_ = now;
        arrived = {};
      }
    }
    if (queue_.empty()) {
      if (!open) break;
      in_.sleeper.SleepFor(source_->IdleWakeAt(now) - now);
      continue;
    }
    const uint64_t due = queue_.top().first;
    // Past the deadline, only traces never polled yet and already due are still asked.
    if (now >= deadline && (unpolled_ == 0 || due > now)) {
      result.counts.deadline_hit = true;
      break;
    }
    if (due > now) {
      in_.sleeper.SleepFor(source_->WakeAt(now, due, deadline) - now);
      continue;
    }
    if (now < source_->NotBefore() && now < deadline) {  // this step had its request
      in_.sleeper.SleepFor(std::min(source_->NotBefore(), deadline) - now);
      continue;
    }
    // Every trace due now, earliest first, in one request.
    batch.clear();
    while (!queue_.empty() && queue_.top().first <= now && batch.size() < batch_size_) {
      batch.push_back(queue_.top().second);
      queue_.pop();
    }
    source_->Requested(now, batch.size() >= batch_size_);
    if (!Poll(batch, answers)) return std::move(result);
    for (size_t k = 0; k < batch.size(); ++k) {
      const uint32_t i = batch[k];
      TraceState& s = states_[i];
      const LedgerEntry& entry = *s.entry;
      std::vector<Span> spans;
      if (answers[k]) spans = std::move(*answers[k]);
      if (!s.polled) --unpolled_;
      const size_t count = spans.size();
      const bool full = HoldsRequiredSpans(TreeOf(s), spans);
      now = Elapsed();
      if (!s.polled && !full) {
        s.first_poll_present = PresentAtFirstPoll(TreeOf(s).tree, entry, spans);
      }
      NoteFull(s, full, !s.polled);
      if (!s.polled || count != s.last_count) {
        s.polled = true;
        s.last_count = static_cast<uint32_t>(count);
        s.same_count_polls = 1;
        s.last_change_ns = now;
      } else if (s.same_count_polls < UINT16_MAX) {
        ++s.same_count_polls;
      }
      if (s.same_count_polls >= options.stable_polls &&
          (full || (now - s.last_change_ns >= SettleIncompleteNs(TreeOf(s).tree) &&
                    !AwaitingMessages(TreeOf(s).tree, now - s.last_change_ns)))) {
        progress_.Settled();
        if (!Finish(s, spans)) return std::move(result);
        continue;
      }
      queue_.emplace(now + (full ? options.min_repoll_interval_ns : options.poll_interval_ns), i);
    }
  }
  if (progress_.abort.load()) return std::move(result);
  // Past the deadline: one last poll of each pending trace (spans are not kept between polls),
  // classified as it stands, in ledger order.
  std::vector<uint32_t> rest;
  while (!queue_.empty()) {
    rest.push_back(queue_.top().second);
    queue_.pop();
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
      NoteFull(s, HoldsRequiredSpans(TreeOf(s), spans), !s.polled);
      if (!Finish(s, spans)) return std::move(result);
    }
  }
  tally_.ReclassifyNotExported();
  return std::move(result);
}

// How long an incomplete trace must stay unchanged before it is judged as it stands: a trace
// whose messages are consumed waits for its consumers too (their CONSUMER spans are exported only
// when their processing ends), their worst case on top (ExpectedTree::async_settle_ns).
// Capped at kMaxAsyncSettleNs (a consumer calling a real service has no worst case).
uint64_t TracePoller::SettleIncompleteNs(const ExpectedTree& tree) const {
  return in_.options.settle_incomplete_ns + std::min(tree.async_settle_ns, kMaxAsyncSettleNs);
}

// Whether an incomplete trace with consumers is still held because the runtime has messages
// queued or in processing (a backlog outlasts any per-delivery worst case); at most
// kMaxAsyncSettleNs past its settle time (during a long load some message is always in flight),
// and the deadline still ends the wait. `quiet_ns`: how long the trace has been unchanged.
bool TracePoller::AwaitingMessages(const ExpectedTree& tree, uint64_t quiet_ns) const {
  if (!in_.options.messages_outstanding ||
      quiet_ns >= SettleIncompleteNs(tree) + kMaxAsyncSettleNs) {
    return false;
  }
  const bool consumers =
      tree.async_settle_ns > 0 ||
      std::any_of(tree.spans.begin(), tree.spans.end(),
                  [](const ExpectedSpan& e) { return e.kind == SpanKind::kConsumer; });
  return consumers && in_.options.messages_outstanding() > 0;
}

// The prepared tree of a trace: shared per load entry, or built for the entry (and kept until
// another entry needs one) when trees vary per request.
const PreparedTree& TracePoller::TreeOf(const TraceState& s) {
  const LedgerEntry& entry = *s.entry;
  if (!in_.per_request_trees) return *in_.trees[entry.entry];
  if (!scratch_ || scratch_->sequence != entry.sequence) {
    scratch_ = Prepare(in_.scenario, entry, /*per_request=*/true);
  }
  return *scratch_;
}

// Remembers when a trace was first seen with all its expected spans (time to queryable).
void TracePoller::NoteFull(TraceState& s, bool full, bool first_poll) {
  if (!full || s.first_full_unix_ns != 0) return;
  s.first_full_unix_ns = in_.clock.NowUnixNano();
  s.full_at_first_poll = first_poll;
}

// Runs `call` until it succeeds or fails max_backend_errors times in a row (and, with
// backend_retry_ns, for that long since the first failure), backing off.
template <typename Call>
auto TracePoller::WithRetries(Call&& call) -> decltype(call()) {
  const VerifyOptions& options = in_.options;
  const int attempts = std::max(1, options.max_backend_errors);
  uint64_t backoff = options.error_backoff_ns;
  uint64_t first_failure_ns = 0;
  for (int failures = 0;;) {
    Pace();
    ++tally_.partial().counts.backend_requests;
    auto result = call();
    if (result) return result;
    const uint64_t now = in_.clock.NowMonotonicNano();
    if (failures == 0) first_failure_ns = now;
    const bool long_enough = now - first_failure_ns >= options.backend_retry_ns;
    if ((++failures >= attempts && long_enough) ||
        progress_.abort.load(std::memory_order_relaxed)) {
      return MakeError(ErrorCode::kUnavailable,
                       fmt::format("backend unreachable: {}", result.error().message));
    }
    in_.sleeper.SleepFor(backoff);
    backoff = std::min(backoff * 2, std::max(options.error_backoff_max_ns, backoff));
  }
}

// The traces of `batch` in one request (GetTrace for a batch of one), with retries; `answers`
// gets one per trace. False on failure (the error is recorded).
bool TracePoller::Poll(const std::vector<uint32_t>& batch, std::vector<TraceFetch>& answers) {
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
  tally_.partial().counts.polls += batch.size();
  if (ids_.size() == batch.size()) {
    answers = std::move(*fetched);
  } else {
    answers.clear();
    for (size_t k : id_of_) answers.push_back((*fetched)[k]);
  }
  return true;
}

Result<std::optional<std::vector<Span>>> TracePoller::FetchTrace(TraceId id) {
  return WithRetries([&] { return backend_.GetTrace(id); });
}

void TracePoller::Fail(const Error& error) {
  tally_.partial().error = error;
  progress_.abort.store(true);
}

// Keeps the poller's share of max_requests_per_second.
void TracePoller::Pace() {
  if (request_gap_ns_ == 0) return;
  const uint64_t now = Elapsed();
  if (next_request_ns_ > now) in_.sleeper.SleepFor(next_request_ns_ - now);
  next_request_ns_ = std::max(now, next_request_ns_) + request_gap_ns_;
}

// Classifies a trace from its last poll; for one that is not complete, searches each service
// that still has missing spans for spans with the request id under other trace ids. One search
// often finds a whole broken subtree, so the verdict is recomputed after each. A request whose
// tree has sampled-out visits also has those visits' services searched (until one search shows
// a split, unexpected_fragments.h), complete or not. False when a search failed (the error is
// recorded).
bool TracePoller::Finish(const TraceState& s, const std::vector<Span>& spans) {
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
  bool started_fetched = false;
  // A request with sampled-out visits may have spans where its tree expects none (a service that
  // records an unsampled request under a trace of its own): the services to search for them.
  const LoadEntry& load = in_.scenario.load.entries[entry.entry];
  const std::vector<std::string> split_search =
      may_split_ ? SampledOutSearchServices(tree, load) : std::vector<std::string>{};
  bool split_found = false;
  auto add_fragments = [&fragments](std::vector<Span>& more) {
    for (Span& span : more) fragments.push_back(std::move(span));
    std::sort(fragments.begin(), fragments.end(),
              [](const Span& a, const Span& b) { return SpanIdentity(a) < SpanIdentity(b); });
    fragments.erase(std::unique(fragments.begin(), fragments.end(),
                                [](const Span& a, const Span& b) {
                                  return SpanIdentity(a) == SpanIdentity(b);
                                }),
                    fragments.end());
  };
  for (;;) {
    verdict = ClassifyTrace(tree, entry, spans, fragments, in_.classify);
    // An edge-started request's own trace, once its id is known: fetched whole, for the spans
    // still to find and for its structure.
    if (verdict.started_trace.IsValid() && !started_fetched) {
      started_fetched = true;
      auto own = WithRetries([&] { return backend_.GetTrace(verdict.started_trace); });
      if (!own) {
        Fail(own.error());
        return false;
      }
      if (*own) {
        // The trace as fetched replaces the copies the search found: a search may render spans
        // differently (microsecond times), and two renderings of one span are no duplicate.
        std::erase_if(fragments,
                      [&](const Span& s) { return s.trace_id == verdict.started_trace; });
        add_fragments(**own);
        continue;
      }
    }
    // Judged on this verdict, once the started trace (if any) is known.
    if (!split_search.empty() && !fragments.empty()) {
      split_found = !FindUnsampledSplits(in_.scenario, load, tree, entry, verdict.started_trace,
                                         fragments)
                         .empty();
    }
    std::string service;
    if (verdict.status != TraceStatus::kComplete) {
      auto next = std::find_if(verdict.missing.begin(), verdict.missing.end(),
                               [&](const MissingSpan& m) { return !searched.contains(m.service); });
      if (next != verdict.missing.end()) service = next->service;
    }
    // Sampled-out visits: their services are searched too (one at a time, until a split shows),
    // so spans recorded under another trace id where the tree expects none are not missed.
    if (service.empty() && !split_found) {
      auto next = std::find_if(split_search.begin(), split_search.end(),
                               [&](const std::string& name) { return !searched.contains(name); });
      if (next != split_search.end()) service = *next;
    }
    if (service.empty()) break;
    searched.insert(service);
    auto found = WithRetries([&] {
      return backend_.FindSpans(service, kRequestIdAttribute, request_id, window_start,
                                window_end);
    });
    if (!found) {
      Fail(found.error());
      return false;
    }
    add_fragments(*found);
  }
  if (split_found) {
    AddUnsampledSplits(entry,
                       FindUnsampledSplits(in_.scenario, load, tree, entry, verdict.started_trace,
                                           fragments),
                       verdict);
  }
  for (const PropagationBreak& b : verdict.breaks) {
    const std::string formats = DescribeEdgeFormats(in_.scenario, b);
    if (!formats.empty()) verdict.explanation += "; " + formats;
  }
  CheckBelowRealServices(tree, entry, spans, fragments, verdict);
  if (!CheckAsyncEdges(tree, entry, spans, fragments, verdict)) return false;
  if (in_.options.wire_log != nullptr) {
    CheckWireContext(in_.scenario, in_.scenario.load.entries[entry.entry], tree, entry,
                     *in_.options.wire_log, verdict);
  }
  if (in_.options.wire_log != nullptr) {
    AddWireExplanations(*in_.options.wire_log, in_.scenario, entry, verdict);
  }
  if (verdict.status == TraceStatus::kMissing && EvictedByBackend(entry)) {
    verdict.explanation = fmt::format(
        "evicted by the backend: it dropped every trace that arrived up to after this request "
        "started, to stay within its bounds ({})",
        verdict.explanation);
    tally_.AddEvicted(s, verdict);
    return true;
  }
  tally_.Add(s, prepared, verdict, spans, fragments);
  return true;
}

// The hops below real services (external_hops.h): each one a real service broke is a violation
// of the trace, and said in its explanation when the trace is not complete.
void TracePoller::CheckBelowRealServices(const ExpectedTree& tree, const LedgerEntry& entry,
                                         const std::vector<Span>& spans,
                                         const std::vector<Span>& fragments,
                                         TraceVerdict& verdict) {
  if (std::none_of(tree.spans.begin(), tree.spans.end(),
                   [](const ExpectedSpan& e) { return e.parent_external; })) {
    return;
  }
  PartialSummary& partial = tally_.partial();
  partial.external_traces.insert(entry.trace_id);
  std::set<std::pair<std::string, std::string>> broken;
  for (Violation& v : CheckExternalHops(in_.scenario, tree, entry, spans, fragments,
                                        in_.options.wire_log)) {
    for (const ExpectedSpan& e : tree.spans) {
      if (e.parent_external && e.hop == v.hop) broken.emplace(e.peer, e.service);
    }
    if (verdict.status != TraceStatus::kComplete) verdict.explanation += "; " + v.explanation;
    verdict.violations.push_back(std::move(v));
  }
  for (const auto& edge : broken) ++partial.external_broken[edge];
  for (const std::string& untied :
       DescribeUntiedHops(tree, entry, verdict.missing, in_.options.wire_log)) {
    verdict.explanation += "; " + untied;
  }
}

bool TracePoller::EvictedByBackend(const LedgerEntry& entry) {
  if (!store_stats_served_) return false;
  // The earliest its spans can have arrived: when the request was sent (or scheduled).
  const uint64_t sent =
      entry.start_unix_nano != 0 ? entry.start_unix_nano : entry.intended_unix_nano;
  if (sent == 0) return false;
  std::optional<BackendStoreStats>& known = tally_.partial().store;
  auto evicted = [&] { return known && known->evicted_through_unix_nano >= sent; };
  if (evicted()) return true;  // eviction only moves forward
  const uint64_t now = Elapsed();
  if (store_stats_read_ && now - store_stats_read_at_ns_ < in_.options.poll_interval_ns) {
    return false;
  }
  store_stats_read_ = true;
  store_stats_read_at_ns_ = now;
  auto stats = backend_.GetStoreStats();
  if (!stats) {
    ++tally_.partial().counts.backend_requests;
    return false;  // not known: the trace stays missing
  }
  if (!*stats) {
    store_stats_served_ = false;  // no request was made
    return false;
  }
  ++tally_.partial().counts.backend_requests;
  known = **stats;
  return evicted();
}

}  // namespace tracerig::verify_internal
