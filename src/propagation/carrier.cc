#include "propagation/carrier.h"

namespace tracerig {

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i];
    char y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

void HeaderList::GetAll(std::string_view name, std::vector<std::string_view>& out) const {
  for (const auto& [k, v] : fields_) {
    if (EqualsIgnoreCase(k, name)) out.emplace_back(v);
  }
}

void HeaderList::ForEach(const Visitor& visit) const {
  for (const auto& [k, v] : fields_) visit(k, v);
}

void HeaderList::Set(std::string_view name, std::string_view value) {
  for (auto it = fields_.begin(); it != fields_.end();) {
    if (EqualsIgnoreCase(it->first, name)) {
      it = fields_.erase(it);
    } else {
      ++it;
    }
  }
  fields_.emplace_back(name, value);
}

}  // namespace tracerig
