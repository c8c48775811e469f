// Shared by the OTLP codec tests: spans using every feature the encoders write, and a valid
// protobuf span for the decode tests to damage.
#pragma once

#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "core/span.h"
#include "opentelemetry/proto/trace/v1/trace.pb.h"

namespace tracerig::otlp_test_support {

namespace trace_pb = opentelemetry::proto::trace::v1;

inline TraceId Tid(std::string_view hex) { return *TraceId::FromHex(hex); }
inline SpanId Sid(std::string_view hex) { return *SpanId::FromHex(hex); }

// Spans covering every field, attribute type, kind and status, grouped by resource in the order
// the encoders write them (so a round trip gives back the same vector).
inline std::vector<Span> EverySpanFeature() {
  std::vector<Span> spans;
  Span root;
  root.trace_id = Tid("0af7651916cd43dd8448eb211c80319c");
  root.span_id = Sid("b7ad6b7169203331");
  root.trace_state = "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7";
  root.name = "GET /checkout";
  root.kind = SpanKind::kServer;
  root.start_unix_nano = 1'700'000'000'123'456'789ull;
  root.end_unix_nano = 1'700'000'000'223'456'789ull;
  root.attributes = {{"http.method", std::string("GET")},
                     {"retry", true},
                     {"cache.hit", false},
                     {"http.status_code", int64_t{200}},
                     {"big", std::numeric_limits<int64_t>::max()},
                     {"small", std::numeric_limits<int64_t>::min()},
                     {"negative", int64_t{-1}},
                     {"ratio", 0.25},
                     {"empty", std::string()},
                     {"unicode", std::string("caf\xc3\xa9")}};
  root.events = {SpanEvent{1'700'000'000'150'000'000ull,
                           "exception",
                           {{"exception.type", std::string("Timeout")}, {"attempt", int64_t{3}}}},
                 SpanEvent{1'700'000'000'160'000'000ull, "no attributes", {}}};
  root.links = {SpanLink{Tid("4bf92f3577b34da6a3ce929d0e0e4736"),
                         Sid("00f067aa0ba902b7"),
                         "rojo=00f067aa0ba902b7",
                         {{"tracerig.request_id", std::string("r-7")},
                          {"tracerig.hop", std::string("0.1")},
                          {"messaging.batch.index", int64_t{2}},
                          {"sampled", true},
                          {"weight", 0.5}},
                         0x301},
                SpanLink{TraceId{0, 9}, SpanId{0xffffffffffffffffull}, "", {}, 0}};
  root.status_code = StatusCode::kError;
  root.status_message = "upstream timed out";
  root.flags = 0x301;  // sampled, has-is-remote, is-remote: all bits must survive
  root.service_name = "frontend";
  root.resource_attributes = {{"service.version", std::string("1.2.3")}, {"host.cpus", int64_t{8}}};
  spans.push_back(root);

  const SpanKind kinds[] = {SpanKind::kUnspecified, SpanKind::kInternal, SpanKind::kClient,
                            SpanKind::kProducer, SpanKind::kConsumer};
  uint64_t id = 0x1000;
  for (SpanKind kind : kinds) {
    Span child;
    child.trace_id = root.trace_id;
    child.span_id = SpanId{++id};
    child.parent_span_id = root.span_id;
    child.name = std::string("child ") + std::string(SpanKindName(kind));
    child.kind = kind;
    child.start_unix_nano = root.start_unix_nano + id;
    child.end_unix_nano = child.start_unix_nano + 1000;
    child.status_code = StatusCode::kOk;
    child.flags = 0x01;
    // The specification lets a link without a valid context stand when it carries attributes.
    if (kind == SpanKind::kConsumer) {
      child.links = {SpanLink{TraceId{}, SpanId{}, "", {{"reason", std::string("no context")}}, 0}};
    }
    child.service_name = "frontend";
    child.resource_attributes = root.resource_attributes;
    spans.push_back(child);
  }
  Span other;  // another service, no resource attributes, high trace-id bits zero
  other.trace_id = TraceId{0, 42};
  other.span_id = SpanId{0xffffffffffffffffull};
  other.parent_span_id = SpanId{1};
  other.name = "GetCart";
  other.kind = SpanKind::kServer;
  other.start_unix_nano = 1;
  other.end_unix_nano = std::numeric_limits<uint64_t>::max();
  other.status_message = "message without a code";
  other.service_name = "cart";
  spans.push_back(other);
  Span same_name_other_resource = other;  // same service.name, different resource: own group
  same_name_other_resource.span_id = SpanId{7};
  same_name_other_resource.resource_attributes = {{"k8s.pod.name", std::string("cart-1")}};
  spans.push_back(same_name_other_resource);
  return spans;
}

inline trace_pb::Span ValidProtoSpan() {
  trace_pb::Span s;
  s.set_trace_id(std::string(15, '\x01') + "\x02");
  s.set_span_id(std::string(8, '\x03'));
  s.set_name("ok");
  return s;
}

}  // namespace tracerig::otlp_test_support
