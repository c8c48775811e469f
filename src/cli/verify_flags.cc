// Parsing the verification flags into query clients and VerifyOptions.
#include "cli/verify_flags.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string_view>
#include <utility>

#include <fmt/format.h>

#include "core/units.h"
#include "net/http_client_options.h"
#include "net/tls.h"
#include "verifier/backend_factory.h"

namespace tracerig {
namespace {

// Jaeger's API has whole microseconds; a child rebuilt from truncated start + duration can seem to
// end 1 µs after its parent.
constexpr uint64_t kJaegerClockSkewToleranceNs = 1000;

// The duration flag `name` in nanoseconds, unset when not given; an error names the flag unless
// the value is a duration of at least 1 ms ("like" gives an example for the message).
Result<std::optional<uint64_t>> ParseMillisecondsFlag(const ParsedFlags& flags,
                                                      std::string_view name,
                                                      std::string_view like) {
  auto t = flags.Get(name);
  if (!t) return std::optional<uint64_t>{};
  auto ns = ParseDuration(*t);
  if (!ns || *ns < 1'000'000) {
    return MakeError(fmt::format("--{} \"{}\" is not a duration of at least 1ms, like {}", name,
                                 *t, like));
  }
  return std::optional<uint64_t>{*ns};
}

// --query-timeout, else 10 s.
Result<std::chrono::milliseconds> ParseQueryTimeout(const ParsedFlags& flags) {
  auto ns = ParseMillisecondsFlag(flags, "query-timeout", "10s");
  if (!ns) return ns.error();
  return std::chrono::milliseconds(ns->value_or(10'000'000'000ull) / 1'000'000);
}

}  // namespace

const FlagSpec kQueryTimeoutFlag = {
    "query-timeout", "DURATION",
    "how long one backend query may take before it counts as failed (default 10s); three "
    "failures in a row end verification with \"backend unreachable\" (exit 3)"};

const FlagSpec kVerifyAfterLoadFlag = {
    "verify-after-load", "",
    "start verifying when the load has ended, not while it runs (fewer backend queries during "
    "the load, but time to queryable is then mostly an upper bound)"};

const FlagSpec kPollIntervalFlag = {
    "poll-interval", "DURATION",
    "how often a trace not yet whole is asked for again (default 100ms; time to queryable is "
    "overestimated by up to this)"};
const FlagSpec kSettleTimeFlag = {
    "settle-time", "DURATION",
    "how long a trace's span count must stay unchanged before it is judged incomplete (default "
    "2s: late spans get this long)"};

Result<BackendClientFactory> MakeQueryClients(const BackendPlan& plan, const ParsedFlags& flags) {
  auto timeout = ParseQueryTimeout(flags);
  if (!timeout) return timeout.error();
  HttpClientOptions options;
  options.request_timeout = *timeout;
  options.connect_timeout = std::min(*timeout, std::chrono::milliseconds(3000));
  if (plan.query_tls) {
    auto tls = LoadTlsClientContext(plan.query_tls_config);
    if (!tls) return MakeError("query over TLS: " + tls.error().message);
    options.tls = std::move(*tls);
  }
  return MakeBackendClientFactory(plan.query_url, plan.query_headers, options);
}

Result<VerifyOptions> ParseRunVerifyOptions(const ParsedFlags& flags) {
  VerifyOptions options;
  options.clock_skew_tolerance_ns = kJaegerClockSkewToleranceNs;
  if (auto c = flags.Get("verify-concurrency")) {
    options.concurrency = std::strtoul(c->c_str(), nullptr, 10);
    if (options.concurrency == 0 || options.concurrency > 256) {
      return MakeError(fmt::format("--verify-concurrency \"{}\" must be 1 to 256", *c));
    }
  }
  if (auto t = flags.Get("verify-timeout")) {
    auto ns = ParseDuration(*t);
    if (!ns || *ns == 0) {
      return MakeError(fmt::format("--verify-timeout \"{}\" is not a duration like 60s", *t));
    }
    options.deadline_ns = *ns;
  }
  for (const auto& [name, field] : {std::pair{"poll-interval", &options.poll_interval_ns},
                                    std::pair{"settle-time", &options.settle_incomplete_ns}}) {
    auto ns = ParseMillisecondsFlag(flags, name, "100ms");
    if (!ns) return ns.error();
    if (*ns) *field = **ns;
  }
  return options;
}

}  // namespace tracerig
