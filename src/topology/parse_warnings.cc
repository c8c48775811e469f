// Warnings: settings that are valid but have no effect in a tracerig run. They are reported
// beside the diagnostics and do not stop the run.
#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "topology/parse_internal.h"

namespace tracerig::parse_internal {

void ScenarioParser::Warn(SourceLocation where, std::string message) {
  warnings_.push_back({std::move(where), std::move(message)});
}

// The driver sends each load entry's requests with a sampled flag (sampled, unsampled or debug)
// unless the entry has `inject = []`. A parent-based sampler at the entry follows that flag, so
// its ratio, used only for requests without a parent, is never used when every request the
// entry gets arrives with a flag it reads: no call names it, every load entry to it injects a
// format it extracts that carries the flag (baggage alone does not), and no new-trace fault makes
// it ignore the context.
void ScenarioParser::WarnEntrySamplingUnused() {
  if (calls_incomplete_ || entries_incomplete_)
    return;  // an unreadable call or entry may change it
  std::set<std::string, std::less<>> entries;
  for (const LoadEntry& e : scenario_.load.entries) entries.insert(e.service);
  for (const std::string& name : entries) {
    const Service* service = scenario_.FindService(name);
    // A consumer's own traces (batches, consumer-new-trace) may use the ratio.
    if (service == nullptr || service->IsExternal() || !service->consumers.empty()) continue;
    const SamplingPolicy& policy = service->sampling;
    if (policy.kind != SamplingPolicy::Kind::kParentBased || policy.ratio >= 1) continue;
    const std::vector<std::string>& reads = service->extract;
    const bool flag_always = std::all_of(
        scenario_.load.entries.begin(), scenario_.load.entries.end(), [&](const LoadEntry& e) {
          if (e.service != name) return true;
          const std::vector<std::string>& sent = e.inject ? *e.inject : reads;
          return std::any_of(sent.begin(), sent.end(), [&](const std::string& format) {
            return format != "baggage" &&
                   std::find(reads.begin(), reads.end(), format) != reads.end();
          });
        });
    if (!flag_always) continue;
    const bool called = std::any_of(call_sites_.begin(), call_sites_.end(),
                                    [&](const CallSite& c) { return c.callee_service == name; });
    if (called) continue;
    bool new_trace = false;  // or a fault of unknown kind, which may be one
    for (size_t i = 0; i < scenario_.faults.size(); ++i) {
      if (scenario_.faults[i].service != name) continue;
      new_trace =
          new_trace || !fault_sites_[i].kind_ok || scenario_.faults[i].kind == FaultKind::kNewTrace;
    }
    if (new_trace) continue;
    const auto at = sampling_at_.find(static_cast<size_t>(service - scenario_.services.data()));
    if (at == sampling_at_.end()) continue;
    Warn(at->second,
         fmt::format(
             "service \"{}\" is a load entry and gets requests only from the driver, "
             "which sends every one with a sampled flag; its sampling \"{}\" follows that flag and "
             "never uses the ratio {} (write \"ratio({})\" to sample at the entry)",
             name, SamplingPolicyName(policy), policy.ratio, policy.ratio));
  }
}

}  // namespace tracerig::parse_internal
