// ExportTraceServiceRequest protobuf straight into spans: ingest's hot path. One pass over the
// wire format writes spans directly, instead of building a message per span, attribute and value
// and copying every string out of it. It accepts and rejects exactly what the generated parser
// does (checked against it in otlp_codec_test): unknown fields and known fields with an
// unexpected wire type are skipped, the last value of a scalar wins, repeated occurrences of a
// sub-message merge, string fields must be UTF-8 (the same check libprotobuf runs), nesting stops
// at libprotobuf's default depth of 100. The parts tracerig does not keep or rarely sees (array
// and kvlist values, scopes, links) go through the generated messages themselves.
#include "export/otlp_codec.h"

#include <fmt/format.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/stubs/common.h>
#include <google/protobuf/stubs/logging.h>

#include <climits>
#include <cstdint>
#include <cstring>
#include <optional>
#include <utility>

#include "export/otlp_internal.h"

namespace tracerig {
using namespace otlp_internal;  // export/otlp_internal.h
namespace {

constexpr int kProtobufRecursionLimit = 100;  // libprotobuf's default

enum WireType : uint32_t {
  kWireVarint = 0,
  kWireFixed64 = 1,
  kWireLengthDelimited = 2,
  kWireStartGroup = 3,
  kWireEndGroup = 4,
  kWireFixed32 = 5,
};

// A cursor over one message's bytes. Every read checks bounds; false means malformed input.
class WireReader {
 public:
  explicit WireReader(std::string_view data) : p_(data.data()), end_(data.data() + data.size()) {}

  bool done() const { return p_ == end_; }

  bool ReadVarint(uint64_t* out) {
    uint64_t v = 0;
    for (int shift = 0; shift < 70 && p_ != end_; shift += 7) {
      const auto byte = static_cast<uint8_t>(*p_++);
      v |= static_cast<uint64_t>(byte & 0x7f) << shift;
      if (byte < 0x80) {
        *out = v;
        return true;
      }
    }
    return false;  // truncated, or longer than 10 bytes
  }

  // A field's number and wire type, read as libprotobuf reads tags: at most 5 bytes, bits past
  // 32 dropped. Field number 0 is malformed, and so is an end-group tag outside a group (Skip).
  bool ReadTag(uint32_t* field, WireType* type) {
    uint32_t tag = 0;
    for (int i = 0; i < 5; ++i) {
      if (p_ == end_) return false;
      const auto byte = static_cast<uint8_t>(*p_++);
      tag |= static_cast<uint32_t>(byte & 0x7f) << (7 * i);
      if (byte < 0x80) {
        *field = tag >> 3;
        *type = static_cast<WireType>(tag & 7);
        return *field != 0;
      }
    }
    return false;
  }

