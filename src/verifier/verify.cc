// VerifyLedger and VerifyLedgerFeed: prepare the expected trees, deal the traces to pollers, run
// them, merge their results and ask the backend for its own dependency list.
#include "verifier/verify.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <thread>
#include <utility>

#include "verifier/verify_internal.h"

namespace tracerig {
namespace {

using verify_internal::FeedShardSource;
using verify_internal::kNanosPerMicro;
using verify_internal::LedgerSource;
using verify_internal::Merge;
using verify_internal::PartialSummary;
using verify_internal::PollerInputs;
using verify_internal::Prepare;
using verify_internal::PreparedTree;
using verify_internal::ProgressFn;
using verify_internal::RunProgress;
using verify_internal::TracePoller;
using verify_internal::TreesVaryPerRequest;
using verify_internal::WholeLedgerSource;

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

// The options ClassifyTrace checks every trace with: the verifier's and the scenario's
// `[expect] attributes`.
ClassifyOptions ClassifyOptionsFor(const Scenario& scenario, const VerifyOptions& options) {
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
  return classify;
}

// Every overload: `backend` is used when given (one poller), else `make_client` per poller;
// the traces come from `ledger`, or from `feed` as they arrive.
Result<VerificationSummary> Verify(const Scenario& scenario, const Ledger* ledger,
                                   LedgerFeed* feed, BackendClient* backend,
                                   const BackendClientFactory* make_client,
                                   const VerifyOptions& options, const Clock& clock,
                                   Sleeper& sleeper, ProgressFn progress) {
  const uint64_t start_ns = clock.NowMonotonicNano();
  if (ledger != nullptr && ledger->size() > UINT32_MAX) {
    return MakeError(ErrorCode::kResourceExhausted,
                     fmt::format("ledger has {} entries; at most {} can be verified in one run",
                                 ledger->size(), UINT32_MAX));
  }
  auto z = TwoSidedZ(options.sampling_confidence);
  if (!z) {
    return MakeError(ErrorCode::kInvalidArgument, fmt::format("verifier: {}", z.error().message));
  }
  // One expected tree per load entry, built before the pollers start, unless they vary per
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
  const std::vector<bool> verify_unsampled = UnsampledEntriesVerified(scenario);
  if (ledger != nullptr) {
    for (const LedgerEntry& entry : *ledger) {
      if (entry.entry >= scenario.load.entries.size()) {
        return MakeError(
            ErrorCode::kInvalidArgument,
            fmt::format("ledger entry {} names load entry {}, but scenario \"{}\" has {} load entries",
                        entry.sequence, entry.entry, scenario.name, scenario.load.entries.size()));
      }
      if (!entry.sampled && !verify_unsampled[entry.entry]) {
        ++skipped;
        continue;
      }
      sampled.push_back(&entry);
    }
  }

  RunProgress shared;
  shared.total = sampled.size();
  shared.feed = feed;
  shared.progress = std::move(progress);
  const ClassifyOptions classify = ClassifyOptionsFor(scenario, options);
  const uint64_t late_floor_ns = LateSpanFloor(scenario, options);
  const uint64_t precision_ns =
      options.poll_interval_ns + (feed != nullptr ? options.stream_wait_ns : 0);
  const PollerInputs inputs{scenario, trees,    per_request,   classify,     options,
                            clock,    sleeper,  start_ns,      late_floor_ns, precision_ns};
  size_t pollers = 1;
  if (backend == nullptr) {
    pollers = feed != nullptr ? feed->shards()
                              : std::max<size_t>(1, std::min(options.concurrency, sampled.size()));
  }
  // Each poller's traces: every n-th of the ledger's, or one shard of the feed.
  std::vector<std::vector<const LedgerEntry*>> shares(pollers);
  for (size_t k = 0; k < sampled.size(); ++k) shares[k % pollers].push_back(sampled[k]);
  std::vector<std::unique_ptr<BackendClient>> clients;
  std::vector<std::unique_ptr<TracePoller>> pool;
  for (size_t w = 0; w < pollers; ++w) {
    BackendClient* client = backend;
    if (client == nullptr) {
      clients.push_back((*make_client)());
      if (!clients.back()) {
        return MakeError(ErrorCode::kInternal, "verifier: the backend client factory returned null");
      }
      client = clients.back().get();
    }
    std::unique_ptr<LedgerSource> source;
    if (feed != nullptr) {
      source = std::make_unique<FeedShardSource>(*feed, w, options);
    } else {
      source = std::make_unique<WholeLedgerSource>(std::move(shares[w]), options.deadline_ns);
    }
    pool.push_back(
        std::make_unique<TracePoller>(inputs, shared, *client, std::move(source), pollers));
  }

  std::vector<PartialSummary> parts(pollers);
  if (pollers == 1) {
    parts[0] = pool[0]->Run();
  } else {
    std::vector<std::thread> threads;
    threads.reserve(pollers);
    for (size_t w = 0; w < pollers; ++w) {
      threads.emplace_back([&, w] { parts[w] = pool[w]->Run(); });
    }
    for (std::thread& t : threads) t.join();
  }
  if (feed != nullptr) skipped = feed->skipped_unsampled();
  auto summary =
      Merge(scenario, parts, skipped, options, *z, per_request, late_floor_ns, precision_ns);
  if (!summary) return summary;
  if (options.fetch_backend_dependencies) {
    // The pollers are done: the first one's client asks (no new connection).
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
    for (const auto& p : pool) closed_at = std::max(closed_at, p->closed_at_ns());
    summary->after_load_ns = summary->elapsed_ns - std::min(summary->elapsed_ns, closed_at);
  }
  return summary;
}

}  // namespace

std::vector<bool> UnsampledEntriesVerified(const Scenario& scenario) {
  std::vector<bool> verified;
  verified.reserve(scenario.load.entries.size());
  for (const LoadEntry& e : scenario.load.entries) {
    verified.push_back(e.sampled == EntrySampling::kNotSampled);
  }
  return verified;
}

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
