#include "report/html.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <ctime>
#include <map>
#include <optional>
#include <set>
#include <vector>

#include <fmt/format.h>

#include "core/units.h"
#include "topology/expected_tree.h"

namespace tracerig {
namespace {

constexpr const char* kStyle = R"(
:root{--ok:#1a7f37;--bad:#cf222e;--warn:#bf8700;--moved:#e16f24;--miss:#8c959f;--viol:#8250df;
--fg:#1f2328;--muted:#59636e;--line:#d1d9e0;--bg:#fff;--panel:#f6f8fa}
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;color:var(--fg);
background:var(--bg);margin:0 auto;max-width:1200px;padding:16px 24px 48px}
h1{font-size:22px;margin:8px 0}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid var(--line);
padding-bottom:4px}h3{font-size:15px;margin:16px 0 6px}
table{border-collapse:collapse;margin:6px 0}th,td{border:1px solid var(--line);padding:3px 8px;
text-align:left;vertical-align:top}th{background:var(--panel)}td.num{text-align:right;
font-variant-numeric:tabular-nums}
code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px}
.verdict{padding:10px 14px;border-radius:6px;font-weight:600;border:1px solid}
.verdict.pass,.verdict.done{background:#dafbe1;border-color:var(--ok)}
.verdict.fail,.verdict.error{background:#ffebe9;border-color:var(--bad)}
.facts{color:var(--muted)}
.check.fail td:first-child,.check.error td:first-child{color:var(--bad);font-weight:600}
.check.warn td:first-child{color:var(--warn);font-weight:600}
.check.pass td:first-child{color:var(--ok)}
.legend span{display:inline-block;margin-right:14px}.legend i{display:inline-block;width:22px;
height:4px;vertical-align:middle;margin-right:4px}
svg text{font-size:12px;fill:var(--fg)}
.node rect{fill:var(--panel);stroke:#57606a}.node.driver rect{fill:#ddf4ff}
.edge path{fill:none;stroke-width:2.5}
.edge.ok path{stroke:var(--ok)}.edge.broken path{stroke:var(--bad);stroke-width:3.5}
.edge.missing path{stroke:var(--moved)}.edge.violation path{stroke:var(--viol)}
.edge.unverified path{stroke:var(--miss);stroke-dasharray:6 4}
.edge.unexpected path{stroke:var(--bad);stroke-dasharray:6 4}
.edge text{font-size:11px}.edge.broken text{fill:var(--bad);font-weight:600}
.hist rect.bar{fill:#54aeff}.hist line.pct{stroke:var(--bad);stroke-dasharray:3 2}
.hist text{font-size:10px;fill:var(--muted)}
.hists{display:flex;flex-wrap:wrap;gap:18px}
.placeholder{color:var(--muted);font-style:italic}
#filters{background:var(--panel);padding:8px;border-radius:6px;margin:8px 0}
#filters label{margin-right:16px}
.trace{border:1px solid var(--line);border-radius:6px;margin:10px 0;padding:8px 10px}
.trace.broken{border-left:5px solid var(--bad)}.trace.incomplete{border-left:5px solid var(--moved)}
.trace.missing{border-left:5px solid var(--miss)}.trace.complete{border-left:5px solid var(--viol)}
.trace header{margin-bottom:6px}.status{font-weight:600;text-transform:uppercase;font-size:12px}
.row{display:flex;align-items:center;height:22px}
.row .label{flex:0 0 330px;overflow:hidden;white-space:nowrap;text-overflow:ellipsis;
font-size:12px}
.row .lane{flex:1;position:relative;height:16px;background:var(--panel)}
.row .bar{position:absolute;top:2px;height:12px;border-radius:2px;background:var(--ok)}
.row.missing .bar{background:transparent;border:1px dashed var(--miss)}
.row.moved .bar{background:var(--moved)}.row.violation .bar{background:var(--viol)}
.row.fault .bar{background:var(--bad)}.row.fault .label{color:var(--bad);font-weight:600}
.row .note{flex:0 0 300px;padding-left:8px;font-size:12px;color:var(--muted);overflow:hidden;
white-space:nowrap;text-overflow:ellipsis}
.row.fault .note{color:var(--bad)}
.explanation{margin-top:6px}
.row .bar.span.client{opacity:.5}.row .bar.span.server{top:5px;height:6px}
.row.missing .bar.span{background:var(--ok);border:0}
.row .bar.gap{background:transparent!important;border:1px dashed var(--miss)}
.row.fault .bar.gap{border-color:var(--bad)}
.row.axis{height:16px}.row.axis .lane{background:none;border-bottom:1px solid var(--line)}
.row.axis .tick{position:absolute;bottom:1px;font-size:10px;color:var(--muted);
transform:translateX(-50%)}.row.axis .tick:first-child{transform:none}
.row.axis .tick:last-child{transform:translateX(-100%)}
.timeline .line{fill:none;stroke-width:1.5}.timeline .grid{stroke:var(--line)}
.timeline .p50{stroke:#0969da;fill:#0969da}.timeline .p99{stroke:#bf8700;fill:#bf8700}
.timeline .max{stroke:var(--bad);fill:var(--bad)}.timeline rect.rate{fill:#54aeff}
.timeline rect.rate-errors{fill:var(--bad)}.timeline text{font-size:10px;fill:var(--muted)}
[hidden]{display:none!important}
)";

// Filters the example traces by status/violation kind and by service; reveals the filter bar
// (hidden without JS, where every trace simply stays visible) and marks the page as ready.
constexpr const char* kScript = R"(
(function () {
  var status = document.getElementById('filter-status');
  var service = document.getElementById('filter-service');
  var count = document.getElementById('filter-count');
  var traces = Array.prototype.slice.call(document.querySelectorAll('#traces .trace'));
  function matches(t) {
    var s = status.value, v = service.value;
    var byStatus = !s || t.getAttribute('data-status') === s ||
        (s.indexOf('violation:') === 0 &&
         (' ' + t.getAttribute('data-errors') + ' ').indexOf(' ' + s.slice(10) + ' ') >= 0);
    var byService = !v || t.getAttribute('data-services').split('\n').indexOf(v) >= 0;
    return byStatus && byService;
  }
  function apply() {
    var shown = 0;
    traces.forEach(function (t) {
      t.hidden = !matches(t);
      if (!t.hidden) shown++;
    });
    count.textContent = shown + ' of ' + traces.length + ' traces shown';
  }
  // Timed waterfall bars the browser laid out with a width: tests read this back.
  var timed = 0;
  Array.prototype.forEach.call(document.querySelectorAll('#traces .bar.span'), function (b) {
    if (b.getBoundingClientRect().width > 0) timed++;
  });
  document.getElementById('traces').setAttribute('data-timed-bars', String(timed));
  status.addEventListener('change', apply);
  service.addEventListener('change', apply);
  document.getElementById('filters').hidden = false;
  apply();
  document.body.setAttribute('data-ready', 'yes');
})();
)";

std::string Esc(std::string_view s) { return EscapeHtml(s); }

std::string UtcTime(uint64_t unix_nano) {
  std::time_t seconds = static_cast<std::time_t>(unix_nano / 1'000'000'000ull);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

// Hop "0.1.2" as numbers for ordering, and its depth (components).
std::vector<uint64_t> HopPath(std::string_view hop) {
  std::vector<uint64_t> path;
  while (!hop.empty()) {
    const size_t dot = hop.find('.');
    const std::string_view part = hop.substr(0, dot);
    uint64_t n = 0;
    std::from_chars(part.data(), part.data() + part.size(), n);
    path.push_back(n);
    hop = dot == std::string_view::npos ? std::string_view{} : hop.substr(dot + 1);
  }
  return path;
}

bool IsUnder(std::string_view hop, std::string_view ancestor) {
  return hop.size() > ancestor.size() && hop.starts_with(ancestor) && hop[ancestor.size()] == '.';
}

std::string VerdictClass(const RunReport& r) {
  if (r.verdict.starts_with("PASS")) return "pass";
  if (r.verdict.starts_with("FAIL")) return "fail";
  if (r.verdict.starts_with("ERROR")) return "error";
  return "done";
}

// ---- summary ----------------------------------------------------------------------------------

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
  for (const auto& c : r.checks) {
    if (c.passed) {
      passed.push_back({"pass", "pass", c.name, c.message});
    } else if (c.enforced) {
      failed.push_back({"fail", "FAIL", c.name, c.message});
    } else {
      warnings.push_back({"warn", "warn", c.name, c.message + " (not in --fail-on)"});
    }
  }
  std::string out;
  for (const auto* group : {&errors, &failed, &warnings, &passed}) {
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

std::string Summary(const RunReport& r) {
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

std::string Figure(std::string_view label, const std::string& value) {
  return fmt::format("<tr><th>{}</th><td class=\"num\">{}</td></tr>\n", label, value);
}

std::string LoadSection(const RunReport& r) {
  const auto& l = r.load;
  const double seconds = static_cast<double>(l.elapsed_ns) / 1e9;
  const std::string throughput =
      seconds > 0 ? fmt::format("{:.1f}/s", static_cast<double>(l.ok) / seconds) : "—";
  std::string out = "<section id=\"load\">\n<h2>Load and spans</h2>\n<div class=\"hists\">\n";
  out += "<table><tbody>\n";
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

// ---- service graph ----------------------------------------------------------------------------

// The backend's own dependency list next to the graph: why it was not compared, or how many
// expected edges it listed and a table of the missing and unexpected ones.
std::string BackendGraphHtml(const std::optional<BackendGraph>& g) {
  if (!g) return "";
  std::string out = fmt::format(
      "<div id=\"backend-graph\" data-served=\"{}\" data-missing=\"{}\" "
      "data-unexpected=\"{}\">\n<h3>The backend's dependency list</h3>\n",
      g->fetched ? "yes" : "no", g->comparison.missing, g->comparison.unexpected);
  if (!g->fetched) {
    return out + fmt::format("<p class=\"placeholder\">not compared: {}</p>\n</div>\n",
                             Esc(g->error));
  }
  size_t expected = 0;
  size_t listed = 0;
  for (const EdgeComparison& e : g->comparison.edges) {
    expected += e.in_topology;
    listed += e.in_topology && e.status != "missing";
  }
  out += fmt::format("<p>{} of {} expected edges listed by the backend, {} edges not in the "
                     "topology (window {} to {}).</p>\n",
                     listed, expected, g->comparison.unexpected,
                     UtcTime(g->start_unix_micros * 1000), UtcTime(g->end_unix_micros * 1000));
  if (!g->error.empty()) {
    out += fmt::format("<p class=\"placeholder\">not compared: {}</p>\n", Esc(g->error));
  }
  if (g->comparison.missing + g->comparison.unexpected > 0) {
    out += "<table id=\"backend-graph-edges\"><thead><tr><th>caller</th><th>callee</th>"
           "<th>status</th><th>expected calls</th><th>backend calls</th></tr></thead><tbody>\n";
    for (const EdgeComparison& e : g->comparison.edges) {
      if (e.status != "missing" && e.status != "unexpected") continue;
      out += fmt::format("<tr class=\"{0}\"><td>{1}</td><td>{2}</td><td>{0}</td>"
                         "<td class=\"num\">{3:.1f}</td><td class=\"num\">{4}</td></tr>\n",
                         e.status, Esc(e.caller), Esc(e.callee), e.expected_calls,
                         e.observed_calls);
    }
    out += "</tbody></table>\n";
  }
  return out + "</div>\n";
}

struct GraphPair {
  std::string caller;
  std::string callee;
  std::vector<std::string> hops;
  bool expected = false;
  size_t broken_traces = 0;
  bool missing = false;    // an example trace lacks a span at one of its hops
  bool violation = false;  // an example trace has a structural violation at one of its hops
};

std::string GraphSection(const RunReport& r) {
  std::vector<GraphPair> pairs;
  auto pair_for = [&pairs](const std::string& caller, const std::string& callee) -> GraphPair& {
    for (auto& p : pairs) {
      if (p.caller == caller && p.callee == callee) return p;
    }
    pairs.push_back({caller, callee, {}, false, 0, false, false});
    return pairs.back();
  };
  std::map<std::string, size_t> depth;  // node -> column
  auto place = [&depth](const std::string& node, size_t d) {
    auto it = depth.find(node);
    if (it == depth.end() || d < it->second) depth[node] = d;
  };
  for (const auto& e : r.expected_edges) {
    GraphPair& p = pair_for(e.caller, e.callee);
    p.expected = true;
    p.hops.push_back(e.hop);
    const size_t d = HopPath(e.hop).size();
    place(e.callee, d);
    place(e.caller, d > 0 ? d - 1 : 0);
  }
  if (r.verification) {
    for (const auto& b : r.verification->break_edges) {
      GraphPair& p = pair_for(b.caller, b.callee);
      p.broken_traces += b.traces;
      if (std::find(p.hops.begin(), p.hops.end(), b.hop) == p.hops.end()) p.hops.push_back(b.hop);
      const size_t d = HopPath(b.hop).size();
      place(b.callee, d);
      place(b.caller, d > 0 ? d - 1 : 0);
    }
    for (const auto* list : {&r.verification->examples, &r.verification->violation_examples}) {
      for (const auto& ex : *list) {
        for (auto& p : pairs) {
          for (const auto& hop : p.hops) {
            for (const auto& m : ex.missing) p.missing |= m.hop == hop;
            for (const auto& v : ex.violations) p.violation |= v.hop == hop;
          }
        }
      }
    }
  }
  // Nodes: the services as started, then anything only the edges name.
  std::vector<std::string> nodes;
  if (depth.count(std::string(kDriverServiceName))) nodes.emplace_back(kDriverServiceName);
  for (const auto& s : r.services) {
    if (std::find(nodes.begin(), nodes.end(), s.name) == nodes.end()) nodes.push_back(s.name);
  }
  for (const auto& [node, d] : depth) {
    if (std::find(nodes.begin(), nodes.end(), node) == nodes.end()) nodes.push_back(node);
  }
  size_t max_depth = 0;
  for (const auto& [node, d] : depth) max_depth = std::max(max_depth, d);
  const size_t unplaced = depth.empty() ? 0 : max_depth + 1;  // services no edge names
  std::map<size_t, size_t> per_column;
  struct Box {
    double x, y;
  };
  std::map<std::string, Box> boxes;
  constexpr double kColumn = 230, kRow = 64, kWidth = 170, kHeight = 34, kMargin = 20;
  size_t rows = 0;
  for (const auto& node : nodes) {
    const size_t column = depth.count(node) ? depth[node] : unplaced;
    const size_t row = per_column[column]++;
    rows = std::max(rows, row + 1);
    boxes[node] = {kMargin + static_cast<double>(column) * kColumn,
                   kMargin + static_cast<double>(row) * kRow};
  }
  size_t columns = 0;
  for (const auto& [column, count] : per_column) columns = std::max(columns, column + 1);
  const double width = kMargin * 2 + static_cast<double>(std::max<size_t>(columns, 1)) * kColumn;
  const double height = kMargin * 2 + static_cast<double>(std::max<size_t>(rows, 1)) * kRow;

  std::string out = "<section id=\"graph\">\n<h2>Service graph: expected vs observed</h2>\n";
  out += "<p class=\"legend\"><span><i style=\"background:var(--ok)\"></i>expected, intact</span>"
         "<span><i style=\"background:var(--bad)\"></i>propagation broke here</span>"
         "<span><i style=\"background:var(--moved)\"></i>spans missing</span>"
         "<span><i style=\"background:var(--viol)\"></i>structural violation</span>"
         "<span><i style=\"background:var(--miss)\"></i>not verified</span></p>\n";
  if (nodes.empty()) {
    out += "<p class=\"placeholder\">no services in this report</p>\n</section>\n";
    return out;
  }
  out += fmt::format(
      "<svg id=\"service-graph\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" "
      "height=\"{1}\" viewBox=\"0 0 {0} {1}\" role=\"img\" aria-label=\"service graph\">\n"
      "<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"7\" "
      "markerHeight=\"7\" orient=\"auto-start-reverse\"><path d=\"M0 0L10 5L0 10z\" "
      "fill=\"#57606a\"/></marker></defs>\n",
      width, height);
  for (const auto& p : pairs) {
    const Box& a = boxes[p.caller];
    const Box& b = boxes[p.callee];
    std::string health = "unverified";
    std::string label;
    if (p.broken_traces > 0) {
      health = p.expected || r.expected_edges.empty() ? "broken" : "unexpected";
      label = fmt::format("{} broke", p.broken_traces);
    } else if (p.missing) {
      health = "missing";
      label = "spans missing";
    } else if (p.violation) {
      health = "violation";
      label = "violations";
    } else if (r.verification) {
      health = "ok";
    }
    const double x1 = a.x + kWidth, y1 = a.y + kHeight / 2, x2 = b.x - 2, y2 = b.y + kHeight / 2;
    const double bend = std::max(40.0, std::abs(x2 - x1) / 2);
    std::string hops;
    for (const auto& h : p.hops) hops += (hops.empty() ? "" : ", ") + h;
    out += fmt::format(
        "<g class=\"edge {}\" data-caller=\"{}\" data-callee=\"{}\"><title>{} → {} (hop {}){}"
        "</title><path d=\"M{:.0f} {:.0f} C{:.0f} {:.0f} {:.0f} {:.0f} {:.0f} {:.0f}\" "
        "marker-end=\"url(#arrow)\"/>",
        health, Esc(p.caller), Esc(p.callee), Esc(p.caller), Esc(p.callee), Esc(hops),
        label.empty() ? "" : ": " + label, x1, y1, x1 + bend, y1, x2 - bend, y2, x2, y2);
    if (!label.empty()) {
      out += fmt::format("<text x=\"{:.0f}\" y=\"{:.0f}\" text-anchor=\"middle\">{}</text>",
                         (x1 + x2) / 2, (y1 + y2) / 2 - 6, Esc(label));
    }
    out += "</g>\n";
  }
  for (const auto& node : nodes) {
    const Box& box = boxes[node];
    const bool driver = node == kDriverServiceName;
    std::string shown = node.size() > 24 ? node.substr(0, 22) + "…" : node;
    out += fmt::format(
        "<g class=\"node{}\" data-service=\"{}\"><title>{}</title><rect x=\"{:.0f}\" y=\"{:.0f}\" "
        "width=\"{:.0f}\" height=\"{:.0f}\" rx=\"5\"/><text x=\"{:.0f}\" y=\"{:.0f}\" "
        "text-anchor=\"middle\">{}</text></g>\n",
        driver ? " driver" : "", Esc(node), Esc(node), box.x, box.y, kWidth, kHeight,
        box.x + kWidth / 2, box.y + kHeight / 2 + 4, Esc(shown));
  }
  out += "</svg>\n";
  // The same edges as a table: readable by screen readers, searchable, and exact.
  out += "<table id=\"edges\"><thead><tr><th>caller</th><th>callee</th><th>hops</th>"
         "<th>expected</th><th>broken traces</th></tr></thead><tbody>\n";
  for (const auto& p : pairs) {
    std::string hops;
    for (const auto& h : p.hops) hops += (hops.empty() ? "" : ", ") + h;
    out += fmt::format("<tr><td>{}</td><td>{}</td><td class=\"mono\">{}</td><td>{}</td>"
                       "<td class=\"num\">{}</td></tr>\n",
                       Esc(p.caller), Esc(p.callee), Esc(hops), p.expected ? "yes" : "no",
                       p.broken_traces);
  }
  out += "</tbody></table>\n";
  if (r.expected_edges.empty()) {
    out += "<p class=\"placeholder\">This report does not carry the scenario's expected edges; "
           "only edges where something went wrong are drawn.</p>\n";
  }
  if (r.verification) out += BackendGraphHtml(r.verification->backend_graph);
  out += "</section>\n";
  return out;
}

// ---- latency ----------------------------------------------------------------------------------

std::string PercentileRow(std::string_view label, const LatencyHistogram& h) {
  if (h.count() == 0) {
    return fmt::format("<tr><th>{}</th><td colspan=\"7\" class=\"placeholder\">no samples</td></tr>\n",
                       label);
  }
  return fmt::format(
      "<tr><th>{}</th><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>"
      "<td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>"
      "<td class=\"num\">{}</td></tr>\n",
      label, FormatDuration(h.Percentile(50)), FormatDuration(h.Percentile(90)),
      FormatDuration(h.Percentile(99)), FormatDuration(h.Percentile(99.9)),
      FormatDuration(h.max()), FormatDuration(static_cast<uint64_t>(h.mean())), h.count());
}

// Quarter-octave bins: coarse enough to draw, fine enough to see a second mode.
int64_t Bin(uint64_t nanos) {
  return static_cast<int64_t>(std::floor(4 * std::log2(static_cast<double>(std::max<uint64_t>(nanos, 1)))));
}

std::string HistogramSvg(std::string_view id, std::string_view title, const LatencyHistogram& h) {
  std::string out = fmt::format("<figure class=\"hist\" id=\"{}\"><figcaption>{}</figcaption>\n",
                                id, title);
  if (h.count() == 0) return out + "<p class=\"placeholder\">no samples</p></figure>\n";
  std::map<int64_t, uint64_t> bins;
  for (const auto& [lower, count] : h.NonEmptyBuckets()) bins[Bin(lower)] += count;
  const int64_t first = bins.begin()->first;
  const int64_t last = bins.rbegin()->first;
  uint64_t tallest = 0;
  for (const auto& [bin, count] : bins) tallest = std::max(tallest, count);
  constexpr double kWidth = 340, kHeight = 110, kBase = 120;
  const double bar = kWidth / static_cast<double>(last - first + 1);
  out += fmt::format("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"360\" height=\"150\" "
                     "viewBox=\"0 0 360 150\" role=\"img\" aria-label=\"{}\">\n",
                     title);
  for (const auto& [bin, count] : bins) {
    const double height = kHeight * static_cast<double>(count) / static_cast<double>(tallest);
    out += fmt::format("<rect class=\"bar\" x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" "
                       "height=\"{:.1f}\"><title>{}: {}</title></rect>\n",
                       10 + static_cast<double>(bin - first) * bar, kBase - height,
                       std::max(bar - 1, 1.0), height,
                       FormatDuration(static_cast<uint64_t>(std::exp2(static_cast<double>(bin) / 4))),
                       count);
  }
  for (double p : {50.0, 99.0}) {
    const double x = 10 + (static_cast<double>(Bin(h.Percentile(p)) - first) + 0.5) * bar;
    out += fmt::format("<line class=\"pct\" x1=\"{0:.1f}\" x2=\"{0:.1f}\" y1=\"8\" y2=\"{1:.0f}\"/>"
                       "<text x=\"{0:.1f}\" y=\"8\" text-anchor=\"middle\">p{2:.0f}</text>\n",
                       x, kBase, p);
  }
  out += fmt::format("<text x=\"10\" y=\"136\">{}</text><text x=\"350\" y=\"136\" "
                     "text-anchor=\"end\">{}</text></svg></figure>\n",
                     FormatDuration(h.min()), FormatDuration(h.max()));
  return out;
}

// Latency over time: p50, p99 and max of the corrected latency of each interval on a log scale,
// and below it, on the same time axis, the requests completed per second (errors in red). One
// <g class="interval"> per point, with its figures in a tooltip.
std::string TimelineSvg(const LatencyTimeline& t) {
  std::string out =
      "<figure class=\"timeline\"><figcaption>corrected latency and achieved request rate over "
      "time, by intended start</figcaption>\n";
  const auto& points = t.points();
  if (points.empty()) {
    return out + "<p class=\"placeholder\">no timeline in this report</p></figure>\n";
  }
  struct Figures {
    uint64_t p50 = 0, p99 = 0, max = 0;
  };
  std::vector<Figures> figures(points.size());
  uint64_t low = UINT64_MAX, high = 1;
  double top_rate = 0;
  const double seconds = static_cast<double>(t.interval_ns()) / 1e9;
  for (size_t i = 0; i < points.size(); ++i) {
    top_rate = std::max(top_rate, static_cast<double>(points[i].requests) / seconds);
    if (points[i].corrected.count() == 0) continue;
    const LatencyHistogram h = points[i].corrected.ToDense();
    figures[i] = {std::max<uint64_t>(h.Percentile(50), 1), std::max<uint64_t>(h.Percentile(99), 1),
                  std::max<uint64_t>(h.max(), 1)};
    low = std::min(low, figures[i].p50);
    high = std::max(high, figures[i].max);
  }
  if (low == UINT64_MAX) low = 1;
  constexpr double kLeft = 70, kPlotWidth = 670, kTop = 24, kHeight = 160, kRateTop = 220,
                   kRateHeight = 70, kAxis = 306;
  const double slot = kPlotWidth / static_cast<double>(points.size());
  auto x = [&](size_t i) { return kLeft + (static_cast<double>(i) + 0.5) * slot; };
  // Whole decades, so the grid lines read 1ms, 10ms, 100ms.
  const double first_decade = std::floor(std::log10(static_cast<double>(low)));
  double last_decade = std::ceil(std::log10(static_cast<double>(high)));
  if (last_decade <= first_decade) last_decade = first_decade + 1;
  auto y = [&](uint64_t v) {
    const double f = (std::log10(static_cast<double>(v)) - first_decade) /
                     (last_decade - first_decade);
    return kTop + kHeight * (1 - f);
  };
  out += fmt::format(
      "<svg id=\"latency-over-time\" xmlns=\"http://www.w3.org/2000/svg\" width=\"760\" "
      "height=\"330\" viewBox=\"0 0 760 330\" role=\"img\" aria-label=\"latency and request "
      "rate over time\" data-interval-ns=\"{}\" data-points=\"{}\">\n",
      t.interval_ns(), points.size());
  for (double d = first_decade; d <= last_decade; d += 1) {
    const double gy = kTop + kHeight * (1 - (d - first_decade) / (last_decade - first_decade));
    out += fmt::format("<line class=\"grid\" x1=\"{0:.0f}\" x2=\"{1:.0f}\" y1=\"{2:.1f}\" "
                       "y2=\"{2:.1f}\"/><text x=\"{3:.0f}\" y=\"{4:.1f}\" "
                       "text-anchor=\"end\">{5}</text>\n",
                       kLeft, kLeft + kPlotWidth, gy, kLeft - 4, gy + 3,
                       FormatDuration(static_cast<uint64_t>(std::pow(10.0, d))));
  }
  out += fmt::format("<text x=\"{:.0f}\" y=\"14\">latency (log scale): <tspan class=\"p50\">"
                     "— p50</tspan>  <tspan class=\"p99\">— p99</tspan>  <tspan class=\"max\">"
                     "— max</tspan></text>\n",
                     kLeft);
  for (const auto& [name, field] : {std::pair{"p50", &Figures::p50},
                                    std::pair{"p99", &Figures::p99},
                                    std::pair{"max", &Figures::max}}) {
    std::string line;
    for (size_t i = 0; i < points.size(); ++i) {
      if (figures[i].*field == 0) continue;  // no latency in this interval: the line skips it
      line += fmt::format("{}{:.1f},{:.1f}", line.empty() ? "" : " ", x(i), y(figures[i].*field));
    }
    out += fmt::format("<polyline class=\"line {}\" points=\"{}\"/>\n", name, line);
  }
  out += fmt::format("<line class=\"grid\" x1=\"{0:.0f}\" x2=\"{1:.0f}\" y1=\"{2:.0f}\" "
                     "y2=\"{2:.0f}\"/><text x=\"{3:.0f}\" y=\"{2:.0f}\" text-anchor=\"end\">0/s"
                     "</text><text x=\"{3:.0f}\" y=\"{4:.0f}\" text-anchor=\"end\">{5:.4g}/s</text>"
                     "<text x=\"{0:.0f}\" y=\"{6:.0f}\">requests completed per second "
                     "(<tspan class=\"max\">errors</tspan>)</text>\n",
                     kLeft, kLeft + kPlotWidth, kRateTop + kRateHeight, kLeft - 4, kRateTop + 8,
                     top_rate, kRateTop - 6);
  for (size_t i = 0; i < points.size(); ++i) {
    const TimelinePoint& p = points[i];
    const uint64_t start = static_cast<uint64_t>(i) * t.interval_ns();
    const double rate = static_cast<double>(p.requests) / seconds;
    const double bar = top_rate > 0 ? kRateHeight * rate / top_rate : 0;
    const double errors = p.requests > 0 ? bar * static_cast<double>(p.errors) /
                                               static_cast<double>(p.requests)
                                         : 0;
    const double width = std::max(slot * 0.8, 0.5);
    std::string tip =
        fmt::format("{} – {}: {} requests ({:.4g}/s), {} errors", FormatDuration(start),
                    FormatDuration(start + t.interval_ns()), p.requests, rate, p.errors);
    if (figures[i].max != 0) {
      tip += fmt::format("; p50 {}, p99 {}, max {}", FormatDuration(figures[i].p50),
                         FormatDuration(figures[i].p99), FormatDuration(figures[i].max));
    }
    out += fmt::format("<g class=\"interval\" data-start-ns=\"{}\" data-requests=\"{}\" "
                       "data-errors=\"{}\"><title>{}</title>",
                       start, p.requests, p.errors, tip);
    if (figures[i].max != 0) {
      for (const auto& [name, v] : {std::pair{"p50", figures[i].p50},
                                    std::pair{"p99", figures[i].p99},
                                    std::pair{"max", figures[i].max}}) {
        out += fmt::format("<circle class=\"{}\" cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"2\"/>", name,
                           x(i), y(v));
      }
    }
    out += fmt::format("<rect class=\"rate\" x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" "
                       "height=\"{:.1f}\"/>",
                       x(i) - width / 2, kRateTop + kRateHeight - bar, width, bar);
    if (errors > 0) {
      out += fmt::format("<rect class=\"rate-errors\" x=\"{:.1f}\" y=\"{:.1f}\" "
                         "width=\"{:.1f}\" height=\"{:.1f}\"/>",
                         x(i) - width / 2, kRateTop + kRateHeight - errors, width, errors);
    }
    out += "</g>\n";
  }
  // Time axis: at most about eight labels, at interval boundaries.
  const size_t step = (points.size() + 7) / 8;
  for (size_t i = 0; i <= points.size(); i += step) {
    const double tx = kLeft + static_cast<double>(i) * slot;
    out += fmt::format("<text x=\"{:.1f}\" y=\"{:.0f}\" text-anchor=\"middle\">{}</text>", tx,
                       kAxis, FormatDuration(static_cast<uint64_t>(i) * t.interval_ns()));
  }
  out += fmt::format("\n<text x=\"{:.0f}\" y=\"{:.0f}\" text-anchor=\"middle\">time since the "
                     "first intended start ({} intervals)</text></svg></figure>\n",
                     kLeft + kPlotWidth / 2, kAxis + 18, FormatDuration(t.interval_ns()));
  return out;
}

// Time to queryable and, when some spans arrived after their trace's first poll, the late spans.
std::string TimeToQueryableHtml(const TimeToQueryable& t) {
  std::string out = "<h3>Time to queryable</h3>\n";
  if (t.traces == 0) {
    return out + "<p class=\"placeholder\" id=\"time-to-queryable\">no complete trace gave a "
                 "time-to-queryable sample</p>\n";
  }
  out += "<table id=\"time-to-queryable\"><thead><tr><th>traces</th><th>full at first poll</th>"
         "<th>p50</th><th>p90</th><th>p99</th><th>max</th><th>precision</th></tr></thead>"
         "<tbody>\n";
  out += fmt::format("<tr><td class=\"num\">{}</td><td class=\"num\">{}</td>"
                     "<td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>"
                     "<td class=\"num\">{}</td><td class=\"num\">± {}</td></tr>\n",
                     t.traces, t.upper_bounds, FormatDuration(t.p50_ns), FormatDuration(t.p90_ns),
                     FormatDuration(t.p99_ns), FormatDuration(t.max_ns),
                     FormatDuration(t.precision_ns));
  out += "</tbody></table>\n";
  if (t.late_hops.empty()) return out;
  out += fmt::format("<h3>Late spans</h3>\n<p>{} traces were complete only after their first poll "
                     "(later than {}); the spans they lacked at that poll:</p>\n",
                     t.late_traces, FormatDuration(t.late_floor_ns));
  out += "<table id=\"late-spans\"><thead><tr><th>hop</th><th>edge</th><th>kind</th>"
         "<th>traces</th><th>max</th></tr></thead><tbody>\n";
  for (const LateHop& h : t.late_hops) {
    out += fmt::format("<tr data-hop=\"{0}\"><td class=\"mono\">{0}</td><td>{1} → {2}</td>"
                       "<td>{3}</td><td class=\"num\">{4}</td><td class=\"num\">{5}</td></tr>\n",
                       Esc(h.hop), Esc(h.caller), Esc(h.callee), SpanKindName(h.kind), h.traces,
                       FormatDuration(h.max_ns));
  }
  return out + "</tbody></table>\n";
}

std::string LatencySection(const RunReport& r) {
  const auto& l = r.load;
  std::string out = "<section id=\"latency\">\n<h2>Latency</h2>\n";
  out += "<table id=\"percentiles\"><thead><tr><th></th><th>p50</th><th>p90</th><th>p99</th>"
         "<th>p99.9</th><th>max</th><th>mean</th><th>samples</th></tr></thead><tbody>\n";
  out += PercentileRow("corrected (from intended start)", l.corrected);
  out += PercentileRow("uncorrected (from actual send)", l.uncorrected);
  out += PercentileRow("schedule lag (send − intended)", l.schedule_lag);
  out += "</tbody></table>\n<div class=\"hists\">\n";
  out += HistogramSvg("hist-corrected", "corrected latency", l.corrected);
  out += HistogramSvg("hist-uncorrected", "uncorrected latency", l.uncorrected);
  out += HistogramSvg("hist-lag", "schedule lag", l.schedule_lag);
  out += "</div>\n";
  out += TimelineSvg(l.timeline);
  if (r.verification) out += TimeToQueryableHtml(r.verification->time_to_queryable);
  out += "</section>\n";
  return out;
}

std::string SamplingSection(const RunReport& r) {
  std::string out = "<section id=\"sampling\">\n<h2>Sampling</h2>\n";
  if (!r.verification || r.verification->sampling.empty()) {
    out += "<p class=\"placeholder\" id=\"sampling-checks\">no sampling checks in this run</p>\n";
  } else {
    // Observed fraction as a bar, the configured one as a tick, the interval as a band.
    out += "<table id=\"sampling-checks\"><tr><th>service</th><th>policy</th><th>sampled</th>"
           "<th>observed vs expected</th><th>verdict</th></tr>\n";
    for (const auto& s : r.verification->sampling) {
      auto x = [](double f) { return std::clamp(f, 0.0, 1.0) * 200; };
      out += fmt::format(
          "<tr><td>{}</td><td><code>{}</code></td><td>{} of {} ({:.3f})</td><td><svg width=\"204\" "
          "height=\"14\" role=\"img\" aria-label=\"observed {:.3f}, expected {:.3f}\">"
          "<rect x=\"2\" y=\"3\" width=\"200\" height=\"8\" fill=\"#eee\"/>"
          "<rect x=\"{:.1f}\" y=\"3\" width=\"{:.1f}\" height=\"8\" fill=\"#cde\"/>"
          "<rect x=\"2\" y=\"5\" width=\"{:.1f}\" height=\"4\" fill=\"#357\"/>"
          "<rect x=\"{:.1f}\" y=\"0\" width=\"2\" height=\"14\" fill=\"#c00\"/></svg></td>"
          "<td class=\"{}\">{}</td></tr>\n",
          Esc(s.service), Esc(s.policy), s.k, s.n, s.observed, s.observed, s.expected,
          2 + x(s.interval_low), x(s.interval_high) - x(s.interval_low), x(s.observed),
          1 + x(s.expected), s.verdict == "fail" ? "fail" : "pass", Esc(s.verdict));
    }
    out += "</table>\n";
  }
  out += fmt::format("<p>{} spans recorded but not exported (not sampled); {} requests sent "
                     "unsampled by the driver.</p>\n",
                     r.topology.spans_unsampled,
                     r.verification ? r.verification->skipped_unsampled : 0);
  out += "</section>\n";
  return out;
}

// ---- trace waterfall --------------------------------------------------------------------------

struct WaterfallRow {
  std::string hop;
  std::string caller;  // "" when unknown
  std::string callee;
};

// The rows every example trace is drawn against: the expected edges when the report has them,
// else the hops the trace's own problems name.
std::vector<WaterfallRow> RowsFor(const RunReport& r, const TraceVerdict& v) {
  std::vector<WaterfallRow> rows;
  for (const auto& e : r.expected_edges) rows.push_back({e.hop, e.caller, e.callee});
  if (!rows.empty()) return rows;
  auto add = [&rows](const std::string& hop, const std::string& caller, const std::string& callee) {
    for (auto& row : rows) {
      if (row.hop == hop) {
        if (row.caller.empty()) row.caller = caller;
        return;
      }
    }
    rows.push_back({hop, caller, callee});
  };
  for (const auto& b : v.breaks) add(b.hop, b.caller, b.callee);
  for (const auto& m : v.missing) add(m.hop, "", m.service);
  for (const auto& x : v.violations) {
    if (!x.hop.empty()) add(x.hop, "", x.service);
  }
  std::stable_sort(rows.begin(), rows.end(), [](const WaterfallRow& a, const WaterfallRow& b) {
    return HopPath(a.hop) < HopPath(b.hop);
  });
  return rows;
}

std::string TraceCard(const RunReport& r, const TraceVerdict& v) {
  std::set<std::string> services;  // the services this trace's problems implicate
  std::set<std::string> errors;    // violation kinds
  for (const auto& b : v.breaks) {
    services.insert(b.caller);
    services.insert(b.callee);
  }
  for (const auto& m : v.missing) services.insert(m.service);
  for (const auto& x : v.violations) {
    services.insert(x.service);
    errors.insert(x.kind);
  }
  std::string service_list, error_list;
  for (const auto& s : services) service_list += (service_list.empty() ? "" : "\n") + s;
  for (const auto& e : errors) error_list += (error_list.empty() ? "" : " ") + e;
  const std::string status(TraceStatusName(v.status));
  std::string out = fmt::format(
      "<article class=\"trace {0}\" data-status=\"{0}\" data-services=\"{1}\" data-errors=\"{2}\" "
      "data-sequence=\"{3}\">\n<header><span class=\"status\">{0}</span> · request #{3} · trace "
      "<code>{4}</code> · request id <code>{5}</code> · {6} of {7} expected spans under the trace "
      "id{8}</header>\n",
      status, Esc(service_list), Esc(error_list), v.sequence, v.trace_id.ToHex(),
      FormatRequestId(v.request_id), v.found_spans, v.expected_spans,
      errors.empty() ? "" : " · violations: " + Esc(error_list));
  // With span timings, bars are placed by time relative to the trace's earliest span; without
  // (reports from before timings were kept, missing traces) they show nesting only.
  const bool timed = !v.timings.empty();
  uint64_t earliest = UINT64_MAX, latest = 0;
  for (const auto& t : v.timings) {
    earliest = std::min(earliest, t.start_unix_nano);
    latest = std::max(latest, t.end_unix_nano);
  }
  const uint64_t total_ns = timed ? std::max<uint64_t>(latest - std::min(latest, earliest), 1) : 1;
  // Left edge and width in percent of the trace's duration; at least 0.5% wide so that a span
  // shorter than a pixel still shows.
  auto place = [&](uint64_t start, uint64_t end) {
    const auto at = [&](uint64_t ns) {
      return 100.0 * static_cast<double>(ns - std::min(ns, earliest)) /
             static_cast<double>(total_ns);
    };
    const double left = std::min(at(start), 99.5);
    return std::pair{left, std::min(std::max(at(end) - at(start), 0.5), 100.0 - left)};
  };
  if (timed) {
    out += "<div class=\"row axis\"><span class=\"label\">time from the trace's first span</span>"
           "<span class=\"lane\">";
    for (int q = 0; q <= 4; ++q) {
      out += fmt::format("<span class=\"tick\" style=\"left:{}%\">{}</span>", q * 25,
                         FormatDuration(total_ns * static_cast<uint64_t>(q) / 4));
    }
    out += "</span><span class=\"note\"></span></div>\n";
  }
  bool fault_marked = false;
  for (const auto& row : RowsFor(r, v)) {
    std::string state = "ok";
    std::string note;
    bool fault = false;
    if (v.status == TraceStatus::kMissing) {
      state = "missing";
      note = "nothing reached the backend";
    }
    for (const auto& b : v.breaks) {
      if (row.hop == b.hop) {
        state = "moved";
        fault = true;
        note = "trace id changed here: " + b.callee + "'s span is under " + b.found_under.ToHex();
      } else if (IsUnder(row.hop, b.hop) && !fault) {
        state = "moved";
        note = "under another trace id";
      }
    }
    for (const auto& m : v.missing) {
      if (m.hop == row.hop) {
        state = "missing";
        note = fmt::format("{} span of {} missing", SpanKindName(m.kind), m.service);
        if (!fault_marked) fault = true;  // the topmost missing hop is where to look first
      }
    }
    for (const auto& x : v.violations) {
      if (x.hop == row.hop && state == "ok") {
        state = "violation";
        note = x.kind + ": " + x.explanation;
      }
    }
    fault_marked |= fault;
    std::string bars;
    if (!timed) {
      const size_t depth = HopPath(row.hop).size();
      const double left = static_cast<double>(depth - 1) * 4.0;
      const double bar = std::max(10.0, 100.0 - 2 * left);
      bars = fmt::format("<span class=\"bar\" style=\"left:{:.0f}%;width:{:.0f}%\"></span>", left,
                         bar);
    } else {
      // The caller's CLIENT span and, drawn inside it, the callee's SERVER span of this hop.
      const SpanTiming* client = nullptr;
      const SpanTiming* server = nullptr;
      for (const auto& t : v.timings) {
        if (t.hop != row.hop) continue;
        if (t.kind == SpanKind::kClient && client == nullptr) client = &t;
        if (t.kind == SpanKind::kServer && server == nullptr) server = &t;
      }
      for (const auto& [side, span] : {std::pair{"client", client}, std::pair{"server", server}}) {
        if (span == nullptr) continue;
        const auto [left, width] = place(span->start_unix_nano, span->end_unix_nano);
        const uint64_t from = span->start_unix_nano - std::min(span->start_unix_nano, earliest);
        const uint64_t to = span->end_unix_nano - std::min(span->end_unix_nano, earliest);
        bars += fmt::format(
            "<span class=\"bar span {}\" data-start-ns=\"{}\" data-end-ns=\"{}\" "
            "style=\"left:{:.2f}%;width:{:.2f}%\" title=\"{} {} {} – {} ({})\"></span>",
            side, from, to, left, width, Esc(span->service), SpanKindName(span->kind),
            FormatDuration(from), FormatDuration(to), FormatDuration(to - std::min(to, from)));
      }
      if (client == nullptr || server == nullptr) {
        // A missing span: a dashed placeholder over its counterpart, or the whole trace.
        const SpanTiming* other = client != nullptr ? client : server;
        const auto [left, width] = other != nullptr
                                       ? place(other->start_unix_nano, other->end_unix_nano)
                                       : std::pair{0.0, 100.0};
        bars += fmt::format("<span class=\"bar gap\" style=\"left:{:.2f}%;width:{:.2f}%\"></span>",
                            left, width);
      }
    }
    out += fmt::format(
        "<div class=\"row {}{}\" data-hop=\"{}\"><span class=\"label\" title=\"{}\"><code>{}</code> "
        "{}{}</span><span class=\"lane\">{}</span><span class=\"note\" title=\"{}\">{}</span>"
        "</div>\n",
        state, fault ? " fault" : "", Esc(row.hop), Esc(row.caller + " → " + row.callee),
        Esc(row.hop), row.caller.empty() ? "" : Esc(row.caller) + " → ", Esc(row.callee), bars,
        Esc(note), Esc(note));
  }
  out += fmt::format("<p class=\"explanation\">{}</p>\n</article>\n", Esc(v.explanation));
  return out;
}

std::string TracesSection(const RunReport& r) {
  std::vector<const TraceVerdict*> traces;
  std::set<std::string> services;
  if (r.verification) {
    std::set<uint64_t> seen;
    for (const auto* list : {&r.verification->examples, &r.verification->violation_examples}) {
      for (const auto& v : *list) {
        if (seen.insert(v.sequence).second) traces.push_back(&v);
      }
    }
    std::stable_sort(traces.begin(), traces.end(), [](const TraceVerdict* a, const TraceVerdict* b) {
      return a->sequence < b->sequence;
    });
  }
  for (const auto& s : r.services) services.insert(s.name);
  for (const auto* v : traces) {
    for (const auto& b : v->breaks) services.insert({b.caller, b.callee});
    for (const auto& m : v->missing) services.insert(m.service);
    for (const auto& x : v->violations) services.insert(x.service);
  }
  std::string out = "<section id=\"traces\">\n<h2>Example traces</h2>\n";
  out += "<p class=\"facts\">Every broken, incomplete or missing trace the verifier kept, and the "
         "traces with structural violations. Each row is an edge of the call tree (hop, caller → "
         "callee); the faulty hop is red. Bars are placed by time from the trace's first span: the "
         "caller's CLIENT span (light) with the callee's SERVER span inside it; a missing span "
         "is a dashed placeholder. Traces without timings show nesting only.</p>\n";
  out += "<div id=\"filters\" hidden><label>status <select id=\"filter-status\">"
         "<option value=\"\">all</option>";
  for (const char* s : {"broken", "incomplete", "missing", "complete"}) {
    out += fmt::format("<option value=\"{0}\">{0}</option>", s);
  }
  if (r.verification) {
    for (const auto& [kind, count] : r.verification->violation_counts) {
      out += fmt::format("<option value=\"violation:{0}\">violation: {0}</option>", Esc(kind));
    }
  }
  out += "</select></label><label>service <select id=\"filter-service\">"
         "<option value=\"\">all</option>";
  for (const auto& s : services) out += fmt::format("<option value=\"{0}\">{0}</option>", Esc(s));
  out += "</select></label><span id=\"filter-count\"></span></div>\n";
  if (traces.empty()) {
    out += "<p class=\"placeholder\">no example traces: every checked trace was complete, or "
           "nothing was verified</p>\n";
  }
  for (const auto* v : traces) out += TraceCard(r, *v);
  out += "</section>\n";
  return out;
}

}  // namespace

std::string EscapeHtml(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      case '\n':
        out += "&#10;";  // kept in attributes (the service filter splits on it)
        break;
      default: {
        const auto u = static_cast<unsigned char>(c);
        out += (u < 0x20 || u == 0x7F) ? ' ' : c;  // control characters HTML does not allow
      }
    }
  }
  return out;
}

std::string RenderHtmlReport(const RunReport& r) {
  std::string out = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  out += fmt::format("<title>tracerig · {} — {}</title>\n", Esc(r.scenario_name), Esc(r.verdict));
  out += "<style>";
  out += kStyle;
  out += "</style>\n</head>\n";
  out += fmt::format("<body data-verdict=\"{}\" data-exit-code=\"{}\" data-ready=\"no\">\n",
                     VerdictClass(r), r.exit_code);
  out += Summary(r);
  out += GraphSection(r);
  out += LoadSection(r);
  out += LatencySection(r);
  out += SamplingSection(r);
  out += TracesSection(r);
  out += "<script>";
  out += kScript;
  out += "</script>\n</body>\n</html>\n";
  return out;
}

}  // namespace tracerig
