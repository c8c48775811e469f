// Value-level helpers of the scenario parser (see parse_values.h).
#include "topology/parse_values.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <span>
#include <vector>

#include "core/units.h"
#include "propagation/baggage.h"
#include "propagation/w3c.h"

namespace tracerig {
namespace {

constexpr std::string_view kGrpcStatusNames[] = {
    "OK",        "CANCELLED",      "UNKNOWN",           "INVALID_ARGUMENT",   "DEADLINE_EXCEEDED",
    "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
    "ABORTED",   "OUT_OF_RANGE",   "UNIMPLEMENTED",     "INTERNAL",           "UNAVAILABLE",
    "DATA_LOSS", "UNAUTHENTICATED"};

constexpr std::string_view kSamplingPolicies[] = {"always", "never", "ratio", "parent-based"};

// Names people bring from other tools, and what tracerig calls the same thing. They stay errors
// (a scenario reads one way everywhere); the message names the right spelling.
struct Alias {
  std::string_view alias;  // lowercase
  std::string_view name;
};
constexpr Alias kPropagationAliases[] = {
    {"w3c", "tracecontext"},
    {"traceparent", "tracecontext"},
    {"w3c-tracecontext", "tracecontext"},
    {"w3c_tracecontext", "tracecontext"},
    {"trace-context", "tracecontext"},
    {"b3single", "b3"},
    {"b3-single", "b3"},
    {"b3_single", "b3"},
    {"b3-multi", "b3multi"},
    {"b3_multi", "b3multi"},
    {"x-b3", "b3multi"},
    {"uber-trace-id", "jaeger"},
    {"uber", "jaeger"},
    {"w3c-baggage", "baggage"},
    {"w3c_baggage", "baggage"},
};
constexpr std::string_view kPropagationNames[] = {"tracecontext", "baggage", "b3", "b3multi",
                                                  "jaeger"};
// OpenTelemetry's OTEL_TRACES_SAMPLER names; "R" stands for the ratio (OTEL_TRACES_SAMPLER_ARG).
constexpr Alias kSamplingAliases[] = {
    {"always_on", "always"},
    {"always_off", "never"},
    {"traceidratio", "ratio(R)"},
    {"parentbased_always_on", "parent-based"},
    {"parentbased_always_off", "parent-based(0)"},
    {"parentbased_traceidratio", "parent-based(R)"},
};

std::optional<std::string_view> FindAlias(std::span<const Alias> aliases, std::string_view name) {
  const std::string lower = AsciiLowercase(name);
  for (const Alias& a : aliases) {
    if (a.alias == lower) return a.name;
  }
  return std::nullopt;
}

std::optional<double> ParseRatio(std::string_view text) {
  double value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size() || !(value >= 0 && value <= 1)) {
    return std::nullopt;
  }
  return value;
}

}  // namespace

std::string QuotedList(NameList values) {
  std::string out;
  for (std::string_view v : values) {
    if (!out.empty()) out += ", ";
    out += fmt::format("\"{}\"", v);
  }
  return out;
}

bool IsValidServiceName(std::string_view name) {
  auto lower_or_digit = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (name.empty() || !lower_or_digit(name[0])) return false;
  return std::all_of(name.begin(), name.end(),
                     [&](char c) { return lower_or_digit(c) || c == '_' || c == '.' || c == '-'; });
}

bool IsValidListen(std::string_view address) {
  const size_t colon = address.rfind(':');
  if (colon == std::string_view::npos) return false;
  const std::string_view host = address.substr(0, colon);
  const std::string_view port = address.substr(colon + 1);
  if (host.empty() || port.empty() || port.size() > 5) return false;
  uint32_t value = 0;
  for (char c : port) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + static_cast<uint32_t>(c - '0');
  }
  if (value > 65535) return false;
  if (host.front() == '[') return host.size() > 2 && host.back() == ']';
  return std::none_of(host.begin(), host.end(),
                      [](char c) { return c == ':' || c == ' ' || c == '\t' || c == ']'; });
}

bool ListensOnFixedPort(std::string_view address) {
  return address.substr(address.rfind(':') + 1).find_first_not_of('0') != std::string_view::npos;
}

std::string PropagationHint(std::string_view name) {
  std::optional<std::string_view> meant = FindAlias(kPropagationAliases, name);
  const std::string lower = AsciiLowercase(name);
  for (std::string_view known : kPropagationNames) {
    if (!meant && known == lower) meant = known;  // "B3", "TraceContext"
  }
  if (meant) return fmt::format(" (did you mean \"{}\"?)", *meant);
  return DidYouMean(name, kPropagationNames);
}

