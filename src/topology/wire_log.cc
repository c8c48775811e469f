// WireLog: what simulated services received, bounded, for the verifier's explanations. Each
// observation is kept as one compact record (its text in one string) so that recording, on every
// inbound request, costs one allocation and a briefly held, rarely shared lock.
#include "topology/wire_log.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <tuple>

namespace tracerig {

std::string_view GroundTruthSourceName(GroundTruthSource source) {
  switch (source) {
    case GroundTruthSource::kHeaders: return "headers";
    case GroundTruthSource::kBaggage: return "baggage";
    case GroundTruthSource::kTraceId: return "trace id";
    case GroundTruthSource::kSingleInFlight: return "single request in flight";
    case GroundTruthSource::kNone: return "none";
  }
  return "none";
}

namespace {

bool IsGroundTruthHeader(std::string_view name) { return name.rfind("tracerig-", 0) == 0; }

// Text fields of a kept observation, in the order they sit in Kept::text.
enum TextField : size_t {
  kService,
  kRoute,
  kRequestId,
  kHop,
  kExternalCaller,
  kTracestate,
  kBaggage,
  kTextFields,
};

constexpr size_t kMaxField = UINT16_MAX;
// Below this capacity one shard keeps the retention exact (tests, small runs).
constexpr size_t kShardingFrom = 4096;
constexpr size_t kShards = 8;

uint64_t Mix(uint64_t h, std::string_view text) {
  for (char c : text) {
    h ^= static_cast<uint8_t>(c);
    h *= 0x100000001b3ull;
  }
  return h;
}

// The key Find looks observations up by; 0 means "no request id" (never looked up).
uint64_t KeyOf(std::string_view request_id, std::string_view hop, std::string_view service) {
  if (request_id.empty()) return 0;
  uint64_t h = 0xcbf29ce484222325ull;
  h = Mix(h, request_id);
  h = Mix(h, "|");
  h = Mix(h, hop);
  h = Mix(h, "|");
  h = Mix(h, service);
  return h == 0 ? 1 : h;
}

std::string_view Cut(std::string_view text, size_t max) {
  return text.size() <= max ? text : text.substr(0, max);
}

// One observation, compact: every text field and header back to back in `text`, their lengths
// in `length` (text fields first, then name and value of each header).
struct Kept {
  uint64_t key = 0;
  uint64_t received_unix_nano = 0;
  TraceId trace_id;
  SpanId parent_span_id;
  GroundTruthSource source = GroundTruthSource::kNone;
  bool has_context = false;
  bool sampled = false;
  uint8_t header_count = 0;
  std::array<uint16_t, kTextFields + 2 * WireLog::kMaxHeaders> length{};
  std::string text;

  std::string_view Part(size_t index) const {
    size_t offset = 0;
    for (size_t i = 0; i < index; ++i) offset += length[i];
    return std::string_view(text).substr(offset, length[index]);
  }

