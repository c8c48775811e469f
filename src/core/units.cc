#include "core/units.h"

#include <cmath>
#include <fmt/format.h>

namespace tracerig {
namespace {

// Splits "12.5ms" into 12.5 and "ms". Rejects signs, exponents and empty numbers.
bool SplitNumber(std::string_view text, double& number, std::string_view& unit) {
  size_t i = 0;
  bool digits = false;
  bool dot = false;
  while (i < text.size()) {
    char c = text[i];
    if (c >= '0' && c <= '9') {
      digits = true;
    } else if (c == '.' && !dot) {
      dot = true;
    } else {
      break;
    }
    ++i;
  }
  if (!digits) return false;
  number = std::stod(std::string(text.substr(0, i)));
  unit = text.substr(i);
  return true;
}

}  // namespace

std::optional<uint64_t> ParseDuration(std::string_view text) {
  double n = 0;
  std::string_view unit;
  if (!SplitNumber(text, n, unit)) return std::nullopt;
  double scale;
  if (unit == "ns") scale = 1;
  else if (unit == "us" || unit == "µs") scale = 1e3;
  else if (unit == "ms") scale = 1e6;
  else if (unit == "s") scale = 1e9;
  else if (unit == "m") scale = 60e9;
  else if (unit == "h") scale = 3600e9;
  else return std::nullopt;
  double v = n * scale;
  if (v > 1.8e19) return std::nullopt;
  return static_cast<uint64_t>(std::llround(v));
}

std::string FormatDuration(uint64_t nanos) {
  auto fmt_unit = [](double v, const char* unit) {
    std::string s = fmt::format("{:.3f}", v);
    while (s.back() == '0') s.pop_back();
    if (s.back() == '.') s.pop_back();
    return s + unit;
  };
  if (nanos < 1000) return fmt::format("{}ns", nanos);
  if (nanos < 1'000'000) return fmt_unit(nanos / 1e3, "µs");
  if (nanos < 1'000'000'000) return fmt_unit(nanos / 1e6, "ms");
  return fmt_unit(nanos / 1e9, "s");
}

std::optional<uint64_t> ParseSize(std::string_view text) {
  double n = 0;
  std::string_view unit;
  if (!SplitNumber(text, n, unit)) return std::nullopt;
  double scale;
  if (unit.empty() || unit == "B") scale = 1;
  else if (unit == "KiB") scale = 1024.0;
  else if (unit == "MiB") scale = 1024.0 * 1024;
  else if (unit == "GiB") scale = 1024.0 * 1024 * 1024;
  else if (unit == "KB") scale = 1e3;
  else if (unit == "MB") scale = 1e6;
  else if (unit == "GB") scale = 1e9;
  else return std::nullopt;
  return static_cast<uint64_t>(std::llround(n * scale));
}

}  // namespace tracerig
