// The registry of requests in flight into external services, and ground-truth recovery for the
// simulated services they call (external_in_flight.h).
#include "topology/external_in_flight.h"

#include <algorithm>

#include <fmt/format.h>

#include "propagation/baggage.h"
#include "topology/expected_tree.h"
#include "topology/ground_truth.h"

namespace tracerig {

std::string ExternalInFlight::Key(std::string_view request_id, std::string_view hop) {
  std::string key;
  key.reserve(request_id.size() + hop.size() + 1);
  key.append(request_id).append(1, '|').append(hop);
  return key;
}

namespace {

template <typename Map, typename K>
void EraseOne(Map& map, const K& key, ExternalInFlight::Token token) {
  auto [first, last] = map.equal_range(key);
  for (auto it = first; it != last; ++it) {
    if (it->second == token) {
      map.erase(it);
      return;
    }
  }
}

}  // namespace

ExternalInFlight::Token ExternalInFlight::Register(ExternalRequest request) {
  std::lock_guard lock(mu_);
  const Token token = next_++;
  by_request_.emplace(Key(request.request_id, request.hop), token);
  if (request.trace_id.IsValid()) by_trace_.emplace(request.trace_id, token);
  by_service_[request.service].insert(token);
  in_flight_.emplace(token, std::move(request));
  return token;
}

void ExternalInFlight::Unregister(Token token) {
  std::lock_guard lock(mu_);
  auto it = in_flight_.find(token);
  if (it == in_flight_.end()) return;
  const ExternalRequest& r = it->second;
  EraseOne(by_request_, Key(r.request_id, r.hop), token);
  if (r.trace_id.IsValid()) EraseOne(by_trace_, r.trace_id, token);
  if (auto s = by_service_.find(r.service); s != by_service_.end()) {
    s->second.erase(token);
    if (s->second.empty()) by_service_.erase(s);
  }
  in_flight_.erase(it);
}

std::optional<ExternalRequest> ExternalInFlight::Find(std::string_view request_id,
                                                      std::string_view hop) const {
  std::lock_guard lock(mu_);
  auto it = by_request_.find(Key(request_id, hop));
  if (it == by_request_.end()) return std::nullopt;
  return in_flight_.at(it->second);
}

std::optional<ExternalRequest> ExternalInFlight::Single(
    const std::vector<std::string>& services) const {
  std::lock_guard lock(mu_);
  const std::unordered_set<Token>* only = nullptr;
  size_t total = 0;
  for (const std::string& service : services) {
    auto s = by_service_.find(service);
    if (s == by_service_.end()) continue;
    total += s->second.size();
    if (total > 1) return std::nullopt;
    only = &s->second;
  }
  if (total != 1) return std::nullopt;
  return in_flight_.at(*only->begin());
}

std::optional<ExternalRequest> ExternalInFlight::WithTraceId(
    const std::vector<std::string>& services, const TraceId& trace_id) const {
  if (!trace_id.IsValid()) return std::nullopt;
  std::lock_guard lock(mu_);
  const ExternalRequest* found = nullptr;
  auto [first, last] = by_trace_.equal_range(trace_id);
  for (auto it = first; it != last; ++it) {
    const ExternalRequest& r = in_flight_.at(it->second);
    if (std::find(services.begin(), services.end(), r.service) == services.end()) continue;
    if (found != nullptr) return std::nullopt;
    found = &r;
  }
  if (found == nullptr) return std::nullopt;
  return *found;
}

size_t ExternalInFlight::size() const {
  std::lock_guard lock(mu_);
  return in_flight_.size();
}

namespace {

bool RouteCalls(const Route& route, std::string_view service, std::string_view callee_route) {
  for (const CallStep& step : route.calls) {
    for (const Call& call : step.calls) {
      if (call.service == service && call.route == callee_route) return true;
    }
  }
  return false;
}

bool IsHex16(std::string_view text) {
  return text.size() == 16 && std::all_of(text.begin(), text.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

}  // namespace

std::string WithGroundTruthBaggage(std::string_view baggage, std::string_view request_id,
                                   std::string_view sequence, std::string_view hop,
                                   std::string_view offset) {
  std::vector<BaggageMember> members;
  for (BaggageMember& m : ParseBaggage({baggage})) {
    if (m.key != kRequestIdBaggageKey && m.key != kSequenceBaggageKey &&
        m.key != kHopBaggageKey && m.key != kOffsetBaggageKey) {
      members.push_back(std::move(m));
    }
  }
  std::vector<BaggageMember> ours = {
      {std::string(kRequestIdBaggageKey), std::string(request_id), ""},
      {std::string(kSequenceBaggageKey), std::string(sequence), ""},
      {std::string(kHopBaggageKey), std::string(hop), ""}};
  if (!offset.empty()) ours.push_back({std::string(kOffsetBaggageKey), std::string(offset), ""});
  // Ours first: FormatBaggage drops from the right when the list is too long.
  ours.insert(ours.end(), members.begin(), members.end());
  return FormatBaggage(ours);
}

std::string WithGroundTruthTracestate(std::string_view trace_state, std::string_view request_id) {
  std::string out = fmt::format("{}={}", kTracestateKey, request_id);
  size_t kept = 1;
  while (!trace_state.empty()) {
    const size_t comma = trace_state.find(',');
    std::string_view member = trace_state.substr(0, comma);
    trace_state =
        comma == std::string_view::npos ? std::string_view() : trace_state.substr(comma + 1);
    while (!member.empty() && (member.front() == ' ' || member.front() == '\t')) {
      member.remove_prefix(1);
    }
    const std::string_view key = member.substr(0, member.find('='));
    if (member.empty() || key == kTracestateKey || kept >= 32) continue;  // W3C: at most 32
    out += ",";
    out += member;
    ++kept;
  }
  return out;
}

std::vector<std::string> ExternalCallersOf(const Scenario& scenario, std::string_view service,
                                           std::string_view route) {
  std::vector<std::string> callers;
  for (const Service& s : scenario.services) {
    if (!s.IsExternal()) continue;
    for (const Route& r : s.routes) {
      if (RouteCalls(r, service, route)) {
        callers.push_back(s.name);
        break;
      }
    }
  }
  return callers;
}

std::string ExternalChildHop(const Scenario& scenario, std::string_view external,
                             std::string_view external_route, std::string_view external_hop,
                             std::string_view service, std::string_view route) {
  const Service* caller = scenario.FindService(external);
  if (caller == nullptr || external_hop.empty()) return "";
  std::string found;
  size_t matches = 0;
  for (const Route& r : caller->routes) {
    if (!external_route.empty() && r.name != external_route) continue;
    size_t index = 0;  // child indices as the expected tree gives them
    for (const CallStep& step : r.calls) {
      for (const Call& call : step.calls) {
        for (uint32_t execution = 0; execution < call.repeat; ++execution, ++index) {
          if (call.service != service || call.route != route) continue;
          std::string hop = ChildHop(external_hop, index);
          if (matches == 0 || hop != found) ++matches;
          found = std::move(hop);
        }
      }
    }
  }
  return matches == 1 ? found : "";
}

RecoveredGroundTruth RecoverGroundTruth(const Scenario& scenario, std::string_view service,
                                        std::string_view route, const ReceivedGroundTruth& received,
                                        const ExternalInFlight& in_flight) {
  RecoveredGroundTruth g;
  const std::vector<std::string> callers = ExternalCallersOf(scenario, service, route);
  // The hop below a request in flight into a real service, else below the one caller there is.
  auto child_hop = [&](std::string_view request_id, std::string_view external_hop) {
    auto r = in_flight.Find(request_id, external_hop);
    if (r && std::find(callers.begin(), callers.end(), r->service) != callers.end()) {
      g.external_caller = r->service;
      return ExternalChildHop(scenario, r->service, r->route, external_hop, service, route);
    }
    if (callers.size() != 1) return std::string();
    g.external_caller = callers.front();
    return ExternalChildHop(scenario, callers.front(), "", external_hop, service, route);
  };
  if (!received.request_id.empty()) {
    g.source = GroundTruthSource::kHeaders;
    g.request_id = std::string(received.request_id);
    g.sequence = std::string(received.sequence);
    g.offset = std::string(received.offset);
    g.hop = std::string(received.hop);
    if (callers.empty()) return g;
    // A real service that passed tracerig's headers on unchanged sends its own hop.
    if (auto r = in_flight.Find(received.request_id, received.hop)) {
      if (std::find(callers.begin(), callers.end(), r->service) != callers.end()) {
        g.external_caller = r->service;
        g.hop = ExternalChildHop(scenario, r->service, r->route, received.hop, service, route);
      }
    }
    return g;
  }
  if (!received.baggage_fields.empty()) {
    for (const BaggageMember& m : ParseBaggage(received.baggage_fields)) {
      if (m.key == kRequestIdBaggageKey && IsHex16(m.value)) g.request_id = m.value;
      if (m.key == kSequenceBaggageKey) g.sequence = m.value;
      if (m.key == kOffsetBaggageKey) g.offset = m.value;
      if (m.key == kHopBaggageKey) g.hop = m.value;
    }
    if (!g.request_id.empty()) {
      g.source = GroundTruthSource::kBaggage;
      g.hop = child_hop(g.request_id, g.hop);
      return g;
    }
    g = RecoveredGroundTruth{};
  }
  if (callers.empty()) return g;
  // A simulated caller always sends tracerig's headers: without them, the caller is a real one.
  if (callers.size() == 1) g.external_caller = callers.front();
  auto r = in_flight.WithTraceId(callers, received.trace_id);
  const bool by_trace_id = r.has_value();
  if (!r) r = in_flight.Single(callers);
  if (r) {
    g.source = by_trace_id ? GroundTruthSource::kTraceId : GroundTruthSource::kSingleInFlight;
    g.request_id = r->request_id;
    g.sequence = r->sequence;
    g.offset = r->offset;
    g.external_caller = r->service;
    g.hop = ExternalChildHop(scenario, r->service, r->route, r->hop, service, route);
  }
  return g;
}

}  // namespace tracerig
