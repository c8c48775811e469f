// The HTML report's service graph, geometrically: the SVG the report draws is parsed back and no
// edge passes through a node box, and no edge label is covered by another label or another edge,
// for a topology with edges toward the same and earlier columns and several labelled edges.
#include "report/html.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <map>
#include <regex>
#include <string>
#include <utility>
#include <vector>

#include "report/html_graph_layout.h"

namespace tracerig {
namespace {

struct Point {
  double x, y;
};
struct Rect {
  double x, y, w, h;
};

// The polyline of SVG path data made of absolute M, L, Q and C commands (curves sampled).
std::vector<Point> Flatten(const std::string& d) {
  std::vector<Point> out;
  std::vector<double> args;
  char command = 0;
  auto flush = [&] {
    if (command == 0) return;
    const Point from = out.empty() ? Point{0, 0} : out.back();
    if (command == 'M' || command == 'L') {
      for (size_t i = 0; i + 1 < args.size(); i += 2) out.push_back({args[i], args[i + 1]});
    } else if (command == 'Q' || command == 'C') {
      const size_t n = command == 'Q' ? 4 : 6;
      Point p0 = from;
      for (size_t i = 0; i + n - 1 < args.size(); i += n) {
        std::vector<Point> c = {p0};
        for (size_t k = 0; k < n; k += 2) c.push_back({args[i + k], args[i + k + 1]});
        for (int s = 1; s <= 24; ++s) {
          const double t = s / 24.0, u = 1 - t;
          Point p;
          if (command == 'Q') {
            p = {u * u * c[0].x + 2 * u * t * c[1].x + t * t * c[2].x,
                 u * u * c[0].y + 2 * u * t * c[1].y + t * t * c[2].y};
          } else {
            p = {u * u * u * c[0].x + 3 * u * u * t * c[1].x + 3 * u * t * t * c[2].x +
                     t * t * t * c[3].x,
                 u * u * u * c[0].y + 3 * u * u * t * c[1].y + 3 * u * t * t * c[2].y +
                     t * t * t * c[3].y};
          }
          out.push_back(p);
        }
        p0 = out.back();
      }
    } else {
      ADD_FAILURE() << "unexpected path command " << command << " in " << d;
    }
    args.clear();
  };
  for (size_t i = 0; i < d.size();) {
    const char c = d[i];
    if (std::isalpha(static_cast<unsigned char>(c))) {
      flush();
      command = c;
      ++i;
    } else if (c == ' ' || c == ',') {
      ++i;
    } else {
      char* end = nullptr;
      args.push_back(std::strtod(d.c_str() + i, &end));
      i = static_cast<size_t>(end - d.c_str());
    }
  }
  flush();
  return out;
}

// Whether segment a-b passes through the inside of `r` shrunk by `inset` (Liang-Barsky).
bool SegmentHitsRect(Point a, Point b, Rect r, double inset) {
  const double x0 = r.x + inset, x1 = r.x + r.w - inset, y0 = r.y + inset, y1 = r.y + r.h - inset;
  double t0 = 0, t1 = 1;
  const double dx = b.x - a.x, dy = b.y - a.y;
  const double p[] = {-dx, dx, -dy, dy};
  const double q[] = {a.x - x0, x1 - a.x, a.y - y0, y1 - a.y};
  for (int i = 0; i < 4; ++i) {
    if (p[i] == 0) {
      if (q[i] <= 0) return false;
    } else {
      const double t = q[i] / p[i];
      if (p[i] < 0) {
        t0 = std::max(t0, t);
      } else {
        t1 = std::min(t1, t);
      }
    }
  }
  return t0 < t1;
}

bool RectsOverlap(Rect a, Rect b) {
  return a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
}

struct ParsedGraph {
  std::map<std::string, Rect> nodes;
  // (caller, callee) -> polyline; and -> label background
  std::map<std::pair<std::string, std::string>, std::vector<Point>> edges;
  std::map<std::pair<std::string, std::string>, Rect> labels;
  std::map<std::pair<std::string, std::string>, std::string> label_texts;
};

ParsedGraph ParseGraph(const std::string& html) {
  const size_t start = html.find("<svg id=\"service-graph\"");
  const std::string svg = html.substr(start, html.find("</svg>", start) - start);
  ParsedGraph g;
  const std::string num = "(-?[0-9.]+)";
  const std::regex node(
      "<g class=\"node[^\"]*\" data-service=\"([^\"]*)\"><title>[^<]*</title>"
      "<rect x=\"" +
      num + "\" y=\"" + num + "\" width=\"" + num + "\" height=\"" + num + "\"");
  for (auto it = std::sregex_iterator(svg.begin(), svg.end(), node); it != std::sregex_iterator();
       ++it) {
    g.nodes[(*it)[1]] = {std::stod((*it)[2]), std::stod((*it)[3]), std::stod((*it)[4]),
                         std::stod((*it)[5])};
  }
  const std::regex edge(
      "<g class=\"edge [a-z]+\" data-caller=\"([^\"]*)\" "
      "data-callee=\"([^\"]*)\">.*?<path d=\"([^\"]*)\"");
  for (auto it = std::sregex_iterator(svg.begin(), svg.end(), edge); it != std::sregex_iterator();
       ++it) {
    g.edges[{(*it)[1], (*it)[2]}] = Flatten((*it)[3]);
  }
  const std::regex label(
      "<g class=\"edge-label [a-z]+\" data-caller=\"([^\"]*)\" "
      "data-callee=\"([^\"]*)\"><rect x=\"" +
      num + "\" y=\"" + num + "\" width=\"" + num + "\" height=\"" + num +
      "\"[^>]*/><text[^>]*>([^<]*)</text>");
  for (auto it = std::sregex_iterator(svg.begin(), svg.end(), label); it != std::sregex_iterator();
       ++it) {
    const std::pair<std::string, std::string> key{(*it)[1], (*it)[2]};
    g.labels[key] = {std::stod((*it)[3]), std::stod((*it)[4]), std::stod((*it)[5]),
                     std::stod((*it)[6])};
    g.label_texts[key] = (*it)[7];
  }
  return g;
}

// Driver -> frontend -> {checkout, cart}; checkout -> cart (same column), checkout -> payment,
// payment -> frontend (two columns back), payment -> fraud, cart -> ledger; breaks on four edges
// and missing spans on a fifth, so five edges carry labels.
RunReport BackEdgeReport() {
  RunReport r;
  r.scenario_name = "back-edges";
  for (const char* s : {"frontend", "checkout", "cart", "payment", "fraud", "ledger"}) {
    r.services.push_back({s, {}, ""});
  }
  r.expected_edges = {{"0", "tracerig-driver", "frontend"}, {"0.0", "frontend", "checkout"},
                      {"0.0.0", "checkout", "cart"},        {"0.0.1", "checkout", "payment"},
                      {"0.0.1.0", "payment", "frontend"},   {"0.0.1.1", "payment", "fraud"},
                      {"0.1", "frontend", "cart"},          {"0.1.0", "cart", "ledger"}};
  VerificationSummary v;
  v.checked = 20;
  v.broken = 13;
  v.break_edges = {{"0.0.1", "checkout", "payment", 7},
                   {"0.0.1.0", "payment", "frontend", 2},
                   {"0.0", "frontend", "checkout", 1},
                   {"0.0.0", "checkout", "cart", 3}};
  TraceVerdict incomplete;
  incomplete.status = TraceStatus::kIncomplete;
  incomplete.sequence = 4;
  incomplete.missing.push_back({"0.1.0", "ledger", "Post", SpanKind::kServer});
  v.examples.push_back(incomplete);
  r.verification = v;
  return r;
}

void ExpectReadableGraph(const ParsedGraph& g, size_t labels) {
  ASSERT_FALSE(g.nodes.empty());
  EXPECT_EQ(g.labels.size(), labels);
  for (const auto& [key, line] : g.edges) {
    ASSERT_GE(line.size(), 2u) << key.first << " -> " << key.second;
    for (size_t i = 0; i + 1 < line.size(); ++i) {
      for (const auto& [name, box] : g.nodes) {
        EXPECT_FALSE(SegmentHitsRect(line[i], line[i + 1], box, 0.5))
            << key.first << " -> " << key.second << " passes through " << name << " at ("
            << line[i].x << "," << line[i].y << ")-(" << line[i + 1].x << "," << line[i + 1].y
            << ")";
      }
    }
  }
  for (const auto& [key, box] : g.labels) {
    const std::string edge = key.first + " -> " + key.second;
    for (const auto& [other, other_box] : g.labels) {
      if (other != key) {
        EXPECT_FALSE(RectsOverlap(box, other_box)) << edge;
      }
    }
    for (const auto& [name, node_box] : g.nodes) {
      EXPECT_FALSE(RectsOverlap(box, node_box)) << edge << " label over node " << name;
    }
    for (const auto& [other, line] : g.edges) {
      if (other == key) continue;
      for (size_t i = 0; i + 1 < line.size(); ++i) {
        EXPECT_FALSE(SegmentHitsRect(line[i], line[i + 1], box, 0.5))
            << edge << " label under edge " << other.first << " -> " << other.second;
      }
    }
  }
}

TEST(HtmlGraphTest, EdgesGoAroundNodesAndLeaveLabelsUncovered) {
  const ParsedGraph g = ParseGraph(RenderHtmlReport(BackEdgeReport()));
  EXPECT_EQ(g.nodes.size(), 7u);
  EXPECT_EQ(g.edges.size(), 8u);
  ExpectReadableGraph(g, 5);
  EXPECT_EQ((g.label_texts.at({"checkout", "payment"})), "7 broke");
  EXPECT_EQ((g.label_texts.at({"cart", "ledger"})), "spans missing");
}

// The layout itself, on generated graphs: whatever the columns and edges (same column, earlier
// columns, skipped columns, a service calling itself), no edge passes through a node box.
TEST(HtmlGraphTest, LayoutRoutesEveryEdgeAroundTheBoxes) {
  using html_internal::GraphLayoutEdge;
  uint64_t state = 12345;
  auto next = [&state](uint64_t n) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return (state >> 33) % n;
  };
  for (int round = 0; round < 200; ++round) {
    const size_t nodes = 2 + next(9);
    const size_t column_count = 1 + next(5);
    std::vector<size_t> columns;
    for (size_t i = 0; i < nodes; ++i) columns.push_back(next(column_count));
    std::vector<GraphLayoutEdge> edges;
    for (size_t e = next(2 * nodes + 1); e > 0; --e) {
      edges.push_back({next(nodes), next(nodes), next(3) == 0 ? 57.0 : 0.0});
    }
    const html_internal::GraphLayout layout = html_internal::LayoutServiceGraph(columns, edges);
    ASSERT_EQ(layout.nodes.size(), nodes);
    ASSERT_EQ(layout.edges.size(), edges.size());
    for (size_t e = 0; e < edges.size(); ++e) {
      const auto& line = layout.edges[e].line;
      ASSERT_GE(line.size(), 2u);
      // The polyline is the path: it starts and ends where the path data does.
      EXPECT_EQ(Flatten(layout.edges[e].path).back().x, line.back().x);
      EXPECT_EQ(Flatten(layout.edges[e].path).back().y, line.back().y);
      for (size_t i = 0; i + 1 < line.size(); ++i) {
        for (size_t n = 0; n < nodes; ++n) {
          const auto& box = layout.nodes[n];
          EXPECT_FALSE(SegmentHitsRect({line[i].x, line[i].y}, {line[i + 1].x, line[i + 1].y},
                                       {box.x, box.y, box.width, box.height}, 0.5))
              << "round " << round << ": edge " << edges[e].from << " -> " << edges[e].to
              << " passes through node " << n;
        }
      }
      EXPECT_EQ(layout.edges[e].label.has_value(), edges[e].label_width > 0);
    }
  }
}

TEST(HtmlGraphTest, EdgesNotPointingRightEnterTheirCalleeFromTheRight) {
  using html_internal::LayoutServiceGraph;
  // Nodes 0 and 1 in column 0, node 2 in column 1, node 3 in column 3.
  const auto layout = LayoutServiceGraph({0, 0, 1, 3}, {{0, 2}, {2, 0}, {0, 1}, {1, 1}, {0, 3}});
  const auto right = [&](size_t n) { return layout.nodes[n].x + layout.nodes[n].width; };
  EXPECT_EQ(layout.edges[0].line.back().x, layout.nodes[2].x - 2);  // into the next column
  EXPECT_EQ(layout.edges[1].line.back().x, right(0) + 2);           // back a column
  EXPECT_EQ(layout.edges[2].line.back().x, right(1) + 2);           // the same column
  EXPECT_EQ(layout.edges[3].line.back().x, right(1) + 2);           // itself
  EXPECT_EQ(layout.edges[4].line.back().x, layout.nodes[3].x - 2);  // past column 2
  // Curves go into the next column; everything else is drawn with lines and rounded corners.
  EXPECT_NE(layout.edges[0].path.find(" C"), std::string::npos);
  for (size_t e = 1; e < 5; ++e) EXPECT_EQ(layout.edges[e].path.find(" C"), std::string::npos);
}

}  // namespace
}  // namespace tracerig
