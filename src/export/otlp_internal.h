// What the OTLP codec's pieces share: names for the generated protobuf messages and the
// conversion between tracerig spans and those messages (otlp_proto.cc). Private to src/export.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "core/span.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"

namespace tracerig::otlp_internal {

namespace collector_pb = opentelemetry::proto::collector::trace::v1;
namespace common_pb = opentelemetry::proto::common::v1;
namespace trace_pb = opentelemetry::proto::trace::v1;
using KeyValues = google::protobuf::RepeatedPtrField<common_pb::KeyValue>;
using ResourceSpansList = google::protobuf::RepeatedPtrField<trace_pb::ResourceSpans>;

inline constexpr std::string_view kServiceNameKey = "service.name";

template <class... Fs>
struct Overloaded : Fs... {
  using Fs::operator()...;
};
template <class... Fs>
Overloaded(Fs...) -> Overloaded<Fs...>;

// Lowercase hex, two digits a byte.
std::string BytesToHex(std::string_view bytes);

// Spans to messages. Strings that are not valid UTF-8 get U+FFFD in place of the bad bytes.
void AddAttribute(std::string_view key, const AttributeValue& value, KeyValues* out);
void AddAttributes(const std::vector<Attribute>& attributes, KeyValues* out);
void SpanToProto(const Span& span, trace_pb::Span* out);

// Messages to spans, shared by both decoders so id, enum and value rules (and their error
// messages) are the same for protobuf and JSON. Array and kvlist values become JSON text, bytes
// lowercase hex.
AttributeValue AttributeValueFromProto(const common_pb::AnyValue& v);
// Checks and copies link `index` of a span; returns the problem ("links[2].traceId must be empty
// or 16 bytes, got 4") when it is invalid. Empty or all-zero ids are kept as invalid ids: the
// specification lets SDKs record a link without a valid context when it has attributes or state.
std::optional<std::string> LinkFromProto(const trace_pb::Span::Link& in, size_t index,
                                         SpanLink& out);
// Checks every span; `name` starts the place an error names ("resourceSpans[0].scopeSpans[0]...").
Result<std::vector<Span>> SpansFromProto(const ResourceSpansList& list, std::string_view name);

}  // namespace tracerig::otlp_internal
