// Zipkin v2 JSON: tracerig spans to and from the span arrays of POST /api/v2/spans and of Zipkin's
// query API. The exporter sends spans as OpenTelemetry SDKs' Zipkin exporters do; the embedded
// backend's Zipkin receiver accepts what real Zipkin clients send and answers queries as Zipkin.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "core/span.h"

namespace tracerig {

enum class ZipkinJsonStyle {
  // What OpenTelemetry SDKs send: 32-hex trace ids, names as given.
  kClient,
  // What Zipkin's query API answers: service and span names lowercased, and 16-hex trace ids when
  // the high half is zero (Zipkin normalises them so).
  kServer,
};

// A JSON array of Zipkin v2 spans, fields in Zipkin's own order (traceId, parentId, id, kind, name,
// timestamp, duration, localEndpoint, remoteEndpoint, annotations, tags), following the
// OpenTelemetry-to-Zipkin mapping:
// - kind is omitted for INTERNAL (and UNSPECIFIED); timestamp is the start in whole µs and
//   duration (end - start) in whole µs, each omitted when zero, as Zipkin's writer does.
// - localEndpoint.serviceName is service_name (no localEndpoint when it is empty);
//   remoteEndpoint.serviceName is the peer.service attribute of CLIENT and PRODUCER spans.
// - tags: the span's attributes as text, then the resource attributes (copied into every span,
//   as SDKs do; a span attribute wins over a resource attribute of the same key), then
//   otel.status_code "OK"/"ERROR" when the status is set and, for ERROR, error = the status
//   message (empty when none). Status tags replace attributes of the same keys.
// - annotations from events: the event name, or `"name":{"key":"value",...}` with attributes.
// Trace state, flags and attribute types have no place in Zipkin and are not written. Neither
// have span links: Zipkin v2's model has no links, so they are dropped, not faked as tags (a
// reader could not tell a made-up tag from a real attribute); a report says Zipkin cannot show
// them (BackendClient::SupportsLinks).
std::string EncodeZipkinJson(const std::vector<Span>& spans,
                             ZipkinJsonStyle style = ZipkinJsonStyle::kClient);

// Decodes a JSON array of Zipkin v2 spans (a single span object is accepted as a one-span array).
// Accepts what real clients send, more leniently than Zipkin itself:
// - traceId of 1..32 hex digits (16-hex ids and shorter are left-padded), id and parentId of
//   1..16, either case; an all-zero parentId means a root span. Ids must not be all zero.
// - timestamp, duration and annotation timestamps as non-negative JSON numbers in µs; fractions
//   are rounded to the nearest µs. Missing timestamp or duration is 0 (end = start).
// - kind CLIENT/SERVER/PRODUCER/CONSUMER in any case; missing kind is INTERNAL.
// - localEndpoint.serviceName is the span's service (empty when absent); a remoteEndpoint's
//   serviceName becomes the peer.service attribute unless a tag already names it.
// - tags become string attributes, in the order received (number and boolean tag values are kept
//   as their JSON text). otel.status_code and error are turned back into the status, as the
//   OpenTelemetry collector's Zipkin receiver does: otel.status_code "OK"/"ERROR" sets the code;
//   an error tag other than "false" means ERROR with the tag as the status message.
// - annotations become events; `"name":{...}` values are split back into name and attributes.
// - shared and debug are accepted and not kept: a shared SERVER span keeps the id it shares with
//   its CLIENT half. Unknown fields are ignored; null fields are treated as absent.
// Errors name the span and field: `spans[2]: traceId must be 1 to 32 hex digits, got "xyz"`.
// Never throws, whatever the input.
Result<std::vector<Span>> DecodeZipkinJson(std::string_view body);

}  // namespace tracerig