std::string SamplingPolicyHint(std::string_view policy, std::optional<std::string_view> argument) {
  if (auto meant = FindAlias(kSamplingAliases, policy)) {
    std::string name(*meant);
    // "traceidratio(0.25)": keep the ratio that was written.
    if (argument && name.ends_with("(R)")) {
      name = fmt::format("{}({})", name.substr(0, name.size() - 3), *argument);
    }
    return fmt::format(" (did you mean \"{}\"? \"{}\" is OpenTelemetry's name for it)", name,
                       AsciiLowercase(policy));
  }
  return DidYouMean(policy, kSamplingPolicies);
}

Result<SamplingPolicy> ParseSamplingPolicy(std::string_view text) {
  std::string_view policy = text;
  std::optional<std::string_view> argument;
  if (const size_t open = text.find('('); open != std::string_view::npos) {
    if (text.back() != ')') {
      return MakeError(
          fmt::format("invalid sampling \"{}\" (a ratio is written in parentheses, "
                      "as in \"ratio(0.25)\")",
                      text));
    }
    policy = text.substr(0, open);
    argument = text.substr(open + 1, text.size() - open - 2);
  }
  if (std::find(std::begin(kSamplingPolicies), std::end(kSamplingPolicies), policy) ==
      std::end(kSamplingPolicies)) {
    std::string hint = SamplingPolicyHint(policy, argument);
    if (hint.empty()) {
      hint =
          " (expected \"always\", \"never\", \"ratio(R)\", \"parent-based\" or "
          "\"parent-based(R)\")";
    }
    return MakeError(fmt::format("unknown sampling policy \"{}\"{}", policy, hint));
  }
  SamplingPolicy result;
  if (policy == "always" || policy == "never") {
    if (argument) {
      return MakeError(fmt::format("sampling \"{}\" takes no ratio, got \"{}\"", policy, text));
    }
    result.kind = policy == "always" ? SamplingPolicy::Kind::kAlways : SamplingPolicy::Kind::kNever;
    result.ratio = policy == "always" ? 1.0 : 0.0;
    return result;
  }
  result.kind =
      policy == "ratio" ? SamplingPolicy::Kind::kRatio : SamplingPolicy::Kind::kParentBased;
  if (!argument) {
    if (policy == "ratio") {
      return MakeError("sampling \"ratio\" needs a ratio, as in \"ratio(0.25)\"");
    }
    result.ratio = 1.0;
    return result;
  }
  const auto ratio = ParseRatio(*argument);
  if (!ratio) {
    return MakeError(
        fmt::format("the ratio in sampling \"{}\" must be a number between 0 and 1", text));
  }
  result.ratio = *ratio;
  return result;
}

Result<std::string> ExpandEnvironmentReferences(
    std::string_view text,
    const std::function<std::optional<std::string>(const std::string&)>& get_env) {
  std::string out;
  size_t at = 0;
  while (true) {
    const size_t open = text.find("${", at);
    if (open == std::string_view::npos) break;
    out.append(text.substr(at, open - at));
    const size_t close = text.find('}', open + 2);
    if (close == std::string_view::npos) {
      return MakeError("unterminated \"${\" (write environment references as \"${NAME}\")");
    }
    const std::string name(text.substr(open + 2, close - open - 2));
    const bool valid_name = !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
      return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    });
    if (!valid_name) {
      return MakeError(
          fmt::format("invalid environment variable name \"{}\" in \"${{...}}\" "
                      "(letters, digits and '_')",
                      name));
    }
    std::optional<std::string> value = get_env ? get_env(name) : std::nullopt;
    if (!value) return MakeError(fmt::format("environment variable \"{}\" is not set", name));
    out += *value;
    at = close + 1;
  }
  out.append(text.substr(at));
  return out;
}

std::optional<int> GrpcStatusFromName(std::string_view name) {
  for (size_t i = 0; i < std::size(kGrpcStatusNames); ++i) {
    if (kGrpcStatusNames[i] == name) return static_cast<int>(i);
  }
  return std::nullopt;
}

NameList GrpcStatusNames() { return kGrpcStatusNames; }

std::optional<int64_t> ParseSignedDuration(std::string_view text) {
  const bool negative = !text.empty() && text.front() == '-';
  if (negative) text.remove_prefix(1);
  const auto nanos = ParseDuration(text);
  if (!nanos || *nanos > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    return std::nullopt;
  }
  const auto value = static_cast<int64_t>(*nanos);
  return negative ? -value : value;
}

