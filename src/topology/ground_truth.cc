#include "topology/ground_truth.h"

#include <utility>

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
  // Appended rather than "/" + std::string(...): GCC 12 warns falsely (-Wrestrict) on that.
  std::string path;
  path.reserve(route_name.size() + 1);
  path += '/';
  path += route_name;
  return {"POST", std::move(path)};
}

}  // namespace tracerig
