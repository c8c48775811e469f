#include "report/markdown.h"

#include <fmt/format.h>

#include <algorithm>
#include <initializer_list>
#include <optional>
#include <string>
#include <vector>

#include "core/units.h"
#include "report/async_edges.h"
#include "verifier/classify.h"

namespace tracerig {
namespace {

constexpr size_t kMaxExampleTraces = 5;

struct CheckRow {
  std::string name;
  std::string result;  // "❌ fail", "✅ pass", ...
  std::string details;
};

// The checks as CI sees them (the same test cases RenderJUnit writes), failing first.
std::vector<CheckRow> CheckRows(const RunReport& r) {
  std::vector<CheckRow> failing;
  std::vector<CheckRow> rest;
  if (!r.verification_error.empty()) {
    failing.push_back({"verification", "⚠️ error", r.verification_error});
  } else if (r.exit_code == kExitInfrastructure) {
    failing.push_back({"run", "⚠️ error", r.verdict});
  }
  std::vector<CheckRow> warnings;  // failed, but not in --fail-on: between failures and passes
  for (const auto& c : r.checks) {
    if (!r.load_measured && c.name == "spans-exported") {
      rest.push_back({c.name, "⏭️ not measured", c.message});  // judged over figures never taken
    } else if (c.passed) {
      rest.push_back({c.name, "✅ pass", c.message});
    } else if (c.enforced) {
      failing.push_back({c.name, "❌ fail", c.message});
    } else {
      warnings.push_back({c.name, "⚠️ warn", c.message + " (not in --fail-on)"});
    }
  }
  // Links the backend cannot hold (Zipkin v2) get no verdict: the row says why.
  if (r.verification && r.verification->links && !r.verification->links->checkable) {
    rest.push_back({"links", "⏭️ not checked", DescribeLinks(*r.verification->links)});
  }
  if (failing.empty() && rest.empty() && warnings.empty())
    rest.push_back({"verification", "⏭️ skipped", r.verdict});
  failing.insert(failing.end(), warnings.begin(), warnings.end());
  failing.insert(failing.end(), rest.begin(), rest.end());
  return failing;
}

std::string Row(std::initializer_list<std::string> cells) {
  std::string out = "|";
  for (const auto& c : cells) out += " " + c + " |";
  return out + "\n";
}

std::string LatencyRow(const std::string& label, const LatencyHistogram& h) {
  if (h.count() == 0) return Row({label, "—", "—", "—", "—", "0"});
  return Row({label, FormatDuration(h.Percentile(50)), FormatDuration(h.Percentile(90)),
              FormatDuration(h.Percentile(99)), FormatDuration(h.max()),
              std::to_string(h.count())});
}

// Why requests failed in transport, by kind, with the first message of each ("" without kinds).
std::string TransportErrorsMarkdown(const DriverResult& l) {
  if (l.transport_errors == 0 || l.transport_error_reasons.empty()) return "";
  std::string out = "\n| Transport error | Requests | First message |\n|---|---:|---|\n";
  uint64_t counted = 0;
  for (const TransportErrorReason& t : l.transport_error_reasons) {
    counted += t.count;
    out += Row({EscapeMarkdown(t.reason), std::to_string(t.count),
                t.first_message.empty() ? "—" : EscapeMarkdown(t.first_message)});
  }
  if (counted < l.transport_errors) {
    out += Row({"no recorded kind", std::to_string(l.transport_errors - counted), "—"});
  }
  return out;
}

// The load and span figures of a run that measured them.
std::string LoadMarkdown(const RunReport& r) {
  const auto& l = r.load;
  std::string out = "\n### Load\n\n";
  out += "| Sent | OK | HTTP errors | Transport errors | Unfinished | Elapsed | Target |\n";
  out += "|---:|---:|---:|---:|---:|---:|---|\n";
  out += Row({std::to_string(l.sent), std::to_string(l.ok), std::to_string(l.http_errors),
              std::to_string(l.transport_errors), std::to_string(l.unfinished),
              FormatDuration(l.elapsed_ns),
              fmt::format("{}/s for {}{}", r.target_rate, FormatDuration(r.target_duration_ns),
                          l.interrupted ? " (interrupted)" : "")});
  out += TransportErrorsMarkdown(l);
  out += "\n| Latency | p50 | p90 | p99 | max | samples |\n";
  out += "|---|---:|---:|---:|---:|---:|\n";
  out += LatencyRow("corrected (from intended start)", l.corrected);
  out += LatencyRow("uncorrected (from actual send)", l.uncorrected);

  const auto& e = r.exporter;
  out += "\n### Spans\n\n";
  out +=
      "| Recorded by services | Sent by the driver | Exported | Dropped (queue full) | "
      "Dropped (export failed) | Final flush |\n";
  out += "|---:|---:|---:|---:|---:|---|\n";
  out += Row({std::to_string(r.topology.spans_recorded), std::to_string(l.sent),
              std::to_string(e.exported), std::to_string(e.dropped_queue_full),
              std::to_string(e.dropped_failed), e.flushed ? "finished" : "timed out"});
  return out;
}

// What a verify-only run knows of its load: the requests in the ledger and the outcomes the run
// that sent them recorded. Nothing else was measured, so no figure stands in for it.
std::string LedgerMarkdown(const DriverResult& l) {
  std::string out = "\n### Load\n\n";
  out += "Not measured (verify only): the requests were sent by an earlier run. Its ledger:\n\n";
  out += "| Requests in the ledger | OK | HTTP errors | Transport errors |\n";
  out += "|---:|---:|---:|---:|\n";
  out += Row({std::to_string(l.sent), std::to_string(l.ok), std::to_string(l.http_errors),
              std::to_string(l.transport_errors)});
  out += TransportErrorsMarkdown(l);
  out += "\n### Spans\n\n";
  out += "Not measured (verify only): the spans were exported by the run that wrote the ledger.\n";
  return out;
}

// Time to queryable, and the late spans table when some spans arrived after their trace's first
// poll. Empty when no complete trace gave a sample.
std::string TimeToQueryableMarkdown(const TimeToQueryable& t) {
  if (t.traces == 0 && t.late_hops.empty()) return "";
  std::string out = "\n### Time to queryable\n\n";
  out += "| Traces | Full at first poll | p50 | p90 | p99 | max | Precision |\n";
  out += "|---:|---:|---:|---:|---:|---:|---:|\n";
  out += Row({std::to_string(t.traces), std::to_string(t.upper_bounds), FormatDuration(t.p50_ns),
              FormatDuration(t.p90_ns), FormatDuration(t.p99_ns), FormatDuration(t.max_ns),
              "± " + FormatDuration(t.precision_ns)});
  if (!t.late_hops.empty()) {
    out += fmt::format("\n#### Late spans ({} traces complete only after their first poll, above "
                       "{})\n\n",
                       t.late_traces, FormatDuration(t.late_floor_ns));
    out += "| Hop | Edge | Kind | Traces | Max |\n|---|---|---|---:|---:|\n";
    for (const LateHop& h : t.late_hops) {
      out += Row({"`" + EscapeMarkdown(h.hop) + "`",
                  fmt::format("{} → {}", EscapeMarkdown(h.caller), EscapeMarkdown(h.callee)),
                  std::string(SpanKindName(h.kind)), std::to_string(h.traces),
                  FormatDuration(h.max_ns)});
    }
  }
  return out;
}

// The backend's own dependency list: why it was not compared, or its missing and unexpected
// edges (the rest matched).
std::string BackendGraphMarkdown(const std::optional<BackendGraph>& g) {
  if (!g) return "";
  std::string out = "\n### Backend dependency list\n\n";
  if (!g->fetched) return out + "Not compared: " + EscapeMarkdown(g->error) + ".\n";
  size_t expected = 0;
  size_t listed = 0;
  for (const EdgeComparison& e : g->comparison.edges) {
    expected += e.in_topology;
    listed += e.in_topology && e.status != "missing";
  }
  out += fmt::format("{} of {} expected edges listed by the backend, {} unexpected.\n", listed,
                     expected, g->comparison.unexpected);
  if (!g->error.empty()) out += "Not compared: " + EscapeMarkdown(g->error) + ".\n";
  bool header = false;
  for (const EdgeComparison& e : g->comparison.edges) {
    if (e.status != "missing" && e.status != "unexpected") continue;
    if (!header) out += "\n| Caller → callee | Status | Backend calls |\n|---|---|---:|\n";
    header = true;
    out += Row({fmt::format("{} → {}", EscapeMarkdown(e.caller), EscapeMarkdown(e.callee)),
                e.status == "missing" ? "❌ missing" : "⚠️ unexpected",
                std::to_string(e.observed_calls)});
  }
  return out;
}

// Publish -> process latency per queue ("" when the scenario publishes nothing).
std::string QueueLatencyMarkdown(const std::vector<QueueLatency>& queues, size_t merged_runs) {
  if (queues.empty()) return "";
  std::string out = "\n### Publish → process latency per queue\n\n";
  if (const std::string note = QueueLatencyMergedNote(merged_runs); !note.empty()) {
    out += "M" + note.substr(1) + ".\n\n";
  }
  out += "| Queue | Consumer | Messages | p50 | p90 | p99 | max |\n"
         "|---|---|---:|---:|---:|---:|---:|\n";
  for (const QueueLatency& q : queues) {
    out += Row({EscapeMarkdown(q.queue), EscapeMarkdown(q.consumer), GroupThousands(q.messages),
                FormatDuration(q.p50_ns), FormatDuration(q.p90_ns), FormatDuration(q.p99_ns),
                FormatDuration(q.max_ns)});
  }
  return out;
}

}  // namespace

std::string EscapeMarkdown(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '\\':
      case '`':
      case '*':
      case '_':
      case '[':
      case ']':
      case '|':
        out += '\\';
        out += c;
        break;
      case '<':
        out += "&lt;";
        break;
      case '&':
        out += "&amp;";
        break;
      default: {
        const auto u = static_cast<unsigned char>(c);
        out += (u < 0x20 || u == 0x7F) ? ' ' : c;
      }
    }
  }
  return out;
}

