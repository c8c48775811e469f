#include "backend/span_store.h"

#include <algorithm>
#include <mutex>
#include <variant>

#include "backend/jaeger_json.h"

namespace tracerig {
namespace {

// Whether `span` carries key=value as an attribute, a resource attribute or a derived Jaeger tag.
bool HasTag(const Span& span, const std::string& key, const std::string& value) {
  auto matches = [&](const std::vector<Attribute>& attributes) {
    return std::any_of(attributes.begin(), attributes.end(), [&](const Attribute& a) {
      return a.key == key && AttributeValueToString(a.value) == value;
    });
  };
  if (matches(span.attributes) || matches(span.resource_attributes)) return true;
  return matches(JaegerDerivedTags(span));
}

bool SpanMatches(const Span& span, const TraceQuery& query) {
  if (span.service_name != query.service) return false;
  if (!query.operation.empty() && span.name != query.operation) return false;
  if (query.start_min_unix_nano && span.start_unix_nano < *query.start_min_unix_nano) return false;
  if (query.start_max_unix_nano && span.start_unix_nano > *query.start_max_unix_nano) return false;
  const uint64_t duration =
      span.end_unix_nano > span.start_unix_nano ? span.end_unix_nano - span.start_unix_nano : 0;
  if (query.min_duration_nano && duration < *query.min_duration_nano) return false;
  if (query.max_duration_nano && duration > *query.max_duration_nano) return false;
  for (const auto& [key, value] : query.tags) {
    if (!HasTag(span, key, value)) return false;
  }
  return true;
}

// glibc malloc: a chunk holds the request plus an 8-byte header, in 16-byte steps, 32 at least.
uint64_t HeapBlockBytes(uint64_t requested) {
  if (requested == 0) return 0;
  return std::max<uint64_t>(32, (requested + 8 + 15) / 16 * 16);
}

// By size rather than capacity, so equal spans cost the same however their strings were built.
uint64_t StringHeapBytes(const std::string& s) {
  // libstdc++ keeps up to 15 characters inside the string object itself.
  constexpr size_t kSmallStringCapacity = 15;
  return s.size() > kSmallStringCapacity ? HeapBlockBytes(s.size() + 1) : 0;
}

uint64_t AttributesHeapBytes(const std::vector<Attribute>& attributes) {
  uint64_t bytes = HeapBlockBytes(attributes.size() * sizeof(Attribute));
  for (const Attribute& a : attributes) {
    bytes += StringHeapBytes(a.key);
    if (const auto* text = std::get_if<std::string>(&a.value)) bytes += StringHeapBytes(*text);
  }
  return bytes;
}

}  // namespace

uint64_t EstimateSpanBytes(const Span& span) {
  uint64_t bytes = sizeof(Span) + StringHeapBytes(span.trace_state) + StringHeapBytes(span.name) +
                   StringHeapBytes(span.status_message) + StringHeapBytes(span.service_name) +
                   AttributesHeapBytes(span.attributes) +
                   AttributesHeapBytes(span.resource_attributes) +
                   HeapBlockBytes(span.events.size() * sizeof(SpanEvent)) +
                   HeapBlockBytes(span.links.size() * sizeof(SpanLink));
  for (const SpanEvent& e : span.events) {
    bytes += StringHeapBytes(e.name) + AttributesHeapBytes(e.attributes);
  }
  for (const SpanLink& link : span.links) {
    bytes += StringHeapBytes(link.trace_state) + AttributesHeapBytes(link.attributes);
  }
  return bytes;
}

SpanStore::SpanStore(size_t max_spans, uint64_t max_bytes)
    : max_spans_(max_spans), max_bytes_(max_bytes) {}

bool SpanStore::OverBounds() const {
  return (max_spans_ != 0 && stats_.spans_stored > max_spans_) ||
         (max_bytes_ != 0 && stats_.bytes_stored > max_bytes_);
}

void SpanStore::Add(std::vector<Span> spans, uint64_t now_unix_nano) {
  std::unique_lock lock(mu_);
  // Spans of a batch mostly come grouped by resource, so the previous span's service is the likely
  // one: skip the map lookup then.
  const std::string* last_service_name = nullptr;
  ServiceIndex* last_service = nullptr;
  for (auto& span : spans) {
    auto [it, inserted] = traces_.try_emplace(span.trace_id);
    TraceRecord& record = it->second;
    if (inserted) {
      record.first_arrival_unix_nano = now_unix_nano;
      arrival_order_.push_back(span.trace_id);
      ++stats_.traces_stored;
      record.bytes = kTraceOverheadBytes;
      stats_.bytes_stored += kTraceOverheadBytes;
    }
    record.last_arrival_unix_nano = now_unix_nano;

    if (last_service == nullptr || *last_service_name != span.service_name) {
      auto service_it = services_.find(span.service_name);
      if (service_it == services_.end()) {
        service_it = services_.emplace(span.service_name, ServiceIndex{}).first;
      }
      last_service_name = &service_it->first;
      last_service = &service_it->second;
    }
    ServiceIndex& service = *last_service;
    service.operations.insert(span.name);  // allocates only for a new name
    const bool linked = std::any_of(record.service_entries.begin(), record.service_entries.end(),
                                    [&](const auto& e) { return e.first == &service; });
    if (!linked) {
      // Sequence numbers only grow: the new entry goes last, and the hint makes that O(1).
      const uint64_t seq = next_arrival_seq_++;
      service.traces_by_arrival.emplace_hint(service.traces_by_arrival.end(), seq, span.trace_id);
      record.service_entries.emplace_back(&service, seq);
      record.bytes += kServiceLinkBytes;
      stats_.bytes_stored += kServiceLinkBytes;
    }

    const uint64_t bytes = EstimateSpanBytes(span);
    record.bytes += bytes;
    stats_.bytes_stored += bytes;
    record.spans.push_back(std::move(span));
    ++stats_.spans_stored;
    ++stats_.spans_received;
  }
  while (OverBounds() && !arrival_order_.empty()) EvictOldestTrace();
}

void SpanStore::EvictOldestTrace() {
  const TraceId oldest = arrival_order_.front();
  arrival_order_.pop_front();
  auto it = traces_.find(oldest);
  if (it == traces_.end()) return;  // cannot happen: records leave only through this function
  TraceRecord& record = it->second;
  for (const auto& [service, seq] : record.service_entries) service->traces_by_arrival.erase(seq);
  stats_.spans_stored -= record.spans.size();
  stats_.bytes_stored -= record.bytes;
  stats_.spans_evicted += record.spans.size();
  --stats_.traces_stored;
  ++stats_.traces_evicted;
  stats_.evicted_through_unix_nano =
      std::max(stats_.evicted_through_unix_nano, record.first_arrival_unix_nano);
  traces_.erase(it);
}

std::optional<StoredTrace> SpanStore::GetTrace(TraceId trace_id) const {
  std::shared_lock lock(mu_);
  auto it = traces_.find(trace_id);
  if (it == traces_.end()) return std::nullopt;
  return StoredTrace{trace_id, it->second.spans, it->second.first_arrival_unix_nano,
                     it->second.last_arrival_unix_nano};
}

std::vector<std::string> SpanStore::Services() const {
  std::shared_lock lock(mu_);
  std::vector<std::string> out;
  out.reserve(services_.size());
  for (const auto& [name, index] : services_) out.push_back(name);
  return out;
}

std::vector<std::string> SpanStore::Operations(std::string_view service) const {
  std::shared_lock lock(mu_);
  auto it = services_.find(service);
  if (it == services_.end()) return {};
  return {it->second.operations.begin(), it->second.operations.end()};
}

std::vector<TraceId> SpanStore::Search(const TraceQuery& query) const {
  std::vector<TraceId> out;
  if (query.service.empty()) return out;
  std::shared_lock lock(mu_);
  auto service_it = services_.find(query.service);
  if (service_it == services_.end()) return out;
  const auto& by_arrival = service_it->second.traces_by_arrival;
  for (auto it = by_arrival.rbegin(); it != by_arrival.rend(); ++it) {
    if (query.limit != 0 && out.size() >= query.limit) break;
    auto trace_it = traces_.find(it->second);
    if (trace_it == traces_.end()) continue;
    const auto& spans = trace_it->second.spans;
    if (std::any_of(spans.begin(), spans.end(),
                    [&](const Span& s) { return SpanMatches(s, query); })) {
      out.push_back(it->second);
    }
  }
  return out;
}

void SpanStore::VisitTraces(
    const std::function<bool(TraceId trace_id, const std::vector<Span>& spans)>& visit) const {
  std::shared_lock lock(mu_);
  for (auto it = arrival_order_.rbegin(); it != arrival_order_.rend(); ++it) {
    auto trace_it = traces_.find(*it);
    if (trace_it == traces_.end()) continue;
    if (!visit(*it, trace_it->second.spans)) return;
  }
}

StoreStats SpanStore::stats() const {
  std::shared_lock lock(mu_);
  return stats_;
}

}  // namespace tracerig
