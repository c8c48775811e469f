// The HTML report's example traces: a waterfall per trace (one row per hop, bars placed by span
// timings when the report has them, the faulty hop highlighted) and the filters over them.
#include "report/html_internal.h"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "core/units.h"

namespace tracerig {
using namespace html_internal;  // report/html_internal.h
namespace {

bool IsUnder(std::string_view hop, std::string_view ancestor) {
  return hop.size() > ancestor.size() && hop.starts_with(ancestor) && hop[ancestor.size()] == '.';
}

struct WaterfallRow {
  std::string hop;
  std::string caller;  // "" when unknown
  std::string callee;  // "" when unknown
};

// A hop as (call index, retry) per component, so that "0.1r1" follows the subtree of "0.1" and
// precedes "0.2", as in the expected tree's pre-order.
std::vector<std::pair<uint64_t, uint64_t>> HopOrder(std::string_view hop) {
  std::vector<std::pair<uint64_t, uint64_t>> order;
  while (!hop.empty()) {
    const size_t dot = hop.find('.');
    const std::string_view part = hop.substr(0, dot);
    const size_t r = part.find('r');
    uint64_t index = 0, retry = 0;
    std::from_chars(part.data(), part.data() + std::min(r, part.size()), index);
    if (r != std::string_view::npos) {
      std::from_chars(part.data() + r + 1, part.data() + part.size(), retry);
    }
    order.emplace_back(index, retry);
    hop = dot == std::string_view::npos ? std::string_view{} : hop.substr(dot + 1);
  }
  return order;
}

// The rows of one example trace: the edges of its own request's expected tree, which the verdict
// carries as the spans found (timings) and the spans missing; together they are every span of
// that tree the verifier expected. Reports without timings add the hops breaks and violations
// name; a verdict naming no hop at all gets the expected edges when they form one tree. A side
// neither list has (a caller sampled out, a callee a timeout excused) is taken from
// the scenario's expected edges when exactly one of them fits.
std::vector<WaterfallRow> RowsFor(const RunReport& r, const TraceVerdict& v) {
  std::vector<WaterfallRow> rows;
  auto row_at = [&rows](const std::string& hop) -> WaterfallRow& {
    for (auto& row : rows) {
      if (row.hop == hop) return row;
    }
    return rows.emplace_back(WaterfallRow{hop, "", ""});
  };
  auto add = [&](const std::string& hop, SpanKind kind, const std::string& service) {
    WaterfallRow& row = row_at(hop);
    std::string& side = kind == SpanKind::kClient ? row.caller : row.callee;
    if (side.empty()) side = service;
  };
  for (const auto& t : v.timings) add(t.hop, t.kind, t.service);
  for (const auto& m : v.missing) add(m.hop, m.kind, m.service);
  for (const auto& b : v.breaks) {
    add(b.hop, SpanKind::kClient, b.caller);
    add(b.hop, SpanKind::kServer, b.callee);
  }
  if (v.timings.empty()) {
    for (const auto& x : v.violations) {
      if (!x.hop.empty()) add(x.hop, SpanKind::kServer, x.service);
    }
  }
  if (rows.empty()) {
    // The verdict names no hop (a missing trace from a report that does not list its spans): the
    // expected edges are its tree only when they form a single tree, one edge per hop.
    std::set<std::string> hops;
    for (const auto& e : r.expected_edges) {
      if (!hops.insert(e.hop).second) return {};
    }
    for (const auto& e : r.expected_edges) rows.push_back({e.hop, e.caller, e.callee});
  }
  for (auto& row : rows) {
    const GraphEdge* fit = nullptr;
    size_t fits = 0;
    for (const auto& e : r.expected_edges) {
      if (e.hop == row.hop && (row.caller.empty() || e.caller == row.caller) &&
          (row.callee.empty() || e.callee == row.callee)) {
        fit = &e;
        ++fits;
      }
    }
    if (fits == 1) {
      row.caller = fit->caller;
      row.callee = fit->callee;
    }
  }
  std::stable_sort(rows.begin(), rows.end(), [](const WaterfallRow& a, const WaterfallRow& b) {
    return HopOrder(a.hop) < HopOrder(b.hop);
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
  const std::vector<WaterfallRow> rows = RowsFor(r, v);
  if (rows.empty()) {
    out += "<p class=\"placeholder\">no hop of this request is known: the report lists none of "
           "its spans</p>\n";
  }
  for (const auto& row : rows) {
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

}  // namespace

std::string html_internal::TracesSection(const RunReport& r) {
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

}  // namespace tracerig
