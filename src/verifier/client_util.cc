#include "verifier/client_util.h"

#include <fmt/format.h>

#include <algorithm>
#include <utility>

#include "core/text.h"

namespace tracerig {
namespace {

constexpr size_t kQuotedBodyChars = 200;

// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's civil_from_days).
void CivilFromDays(int64_t days, int64_t& year, unsigned& month, unsigned& day) {
  days += 719468;
  const int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const auto doe = static_cast<unsigned>(days - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  day = doy - (153 * mp + 2) / 5 + 1;
  month = mp < 10 ? mp + 3 : mp - 9;
  year = static_cast<int64_t>(yoe) + era * 400 + (month <= 2 ? 1 : 0);
}

}  // namespace

std::string QuoteBody(std::string_view body) {
  return std::string(body.substr(0, std::min(body.size(), kQuotedBodyChars)));
}

Result<FetchResponse> FetchFrom(HttpFetcher& fetcher, std::string_view describe,
                                std::string_view target) {
  auto response = fetcher.Get(target);
  if (!response) {
    return MakeError(ErrorCode::kUnavailable,
                     fmt::format("{}: GET {}: {}", describe, target, response.error().message));
  }
  return response;
}

Error UnexpectedStatus(std::string_view describe, std::string_view target,
                       const FetchResponse& response) {
  return MakeError(ErrorCode::kUnavailable,
                   fmt::format("{}: GET {} answered HTTP {}: {}", describe, target, response.status,
                               QuoteBody(response.body)));
}

Error MalformedAnswer(std::string_view describe, std::string_view target,
                      std::string_view problem) {
  return MakeError(ErrorCode::kUnavailable,
                   fmt::format("{}: GET {}: malformed answer: {}", describe, target, problem));
}

bool IsMissingEndpoint(const FetchResponse& response) {
  if (response.status != 404) return false;
  std::string_view body = response.body;
  while (!body.empty() && (body.back() == '\n' || body.back() == '\r')) body.remove_suffix(1);
  body = TrimSpaceAndTab(body);
  if (body == "404 page not found") return true;
  const std::string lower = AsciiLowercase(body.substr(0, std::min<size_t>(body.size(), 64)));
  return lower.starts_with("<!doctype html") || lower.starts_with("<html");
}

Error MissingEndpoint(std::string_view describe, std::string_view target,
                      const FetchResponse& response, std::string_view hint) {
  std::string body = QuoteBody(response.body);
  while (!body.empty() && (body.back() == '\n' || body.back() == '\r')) body.pop_back();
  return MakeError(ErrorCode::kUnavailable,
                   fmt::format("{}: GET {} answered 404 for the endpoint itself ({}): {}", describe,
                               target, body, hint));
}

Result<nlohmann::json> ParseJsonBody(std::string_view body) {
  try {
    return nlohmann::json::parse(body.begin(), body.end());
  } catch (const nlohmann::json::exception& e) {
    std::string message = e.what();
    if (auto pos = message.find("] "); pos != std::string::npos) message = message.substr(pos + 2);
    return MakeError(std::move(message));
  }
}

std::vector<Span> KeepSpansWithAttribute(std::vector<Span> spans, std::string_view key,
                                         std::string_view value) {
  std::vector<Span> matching;
  for (Span& span : spans) {
    const AttributeValue* v = span.FindAttribute(key);
    if (v != nullptr && AttributeValueToString(*v) == value) matching.push_back(std::move(span));
  }
  return matching;
}

std::string FormatRfc3339Micros(uint64_t unix_micros) {
  constexpr uint64_t kMicrosPerSecond = 1'000'000;
  constexpr uint64_t kSecondsPerDay = 86'400;
  const uint64_t seconds = unix_micros / kMicrosPerSecond;
  const uint64_t of_day = seconds % kSecondsPerDay;
  int64_t year = 0;
  unsigned month = 0;
  unsigned day = 0;
  CivilFromDays(static_cast<int64_t>(seconds / kSecondsPerDay), year, month, day);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z", year, month, day, of_day / 3600,
                     of_day / 60 % 60, of_day % 60, unix_micros % kMicrosPerSecond);
}

Result<std::vector<DependencyLink>> DecodeDependencyArray(const nlohmann::json& links) {
  if (!links.is_array()) return MakeError("expected an array of dependency links");
  std::vector<DependencyLink> out;
  out.reserve(links.size());
  for (size_t i = 0; i < links.size(); ++i) {
    const nlohmann::json& link = links[i];
    if (!link.is_object()) return MakeError(fmt::format("[{}]: must be an object", i));
    DependencyLink d;
    for (const char* field : {"parent", "child"}) {
      auto it = link.find(field);
      if (it == link.end() || !it->is_string() || it->get_ref<const std::string&>().empty()) {
        return MakeError(fmt::format("[{}]: \"{}\" must be a non-empty string", i, field));
      }
      (std::string_view(field) == "parent" ? d.parent : d.child) = it->get<std::string>();
    }
    auto count = link.find("callCount");
    if (count == link.end() || !count->is_number_unsigned()) {
      // Jaeger and Zipkin write a JSON integer; a negative or fractional one is not a count.
      if (count == link.end() || !count->is_number_integer() || count->get<int64_t>() < 0) {
        return MakeError(
            fmt::format("[{}]: \"callCount\" must be a non-negative integer", i));
      }
    }
    d.call_count = count->get<uint64_t>();
    out.push_back(std::move(d));
  }
  return out;
}

DependencyWindowMs DependencyWindow(uint64_t start_unix_micros, uint64_t end_unix_micros) {
  constexpr uint64_t kMicrosPerMilli = 1000;
  const uint64_t end_ms = (end_unix_micros + kMicrosPerMilli - 1) / kMicrosPerMilli;
  const uint64_t start_ms = start_unix_micros / kMicrosPerMilli;
  return DependencyWindowMs{end_ms, end_ms > start_ms ? end_ms - start_ms : 1};
}

}  // namespace tracerig
