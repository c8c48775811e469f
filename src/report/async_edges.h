// Async edges in the report: publish-to-process latency per queue and the span-link summary
// (VerificationSummary::queue_latency, ::links) as sentences, JSON and merged shards; each
// renderer (render.cc, markdown.cc, junit.cc, html_*.cc) lays them out its own way.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "verifier/verify.h"

namespace tracerig {

// "1,200": a count a person reads at a glance.
std::string GroupThousands(uint64_t n);

// "orders (fulfilment) p50 3.1ms p99 9.8ms max 12ms, 1,200 messages".
std::string DescribeQueueLatency(const QueueLatency& q);

// "publish -> process latency per queue: orders (fulfilment) p50 ...; audit (...) ..." ("" when
// the scenario publishes nothing). `merged_runs` > 1: a merged report, whose percentiles are the
// largest run's (an upper bound, see MergeQueueLatency), which the line says.
std::string QueueLatencyLine(const std::vector<QueueLatency>& queues, size_t merged_runs = 0);
// The note a merged report's queue latency carries ("" for one run).
std::string QueueLatencyMergedNote(size_t merged_runs);

// Whether the links gave a failing verdict: checkable and some expected link absent or wrong.
bool LinksFailed(const LinkSummary& l);
// "span links: 40 of 40 expected links found (batch consumers)", "span links: 37 of 40 expected
// links found; 3 missing or not pointing at their message's PRODUCER span", or, not checkable,
// "span links not checked: zipkin v2 has no links" (no verdict either way).
std::string DescribeLinks(const LinkSummary& l);

// verification.queue_latency and verification.links in report.json (durations in ns, as the
// report's other durations).
nlohmann::ordered_json QueueLatencyJson(const std::vector<QueueLatency>& queues);
nlohmann::ordered_json LinksJson(const LinkSummary& l);

// Merging shards (`tracerig report merge`). Queue latency per (queue, consumer): messages add up,
// max is the largest; percentiles of shards cannot be combined without their samples, so each
// percentile is the largest shard's: an upper bound of the merged one (at least the share p of
// every shard's samples lies at or below it, hence of all samples). Links: counts add up; links
// are checkable only when every shard's were (the first reason a shard gave is kept).
void MergeQueueLatency(std::vector<QueueLatency>& into, const std::vector<QueueLatency>& from);
void MergeLinks(std::optional<LinkSummary>& into, const std::optional<LinkSummary>& from);

}  // namespace tracerig
