// Async edges in the report: queue latency and span links as sentences, JSON, merged shards.
#include "report/async_edges.h"

#include <algorithm>
#include <tuple>

#include <fmt/format.h>

#include "core/units.h"

namespace tracerig {

std::string GroupThousands(uint64_t n) {
  std::string digits = std::to_string(n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::string DescribeQueueLatency(const QueueLatency& q) {
  return fmt::format("{} ({}) p50 {} p99 {} max {}, {} message{}", q.queue, q.consumer,
                     FormatDuration(q.p50_ns), FormatDuration(q.p99_ns), FormatDuration(q.max_ns),
                     GroupThousands(q.messages), q.messages == 1 ? "" : "s");
}

std::string QueueLatencyMergedNote(size_t merged_runs) {
  if (merged_runs < 2) return "";
  return fmt::format("merged from {} runs: percentiles not combined, each is the largest run's "
                     "(an upper bound)",
                     merged_runs);
}

std::string QueueLatencyLine(const std::vector<QueueLatency>& queues, size_t merged_runs) {
  if (queues.empty()) return "";
  std::vector<std::string> parts;
  for (const QueueLatency& q : queues) parts.push_back(DescribeQueueLatency(q));
  std::string line =
      fmt::format("publish -> process latency per queue: {}", fmt::join(parts, "; "));
  if (const std::string note = QueueLatencyMergedNote(merged_runs); !note.empty()) {
    line += " (" + note + ")";
  }
  return line;
}

bool LinksFailed(const LinkSummary& l) { return l.checkable && l.found < l.expected; }

std::string DescribeLinks(const LinkSummary& l) {
  if (!l.checkable) {
    return l.reason.empty() ? "span links not checked" : "span links not checked: " + l.reason;
  }
  std::string text = fmt::format("span links: {} of {} expected link{} found (batch consumers)",
                                 GroupThousands(l.found), GroupThousands(l.expected),
                                 l.expected == 1 ? "" : "s");
  if (LinksFailed(l)) {
    text += fmt::format("; {} missing or not pointing at their message's PRODUCER span",
                        GroupThousands(l.expected - l.found));
  }
  return text;
}

nlohmann::ordered_json QueueLatencyJson(const std::vector<QueueLatency>& queues) {
  auto j = nlohmann::ordered_json::array();
  for (const QueueLatency& q : queues) {
    j.push_back({{"queue", q.queue},
                 {"consumer", q.consumer},
                 {"messages", q.messages},
                 {"p50_ns", q.p50_ns},
                 {"p90_ns", q.p90_ns},
                 {"p99_ns", q.p99_ns},
                 {"max_ns", q.max_ns}});
  }
  return j;
}

nlohmann::ordered_json LinksJson(const LinkSummary& l) {
  return {{"checkable", l.checkable},
          {"reason", l.reason},
          {"expected", l.expected},
          {"found", l.found}};
}

void MergeQueueLatency(std::vector<QueueLatency>& into, const std::vector<QueueLatency>& from) {
  for (const QueueLatency& q : from) {
    auto it = std::find_if(into.begin(), into.end(), [&q](const QueueLatency& e) {
      return e.queue == q.queue && e.consumer == q.consumer;
    });
    if (it == into.end()) {
      into.push_back(q);
      continue;
    }
    it->messages += q.messages;
    it->p50_ns = std::max(it->p50_ns, q.p50_ns);
    it->p90_ns = std::max(it->p90_ns, q.p90_ns);
    it->p99_ns = std::max(it->p99_ns, q.p99_ns);
    it->max_ns = std::max(it->max_ns, q.max_ns);
  }
  std::sort(into.begin(), into.end(), [](const QueueLatency& a, const QueueLatency& b) {
    return std::tie(a.queue, a.consumer) < std::tie(b.queue, b.consumer);
  });
}

void MergeLinks(std::optional<LinkSummary>& into, const std::optional<LinkSummary>& from) {
  if (!from) return;
  if (!into) {
    into = from;
    return;
  }
  into->expected += from->expected;
  into->found += from->found;
  if (into->checkable && !from->checkable) into->reason = from->reason;
  into->checkable = into->checkable && from->checkable;
}

}  // namespace tracerig
