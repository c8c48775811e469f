// The async edges of a polled trace: publish-to-process latency per queue, and the span links of
// batch consumers, whose spans live in traces of their own (found through the batch log).
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "core/ledger.h"
#include "topology/batch_log.h"
#include "topology/expected_tree.h"
#include "topology/messaging.h"
#include "verifier/async_edges.h"
#include "verifier/link_checks.h"
#include "verifier/verify_internal.h"

namespace tracerig::verify_internal {
namespace {

// Batch traces kept per poller: a batch holds many requests' messages, polled close together.
constexpr size_t kMaxCachedBatches = 64;
// Requests for a batch trace that does not hold its batch span yet, at least, before the span
// counts as absent (one poll interval apart; as long as settle_incomplete_ns when that is longer).
constexpr int kBatchTraceAttempts = 3;
// Looks at the batch log for a message no batch has processed yet before it counts as never
// processed, one poll interval apart, when the poll interval is 0 (else see BatchLogAttempts).
constexpr int kBatchLogAttempts = 10;
// The margin BatchLogAttempts adds for scheduling, and the longest it waits whatever the consumer.
constexpr uint64_t kBatchWaitMarginNs = 2'000'000'000;
constexpr uint64_t kMaxBatchWaitNs = 30'000'000'000;

uint64_t SaturatingAdd(uint64_t a, uint64_t b) { return a > UINT64_MAX - b ? UINT64_MAX : a + b; }

// The longest `consumer` (of `service`) takes to process a batch, its latency and calls at their
// worst, as CalleeWorstCaseNs bounds a route: the consumer's processing is one, given to its
// service as a route of its own on a copy of the scenario.
uint64_t ConsumerWorstCaseNs(const Scenario& scenario, std::string_view service,
                             const Consumer& consumer) {
  Scenario copy = scenario;
  const std::string route = "\n" + consumer.queue;  // no route of a scenario's has a newline
  for (Service& s : copy.services) {
    if (s.name != service) continue;
    Route processing;
    processing.name = route;
    processing.latency = consumer.latency;
    processing.calls = consumer.calls;
    s.routes.push_back(std::move(processing));
    return CalleeWorstCaseNs(copy, service, route);
  }
  return UINT64_MAX;
}

// Whether `spans` hold span `span_id`.
bool Holds(const std::vector<Span>& spans, SpanId span_id) {
  return std::any_of(spans.begin(), spans.end(),
                     [span_id](const Span& s) { return s.span_id == span_id; });
}

// The span that stands for expected span `e` of request `request_id`: the copy under the
// ledger's trace id when there is one, else one found elsewhere (a broken edge's).
const Span* FindSpan(const ExpectedSpan& e, const LedgerEntry& entry,
                     const std::vector<Span>& spans, const std::vector<Span>& fragments) {
  const Span* elsewhere = nullptr;
  for (const std::vector<Span>* list : {&spans, &fragments}) {
    for (const Span& span : *list) {
      if (span.kind != e.kind || span.service_name != e.service) continue;
      const AttributeValue* hop = span.FindAttribute(kHopAttribute);
      const auto* text = hop == nullptr ? nullptr : std::get_if<std::string>(hop);
      if (text == nullptr || *text != e.hop || !CarriesRequestId(span, entry.request_id)) continue;
      if (span.trace_id == entry.trace_id) return &span;
      if (elsewhere == nullptr) elsewhere = &span;
    }
  }
  return elsewhere;
}

uint64_t Percentile(const std::vector<uint64_t>& sorted, double p) {
  if (sorted.empty()) return 0;
  const auto rank = static_cast<size_t>(std::ceil(p / 100 * static_cast<double>(sorted.size())));
  return sorted[std::clamp<size_t>(rank, 1, sorted.size()) - 1];
}

}  // namespace

bool TracePoller::CheckAsyncEdges(const ExpectedTree& tree, const LedgerEntry& entry,
                                  const std::vector<Span>& spans,
                                  const std::vector<Span>& fragments, TraceVerdict& verdict) {
  PartialSummary& partial = tally_.partial();
  const BatchLog* batch_log = in_.options.batch_log;
  const bool links = batch_log != nullptr && backend_.SupportsLinks();
  for (size_t i = 0; i < tree.spans.size(); ++i) {
    const ExpectedSpan& e = tree.spans[i];
    if (e.kind != SpanKind::kConsumer || e.parent < 0 ||
        static_cast<size_t>(e.parent) >= tree.spans.size()) {
      continue;
    }
    const ExpectedSpan& publish = tree.spans[static_cast<size_t>(e.parent)];
    if (publish.kind != SpanKind::kProducer) continue;  // the publisher was sampled out
    const Span* producer = FindSpan(publish, entry, spans, fragments);
    uint64_t processed = 0;  // when the delivery's processing started
    if (!e.linked) {
      const Span* consumer = FindSpan(e, entry, spans, fragments);
      if (consumer != nullptr) processed = consumer->start_unix_nano;
    } else if (links) {
      const std::string request_id = FormatRequestId(entry.request_id);
      // Without the message's PRODUCER span there is nothing to link to: nothing is checked.
      std::optional<BatchRecord> batch;
      if (producer != nullptr) batch = batch_log->Find(request_id, e.hop);
      if (producer != nullptr && !batch && batch_log->size() != batch_log_stalled_at_) {
        // The message may still wait for its batch to fill or to be processed.
        const int attempts = BatchLogAttempts(e);
        for (int attempt = 1; !batch && attempt < attempts; ++attempt) {
          in_.sleeper.SleepFor(in_.options.poll_interval_ns);
          batch = batch_log->Find(request_id, e.hop);
        }
        if (!batch) batch_log_stalled_at_ = batch_log->size();
      }
      const std::vector<Span>* batch_trace = nullptr;
      if (batch && batch->sampled && producer != nullptr) {
        const std::optional<const std::vector<Span>*> fetched =
            BatchTrace(batch->trace_id, batch->span_id);
        if (!fetched) return false;
        batch_trace = *fetched;
      }
      const LinkCheck check =
          CheckBatchLink(e, producer, entry.request_id, batch ? &*batch : nullptr, batch_trace);
      partial.links_expected += check.checked ? 1 : 0;
      partial.links_found += check.found ? 1 : 0;
      processed = check.batch_start_unix_nano;
      if (check.parented_to_message) {
        // Said once, as the link violation, not again as a span the tree has no place for.
        const std::string id = check.batch_span.ToHex();
        std::erase_if(verdict.violations, [&](const Violation& v) {
          return v.kind == "unexpected-span" && v.service == e.service &&
                 v.explanation.find(id) != std::string::npos;
        });
      }
      if (check.violation) verdict.violations.push_back(*check.violation);
    } else if (batch_log != nullptr) {
      partial.links_unsupported = backend_.Describe();
    }
    if (producer == nullptr || processed == 0) continue;
    const uint64_t sent = producer->start_unix_nano;
    partial.queue_latency[{e.queue, e.service}].push_back(processed > sent ? processed - sent : 0);
  }
  return true;
}

int TracePoller::BatchLogAttempts(const ExpectedSpan& e) {
  const uint64_t poll = in_.options.poll_interval_ns;
  if (poll == 0) return kBatchLogAttempts;
  if (auto it = batch_log_attempts_.find(e.queue); it != batch_log_attempts_.end()) {
    return it->second;
  }
  // The batch is logged once its span is recorded: after the batch wait (its first message may
  // have just arrived), the consumer's latency and its calls.
  uint64_t bound = kMaxBatchWaitNs;
  const ConsumerRef ref = ConsumerOfQueue(in_.scenario, e.queue);
  if (ref.consumer != nullptr && ref.service->name == e.service) {
    const uint64_t worst = ConsumerWorstCaseNs(in_.scenario, e.service, *ref.consumer);
    const uint64_t processed = SaturatingAdd(ref.consumer->batch.wait_ns, worst);
    bound = std::min(bound, SaturatingAdd(processed, kBatchWaitMarginNs));
  }
  const int attempts = static_cast<int>(std::max<uint64_t>(1, (bound + poll - 1) / poll));
  batch_log_attempts_.emplace(e.queue, attempts);
  return attempts;
}

std::optional<const std::vector<Span>*> TracePoller::BatchTrace(TraceId id, SpanId span_id) {
  auto cached = batch_traces_.find(id);
  if (cached != batch_traces_.end() && Holds(cached->second, span_id)) return &cached->second;
  const uint64_t poll = in_.options.poll_interval_ns;
  int attempts = kBatchTraceAttempts;
  if (poll > 0) {
    // As patient as the poller is with any incomplete trace.
    const uint64_t patience = std::min(in_.options.settle_incomplete_ns, kMaxBatchWaitNs);
    attempts = std::max(attempts, static_cast<int>(patience / poll));
  }
  if (batch_spans_given_up_.contains(span_id.value)) attempts = 1;
  const std::vector<Span>* found = nullptr;
  for (int attempt = 0; attempt < attempts; ++attempt) {
    if (attempt > 0) in_.sleeper.SleepFor(poll);
    auto fetched = FetchTrace(id);
    if (!fetched) {
      Fail(fetched.error());
      return std::nullopt;
    }
    if (!*fetched) continue;
    if (Holds(**fetched, span_id)) {
      if (batch_traces_.size() >= kMaxCachedBatches) batch_traces_.clear();
      return &(batch_traces_[id] = std::move(**fetched));
    }
    // Not cached: the span may arrive yet, for this message or the batch's next one.
    batch_scratch_ = std::move(**fetched);
    found = &batch_scratch_;
  }
  if (batch_spans_given_up_.size() >= kMaxCachedBatches) batch_spans_given_up_.clear();
  batch_spans_given_up_.insert(span_id.value);
  return found;
}

void MergeAsyncEdges(const Scenario& scenario, const std::vector<PartialSummary>& parts,
                     const VerifyOptions& options, VerificationSummary& summary) {
  std::map<std::pair<std::string, std::string>, std::vector<uint64_t>> samples;
  LinkSummary links;
  std::optional<std::string> unsupported;
  for (const PartialSummary& p : parts) {
    for (const auto& [key, values] : p.queue_latency) {
      std::vector<uint64_t>& all = samples[key];
      all.insert(all.end(), values.begin(), values.end());
    }
    links.expected += p.links_expected;
    links.found += p.links_found;
    if (p.links_unsupported) unsupported = p.links_unsupported;
  }
  for (auto& [key, values] : samples) {
    std::sort(values.begin(), values.end());
    QueueLatency q;
    q.queue = key.first;
    q.consumer = key.second;
    q.messages = values.size();
    q.p50_ns = Percentile(values, 50);
    q.p90_ns = Percentile(values, 90);
    q.p99_ns = Percentile(values, 99);
    q.max_ns = values.back();
    summary.queue_latency.push_back(std::move(q));
  }
  const bool batches = std::any_of(
      scenario.services.begin(), scenario.services.end(), [](const Service& s) {
        return std::any_of(s.consumers.begin(), s.consumers.end(),
                           [](const Consumer& c) { return c.IsBatch(); });
      });
  if (!batches) return;
  if (options.batch_log == nullptr) {
    links = LinkSummary{false, "batch log unavailable (tracerig verify)", 0, 0};
  } else if (unsupported) {
    links = LinkSummary{false,
                        fmt::format("{} returns no span links (Zipkin v2 has none): batch links "
                                    "not checked",
                                    *unsupported),
                        0, 0};
  }
  summary.links = std::move(links);
}

}  // namespace tracerig::verify_internal
