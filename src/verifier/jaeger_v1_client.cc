#include "verifier/jaeger_v1_client.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <utility>

#include "verifier/client_util.h"

namespace tracerig {
namespace {

using nlohmann::json;

// Error bodies are quoted in messages only this far: enough to recognise, short enough to read.
constexpr size_t kQuotedBodyChars = 200;
constexpr uint64_t kNanosPerMicro = 1000;
// Jaeger's span flags: bit 0 is "sampled", which is W3C's sampled flag.
constexpr uint32_t kJaegerSampledFlag = 1;
constexpr uint32_t kW3cSampledFlag = 1;
constexpr size_t kMaxTracesPerRequest = 10;

Error DecodeError(const std::string& where, std::string_view problem) {
  return MakeError(fmt::format("{}: {}", where, problem));
}

std::string Quote(const json& value) {
  std::string text = value.dump();
  if (text.size() > 40) text = text.substr(0, 40) + "...";
  return text;
}

Result<uint64_t> ReadMicros(const json& value, const std::string& where) {
  if (value.is_number_unsigned()) return value.get<uint64_t>();
  if (value.is_number_integer()) {
    if (value.get<int64_t>() < 0) return DecodeError(where, "must not be negative");
    return static_cast<uint64_t>(value.get<int64_t>());
  }
  if (value.is_string()) {
    const std::string& s = value.get_ref<const std::string&>();
    uint64_t v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec == std::errc() && end == s.data() + s.size() && !s.empty()) return v;
  }
  return DecodeError(where, fmt::format("expected microseconds, got {}", Quote(value)));
}

Result<AttributeValue> ReadTagValue(const json& tag, const std::string& where) {
  auto type_it = tag.find("type");
  auto value_it = tag.find("value");
  if (value_it == tag.end()) return DecodeError(where, "has no \"value\"");
  const json& value = *value_it;
  const std::string type =
      (type_it != tag.end() && type_it->is_string()) ? type_it->get<std::string>() : "string";
  if (type == "string" || type == "binary") {  // binary stays as Jaeger's base64 text
    if (value.is_string()) return AttributeValue{value.get<std::string>()};
  } else if (type == "bool") {
    if (value.is_boolean()) return AttributeValue{value.get<bool>()};
    if (value == "true" || value == "false") return AttributeValue{value == "true"};
  } else if (type == "int64") {
    // Jaeger writes int64 beyond 2^53 as a string so JavaScript does not round it.
    if (value.is_number_unsigned()) {
      if (value.get<uint64_t>() <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        return AttributeValue{static_cast<int64_t>(value.get<uint64_t>())};
      }
    } else if (value.is_number_integer()) {
      return AttributeValue{value.get<int64_t>()};
    } else if (value.is_string()) {
      const std::string& s = value.get_ref<const std::string&>();
      int64_t v = 0;
      auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
      if (ec == std::errc() && end == s.data() + s.size() && !s.empty()) return AttributeValue{v};
    }
  } else if (type == "float64") {
    if (value.is_number()) return AttributeValue{value.get<double>()};
  } else {
    return DecodeError(where, fmt::format("unknown tag type \"{}\"", type));
  }
  return DecodeError(where, fmt::format("{} value expected, got {}", type, Quote(value)));
}

Result<std::vector<Attribute>> ReadTags(const json& tags, const std::string& where) {
  std::vector<Attribute> out;
  if (tags.is_null()) return out;
  if (!tags.is_array()) return DecodeError(where, "must be an array");
  out.reserve(tags.size());
  for (size_t i = 0; i < tags.size(); ++i) {
    const json& tag = tags[i];
    const std::string tag_where = fmt::format("{}[{}]", where, i);
    if (!tag.is_object()) return DecodeError(tag_where, "must be an object");
    auto key = tag.find("key");
    if (key == tag.end() || !key->is_string())
      return DecodeError(tag_where, "has no string \"key\"");
    auto value = ReadTagValue(tag, tag_where);
    if (!value) return value.error();
    out.push_back(Attribute{key->get<std::string>(), std::move(*value)});
  }
  return out;
}

struct Process {
  std::string service_name;
  std::vector<Attribute> resource;
};

Result<Process> ReadProcess(const json& process, const std::string& where) {
  if (!process.is_object()) return DecodeError(where, "must be an object");
  Process out;
  auto name = process.find("serviceName");
  if (name == process.end() || !name->is_string()) {
    return DecodeError(where, "has no string \"serviceName\"");
  }
  out.service_name = name->get<std::string>();
  auto tags = process.find("tags");
  if (tags != process.end()) {
    auto resource = ReadTags(*tags, where + ".tags");
    if (!resource) return resource.error();
    out.resource = std::move(*resource);
  }
  return out;
}

Result<SpanId> ReadSpanId(const json& object, const char* field, const std::string& where) {
  auto it = object.find(field);
  if (it == object.end() || !it->is_string()) {
    return DecodeError(where, fmt::format("has no string \"{}\"", field));
  }
  auto id = SpanId::FromHex(it->get_ref<const std::string&>());
  if (!id) {
    return DecodeError(where + "." + field,
                       fmt::format("expected 1..16 hex digits, got {}", Quote(*it)));
  }
  return *id;
}

Result<TraceId> ReadTraceId(const json& object, const std::string& where) {
  auto it = object.find("traceID");
  if (it == object.end() || !it->is_string())
    return DecodeError(where, "has no string \"traceID\"");
  auto id = TraceId::FromHex(it->get_ref<const std::string&>());
  if (!id) {
    return DecodeError(where + ".traceID",
                       fmt::format("expected 1..32 hex digits, got {}", Quote(*it)));
  }
  return *id;
}

// A span's references: its parent and its links.
struct References {
  SpanId parent;
  std::vector<SpanLink> links;
};

// The parent is the first CHILD_OF into the span's own trace (Jaeger's model.Span.ParentSpanID,
// except that a FOLLOWS_FROM never stands in for a missing CHILD_OF: it is a link, and a batch
// span that links to its messages is a root). Every other reference is a link, in order, as the
// OpenTelemetry Jaeger translator maps them back (FOLLOWS_FROM, a CHILD_OF into another trace, a
// further CHILD_OF); a repeat of the parent's own CHILD_OF is not. v1 references carry only ids:
// a link's state, attributes and flags are lost on this API (API v3 keeps them).
Result<References> ReadReferences(const json& span, TraceId trace_id, const std::string& where) {
  References out;
  auto refs = span.find("references");
  if (refs == span.end() || refs->is_null()) return out;
  if (!refs->is_array()) return DecodeError(where + ".references", "must be an array");
  struct Reference {
    bool child_of;
    TraceId trace;
    SpanId span;
  };
  std::vector<Reference> all;
  all.reserve(refs->size());
  std::optional<size_t> parent;
  for (size_t i = 0; i < refs->size(); ++i) {
    const json& ref = (*refs)[i];
    const std::string ref_where = fmt::format("{}.references[{}]", where, i);
    if (!ref.is_object()) return DecodeError(ref_where, "must be an object");
    auto ref_trace = ReadTraceId(ref, ref_where);
    if (!ref_trace) return ref_trace.error();
    auto ref_span = ReadSpanId(ref, "spanID", ref_where);
    if (!ref_span) return ref_span.error();
    auto type = ref.find("refType");
    if (type == ref.end() || !type->is_string())
      return DecodeError(ref_where, "has no \"refType\"");
    const bool child_of = *type == "CHILD_OF";
    if (child_of && !parent && *ref_trace == trace_id) parent = all.size();
    all.push_back(Reference{child_of, *ref_trace, *ref_span});
  }
  if (parent) out.parent = all[*parent].span;
  for (const Reference& ref : all) {
    if (parent && ref.child_of && ref.trace == trace_id && ref.span == out.parent) continue;
    out.links.push_back(SpanLink{ref.trace, ref.span, "", {}, 0});
  }
  return out;
}

SpanKind KindFromTag(std::string_view value) {
  if (value == "server") return SpanKind::kServer;
  if (value == "client") return SpanKind::kClient;
  if (value == "producer") return SpanKind::kProducer;
  if (value == "consumer") return SpanKind::kConsumer;
  if (value == "internal") return SpanKind::kInternal;
  return SpanKind::kUnspecified;
}

// Moves the tags Jaeger uses to carry OTLP fields into those fields.
void ApplyMappedTags(Span& span) {
  bool error_tag = false;
  bool status_from_otel = false;
  std::vector<Attribute> kept;
  kept.reserve(span.attributes.size());
  for (Attribute& a : span.attributes) {
    const std::string* text = std::get_if<std::string>(&a.value);
    if (a.key == "span.kind" && text != nullptr && KindFromTag(*text) != SpanKind::kUnspecified) {
      span.kind = KindFromTag(*text);
    } else if (a.key == "otel.status_code" && text != nullptr) {
      if (*text == "ERROR") span.status_code = StatusCode::kError;
      if (*text == "OK") span.status_code = StatusCode::kOk;
      status_from_otel = true;
    } else if (a.key == "otel.status_description" && text != nullptr) {
      span.status_message = *text;
    } else if (a.key == "error" && (std::holds_alternative<bool>(a.value) ||
                                    (text != nullptr && (*text == "true" || *text == "false")))) {
      error_tag = std::holds_alternative<bool>(a.value) ? std::get<bool>(a.value) : *text == "true";
    } else if (a.key == "w3c.tracestate" && text != nullptr) {
      span.trace_state = *text;
    } else {
      kept.push_back(std::move(a));
    }
  }
  if (error_tag && !status_from_otel) span.status_code = StatusCode::kError;
  span.attributes = std::move(kept);
}

Result<std::vector<SpanEvent>> ReadLogs(const json& span, const std::string& where) {
  std::vector<SpanEvent> events;
  auto logs = span.find("logs");
  if (logs == span.end() || logs->is_null()) return events;
  if (!logs->is_array()) return DecodeError(where + ".logs", "must be an array");
  for (size_t i = 0; i < logs->size(); ++i) {
    const json& log = (*logs)[i];
    const std::string log_where = fmt::format("{}.logs[{}]", where, i);
    if (!log.is_object()) return DecodeError(log_where, "must be an object");
    SpanEvent event;
    auto ts = log.find("timestamp");
    if (ts == log.end()) return DecodeError(log_where, "has no \"timestamp\"");
    auto micros = ReadMicros(*ts, log_where + ".timestamp");
    if (!micros) return micros.error();
    event.time_unix_nano = *micros * kNanosPerMicro;
    auto fields = log.find("fields");
    if (fields != log.end()) {
      auto attributes = ReadTags(*fields, log_where + ".fields");
      if (!attributes) return attributes.error();
      for (Attribute& a : *attributes) {
        if (event.name.empty() && a.key == "event" &&
            std::holds_alternative<std::string>(a.value)) {
          event.name = std::get<std::string>(a.value);
        } else {
          event.attributes.push_back(std::move(a));
        }
      }
    }
    events.push_back(std::move(event));
  }
  return events;
}

Result<Span> ReadSpan(const json& j, const std::map<std::string, Process>& processes,
                      const std::string& where) {
  if (!j.is_object()) return DecodeError(where, "must be an object");
  Span span;
  auto trace_id = ReadTraceId(j, where);
  if (!trace_id) return trace_id.error();
  span.trace_id = *trace_id;
  auto span_id = ReadSpanId(j, "spanID", where);
  if (!span_id) return span_id.error();
  span.span_id = *span_id;
  auto references = ReadReferences(j, span.trace_id, where);
  if (!references) return references.error();
  span.parent_span_id = references->parent;
  span.links = std::move(references->links);

  auto name = j.find("operationName");
  if (name == j.end() || !name->is_string()) {
    return DecodeError(where, "has no string \"operationName\"");
  }
  span.name = name->get<std::string>();

  auto start = j.find("startTime");
  if (start == j.end()) return DecodeError(where, "has no \"startTime\"");
  auto start_us = ReadMicros(*start, where + ".startTime");
  if (!start_us) return start_us.error();
  uint64_t duration_us = 0;
  if (auto duration = j.find("duration"); duration != j.end()) {
    auto d = ReadMicros(*duration, where + ".duration");
    if (!d) return d.error();
    duration_us = *d;
  }
  span.start_unix_nano = *start_us * kNanosPerMicro;
  span.end_unix_nano = (*start_us + duration_us) * kNanosPerMicro;

  if (auto flags = j.find("flags"); flags != j.end() && flags->is_number_integer()) {
    if ((flags->get<uint64_t>() & kJaegerSampledFlag) != 0) span.flags = kW3cSampledFlag;
  }

  if (auto tags = j.find("tags"); tags != j.end()) {
    auto attributes = ReadTags(*tags, where + ".tags");
    if (!attributes) return attributes.error();
    span.attributes = std::move(*attributes);
  }
  ApplyMappedTags(span);

  auto events = ReadLogs(j, where);
  if (!events) return events.error();
  span.events = std::move(*events);

  // The v1 API moves processes into the trace's "processes" map; some producers inline them.
  if (auto inline_process = j.find("process");
      inline_process != j.end() && inline_process->is_object()) {
    auto process = ReadProcess(*inline_process, where + ".process");
    if (!process) return process.error();
    span.service_name = std::move(process->service_name);
    span.resource_attributes = std::move(process->resource);
  } else {
    auto pid = j.find("processID");
    if (pid == j.end() || !pid->is_string())
      return DecodeError(where, "has no string \"processID\"");
    auto it = processes.find(pid->get<std::string>());
    if (it == processes.end()) {
      return DecodeError(where + ".processID",
                         fmt::format("names unknown process {}", Quote(*pid)));
    }
    span.service_name = it->second.service_name;
    span.resource_attributes = it->second.resource;
  }
  return span;
}

Status ReadTrace(const json& trace, const std::string& where, std::vector<Span>& out) {
  if (!trace.is_object()) return DecodeError(where, "must be an object");
  std::map<std::string, Process> processes;
  if (auto p = trace.find("processes"); p != trace.end() && !p->is_null()) {
    if (!p->is_object()) return DecodeError(where + ".processes", "must be an object");
    for (const auto& [id, process_json] : p->items()) {
      auto process = ReadProcess(process_json, fmt::format("{}.processes.{}", where, id));
      if (!process) return process.error();
      processes.emplace(id, std::move(*process));
    }
  }
  auto spans = trace.find("spans");
  if (spans == trace.end() || !spans->is_array()) {
    return DecodeError(where, "has no \"spans\" array");
  }
  for (size_t i = 0; i < spans->size(); ++i) {
    auto span = ReadSpan((*spans)[i], processes, fmt::format("{}.spans[{}]", where, i));
    if (!span) return span.error();
    out.push_back(std::move(*span));
  }
  return Ok{};
}

// Jaeger's batch answer lists each requested id it does not have as {"msg":"trace not found",
// "traceID":...} in "errors" (api_handler.go, tracesByIDs); any other error is a failure.
bool IsTraceNotFound(const json& error) {
  if (!error.is_object()) return false;
  auto msg = error.find("msg");
  return msg != error.end() && msg->is_string() && *msg == "trace not found";
}

// `batch`: the answer to GET /api/traces?traceID=..., whose "trace not found" errors are absences.
Result<std::vector<Span>> DecodeEnvelope(const json& doc, bool batch) {
  if (!doc.is_object()) return MakeError("expected an object with \"data\"");
  auto data = doc.find("data");
  if (data == doc.end()) return MakeError("expected an object with \"data\"");
  std::vector<Span> spans;
  if (data->is_null() || (data->is_array() && data->empty())) {
    // An empty answer that carries errors is the backend failing, not "nothing found".
    auto errors = doc.find("errors");
    if (errors != doc.end() && errors->is_array() && !errors->empty() &&
        !(batch && std::all_of(errors->begin(), errors->end(), IsTraceNotFound))) {
      return MakeError(fmt::format("no data, errors: {}", Quote(*errors)));
    }
    return spans;
  }
  if (!data->is_array()) return DecodeError("data", "must be an array or null");
  for (size_t i = 0; i < data->size(); ++i) {
    Status status = ReadTrace((*data)[i], fmt::format("data[{}]", i), spans);
    if (!status) return status.error();
  }
  return spans;
}

std::string QuoteBody(std::string_view body) {
  return std::string(body.substr(0, std::min(body.size(), kQuotedBodyChars)));
}

class JaegerV1Client final : public BackendClient {
 public:
  JaegerV1Client(std::unique_ptr<HttpFetcher> fetcher, std::string base_description)
      : fetcher_(std::move(fetcher)), base_(std::move(base_description)) {}

