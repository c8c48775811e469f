// A fixed synthetic run for the report renderers' tests and golden files: fixed times, ids and
// counts, a mix of passing and failing checks, more example traces than a report shows, and names
// that need escaping in XML and Markdown. Change it only together with the golden files.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "report/run_report.h"

namespace tracerig {

inline TraceVerdict SyntheticVerdict(TraceStatus status, uint64_t sequence,
                                     const char* explanation) {
  TraceVerdict v;
  v.status = status;
  v.sequence = sequence;
  v.trace_id = TraceId{0x0af7651916cd43ddull, 0x8448eb211c800000ull + sequence};
  v.request_id = 0x5eed000000000000ull + sequence;
  v.expected_spans = 9;
  v.found_spans = status == TraceStatus::kMissing ? 0 : 7;
  v.explanation = explanation;
  return v;
}

// Span timings of the synthetic call chain, ms after the trace's first span: each SERVER span
// inside its CLIENT span. The SERVER span of the fraud service at hop 0.1.0.0 is left out when
// `with_fraud_server` is false (the incomplete example misses it).
inline std::vector<SpanTiming> SyntheticTimings(uint64_t sequence, bool with_fraud_server) {
  const char* fraud = "fraud|check <beta> & \"co\"";
  // Traces start 20 ms apart, as the 50/s load sends them.
  const uint64_t t0 = 1'764'072'000'000'000'000ull + sequence * 20'000'000ull;
  auto ms = [t0](double at) { return t0 + static_cast<uint64_t>(at * 1e6); };
  std::vector<SpanTiming> t = {
      {"0", SpanKind::kClient, "tracerig-driver", ms(0), ms(20)},
      {"0", SpanKind::kServer, "frontend", ms(1), ms(19)},
      {"0.1", SpanKind::kClient, "frontend", ms(2), ms(15)},
      {"0.1", SpanKind::kServer, "checkout", ms(3), ms(14)},
      {"0.1.0", SpanKind::kClient, "checkout", ms(5), ms(12)},
      {"0.1.0", SpanKind::kServer, "payment", ms(6), ms(11)},
      {"0.1.0.0", SpanKind::kClient, "payment", ms(7), ms(10)},
      {"0.1.0.0", SpanKind::kServer, fraud, ms(8), ms(9.5)},
  };
  if (!with_fraud_server) t.pop_back();
  return t;
}

// Judged: completeness passes (240 of 250, 0.95 expected), broken-propagation and spans-exported
// fail.
inline RunReport SyntheticRun() {
  RunReport r;
  r.tracerig_version = "0.1.0";
  r.scenario_name = "shop";
  r.scenario_file = "scenarios/shop.toml";
  r.seed = 42;
  r.backend = "embedded (OTLP/HTTP 127.0.0.1:4318, Jaeger query 127.0.0.1:16686)";
  r.started_unix_nano = 1'764'072'000'000'000'000ull;  // 2025-11-25T12:00:00Z
  r.finished_unix_nano = r.started_unix_nano + 7'250'000'000ull;
  r.target_rate = 50;
  r.target_duration_ns = 5'000'000'000ull;
  const char* fraud = "fraud|check <beta> & \"co\"";
  r.services = {{"frontend", {}, "http://127.0.0.1:40001"},
                {"checkout", {}, "http://127.0.0.1:40002"},
                {"payment", {}, "http://127.0.0.1:40003"},
                {fraud, {}, "http://127.0.0.1:40004"}};
  r.expected_edges = {{"0", "tracerig-driver", "frontend"},
                      {"0.1", "frontend", "checkout"},
                      {"0.1.0", "checkout", "payment"},
                      {"0.1.0.0", "payment", fraud}};

  auto& l = r.load;
  l.sent = 250;
  l.ok = 247;
  l.http_errors = 2;
  l.transport_errors = 1;
  l.transport_error_reasons = {{"connection reset", 1, "read: Connection reset by peer"}};
  l.elapsed_ns = 5'012'000'000ull;
  for (uint64_t i = 0; i < 250; ++i) {  // ten distinct values keep the bucket lists short
    l.corrected.Record(4'000'000 + (i % 10) * 1'000'000);
    l.uncorrected.Record(3'500'000 + (i % 10) * 900'000);
    l.schedule_lag.Record(20'000 + (i % 10) * 10'000);
  }
  // The same corrected latencies over time: request k (every 20 ms) took 4 + k / 25 ms, so
  // latency rises from interval to interval; the 3 errors fall in the fourth second.
  for (uint64_t k = 0; k < 250; ++k) {
    l.timeline.Record(k * 20'000'000ull, 4'000'000 + (k / 25) * 1'000'000,
                      k == 160 || k == 170 || k == 180, /*with_latency=*/true);
  }

  r.topology = {.requests = 750,
                .unknown_route = 0,
                .spans_recorded = 1500,
                .spans_unsampled = 0,
                .call_failures = 3};
  r.exporter = {.submitted = 1750,
                .exported = 1738,
                .dropped_queue_full = 12,
                .dropped_failed = 0,
                .rejected = 0,
                .retries = 2,
                .batches = 18,
                .flushed = true};
  r.ingest = {.spans_exported = 1736,
              .window_ns = 5'250'000'000,
              .spans_per_second = 1736 / 5.25,
              .backend_spans_accepted = 1736,
              .backend_requests_rejected = 0};

  VerificationSummary v;
  v.checked = 250;
  v.complete = 240;
  v.incomplete = 2;
  v.broken = 7;
  v.missing = 1;
  v.break_edges = {{"0.1.0", "checkout", "payment", 6}, {"0.1", "frontend", "checkout", 1}};
  const char* payment_break =
      "trace id changed between checkout and payment at hop 0.1.0: payment's span is under "
      "another trace";
  for (uint64_t sequence : {3, 17, 40, 41, 77, 80, 99}) {
    if (sequence == 17) {
      auto ex = SyntheticVerdict(TraceStatus::kIncomplete, sequence,
                                 "1 expected span missing: SERVER span of fraud|check <beta> & "
                                 "\"co\" at hop 0.1.0.0");
      ex.missing.push_back({"0.1.0.0", fraud, "POST /score", SpanKind::kServer});
      ex.timings = SyntheticTimings(sequence, /*with_fraud_server=*/false);
      v.examples.push_back(ex);
    } else if (sequence == 41) {
      v.examples.push_back(SyntheticVerdict(TraceStatus::kMissing, sequence,
                                            "no span of this request reached the backend"));
    } else {
      auto ex = SyntheticVerdict(TraceStatus::kBroken, sequence, payment_break);
      ex.breaks.push_back({"0.1.0", "checkout", "payment", TraceId{0x7049bba4ull, sequence}});
      ex.timings = SyntheticTimings(sequence, /*with_fraud_server=*/true);
      v.examples.push_back(ex);
    }
  }
  v.polls = 6;
  v.backend_requests = 512;
  v.elapsed_ns = 1'234'000'000ull;
  // No time-to-queryable expectation, so no check: the figures and late spans are only shown.
  auto& t = v.time_to_queryable;
  t.traces = 240;
  t.upper_bounds = 200;
  t.p50_ns = 1'200'000'000ull;
  t.p90_ns = 2'100'000'000ull;
  t.p99_ns = 3'400'000'000ull;
  t.max_ns = 3'900'000'000ull;
  t.precision_ns = 100'000'000ull;
  t.observed_p99_ns = 3'400'000'000ull;
  t.observed_max_ns = 3'900'000'000ull;
  t.late_traces = 12;
  t.late_floor_ns = 1'000'000'000ull;
  t.late_hops = {{"0.1.0.0", "payment", fraud, SpanKind::kServer, 9, 3'900'000'000ull},
                 {"0.1.0", "checkout", "payment", SpanKind::kClient, 3, 2'500'000'000ull}};
  // A backend without a dependency list: shown, but no check.
  v.backend_graph = BackendGraph{};
  v.backend_graph->error = "not served by this backend";
  r.verification = v;
  r.expect.completeness = 0.95;
  Judge(r);
  return r;
}

// SyntheticRun as `tracerig verify` reports it: the same verification, but of the load only what
// the ledger holds (the requests and their outcomes as the run recorded them); rates, latencies,
// spans and ingest were not measured.
inline RunReport SyntheticVerifyRun() {
  RunReport r = SyntheticRun();
  r.load_measured = false;
  r.load_model = "";
  r.target_rate = 0;
  r.target_duration_ns = 0;
  r.services.clear();
  DriverResult recorded;
  recorded.sent = r.load.sent;
  recorded.ok = r.load.ok;
  recorded.http_errors = r.load.http_errors;
  recorded.transport_errors = r.load.transport_errors;
  r.load = std::move(recorded);
  r.topology = {};
  r.exporter = {};
  r.ingest = {};
  Judge(r);
  return r;
}

// The backend's dependency list in each state the verifier leaves it: "missing-and-unexpected"
// (served; lacks checkout -> payment and lists an edge not in the topology), "clean" (served, all
// four expected edges), "not-served" and "fetch-error".
inline BackendGraph SyntheticBackendGraph(const std::string& state) {
  BackendGraph g;
  if (state == "not-served") {
    g.error = "not served by this backend";
    return g;
  }
  if (state == "fetch-error") {
    g.error = "GET /api/dependencies: HTTP 503 from 127.0.0.1:16686";
    return g;
  }
  g.fetched = true;
  g.start_unix_micros = 1'764'071'940'000'000ull;  // the ledger's span padded by a minute
  g.end_unix_micros = 1'764'072'067'000'000ull;
  const bool clean = state == "clean";
  const char* fraud = "fraud|check <beta> & \"co\"";
  auto edge = [](std::string caller, std::string callee, bool in_topology, double expected,
                 uint64_t observed, std::string status) {
    return EdgeComparison{std::move(caller), std::move(callee), in_topology, expected, 0,
                          observed, std::move(status)};
  };
  g.comparison.edges = {edge("checkout", "payment", true, 243, clean ? 250 : 0,
                             clean ? "ok" : "missing"),
                        edge("frontend", "checkout", true, 249, 250, "ok"),
                        edge("payment", fraud, true, 243, 247, "ok"),
                        edge("tracerig-driver", "frontend", true, 250, 250, "ok")};
  if (!clean) {
    g.comparison.edges.insert(g.comparison.edges.begin() + 1,
                              edge("checkout", "warehouse", false, 0, 31, "unexpected"));
    g.comparison.missing = 1;
    g.comparison.unexpected = 1;
  }
  for (const auto& e : g.comparison.edges) {
    if (e.observed_calls > 0) g.links.push_back({e.caller, e.callee, e.observed_calls});
  }
  return g;
}

}  // namespace tracerig
