// WireLog: what simulated services received, bounded, for the verifier's explanations.
#include "topology/wire_log.h"

#include <fmt/format.h>

#include <algorithm>

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

// The header each format is recognised by, for "and no traceparent".
std::string_view HeaderOfFormat(std::string_view format) {
  if (format == "tracecontext") return "traceparent";
  if (format == "baggage") return "baggage";
  if (format == "b3") return "b3";
  if (format == "b3multi") return "x-b3-traceid";
  if (format == "jaeger") return "uber-trace-id";
  return "";
}

bool IsGroundTruthHeader(std::string_view name) { return name.rfind("tracerig-", 0) == 0; }

}  // namespace

std::string WireObservation::DescribeHeaders(
    const std::vector<std::string>& expected_formats) const {
  std::vector<std::string> parts;
  for (const auto& [name, value] : headers) {
    if (IsGroundTruthHeader(name)) continue;
    parts.push_back(fmt::format("`{}: {}`", name, value));
  }
  std::vector<std::string> absent;
  for (const std::string& format : expected_formats) {
    const std::string_view header = HeaderOfFormat(format);
    if (header.empty()) continue;
    const bool present = std::any_of(headers.begin(), headers.end(),
                                     [&](const auto& h) { return h.first == header; });
    if (!present) absent.push_back(fmt::format("no {}", header));
  }
  if (parts.empty()) {
    return absent.empty() ? std::string("no trace context headers")
                          : fmt::format("no trace context headers ({})", fmt::join(absent, ", "));
  }
  std::string text = fmt::format("{}", fmt::join(parts, ", "));
  if (!absent.empty()) text += fmt::format(" and {}", fmt::join(absent, ", "));
  return text;
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

std::string WireLog::Key(std::string_view request_id, std::string_view hop,
                         std::string_view service) {
  return fmt::format("{}|{}|{}", request_id, hop, service);
}

void WireLog::Record(WireObservation o) {
  std::lock_guard lock(mu_);
  if (capacity_ == 0) {
    forgotten_++;
    return;
  }
  if (kept_.size() >= capacity_) {
    const WireObservation& old = kept_.front();
    auto it = latest_.find(Key(old.request_id, old.hop, old.service));
    if (it != latest_.end() && it->second == first_seq_) latest_.erase(it);
    kept_.pop_front();
    first_seq_++;
    forgotten_++;
  }
  const uint64_t seq = first_seq_ + kept_.size();
  if (!o.request_id.empty()) latest_[Key(o.request_id, o.hop, o.service)] = seq;
  kept_.push_back(std::move(o));
}

std::optional<WireObservation> WireLog::Find(std::string_view request_id, std::string_view hop,
                                             std::string_view service) const {
  std::lock_guard lock(mu_);
  auto it = latest_.find(Key(request_id, hop, service));
  if (it == latest_.end() || it->second < first_seq_) return std::nullopt;
  return kept_[it->second - first_seq_];
}

std::vector<WireObservation> WireLog::FromExternal(std::string_view external_caller) const {
  std::lock_guard lock(mu_);
  std::vector<WireObservation> out;
  for (const WireObservation& o : kept_) {
    if (o.external_caller == external_caller) out.push_back(o);
  }
  return out;
}

size_t WireLog::size() const {
  std::lock_guard lock(mu_);
  return kept_.size();
}

uint64_t WireLog::forgotten() const {
  std::lock_guard lock(mu_);
  return forgotten_;
}

}  // namespace tracerig