  std::string Describe() const override { return "jaeger v1 at " + base_; }

  Result<std::optional<std::vector<Span>>> GetTrace(TraceId id) override {
    // No ?raw=true: the adjusters only dedupe ids and fix clock skew, neither changes which
    // (hop, kind, service) spans exist, and not every server honours the parameter.
    const std::string target = "/api/traces/" + id.ToHex();
    auto response = Fetch(target);
    if (!response) return response.error();
    if (response->status == 404) return std::optional<std::vector<Span>>{};
    if (response->status != 200) return HttpError(*response);
    auto spans = DecodeJaegerTraces(response->body);
    if (!spans) {
      return MakeError(ErrorCode::kUnavailable,
                       fmt::format("jaeger returned malformed JSON for trace {}: {}", id.ToHex(),
                                   spans.error().message));
    }
    if (spans->empty()) return std::optional<std::vector<Span>>{};
    return std::optional<std::vector<Span>>{std::move(*spans)};
  }

  // Jaeger's search takes repeated traceID parameters and answers with exactly those traces
  // (api_handler.go: search -> tracesByIDs); ~41 bytes per id keeps the request line far below
  // the 8 KiB servers (Go's and Beast's defaults) accept. Only 10: against the embedded backend,
  // 100-trace JSON answers made verifier_bench 2.3x slower with 8 workers than one trace per
  // request, 10 is on par (and Jaeger looks the ids up one by one anyway).
  size_t MaxTracesPerRequest() const override { return kMaxTracesPerRequest; }

