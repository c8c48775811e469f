// OTLP trace encoding: tracerig spans to and from ExportTraceServiceRequest bodies (protobuf and
// OTLP/JSON). Used by the exporter to send spans and by the embedded backend's receiver to accept
// them from tracerig and from real SDKs.
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "core/span.h"

namespace tracerig {

// The instrumentation scope name written on every ScopeSpans we encode.
inline constexpr std::string_view kOtlpScopeName = "tracerig";
// service_name of a decoded span whose resource has no service.name (as OpenTelemetry SDKs
// default).
inline constexpr std::string_view kUnknownServiceName = "unknown_service";

// ExportTraceServiceRequest bytes. Spans are grouped into one ResourceSpans per (service_name,
// resource_attributes), in order of first appearance; the resource gets service.name first, then
// resource_attributes; one ScopeSpans with scope name "tracerig".
std::string EncodeOtlpProtobuf(const std::vector<Span>& spans);

// OTLP/JSON per the spec, grouped as above: camelCase names, ids as lowercase hex, enums as
// integers, 64-bit integers as decimal strings. Empty optional fields are omitted.
std::string EncodeOtlpJson(const std::vector<Span>& spans);

// Decodes an ExportTraceServiceRequest. Validates ids: trace id 16 bytes and non-zero, span id 8
// bytes and non-zero, parent span id empty or 8 bytes (all-zero parent = root). Errors name the
// place: "resourceSpans[0].scopeSpans[0].spans[3]: traceId must be 16 bytes, got 15".
// service_name comes from the resource attribute service.name ("unknown_service" when absent); the
// other resource attributes are kept in order. Array, kvlist and bytes values become strings (JSON
// text, lowercase hex). Span.flags keeps all 32 bits. Links are kept in order with their state,
// attributes and flags; a link's ids must be empty or 16/8 bytes (empty or all-zero ids stay
// invalid ids, as the specification allows links without a valid context), else the request is
// rejected ("...spans[3]: links[0].traceId must be empty or 16 bytes, got 4"). Scopes are not kept.
// Reads the wire format straight into spans (ingest's hot path); accepts, rejects and decodes
// exactly as DecodeOtlpProtobufViaMessages does.
Result<std::vector<Span>> DecodeOtlpProtobuf(std::string_view body);
// The same decoding through libprotobuf's generated messages: the reference DecodeOtlpProtobuf is
// tested against (slower: every string is allocated twice).
Result<std::vector<Span>> DecodeOtlpProtobufViaMessages(std::string_view body);

// Decodes OTLP/JSON as real SDKs and backends write it: ids as hex (either case) or base64 (only
// when 24/12 characters and not hex), 64-bit fields and intValue as decimal strings or numbers,
// kind and status.code as integers or enum names ("SPAN_KIND_SERVER", "STATUS_CODE_ERROR"),
// bytesValue as base64; missing or null fields take their defaults, unknown fields are ignored.
// Never throws, whatever the input.
Result<std::vector<Span>> DecodeOtlpJson(std::string_view body);

// Decodes an already parsed JSON array of ResourceSpans (e.g. Tempo's "batches" or Jaeger API v3's
// "result.resourceSpans"); `path` names the array in error messages ("batches"). Same rules as
// DecodeOtlpJson. A null value is an empty list.
Result<std::vector<Span>> DecodeOtlpJsonResourceSpans(const nlohmann::json& resource_spans,
                                                      std::string_view path);

}  // namespace tracerig