  // fixed64 / fixed32: little-endian, whatever the host's byte order.
  template <typename Unsigned>
  bool ReadFixed(Unsigned* out) {
    constexpr int kSize = sizeof(Unsigned);
    if (end_ - p_ < kSize) return false;
    Unsigned v = 0;
    for (int i = kSize - 1; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(p_[i]);
    p_ += kSize;
    *out = v;
    return true;
  }
  bool ReadFixed64(uint64_t* out) { return ReadFixed(out); }
  bool ReadFixed32(uint32_t* out) { return ReadFixed(out); }

  // A length prefix as libprotobuf reads it (at most 5 bytes, under 2 GiB), then that many bytes.
  bool ReadLengthDelimited(std::string_view* out) {
    uint64_t size = 0;
    for (int i = 0;; ++i) {
      if (i == 5 || p_ == end_) return false;
      const auto byte = static_cast<uint8_t>(*p_++);
      if (i == 4 && byte >= 8) return false;
      size |= static_cast<uint64_t>(byte & 0x7f) << (7 * i);
      if (byte < 0x80) break;
    }
    if (size > static_cast<uint64_t>(end_ - p_)) return false;
    *out = std::string_view(p_, size);
    p_ += size;
    return true;
  }

  // Skips a field we do not keep (its tag already read). Groups count against the depth limit.
  bool Skip(uint32_t field, WireType type, int depth) {
    uint64_t ignored64 = 0;
    uint32_t ignored32 = 0;
    std::string_view ignored;
    switch (type) {
      case kWireVarint:
        return ReadVarint(&ignored64);
      case kWireFixed64:
        return ReadFixed64(&ignored64);
      case kWireLengthDelimited:
        return ReadLengthDelimited(&ignored);
      case kWireFixed32:
        return ReadFixed32(&ignored32);
      case kWireStartGroup: {
        if (depth + 1 > kProtobufRecursionLimit) return false;
        uint32_t inner_field = 0;
        WireType inner_type = kWireVarint;
        while (ReadTag(&inner_field, &inner_type)) {
          if (inner_type == kWireEndGroup) return inner_field == field;
          if (!Skip(inner_field, inner_type, depth + 1)) return false;
        }
        return false;
      }
      case kWireEndGroup:
        break;
    }
    return false;  // end-group outside a group, or wire types 6 and 7
  }

 private:
  const char* p_;
  const char* end_;
};

bool ReadUtf8(WireReader& in, std::string_view* out) {
  return in.ReadLengthDelimited(out) && google::protobuf::internal::IsStructurallyValidUTF8(
                                            out->data(), static_cast<int>(out->size()));
}

// How many length-delimited fields numbered `a` and `b` a message holds at its top level, to size
// vectors once (growing attribute vectors one push at a time was a fifth of ingest's time). Stops
// quietly at malformed input: the real read reports it.
std::pair<size_t, size_t> CountFields(std::string_view bytes, uint32_t a, uint32_t b) {
  WireReader in(bytes);
  std::pair<size_t, size_t> counts;
  uint32_t field = 0;
  WireType type = kWireVarint;
  while (!in.done() && in.ReadTag(&field, &type)) {
    if (type == kWireLengthDelimited) {
      if (field == a) ++counts.first;
      if (field == b) ++counts.second;
    }
    if (!in.Skip(field, type, 0)) break;
  }
  return counts;
}

// Parses `bytes` as `message` with the depth already used by the messages around it, so deep
// nesting fails exactly where it fails for one whole-request parse.
template <class Message>
bool ParseNested(std::string_view bytes, int depth, Message* message) {
  google::protobuf::io::CodedInputStream in(reinterpret_cast<const uint8_t*>(bytes.data()),
                                            static_cast<int>(bytes.size()));
  in.SetRecursionLimit(kProtobufRecursionLimit - depth);
  return message->MergeFromCodedStream(&in) && in.ConsumedEntireMessage();
}

// AnyValue at nesting `depth`. Scalars are read in place; array and kvlist values are parsed
// into the generated message and converted as the message-based decoder converts them.
bool ReadAnyValue(std::string_view bytes, int depth, AttributeValue* out) {
  if (depth > kProtobufRecursionLimit) return false;
  {
    WireReader in(bytes);
    AttributeValue value = std::string();
    bool complex = false;
    uint32_t field = 0;
    WireType type = kWireVarint;
    while (!in.done()) {
      if (!in.ReadTag(&field, &type)) return false;
      uint64_t n = 0;
      std::string_view piece;
      if (field == 1 && type == kWireLengthDelimited) {
        if (!ReadUtf8(in, &piece)) return false;
        value = std::string(piece);
      } else if (field == 2 && type == kWireVarint) {
        if (!in.ReadVarint(&n)) return false;
        value = n != 0;
      } else if (field == 3 && type == kWireVarint) {
        if (!in.ReadVarint(&n)) return false;
        value = static_cast<int64_t>(n);
      } else if (field == 4 && type == kWireFixed64) {
        if (!in.ReadFixed64(&n)) return false;
        double d = 0;
        std::memcpy(&d, &n, sizeof d);
        value = d;
      } else if (field == 7 && type == kWireLengthDelimited) {
        if (!in.ReadLengthDelimited(&piece)) return false;
        value = BytesToHex(piece);
      } else if ((field == 5 || field == 6) && type == kWireLengthDelimited) {
        complex = true;
        if (!in.ReadLengthDelimited(&piece)) return false;
      } else if (!in.Skip(field, type, depth)) {
        return false;
      }
    }
    if (!complex) {
      *out = std::move(value);
      return true;
    }
  }
  common_pb::AnyValue message;
  google::protobuf::LogSilencer quiet;
  if (!ParseNested(bytes, depth, &message)) return false;
  *out = AttributeValueFromProto(message);
  return true;
}

// KeyValue at nesting `depth`, appended to `out`.
bool ReadKeyValue(std::string_view bytes, int depth, std::vector<Attribute>* out) {
  if (depth > kProtobufRecursionLimit) return false;
  WireReader in(bytes);
  std::string_view key;
  std::string_view value;
  // A value sent in several pieces is one message merged from them, which is what parsing the
  // pieces' concatenation gives. Rare: only then is anything copied.
  std::string merged;
  bool have_value = false;
  uint32_t field = 0;
  WireType type = kWireVarint;
  while (!in.done()) {
    if (!in.ReadTag(&field, &type)) return false;
    if (field == 1 && type == kWireLengthDelimited) {
      if (!ReadUtf8(in, &key)) return false;
    } else if (field == 2 && type == kWireLengthDelimited) {
      std::string_view piece;
      if (!in.ReadLengthDelimited(&piece)) return false;
      if (have_value) {
        if (merged.empty()) merged.assign(value);
        merged.append(piece);
        value = merged;
      } else {
        value = piece;
      }
      have_value = true;
    } else if (!in.Skip(field, type, depth)) {
      return false;
    }
  }
  Attribute& attribute = out->emplace_back(Attribute{std::string(key), std::string()});
  return !have_value || ReadAnyValue(value, depth + 1, &attribute.value);
}

// What a Span carries on the wire before the checks SpanFromProto makes.
struct WireSpan {
  std::string_view trace_id;
  std::string_view span_id;
  std::string_view parent_span_id;
  int32_t kind = 0;
  int32_t status_code = 0;
  std::optional<std::string> link_problem;  // the first invalid link's
};

bool ReadStatus(std::string_view bytes, int depth, WireSpan* wire, Span* out) {
  if (depth > kProtobufRecursionLimit) return false;
  WireReader in(bytes);
  uint32_t field = 0;
  WireType type = kWireVarint;
  while (!in.done()) {
    if (!in.ReadTag(&field, &type)) return false;
    if (field == 2 && type == kWireLengthDelimited) {
      std::string_view message;
      if (!ReadUtf8(in, &message)) return false;
      out->status_message = std::string(message);
    } else if (field == 3 && type == kWireVarint) {
      uint64_t code = 0;
      if (!in.ReadVarint(&code)) return false;
      wire->status_code = static_cast<int32_t>(code);
    } else if (!in.Skip(field, type, depth)) {
      return false;
    }
  }
  return true;
}

bool ReadEvent(std::string_view bytes, int depth, Span* out) {
  if (depth > kProtobufRecursionLimit) return false;
  WireReader in(bytes);
  SpanEvent& event = out->events.emplace_back();
  event.attributes.reserve(CountFields(bytes, 3, 3).first);
  uint32_t field = 0;
  WireType type = kWireVarint;
  while (!in.done()) {
    if (!in.ReadTag(&field, &type)) return false;
    std::string_view piece;
    if (field == 1 && type == kWireFixed64) {
      if (!in.ReadFixed64(&event.time_unix_nano)) return false;
    } else if (field == 2 && type == kWireLengthDelimited) {
      if (!ReadUtf8(in, &piece)) return false;
      event.name = std::string(piece);
    } else if (field == 3 && type == kWireLengthDelimited) {
      if (!in.ReadLengthDelimited(&piece) || !ReadKeyValue(piece, depth + 1, &event.attributes)) {
        return false;
      }
    } else if (!in.Skip(field, type, depth)) {
      return false;
    }
  }
  return true;
}

// Reads one Span; `problem` gets SpanFromProto's complaint about its content, if any.
bool ReadSpan(std::string_view bytes, int depth, Span* out, std::optional<std::string>* problem) {
  if (depth > kProtobufRecursionLimit) return false;
  const auto [attributes, events] = CountFields(bytes, 9, 11);
  out->attributes.reserve(attributes);
  out->events.reserve(events);
  WireReader in(bytes);
  WireSpan wire;
  uint32_t field = 0;
  WireType type = kWireVarint;
  while (!in.done()) {
    if (!in.ReadTag(&field, &type)) return false;
    std::string_view piece;
    uint64_t n = 0;
    uint32_t n32 = 0;
    bool ok = true;
    if (field == 1 && type == kWireLengthDelimited) {
      ok = in.ReadLengthDelimited(&wire.trace_id);
    } else if (field == 2 && type == kWireLengthDelimited) {
      ok = in.ReadLengthDelimited(&wire.span_id);
    } else if (field == 3 && type == kWireLengthDelimited) {
      ok = ReadUtf8(in, &piece);
      out->trace_state = std::string(piece);
    } else if (field == 4 && type == kWireLengthDelimited) {
      ok = in.ReadLengthDelimited(&wire.parent_span_id);
    } else if (field == 5 && type == kWireLengthDelimited) {
      ok = ReadUtf8(in, &piece);
      out->name = std::string(piece);
    } else if (field == 6 && type == kWireVarint) {
      ok = in.ReadVarint(&n);
      wire.kind = static_cast<int32_t>(n);
    } else if (field == 7 && type == kWireFixed64) {
      ok = in.ReadFixed64(&out->start_unix_nano);
    } else if (field == 8 && type == kWireFixed64) {
      ok = in.ReadFixed64(&out->end_unix_nano);
    } else if (field == 9 && type == kWireLengthDelimited) {
      ok = in.ReadLengthDelimited(&piece) && ReadKeyValue(piece, depth + 1, &out->attributes);
    } else if (field == 11 && type == kWireLengthDelimited) {
      ok = in.ReadLengthDelimited(&piece) && ReadEvent(piece, depth + 1, out);
    } else if (field == 13 && type == kWireLengthDelimited) {
      // Links are rare (batch consumers): read through the generated message, checked as
      // SpanFromProto checks them; the first bad one is reported after the span's own checks.
      trace_pb::Span::Link link;
      google::protobuf::LogSilencer quiet;
      ok = in.ReadLengthDelimited(&piece) && ParseNested(piece, depth + 1, &link);
      if (ok) {
        const size_t index = out->links.size();
        auto link_problem = LinkFromProto(link, index, out->links.emplace_back());
        if (link_problem && !wire.link_problem) wire.link_problem = std::move(link_problem);
      }
    } else if (field == 15 && type == kWireLengthDelimited) {
      ok = in.ReadLengthDelimited(&piece) && ReadStatus(piece, depth + 1, &wire, out);
    } else if (field == 16 && type == kWireFixed32) {
      ok = in.ReadFixed32(&n32);
      out->flags = n32;
    } else {
      ok = in.Skip(field, type, depth);
    }
    if (!ok) return false;
  }
  if (problem->has_value()) return true;  // only the first problem is reported
  // The same checks, in the same order and words, as SpanFromProto.
  const auto bytes_of = [](std::string_view s) {
    return reinterpret_cast<const uint8_t*>(s.data());
  };
  if (wire.trace_id.size() != 16) {
    *problem = fmt::format("traceId must be 16 bytes, got {}", wire.trace_id.size());
    return true;
  }
  out->trace_id = TraceId::FromBytes(bytes_of(wire.trace_id));
  if (!out->trace_id.IsValid()) {
    *problem = "traceId must not be all zeros";
    return true;
  }
  if (wire.span_id.size() != 8) {
    *problem = fmt::format("spanId must be 8 bytes, got {}", wire.span_id.size());
    return true;
  }
  out->span_id = SpanId::FromBytes(bytes_of(wire.span_id));
  if (!out->span_id.IsValid()) {
    *problem = "spanId must not be all zeros";
    return true;
  }
  if (!wire.parent_span_id.empty()) {
    if (wire.parent_span_id.size() != 8) {
      *problem =
          fmt::format("parentSpanId must be empty or 8 bytes, got {}", wire.parent_span_id.size());
      return true;
    }
    out->parent_span_id = SpanId::FromBytes(bytes_of(wire.parent_span_id));
  }
  if (wire.kind < 0 || wire.kind > static_cast<int>(SpanKind::kConsumer)) {
    *problem = fmt::format("kind {} is not a valid SpanKind (0-5)", wire.kind);
    return true;
  }
  if (wire.status_code < 0 || wire.status_code > static_cast<int>(StatusCode::kError)) {
    *problem = fmt::format("status.code {} is not a valid StatusCode (0-2)", wire.status_code);
    return true;
  }
  out->kind = static_cast<SpanKind>(wire.kind);
  out->status_code = static_cast<StatusCode>(wire.status_code);
  if (wire.link_problem) *problem = std::move(wire.link_problem);
  return true;
}

// Where decoding stands: the spans so far and the first problem with a span's content, named by
// its place ("resourceSpans[1].scopeSpans[0].spans[3]: ..."). A problem is reported only if the
// whole body is well-formed, as the message-based decoder parses everything before it checks.
struct WireDecode {
  std::vector<Span> spans;
  std::optional<std::string> problem;
};

bool ReadScopeSpans(std::string_view bytes, int depth, size_t r, size_t s, WireDecode* decode) {
  if (depth > kProtobufRecursionLimit) return false;
  WireReader in(bytes);
  size_t i = 0;
  uint32_t field = 0;
  WireType type = kWireVarint;
  while (!in.done()) {
    if (!in.ReadTag(&field, &type)) return false;
    std::string_view piece;
    if (field == 2 && type == kWireLengthDelimited) {
      std::optional<std::string> problem;
      if (!in.ReadLengthDelimited(&piece) ||
          !ReadSpan(piece, depth + 1, &decode->spans.emplace_back(),
                    decode->problem ? &decode->problem : &problem)) {
        return false;
      }
      if (problem) {
        decode->problem =
            fmt::format("resourceSpans[{}].scopeSpans[{}].spans[{}]: {}", r, s, i, *problem);
      }
      ++i;
    } else if (field == 1 && type == kWireLengthDelimited) {
      common_pb::InstrumentationScope scope;  // not kept; must still be well-formed
      google::protobuf::LogSilencer quiet;
      if (!in.ReadLengthDelimited(&piece) || !ParseNested(piece, depth + 1, &scope)) return false;
    } else if (field == 3 && type == kWireLengthDelimited) {
      if (!ReadUtf8(in, &piece)) return false;
    } else if (!in.Skip(field, type, depth)) {
      return false;
    }
  }
  return true;
}

bool ReadResource(std::string_view bytes, int depth, std::vector<Attribute>* attributes) {
  if (depth > kProtobufRecursionLimit) return false;
  WireReader in(bytes);
  uint32_t field = 0;
  WireType type = kWireVarint;
  while (!in.done()) {
    if (!in.ReadTag(&field, &type)) return false;
    std::string_view piece;
    if (field == 1 && type == kWireLengthDelimited) {
      if (!in.ReadLengthDelimited(&piece) || !ReadKeyValue(piece, depth + 1, attributes)) {
        return false;
      }
    } else if (!in.Skip(field, type, depth)) {
      return false;
    }
  }
  return true;
}

bool ReadResourceSpans(std::string_view bytes, int depth, size_t r, WireDecode* decode) {
  if (depth > kProtobufRecursionLimit) return false;
  WireReader in(bytes);
  const size_t first_span = decode->spans.size();
  std::vector<Attribute> resource;  // every occurrence of `resource` merges into one
  size_t s = 0;
  uint32_t field = 0;
  WireType type = kWireVarint;
  while (!in.done()) {
    if (!in.ReadTag(&field, &type)) return false;
    std::string_view piece;
    if (field == 2 && type == kWireLengthDelimited) {
      if (!in.ReadLengthDelimited(&piece) || !ReadScopeSpans(piece, depth + 1, r, s++, decode)) {
        return false;
      }
    } else if (field == 1 && type == kWireLengthDelimited) {
      if (!in.ReadLengthDelimited(&piece) || !ReadResource(piece, depth + 1, &resource)) {
        return false;
      }
    } else if (field == 3 && type == kWireLengthDelimited) {
      if (!ReadUtf8(in, &piece)) return false;
    } else if (!in.Skip(field, type, depth)) {
      return false;
    }
  }
  // As SpansFromProto: the first service.name names the service, everything else stays.
  std::string service_name(kUnknownServiceName);
  std::vector<Attribute> resource_attributes;
  bool have_service = false;
  for (Attribute& a : resource) {
    if (!have_service && a.key == kServiceNameKey) {
      service_name = AttributeValueToString(a.value);
      have_service = true;
    } else {
      resource_attributes.push_back(std::move(a));
    }
  }
  for (size_t k = first_span; k < decode->spans.size(); ++k) {
    decode->spans[k].service_name = service_name;
    decode->spans[k].resource_attributes = resource_attributes;
  }
  return true;
}

}  // namespace

Result<std::vector<Span>> DecodeOtlpProtobuf(std::string_view body) {
  if (body.size() > static_cast<size_t>(INT_MAX)) {
    return MakeError(fmt::format("OTLP protobuf body too large ({} bytes)", body.size()));
  }
  WireDecode decode;
  // A 512-span batch of typical spans is ~300 bytes a span; reserving avoids most regrowth.
  decode.spans.reserve(body.size() / 256 + 1);
  WireReader in(body);
  bool parsed = true;
  size_t r = 0;
  while (parsed && !in.done()) {
    uint32_t field = 0;
    WireType type = kWireVarint;
    std::string_view piece;
    if (!in.ReadTag(&field, &type)) {
      parsed = false;
    } else if (field == 1 && type == kWireLengthDelimited) {
      parsed = in.ReadLengthDelimited(&piece) && ReadResourceSpans(piece, 1, r++, &decode);
    } else {
      parsed = in.Skip(field, type, 0);
    }
  }
  if (!parsed) {
    return MakeError(fmt::format(
        "body is not a valid ExportTraceServiceRequest protobuf ({} bytes): truncated, malformed, "
        "or a string field is not UTF-8",
        body.size()));
  }
  if (decode.problem) return MakeError(std::move(*decode.problem));
  return std::move(decode.spans);
}

}  // namespace tracerig
