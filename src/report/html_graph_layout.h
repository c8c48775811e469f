// Geometry of the HTML report's service graph: where node boxes go, how each edge is routed so
// that it passes through no node box, and where its label sits so that no other label or edge
// covers it. Pure; html_graph.cc turns the result into SVG. Routing rules in docs/REPORT.md.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tracerig::html_internal {

struct GraphPoint {
  double x = 0;
  double y = 0;
};

struct GraphRect {
  double x = 0;
  double y = 0;
  double width = 0;
  double height = 0;
};

struct GraphLayoutEdge {
  size_t from = 0;  // node indices
  size_t to = 0;
  double label_width = 0;  // 0: the edge has no label
};

struct RoutedEdge {
  std::string path;                // SVG path data: absolute M, L, Q and C commands
  std::vector<GraphPoint> line;    // the path as a polyline (curves sampled), for hit tests
  std::optional<GraphRect> label;  // the label's background; its text is centred in it
};

struct GraphLayout {
  double width = 0;
  double height = 0;
  std::vector<GraphRect> nodes;
  std::vector<RoutedEdge> edges;  // in the order given
};

inline constexpr double kGraphLabelHeight = 16;

// The width a label of `text` takes at the graph's label font (11px), padding included.
double GraphLabelWidth(std::string_view text);

// Node i goes in column columns[i], below the nodes before it in that column. An edge into the
// next column is a curve across the gap between the two; any other edge (same column, earlier
// column, or skipping columns) runs along its own lane in the gaps between columns and between
// rows, entering its callee from the right when the callee is not to its right.
GraphLayout LayoutServiceGraph(const std::vector<size_t>& columns,
                               const std::vector<GraphLayoutEdge>& edges);

}  // namespace tracerig::html_internal