std::string RenderMarkdown(const RunReport& r) {
  const auto esc = [](std::string_view s) { return EscapeMarkdown(s); };
  std::string out;
  out += fmt::format("## {} tracerig · {} — {}\n\n", r.exit_code == kExitPass ? "✅" : "❌",
                     esc(r.scenario_name), esc(r.verdict));

  out += "### Checks\n\n";
  out += "| Check | Result | Details |\n|---|---|---|\n";
  for (const auto& row : CheckRows(r)) out += Row({esc(row.name), row.result, esc(row.details)});

  out += r.load_measured ? LoadMarkdown(r) : LedgerMarkdown(r.load);

  out += "\n### Verification\n\n";
  if (r.verification) {
    const auto& v = *r.verification;
    const double percent =
        v.checked == 0 ? 0
                       : 100.0 * static_cast<double>(v.complete) / static_cast<double>(v.checked);
    out +=
        "| Checked | Complete | Incomplete | Broken | Missing | Not sampled | Backend queries | "
        "Time |\n";
    out += "|---:|---:|---:|---:|---:|---:|---:|---:|\n";
    out += Row({std::to_string(v.checked), fmt::format("{} ({:.2f}%)", v.complete, percent),
                std::to_string(v.incomplete), std::to_string(v.broken), std::to_string(v.missing),
                std::to_string(v.skipped_unsampled), std::to_string(v.backend_requests),
                v.streamed ? VerificationTime(v) : FormatDuration(v.elapsed_ns)});
    if (v.deadline_hit) {
      out += "\nThe verification deadline passed before every trace settled.\n";
    }
    if (!v.break_edges.empty()) {
      out += "\n### Propagation breaks\n\n";
      out += "| Caller → callee | Hop | Traces |\n|---|---|---:|\n";
      for (const auto& b : v.break_edges) {
        out += Row({fmt::format("{} → {}", esc(b.caller), esc(b.callee)), "`" + esc(b.hop) + "`",
                    std::to_string(b.traces)});
      }
    }
    out += BackendGraphMarkdown(v.backend_graph);
    out += TimeToQueryableMarkdown(v.time_to_queryable);
    out += QueueLatencyMarkdown(v.queue_latency, r.merged_from.size());
    if (!v.examples.empty()) {
      const size_t shown = std::min(v.examples.size(), kMaxExampleTraces);
      out += fmt::format("\n### Example traces ({} of {} not complete)\n\n", shown,
                         v.incomplete + v.broken + v.missing);
      out += "| Status | Trace id | Request id | Explanation |\n|---|---|---|---|\n";
      for (size_t i = 0; i < shown; ++i) {
        const auto& ex = v.examples[i];
        out += Row({std::string(TraceStatusName(ex.status)), "`" + ex.trace_id.ToHex() + "`",
                    "`" + FormatRequestId(ex.request_id) + "`", esc(ex.explanation)});
      }
    }
  } else if (!r.verification_error.empty()) {
    out += "Verification failed: " + esc(r.verification_error) + "\n";
  } else {
    out += r.verification_skipped ? "Skipped (`--no-verify`).\n" : "Nothing was verified.\n";
  }

  out += "\n<details><summary>Run details</summary>\n\n";
  out += "| | |\n|---|---|\n";
  out += Row({"Scenario", esc(r.scenario_name)});
  out += Row({"Scenario file", esc(r.scenario_file)});
  out += Row({"Seed", std::to_string(r.seed)});
  out += Row({"Backend", esc(r.backend)});
  out += Row({"tracerig", esc(r.tracerig_version)});
  out += Row({"Exit code", std::to_string(r.exit_code)});
  if (!r.services.empty()) {
    out += "\n| Service | URL |\n|---|---|\n";
    for (const auto& s : r.services) out += Row({esc(s.name), esc(s.url)});
  }
  out += "\n</details>\n";
  return out;
}

}  // namespace tracerig
