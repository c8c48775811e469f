// ReadReport: report.json back into a RunReport (for `tracerig report merge/diff/render`). The
// round trip, optional fields of older version-1 files, and one row per malformed input with the
// exact message.
#include "report/read_report.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <string>

#include "report/render.h"
#include "synthetic_report.h"
#include "tests/support/scratch_dir.h"

namespace tracerig {
namespace {

using Json = nlohmann::ordered_json;

// What a read report cannot reproduce exactly: the histograms' exact min/max/mean (rebuilt from
// buckets) and so their percentiles, which stay within the histogram's 1%.
Json WithoutHistogramFigures(Json j) {
  constexpr const char* kFigures[] = {"min_ns", "max_ns", "mean_ns", "p50_ns",
                                      "p90_ns", "p99_ns", "p999_ns"};
  for (const char* h : {"latency_corrected", "latency_uncorrected", "schedule_lag"}) {
    for (const char* f : kFigures) j["load"][h].erase(f);
  }
  for (auto& point : j["load"]["timeline"]["points"]) {
    for (const char* f : kFigures) point["latency_corrected"].erase(f);
  }
  return j;
}

TEST(ReadReportTest, RoundTripKeepsEveryFieldAndIsAFixedPoint) {
  const Json first = ReportToJson(SyntheticRun());
  auto read = ReadReport("synthetic.json", first.dump(2));
  ASSERT_TRUE(read.ok()) << read.error().message;
  const Json second = ReportToJson(*read);
  EXPECT_EQ(WithoutHistogramFigures(second).dump(2), WithoutHistogramFigures(first).dump(2));
  for (const char* h : {"latency_corrected", "latency_uncorrected", "schedule_lag"}) {
    for (const char* f : {"min_ns", "max_ns", "p50_ns", "p90_ns", "p99_ns", "p999_ns"}) {
      const double a = first["load"][h][f].get<double>();
      const double b = second["load"][h][f].get<double>();
      EXPECT_NEAR(b, a, a / 100) << h << "." << f;
    }
  }
  auto again = ReadReport("second.json", second.dump());
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(ReportToJson(*again).dump(2), second.dump(2));
  // The parts later commands use.
  EXPECT_EQ(read->exit_code, kExitConformanceFailure);
  EXPECT_EQ(read->expect.completeness, 0.95);
  EXPECT_EQ(read->load.corrected.count(), 250u);
  ASSERT_TRUE(read->verification.has_value());
  EXPECT_EQ(read->verification->examples.size(), 7u);
  EXPECT_EQ(read->verification->examples[1].missing[0].kind, SpanKind::kServer);
  EXPECT_EQ(read->verification->examples[0].breaks[0].found_under, (TraceId{0x7049bba4ull, 3}));
  EXPECT_EQ(read->started_unix_nano, 1'764'072'000'000'000'000ull);
  // Latency over time and the examples' span timings.
  const RunReport original = SyntheticRun();
  EXPECT_EQ(read->load.timeline.interval_ns(), 1'000'000'000ull);
  ASSERT_EQ(read->load.timeline.points().size(), 5u);
  for (size_t i = 0; i < 5; ++i) {
    const TimelinePoint& p = read->load.timeline.points()[i];
    const TimelinePoint& o = original.load.timeline.points()[i];
    EXPECT_EQ(p.requests, 50u) << i;
    EXPECT_EQ(p.errors, o.errors) << i;
    EXPECT_EQ(p.corrected.buckets(), o.corrected.buckets()) << i;
  }
  EXPECT_EQ(read->load.timeline.points()[3].errors, 3u);
  EXPECT_EQ(read->verification->examples[0].timings, original.verification->examples[0].timings);
  EXPECT_EQ(read->verification->examples[1].timings.size(), 7u);
  EXPECT_EQ(read->verification->examples[3].status, TraceStatus::kMissing);
  EXPECT_TRUE(read->verification->examples[3].timings.empty());
}

TEST(ReadReportTest, ExactMinAndMaxComeBack) {
  const RunReport original = SyntheticRun();
  auto read = ReadReport("synthetic.json", ReportToJson(original).dump());
  ASSERT_TRUE(read.ok()) << read.error().message;
  for (auto field : {&DriverResult::corrected, &DriverResult::uncorrected,
                     &DriverResult::schedule_lag}) {
    EXPECT_EQ((read->load.*field).min(), (original.load.*field).min());
    EXPECT_EQ((read->load.*field).max(), (original.load.*field).max());
  }
  const auto& points = read->load.timeline.points();
  ASSERT_FALSE(points.empty());
  EXPECT_EQ(points[0].corrected.ToDense().max(),
            original.load.timeline.points()[0].corrected.ToDense().max());
  // A min outside its bucket is an error, not a quiet adjustment.
  Json j = ReportToJson(original);
  j["load"]["latency_corrected"]["min_ns"] = 1;
  auto bad = ReadReport("bad.json", j.dump());
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message.rfind("bad.json: load.latency_corrected: min 1 is not in the "
                                      "first bucket [",
                                      0),
            0u)
      << bad.error().message;
}

TEST(ReadReportTest, RunIdIsWrittenAndReadBackAndOlderFilesGetOneFromTheirContent) {
  RunReport r = SyntheticRun();
  const Json j = ReportToJson(r);
  const std::string id = j["run_id"].get<std::string>();
  EXPECT_EQ(id.size(), 16u);
  EXPECT_EQ(ReportToJson(r)["run_id"], id);  // every file written for the run agrees
  r.started_unix_nano += 1;                   // another run
  EXPECT_NE(ReportToJson(r)["run_id"], id);
  auto read = ReadReport("a.json", j.dump());
  ASSERT_TRUE(read.ok()) << read.error().message;
  EXPECT_EQ(read->run_id, id);
  EXPECT_TRUE(read->merged_from.empty());
  Json older = j;
  older.erase("run_id");
  older.erase("merged_from");
  auto first = ReadReport("old.json", older.dump(2));
  auto copy = ReadReport("copy.json", older.dump());
  ASSERT_TRUE(first.ok() && copy.ok());
  EXPECT_EQ(first->run_id.size(), 16u);
  EXPECT_EQ(first->run_id, copy->run_id);
  EXPECT_NE(first->run_id, id);
  Json merged = j;
  merged["merged_from"] = Json::array({{{"run_id", "00000000000000aa"},
                                        {"file", "a/report.json"},
                                        {"requests", 120},
                                        {"verified", false}}});
  auto m = ReadReport("m.json", merged.dump());
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_EQ(m->merged_from,
            (std::vector<MergedRun>{{"00000000000000aa", "a/report.json", 120, false}}));
  EXPECT_EQ(ReportToJson(*m)["merged_from"], merged["merged_from"]);
}

TEST(ReadReportTest, JudgingAReadReportGivesTheSameChecks) {
  RunReport original = SyntheticRun();
  auto read = ReadReport("synthetic.json", ReportToJson(original).dump());
  ASSERT_TRUE(read.ok()) << read.error().message;
  Judge(*read);
  EXPECT_EQ(read->verdict, original.verdict);
  EXPECT_EQ(ReportToJson(*read)["checks"], ReportToJson(original)["checks"]);
}

TEST(ReadReportTest, ReadsTheUnverifiedShape) {
  RunReport r = SyntheticRun();
  r.verification.reset();
  r.verification_error = "backend unreachable: connection refused";
  Judge(r);
  auto read = ReadReport("x.json", ReportToJson(r).dump());
  ASSERT_TRUE(read.ok()) << read.error().message;
  EXPECT_FALSE(read->verification.has_value());
  EXPECT_EQ(read->verification_error, "backend unreachable: connection refused");
  EXPECT_EQ(read->exit_code, kExitInfrastructure);
}

TEST(ReadReportTest, KeepsTheVerificationErrorsCode) {
  RunReport r = SyntheticRun();
  r.verification.reset();
  r.verification_error = "ledger entry 3 names load entry 2, but scenario \"x\" has 1 load entries";
  r.verification_error_code = ErrorCode::kInvalidArgument;
  Judge(r);
  ASSERT_EQ(r.exit_code, kExitUsage);
  auto read = ReadReport("x.json", ReportToJson(r).dump());
  ASSERT_TRUE(read.ok()) << read.error().message;
  EXPECT_EQ(read->verification_error_code, ErrorCode::kInvalidArgument);
  Judge(*read);
  EXPECT_EQ(read->exit_code, kExitUsage);
}

// A verify report's load was not measured: it says so in the JSON, keeps it when read back, and
// its summary gives the ledger's outcomes instead of rates and latencies. Older reports measured.
TEST(ReadReportTest, AVerifyReportsLoadIsNotMeasured) {
  RunReport r = SyntheticRun();
  r.load_measured = false;
  Judge(r);
  const Json j = ReportToJson(r);
  EXPECT_EQ(j["load"]["measured"], false);
  auto read = ReadReport("x.json", j.dump());
  ASSERT_TRUE(read.ok()) << read.error().message;
  EXPECT_FALSE(read->load_measured);
  const std::string summary = RenderTerminalSummary(*read);
  EXPECT_NE(summary.find("load: not known (verify only)"), std::string::npos) << summary;
  EXPECT_NE(summary.find("ledger: 250 requests: 247 ok, 2 HTTP errors, 1 transport errors"),
            std::string::npos)
      << summary;
  EXPECT_EQ(summary.find("requests sent in"), std::string::npos) << summary;
  EXPECT_EQ(summary.find("latency ("), std::string::npos) << summary;
  EXPECT_EQ(summary.find("spans exported"), std::string::npos) << summary;

  Json old = ReportToJson(SyntheticRun());
  old["load"].erase("measured");
  auto read_old = ReadReport("old.json", old.dump());
  ASSERT_TRUE(read_old.ok()) << read_old.error().message;
  EXPECT_TRUE(read_old->load_measured);
}

// Late spans and each state of the backend's dependency list survive JSON -> ReadReport -> JSON,
// and judging the read report gives the same checks (the time-to-queryable expectation and the
// backend-graph check included).
TEST(ReadReportTest, RoundTripKeepsLateSpansAndEveryBackendGraphState) {
  for (const char* state : {"missing-and-unexpected", "clean", "not-served", "fetch-error", ""}) {
    SCOPED_TRACE(state);
    RunReport r = SyntheticRun();
    if (*state == '\0') {
      r.verification->backend_graph.reset();  // the verifier did not ask
    } else {
      r.verification->backend_graph = SyntheticBackendGraph(state);
    }
    r.expect.time_to_queryable_p99_ns = 2'000'000'000ull;  // exceeded: observed p99 is 3.4 s
    Judge(r);
    const Json first = ReportToJson(r);
    auto read = ReadReport("late.json", first.dump(2));
    ASSERT_TRUE(read.ok()) << read.error().message;
    EXPECT_EQ(WithoutHistogramFigures(ReportToJson(*read)).dump(2),
              WithoutHistogramFigures(first).dump(2));
    const TimeToQueryable& t = read->verification->time_to_queryable;
    EXPECT_EQ(t.late_hops, r.verification->time_to_queryable.late_hops);
    EXPECT_EQ(t.observed_p99_ns, 3'400'000'000ull);
    EXPECT_EQ(t.late_traces, 12u);
    EXPECT_EQ(t.late_floor_ns, 1'000'000'000ull);
    EXPECT_EQ(read->expect.time_to_queryable_p99_ns, 2'000'000'000ull);
    EXPECT_FALSE(read->expect.time_to_queryable_max_ns.has_value());
    EXPECT_TRUE(first["expect"]["time_to_queryable_max_ns"].is_null());
    ASSERT_EQ(read->verification->backend_graph.has_value(), *state != '\0');
    if (read->verification->backend_graph) {
      const BackendGraph& g = *read->verification->backend_graph;
      const BackendGraph& o = *r.verification->backend_graph;
      EXPECT_EQ(g.fetched, o.fetched);
      EXPECT_EQ(g.error, o.error);
      EXPECT_EQ(g.start_unix_micros, o.start_unix_micros);
      EXPECT_EQ(g.comparison.edges, o.comparison.edges);
      EXPECT_EQ(g.comparison.missing, o.comparison.missing);
      EXPECT_EQ(g.comparison.unexpected, o.comparison.unexpected);
      EXPECT_EQ(g.links, o.links);
    } else {
      EXPECT_TRUE(first["verification"]["backend_graph"].is_null());
    }
    Judge(*read);
    EXPECT_EQ(ReportToJson(*read)["checks"], first["checks"]);
    EXPECT_EQ(read->verdict, r.verdict);
  }
}

TEST(ReadReportTest, TheNewFieldsAreWrittenAsDocumented) {
  RunReport r = SyntheticRun();
  r.verification->backend_graph = SyntheticBackendGraph("missing-and-unexpected");
  const Json j = ReportToJson(r);
  const Json& hop = j["verification"]["time_to_queryable"]["late_hops"][0];
  EXPECT_EQ(hop.dump(), "{\"hop\":\"0.1.0.0\",\"caller\":\"payment\",\"callee\":\"fraud|check "
                        "<beta> & \\\"co\\\"\",\"kind\":\"SERVER\",\"traces\":9,"
                        "\"max_ns\":3900000000}");
  const Json& g = j["verification"]["backend_graph"];
  EXPECT_EQ(g["served"], true);
  EXPECT_EQ(g["error"], "");
  EXPECT_EQ(g["window_start_unix_micros"], 1'764'071'940'000'000ull);
  EXPECT_EQ(g["missing"], 1);
  EXPECT_EQ(g["unexpected"], 1);
  EXPECT_EQ(g["edges"][0].dump(),
            "{\"caller\":\"checkout\",\"callee\":\"payment\",\"in_topology\":true,"
            "\"expected_calls\":243.0,\"observed_calls\":0,\"status\":\"missing\"}");
  EXPECT_EQ(g["edges"][1]["status"], "unexpected");
  // The synthetic run's own list was not served: a reason, no edges.
  const Json not_served = ReportToJson(SyntheticRun())["verification"]["backend_graph"];
  EXPECT_EQ(not_served["served"], false);
  EXPECT_EQ(not_served["error"], "not served by this backend");
  EXPECT_TRUE(not_served["edges"].empty());
}

TEST(TerminalSummaryTest, NamesLateSpansAndMissingBackendEdges) {
  RunReport r = SyntheticRun();
  r.verification->backend_graph = SyntheticBackendGraph("missing-and-unexpected");
  Judge(r);
  const std::string text = RenderTerminalSummary(r);
  EXPECT_NE(text.find("  late spans payment -> fraud|check <beta> & \"co\" (hop 0.1.0.0, SERVER): "
                      "9 traces, up to 3.9s\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("backend dependency list: 1 expected edges missing, 1 unexpected\n"),
            std::string::npos)
      << text;
  r.verification->backend_graph = SyntheticBackendGraph("clean");
  EXPECT_EQ(RenderTerminalSummary(r).find("backend dependency list"), std::string::npos);
}

// Traces complete at their first poll only bound their time to queryable: the summary says how
// many, and gives the judged figures (traces seen arriving) apart.
TEST(TerminalSummaryTest, TimeToQueryableSaysWhichFiguresAreUpperBounds) {
  RunReport r = SyntheticRun();
  auto& t = r.verification->time_to_queryable;
  t.traces = 10;
  t.upper_bounds = 7;
  t.p50_ns = 2'000'000'000;
  t.p90_ns = t.p99_ns = t.max_ns = 4'000'000'000;
  t.precision_ns = 100'000'000;
  t.observed_p99_ns = 300'000'000;
  t.observed_max_ns = 310'000'000;
  std::string text = RenderTerminalSummary(r);
  EXPECT_NE(text.find("time to queryable: p50 2s  p90 4s  p99 4s  max 4s (10 traces, each +100ms "
                      "at most); 7 of them already complete at a first poll long after their "
                      "end, which only bounds them\n"
                      "  seen becoming queryable (3 traces): p99 300ms  max 310ms\n"),
            std::string::npos)
      << text;
  t.upper_bounds = 0;  // every sample seen arriving: one line
  text = RenderTerminalSummary(r);
  EXPECT_NE(text.find("(10 traces, each +100ms at most)\n"), std::string::npos) << text;
  EXPECT_EQ(text.find("seen becoming queryable"), std::string::npos) << text;
}

TEST(TerminalSummaryTest, VerificationAlongsideTheLoadSaysHowLongItWentOnAfter) {
  RunReport r = SyntheticRun();
  r.verification->elapsed_ns = 5'300'000'000;
  EXPECT_NE(RenderTerminalSummary(r).find("backend queries in 5.3s)"), std::string::npos);
  r.verification->streamed = true;
  r.verification->after_load_ns = 225'000'000;
  const std::string text = RenderTerminalSummary(r);
  EXPECT_NE(text.find("backend queries alongside the load, then 225ms)"), std::string::npos)
      << text;
  // Written and read back.
  auto read = ReadReport("streamed.json", ReportToJson(r).dump());
  ASSERT_TRUE(read.ok()) << read.error().message;
  EXPECT_TRUE(read->verification->streamed);
  EXPECT_EQ(read->verification->after_load_ns, 225'000'000u);
}

// Sampling verdicts and the observed graph were written but not read before; they are now, so a
// read report judged again keeps its sampling checks.
TEST(ReadReportTest, RoundTripKeepsSamplingAndTheObservedGraph) {
  RunReport r = SyntheticRun();
  r.verification->sampling = {{"checkout", "ratio(0.25)", 240, 52, 52.0 / 240, 0.25, 0.17,
                               0.27, 0.99, "pass", 2, {}, ""},
                              {"payment", "ratio(0.5)", 12, 3, 0.25, 0.5, 0.1, 0.5, 0.99,
                               "not enough traces", 0, {}, ""},
                              {"shipping", "parent-based(1)", 94, 94, 1, 1, 0.9, 1, 0.99, "pass",
                               0, {{"drop-span", 6}}, ""},
                              {"cart", "parent-based(1)", 0, 0, 0, 0, 0, 0, 0.99, "not judged", 0,
                               {}, "call trees vary per request"}};
  r.verification->parent_based_inconsistencies = 2;
  r.verification->evicted = 3;
  r.verification->backend_store = BackendStoreStats{3, 18, 1'700'000'000'000'000'000u, 100, 0};
  r.verification->graph = SyntheticBackendGraph("missing-and-unexpected").comparison;
  Judge(r);
  const Json first = ReportToJson(r);
  auto read = ReadReport("sampling.json", first.dump());
  ASSERT_TRUE(read.ok()) << read.error().message;
  EXPECT_EQ(WithoutHistogramFigures(ReportToJson(*read)).dump(2),
            WithoutHistogramFigures(first).dump(2));
  ASSERT_EQ(read->verification->sampling.size(), 4u);
  EXPECT_EQ(read->verification->sampling[0].k, 52u);
  EXPECT_EQ(read->verification->sampling[2].withheld_by_faults,
            (std::map<std::string, uint64_t>{{"drop-span", 6}}));
  EXPECT_EQ(read->verification->sampling[3].verdict, "not judged");
  EXPECT_EQ(read->verification->sampling[3].reason, "call trees vary per request");
  EXPECT_EQ(read->verification->evicted, 3u);
  ASSERT_TRUE(read->verification->backend_store.has_value());
  EXPECT_EQ(read->verification->backend_store->spans_evicted, 18u);
  EXPECT_EQ(read->verification->parent_based_inconsistencies, 2u);
  EXPECT_EQ(read->verification->graph.edges, r.verification->graph.edges);
  Judge(*read);
  EXPECT_EQ(ReportToJson(*read)["checks"], first["checks"]);
}

// Fields added to schema version 1 later are optional, so reports of earlier runs still read.
TEST(ReadReportTest, FieldsAddedWithinVersionOneAreOptional) {
  Json j = ReportToJson(SyntheticRun());
  j.erase("fail_on");
  j.erase("expect");
  j.erase("expected_edges");
  j["load"].erase("timeline");
  for (auto& c : j["checks"]) c.erase("enforced");
  for (auto& ex : j["verification"]["examples"]) ex.erase("timings");
  for (const char* key : {"observed_p99_ns", "observed_max_ns", "late_traces", "late_floor_ns",
                          "late_hops"}) {
    j["verification"]["time_to_queryable"].erase(key);
  }
  j["verification"].erase("backend_graph");
  j["verification"].erase("sampling");
  j["verification"].erase("graph");
  auto read = ReadReport("old.json", j.dump());
  ASSERT_TRUE(read.ok()) << read.error().message;
  EXPECT_EQ(read->fail_on, FailOn{});
  EXPECT_EQ(read->expect.completeness, 1.0);
  EXPECT_TRUE(read->expected_edges.empty());
  EXPECT_TRUE(read->checks[1].enforced);
  EXPECT_TRUE(read->load.timeline.points().empty());
  EXPECT_TRUE(read->verification->examples[0].timings.empty());
  EXPECT_FALSE(read->expect.time_to_queryable_p99_ns.has_value());
  EXPECT_EQ(read->verification->time_to_queryable.traces, 240u);
  EXPECT_TRUE(read->verification->time_to_queryable.late_hops.empty());
  EXPECT_FALSE(read->verification->backend_graph.has_value());
  EXPECT_TRUE(read->verification->sampling.empty());
}

TEST(ReadReportTest, RoundTripKeepsExportFailuresAndNotExportedTraces) {
  RunReport r = SyntheticRun();
  r.exporter.endpoint = "zipkin://127.0.0.1:9411/api/v2/spans";
  r.exporter.failures = {{"shutdown", 4, "abandoned at shutdown, never sent"}};
  r.exporter.lost_traces = 2;
  r.exporter.lost_untracked_spans = 1;
  r.verification->not_exported = 2;
  auto read = ReadReport("export.json", ReportToJson(r).dump());
  ASSERT_TRUE(read.ok()) << read.error().message;
  EXPECT_EQ(read->exporter.endpoint, r.exporter.endpoint);
  EXPECT_EQ(read->exporter.failures, r.exporter.failures);
  EXPECT_EQ(read->exporter.lost_traces, 2u);
  EXPECT_EQ(read->exporter.lost_untracked_spans, 1u);
  EXPECT_EQ(read->verification->not_exported, 2u);
  // Absent in reports written before: nothing lost.
  Json old = ReportToJson(SyntheticRun());
  for (const char* key : {"endpoint", "failures", "lost_traces", "lost_untracked_spans"}) {
    old["export"].erase(key);
  }
  old["verification"].erase("not_exported");
  auto read_old = ReadReport("old.json", old.dump());
  ASSERT_TRUE(read_old.ok()) << read_old.error().message;
  EXPECT_TRUE(read_old->exporter.failures.empty());
  EXPECT_EQ(read_old->verification->not_exported, 0u);
}

TEST(ReadReportTest, RoundTripKeepsOrphanCausesAndOlderReportsHaveNone) {
  RunReport r = SyntheticRun();
  r.verification->orphan_causes = {
      {"recommender", "always", "checkout", "ratio(0.25)", "checkout", 113, 4, TraceId{0, 0x2a}},
      {"payment", "always", "tracerig-driver", "sampled=0", "checkout", 7, 9, TraceId{1, 2}}};
  const Json written = ReportToJson(r);
  EXPECT_EQ(written["verification"]["orphan_causes"][0].dump(),
            "{\"service\":\"recommender\",\"policy\":\"always\",\"cause_service\":"
            "\"checkout\",\"cause_policy\":\"ratio(0.25)\",\"parent_service\":\"checkout\","
            "\"traces\":113,\"example_sequence\":4,\"example_trace_id\":"
            "\"0000000000000000000000000000002a\"}");
  auto read = ReadReport("orphans.json", written.dump());
  ASSERT_TRUE(read.ok()) << read.error().message;
  EXPECT_EQ(read->verification->orphan_causes, r.verification->orphan_causes);
  Json old = ReportToJson(SyntheticRun());
  old["verification"].erase("orphan_causes");
  auto read_old = ReadReport("old.json", old.dump());
  ASSERT_TRUE(read_old.ok()) << read_old.error().message;
  EXPECT_TRUE(read_old->verification->orphan_causes.empty());
  Json bad = written;
  bad["verification"]["orphan_causes"][1]["traces"] = "seven";
  auto read_bad = ReadReport("bad.json", bad.dump());
  ASSERT_FALSE(read_bad.ok());
  EXPECT_NE(read_bad.error().message.find("verification.orphan_causes[1].traces"),
            std::string::npos)
      << read_bad.error().message;
}

TEST(ReadReportTest, RoundTripKeepsTransportErrorReasonsAndOlderReportsHaveNone) {
  RunReport r = SyntheticRun();
  r.load.ok = 240;
  r.load.transport_errors = 8;
  r.load.transport_error_reasons = {{"connection refused", 6, "connect: Connection refused"},
                                    {"tls handshake", 2, ""}};
  const Json j = ReportToJson(r);
  EXPECT_EQ(j["load"]["transport_error_reasons"][0].dump(),
            R"({"reason":"connection refused","count":6,"first_message":"connect: Connection refused"})");
  auto read = ReadReport("reasons.json", j.dump());
  ASSERT_TRUE(read.ok()) << read.error().message;
  ASSERT_EQ(read->load.transport_error_reasons.size(), 2u);
  EXPECT_EQ(read->load.transport_error_reasons[0].reason, "connection refused");
  EXPECT_EQ(read->load.transport_error_reasons[0].count, 6u);
  EXPECT_EQ(read->load.transport_error_reasons[0].first_message, "connect: Connection refused");
  EXPECT_EQ(read->load.transport_error_reasons[1].reason, "tls handshake");
  EXPECT_EQ(read->load.transport_error_reasons[1].first_message, "");
  // A kind this tracerig does not name (written by a newer one) is read as written.
  Json newer = j;
  newer["load"]["transport_error_reasons"][1]["reason"] = "quic version";
  auto read_newer = ReadReport("newer.json", newer.dump());
  ASSERT_TRUE(read_newer.ok()) << read_newer.error().message;
  EXPECT_EQ(read_newer->load.transport_error_reasons[1].reason, "quic version");
  // Written before kinds were recorded: the errors are there, their kinds are not.
  Json old = j;
  old["load"].erase("transport_error_reasons");
  auto read_old = ReadReport("old.json", old.dump());
  ASSERT_TRUE(read_old.ok()) << read_old.error().message;
  EXPECT_EQ(read_old->load.transport_errors, 8u);
  EXPECT_TRUE(read_old->load.transport_error_reasons.empty());
  EXPECT_EQ(RenderTerminalSummary(*read_old).find("transport errors: "), std::string::npos);
}

TEST(ReadReportTest, RoundTripKeepsTheHopsBelowRealServices) {
  RunReport r = SyntheticRun();
  ExternalHopCounts h;
  h.external = "fraud-check";
  h.callee = "payment";
  h.requests = 40;
  h.tied = {{"baggage", 30}, {"single request in flight", 2}};
  h.untied_continued = 5;
  h.untied_not_continued = 3;
  h.broken_traces = 4;
  h.attribution = "per request and by counts";
  r.verification->external_hops = {h};
  auto read = ReadReport("external.json", ReportToJson(r).dump());
  ASSERT_TRUE(read.ok()) << read.error().message;
  EXPECT_EQ(read->verification->external_hops, r.verification->external_hops);
  EXPECT_EQ(WithoutHistogramFigures(ReportToJson(*read)), WithoutHistogramFigures(ReportToJson(r)));
  // Without calls below a real service the field is not written, and reads back empty.
  auto without = ReadReport("plain.json", ReportToJson(SyntheticRun()).dump());
  ASSERT_TRUE(without.ok()) << without.error().message;
  EXPECT_TRUE(without->verification->external_hops.empty());
}

struct BadCase {
  const char* what;
  std::function<void(Json&)> mutate;
  const char* message;  // exact, after "bad.json: "
};

TEST(ReadReportTest, MalformedReportsNameTheFieldAndTheProblem) {
  const BadCase cases[] = {
      {"not an object", [](Json& j) { j = Json::array(); },
       "top level: expected an object, found []"},
      {"no schema version", [](Json& j) { j.erase("schema_version"); },
       "schema_version: missing: not a tracerig report.json"},
      {"newer schema", [](Json& j) { j["schema_version"] = 2; },
       "schema_version: 2 is not supported (this tracerig reads 1)"},
      {"schema as string", [](Json& j) { j["schema_version"] = "1"; },
       "schema_version: \"1\" is not supported (this tracerig reads 1)"},
      {"missing field", [](Json& j) { j["load"].erase("sent"); }, "load.sent: missing"},
      {"string count", [](Json& j) { j["load"]["sent"] = "12"; },
       "load.sent: expected a non-negative integer, found \"12\""},
      {"negative count", [](Json& j) { j["export"]["exported"] = -1; },
       "export.exported: expected a non-negative integer, found -1"},
      {"bool as string", [](Json& j) { j["export"]["flushed"] = "yes"; },
       "export.flushed: expected true or false, found \"yes\""},
      {"histogram count", [](Json& j) { j["load"]["latency_corrected"]["count"] = 251; },
       "load.latency_corrected: count is 251 but the buckets hold 250"},
      {"bucket shape", [](Json& j) { j["load"]["schedule_lag"]["buckets"][0] = Json::array({1}); },
       "load.schedule_lag.buckets[0]: expected [lower bound ns, count], found [1]"},
      {"bad trace id", [](Json& j) { j["verification"]["examples"][0]["trace_id"] = "xyz"; },
       "verification.examples[0].trace_id: expected 32 hex digits, found \"xyz\""},
      {"bad status", [](Json& j) { j["verification"]["examples"][2]["status"] = "lost"; },
       "verification.examples[2].status: expected \"complete\", \"incomplete\", \"broken\", "
       "\"missing\" or \"not-exported\", found \"lost\""},
      {"bad span kind",
       [](Json& j) { j["verification"]["examples"][1]["missing"][0]["kind"] = "server"; },
       "verification.examples[1].missing[0].kind: expected a span kind like \"SERVER\", found "
       "\"server\""},
      {"bad request id", [](Json& j) { j["verification"]["examples"][0]["request_id"] = "12"; },
       "verification.examples[0].request_id: expected 16 hex digits, found \"12\""},
      {"bad time", [](Json& j) { j["started_at"] = "yesterday"; },
       "started_at: expected a UTC time like \"2025-11-25T12:00:00Z\", found \"yesterday\""},
      {"bad fail_on", [](Json& j) { j["fail_on"] = "sampling,latency"; },
       "fail_on: --fail-on: unknown check kind \"latency\"; kinds: completeness, "
       "broken-propagation, spans-exported, trace-structure, orphans, verification-deadline, sampling, "
       "time-to-queryable, backend-graph (or all, none)"},
      {"checks not an array", [](Json& j) { j["checks"] = Json::object(); },
       "checks: expected an array, found {}"},
      {"scenario not an object", [](Json& j) { j["scenario"] = "shop"; },
       "scenario: expected an object, found \"shop\""},
      {"zero interval", [](Json& j) { j["load"]["timeline"]["interval_ns"] = 0; },
       "load.timeline.interval_ns: must be above 0"},
      {"point out of place", [](Json& j) { j["load"]["timeline"]["points"][2]["start_ns"] = 5; },
       "load.timeline.points[2].start_ns: expected 2000000000 (point 2 of 1000000000 ns "
       "intervals), found 5"},
      {"more errors than requests",
       [](Json& j) { j["load"]["timeline"]["points"][1]["errors"] = 51; },
       "load.timeline.points[1].errors: 51 errors among 50 requests"},
      {"more latencies than requests",
       [](Json& j) { j["load"]["timeline"]["points"][0]["requests"] = 10; },
       "load.timeline.points[0].latency_corrected: 50 latencies among 10 requests"},
      {"point histogram count",
       [](Json& j) { j["load"]["timeline"]["points"][4]["latency_corrected"]["count"] = 7; },
       "load.timeline.points[4].latency_corrected: count is 7 but the buckets hold 50"},
      {"too many points",
       [](Json& j) {
         Json& points = j["load"]["timeline"]["points"];
         while (points.size() <= 600) points.push_back(points[0]);
       },
       "load.timeline.points: 601 points, at most 600 allowed"},
      {"timing ends before it starts",
       [](Json& j) { j["verification"]["examples"][0]["timings"][1]["end_unix_nano"] = 1; },
       "verification.examples[0].timings[1].end_unix_nano: 1 is before start_unix_nano "
       "1764072000061000000"},
      {"timing kind",
       [](Json& j) { j["verification"]["examples"][0]["timings"][0]["kind"] = "client"; },
       "verification.examples[0].timings[0].kind: expected a span kind like \"SERVER\", found "
       "\"client\""},
      {"late hop kind",
       [](Json& j) { j["verification"]["time_to_queryable"]["late_hops"][1]["kind"] = "client"; },
       "verification.time_to_queryable.late_hops[1].kind: expected a span kind like \"SERVER\", "
       "found \"client\""},
      {"late hop traces",
       [](Json& j) { j["verification"]["time_to_queryable"]["late_hops"][0]["traces"] = "9"; },
       "verification.time_to_queryable.late_hops[0].traces: expected a non-negative integer, "
       "found \"9\""},
      {"more upper bounds than traces",
       [](Json& j) { j["verification"]["time_to_queryable"]["upper_bounds"] = 241; },
       "verification.time_to_queryable.upper_bounds: 241 upper bounds among 240 traces"},
      {"backend graph not an object", [](Json& j) { j["verification"]["backend_graph"] = 1; },
       "verification.backend_graph: expected an object, found 1"},
      {"served as string", [](Json& j) { j["verification"]["backend_graph"]["served"] = "no"; },
       "verification.backend_graph.served: expected true or false, found \"no\""},
      {"not served without a reason",
       [](Json& j) {
         j["verification"]["backend_graph"]["served"] = false;
         j["verification"]["backend_graph"]["error"] = "";
       },
       "verification.backend_graph.error: empty, but served is false: a list not compared needs a "
       "reason"},
      {"backend edge status",
       [](Json& j) { j["verification"]["backend_graph"]["edges"][0]["status"] = "gone"; },
       "verification.backend_graph.edges[0].status: expected one of \"ok\", \"missing\", "
       "\"unexpected\", \"count-mismatch\", found \"gone\""},
      {"backend edge calls",
       [](Json& j) { j["verification"]["backend_graph"]["edges"][1]["observed_calls"] = -31; },
       "verification.backend_graph.edges[1].observed_calls: expected a non-negative integer, "
       "found -31"},
      {"transport error kinds not an array",
       [](Json& j) { j["load"]["transport_error_reasons"] = "connection refused"; },
       "load.transport_error_reasons: expected an array, found \"connection refused\""},
      {"transport error kind without a name",
       [](Json& j) { j["load"]["transport_error_reasons"][0]["reason"] = ""; },
       "load.transport_error_reasons[0].reason: empty"},
      {"transport error count as string",
       [](Json& j) { j["load"]["transport_error_reasons"][0]["count"] = "1"; },
       "load.transport_error_reasons[0].count: expected a non-negative integer, found \"1\""},
      {"transport error kinds past the total",
       [](Json& j) { j["load"]["transport_error_reasons"][0]["count"] = 2; },
       "load.transport_error_reasons: counts sum to 2, more than load.transport_errors (1)"},
      {"expectation as string", [](Json& j) { j["expect"]["time_to_queryable_p99_ns"] = "2s"; },
       "expect.time_to_queryable_p99_ns: expected a non-negative integer, found \"2s\""},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    RunReport r = SyntheticRun();
    r.verification->backend_graph = SyntheticBackendGraph("missing-and-unexpected");
    Json j = ReportToJson(r);
    c.mutate(j);
    auto read = ReadReport("bad.json", j.dump());
    ASSERT_FALSE(read.ok());
    EXPECT_EQ(read.error().message, std::string("bad.json: ") + c.message);
  }
}

TEST(ReadReportTest, InvalidJsonSaysWhere) {
  auto read = ReadReport("runs/a/report.json", "{\"schema_version\": 1,");
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.error().message.rfind("runs/a/report.json: not a tracerig report: parse error at "
                                       "line 1, column ",
                                       0),
            0u)
      << read.error().message;
}

TEST(ReadReportTest, ReadsAFolderOrAFileAndNamesMissingOnes) {
  const std::filesystem::path dir = test_support::MakeScratchDir("tracerig-read-report");
  ASSERT_FALSE(dir.empty());
  {
    std::ofstream out(dir / "report.json");
    out << ReportToJson(SyntheticRun()).dump(2);
  }
  auto by_dir = ReadReportFile(dir.string());
  ASSERT_TRUE(by_dir.ok()) << by_dir.error().message;
  auto by_file = ReadReportFile((dir / "report.json").string());
  ASSERT_TRUE(by_file.ok()) << by_file.error().message;
  EXPECT_EQ(ReportToJson(*by_dir), ReportToJson(*by_file));
  const std::string missing = (dir / "nope").string();
  auto absent = ReadReportFile(missing);
  ASSERT_FALSE(absent.ok());
  EXPECT_EQ(absent.error().message,
            missing + ": cannot read file (give a run's report folder or its report.json)");
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace tracerig