bool LooksLikeHttpRoute(std::string_view name) {
  const size_t space = name.find(' ');
  if (space == std::string_view::npos || space == 0 || space + 1 >= name.size()) return false;
  const std::string_view method = name.substr(0, space);
  return name[space + 1] == '/' &&
         std::all_of(method.begin(), method.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
}

std::string ResolveIncludePath(std::string_view including_file, std::string_view path) {
  if (!path.empty() && path.front() == '/') return std::string(path);
  const size_t slash = including_file.rfind('/');
  if (slash == std::string_view::npos) return std::string(path);
  return fmt::format("{}/{}", including_file.substr(0, slash), path);
}

namespace {

// The members of a comma-separated list with spaces and tabs around each trimmed; empty ones
// skipped (both W3C lists allow them).
std::vector<std::string_view> ListMembers(std::string_view text) {
  std::vector<std::string_view> members;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    if (comma == std::string_view::npos) comma = text.size();
    const std::string_view member = TrimSpaceAndTab(text.substr(start, comma - start));
    if (!member.empty()) members.push_back(member);
    start = comma + 1;
  }
  return members;
}

// RFC 7230 tchar: what a baggage key is made of.
bool IsToken(std::string_view s) {
  constexpr std::string_view kSpecials = "!#$%&'*+-.^_`|~";
  return !s.empty() && std::all_of(s.begin(), s.end(), [&](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           kSpecials.find(c) != std::string_view::npos;
  });
}

}  // namespace

Result<std::string> NormaliseTracestateText(std::string_view text) {
  const std::vector<std::string_view> members = ListMembers(text);
  if (members.size() > kMaxTracestateMembers) {
    return MakeError(fmt::format("invalid \"tracestate\": {} members, more than the {} W3C allows",
                                 members.size(), kMaxTracestateMembers));
  }
  std::vector<std::string_view> keys;
  for (std::string_view member : members) {
    const size_t eq = member.find('=');
    if (eq == std::string_view::npos) {
      return MakeError(
          fmt::format("invalid \"tracestate\": member \"{}\" has no '=' (write "
                      "key=value)",
                      member));
    }
    const std::string_view key = member.substr(0, eq);
    const std::string_view value = member.substr(eq + 1);
    if (!IsValidTracestateKey(key)) {
      return MakeError(fmt::format(
          "invalid \"tracestate\": member \"{}\" has an invalid key \"{}\" (lowercase letters, "
          "digits, '_', '-', '*' and '/', starting with a letter or digit; \"tenant@system\" for "
          "a multi-tenant key)",
          member, key));
    }
    if (!IsValidTracestateValue(value)) {
      return MakeError(
          fmt::format("invalid \"tracestate\": member \"{}\" has an invalid value \"{}\" (1 to 256 "
                      "printable ASCII characters other than ',' and '=', not ending in a space)",
                      member, value));
    }
    if (std::find(keys.begin(), keys.end(), key) != keys.end()) {
      return MakeError(
          fmt::format("invalid \"tracestate\": key \"{}\" appears twice (a W3C "
                      "tracestate holds each key once)",
                      key));
    }
    keys.push_back(key);
  }
  std::string normalised;
  for (std::string_view member : members) {
    if (!normalised.empty()) normalised.push_back(',');
    normalised.append(member);
  }
  return normalised;
}

Result<std::string> NormaliseBaggageText(std::string_view text) {
  const std::vector<std::string_view> members = ListMembers(text);
  for (std::string_view member : members) {
    if (ParseBaggage({member}).size() == 1) continue;
    const std::string_view pair = member.substr(0, member.find(';'));
    const size_t eq = pair.find('=');
    if (eq == std::string_view::npos) {
      return MakeError(
          fmt::format("invalid \"baggage\": member \"{}\" has no '=' (write "
                      "key=value)",
                      member));
    }
    const std::string_view key = TrimSpaceAndTab(pair.substr(0, eq));
    if (!IsToken(key)) {
      return MakeError(
          fmt::format("invalid \"baggage\": member \"{}\" has an invalid key "
                      "\"{}\" (letters, digits and !#$%&'*+-.^_`|~ only)",
                      member, key));
    }
    return MakeError(
        fmt::format("invalid \"baggage\": member \"{}\" has an invalid value or "
                    "property (percent-encode spaces, '\"', ',', ';', '\\' and "
                    "'%', as in \"a%20b\")",
                    member));
  }
  if (members.size() > kMaxBaggageMembers) {
    return MakeError(fmt::format("invalid \"baggage\": {} members, more than the {} W3C allows",
                                 members.size(), kMaxBaggageMembers));
  }
  std::vector<std::string_view> fields{text};
  const std::vector<BaggageMember> parsed = ParseBaggage(fields);
  std::string normalised = FormatBaggage(parsed);
  if (ParseBaggage({normalised}).size() < parsed.size()) {
    return MakeError(
        fmt::format("invalid \"baggage\": more than the {} bytes W3C allows once "
                    "encoded",
                    kMaxBaggageBytes));
  }
  return normalised;
}

}  // namespace tracerig
