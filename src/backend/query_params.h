// Request-target parsing for the embedded backend's HTTP handlers: path/query split, percent
// decoding and query strings, with the semantics of Go's net/url (what Jaeger's query service
// uses).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"

namespace tracerig {

// "/api/traces?service=a" -> {"/api/traces", "service=a"}; both still percent-encoded.
std::pair<std::string_view, std::string_view> SplitTarget(std::string_view target);

// Decodes %XX escapes (either case). In query strings (plus_is_space) '+' means a space; in paths
// it is a literal '+'. Errors name the bad escape: `invalid URL escape "%zz"`.
Result<std::string> PercentDecode(std::string_view text, bool plus_is_space);

// Decoded key/value pairs in request order; repeated keys are kept. "a&b=" gives a="" and b="".
using QueryParams = std::vector<std::pair<std::string, std::string>>;
Result<QueryParams> ParseQueryString(std::string_view query);

// The first value of `key`, as Go's FormValue (nullopt when absent).
std::optional<std::string_view> FirstParam(const QueryParams& params, std::string_view key);
// Every value of `key`, in request order.
std::vector<std::string_view> AllParams(const QueryParams& params, std::string_view key);

}  // namespace tracerig
