#include "topology/ground_truth.h"

namespace tracerig {

HttpRouteTarget RouteToHttp(std::string_view route_name) {
  static constexpr std::string_view kMethods[] = {"GET", "POST", "PUT", "DELETE", "PATCH", "HEAD"};
  size_t space = route_name.find(' ');
  if (space != std::string_view::npos && space + 1 < route_name.size() &&
      route_name[space + 1] == '/') {
    std::string_view method = route_name.substr(0, space);
    for (auto m : kMethods) {
      if (m == method) return {m, std::string(route_name.substr(space + 1))};
    }
  }
  return {"POST", "/" + std::string(route_name)};
}

}  // namespace tracerig
