// Geometry of the HTML report's service graph: node boxes on a grid of columns and rows, edges
// routed through the gaps between them, labels placed where nothing else is drawn.
#include "report/html_graph_layout.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <utility>

#include <fmt/format.h>

namespace tracerig::html_internal {
namespace {

constexpr double kNodeWidth = 170, kNodeHeight = 34, kRow = 64, kMargin = 20;
constexpr double kGap = 60;        // the least gap between two columns
constexpr double kLaneStart = 24;  // the first lane of a column gap, right of the column's boxes
constexpr double kLaneStep = 8;
constexpr double kCorner = 6;  // radius of a routed edge's corners
constexpr double kRowGap = kRow - kNodeHeight;
constexpr double kRowLanes[] = {0, -6, 6, -12, 12};  // offsets in the gap between two rows

bool SegmentHitsRect(GraphPoint a, GraphPoint b, const GraphRect& r, double grow) {
  const double x0 = r.x - grow, x1 = r.x + r.width + grow;
  const double y0 = r.y - grow, y1 = r.y + r.height + grow;
  double t0 = 0, t1 = 1;
  const double dx = b.x - a.x, dy = b.y - a.y;
  const double p[] = {-dx, dx, -dy, dy};
  const double q[] = {a.x - x0, x1 - a.x, a.y - y0, y1 - a.y};
  for (int i = 0; i < 4; ++i) {
    if (p[i] == 0) {
      if (q[i] < 0) return false;
      continue;
    }
    const double t = q[i] / p[i];
    if (p[i] < 0) {
      t0 = std::max(t0, t);
    } else {
      t1 = std::min(t1, t);
    }
  }
  return t0 <= t1;
}

bool RectsOverlap(const GraphRect& a, const GraphRect& b, double grow) {
  return a.x - grow < b.x + b.width && b.x < a.x + a.width + grow && a.y - grow < b.y + b.height &&
         b.y < a.y + a.height + grow;
}

// An orthogonal polyline as SVG path data with rounded corners, and sampled.
void RoundedPath(std::vector<GraphPoint> points, RoutedEdge& edge) {
  // Drop repeated points and the middle one of three collinear points.
  std::vector<GraphPoint> p;
  for (const GraphPoint& q : points) {
    if (!p.empty() && p.back().x == q.x && p.back().y == q.y) continue;
    if (p.size() >= 2) {
      const GraphPoint& a = p[p.size() - 2];
      const GraphPoint& b = p.back();
      if ((a.x == b.x && b.x == q.x) || (a.y == b.y && b.y == q.y)) p.pop_back();
    }
    p.push_back(q);
  }
  edge.path = fmt::format("M{:.0f} {:.0f}", p[0].x, p[0].y);
  edge.line = {p[0]};
  for (size_t i = 1; i + 1 < p.size(); ++i) {
    const GraphPoint a = p[i - 1], c = p[i], b = p[i + 1];
    const double in = std::hypot(c.x - a.x, c.y - a.y), out = std::hypot(b.x - c.x, b.y - c.y);
    const double r = std::floor(std::min({kCorner, in / 2, out / 2}));
    const GraphPoint from{c.x - (c.x - a.x) / in * r, c.y - (c.y - a.y) / in * r};
    const GraphPoint to{c.x + (b.x - c.x) / out * r, c.y + (b.y - c.y) / out * r};
    edge.path += fmt::format(" L{:.0f} {:.0f} Q{:.0f} {:.0f} {:.0f} {:.0f}", from.x, from.y, c.x,
                             c.y, to.x, to.y);
    edge.line.push_back(from);
    for (int s = 1; s <= 8; ++s) {
      const double t = s / 8.0, u = 1 - t;
      edge.line.push_back({u * u * from.x + 2 * u * t * c.x + t * t * to.x,
                           u * u * from.y + 2 * u * t * c.y + t * t * to.y});
    }
  }
  edge.path += fmt::format(" L{:.0f} {:.0f}", p.back().x, p.back().y);
  edge.line.push_back(p.back());
}

// A curve from the right side of a box to the left side of a box in the next column: it stays in
// the gap between the two columns.
void CurvePath(GraphPoint from, GraphPoint to, RoutedEdge& edge) {
  const double bend = std::max(40.0, std::abs(to.x - from.x) / 2);
  const GraphPoint c1{from.x + bend, from.y}, c2{to.x - bend, to.y};
  edge.path = fmt::format("M{:.0f} {:.0f} C{:.0f} {:.0f} {:.0f} {:.0f} {:.0f} {:.0f}", from.x,
                          from.y, c1.x, c1.y, c2.x, c2.y, to.x, to.y);
  edge.line = {from};
  for (int s = 1; s <= 24; ++s) {
    const double t = s / 24.0, u = 1 - t;
    edge.line.push_back(
        {u * u * u * from.x + 3 * u * u * t * c1.x + 3 * u * t * t * c2.x + t * t * t * to.x,
         u * u * u * from.y + 3 * u * u * t * c1.y + 3 * u * t * t * c2.y + t * t * t * to.y});
  }
}

// A place for a label of `width` on `own`'s polyline (or just beside it) that overlaps no node,
// no label already placed and no other edge; the middle of the polyline when there is none.
GraphRect PlaceLabel(const GraphLayout& layout, size_t own, double width,
                     const std::vector<GraphRect>& placed) {
  const std::vector<GraphPoint>& line = layout.edges[own].line;
  // Points every 4px along the polyline, nearest to its middle first.
  std::vector<std::pair<double, GraphPoint>> along;
  double length = 0;
  for (size_t i = 0; i + 1 < line.size(); ++i) {
    const double d = std::hypot(line[i + 1].x - line[i].x, line[i + 1].y - line[i].y);
    for (double s = 0; s < d; s += 4) {
      const double t = s / d;
      along.push_back({length + s,
                       {line[i].x + (line[i + 1].x - line[i].x) * t,
                        line[i].y + (line[i + 1].y - line[i].y) * t}});
    }
    length += d;
  }
  // Not over the edge's own arrowhead (up to 7 stroke widths long) when the edge is long enough.
  if (length > 60) {
    std::erase_if(along, [length](const auto& a) { return a.first > length - 28; });
  }
  if (along.empty()) along.push_back({0, line.front()});
  std::stable_sort(along.begin(), along.end(), [length](const auto& a, const auto& b) {
    return std::abs(a.first - length / 2) < std::abs(b.first - length / 2);
  });
  auto rect_at = [width](GraphPoint c) {
    return GraphRect{std::round(c.x - width / 2), std::round(c.y - kGraphLabelHeight / 2), width,
                     kGraphLabelHeight};
  };
  auto free = [&](const GraphRect& r) {
    if (r.x < 0 || r.y < 0 || r.x + r.width > layout.width || r.y + r.height > layout.height) {
      return false;
    }
    for (const GraphRect& node : layout.nodes) {
      if (RectsOverlap(r, node, 3)) return false;
    }
    for (const GraphRect& label : placed) {
      if (RectsOverlap(r, label, 2)) return false;
    }
    for (size_t e = 0; e < layout.edges.size(); ++e) {
      if (e == own) continue;
      const std::vector<GraphPoint>& other = layout.edges[e].line;
      for (size_t i = 0; i + 1 < other.size(); ++i) {
        if (SegmentHitsRect(other[i], other[i + 1], r, 2)) return false;
      }
    }
    return true;
  };
  // On the edge, else just above or below it, else just beside it (beside a vertical lane).
  const double above = kGraphLabelHeight / 2 + 4, beside = width / 2 + 4;
  for (const GraphPoint offset : {GraphPoint{0, 0}, GraphPoint{0, -above}, GraphPoint{0, above},
                                  GraphPoint{beside, 0}, GraphPoint{-beside, 0}}) {
    for (const auto& [at, point] : along) {
      const GraphRect r = rect_at({point.x + offset.x, point.y + offset.y});
      if (free(r)) return r;
    }
  }
  return rect_at(along.front().second);
}

}  // namespace

double GraphLabelWidth(std::string_view text) {
  size_t characters = 0;  // UTF-8 code points
  for (const char c : text) characters += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return std::ceil(7.0 * static_cast<double>(characters)) + 8;
}

GraphLayout LayoutServiceGraph(const std::vector<size_t>& columns,
                               const std::vector<GraphLayoutEdge>& edges) {
  GraphLayout layout;
  // Rows: nodes stack in their column in the order given.
  std::vector<size_t> rows(columns.size());
  std::map<size_t, size_t> per_column;
  size_t column_count = 1, row_count = 1;
  for (size_t i = 0; i < columns.size(); ++i) {
    rows[i] = per_column[columns[i]]++;
    column_count = std::max(column_count, columns[i] + 1);
    row_count = std::max(row_count, rows[i] + 1);
  }

  // Lanes: an edge that is not a curve into the next column takes a lane in the gap right of its
  // caller's column, and unless its callee is in that column too, a lane in the gap between rows
  // and a lane in the gap it enters its callee from.
  struct Route {
    bool curve = false;
    size_t first_lane = 0;
    size_t row_gap = 0, row_lane = 0;  // row gap k lies above row k
    size_t last_gap = 0, last_lane = 0;
    bool enters_left = true;
  };
  std::vector<Route> routes(edges.size());
  std::vector<size_t> lanes(column_count, 0);       // per column gap
  std::vector<double> label_room(column_count, 0);  // the widest label an edge in the gap has
  std::map<size_t, size_t> row_lanes;               // per row gap
  for (size_t e = 0; e < edges.size(); ++e) {
    const size_t ca = columns[edges[e].from], cb = columns[edges[e].to];
    const size_t ra = rows[edges[e].from], rb = rows[edges[e].to];
    Route& route = routes[e];
    label_room[ca] = std::max(label_room[ca], edges[e].label_width);
    if (cb == ca + 1) {
      route.curve = true;
      continue;
    }
    route.first_lane = lanes[ca]++;
    route.enters_left = cb > ca;
    if (cb == ca) continue;
    route.row_gap = ra != rb ? std::max(ra, rb) : ra + 1;
    route.row_lane = row_lanes[route.row_gap]++;
    route.last_gap = cb > ca ? cb - 1 : cb;
    route.last_lane = lanes[route.last_gap]++;
    label_room[route.last_gap] = std::max(label_room[route.last_gap], edges[e].label_width);
  }

  // Columns: each gap holds its lanes, then room for curves and labels.
  std::vector<double> column_x(column_count);
  double x = kMargin;
  for (size_t c = 0; c < column_count; ++c) {
    column_x[c] = x;
    const double lane_room =
        lanes[c] > 0 ? kLaneStart + kLaneStep * static_cast<double>(lanes[c]) : 0;
    const double label = label_room[c] > 0 ? label_room[c] + 16 : 0;
    x += kNodeWidth + std::max(kGap, lane_room + 40 + label);
  }
  layout.width = x + kMargin;
  layout.height = kMargin * 2 + static_cast<double>(row_count) * kRow;
  for (size_t i = 0; i < columns.size(); ++i) {
    layout.nodes.push_back({column_x[columns[i]], kMargin + static_cast<double>(rows[i]) * kRow,
                            kNodeWidth, kNodeHeight});
  }

  auto lane_x = [&](size_t gap, size_t lane) {
    return column_x[gap] + kNodeWidth + kLaneStart + kLaneStep * static_cast<double>(lane);
  };
  for (size_t e = 0; e < edges.size(); ++e) {
    const GraphRect& a = layout.nodes[edges[e].from];
    const GraphRect& b = layout.nodes[edges[e].to];
    const Route& route = routes[e];
    RoutedEdge& edge = layout.edges.emplace_back();
    double ya = a.y + kNodeHeight / 2, yb = b.y + kNodeHeight / 2;
    if (route.curve) {
      CurvePath({a.x + a.width, ya}, {b.x - 2, yb}, edge);
      continue;
    }
    // Entering from the right, below the middle, clear of the edges that leave from there.
    if (!route.enters_left) yb += 8;
    const double end_x = route.enters_left ? b.x - 2 : b.x + b.width + 2;
    const double first_x = lane_x(columns[edges[e].from], route.first_lane);
    std::vector<GraphPoint> points = {{a.x + a.width, ya}, {first_x, ya}};
    if (columns[edges[e].from] != columns[edges[e].to]) {
      const double row_y = kMargin + static_cast<double>(route.row_gap) * kRow - kRowGap / 2 +
                           kRowLanes[route.row_lane % std::size(kRowLanes)];
      const double last_x = lane_x(route.last_gap, route.last_lane);
      points.push_back({first_x, row_y});
      points.push_back({last_x, row_y});
      points.push_back({last_x, yb});
    } else {
      points.push_back({first_x, yb});
    }
    points.push_back({end_x, yb});
    RoundedPath(std::move(points), edge);
  }

  std::vector<GraphRect> placed;
  for (size_t e = 0; e < edges.size(); ++e) {
    if (edges[e].label_width <= 0) continue;
    layout.edges[e].label = PlaceLabel(layout, e, edges[e].label_width, placed);
    placed.push_back(*layout.edges[e].label);
  }
  return layout;
}

}  // namespace tracerig::html_internal
