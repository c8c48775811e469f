// Jaeger query service v1 JSON (the model the Jaeger UI reads), produced from tracerig spans the
// way Jaeger does it: OTLP -> Jaeger model as the OpenTelemetry translator maps it, then Jaeger's
// UI converter, with keys in the order Go's encoder writes them. Nothing is adjusted (no clock-skew
// correction, no span-id dedup): responses are what Jaeger gives for `?raw=true`.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "core/ids.h"
#include "core/span.h"

namespace tracerig {

// 16 hex digits when the high half is zero (leading zeros kept), else 32, as Jaeger prints them.
std::string JaegerTraceIdString(TraceId id);

// The tags Jaeger adds after a span's own attributes, in Jaeger's order: span.kind (lowercase,
// absent when UNSPECIFIED), otel.status_code ("OK"/"ERROR", absent when UNSET), error=true (status
// ERROR), otel.status_description (non-empty status message), w3c.tracestate (non-empty).
std::vector<Attribute> JaegerDerivedTags(const Span& span);

// {"key","type","value"}; int64 outside +/-(2^53-1) is written as a string, as Jaeger does so
// JavaScript can read it.
nlohmann::ordered_json JaegerTagJson(const Attribute& attribute);

// One element of `data[]`: traceID, spans (in the given order; a span's references are CHILD_OF
// its parent, then one FOLLOWS_FROM per link, as the OpenTelemetry translator writes them),
// processes ("p1", "p2", ... one per distinct service name + resource attributes, numbered in span
// order), warnings null.
// `spans` must be non-empty and share one trace id (the first span's id names the trace).
nlohmann::ordered_json EncodeJaegerTrace(const std::vector<Span>& spans);

// {"data":data,"total":total,"limit":0,"offset":0,"errors":errors}, serialised; errors null when
// there are none (an empty array is written as null, as Go writes a nil slice).
std::string JaegerDataResponse(nlohmann::ordered_json data, size_t total,
                               nlohmann::ordered_json errors = nullptr);
// One "errors" entry of a batch answer (GET /api/traces?traceID=...) for an id Jaeger does not
// have: {"msg":"trace not found","traceID":JaegerTraceIdString(id)} (no "code", as Jaeger omits a
// zero one).
nlohmann::ordered_json JaegerTraceNotFoundError(TraceId id);
// {"data":null,"total":0,"limit":0,"offset":0,"errors":[{"code":code,"msg":message}]}.
std::string JaegerErrorResponse(int code, std::string_view message);

// Compact serialisation that never throws: invalid UTF-8 from ingested spans is replaced (U+FFFD).
std::string DumpJson(const nlohmann::ordered_json& json);

}  // namespace tracerig