  Result<std::vector<TraceFetch>> GetTraces(std::span<const TraceId> ids) override {
    std::string target = "/api/traces";
    for (size_t i = 0; i < ids.size(); ++i) {
      target += i == 0 ? "?traceID=" : "&traceID=";
      target += ids[i].ToHex();
    }
    auto response = Fetch(target);
    if (!response) return response.error();
    // A batch has no "not found" status: Jaeger answers 200 and lists absent ids in "errors".
    if (response->status != 200) return HttpError(*response);
    auto spans = DecodeJaegerTraceBatch(response->body);
    if (!spans) {
      return MakeError(
          ErrorCode::kUnavailable,
          fmt::format("jaeger returned malformed JSON for {} traces from {}: {}", ids.size(),
                      ids.empty() ? "" : ids[0].ToHex(), spans.error().message));
    }
    return GroupSpansByTrace(ids, std::move(*spans), Describe());
  }

  Result<std::vector<Span>> FindSpans(std::string_view service, std::string_view key,
                                      std::string_view value, uint64_t start_unix_micros,
                                      uint64_t end_unix_micros) override {
    json tags = json::object();
    tags[std::string(key)] = std::string(value);
    const std::string target = fmt::format(
        "/api/traces?service={}&tags={}&start={}&end={}&limit=100", PercentEncode(service),
        PercentEncode(tags.dump()), start_unix_micros, end_unix_micros);
    auto response = Fetch(target);
    if (!response) return response.error();
    if (response->status != 200) return HttpError(*response);
    auto spans = DecodeJaegerTraces(response->body);
    if (!spans) {
      return MakeError(ErrorCode::kUnavailable,
                       fmt::format("jaeger returned malformed JSON for a search of service {}: {}",
                                   service, spans.error().message));
    }
    // The search returns whole traces; keep only the spans that carry the attribute.
    std::vector<Span> matching;
    for (Span& span : *spans) {
      const AttributeValue* v = span.FindAttribute(key);
      if (v != nullptr && AttributeValueToString(*v) == value) matching.push_back(std::move(span));
    }
    return matching;
  }

