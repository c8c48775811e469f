// MergeReports (sums, merged histograms, pooled examples, judged again) and DiffReports
// (regressions of B against A beyond a threshold).
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "core/units.h"
#include "report/diff.h"
#include "report/merge.h"
#include "report/read_report.h"
#include "report/render.h"
#include "synthetic_report.h"

namespace tracerig {
namespace {

TEST(MergeTest, SumsCountsMergesHistogramsAndJudgesAgain) {
  RunReport a = SyntheticRun();
  RunReport b = SyntheticRun();
  b.started_unix_nano += 60'000'000'000ull;
  b.finished_unix_nano += 60'000'000'000ull;
  b.load.elapsed_ns = 6'000'000'000ull;
  auto merged = MergeReports({a, b});
  ASSERT_TRUE(merged.ok()) << merged.error().message;
  const RunReport& m = *merged;
  EXPECT_EQ(m.load.sent, 500u);
  EXPECT_EQ(m.load.ok, 494u);
  EXPECT_EQ(m.load.elapsed_ns, 6'000'000'000ull);  // shards run side by side: the longest
  EXPECT_EQ(m.target_rate, 100);
  EXPECT_EQ(m.load.corrected.count(), 500u);
  EXPECT_EQ(m.load.corrected.Percentile(50), a.load.corrected.Percentile(50));
  EXPECT_EQ(m.exporter.dropped_queue_full, 24u);
  EXPECT_EQ(m.started_unix_nano, a.started_unix_nano);
  EXPECT_EQ(m.finished_unix_nano, b.finished_unix_nano);
  ASSERT_TRUE(m.verification.has_value());
  EXPECT_EQ(m.verification->checked, 500u);
  EXPECT_EQ(m.verification->complete, 480u);
  ASSERT_EQ(m.verification->break_edges.size(), 2u);
  EXPECT_EQ(m.verification->break_edges[0].traces, 12u);
  EXPECT_EQ(m.verification->break_edges[0].hop, "0.1.0");
  // Each report has 5 broken, 1 incomplete and 1 missing example; at most 5 per status stay.
  size_t broken = 0;
  for (const auto& ex : m.verification->examples) broken += ex.status == TraceStatus::kBroken;
  EXPECT_EQ(broken, 5u);
  EXPECT_EQ(m.verification->examples.size(), 9u);
  EXPECT_EQ(m.services.size(), 4u);
  EXPECT_EQ(m.exit_code, kExitConformanceFailure);
  EXPECT_EQ(m.checks[0].message,
            "0.9600 of traces complete (480 of 500), expected at least 0.95");
}

// Orphan causes add up per cause (service, cause and parent), most traces first, and fail the
// merged report once per cause.
TEST(MergeTest, OrphanCausesAddUpPerCause) {
  RunReport a = SyntheticRun();
  RunReport b = SyntheticRun();
  a.verification->orphan_causes = {
      {"recommender", "always", "checkout", "ratio(0.25)", "checkout", 3, 4, TraceId{0, 4}}};
  b.verification->orphan_causes = {
      {"payment", "always", "tracerig-driver", "sampled=0", "checkout", 2, 1, TraceId{0, 1}},
      {"recommender", "always", "checkout", "ratio(0.25)", "checkout", 110, 8, TraceId{0, 8}}};
  auto merged = MergeReports({a, b});
  ASSERT_TRUE(merged.ok()) << merged.error().message;
  const auto& causes = merged->verification->orphan_causes;
  ASSERT_EQ(causes.size(), 2u);
  EXPECT_EQ(causes[0].service, "recommender");
  EXPECT_EQ(causes[0].traces, 113u);
  EXPECT_EQ(causes[1].cause_service, "tracerig-driver");
  EXPECT_EQ(causes[1].traces, 2u);
  size_t failed = 0;
  for (const auto& c : merged->checks) failed += c.name.starts_with("orphans:") && !c.passed;
  EXPECT_EQ(failed, 2u);
}

// Evicted and not-exported traces, and the exporter's losses by reason, add up like the other
// counts; the first error of a reason stays the first report's.
TEST(MergeTest, EvictedNotExportedAndExportFailuresAddUp) {
  RunReport a = SyntheticRun();
  RunReport b = SyntheticRun();
  b.started_unix_nano += 60'000'000'000ull;
  b.finished_unix_nano += 60'000'000'000ull;
  a.verification->evicted = 3;
  b.verification->evicted = 4;
  a.verification->not_exported = 1;
  b.verification->not_exported = 2;
  a.exporter.failures = {{"retries-exhausted", 10, "after 5 retries: refused"}};
  b.exporter.failures = {{"retries-exhausted", 5, "after 5 retries: reset"},
                         {"permanent", 2, "refused for good: HTTP 400"}};
  a.exporter.lost_traces = 4;
  b.exporter.lost_traces = 6;
  auto merged = MergeReports({a, b});
  ASSERT_TRUE(merged.ok()) << merged.error().message;
  EXPECT_EQ(merged->verification->evicted, 7u);
  EXPECT_EQ(merged->verification->not_exported, 3u);
  EXPECT_EQ(merged->exporter.lost_traces, 10u);
  ASSERT_EQ(merged->exporter.failures.size(), 2u);
  EXPECT_EQ(merged->exporter.failures[0].spans, 15u);
  EXPECT_EQ(merged->exporter.failures[0].first_error, "after 5 retries: refused");
  EXPECT_EQ(merged->exporter.failures[1].reason, "permanent");
}

// Transport errors add up per kind, keep the first message seen, and come most frequent first; a
// report written before kinds were recorded leaves its errors "of no recorded kind".
TEST(MergeTest, TransportErrorReasonsAddUpPerKindMostFrequentFirst) {
  RunReport a = SyntheticRun();
  RunReport b = SyntheticRun();
  b.started_unix_nano += 60'000'000'000ull;
  b.finished_unix_nano += 60'000'000'000ull;
  a.load.ok = 240;
  a.load.transport_errors = 8;
  a.load.transport_error_reasons = {{"timeout", 5, "read: timed out after 2s"},
                                    {"connection reset", 3, "read: reset by peer (a)"}};
  b.load.ok = 241;
  b.load.transport_errors = 7;
  b.load.transport_error_reasons = {{"connection reset", 6, "read: reset by peer (b)"},
                                    {"connection refused", 1, "connect: Connection refused"}};
  auto merged = MergeReports({a, b});
  ASSERT_TRUE(merged.ok()) << merged.error().message;
  const auto& reasons = merged->load.transport_error_reasons;
  ASSERT_EQ(reasons.size(), 3u);
  EXPECT_EQ(reasons[0].reason, "connection reset");
  EXPECT_EQ(reasons[0].count, 9u);
  EXPECT_EQ(reasons[0].first_message, "read: reset by peer (a)");
  EXPECT_EQ(reasons[1].reason, "timeout");
  EXPECT_EQ(reasons[1].count, 5u);
  EXPECT_EQ(reasons[2].reason, "connection refused");
  EXPECT_EQ(merged->load.transport_errors, 15u);
  EXPECT_EQ(DescribeTransportErrors(merged->load),
            "9 connection reset: read: reset by peer (a); 5 timeout: read: timed out after 2s; "
            "1 connection refused: connect: Connection refused");

  RunReport older = b;
  older.load.transport_error_reasons.clear();
  merged = MergeReports({a, older});
  ASSERT_TRUE(merged.ok()) << merged.error().message;
  EXPECT_EQ(DescribeTransportErrors(merged->load),
            "5 timeout: read: timed out after 2s; 3 connection reset: read: reset by peer (a); "
            "7 of no recorded kind");
}

TEST(MergeTest, IngestAndSamplingExpectationsAddUpAndAreJudgedAgain) {
  RunReport a = SyntheticRun();
  RunReport b = SyntheticRun();
  b.ingest.window_ns = 7'000'000'000;
  b.ingest.backend_spans_accepted.reset();  // a backend that does not say
  SamplingExpectationVerdict errors;
  errors.name = "errors";
  errors.n = 10;
  errors.k = 10;
  errors.verdict = "pass";
  errors.trace_level = true;
  SamplingExpectationVerdict ratio;
  ratio.name = "payment";
  ratio.n = 100;
  ratio.k = 50;
  ratio.expected = 0.5;
  ratio.confidence = 0.99;
  ratio.verdict = "pass";
  a.verification->sampling_expectations = {errors, ratio};
  errors.k = 9;
  errors.verdict = "fail";
  ratio.k = 90;  // far off 0.5 on its own, and still off when pooled: 140 of 200
  ratio.verdict = "fail";
  b.verification->sampling_expectations = {errors, ratio};
  auto merged = MergeReports({a, b});
  ASSERT_TRUE(merged.ok()) << merged.error().message;
  const RunReport& m = *merged;
  EXPECT_EQ(m.ingest.spans_exported, 2 * a.ingest.spans_exported);
  EXPECT_EQ(m.ingest.window_ns, 7'000'000'000u);
  EXPECT_DOUBLE_EQ(m.ingest.spans_per_second, 2.0 * 1736 / 7);
  EXPECT_FALSE(m.ingest.backend_spans_accepted.has_value());
  EXPECT_EQ(m.ingest.backend_requests_rejected, std::optional<uint64_t>(0));
  const auto& e = m.verification->sampling_expectations;
  ASSERT_EQ(e.size(), 2u);
  EXPECT_EQ(e[0].n, 20u);
  EXPECT_EQ(e[0].k, 19u);
  EXPECT_EQ(e[0].verdict, "fail");
  EXPECT_TRUE(e[0].trace_level);
  EXPECT_EQ(e[1].n, 200u);
  EXPECT_EQ(e[1].k, 140u);
  EXPECT_EQ(e[1].verdict, "fail");
  EXPECT_LT(e[1].interval_high, 0.8);
  EXPECT_GT(e[1].interval_low, 0.6);
}

TEST(MergeTest, TimelinesAddPointByPointAndWidenToACommonInterval) {
  RunReport a = SyntheticRun();
  RunReport b = SyntheticRun();
  // b ran one second longer, with a stall in its last second.
  b.load.timeline.Record(5'500'000'000ull, 900'000'000ull, true, true);
  auto merged = MergeReports({a, b});
  ASSERT_TRUE(merged.ok()) << merged.error().message;
  const LatencyTimeline& t = merged->load.timeline;
  EXPECT_EQ(t.interval_ns(), 1'000'000'000ull);
  ASSERT_EQ(t.points().size(), 6u);
  EXPECT_EQ(t.points()[0].requests, 100u);
  EXPECT_EQ(t.points()[3].errors, 6u);
  EXPECT_EQ(t.points()[4].corrected.ToDense().Percentile(50),
            a.load.timeline.points()[4].corrected.ToDense().Percentile(50));
  EXPECT_EQ(t.points()[5].requests, 1u);
  EXPECT_EQ(t.points()[5].corrected.ToDense().max(), 900'000'000ull);

  // A run with 2 s intervals: the merge has 2 s intervals too, every request kept.
  RunReport c = SyntheticRun();
  c.load.timeline = LatencyTimeline(2'000'000'000ull);
  for (uint64_t k = 0; k < 250; ++k) {
    c.load.timeline.Record(k * 20'000'000ull, 1'000'000, false, true);
  }
  auto widened = MergeReports({a, c});
  ASSERT_TRUE(widened.ok()) << widened.error().message;
  const LatencyTimeline& w = widened->load.timeline;
  EXPECT_EQ(w.interval_ns(), 2'000'000'000ull);
  ASSERT_EQ(w.points().size(), 3u);
  EXPECT_EQ(w.points()[0].requests, 200u);  // a's seconds 0 and 1 (100) and c's 0-2 s (100)
  EXPECT_EQ(w.points()[2].requests, 100u);  // a's second 4 (50) and c's 4-5 s (50)
}

TEST(MergeTest, AMergeOfOneIsTheSameReport) {
  RunReport a = SyntheticRun();
  auto merged = MergeReports({a});
  ASSERT_TRUE(merged.ok()) << merged.error().message;
  EXPECT_EQ(ReportToJson(*merged).dump(2), ReportToJson(a).dump(2));
  for (const char* state : {"missing-and-unexpected", "clean", "fetch-error"}) {
    a.verification->backend_graph = SyntheticBackendGraph(state);
    Judge(a);
    merged = MergeReports({a});
    ASSERT_TRUE(merged.ok()) << merged.error().message;
    EXPECT_EQ(ReportToJson(*merged).dump(2), ReportToJson(a).dump(2)) << state;
  }
}

TEST(MergeTest, FailOnReplacesTheReportsOwn) {
  auto merged = MergeReports({SyntheticRun(), SyntheticRun()}, *ParseFailOn("completeness"));
  ASSERT_TRUE(merged.ok()) << merged.error().message;
  EXPECT_EQ(merged->exit_code, kExitPass);
}

TEST(MergeTest, VerificationErrorsAndSkipsCarryOver) {
  RunReport a = SyntheticRun();
  RunReport b = SyntheticRun();
  b.verification.reset();
  b.verification_error = "backend unreachable: timeout";
  auto merged = MergeReports({a, b});
  ASSERT_TRUE(merged.ok());
  EXPECT_EQ(merged->exit_code, kExitInfrastructure);
  EXPECT_EQ(merged->verdict, "ERROR: report 2: backend unreachable: timeout");
  b.verification_error.clear();
  b.verification_skipped = true;
  merged = MergeReports({a, b});
  ASSERT_TRUE(merged.ok());
  EXPECT_FALSE(merged->verification_skipped);
  EXPECT_EQ(merged->verification->checked, 250u);
}

// Late hops add up per hop and kind with the largest max; time-to-queryable counts add up and
// percentiles take the largest report's (an upper bound of the merged one).
TEST(MergeTest, LateSpansAddUpPerHopAndPercentilesTakeTheLargest) {
  RunReport a = SyntheticRun();
  RunReport b = SyntheticRun();
  auto& tb = b.verification->time_to_queryable;
  tb.p99_ns = 5'000'000'000ull;
  tb.observed_max_ns = 5'500'000'000ull;
  tb.late_hops[1].traces = 20;  // checkout -> payment (CLIENT) is now the most frequent
  tb.late_hops[1].max_ns = 1'500'000'000ull;
  tb.late_hops.push_back({"0.1", "frontend", "checkout", SpanKind::kServer, 1, 1'100'000'000ull});
  auto merged = MergeReports({a, b});
  ASSERT_TRUE(merged.ok()) << merged.error().message;
  const TimeToQueryable& t = merged->verification->time_to_queryable;
  EXPECT_EQ(t.traces, 480u);
  EXPECT_EQ(t.upper_bounds, 400u);
  EXPECT_EQ(t.late_traces, 24u);
  EXPECT_EQ(t.p50_ns, 1'200'000'000ull);
  EXPECT_EQ(t.p99_ns, 5'000'000'000ull);
  EXPECT_EQ(t.observed_max_ns, 5'500'000'000ull);
  const std::vector<LateHop> expected = {
      {"0.1.0", "checkout", "payment", SpanKind::kClient, 23, 2'500'000'000ull},
      {"0.1.0.0", "payment", "fraud|check <beta> & \"co\"", SpanKind::kServer, 18,
       3'900'000'000ull},
      {"0.1", "frontend", "checkout", SpanKind::kServer, 1, 1'100'000'000ull}};
  EXPECT_EQ(t.late_hops, expected);
}

// Backend graphs: an edge missing or unexpected in any served list stays so; the backend's count
// is the largest; reports without a served list are named; all "not served" stays "not served".
TEST(MergeTest, BackendGraphsKeepEveryMissingAndUnexpectedEdge) {
  RunReport a = SyntheticRun();
  RunReport b = SyntheticRun();
  a.verification->backend_graph = SyntheticBackendGraph("clean");
  b.verification->backend_graph = SyntheticBackendGraph("missing-and-unexpected");
  b.verification->backend_graph->end_unix_micros += 60'000'000;
  auto merged = MergeReports({a, b});
  ASSERT_TRUE(merged.ok()) << merged.error().message;
  ASSERT_TRUE(merged->verification->backend_graph.has_value());
  const BackendGraph& g = *merged->verification->backend_graph;
  EXPECT_TRUE(g.fetched);
  EXPECT_EQ(g.error, "");
  EXPECT_EQ(g.start_unix_micros, a.verification->backend_graph->start_unix_micros);
  EXPECT_EQ(g.end_unix_micros, b.verification->backend_graph->end_unix_micros);
  EXPECT_EQ(g.comparison.missing, 1u);
  EXPECT_EQ(g.comparison.unexpected, 1u);
  ASSERT_EQ(g.comparison.edges.size(), 5u);
  EXPECT_EQ(g.comparison.edges[0].callee, "payment");
  EXPECT_EQ(g.comparison.edges[0].status, "missing");
  EXPECT_EQ(g.comparison.edges[0].observed_calls, 250u);  // a's count: the largest
  EXPECT_EQ(g.comparison.edges[0].expected_calls, 486);
  EXPECT_EQ(g.comparison.edges[1].callee, "warehouse");
  EXPECT_EQ(g.comparison.edges[1].status, "unexpected");
  EXPECT_EQ(g.comparison.edges[2].status, "ok");
  EXPECT_EQ(g.links.size(), 5u);
  bool failed = false;
  for (const auto& c : merged->checks) {
    if (c.name == "backend-graph") {
      failed = !c.passed;
      EXPECT_EQ(c.message.rfind("the backend's dependency list lacks 1 of 4 expected edges: "
                                "checkout -> payment",
                                0),
                0u)
          << c.message;
    }
  }
  EXPECT_TRUE(failed);

  // One list served, one not: the served one is compared, the other named.
  b.verification->backend_graph = SyntheticBackendGraph("not-served");
  merged = MergeReports({a, b});
  ASSERT_TRUE(merged.ok()) << merged.error().message;
  EXPECT_TRUE(merged->verification->backend_graph->fetched);
  EXPECT_EQ(merged->verification->backend_graph->error, "report 2: not served by this backend");
  EXPECT_EQ(merged->verification->backend_graph->comparison.missing, 0u);

  // Neither served: the same reason, and no check, as for each report alone.
  a.verification->backend_graph = SyntheticBackendGraph("not-served");
  merged = MergeReports({a, b});
  ASSERT_TRUE(merged.ok()) << merged.error().message;
  EXPECT_FALSE(merged->verification->backend_graph->fetched);
  EXPECT_EQ(merged->verification->backend_graph->error, "not served by this backend");
  for (const auto& c : merged->checks) EXPECT_NE(c.name, "backend-graph");

  // Two different failures: both named, and the check says it did not compare.
  a.verification->backend_graph = SyntheticBackendGraph("fetch-error");
  merged = MergeReports({a, b});
  ASSERT_TRUE(merged.ok()) << merged.error().message;
  EXPECT_EQ(merged->verification->backend_graph->error,
            "report 1: GET /api/dependencies: HTTP 503 from 127.0.0.1:16686; report 2: not served "
            "by this backend");

  // Reports whose verifier did not ask have nothing to add.
  a.verification->backend_graph.reset();
  b.verification->backend_graph.reset();
  merged = MergeReports({a, b});
  ASSERT_TRUE(merged.ok()) << merged.error().message;
  EXPECT_FALSE(merged->verification->backend_graph.has_value());
}

TEST(MergeTest, RefusesDifferentScenariosOrExpectations) {
  RunReport a = SyntheticRun();
  RunReport b = SyntheticRun();
  b.scenario_name = "bank";
  auto merged = MergeReports({a, b});
  ASSERT_FALSE(merged.ok());
  EXPECT_EQ(merged.error().message,
            "report 2 is of scenario \"bank\", report 1 of \"shop\": only runs of one scenario "
            "can be merged");
  b = SyntheticRun();
  b.expect.broken = 3;
  merged = MergeReports({a, b});
  ASSERT_FALSE(merged.ok());
  EXPECT_EQ(merged.error().message,
            "report 2 expects completeness 0.95 and at most 3 broken, report 1 completeness 0.95 "
            "and at most 0: runs with different [expect] cannot be judged together");
  b = SyntheticRun();
  b.expect.time_to_queryable_p99_ns = 2'000'000'000ull;
  merged = MergeReports({a, b});
  ASSERT_FALSE(merged.ok());
  EXPECT_EQ(merged.error().message,
            "report 2 expects time to queryable p99 2000000000 ns, max unset, report 1 p99 unset, "
            "max unset: runs with different [expect] cannot be judged together");
  EXPECT_FALSE(MergeReports({}).ok());
}

// A report as `tracerig report` sees it: written to report.json and read back.
RunReport ReadBack(const RunReport& r) {
  auto read = ReadReport("report.json", ReportToJson(r).dump());
  if (!read.ok()) {
    ADD_FAILURE() << read.error().message;
    return r;
  }
  return *read;
}

TEST(MergeTest, RefusesARunGivenTwiceNamingBothFiles) {
  RunReport a = ReadBack(SyntheticRun());
  ASSERT_EQ(a.run_id.size(), 16u);
  auto merged = MergeReports({a, a}, std::nullopt, 5, {"x/report.json", "y/report.json"});
  ASSERT_FALSE(merged.ok());
  EXPECT_EQ(merged.error().message,
            "x/report.json and y/report.json are the same run (run_id " + a.run_id +
                "): merged, its 250 requests would count twice");
  // Also when the run is inside a merged report.
  RunReport b = SyntheticRun();
  b.started_unix_nano += 60'000'000'000ull;
  b = ReadBack(b);
  ASSERT_NE(b.run_id, a.run_id);
  auto ab = MergeReports({a, b}, std::nullopt, 5, {"a/report.json", "b/report.json"});
  ASSERT_TRUE(ab.ok()) << ab.error().message;
  const RunReport m = ReadBack(*ab);
  ASSERT_EQ(m.merged_from.size(), 2u);
  EXPECT_EQ(m.merged_from[1].file, "b/report.json");
  EXPECT_NE(m.run_id, a.run_id);
  merged = MergeReports({m, b}, std::nullopt, 5, {"ab/report.json", "b2/report.json"});
  ASSERT_FALSE(merged.ok());
  EXPECT_EQ(merged.error().message,
            "ab/report.json and b2/report.json both hold one run (run_id " + b.run_id +
                "): merged, its 250 requests would count twice");
}

TEST(MergeTest, NamesTheRequestsThatWereNeverVerified) {
  RunReport a = SyntheticRun();
  RunReport b = SyntheticRun();
  b.started_unix_nano += 60'000'000'000ull;
  b.verification.reset();
  b.verification_skipped = true;
  Judge(b);
  auto merged =
      MergeReports({ReadBack(a), ReadBack(b)}, std::nullopt, 5, {"a/report.json", "b/report.json"});
  ASSERT_TRUE(merged.ok()) << merged.error().message;
  EXPECT_EQ(merged->load.sent, 500u);
  EXPECT_EQ(merged->verification->checked, 250u);
  const std::string note =
      "; 250 of 500 requests not verified (from b/report.json, run with --no-verify)";
  ASSERT_GE(merged->verdict.size(), note.size());
  EXPECT_EQ(merged->verdict.substr(merged->verdict.size() - note.size()), note) << merged->verdict;
  ASSERT_EQ(merged->merged_from.size(), 2u);
  EXPECT_TRUE(merged->merged_from[0].verified);
  EXPECT_FALSE(merged->merged_from[1].verified);
  EXPECT_EQ(merged->merged_from[1].requests, 250u);
  // Judged again from its report.json (`report render --fail-on`), it still says so.
  RunReport again = ReadBack(*merged);
  again.fail_on = *ParseFailOn("none");
  Judge(again);
  EXPECT_EQ(again.verdict, "PASS: 240 of 250 traces complete (2 warnings not in --fail-on: "
                           "broken-propagation, spans-exported)" + note)
      << again.verdict;
  // All verified: no note.
  RunReport c = SyntheticRun();
  c.started_unix_nano += 60'000'000'000ull;
  merged = MergeReports({ReadBack(a), ReadBack(c)});
  ASSERT_TRUE(merged.ok()) << merged.error().message;
  EXPECT_EQ(merged->verdict.find("not verified"), std::string::npos) << merged->verdict;
}

TEST(MergeTest, MinAndMaxAreTheRecordedOnesNotBucketBounds) {
  const RunReport a = SyntheticRun();
  RunReport b = SyntheticRun();
  b.started_unix_nano += 60'000'000'000ull;
  auto merged = MergeReports({ReadBack(a), ReadBack(b)});
  ASSERT_TRUE(merged.ok()) << merged.error().message;
  EXPECT_EQ(merged->load.corrected.min(), a.load.corrected.min());
  EXPECT_EQ(merged->load.corrected.max(), a.load.corrected.max());
  EXPECT_EQ(merged->load.uncorrected.min(), a.load.uncorrected.min());
  EXPECT_EQ(merged->load.schedule_lag.max(), a.load.schedule_lag.max());
  // The figures are not bucket bounds, so the test would see bucket rounding.
  const uint64_t min = a.load.corrected.min();
  EXPECT_NE(LatencyHistogram::BucketLowerBound(LatencyHistogram::BucketIndex(min)), min);
}

TEST(DiffTest, IdenticalRunsDoNotRegress) {
  const ReportDiff diff = DiffReports(SyntheticRun(), SyntheticRun(), 10);
  EXPECT_FALSE(diff.regressed);
  ASSERT_EQ(diff.rows.size(), 11u);
  EXPECT_EQ(diff.rows[0].metric, "throughput (ok/s)");
  EXPECT_EQ(diff.rows[0].a, "49.3/s");
  for (const auto& row : diff.rows) {
    EXPECT_TRUE(row.comparable) << row.metric;
    EXPECT_EQ(row.change_pct, 0) << row.metric;
  }
  const std::string table = RenderDiff(diff, "a/report.json", "b/report.json");
  EXPECT_NE(table.find("no regression beyond 10%"), std::string::npos) << table;
}

// One row per metric: B made worse in that metric alone, just past and just within 10%.
TEST(DiffTest, EachMetricRegressesBeyondTheThresholdOnly) {
  struct Case {
    const char* metric;
    std::function<void(RunReport&, double)> worsen;  // factor: 1.05 within, 1.2 beyond
  };
  auto scale_latency = [](LatencyHistogram& h, double factor) {
    LatencyHistogram scaled;
    for (const auto& [lower, count] : h.NonEmptyBuckets()) {
      scaled.RecordN(static_cast<uint64_t>(static_cast<double>(lower) * factor), count);
    }
    h = scaled;
  };
  const Case cases[] = {
      {"throughput (ok/s)",
       [](RunReport& r, double f) {
         r.load.elapsed_ns = static_cast<uint64_t>(static_cast<double>(r.load.elapsed_ns) * f);
       }},
      {"latency p99 (corrected)",
       [&](RunReport& r, double f) { scale_latency(r.load.corrected, f); }},
      {"latency p50 (uncorrected)",
       [&](RunReport& r, double f) { scale_latency(r.load.uncorrected, f); }},
      {"completeness",
       [](RunReport& r, double f) {
         const size_t fewer = static_cast<size_t>(240 * (f - 1));
         r.verification->complete -= fewer;
         r.verification->incomplete += fewer;
       }},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.metric);
    for (double factor : {1.05, 1.2}) {
      RunReport b = SyntheticRun();
      c.worsen(b, factor);
      const ReportDiff diff = DiffReports(SyntheticRun(), b, 10);
      bool found = false;
      for (const auto& row : diff.rows) {
        if (row.metric != c.metric) continue;
        found = true;
        EXPECT_EQ(row.regressed, factor > 1.1) << factor << ": " << row.change_pct;
      }
      EXPECT_TRUE(found);
      EXPECT_EQ(diff.regressed, factor > 1.1) << factor;
    }
  }
}

TEST(DiffTest, BrokenTracesWhereThereWereNoneRegress) {
  RunReport a = SyntheticRun();
  a.verification->broken = 0;
  a.verification->complete = 247;
  const ReportDiff diff = DiffReports(a, SyntheticRun(), 50);
  EXPECT_TRUE(diff.regressed);
  const std::string table = RenderDiff(diff, "A", "B");
  EXPECT_NE(table.find("broken traces"), std::string::npos);
  EXPECT_NE(table.find("from 0  REGRESSED"), std::string::npos) << table;
  EXPECT_NE(table.find("B regressed: 1 metric worse than A by more than 50%"), std::string::npos)
      << table;
}

TEST(DiffTest, MissingDataNeverRegresses) {
  RunReport b = SyntheticRun();
  b.verification.reset();
  b.load.corrected = LatencyHistogram();
  const ReportDiff diff = DiffReports(SyntheticRun(), b, 0);
  for (const auto& row : diff.rows) {
    if (row.metric == "completeness" || row.metric.find("(corrected)") != std::string::npos) {
      EXPECT_FALSE(row.comparable) << row.metric;
      EXPECT_EQ(row.b, "—");
    }
  }
  EXPECT_FALSE(diff.regressed);
}

TEST(DiffTest, NamesWhatMakesTwoRunsUnlike) {
  EXPECT_TRUE(RunDifferences(SyntheticRun(), SyntheticRun()).empty());
  RunReport b = SyntheticRun();
  b.target_rate = 80;
  b.target_duration_ns = 2'000'000'000ull;
  b.load_model = "ramp";
  b.seed = 99;  // --seed varies it on purpose
  EXPECT_EQ(RunDifferences(SyntheticRun(), b),
            (std::vector<std::string>{"target rate 50/s vs 80/s", "duration 5s vs 2s",
                                      "load model constant vs ramp"}));
  b = SyntheticRun();
  b.scenario_name = "bank";
  b.expect.broken = 2;
  EXPECT_EQ(RunDifferences(SyntheticRun(), b),
            (std::vector<std::string>{"scenario \"shop\" vs \"bank\"", "different [expect]"}));
  b = SyntheticRun();
  b.expected_edges.pop_back();
  const size_t edges = SyntheticRun().expected_edges.size();
  EXPECT_EQ(RunDifferences(SyntheticRun(), b),
            (std::vector<std::string>{fmt::format(
                "scenario \"shop\" with a different call graph ({} vs {} edges)", edges,
                edges - 1)}));
  b = SyntheticRun();
  b.target_rate = 80;
  const ReportDiff diff = DiffReports(SyntheticRun(), b, 10);
  EXPECT_EQ(diff.differences, std::vector<std::string>{"target rate 50/s vs 80/s"});
  const std::string table = RenderDiff(diff, "a/report.json", "b/report.json");
  EXPECT_NE(table.find("A: a/report.json\nB: b/report.json\nwarning: A and B are runs of "
                       "different load (target rate 50/s vs 80/s): the changes compare unlike "
                       "runs\n\nmetric"),
            std::string::npos)
      << table;
  EXPECT_EQ(RenderDiff(DiffReports(SyntheticRun(), SyntheticRun(), 10), "A", "B").find("warning"),
            std::string::npos);
}

TEST(DiffTest, MaxRowsShowTheRecordedMaximumFromTheFile) {
  const RunReport a = SyntheticRun();
  const ReportDiff diff = DiffReports(ReadBack(a), ReadBack(a), 10);
  bool found = false;
  for (const auto& row : diff.rows) {
    if (row.metric != "latency max (corrected)") continue;
    found = true;
    EXPECT_EQ(row.a_value, static_cast<double>(a.load.corrected.max()));
    EXPECT_EQ(row.a, FormatDuration(a.load.corrected.max()));
  }
  EXPECT_TRUE(found);
}

// A verify-only run's load was not measured: against a run that measured its load, the two
// differ (the CLI refuses them without --force); either way the load rows are left out and the
// table says why, so zero figures never read as a regression.
TEST(DiffTest, LeavesOutLoadRowsWhenEitherRunIsVerifyOnly) {
  const RunReport run = SyntheticRun();
  const RunReport verify = SyntheticVerifyRun();
  EXPECT_EQ(RunDifferences(run, verify),
            std::vector<std::string>{"load measured vs not measured (verify only)"});
  EXPECT_EQ(RunDifferences(verify, run),
            std::vector<std::string>{"load not measured (verify only) vs measured"});
  EXPECT_TRUE(RunDifferences(verify, verify).empty());

  struct Case {
    const char* name;
    const RunReport& a;
    const RunReport& b;
    const char* note;
  };
  const Case cases[] = {
      {"run vs verify", run, verify, "B's load was"},
      {"verify vs run", verify, run, "A's load was"},
      {"verify vs verify", verify, verify, "neither run's load was"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const ReportDiff diff = DiffReports(c.a, c.b, 10);
    std::vector<std::string> metrics;
    for (const auto& row : diff.rows) metrics.push_back(row.metric);
    EXPECT_EQ(metrics, (std::vector<std::string>{"completeness", "broken traces"}));
    EXPECT_FALSE(diff.regressed);
    EXPECT_EQ(diff.load_not_compared,
              fmt::format("throughput, latency and spans dropped are left out: {} not measured "
                          "(verify only)",
                          c.note));
    const std::string table = RenderDiff(diff, "a/report.json", "b/report.json");
    EXPECT_NE(table.find("note: " + diff.load_not_compared + "\n"), std::string::npos) << table;
    EXPECT_EQ(table.find("throughput ("), std::string::npos) << table;
    EXPECT_EQ(table.find("latency p"), std::string::npos) << table;
    EXPECT_EQ(table.find("\nspans dropped"), std::string::npos) << table;
    EXPECT_NE(table.find("no regression beyond 10%"), std::string::npos) << table;
  }
  // Two runs that measured their load keep every row and no note.
  const ReportDiff measured = DiffReports(run, run, 10);
  EXPECT_EQ(measured.rows.size(), 11u);
  EXPECT_TRUE(measured.load_not_compared.empty());
  EXPECT_EQ(RenderDiff(measured, "A", "B").find("note:"), std::string::npos);
}

}  // namespace
}  // namespace tracerig
