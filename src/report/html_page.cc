// The HTML report's page shell: the document frame around the sections, its inline CSS and JS,
// and the helpers the sections share.
#include "report/html.h"

#include <cstdint>
#include <ctime>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "report/html_internal.h"

namespace tracerig {
using namespace html_internal;  // report/html_internal.h
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
.edge-label rect{fill:var(--bg);fill-opacity:.9}.edge-label text{font-size:11px}
.edge-label.broken text{fill:var(--bad);font-weight:600}
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

}  // namespace

std::string html_internal::UtcTime(uint64_t unix_nano) {
  std::time_t seconds = static_cast<std::time_t>(unix_nano / 1'000'000'000ull);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

std::string html_internal::VerdictClass(const RunReport& r) {
  if (r.verdict.starts_with("PASS")) return "pass";
  if (r.verdict.starts_with("FAIL")) return "fail";
  if (r.verdict.starts_with("ERROR")) return "error";
  return "done";
}

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