  WireObservation Expand() const {
    WireObservation o;
    size_t offset = 0;
    auto next = [&](size_t i) {
      std::string_view part = std::string_view(text).substr(offset, length[i]);
      offset += length[i];
      return std::string(part);
    };
    o.service = next(kService);
    o.route = next(kRoute);
    o.request_id = next(kRequestId);
    o.hop = next(kHop);
    o.external_caller = next(kExternalCaller);
    o.tracestate = next(kTracestate);
    o.baggage = next(kBaggage);
    o.headers.reserve(header_count);
    for (size_t h = 0; h < header_count; ++h) {
      std::string name = next(kTextFields + 2 * h);
      std::string value = next(kTextFields + 2 * h + 1);
      o.headers.emplace_back(std::move(name), std::move(value));
    }
    o.source = source;
    o.has_context = has_context;
    o.trace_id = trace_id;
    o.parent_span_id = parent_span_id;
    o.sampled = sampled;
    o.received_unix_nano = received_unix_nano;
    return o;
  }
};

Kept Compact(const WireObservationView& o) {
  Kept k;
  k.key = KeyOf(o.request_id, o.hop, o.service);
  k.received_unix_nano = o.received_unix_nano;
  k.trace_id = o.trace_id;
  k.parent_span_id = o.parent_span_id;
  k.source = o.source;
  k.has_context = o.has_context;
  k.sampled = o.sampled;
  const std::array<std::string_view, kTextFields> fields = {
      Cut(o.service, kMaxField),
      Cut(o.route, kMaxField),
      Cut(o.request_id, kMaxField),
      Cut(o.hop, kMaxField),
      Cut(o.external_caller, kMaxField),
      Cut(o.tracestate, WireLog::kMaxHeaderValue),
      Cut(o.baggage, WireLog::kMaxHeaderValue)};
  const size_t headers = std::min(o.headers.size(), WireLog::kMaxHeaders);
  k.header_count = static_cast<uint8_t>(headers);
  size_t total = 0;
  for (size_t i = 0; i < kTextFields; ++i) {
    k.length[i] = static_cast<uint16_t>(fields[i].size());
    total += fields[i].size();
  }
  // A cut tracestate or baggage ends in "..." as a cut header value does.
  const bool cut_tracestate = o.tracestate.size() > WireLog::kMaxHeaderValue;
  const bool cut_baggage = o.baggage.size() > WireLog::kMaxHeaderValue;
  for (size_t h = 0; h < headers; ++h) {
    const auto& [name, value] = o.headers[h];
    const size_t name_size = std::min(name.size(), WireLog::kMaxHeaderName);
    const size_t value_size =
        value.size() <= WireLog::kMaxHeaderValue ? value.size() : WireLog::kMaxHeaderValue + 3;
    k.length[kTextFields + 2 * h] = static_cast<uint16_t>(name_size);
    k.length[kTextFields + 2 * h + 1] = static_cast<uint16_t>(value_size);
    total += name_size + value_size;
  }
  if (cut_tracestate) k.length[kTracestate] += 3;
  if (cut_baggage) k.length[kBaggage] += 3;
  total += (cut_tracestate ? 3 : 0) + (cut_baggage ? 3 : 0);
  k.text.resize(total);
  char* out = k.text.data();
  auto put = [&out](std::string_view part) {
    if (!part.empty()) std::memcpy(out, part.data(), part.size());
    out += part.size();
  };
  for (size_t i = 0; i < kTextFields; ++i) {
    put(fields[i]);
    if ((i == kTracestate && cut_tracestate) || (i == kBaggage && cut_baggage)) put("...");
  }
  for (size_t h = 0; h < headers; ++h) {
    const auto& [name, value] = o.headers[h];
    put(Cut(name, WireLog::kMaxHeaderName));
    put(Cut(value, WireLog::kMaxHeaderValue));
    if (value.size() > WireLog::kMaxHeaderValue) put("...");
  }
  return k;
}

// Which shard a thread's observations without a request id go to: one per thread, round robin.
size_t ThreadSlot() {
  static std::atomic<size_t> next{0};
  thread_local const size_t slot = next.fetch_add(1, std::memory_order_relaxed);
  return slot;
}

}  // namespace

// Sequence numbers: the first half's records are 0 .. first_capacity - 1 (their index in
// `first`); the ring's continue from first_capacity, recent_base being the oldest one kept.
// The index by key is built when Find needs it, not when recording: recording is on the
// services' request path, and most runs never look anything up.
struct WireLog::Shard {
  Shard(size_t first_cap, size_t recent_cap)
      : first_capacity(first_cap),
        recent_capacity(recent_cap),
        recent_base(first_cap),
        recent_indexed(first_cap) {}

  const Kept* At(uint64_t seq) const {
    if (seq < first.size()) return &first[seq];
    if (seq < recent_base || seq - recent_base >= recent.size()) return nullptr;
    return &recent[seq - recent_base];
  }

  // Indexes what was recorded since the last call (the first half before the ring: older first,
  // so the latest copy of a key wins).
  void IndexNew() {
    for (; first_indexed < first.size(); ++first_indexed) {
      if (first[first_indexed].key != 0) latest[first[first_indexed].key] = first_indexed;
    }
    const uint64_t end = recent_base + recent.size();
    for (uint64_t seq = std::max(recent_indexed, recent_base); seq < end; ++seq) {
      const uint64_t key = recent[seq - recent_base].key;
      if (key != 0) latest[key] = seq;
    }
    recent_indexed = end;
  }