  Result<std::optional<std::vector<DependencyLink>>> GetDependencies(
      uint64_t start_unix_micros, uint64_t end_unix_micros) override {
    const DependencyWindowMs window = DependencyWindow(start_unix_micros, end_unix_micros);
    const std::string target =
        fmt::format("/api/dependencies?endTs={}&lookback={}", window.end_ts, window.lookback);
    auto response = Fetch(target);
    if (!response) return response.error();
    // A window query has no "not found": any 404 is a query API without the endpoint (the
    // embedded backend answers Jaeger's JSON error envelope); not an error, there is no list.
    if (response->status == 404) {
      return std::optional<std::vector<DependencyLink>>{};
    }
    if (response->status != 200) return HttpError(*response);
    auto links = DecodeJaegerDependencies(response->body);
    if (!links) {
      return MakeError(ErrorCode::kUnavailable,
                       fmt::format("{}: GET {}: malformed answer: {}", Describe(), target,
                                   links.error().message));
    }
    return std::optional<std::vector<DependencyLink>>{std::move(*links)};
  }

 private:
  Result<FetchResponse> Fetch(const std::string& target) {
    auto response = fetcher_->Get(target);
    if (!response) {
      return MakeError(ErrorCode::kUnavailable,
                       fmt::format("{}: GET {}: {}", Describe(), target, response.error().message));
    }
    return response;
  }

