// Naming and counting the causes of orphaned fragments that sampling configurations produce.
#include "verifier/orphan_causes.h"

#include <fmt/format.h>

#include <algorithm>
#include <tuple>

namespace tracerig {
namespace {

// The policy the driver's unsampled request stands for.
constexpr std::string_view kDriverUnsampledPolicy = "sampled=0";

std::string PolicyOf(const Scenario& scenario, const std::string& service) {
  const Service* s = scenario.FindService(service);
  return s == nullptr ? std::string("unknown") : SamplingPolicyName(s->sampling);
}

auto CauseKey(const OrphanCause& c) {
  return std::tie(c.service, c.cause_service, c.parent_service);
}

}  // namespace

std::vector<OrphanCause> FindOrphanCauses(const Scenario& scenario, const LoadEntry& load_entry,
                                          const ExpectedTree& tree,
                                          const std::vector<char>& found) {
  std::vector<OrphanCause> causes;
  const size_t n = tree.spans.size();
  for (size_t i = 0; i < n && i < found.size(); ++i) {
    const ExpectedSpan& e = tree.spans[i];
    const bool opens_visit = e.kind == SpanKind::kServer || e.kind == SpanKind::kConsumer;
    if (!e.parent_unexported || !opens_visit || e.optional || !found[i]) continue;
    OrphanCause c;
    c.service = e.service;
    c.policy = PolicyOf(scenario, e.service);
    c.parent_service = e.peer.empty() ? std::string(kDriverServiceName) : e.peer;
    const bool has_recorded_ancestor = e.parent >= 0 && static_cast<size_t>(e.parent) < n;
    if (!has_recorded_ancestor) {
      // Nothing above was recorded, the driver's CLIENT span included: it sent sampled=0 (an
      // entry declaring `sampled = true` cannot get here; the entry service is then the cause).
      c.cause_service = load_entry.sampled == EntrySampling::kNotSampled
                            ? std::string(kDriverServiceName)
                            : c.parent_service;
    } else {
      const ExpectedSpan& p = tree.spans[static_cast<size_t>(e.parent)];
      // The recorded CLIENT span above calls the first service that was not recorded.
      c.cause_service = p.kind == SpanKind::kClient && !p.peer.empty() ? p.peer : c.parent_service;
    }
    c.cause_policy = c.cause_service == kDriverServiceName ? std::string(kDriverUnsampledPolicy)
                                                           : PolicyOf(scenario, c.cause_service);
    c.traces = 1;
    const bool seen = std::any_of(causes.begin(), causes.end(), [&](const OrphanCause& other) {
      return CauseKey(other) == CauseKey(c);
    });
    if (!seen) causes.push_back(std::move(c));
  }
  return causes;
}

void MergeOrphanCauses(std::vector<OrphanCause>& into, const std::vector<OrphanCause>& more) {
  for (const OrphanCause& c : more) {
    auto it = std::find_if(into.begin(), into.end(),
                           [&](const OrphanCause& have) { return CauseKey(have) == CauseKey(c); });
    if (it == into.end()) {
      into.push_back(c);
      continue;
    }
    it->traces += c.traces;
    if (c.example_sequence < it->example_sequence) {
      it->example_sequence = c.example_sequence;
      it->example_trace = c.example_trace;
    }
  }
  std::stable_sort(into.begin(), into.end(), [](const OrphanCause& a, const OrphanCause& b) {
    if (a.traces != b.traces) return a.traces > b.traces;
    return OrphanCheckName(a) < OrphanCheckName(b);
  });
}

std::string OrphanCheckName(const OrphanCause& cause) {
  if (cause.parent_service == cause.cause_service) {
    return fmt::format("orphans:{}->{}", cause.cause_service, cause.service);
  }
  return fmt::format("orphans:{}->{}->{}", cause.cause_service, cause.parent_service,
                     cause.service);
}

std::string DescribeOrphanCause(const OrphanCause& cause) {
  return fmt::format(
      "{} samples \"{}\" below {}'s \"{}\": {} {} a subtree whose parent {} CLIENT span was not "
      "recorded",
      cause.service, cause.policy, cause.cause_service, cause.cause_policy, cause.traces,
      cause.traces == 1 ? "trace holds" : "traces hold", cause.parent_service);
}

}  // namespace tracerig