  // Before the ring's oldest record goes: its key no longer leads to it.
  void Unindex(uint64_t seq, uint64_t key) {
    if (key == 0 || seq >= recent_indexed) return;
    auto it = latest.find(key);
    if (it != latest.end() && it->second == seq) latest.erase(it);
  }

  mutable std::mutex mu;
  const size_t first_capacity;
  const size_t recent_capacity;
  std::deque<Kept> first;
  std::deque<Kept> recent;
  uint64_t recent_base;
  uint64_t forgotten = 0;
  // Key -> sequence number of the latest copy indexed; records before these are indexed.
  std::unordered_map<uint64_t, uint64_t> latest;
  uint64_t first_indexed = 0;
  uint64_t recent_indexed;
};

WireLog::WireLog(size_t capacity) : capacity_(capacity) {
  const size_t shards = capacity >= kShardingFrom ? kShards : 1;
  const size_t first = capacity / 2;
  const size_t recent = capacity - first;
  for (size_t i = 0; i < shards; ++i) {
    shards_.push_back(
        std::make_unique<Shard>((first + shards - 1) / shards, (recent + shards - 1) / shards));
  }
}

WireLog::~WireLog() = default;

std::string WireObservation::DescribeHeaders(
    const std::vector<std::string>& expected_formats) const {
  std::string received;
  for (const auto& [name, value] : headers) {
    if (IsGroundTruthHeader(name)) continue;
    if (!received.empty()) received += ", ";
    received += fmt::format("`{}: {}`", name, value);
  }
  std::string absent;
  for (const std::string& format : expected_formats) {
    const std::string_view header = WireLog::IdHeaderOf(format);
    if (header.empty()) continue;
    const bool present = std::any_of(headers.begin(), headers.end(),
                                     [&](const auto& h) { return h.first == header; });
    if (present || absent.find(fmt::format("no {}", header)) != std::string::npos) continue;
    absent += fmt::format("{}no {}", absent.empty() ? "" : ", ", header);
  }
  if (received.empty()) {
    return absent.empty() ? std::string("no trace context headers")
                          : fmt::format("no trace context headers ({})", absent);
  }
  return absent.empty() ? received : fmt::format("{} and {}", received, absent);
}

std::string_view WireLog::IdHeaderOf(std::string_view format) {
  if (format == "tracecontext") return "traceparent";
  if (format == "b3") return "b3";
  if (format == "b3multi") return "x-b3-traceid";
  if (format == "jaeger") return "uber-trace-id";
  return "";
}

bool WireLog::IsPropagationHeader(std::string_view n) {
  return n == "traceparent" || n == "tracestate" || n == "baggage" || n == "b3" ||
         n.rfind("x-b3-", 0) == 0 || n == "uber-trace-id" || n.rfind("uberctx-", 0) == 0 ||
         n == "jaeger-debug-id" || n == "jaeger-baggage" || IsGroundTruthHeader(n);
}

std::string WireLog::Bound(std::string_view value) {
  if (value.size() <= kMaxHeaderValue) return std::string(value);
  return std::string(value.substr(0, kMaxHeaderValue)) + "...";
}

WireLog::Shard& WireLog::ShardOf(uint64_t key) const {
  const size_t n = shards_.size();
  if (n == 1) return *shards_[0];
  return *shards_[key != 0 ? static_cast<size_t>(key >> 32) % n : ThreadSlot() % n];
}

void WireLog::Record(const WireObservationView& o) {
  Kept kept = Compact(o);  // outside the lock: the allocation and the copy
  Shard& shard = ShardOf(kept.key);
  std::lock_guard lock(shard.mu);
  if (shard.first.size() < shard.first_capacity) {
    shard.first.push_back(std::move(kept));
    return;
  }
  if (shard.recent_capacity == 0) {
    shard.forgotten++;
    return;
  }
  if (shard.recent.size() >= shard.recent_capacity) {
    shard.Unindex(shard.recent_base, shard.recent.front().key);
    shard.recent.pop_front();  // frees its text here, under the lock; one free, no copy
    shard.recent_base++;
    shard.forgotten++;
  }
  shard.recent.push_back(std::move(kept));
}

void WireLog::Record(const WireObservation& o) {
  std::array<std::pair<std::string_view, std::string_view>, kMaxHeaders> headers;
  const size_t n = std::min(o.headers.size(), kMaxHeaders);
  for (size_t i = 0; i < n; ++i) headers[i] = {o.headers[i].first, o.headers[i].second};
  Record(WireObservationView{o.service, o.route, o.request_id, o.hop, o.external_caller, o.source,
                             std::span(headers.data(), n), o.has_context, o.trace_id,
                             o.parent_span_id, o.sampled, o.tracestate, o.baggage,
                             o.received_unix_nano});
}

std::optional<WireObservation> WireLog::Find(std::string_view request_id, std::string_view hop,
                                             std::string_view service) const {
  const uint64_t key = KeyOf(request_id, hop, service);
  if (key == 0) return std::nullopt;
  Shard& shard = ShardOf(key);
  std::lock_guard lock(shard.mu);
  shard.IndexNew();
  auto it = shard.latest.find(key);
  if (it == shard.latest.end()) return std::nullopt;
  const Kept* kept = shard.At(it->second);
  // A 64-bit key can collide: the text decides.
  if (kept == nullptr || kept->Part(kRequestId) != request_id || kept->Part(kHop) != hop ||
      kept->Part(kService) != service) {
    return std::nullopt;
  }
  return kept->Expand();
}

std::vector<WireObservation> WireLog::FromExternal(std::string_view external_caller) const {
  std::vector<std::tuple<uint64_t, size_t, WireObservation>> found;  // time, arrival, what
  for (const auto& shard : shards_) {
    std::lock_guard lock(shard->mu);
    for (const std::deque<Kept>* part : {&shard->first, &shard->recent}) {
      for (const Kept& kept : *part) {
        if (kept.Part(kExternalCaller) != external_caller) continue;
        found.emplace_back(kept.received_unix_nano, found.size(), kept.Expand());
      }
    }
  }
  std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) {
    return std::tie(std::get<0>(a), std::get<1>(a)) < std::tie(std::get<0>(b), std::get<1>(b));
  });
  std::vector<WireObservation> out;
  out.reserve(found.size());
  for (auto& f : found) out.push_back(std::move(std::get<2>(f)));
  return out;
}

