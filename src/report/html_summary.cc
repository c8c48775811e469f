// The HTML report's first sections: the verdict with the run's facts and its checks (failing
// first), and the load and span counts (a verify-only run's: the ledger's requests).
#include "report/html_internal.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "core/units.h"
#include "report/async_edges.h"

namespace tracerig {
using namespace html_internal;  // report/html_internal.h
namespace {

std::string CheckRows(const RunReport& r) {
  struct Row {
    std::string css;
    std::string label;
    std::string name;
    std::string message;
  };
  std::vector<Row> errors, failed, warnings, passed;
  if (!r.verification_error.empty()) {
    errors.push_back({"error", "error", "verification", r.verification_error});
  } else if (r.exit_code == kExitInfrastructure) {
    errors.push_back({"error", "error", "run", r.verdict});
  }
  std::vector<Row> not_measured;  // judged over load figures a verify-only run never took
  for (const auto& c : r.checks) {
    if (!r.load_measured && c.name == "spans-exported") {
      not_measured.push_back({"skipped", "not measured", c.name, c.message});
    } else if (c.passed) {
      passed.push_back({"pass", "pass", c.name, c.message});
    } else if (c.enforced) {
      failed.push_back({"fail", "FAIL", c.name, c.message});
    } else {
      warnings.push_back({"warn", "warn", c.name, c.message + " (not in --fail-on)"});
    }
  }
  // Links the backend cannot hold (Zipkin v2) get no verdict: the row says why.
  if (r.verification && r.verification->links && !r.verification->links->checkable) {
    not_measured.push_back(
        {"skipped", "not checked", "links", DescribeLinks(*r.verification->links)});
  }
  std::string out;
  for (const auto* group : {&errors, &failed, &warnings, &passed, &not_measured}) {
    for (const auto& row : *group) {
      out += fmt::format("<tr class=\"check {}\"><td>{}</td><td><code>{}</code></td><td>{}</td></tr>\n",
                         row.css, row.label, Esc(row.name), Esc(row.message));
    }
  }
  if (out.empty()) {
    out = fmt::format("<tr class=\"check skipped\"><td>skipped</td><td><code>verification</code>"
                      "</td><td>{}</td></tr>\n",
                      Esc(r.verdict));
  }
  return out;
}

}  // namespace

std::string html_internal::Summary(const RunReport& r) {
  std::string out = "<section id=\"summary\">\n";
  out += fmt::format("<h1>tracerig · {}</h1>\n", Esc(r.scenario_name));
  out += fmt::format("<p class=\"verdict {}\" id=\"verdict\">{}</p>\n", VerdictClass(r),
                     Esc(r.verdict));
  const uint64_t run_ns =
      r.finished_unix_nano > r.started_unix_nano ? r.finished_unix_nano - r.started_unix_nano : 0;
  out += fmt::format(
      "<p class=\"facts\">scenario file <code>{}</code> · seed {} · started {} · took {} · exit "
      "code {} · fail on: {}<br>backend: {} · tracerig {}</p>\n",
      Esc(r.scenario_file), r.seed, UtcTime(r.started_unix_nano), FormatDuration(run_ns),
      r.exit_code, Esc(FormatFailOn(r.fail_on)), Esc(r.backend), Esc(r.tracerig_version));
  out += "<h2>Checks</h2>\n<table id=\"checks\"><thead><tr><th>result</th><th>check</th>"
         "<th>details</th></tr></thead><tbody>\n";
  out += CheckRows(r);
  out += "</tbody></table>\n</section>\n";
  return out;
}

namespace {

std::string Figure(std::string_view label, const std::string& value) {
  return fmt::format("<tr><th>{}</th><td class=\"num\">{}</td></tr>\n", label, value);
}

// What a verify-only run knows of its load: the requests in the ledger and the outcomes the run
// that sent them recorded. Nothing else was measured, so no figure stands in for it.
std::string LedgerTables(const DriverResult& l) {
  std::string out = "<table id=\"ledger\"><tbody>\n";
  out += Figure("load", "not measured (verify only): sent by an earlier run");
  out += Figure("requests in the ledger", std::to_string(l.sent));
  out += Figure("ok", std::to_string(l.ok));
  out += Figure("HTTP errors", std::to_string(l.http_errors));
  out += Figure("transport errors", std::to_string(l.transport_errors));
  out += "</tbody></table>\n";
  out += "<p class=\"placeholder\" id=\"spans-not-measured\">spans: not measured (verify only); "
         "they were exported by the run that wrote the ledger</p>\n";
  return out;
}

// The load and span figures of a run that measured them.
std::string LoadTables(const RunReport& r) {
  const auto& l = r.load;
  const double seconds = static_cast<double>(l.elapsed_ns) / 1e9;
  const std::string throughput =
      seconds > 0 ? fmt::format("{:.1f}/s", static_cast<double>(l.ok) / seconds) : "—";
  std::string out = "<table><tbody>\n";
  out += Figure("load model", Esc(r.load_model));
  out += Figure("target", fmt::format("{}/s for {}", r.target_rate,
                                      FormatDuration(r.target_duration_ns)));
  out += Figure("sent", std::to_string(l.sent));
  out += Figure("of which warm-up", std::to_string(l.warmup));
  out += Figure("ok", std::to_string(l.ok));
  out += Figure("HTTP errors", std::to_string(l.http_errors));
  out += Figure("transport errors", std::to_string(l.transport_errors));
  out += Figure("unfinished", std::to_string(l.unfinished));
  out += Figure("elapsed", FormatDuration(l.elapsed_ns) + (l.interrupted ? " (interrupted)" : ""));
  out += Figure("throughput (ok)", throughput);
  out += "</tbody></table>\n<table><tbody>\n";
  out += Figure("spans recorded by services", std::to_string(r.topology.spans_recorded));
  out += Figure("spans not sampled", std::to_string(r.topology.spans_unsampled));
  out += Figure("spans exported", std::to_string(r.exporter.exported));
  out += Figure("dropped (queue full)", std::to_string(r.exporter.dropped_queue_full));
  out += Figure("dropped (export failed)", std::to_string(r.exporter.dropped_failed));
  out += Figure("rejected by backend", std::to_string(r.exporter.rejected));
  out += Figure("export retries", std::to_string(r.exporter.retries));
  out += Figure("final flush", r.exporter.flushed ? "finished" : "timed out");
  out += "</tbody></table>\n";
  return out;
}

// Why requests failed in transport: one row per kind with its first message ("" without kinds).
std::string TransportErrorsTable(const DriverResult& l) {
  if (l.transport_errors == 0 || l.transport_error_reasons.empty()) return "";
  std::string out =
      "<table id=\"transport-errors\"><thead><tr><th>transport error</th><th>requests</th>"
      "<th>first message</th></tr></thead><tbody>\n";
  uint64_t counted = 0;
  for (const TransportErrorReason& t : l.transport_error_reasons) {
    counted += t.count;
    out += fmt::format("<tr><td>{}</td><td class=\"num\">{}</td><td><code>{}</code></td></tr>\n",
                       Esc(t.reason), t.count, Esc(t.first_message));
  }
  if (counted < l.transport_errors) {
    out += fmt::format("<tr><td>no recorded kind</td><td class=\"num\">{}</td><td></td></tr>\n",
                       l.transport_errors - counted);
  }
  return out + "</tbody></table>\n";
}

}  // namespace

std::string html_internal::LoadSection(const RunReport& r) {
  std::string out = "<section id=\"load\">\n<h2>Load and spans</h2>\n<div class=\"hists\">\n";
  out += r.load_measured ? LoadTables(r) : LedgerTables(r.load);
  out += TransportErrorsTable(r.load);
  if (r.verification) {
    const auto& v = *r.verification;
    const double pct = v.checked ? 100.0 * static_cast<double>(v.complete) /
                                       static_cast<double>(v.checked)
                                 : 0;
    out += "<table id=\"verification\"><tbody>\n";
    out += Figure("traces checked", std::to_string(v.checked));
    out += Figure("complete", fmt::format("{} ({:.1f}%)", v.complete, pct));
    out += Figure("incomplete", std::to_string(v.incomplete));
    out += Figure("broken", std::to_string(v.broken));
    out += Figure("missing", std::to_string(v.missing));
    out += Figure("with violations", std::to_string(v.traces_with_violations));
    out += Figure("backend queries", std::to_string(v.backend_requests));
    out += Figure("verification time", (v.streamed ? VerificationTime(v) : FormatDuration(v.elapsed_ns)) +
                                           (v.deadline_hit ? " (deadline hit)" : ""));
    out += "</tbody></table>\n";
  } else {
    out += fmt::format("<p class=\"placeholder\">{}</p>\n",
                       r.verification_error.empty() ? "verification did not run"
                                                    : Esc(r.verification_error));
  }
  out += "</div>\n</section>\n";
  return out;
}

}  // namespace tracerig
