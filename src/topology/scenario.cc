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

AttributeValue AttributeGenerator::Generate(Rng& rng) const {
  switch (kind) {
    case Kind::kChoice: {
      if (choices.empty()) return std::string();
      double total = 0;
      for (size_t i = 0; i < choices.size(); ++i) total += i < weights.size() ? weights[i] : 1.0;
      double pick = rng.NextDouble() * total;
      for (size_t i = 0; i < choices.size(); ++i) {
        pick -= i < weights.size() ? weights[i] : 1.0;
        if (pick < 0) return choices[i];
      }
      return choices.back();
    }
    case Kind::kIntRange: {
      if (max <= min) return min;
      const uint64_t span = static_cast<uint64_t>(max) - static_cast<uint64_t>(min);
      const uint64_t draw = span == UINT64_MAX ? rng.Next() : rng.Next() % (span + 1);
      return static_cast<int64_t>(static_cast<uint64_t>(min) + draw);
    }
    case Kind::kId:
      return fmt::format("{}{:016x}", prefix, rng.Next());
  }
  return std::string();
}

std::string_view ProtocolName(Protocol protocol) {
  switch (protocol) {
    case Protocol::kHttp:
      return "http";
    case Protocol::kGrpc:
      return "grpc";
  }
  return "unknown";
}

std::string SamplingPolicyName(const SamplingPolicy& policy) {
  switch (policy.kind) {
    case SamplingPolicy::Kind::kAlways:
      return "always";
    case SamplingPolicy::Kind::kNever:
      return "never";
    case SamplingPolicy::Kind::kRatio:
      return fmt::format("ratio({})", policy.ratio);
    case SamplingPolicy::Kind::kParentBased:
      return fmt::format("parent-based({})", policy.ratio);
  }
  return "unknown";
}

std::string_view FaultKindName(FaultKind kind) {
  switch (kind) {
    case FaultKind::kDropContext:
      return "drop-context";
    case FaultKind::kNewTrace:
      return "new-trace";
    case FaultKind::kWrongFormat:
      return "wrong-format";
    case FaultKind::kCorrupt:
      return "corrupt";
    case FaultKind::kTruncateTraceId:
      return "truncate-trace-id";
    case FaultKind::kUnsampledChild:
      return "unsampled-child";
    case FaultKind::kDropSpan:
      return "drop-span";
    case FaultKind::kDelayExport:
      return "delay-export";
    case FaultKind::kClockSkew:
      return "clock-skew";
    case FaultKind::kDuplicateSpanId:
      return "duplicate-span-id";
    case FaultKind::kOrphan:
      return "orphan";
    case FaultKind::kDropTracestate:
      return "drop-tracestate";
    case FaultKind::kDropBaggage:
      return "drop-baggage";
    case FaultKind::kStaleRetryContext:
      return "stale-retry-context";
    case FaultKind::kForceSampled:
      return "force-sampled";
    case FaultKind::kDebugIgnored:
      return "debug-ignored";
    case FaultKind::kUrlencode:
      return "urlencode";
    case FaultKind::kConsumerNewTrace:
      return "consumer-new-trace";
    case FaultKind::kDlqDropsHeaders:
      return "dlq-drops-headers";
    case FaultKind::kRetryDuplicatesHeaders:
      return "retry-duplicates-headers";
    case FaultKind::kBatchFirstParentOnly:
      return "batch-first-parent-only";
    case FaultKind::kLinkMissing:
      return "link-missing";
  }
  return "unknown";
}

const std::vector<FaultKind>& AllFaultKinds() {
  static const std::vector<FaultKind> kinds = {
      FaultKind::kDropContext,    FaultKind::kNewTrace,        FaultKind::kWrongFormat,
      FaultKind::kCorrupt,        FaultKind::kTruncateTraceId, FaultKind::kUnsampledChild,
      FaultKind::kDropSpan,       FaultKind::kDelayExport,     FaultKind::kClockSkew,
      FaultKind::kDuplicateSpanId, FaultKind::kOrphan,          FaultKind::kDropTracestate,
      FaultKind::kDropBaggage,    FaultKind::kStaleRetryContext, FaultKind::kForceSampled,
      FaultKind::kDebugIgnored,   FaultKind::kUrlencode,       FaultKind::kConsumerNewTrace,
      FaultKind::kDlqDropsHeaders, FaultKind::kRetryDuplicatesHeaders,
      FaultKind::kBatchFirstParentOnly, FaultKind::kLinkMissing};
  return kinds;
}

bool IsEdgeFault(FaultKind kind) {
  switch (kind) {
    case FaultKind::kDropContext:
    case FaultKind::kWrongFormat:
    case FaultKind::kCorrupt:
    case FaultKind::kTruncateTraceId:
    case FaultKind::kUnsampledChild:
    case FaultKind::kDropTracestate:
    case FaultKind::kDropBaggage:
    case FaultKind::kStaleRetryContext:
    case FaultKind::kForceSampled:
    case FaultKind::kDebugIgnored:
    case FaultKind::kUrlencode:
      return true;
    default:
      return false;
  }
}

bool IsConsumerFault(FaultKind kind) {
  switch (kind) {
    case FaultKind::kConsumerNewTrace:
    case FaultKind::kDlqDropsHeaders:
    case FaultKind::kRetryDuplicatesHeaders:
    case FaultKind::kBatchFirstParentOnly:
    case FaultKind::kLinkMissing:
      return true;
    default:
      return false;
  }
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
    case LoadModel::kClosed:
      return "closed";
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
    case LoadModel::kClosed:
      // Unknown in advance (it depends on response times); no schedule is planned.
      return 0;
  }
  return 0;
}

std::string FormatRequestCount(double count) {
  if (count == std::floor(count) && std::abs(count) < 1e18) return fmt::format("{:.0f}", count);
  return fmt::format("{:.1f}", count);
}

}  // namespace tracerig
