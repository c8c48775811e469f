// The few behaviours of the scenario model: latency sampling and lookups by name.
#include "topology/scenario.h"

#include <fmt/format.h>

#include <cmath>
#include <numbers>

namespace tracerig {
namespace {

// z-score of the 99th percentile of the standard normal distribution: a lognormal latency with
// median p50 and 99th percentile p99 has sigma = ln(p99 / p50) / kZ99.
constexpr double kZ99 = 2.3263478740408408;

// Rounds a drawn latency to nanoseconds: negative draws clamp to 0, absurdly large ones to 2^63 ns
// (292 years) so the conversion is always defined.
uint64_t ToNanos(double v) {
  if (!(v > 0)) return 0;
  if (v >= 0x1p63) return uint64_t{1} << 63;
  return static_cast<uint64_t>(std::round(v));
}

// One standard normal draw (Box-Muller). 1 - NextDouble() is in (0, 1], so the log is finite.
double StandardNormal(Rng& rng) {
  const double u1 = 1.0 - rng.NextDouble();
  const double u2 = rng.NextDouble();
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
}

}  // namespace

std::string SourceLocation::ToString() const {
  if (line <= 0) return file;
  return fmt::format("{}:{}:{}", file, line, column);
}

uint64_t LatencyModel::Sample(Rng& rng) const {
  switch (kind) {
    case Kind::kFixed:
      return a;
    case Kind::kUniform: {
      if (b <= a) return a;
      // Inclusive of both bounds; the modulo bias is below 2^-40 for any realistic range.
      const uint64_t span = b - a;
      if (span == UINT64_MAX) return rng.Next();
      return a + rng.Next() % (span + 1);
    }
    case Kind::kNormal:
      return ToNanos(static_cast<double>(a) + static_cast<double>(b) * StandardNormal(rng));
    case Kind::kLognormal: {
      if (a == 0) return 0;
      const double sigma =
          b > a ? std::log(static_cast<double>(b) / static_cast<double>(a)) / kZ99 : 0.0;
      return ToNanos(static_cast<double>(a) * std::exp(sigma * StandardNormal(rng)));
    }
    case Kind::kExponential:
      return ToNanos(-static_cast<double>(a) * std::log(1.0 - rng.NextDouble()));
  }
  return a;
}

const Route* Service::FindRoute(std::string_view route_name) const {
  for (const auto& r : routes) {
    if (r.name == route_name) return &r;
  }
  return nullptr;
}

const Service* Scenario::FindService(std::string_view service_name) const {
  for (const auto& s : services) {
    if (s.name == service_name) return &s;
  }
  return nullptr;
}

std::string_view FaultKindName(FaultKind kind) {
  switch (kind) {
    case FaultKind::kDropContext:
      return "drop-context";
  }
  return "unknown";
}

std::string_view LoadModelName(LoadModel model) {
  switch (model) {
    case LoadModel::kConstant:
      return "constant";
    case LoadModel::kRamp:
      return "ramp";
    case LoadModel::kPoisson:
      return "poisson";
    case LoadModel::kCount:
      return "count";
  }
  return "unknown";
}

double PlannedRequests(const Load& load) {
  switch (load.model) {
    case LoadModel::kConstant:
    case LoadModel::kPoisson:
      return load.rate * static_cast<double>(load.duration_ns) / 1e9;
    case LoadModel::kRamp: {
      // Each stage is a trapezoid under the rate line.
      double total = 0;
      double from = load.start_rate;
      for (const LoadStage& stage : load.stages) {
        total += (from + stage.target_rate) / 2 * static_cast<double>(stage.duration_ns) / 1e9;
        from = stage.target_rate;
      }
      return total;
    }
    case LoadModel::kCount:
      return static_cast<double>(load.requests);
  }
  return 0;
}

std::string FormatRequestCount(double count) {
  if (count == std::floor(count) && std::abs(count) < 1e18) return fmt::format("{:.0f}", count);
  return fmt::format("{:.1f}", count);
}

}  // namespace tracerig
