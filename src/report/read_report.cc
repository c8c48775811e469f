#include "report/read_report.h"

#include <ctime>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <iomanip>
#include <optional>
#include <sstream>
#include <utility>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/ids.h"
#include "report/render.h"
#include "report/run_identity.h"

namespace tracerig {
namespace {

using Json = nlohmann::json;

// Thrown inside this file only, turned into an Error at ReadReport's boundary: a report has a
// hundred fields and a check per field reads better as one line than as a Result chain.
struct ReadError {
  std::string message;
};

[[noreturn]] void Fail(const std::string& where, const std::string& problem) {
  throw ReadError{where + ": " + problem};
}

std::string Found(const Json& j) {
  std::string text = j.dump();
  if (text.size() > 40) text = text.substr(0, 37) + "...";
  return text;
}

std::string Join(const std::string& where, std::string_view key) {
  return where.empty() ? std::string(key) : where + "." + std::string(key);
}

const Json& Member(const Json& object, std::string_view key, const std::string& where) {
  if (!object.is_object()) Fail(where.empty() ? "top level" : where, "expected an object, found " + Found(object));
  auto it = object.find(key);
  if (it == object.end()) Fail(Join(where, key), "missing");
  return *it;
}

const Json* Optional(const Json& object, std::string_view key) {
  auto it = object.find(key);
  return it == object.end() ? nullptr : &*it;
}

uint64_t U64(const Json& object, std::string_view key, const std::string& where) {
  const Json& j = Member(object, key, where);
  if (!j.is_number_unsigned()) {
    Fail(Join(where, key), "expected a non-negative integer, found " + Found(j));
  }
  return j.get<uint64_t>();
}

int Int(const Json& object, std::string_view key, const std::string& where) {
  const Json& j = Member(object, key, where);
  if (!j.is_number_integer()) Fail(Join(where, key), "expected an integer, found " + Found(j));
  return j.get<int>();
}

double Number(const Json& object, std::string_view key, const std::string& where) {
  const Json& j = Member(object, key, where);
  if (!j.is_number()) Fail(Join(where, key), "expected a number, found " + Found(j));
  return j.get<double>();
}

bool Bool(const Json& object, std::string_view key, const std::string& where) {
  const Json& j = Member(object, key, where);
  if (!j.is_boolean()) Fail(Join(where, key), "expected true or false, found " + Found(j));
  return j.get<bool>();
}

std::string String(const Json& object, std::string_view key, const std::string& where) {
  const Json& j = Member(object, key, where);
  if (!j.is_string()) Fail(Join(where, key), "expected a string, found " + Found(j));
  return j.get<std::string>();
}

const Json& Array(const Json& object, std::string_view key, const std::string& where) {
  const Json& j = Member(object, key, where);
  if (!j.is_array()) Fail(Join(where, key), "expected an array, found " + Found(j));
  return j;
}

std::string Index(const std::string& where, size_t i) { return fmt::format("{}[{}]", where, i); }

// "2025-11-25T12:00:00Z" -> Unix nanoseconds.
uint64_t Time(const Json& object, std::string_view key, const std::string& where) {
  const std::string text = String(object, key, where);
  std::tm tm{};
  std::istringstream in(text);
  in >> std::get_time(&tm, "%Y-%m-%dT%H:%M:%SZ");
  if (in.fail() || in.peek() != std::char_traits<char>::eof()) {
    Fail(Join(where, key), "expected a UTC time like \"2025-11-25T12:00:00Z\", found " + Found(text));
  }
  const std::time_t seconds = timegm(&tm);
  if (seconds < 0) Fail(Join(where, key), "time before 1970: " + text);
  return static_cast<uint64_t>(seconds) * 1'000'000'000ull;
}

LatencyHistogram Histogram(const Json& object, std::string_view key, const std::string& where) {
  const std::string at = Join(where, key);
  const Json& h = Member(object, key, where);
  const uint64_t count = U64(h, "count", at);
  const Json& buckets = Array(h, "buckets", at);
  std::vector<std::pair<uint64_t, uint64_t>> pairs;
  for (size_t i = 0; i < buckets.size(); ++i) {
    const Json& b = buckets[i];
    if (!b.is_array() || b.size() != 2 || !b[0].is_number_unsigned() ||
        !b[1].is_number_unsigned()) {
      Fail(Index(at + ".buckets", i), "expected [lower bound ns, count], found " + Found(b));
    }
    pairs.emplace_back(b[0].get<uint64_t>(), b[1].get<uint64_t>());
  }
  auto histogram = LatencyHistogram::FromBuckets(pairs);
  if (!histogram) Fail(at + ".buckets", histogram.error().message);
  if (histogram->count() != count) {
    Fail(at, fmt::format("count is {} but the buckets hold {}", count, histogram->count()));
  }
  // The exact min and max, written alongside the buckets, bound them more tightly.
  if (Optional(h, "min_ns") && Optional(h, "max_ns")) {
    auto exact = histogram->RestoreExactRange(U64(h, "min_ns", at), U64(h, "max_ns", at));
    if (!exact) Fail(at, exact.error().message);
  }
  return std::move(*histogram);
}

// load.timeline: points must start at consecutive multiples of the interval, as written.
LatencyTimeline Timeline(const Json& j, const std::string& where) {
  const uint64_t interval = U64(j, "interval_ns", where);
  if (interval == 0) Fail(where + ".interval_ns", "must be above 0");
  const Json& list = Array(j, "points", where);
  if (list.size() > LatencyTimeline::kMaxPoints) {
    Fail(where + ".points", fmt::format("{} points, at most {} allowed", list.size(),
                                        LatencyTimeline::kMaxPoints));
  }
  std::vector<TimelinePoint> points;
  points.reserve(list.size());
  for (size_t i = 0; i < list.size(); ++i) {
    const std::string at = Index(where + ".points", i);
    const uint64_t start = U64(list[i], "start_ns", at);
    if (start != i * interval) {
      Fail(at + ".start_ns", fmt::format("expected {} (point {} of {} ns intervals), found {}",
                                         i * interval, i, interval, start));
    }
    TimelinePoint p;
    p.requests = U64(list[i], "requests", at);
    p.errors = U64(list[i], "errors", at);
    if (p.errors > p.requests) {
      Fail(at + ".errors", fmt::format("{} errors among {} requests", p.errors, p.requests));
    }
    const LatencyHistogram latency = Histogram(list[i], "latency_corrected", at);
    if (latency.count() > p.requests) {
      Fail(at + ".latency_corrected",
           fmt::format("{} latencies among {} requests", latency.count(), p.requests));
    }
    p.corrected = SparseHistogram::FromDense(latency);
    points.push_back(std::move(p));
  }
  auto timeline = LatencyTimeline::FromPoints(interval, std::move(points));
  if (!timeline) Fail(where, timeline.error().message);
  return std::move(*timeline);
}

TraceId ReadTraceId(const Json& object, std::string_view key, const std::string& where) {
  const std::string hex = String(object, key, where);
  auto id = TraceId::FromHex(hex);
  if (!id || hex.size() != 32) Fail(Join(where, key), "expected 32 hex digits, found " + Found(hex));
  return *id;
}

TraceStatus Status(const Json& object, const std::string& where) {
  const std::string name = String(object, "status", where);
  for (TraceStatus s : {TraceStatus::kComplete, TraceStatus::kIncomplete, TraceStatus::kBroken,
                        TraceStatus::kMissing, TraceStatus::kNotExported}) {
    if (TraceStatusName(s) == name) return s;
  }
  Fail(where + ".status",
       "expected \"complete\", \"incomplete\", \"broken\", \"missing\" or \"not-exported\", "
       "found " + Found(name));
}

SpanKind Kind(const Json& object, const std::string& where) {
  const std::string name = String(object, "kind", where);
  for (SpanKind k : {SpanKind::kUnspecified, SpanKind::kInternal, SpanKind::kServer,
                     SpanKind::kClient, SpanKind::kProducer, SpanKind::kConsumer}) {
    if (SpanKindName(k) == name) return k;
  }
  Fail(where + ".kind", "expected a span kind like \"SERVER\", found " + Found(name));
}

TraceVerdict Verdict(const Json& j, const std::string& where) {
  TraceVerdict v;
  v.status = Status(j, where);
  v.sequence = U64(j, "sequence", where);
  v.trace_id = ReadTraceId(j, "trace_id", where);
  const std::string request_id = String(j, "request_id", where);
  auto parsed = ParseHex64(request_id);
  if (!parsed || request_id.size() != 16) {
    Fail(where + ".request_id", "expected 16 hex digits, found " + Found(request_id));
  }
  v.request_id = *parsed;
  v.expected_spans = U64(j, "expected_spans", where);
  v.found_spans = U64(j, "found_spans", where);
  const Json& missing = Array(j, "missing", where);
  for (size_t i = 0; i < missing.size(); ++i) {
    const std::string at = Index(where + ".missing", i);
    v.missing.push_back({String(missing[i], "hop", at), String(missing[i], "service", at),
                         String(missing[i], "name", at), Kind(missing[i], at)});
  }
  const Json& breaks = Array(j, "breaks", where);
  for (size_t i = 0; i < breaks.size(); ++i) {
    const std::string at = Index(where + ".breaks", i);
    v.breaks.push_back({String(breaks[i], "hop", at), String(breaks[i], "caller", at),
                        String(breaks[i], "callee", at), ReadTraceId(breaks[i], "found_under", at)});
  }
  v.explanation = String(j, "explanation", where);
  const Json& violations = Array(j, "violations", where);
  for (size_t i = 0; i < violations.size(); ++i) {
    const std::string at = Index(where + ".violations", i);
    v.violations.push_back({String(violations[i], "kind", at), String(violations[i], "hop", at),
                            String(violations[i], "service", at),
                            String(violations[i], "explanation", at)});
  }
  if (Optional(j, "timings")) {  // absent in reports written before timings were kept
    const Json& timings = Array(j, "timings", where);
    for (size_t i = 0; i < timings.size(); ++i) {
      const std::string at = Index(where + ".timings", i);
      SpanTiming t{String(timings[i], "hop", at), Kind(timings[i], at),
                   String(timings[i], "service", at), U64(timings[i], "start_unix_nano", at),
                   U64(timings[i], "end_unix_nano", at)};
      if (t.end_unix_nano < t.start_unix_nano) {
        Fail(at + ".end_unix_nano", fmt::format("{} is before start_unix_nano {}",
                                                t.end_unix_nano, t.start_unix_nano));
      }
      v.timings.push_back(std::move(t));
    }
  }
  return v;
}

std::vector<TraceVerdict> Verdicts(const Json& object, std::string_view key,
                                   const std::string& where) {
  const Json& list = Array(object, key, where);
  std::vector<TraceVerdict> out;
  for (size_t i = 0; i < list.size(); ++i) out.push_back(Verdict(list[i], Index(Join(where, key), i)));
  return out;
}

// An integer or null (an expectation the scenario did not set); absent reads as null.
std::optional<uint64_t> NullableU64(const Json& object, std::string_view key,
                                    const std::string& where) {
  const Json* j = Optional(object, key);
  if (j == nullptr || j->is_null()) return std::nullopt;
  return U64(object, key, where);
}

// One of `names`, else an error listing them.
std::string OneOf(const Json& object, std::string_view key, const std::string& where,
                  std::initializer_list<std::string_view> names) {
  std::string value = String(object, key, where);
  std::string listed;
  for (std::string_view name : names) {
    if (value == name) return value;
    listed += fmt::format("{}\"{}\"", listed.empty() ? "" : ", ", name);
  }
  Fail(Join(where, key), fmt::format("expected one of {}, found {}", listed, Found(value)));
}

std::vector<SamplingVerdict> Sampling(const Json& list, const std::string& where) {
  std::vector<SamplingVerdict> out;
  for (size_t i = 0; i < list.size(); ++i) {
    const std::string at = Index(where, i);
    const Json& s = list[i];
    SamplingVerdict v;
    v.service = String(s, "service", at);
    v.policy = String(s, "policy", at);
    v.n = U64(s, "n", at);
    v.k = U64(s, "k", at);
    if (v.k > v.n) Fail(at + ".k", fmt::format("{} sampled among {} requests", v.k, v.n));
    v.observed = Number(s, "observed", at);
    v.expected = Number(s, "expected", at);
    v.interval_low = Number(s, "interval_low", at);
    v.interval_high = Number(s, "interval_high", at);
    v.confidence = Number(s, "confidence", at);
    v.verdict = OneOf(s, "verdict", at, {"pass", "fail", "not enough traces", "not judged"});
    if (Optional(s, "reason")) v.reason = String(s, "reason", at);
    v.parent_based_inconsistencies = U64(s, "parent_based_inconsistencies", at);
    if (const Json* withheld = Optional(s, "withheld_by_faults")) {
      if (!withheld->is_object()) {
        Fail(at + ".withheld_by_faults", "expected an object, found " + Found(*withheld));
      }
      for (const auto& [fault, requests] : withheld->items()) {
        v.withheld_by_faults[fault] = U64(*withheld, fault, at + ".withheld_by_faults");
      }
    }
    out.push_back(std::move(v));
  }
  return out;
}

std::vector<SamplingExpectationVerdict> SamplingExpectations(const Json& list,
                                                             const std::string& where) {
  std::vector<SamplingExpectationVerdict> out;
  for (size_t i = 0; i < list.size(); ++i) {
    const std::string at = Index(where, i);
    const Json& s = list[i];
    SamplingExpectationVerdict v;
    v.name = String(s, "name", at);
    v.n = U64(s, "n", at);
    v.k = U64(s, "k", at);
    if (v.k > v.n) Fail(at + ".k", fmt::format("{} kept among {}", v.k, v.n));
    v.expected = Number(s, "expected", at);
    v.interval_low = Number(s, "interval_low", at);
    v.interval_high = Number(s, "interval_high", at);
    v.confidence = Number(s, "confidence", at);
    v.verdict = OneOf(s, "verdict", at, {"pass", "fail", "not enough traces"});
    v.message = String(s, "message", at);
    v.trace_level = Bool(s, "trace_level", at);
    out.push_back(std::move(v));
  }
  return out;
}

// verification.graph, and the comparison inside verification.backend_graph (the same shape).
GraphComparison Graph(const Json& j, const std::string& where) {
  GraphComparison g;
  g.missing = U64(j, "missing", where);
  g.unexpected = U64(j, "unexpected", where);
  g.count_mismatches = U64(j, "count_mismatches", where);
  const Json& edges = Array(j, "edges", where);
  for (size_t i = 0; i < edges.size(); ++i) {
    const std::string at = Index(where + ".edges", i);
    EdgeComparison e;
    e.caller = String(edges[i], "caller", at);
    e.callee = String(edges[i], "callee", at);
    e.in_topology = Bool(edges[i], "in_topology", at);
    e.expected_calls = Number(edges[i], "expected_calls", at);
    e.observed_calls = U64(edges[i], "observed_calls", at);
    e.status = OneOf(edges[i], "status", at, {"ok", "missing", "unexpected", "count-mismatch"});
    g.edges.push_back(std::move(e));
  }
  return g;
}

// Fields after precision_ns (the observed figures and the late spans) came later: optional.
TimeToQueryable ReadTimeToQueryable(const Json& j, const std::string& where) {
  TimeToQueryable t;
  t.traces = U64(j, "traces", where);
  t.upper_bounds = U64(j, "upper_bounds", where);
  if (t.upper_bounds > t.traces) {
    Fail(where + ".upper_bounds", fmt::format("{} upper bounds among {} traces", t.upper_bounds,
                                              t.traces));
  }
  t.p50_ns = U64(j, "p50_ns", where);
  t.p90_ns = U64(j, "p90_ns", where);
  t.p99_ns = U64(j, "p99_ns", where);
  t.max_ns = U64(j, "max_ns", where);
  t.precision_ns = U64(j, "precision_ns", where);
  if (Optional(j, "observed_p99_ns")) t.observed_p99_ns = U64(j, "observed_p99_ns", where);
  if (Optional(j, "observed_max_ns")) t.observed_max_ns = U64(j, "observed_max_ns", where);
  if (Optional(j, "late_traces")) t.late_traces = U64(j, "late_traces", where);
  if (Optional(j, "late_floor_ns")) t.late_floor_ns = U64(j, "late_floor_ns", where);
  if (Optional(j, "late_hops")) {
    const Json& hops = Array(j, "late_hops", where);
    for (size_t i = 0; i < hops.size(); ++i) {
      const std::string at = Index(where + ".late_hops", i);
      LateHop h;
      h.hop = String(hops[i], "hop", at);
      h.caller = String(hops[i], "caller", at);
      h.callee = String(hops[i], "callee", at);
      h.kind = Kind(hops[i], at);
      h.traces = U64(hops[i], "traces", at);
      h.max_ns = U64(hops[i], "max_ns", at);
      t.late_hops.push_back(std::move(h));
    }
  }
  return t;
}

// verification.backend_graph: null (or absent) when the verifier did not ask for the list.
std::optional<BackendGraph> ReadBackendGraph(const Json& j, const std::string& where) {
  if (j.is_null()) return std::nullopt;
  BackendGraph g;
  g.fetched = Bool(j, "served", where);
  g.error = String(j, "error", where);
  if (!g.fetched && g.error.empty()) {
    Fail(where + ".error", "empty, but served is false: a list not compared needs a reason");
  }
  g.start_unix_micros = U64(j, "window_start_unix_micros", where);
  g.end_unix_micros = U64(j, "window_end_unix_micros", where);
  g.comparison = Graph(j, where);
  // The links as the backend answered are its edges with calls (the file keeps no other copy).
  for (const EdgeComparison& e : g.comparison.edges) {
    if (e.observed_calls > 0) g.links.push_back({e.caller, e.callee, e.observed_calls});
  }
  return g;
}

VerificationSummary Verification(const Json& j) {
  const std::string w = "verification";
  VerificationSummary v;
  v.checked = U64(j, "checked", w);
  v.complete = U64(j, "complete", w);
  v.incomplete = U64(j, "incomplete", w);
  v.broken = U64(j, "broken", w);
  v.missing = U64(j, "missing", w);
  if (Optional(j, "evicted")) v.evicted = U64(j, "evicted", w);
  if (const Json* store = Optional(j, "backend_store"); store != nullptr && !store->is_null()) {
    const std::string at = w + ".backend_store";
    if (!store->is_object()) Fail(at, "expected an object or null, found " + Found(*store));
    v.backend_store = BackendStoreStats{U64(*store, "traces_evicted", at),
                                        U64(*store, "spans_evicted", at),
                                        U64(*store, "evicted_through_unix_nano", at),
                                        U64(*store, "max_spans", at), U64(*store, "max_bytes", at)};
  }
  if (Optional(j, "not_exported")) v.not_exported = U64(j, "not_exported", w);  // absent before
  v.skipped_unsampled = U64(j, "skipped_unsampled", w);
  const Json& edges = Array(j, "break_edges", w);
  for (size_t i = 0; i < edges.size(); ++i) {
    const std::string at = Index(w + ".break_edges", i);
    v.break_edges.push_back({String(edges[i], "hop", at), String(edges[i], "caller", at),
                             String(edges[i], "callee", at), U64(edges[i], "traces", at)});
  }
  v.examples = Verdicts(j, "examples", w);
  v.traces_with_violations = U64(j, "traces_with_violations", w);
  const Json& counts = Member(j, "violation_counts", w);
  if (!counts.is_object()) Fail(w + ".violation_counts", "expected an object, found " + Found(counts));
  for (const auto& [kind, traces] : counts.items()) {
    v.violation_counts[kind] = U64(counts, kind, w + ".violation_counts");
  }
  v.violation_examples = Verdicts(j, "violation_examples", w);
  if (Optional(j, "orphan_causes")) {  // absent in reports written before it was counted
    const Json& causes = Array(j, "orphan_causes", w);
    for (size_t i = 0; i < causes.size(); ++i) {
      const std::string at = Index(w + ".orphan_causes", i);
      OrphanCause c;
      c.service = String(causes[i], "service", at);
      c.policy = String(causes[i], "policy", at);
      c.cause_service = String(causes[i], "cause_service", at);
      c.cause_policy = String(causes[i], "cause_policy", at);
      c.parent_service = String(causes[i], "parent_service", at);
      c.traces = U64(causes[i], "traces", at);
      c.example_sequence = U64(causes[i], "example_sequence", at);
      c.example_trace = ReadTraceId(causes[i], "example_trace_id", at);
      v.orphan_causes.push_back(std::move(c));
    }
  }
  v.polls = U64(j, "polls", w);
  v.backend_requests = U64(j, "backend_requests", w);
  v.elapsed_ns = U64(j, "elapsed_ns", w);
  v.deadline_hit = Bool(j, "deadline_hit", w);
  if (Optional(j, "streamed")) {  // absent in reports written before verification streamed
    v.streamed = Bool(j, "streamed", w);
    v.after_load_ns = U64(j, "after_load_ns", w);
  }
  // Written since these fields exist, read since the late spans and backend graph were added;
  // reports without them read as a run that had none.
  if (Optional(j, "sampling")) v.sampling = Sampling(Array(j, "sampling", w), w + ".sampling");
  if (Optional(j, "sampling_expectations")) {  // absent before [expect] sampling was judged
    v.sampling_expectations = SamplingExpectations(
        Array(j, "sampling_expectations", w), w + ".sampling_expectations");
  }
  for (const auto& s : v.sampling) v.parent_based_inconsistencies += s.parent_based_inconsistencies;
  if (Optional(j, "graph")) v.graph = Graph(Member(j, "graph", w), w + ".graph");
  if (Optional(j, "time_to_queryable")) {
    v.time_to_queryable =
        ReadTimeToQueryable(Member(j, "time_to_queryable", w), w + ".time_to_queryable");
  }
  if (const Json* backend_graph = Optional(j, "backend_graph")) {
    v.backend_graph = ReadBackendGraph(*backend_graph, w + ".backend_graph");
  }
  if (Optional(j, "external_hops")) {  // only with calls below a real service
    const Json& hops = Array(j, "external_hops", w);
    for (size_t i = 0; i < hops.size(); ++i) {
      const std::string at = Index(w + ".external_hops", i);
      ExternalHopCounts h;
      h.external = String(hops[i], "external", at);
      h.callee = String(hops[i], "callee", at);
      h.requests = U64(hops[i], "requests", at);
      const Json& tied = Member(hops[i], "tied", at);
      if (!tied.is_object()) Fail(at + ".tied", "expected an object, found " + Found(tied));
      for (const auto& [source, n] : tied.items()) h.tied[source] = U64(tied, source, at + ".tied");
      h.untied_continued = U64(hops[i], "untied_continued", at);
      h.untied_not_continued = U64(hops[i], "untied_not_continued", at);
      h.broken_traces = U64(hops[i], "broken_traces", at);
      h.attribution = String(hops[i], "attribution", at);
      v.external_hops.push_back(std::move(h));
    }
  }
  // Async edges: only in reports of scenarios that publish (queue latency) or batch (links).
  if (Optional(j, "queue_latency")) {
    const Json& queues = Array(j, "queue_latency", w);
    for (size_t i = 0; i < queues.size(); ++i) {
      const std::string at = Index(w + ".queue_latency", i);
      v.queue_latency.push_back({String(queues[i], "queue", at), String(queues[i], "consumer", at),
                                 U64(queues[i], "messages", at), U64(queues[i], "p50_ns", at),
                                 U64(queues[i], "p90_ns", at), U64(queues[i], "p99_ns", at),
                                 U64(queues[i], "max_ns", at)});
    }
  }
  if (const Json* links = Optional(j, "links"); links != nullptr && !links->is_null()) {
    const std::string at = w + ".links";
    LinkSummary l{Bool(*links, "checkable", at), String(*links, "reason", at),
                  U64(*links, "expected", at), U64(*links, "found", at)};
    if (!l.checkable && l.reason.empty()) {
      Fail(at + ".reason", "empty, but checkable is false: links not checked need a reason");
    }
    if (l.found > l.expected) {
      Fail(at + ".found", fmt::format("{} links found of {} expected: more than expected",
                                      l.found, l.expected));
    }
    v.links = std::move(l);
  }
  return v;
}

RunReport Report(const Json& j) {
  if (!j.is_object()) Fail("top level", "expected an object, found " + Found(j));
  const Json* version = Optional(j, "schema_version");
  if (version == nullptr) Fail("schema_version", "missing: not a tracerig report.json");
  if (!version->is_number_integer() || version->get<int64_t>() != kReportSchemaVersion) {
    Fail("schema_version", fmt::format("{} is not supported (this tracerig reads {})",
                                       Found(*version), kReportSchemaVersion));
  }
  RunReport r;
  // Reports written before run ids existed are known by their content.
  r.run_id = Optional(j, "run_id") ? String(j, "run_id", "") : ContentRunId(j.dump());
  if (r.run_id.empty()) Fail("run_id", "empty");
  if (Optional(j, "merged_from")) {
    const Json& runs = Array(j, "merged_from", "");
    for (size_t i = 0; i < runs.size(); ++i) {
      const std::string at = Index("merged_from", i);
      r.merged_from.push_back({String(runs[i], "run_id", at), String(runs[i], "file", at),
                               U64(runs[i], "requests", at), Bool(runs[i], "verified", at)});
    }
  }
  r.tracerig_version = String(j, "tracerig_version", "");
  const Json& scenario = Member(j, "scenario", "");
  r.scenario_name = String(scenario, "name", "scenario");
  r.scenario_file = String(scenario, "file", "scenario");
  r.seed = U64(scenario, "seed", "scenario");
  r.backend = String(j, "backend", "");
  r.started_unix_nano = Time(j, "started_at", "");
  r.finished_unix_nano = Time(j, "finished_at", "");
  const Json& verdict = Member(j, "verdict", "");
  r.exit_code = Int(verdict, "exit_code", "verdict");
  r.verdict = String(verdict, "summary", "verdict");
  const Json& checks = Array(j, "checks", "");
  for (size_t i = 0; i < checks.size(); ++i) {
    const std::string at = Index("checks", i);
    CheckResult c{String(checks[i], "name", at), Bool(checks[i], "passed", at),
                  String(checks[i], "message", at), true};
    if (Optional(checks[i], "enforced")) c.enforced = Bool(checks[i], "enforced", at);
    r.checks.push_back(std::move(c));
  }
  if (Optional(j, "fail_on")) {
    auto fail_on = ParseFailOn(String(j, "fail_on", ""));
    if (!fail_on) Fail("fail_on", fail_on.error().message);
    r.fail_on = *fail_on;
  }
  if (const Json* expect = Optional(j, "expect")) {
    r.expect.completeness = Number(*expect, "completeness", "expect");
    r.expect.broken = U64(*expect, "broken", "expect");
    r.expect.time_to_queryable_p99_ns = NullableU64(*expect, "time_to_queryable_p99_ns", "expect");
    r.expect.time_to_queryable_max_ns = NullableU64(*expect, "time_to_queryable_max_ns", "expect");
  }
  const Json& services = Array(j, "services", "");
  for (size_t i = 0; i < services.size(); ++i) {
    const std::string at = Index("services", i);
    RunningService s;
    s.name = String(services[i], "name", at);
    s.url = String(services[i], "url", at);
    r.services.push_back(std::move(s));
  }
  if (Optional(j, "expected_edges")) {
    const Json& edges = Array(j, "expected_edges", "");
    for (size_t i = 0; i < edges.size(); ++i) {
      const std::string at = Index("expected_edges", i);
      r.expected_edges.push_back({String(edges[i], "hop", at), String(edges[i], "caller", at),
                                  String(edges[i], "callee", at),
                                  Optional(edges[i], "async") && Bool(edges[i], "async", at)});
    }
  }
  const Json& load = Member(j, "load", "");
  // Absent in reports written before `verify` wrote reports: those all measured their load.
  r.load_measured = Optional(load, "measured") ? Bool(load, "measured", "load") : true;
  r.load_model = String(load, "model", "load");
  r.target_rate = Number(load, "target_rate", "load");
  r.target_duration_ns = U64(load, "target_duration_ns", "load");
  auto& l = r.load;
  // Absent in reports written before the planned count was kept.
  if (Optional(load, "planned")) l.planned = U64(load, "planned", "load");
  l.sent = U64(load, "sent", "load");
  l.warmup = U64(load, "warmup", "load");
  l.ok = U64(load, "ok", "load");
  l.http_errors = U64(load, "http_errors", "load");
  l.transport_errors = U64(load, "transport_errors", "load");
  // Absent in reports written before transport errors were recorded by kind. Kinds are read as
  // written (a newer tracerig may name more); their counts cannot exceed the errors they explain.
  if (Optional(load, "transport_error_reasons")) {
    const Json& reasons = Array(load, "transport_error_reasons", "load");
    uint64_t counted = 0;
    for (size_t i = 0; i < reasons.size(); ++i) {
      const std::string at = Index("load.transport_error_reasons", i);
      TransportErrorReason reason{String(reasons[i], "reason", at), U64(reasons[i], "count", at),
                                  String(reasons[i], "first_message", at)};
      if (reason.reason.empty()) Fail(Join(at, "reason"), "empty");
      counted += reason.count;
      l.transport_error_reasons.push_back(std::move(reason));
    }
    if (counted > l.transport_errors) {
      Fail("load.transport_error_reasons",
           fmt::format("counts sum to {}, more than load.transport_errors ({})", counted,
                       l.transport_errors));
    }
  }
  l.unfinished = U64(load, "unfinished", "load");
  if (Optional(load, "unsent")) l.unsent = U64(load, "unsent", "load");  // absent in older reports
  if (Optional(load, "root_spans_unsampled")) {
    l.root_spans_unsampled = U64(load, "root_spans_unsampled", "load");
  }
  l.elapsed_ns = U64(load, "elapsed_ns", "load");
  l.interrupted = Bool(load, "interrupted", "load");
  l.corrected = Histogram(load, "latency_corrected", "load");
  l.uncorrected = Histogram(load, "latency_uncorrected", "load");
  l.schedule_lag = Histogram(load, "schedule_lag", "load");
  // Reports written before the timeline existed have none.
  if (const Json* timeline = Optional(load, "timeline")) {
    l.timeline = Timeline(*timeline, "load.timeline");
  }
  const Json& topology = Member(j, "topology", "");
  r.topology.requests = U64(topology, "requests", "topology");
  r.topology.unknown_route = U64(topology, "unknown_route", "topology");
  r.topology.spans_recorded = U64(topology, "spans_recorded", "topology");
  r.topology.spans_unsampled = U64(topology, "spans_unsampled", "topology");
  if (Optional(topology, "spans_withheld_by_faults")) {  // absent in older reports
    r.topology.spans_dropped = U64(topology, "spans_withheld_by_faults", "topology");
  }
  r.topology.call_failures = U64(topology, "call_failures", "topology");
  if (const Json* m = Optional(topology, "messages")) {  // only when the run used a broker
    const std::string at = "topology.messages";
    r.topology.messages_published = U64(*m, "published", at);
    r.topology.publish_failures = U64(*m, "publish_failures", at);
    r.topology.messages_consumed = U64(*m, "consumed", at);
    r.topology.messages_redelivered = U64(*m, "redelivered", at);
    r.topology.messages_dead_lettered = U64(*m, "dead_lettered", at);
    r.topology.batches = U64(*m, "batches", at);
    r.topology.messages_unroutable = U64(*m, "unroutable", at);
    r.topology.queue_drain_ns = U64(*m, "queue_drain_ns", at);
    r.topology.messages_left_queued = U64(*m, "left_queued", at);
  }
  const Json& ex = Member(j, "export", "");
  r.exporter.submitted = U64(ex, "submitted", "export");
  r.exporter.exported = U64(ex, "exported", "export");
  r.exporter.dropped_queue_full = U64(ex, "dropped_queue_full", "export");
  r.exporter.dropped_failed = U64(ex, "dropped_failed", "export");
  r.exporter.rejected = U64(ex, "rejected", "export");
  r.exporter.retries = U64(ex, "retries", "export");
  r.exporter.batches = U64(ex, "batches", "export");
  r.exporter.flushed = Bool(ex, "flushed", "export");
  // Absent in reports written before export failures were recorded.
  if (Optional(ex, "endpoint")) r.exporter.endpoint = String(ex, "endpoint", "export");
  if (Optional(ex, "failures")) {
    const Json& failures = Array(ex, "failures", "export");
    for (size_t i = 0; i < failures.size(); ++i) {
      const std::string at = Index("export.failures", i);
      r.exporter.failures.push_back(
          {OneOf(failures[i], "reason", at, {"permanent", "retries-exhausted", "shutdown"}),
           U64(failures[i], "spans", at), String(failures[i], "first_error", at)});
    }
  }
  if (Optional(ex, "lost_traces")) r.exporter.lost_traces = U64(ex, "lost_traces", "export");
  if (Optional(ex, "lost_untracked_spans")) {
    r.exporter.lost_untracked_spans = U64(ex, "lost_untracked_spans", "export");
  }
  if (Optional(j, "ingest")) {  // absent in reports written before ingest figures
    const Json& in = Member(j, "ingest", "");
    r.ingest.spans_exported = U64(in, "spans_exported", "ingest");
    r.ingest.window_ns = U64(in, "window_ns", "ingest");
    r.ingest.spans_per_second = Number(in, "spans_per_second", "ingest");
    r.ingest.backend_spans_accepted = NullableU64(in, "backend_spans_accepted", "ingest");
    r.ingest.backend_requests_rejected = NullableU64(in, "backend_requests_rejected", "ingest");
  }
  const Json& verification = Member(j, "verification", "");
  if (Optional(verification, "checked")) {
    r.verification = Verification(verification);
  } else {
    r.verification_skipped = Bool(verification, "skipped", "verification");
    r.verification_error = String(verification, "error", "verification");
    // Reports written before error codes had none: every verification error then exited 3.
    r.verification_error_code = ErrorCode::kUnavailable;
    if (const Json* code = Optional(verification, "error_code"); code && code->is_string()) {
      for (ErrorCode c : {ErrorCode::kUnknown, ErrorCode::kInvalidArgument,
                          ErrorCode::kResourceExhausted, ErrorCode::kUnavailable,
                          ErrorCode::kNotFound, ErrorCode::kInternal}) {
        if (code->get<std::string>() == ErrorCodeName(c)) r.verification_error_code = c;
      }
    }
  }
  return r;
}

}  // namespace

Result<RunReport> ReadReport(std::string_view source_name, std::string_view json_text) {
  Json j;
  try {
    j = Json::parse(json_text);
  } catch (const Json::parse_error& e) {
    // e.what() is "[json.exception.parse_error.101] parse error at line 1, column 2: ...".
    std::string what = e.what();
    if (auto bracket = what.find("] "); bracket != std::string::npos) what = what.substr(bracket + 2);
    return MakeError(fmt::format("{}: not a tracerig report: {}", source_name, what));
  }
  try {
    return Report(j);
  } catch (const ReadError& e) {
    return MakeError(fmt::format("{}: {}", source_name, e.message));
  }
}

std::string ReportJsonPath(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    return (std::filesystem::path(path) / "report.json").string();
  }
  return path;
}

Result<RunReport> ReadReportFile(const std::string& path) {
  const std::string file = ReportJsonPath(path);
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    return MakeError(fmt::format("{}: cannot read file (give a run's report folder or its "
                                 "report.json)",
                                 file));
  }
  std::ostringstream text;
  text << in.rdbuf();
  return ReadReport(file, text.str());
}

}  // namespace tracerig