size_t WireLog::size() const {
  size_t n = 0;
  for (const auto& shard : shards_) {
    std::lock_guard lock(shard->mu);
    n += shard->first.size() + shard->recent.size();
  }
  return n;
}

uint64_t WireLog::forgotten() const {
  uint64_t n = 0;
  for (const auto& shard : shards_) {
    std::lock_guard lock(shard->mu);
    n += shard->forgotten;
  }
  return n;
}

PropagationHeaders::PropagationHeaders(const HeaderReader& reader) {
  reader.ForEach([this](std::string_view name, std::string_view value) { Add(name, value); });
}

void PropagationHeaders::Add(std::string_view name, std::string_view value) {
  if (count_ >= WireLog::kMaxHeaders || name.empty()) return;
  // Every propagation header starts with one of these: most other headers go no further.
  switch (name[0] | 0x20) {
    case 't':
    case 'b':
    case 'x':
    case 'u':
    case 'j':
      break;
    default:
      return;
  }
  char* lower = names_.data() + count_ * WireLog::kMaxHeaderName;
  const size_t n = std::min(name.size(), WireLog::kMaxHeaderName);
  for (size_t i = 0; i < n; ++i) {
    const char c = name[i];
    lower[i] = c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
  }
  const std::string_view lowercase(lower, n);
  if (!WireLog::IsPropagationHeader(lowercase)) return;
  fields_[count_++] = {lowercase, value};
}

}  // namespace tracerig
