// Seeded per-request decisions (see decisions.h).
#include "topology/decisions.h"

namespace tracerig {
namespace {

// A probability decision: certain outcomes draw nothing, so they never depend on the seed.
bool Draw(const DecisionPoint& point, DecisionStream stream, double probability,
          uint64_t salt = 0) {
  if (probability >= 1.0) return true;
  if (!(probability > 0.0)) return false;
  return point.Stream(stream, salt).NextDouble() < probability;
}

}  // namespace

uint64_t Fnv1a(std::string_view s, uint64_t h) {
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return h;
}

DecisionPoint::DecisionPoint(uint64_t scenario_seed, uint64_t sequence, std::string_view hop,
                             std::string_view service)
    // The service's hash seeds the hop's, so ("0.1", "ab") and ("0.1a", "b") differ.
    : base_(Rng::Mix(Rng::Mix(scenario_seed, sequence), Fnv1a(hop, Fnv1a(service)))) {}

Rng DecisionPoint::Stream(DecisionStream stream, uint64_t salt) const {
  return Rng(Rng::Mix(Rng::Mix(base_, static_cast<uint64_t>(stream)), salt));
}

bool CallHappens(const DecisionPoint& caller_at_call_hop, double probability) {
  return Draw(caller_at_call_hop, DecisionStream::kCall, probability);
}

bool RouteErrors(const DecisionPoint& server, double error_rate) {
  return Draw(server, DecisionStream::kError, error_rate);
}

bool SamplingDecision(const DecisionPoint& server, const SamplingPolicy& policy,
                      std::optional<bool> parent_sampled) {
  switch (policy.kind) {
    case SamplingPolicy::Kind::kAlways:
      return true;
    case SamplingPolicy::Kind::kNever:
      return false;
    case SamplingPolicy::Kind::kRatio:
      return Draw(server, DecisionStream::kSampling, policy.ratio);
    case SamplingPolicy::Kind::kParentBased:
      if (parent_sampled.has_value()) return *parent_sampled;
      return Draw(server, DecisionStream::kSampling, policy.ratio);
  }
  return true;
}

bool FaultApplies(const DecisionPoint& server, const Fault& fault, size_t fault_index,
                  uint64_t offset_ns) {
  if (offset_ns < fault.window_start_ns || offset_ns >= fault.window_end_ns) return false;
  return Draw(server, DecisionStream::kFault, fault.probability, fault_index);
}

bool FaultConditionHolds(const FaultCondition& when, std::optional<bool> incoming_sampled,
                         std::string_view incoming_format) {
  if (when.sampled.has_value() && incoming_sampled != when.sampled) return false;
  if (!when.format.empty() && (!incoming_sampled.has_value() || incoming_format != when.format)) {
    return false;
  }
  return true;
}

bool AnswerFailsCall(Protocol callee_protocol, int status) {
  if (callee_protocol == Protocol::kHttp) return status >= 500;
  return status == 14 /* UNAVAILABLE */ || status == 4 /* DEADLINE_EXCEEDED */ ||
         status == 8 /* RESOURCE_EXHAUSTED */ || status == 10 /* ABORTED */;
}

}  // namespace tracerig