  static Error HttpError(const FetchResponse& response) {
    return MakeError(
        ErrorCode::kUnavailable,
        fmt::format("jaeger answered HTTP {}: {}", response.status, QuoteBody(response.body)));
  }

  std::unique_ptr<HttpFetcher> fetcher_;
  std::string base_;
};

Result<std::vector<Span>> DecodeJaegerBody(std::string_view text, bool batch) {
  json doc;
  try {
    doc = json::parse(text.begin(), text.end());
  } catch (const json::parse_error& e) {
    std::string message = e.what();
    // Drop nlohmann's "[json.exception.parse_error.101] " prefix; the position stays.
    if (auto pos = message.find("] "); pos != std::string::npos) message = message.substr(pos + 2);
    return MakeError(message);
  }
  try {
    return DecodeEnvelope(doc, batch);
  } catch (const json::exception& e) {
    // The readers check types before every access; this is a backstop, never a crash.
    return MakeError(e.what());
  }
}

}  // namespace

Result<std::vector<Span>> DecodeJaegerTraces(std::string_view text) {
  return DecodeJaegerBody(text, /*batch=*/false);
}

Result<std::vector<Span>> DecodeJaegerTraceBatch(std::string_view text) {
  return DecodeJaegerBody(text, /*batch=*/true);
}

Result<std::vector<DependencyLink>> DecodeJaegerDependencies(std::string_view text) {
  auto doc = ParseJsonBody(text);
  if (!doc) return doc.error();
  if (!doc->is_object()) return MakeError("expected an object with \"data\"");
  auto data = doc->find("data");
  if (data == doc->end()) return MakeError("expected an object with \"data\"");
  if (data->is_null()) return std::vector<DependencyLink>{};
  if (!data->is_array()) return MakeError("\"data\" must be an array of dependency links");
  auto links = DecodeDependencyArray(*data);
  if (!links) return MakeError("data" + links.error().message);
  return links;
}

std::string PercentEncode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size() * 3);
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if ((u >= 'A' && u <= 'Z') || (u >= 'a' && u <= 'z') || (u >= '0' && u <= '9') || u == '-' ||
        u == '.' || u == '_' || u == '~') {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 0xf]);
    }
  }
  return out;
}

std::unique_ptr<BackendClient> MakeJaegerV1Client(std::unique_ptr<HttpFetcher> fetcher,
                                                  std::string base_description) {
  return std::make_unique<JaegerV1Client>(std::move(fetcher), std::move(base_description));
}

}  // namespace tracerig
