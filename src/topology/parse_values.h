// The scenario parser's value-level helpers: pure functions over strings that know nothing of TOML
// or locations (parse_*.cc add those), so each can be tested on its own.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "core/result.h"
#include "core/text.h"
#include "topology/scenario.h"

namespace tracerig {

using NameList = std::span<const std::string_view>;

// "\"a\", \"b\"".
std::string QuotedList(NameList values);

// [a-z0-9][a-z0-9_.-]*
bool IsValidServiceName(std::string_view name);
// HOST:PORT with a decimal port in 0..65535; an IPv6 host must be bracketed ("[::1]:8080").
bool IsValidListen(std::string_view address);
// Whether a valid listen address names a port other than 0.
bool ListensOnFixedPort(std::string_view address);

// "always", "never", "ratio(R)", "parent-based" (ratio 1) or "parent-based(R)", R in [0, 1].
// The error message quotes the text and says what was expected.
Result<SamplingPolicy> ParseSamplingPolicy(std::string_view text);

// " (did you mean "tracecontext"?)" for a propagation format written as another tool names it
// ("w3c", "b3-multi", "uber-trace-id", any case) or misspelt; "" when nothing is close.
std::string PropagationHint(std::string_view name);
// The same for a sampling policy's name (before any "(R)"): OpenTelemetry's sampler names
// ("parentbased_always_on" -> "parent-based", "traceidratio" with argument 0.25 -> "ratio(0.25)"),
// else a close spelling.
std::string SamplingPolicyHint(std::string_view policy, std::optional<std::string_view> argument);

// Replaces every "${NAME}" by the variable's value. An unset variable or an unterminated "${" is
// an error naming the variable, never the value (values are often secrets).
Result<std::string> ExpandEnvironmentReferences(
    std::string_view text,
    const std::function<std::optional<std::string>(const std::string&)>& get_env);

// The gRPC status codes by their canonical names ("OK" = 0 ... "UNAUTHENTICATED" = 16).
std::optional<int> GrpcStatusFromName(std::string_view name);
NameList GrpcStatusNames();

// A duration with an optional leading '-' ("-250ms"), in nanoseconds.
std::optional<int64_t> ParseSignedDuration(std::string_view text);

// Whether a route name reads like an HTTP method and path ("GET /checkout").
bool LooksLikeHttpRoute(std::string_view name);

// A load entry's `tracestate` ("vendor=value,other=x"), checked member by member with the W3C
// rules (OWS around members allowed, empty members skipped, at most 32, each key once). The
// normalised list, or an error naming the member and why.
Result<std::string> NormaliseTracestateText(std::string_view text);
// A load entry's `baggage` ("user=alice,tier=gold;p=1"), checked member by member with the W3C
// Baggage rules (values percent-encoded, at most 180 members and 8192 bytes). The normalised
// list (as SpanContext::baggage holds it), or an error naming the member and why.
Result<std::string> NormaliseBaggageText(std::string_view text);

// Why `url` cannot be a RabbitMQ broker's URL ("" when it can): amqp://[USER:PASSWORD@]HOST:PORT
// [/VHOST], the port written out. Read by [broker] url and --broker; a password is never quoted.
std::string BrokerUrlProblem(std::string_view url);
// `url` with its password, if any, written "****" (amqp://user:****@host:5672).
std::string RedactedBrokerUrl(std::string_view url);

// `path` resolved against the directory of `including_file` ("scenarios/a.toml" + "common.toml"
// -> "scenarios/common.toml"); absolute paths are returned as they are.
std::string ResolveIncludePath(std::string_view including_file, std::string_view path);

}  // namespace tracerig
