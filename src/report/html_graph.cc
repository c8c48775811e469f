// The HTML report's service graph: expected vs observed edges as SVG, coloured by health, the same
// edges as a table, and the backend's own dependency list.
#include "report/html_internal.h"

#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "report/html_graph_layout.h"
#include "topology/expected_tree.h"

namespace tracerig {
using namespace html_internal;  // report/html_internal.h
namespace {

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
  bool async = false;      // the caller publishes, the callee consumes: drawn dashed
};

}  // namespace

std::string html_internal::GraphSection(const RunReport& r) {
  std::vector<GraphPair> pairs;
  auto pair_for = [&pairs](const std::string& caller, const std::string& callee) -> GraphPair& {
    for (auto& p : pairs) {
      if (p.caller == caller && p.callee == callee) return p;
    }
    pairs.push_back({caller, callee, {}, false, 0, false, false, false});
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
    p.async |= e.async;
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
  std::vector<size_t> columns;
  for (const auto& node : nodes) columns.push_back(depth.count(node) ? depth[node] : unplaced);
  auto index_of = [&nodes](const std::string& node) {
    return static_cast<size_t>(std::find(nodes.begin(), nodes.end(), node) - nodes.begin());
  };
  std::vector<std::string> healths, labels;
  std::vector<GraphLayoutEdge> layout_edges;
  for (const auto& p : pairs) {
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
    layout_edges.push_back(
        {index_of(p.caller), index_of(p.callee), label.empty() ? 0 : GraphLabelWidth(label)});
    healths.push_back(std::move(health));
    labels.push_back(std::move(label));
  }
  const GraphLayout layout = LayoutServiceGraph(columns, layout_edges);

  std::string out = "<section id=\"graph\">\n<h2>Service graph: expected vs observed</h2>\n";
  out += "<p class=\"legend\"><span><i style=\"background:var(--ok)\"></i>expected, intact</span>"
         "<span><i style=\"background:var(--bad)\"></i>propagation broke here</span>"
         "<span><i style=\"background:var(--moved)\"></i>spans missing</span>"
         "<span><i style=\"background:var(--viol)\"></i>structural violation</span>"
         "<span><i style=\"background:var(--miss)\"></i>not verified</span>";
  // Only when an edge is drawn so: a dashed line for a message through a queue.
  if (std::any_of(pairs.begin(), pairs.end(), [](const GraphPair& p) { return p.async; })) {
    out += "<span><svg width=\"22\" height=\"6\"><line x1=\"0\" y1=\"3\" x2=\"22\" "
           "y2=\"3\" stroke=\"#57606a\" stroke-width=\"2\" stroke-dasharray=\"6 2 2 2\"/></svg>"
           "async: publish → consume</span>";
  }
  out += "</p>\n";
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
      layout.width, layout.height);
  for (size_t i = 0; i < pairs.size(); ++i) {
    const GraphPair& p = pairs[i];
    std::string hops;
    for (const auto& h : p.hops) hops += (hops.empty() ? "" : ", ") + h;
    out += fmt::format(
        "<g class=\"edge {}{}\" data-caller=\"{}\" data-callee=\"{}\"><title>{} → {} ({}hop {}){}"
        "</title><path d=\"{}\" marker-end=\"url(#arrow)\"{}/></g>\n",
        healths[i], p.async ? " async" : "", Esc(p.caller), Esc(p.callee), Esc(p.caller),
        Esc(p.callee), p.async ? "async, publish → consume, " : "", Esc(hops),
        labels[i].empty() ? "" : ": " + labels[i], layout.edges[i].path,
        // Inline, so it wins over the health's own dashes (unverified, unexpected).
        p.async ? " style=\"stroke-dasharray:6 2 2 2\"" : "");
  }
  // Labels after every edge, each on a background, where the layout found room for it.
  for (size_t i = 0; i < pairs.size(); ++i) {
    if (!layout.edges[i].label) continue;
    const GraphRect& box = *layout.edges[i].label;
    out += fmt::format(
        "<g class=\"edge-label {}\" data-caller=\"{}\" data-callee=\"{}\"><rect x=\"{:.0f}\" "
        "y=\"{:.0f}\" width=\"{:.0f}\" height=\"{:.0f}\" rx=\"3\"/><text x=\"{:.0f}\" y=\"{:.0f}\" "
        "text-anchor=\"middle\">{}</text></g>\n",
        healths[i], Esc(pairs[i].caller), Esc(pairs[i].callee), box.x, box.y, box.width,
        box.height, box.x + box.width / 2, box.y + box.height / 2 + 4, Esc(labels[i]));
  }
  for (size_t i = 0; i < nodes.size(); ++i) {
    const std::string& node = nodes[i];
    const GraphRect& box = layout.nodes[i];
    const bool driver = node == kDriverServiceName;
    std::string shown = node.size() > 24 ? node.substr(0, 22) + "…" : node;
    out += fmt::format(
        "<g class=\"node{}\" data-service=\"{}\"><title>{}</title><rect x=\"{:.0f}\" y=\"{:.0f}\" "
        "width=\"{:.0f}\" height=\"{:.0f}\" rx=\"5\"/><text x=\"{:.0f}\" y=\"{:.0f}\" "
        "text-anchor=\"middle\">{}</text></g>\n",
        driver ? " driver" : "", Esc(node), Esc(node), box.x, box.y, box.width, box.height,
        box.x + box.width / 2, box.y + box.height / 2 + 4, Esc(shown));
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
                       Esc(p.caller), Esc(p.callee), Esc(hops),
                       p.expected ? (p.async ? "yes (async)" : "yes") : "no",
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

}  // namespace tracerig
