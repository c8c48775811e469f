#include "report/run_report.h"

#include <gtest/gtest.h>

#include "report/render.h"

namespace tracerig {
namespace {

RunReport Verified(size_t checked, size_t complete, size_t broken) {
  RunReport r;
  r.scenario_name = "shop / checkout";
  r.load.sent = checked;
  r.load.ok = checked;
  VerificationSummary v;
  v.checked = checked;
  v.complete = complete;
  v.broken = broken;
  v.incomplete = checked - complete - broken;
  if (broken > 0) v.break_edges.push_back({"0.1.0", "checkout", "payment", broken});
  r.verification = v;
  return r;
}

TEST(JudgeTest, AllCompletePasses) {
  auto r = Verified(100, 100, 0);
  Judge(r);
  EXPECT_EQ(r.exit_code, kExitPass);
  EXPECT_EQ(r.verdict, "PASS: 100 of 100 traces complete");
}

// An interrupted run says so in its verdict, and how much of the plan it sent; the exit code
// stays the documented one (what was verified decides it).
TEST(JudgeTest, InterruptedRunSaysSoAndHowMuchOfThePlanRan) {
  auto r = Verified(2, 2, 0);
  r.load.interrupted = true;
  r.load.planned = 120;
  Judge(r);
  EXPECT_EQ(r.exit_code, kExitPass);
  EXPECT_EQ(r.verdict,
            "PASS (interrupted): 2 of 2 traces complete; 2 of 120 planned requests sent");

  auto failed = Verified(10, 0, 10);
  failed.load.interrupted = true;
  failed.load.planned = 300;
  Judge(failed);
  EXPECT_EQ(failed.exit_code, kExitConformanceFailure);
  EXPECT_EQ(failed.verdict,
            "FAIL (interrupted): 2 checks failed; completeness: 0.0000 of traces complete (0 of "
            "10), expected at least 1; 10 of 300 planned requests sent");

  RunReport nothing;
  nothing.load.interrupted = true;
  nothing.load.planned = 120;
  Judge(nothing);
  EXPECT_EQ(nothing.exit_code, kExitInterrupted);
  EXPECT_EQ(nothing.verdict, "DONE (interrupted): nothing to verify; 0 of 120 planned requests sent");
}

// The closed loop plans a duration, not a count: the verdict gives the time that ran.
TEST(JudgeTest, InterruptedClosedLoopGivesTheTimeThatRan) {
  auto r = Verified(5, 5, 0);
  r.load.interrupted = true;
  r.load.closed_loop = true;
  r.load.elapsed_ns = 1'500'000'000;
  r.target_duration_ns = 30'000'000'000;
  Judge(r);
  EXPECT_EQ(r.exit_code, kExitPass);
  EXPECT_EQ(r.verdict,
            "PASS (interrupted): 5 of 5 traces complete; 5 requests sent in 1.5s of 30s planned");
}

TEST(JudgeTest, BrokenPropagationFailsAndNamesTheEdge) {
  auto r = Verified(10, 0, 10);
  Judge(r);
  EXPECT_EQ(r.exit_code, kExitConformanceFailure);
  EXPECT_EQ(r.verdict,
            "FAIL: 2 checks failed; completeness: 0.0000 of traces complete (0 of 10), expected at "
            "least 1");
  ASSERT_EQ(r.checks.size(), 4u);
  EXPECT_EQ(r.checks[1].message,
            "10 traces with broken propagation, at most 0 allowed; checkout -> payment (hop "
            "0.1.0): 10 traces");
}

TEST(JudgeTest, ExpectationsAllowSomeIncompleteness) {
  auto r = Verified(1000, 999, 0);
  r.expect.completeness = 0.999;
  Judge(r);
  EXPECT_EQ(r.exit_code, kExitPass);
  r.expect.completeness = 1.0;
  Judge(r);
  EXPECT_EQ(r.exit_code, kExitConformanceFailure);
}

// Traces the backend evicted are still incomplete (eviction is no pass), but named as evicted,
// not missing, in the check, the terminal summary and the JSON.
TEST(JudgeTest, EvictedTracesFailCompletenessByName) {
  auto r = Verified(40, 16, 0);
  r.verification->incomplete = 0;
  r.verification->evicted = 24;
  r.verification->backend_store = BackendStoreStats{24, 144, 1'700'000'000'000'000'000u, 100, 0};
  Judge(r);
  EXPECT_EQ(r.exit_code, kExitConformanceFailure);
  EXPECT_EQ(r.checks[0].name, "completeness");
  EXPECT_EQ(r.checks[0].message,
            "0.4000 of traces complete (16 of 40), expected at least 1; 24 evicted by the "
            "backend to stay within its bounds (not lost on the way)");
  const std::string terminal = RenderTerminalSummary(r);
  EXPECT_NE(terminal.find("missing 0 · evicted by the backend 24 ("), std::string::npos)
      << terminal;
  EXPECT_NE(terminal.find("evicted by the backend: 24 traces were in the backend and dropped by "
                          "it to stay within its bounds (it evicted 24 traces, 144 spans in "
                          "all; max spans 100)"),
            std::string::npos)
      << terminal;
  const auto json = ReportToJson(r);
  EXPECT_EQ(json["verification"]["evicted"], 24);
  EXPECT_EQ(json["verification"]["backend_store"]["traces_evicted"], 24);
  // Without eviction the lines stay as they were.
  auto clean = Verified(40, 40, 0);
  Judge(clean);
  EXPECT_EQ(RenderTerminalSummary(clean).find("evicted"), std::string::npos);
  EXPECT_EQ(clean.checks[0].message, "1.0000 of traces complete (40 of 40), expected at least 1");
}

TEST(JudgeTest, BackendErrorsAreInfrastructureFailures) {
  RunReport r;
  r.load.sent = 10;
  r.verification_error = "backend unreachable: cannot connect to 127.0.0.1:1";
  Judge(r);
  EXPECT_EQ(r.exit_code, kExitInfrastructure);
  EXPECT_EQ(r.verdict, "ERROR: backend unreachable: cannot connect to 127.0.0.1:1");
}

// The exit code of a verification that could not run follows the error's code, not its text: the
// user's input is a usage error (2), everything else infrastructure (3).
TEST(JudgeTest, AVerificationErrorsCodeDecidesTheExitCode) {
  const struct {
    ErrorCode code;
    int exit_code;
  } kCases[] = {
      {ErrorCode::kUnavailable, kExitInfrastructure},
      {ErrorCode::kResourceExhausted, kExitInfrastructure},
      {ErrorCode::kInternal, kExitInfrastructure},
      {ErrorCode::kUnknown, kExitInfrastructure},
      {ErrorCode::kInvalidArgument, kExitUsage},
      {ErrorCode::kNotFound, kExitUsage},
  };
  for (const auto& c : kCases) {
    RunReport r;
    r.load.sent = 10;
    r.verification_error = "backend unreachable: whatever the text says";
    r.verification_error_code = c.code;
    Judge(r);
    EXPECT_EQ(r.exit_code, c.exit_code) << ErrorCodeName(c.code);
  }
}

TEST(JudgeTest, TopologyThatServedNothingIsAnInfrastructureFailure) {
  auto r = Verified(10, 0, 0);
  r.load.ok = 0;
  r.load.transport_errors = 10;
  Judge(r);
  EXPECT_EQ(r.exit_code, kExitInfrastructure);
}

// The nginx-entry run, read cold: the verdict alone says why the requests failed.
TEST(JudgeTest, ATopologyThatDidNotServeTheLoadNamesWhyTheRequestsFailed) {
  auto r = Verified(511288, 0, 0);
  r.load.ok = 0;
  r.load.transport_errors = 511288;
  r.load.transport_error_reasons = {
      {"connection refused", 511288, "connect: Connection refused"}};
  Judge(r);
  EXPECT_EQ(r.exit_code, kExitInfrastructure);
  EXPECT_EQ(r.verdict,
            "ERROR: 511288 of 511288 requests failed at the transport level (511288 connection "
            "refused: connect: Connection refused); the topology did not serve the load");
  const std::string text = RenderTerminalSummary(r);
  EXPECT_NE(text.find("\ntransport errors: 511288 (511288 connection refused: connect: Connection "
                      "refused)\n"),
            std::string::npos)
      << text;

  // Without kinds (a report written before they were recorded) the verdict is as it was.
  r.load.transport_error_reasons.clear();
  Judge(r);
  EXPECT_EQ(r.verdict,
            "ERROR: 511288 of 511288 requests failed at the transport level; the topology did not "
            "serve the load");
  EXPECT_EQ(RenderTerminalSummary(r).find("transport errors: "), std::string::npos);
}

TEST(JudgeTest, EachViolationKindIsAFailingCheck) {
  auto r = Verified(10, 10, 0);
  TraceVerdict example;
  example.trace_id = TraceId{0, 0xab};
  example.violations = {{"clock-skew", "0.1.0", "payment", "payment SERVER starts 3ms before its parent"}};
  r.verification->violation_counts = {{"clock-skew", 2}, {"orphan", 1}};
  r.verification->traces_with_violations = 3;
  r.verification->violation_examples = {example};
  Judge(r);
  EXPECT_EQ(r.exit_code, kExitConformanceFailure);
  ASSERT_EQ(r.checks.size(), 5u);
  EXPECT_EQ(r.checks[3].name, "violation:clock-skew");
  EXPECT_EQ(r.checks[3].message,
            "2 traces; e.g. trace 000000000000000000000000000000ab: payment SERVER starts 3ms before "
            "its parent");
  EXPECT_EQ(r.checks[4].name, "violation:orphan");
  EXPECT_EQ(r.checks[4].message, "1 traces");
  EXPECT_EQ(ReportToJson(r)["verification"]["violation_counts"]["clock-skew"], 2);
}

TEST(JudgeTest, SamplingVerdictsAreChecksThatFailOnlyWhenJudged) {
  auto r = Verified(400, 400, 0);
  SamplingVerdict off;
  off.service = "recommendation";
  off.policy = "ratio(0.25)";
  off.n = 400;
  off.k = 50;
  off.observed = 0.125;
  off.expected = 0.25;
  off.interval_low = 0.0888;
  off.interval_high = 0.1731;
  off.confidence = 0.99;
  off.verdict = "fail";
  SamplingVerdict few = off;
  few.service = "ads";
  few.n = 12;
  few.k = 3;
  few.verdict = "not enough traces";
  r.verification->sampling = {off, few};
  Judge(r);
  EXPECT_EQ(r.exit_code, kExitConformanceFailure);
  const CheckResult* failed = nullptr;
  const CheckResult* refused = nullptr;
  for (const auto& c : r.checks) {
    if (c.name == "sampling:recommendation") failed = &c;
    if (c.name == "sampling:ads") refused = &c;
  }
  ASSERT_NE(failed, nullptr);
  EXPECT_FALSE(failed->passed);
  EXPECT_EQ(failed->message,
            "recommendation: 50 of 400 requests sampled (0.1250); policy ratio(0.25) expects "
            "0.2500, 99% interval [0.0888, 0.1731]");
  ASSERT_NE(refused, nullptr);
  EXPECT_TRUE(refused->passed);
  EXPECT_EQ(refused->message, "not enough traces to judge ads (12 requests, policy ratio(0.25))");
  EXPECT_EQ(CheckKind("sampling:recommendation"), "sampling");

  // Spans a fault withheld are named as the fault's; a service with nothing else left is not
  // judged, and says why; a verdict the verifier could not make says why too.
  SamplingVerdict faulted = off;
  faulted.service = "shipping";
  faulted.policy = "parent-based(1)";
  faulted.n = 94;
  faulted.k = 94;
  faulted.observed = faulted.expected = 1;
  faulted.interval_low = 0.9;
  faulted.interval_high = 1;
  faulted.verdict = "pass";
  faulted.withheld_by_faults = {{"drop-span", 6}};
  SamplingVerdict all_withheld = faulted;
  all_withheld.service = "audit";
  all_withheld.n = all_withheld.k = 0;
  all_withheld.verdict = "not enough traces";
  all_withheld.withheld_by_faults = {{"drop-span", 100}, {"unsampled-child", 1}};
  SamplingVerdict unjudged = few;
  unjudged.service = "cart";
  unjudged.verdict = "not judged";
  unjudged.reason = "call trees vary per request";
  auto faults = Verified(100, 100, 0);
  faults.verification->sampling = {faulted, all_withheld, unjudged};
  Judge(faults);
  EXPECT_EQ(faults.exit_code, kExitPass) << faults.verdict;
  EXPECT_EQ(faults.checks[faults.checks.size() - 3].message,
            "shipping: 94 of 94 requests sampled (1.0000); policy parent-based(1) expects 1.0000, "
            "99% interval [0.9000, 1.0000]; shipping: spans withheld by fault drop-span in 6 "
            "requests, as configured (left out of the count, not sampled out)");
  EXPECT_EQ(faults.checks[faults.checks.size() - 2].message,
            "audit not judged: its spans were withheld by fault drop-span in 100 requests, "
            "unsampled-child in 1 request (every request that reached it), as configured");
  EXPECT_EQ(faults.checks.back().message, "cart not judged: call trees vary per request");

  // --fail-on without sampling: the same verdict only warns.
  auto warned = Verified(400, 400, 0);
  warned.verification->sampling = {off};
  warned.fail_on = *ParseFailOn("completeness,broken-propagation");
  Judge(warned);
  EXPECT_EQ(warned.exit_code, kExitPass) << warned.verdict;
}

const CheckResult* FindCheck(const RunReport& r, std::string_view name) {
  for (const auto& c : r.checks) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

constexpr uint64_t kSec = 1'000'000'000;

TEST(JudgeTest, TimeToQueryableIsCheckedOnlyWhenExpected) {
  auto r = Verified(40, 40, 0);
  TimeToQueryable& t = r.verification->time_to_queryable;
  t.traces = 40;
  t.p99_ns = 2'500'000'000;  // upper bounds: not what is judged
  t.observed_p99_ns = 2'130'000'000;
  t.observed_max_ns = 2'200'000'000;
  t.upper_bounds = 3;
  t.late_hops = {{"0.0", "a", "b", SpanKind::kServer, 37, 2'200'000'000},
                 {"0.0.0", "b", "c", SpanKind::kClient, 37, 2'200'000'000}};
  Judge(r);
  EXPECT_EQ(FindCheck(r, "time-to-queryable"), nullptr);  // no expectation, no check
  EXPECT_EQ(r.exit_code, kExitPass);

  r.expect.time_to_queryable_p99_ns = 1 * kSec;
  Judge(r);
  const CheckResult* c = FindCheck(r, "time-to-queryable");
  ASSERT_NE(c, nullptr);
  EXPECT_FALSE(c->passed);
  EXPECT_EQ(c->message,
            "time to queryable p99 2.13 s > 1 s (37 of 40 traces seen incomplete first, then "
            "complete; 3 complete at their first poll count as on time); late spans at a -> b "
            "(hop 0.0, SERVER span): 37 traces, up to 2.2 s; b -> c (hop 0.0.0, CLIENT span): 37 "
            "traces, up to 2.2 s");
  EXPECT_EQ(r.exit_code, kExitConformanceFailure);
  EXPECT_EQ(CheckKind("time-to-queryable"), "time-to-queryable");

  // Both bounds: the one exceeded comes first.
  r.expect.time_to_queryable_p99_ns = 3 * kSec;
  r.expect.time_to_queryable_max_ns = 2 * kSec;
  Judge(r);
  c = FindCheck(r, "time-to-queryable");
  ASSERT_NE(c, nullptr);
  EXPECT_FALSE(c->passed);
  EXPECT_TRUE(c->message.starts_with("time to queryable max 2.2 s > 2 s, p99 2.13 s <= 3 s (37"))
      << c->message;

  // Not in --fail-on: a warning.
  r.fail_on = *ParseFailOn("completeness");
  Judge(r);
  EXPECT_EQ(r.exit_code, kExitPass);
  EXPECT_FALSE(FindCheck(r, "time-to-queryable")->enforced);
}

TEST(JudgeTest, SamplingExpectationsAreChecksAndATailSamplingBackendIsJudgedOnWhatItKept) {
  auto r = Verified(100, 30, 0);
  r.verification->incomplete = 0;
  r.verification->missing = 70;  // sampled out by the backend
  SamplingExpectationVerdict ratio;
  ratio.name = "ratio";
  ratio.verdict = "pass";
  ratio.message = "30 of 100 requests neither errors nor slow kept (0.3000); expected 0.3";
  SamplingExpectationVerdict errors;
  errors.name = "errors";
  errors.verdict = "fail";
  errors.message = "9 of 10 requests answered with an error kept, expected all";
  r.verification->sampling_expectations = {ratio, errors};
  // Without trace-level expectations the missing traces count against completeness.
  Judge(r);
  EXPECT_FALSE(FindCheck(r, "completeness")->passed);
  r.verification->sampling_expectations[0].trace_level = true;
  r.verification->sampling_expectations[1].trace_level = true;
  Judge(r);
  const CheckResult* complete = FindCheck(r, "completeness");
  ASSERT_NE(complete, nullptr);
  EXPECT_TRUE(complete->passed);
  EXPECT_EQ(complete->message,
            "1.0000 of kept traces complete (30 of 30), expected at least 1");
  const CheckResult* e = FindCheck(r, "sampling:expect:errors");
  ASSERT_NE(e, nullptr);
  EXPECT_FALSE(e->passed);
  EXPECT_EQ(e->message, errors.message);
  EXPECT_TRUE(FindCheck(r, "sampling:expect:ratio")->passed);
  EXPECT_EQ(CheckKind("sampling:expect:errors"), "sampling");
  EXPECT_EQ(r.exit_code, kExitConformanceFailure);
  r.fail_on = *ParseFailOn("completeness");  // sampling checks become warnings
  Judge(r);
  EXPECT_EQ(r.exit_code, kExitPass);
}

TEST(JudgeTest, TimeToQueryableWithoutSamplesOrLatenessPasses) {
  auto r = Verified(40, 0, 40);
  r.expect.time_to_queryable_p99_ns = 1 * kSec;
  Judge(r);
  const CheckResult* c = FindCheck(r, "time-to-queryable");
  ASSERT_NE(c, nullptr);
  EXPECT_TRUE(c->passed);
  EXPECT_EQ(c->message, "not judged: no complete trace gave a time-to-queryable sample");

  // Every trace complete at its first poll: the raw p99 is an upper bound, nothing was late.
  auto clean = Verified(40, 40, 0);
  clean.expect.time_to_queryable_p99_ns = 1 * kSec;
  clean.verification->time_to_queryable.traces = 40;
  clean.verification->time_to_queryable.upper_bounds = 40;
  clean.verification->time_to_queryable.p99_ns = 2 * kSec;
  Judge(clean);
  c = FindCheck(clean, "time-to-queryable");
  ASSERT_NE(c, nullptr);
  EXPECT_TRUE(c->passed);
  EXPECT_EQ(c->message,
            "time to queryable p99 0 s <= 1 s (0 of 40 traces seen incomplete first, then "
            "complete; 40 complete at their first poll count as on time)");
  EXPECT_EQ(clean.exit_code, kExitPass);
}

TEST(JudgeTest, BackendGraphFailsOnlyOnMissingExpectedEdges) {
  auto r = Verified(10, 10, 0);
  BackendGraph g;
  g.error = "not served by this backend (jaeger v1 at http://127.0.0.1:16686)";
  r.verification->backend_graph = g;
  Judge(r);
  EXPECT_EQ(FindCheck(r, "backend-graph"), nullptr);  // nothing to compare: no check

  g.error = "zipkin v2 at http://z:9411: GET /api/v2/dependencies?endTs=2&lookback=1: reset";
  r.verification->backend_graph = g;
  Judge(r);
  const CheckResult* c = FindCheck(r, "backend-graph");
  ASSERT_NE(c, nullptr);
  EXPECT_TRUE(c->passed);  // a failed fetch is not missing edges
  EXPECT_EQ(c->message, "not compared: " + g.error);

  g.error.clear();
  g.fetched = true;
  g.comparison = CompareDependencies(
      {{"tracerig-driver", "a", 10, 0}, {"a", "b", 10, 0}, {"b", "c", 10, 0}},
      {{"tracerig-driver", "a", 25}, {"a", "b", 3}, {"x", "y", 1}});
  r.verification->backend_graph = g;
  Judge(r);
  c = FindCheck(r, "backend-graph");
  ASSERT_NE(c, nullptr);
  EXPECT_FALSE(c->passed);
  EXPECT_EQ(c->message,
            "the backend's dependency list lacks 1 of 3 expected edges: b -> c; edges not in the "
            "topology (other traffic in the window?): x -> y (1 calls)");
  EXPECT_EQ(r.exit_code, kExitConformanceFailure);

  g.comparison = CompareDependencies({{"a", "b", 10, 0}}, {{"a", "b", 3}});
  r.verification->backend_graph = g;
  Judge(r);
  c = FindCheck(r, "backend-graph");
  ASSERT_NE(c, nullptr);
  EXPECT_TRUE(c->passed);
  EXPECT_EQ(c->message, "the backend's dependency list has all 1 expected edges");
}

TEST(JudgeTest, DroppedSpansFailTheExportCheck) {
  auto r = Verified(10, 10, 0);
  r.exporter.dropped_queue_full = 3;
  Judge(r);
  EXPECT_EQ(r.exit_code, kExitConformanceFailure);
  EXPECT_FALSE(r.checks[2].passed);
}

// A run whose exporter could not deliver: every trace is "not exported", the spans never left.
RunReport ExportRefused() {
  auto r = Verified(50, 0, 0);
  r.verification->incomplete = 0;
  r.verification->not_exported = 50;
  r.exporter.submitted = 400;
  r.exporter.dropped_failed = 400;
  r.exporter.endpoint = "otlp-http://127.0.0.1:1/v1/traces";
  r.exporter.failures = {{"retries-exhausted", 400,
                          "after 5 retries: cannot connect to 127.0.0.1:1: Connection refused"}};
  r.exporter.lost_traces = 50;
  return r;
}

TEST(JudgeTest, SpansTheExporterCouldNotDeliverAreAnInfrastructureErrorWithTheReason) {
  auto r = ExportRefused();
  Judge(r);
  EXPECT_EQ(r.exit_code, kExitInfrastructure);
  EXPECT_EQ(r.verdict,
            "ERROR: the exporter could not deliver 400 of 400 spans to "
            "otlp-http://127.0.0.1:1/v1/traces: 400 after 5 retries: cannot connect to "
            "127.0.0.1:1: Connection refused");
  // The checks are still made, for the report; the export check says why.
  ASSERT_GE(r.checks.size(), 3u);
  EXPECT_EQ(r.checks[2].message,
            "0 spans exported, 0 dropped (queue full), 400 dropped (export failed): 400 after 5 "
            "retries: cannot connect to 127.0.0.1:1: Connection refused");
  const std::string text = RenderTerminalSummary(r);
  EXPECT_NE(text.find("missing 0 · not exported 50 ("), std::string::npos) << text;
  EXPECT_NE(text.find("400 dropped (export failed): 400 after 5 retries: cannot connect to "
                      "127.0.0.1:1: Connection refused"),
            std::string::npos)
      << text;
  const auto j = ReportToJson(r);
  EXPECT_EQ(j["verification"]["not_exported"], 50);
  EXPECT_EQ(j["export"]["endpoint"], "otlp-http://127.0.0.1:1/v1/traces");
  EXPECT_EQ(j["export"]["failures"][0]["reason"], "retries-exhausted");
  EXPECT_EQ(j["export"]["failures"][0]["spans"], 400);
}

// Some spans lost is enough: the backend was judged on a load it did not fully get. Completeness
// leaves the traces that were not exported out.
TEST(JudgeTest, APartialExportFailureIsStillAnInfrastructureErrorWithItsCount) {
  auto r = Verified(100, 90, 0);
  r.verification->incomplete = 0;
  r.verification->not_exported = 10;
  r.exporter.submitted = 800;
  r.exporter.exported = 780;
  r.exporter.dropped_failed = 20;
  r.exporter.endpoint = "otlp-grpc://collector:4317";
  r.exporter.failures = {{"permanent", 8, "refused for good: gRPC INVALID_ARGUMENT: too big"},
                         {"retries-exhausted", 12, "after 5 retries: gRPC UNAVAILABLE: busy"}};
  Judge(r);
  EXPECT_EQ(r.exit_code, kExitInfrastructure);
  EXPECT_EQ(r.verdict,
            "ERROR: the exporter could not deliver 20 of 800 spans to otlp-grpc://collector:4317: "
            "8 refused for good: gRPC INVALID_ARGUMENT: too big; 12 after 5 retries: gRPC "
            "UNAVAILABLE: busy");
  EXPECT_TRUE(r.checks[0].passed) << r.checks[0].message;  // 90 of 90 exported traces complete
}

TEST(JudgeTest, AnUnreachableBackendStillSaysSoWhenTheExportFailedToo) {
  auto r = ExportRefused();
  r.verification.reset();
  r.verification_error = "backend unreachable: connection refused";
  Judge(r);
  EXPECT_EQ(r.exit_code, kExitInfrastructure);
  EXPECT_EQ(r.verdict, "ERROR: backend unreachable: connection refused");
}

TEST(JudgeTest, AnExportFailureWithoutVerificationIsStillAnError) {
  auto r = ExportRefused();
  r.verification.reset();
  r.verification_skipped = true;
  Judge(r);
  EXPECT_EQ(r.exit_code, kExitInfrastructure);
  EXPECT_TRUE(r.verdict.starts_with("ERROR: the exporter could not deliver 400 of 400 spans"))
      << r.verdict;
}

TEST(RenderTest, JsonCarriesVerdictAndCounts) {
  auto r = Verified(10, 0, 10);
  Judge(r);
  auto j = ReportToJson(r);
  EXPECT_EQ(j["schema_version"], kReportSchemaVersion);
  EXPECT_EQ(j["verdict"]["exit_code"], 1);
  EXPECT_EQ(j["verification"]["broken"], 10);
  EXPECT_EQ(j["verification"]["break_edges"][0]["callee"], "payment");
  EXPECT_EQ(j["checks"].size(), 4u);
}

TEST(RenderTest, ReportDirNameIsFileSafe) {
  RunReport r;
  r.scenario_name = "shop / checkout";
  r.started_unix_nano = 1'764'072'000'000'000'000ull;  // 2025-11-25T12:00:00Z
  EXPECT_EQ(ReportDirName(r), "shop___checkout-20251125T120000Z");
}

TEST(RenderTest, TerminalSummaryShowsBreaks) {
  auto r = Verified(10, 0, 10);
  Judge(r);
  std::string text = RenderTerminalSummary(r);
  EXPECT_NE(text.find("propagation breaks checkout -> payment (hop 0.1.0): 10 traces"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("[FAIL] completeness"), std::string::npos) << text;
}

// Every span recorded is in exactly one category of the spans line, the driver's unfinished
// requests record none, and spans the exporter still held after a timed-out flush are named.
TEST(TerminalSummaryTest, SpansAndLoadLinesSumToTheirTotals) {
  RunReport r = Verified(100, 100, 0);
  r.load.ok = 95;
  r.load.http_errors = 2;
  r.load.transport_errors = 3;  // 1 of them unfinished
  r.load.unfinished = 1;
  r.topology.spans_recorded = 600;
  r.topology.spans_unsampled = 50;
  r.topology.spans_dropped = 20;  // withheld by drop-span
  // 600 - 50 - 20 by the services + 99 root spans
  r.exporter.submitted = 629;
  r.exporter.exported = 600;
  r.exporter.rejected = 4;
  r.exporter.dropped_queue_full = 10;
  r.exporter.dropped_failed = 5;  // 10 left in the exporter
  r.exporter.flushed = false;
  r.load.transport_error_reasons = {{"timeout", 1, "read: no answer within 2s"},
                                    {"unanswered at drain", 1, ""}};  // and 1 of no kind
  const std::string text = RenderTerminalSummary(r);
  EXPECT_NE(text.find("      = 95 ok + 2 HTTP errors + 3 transport errors (1 of them unfinished: "
                      "no answer by the drain deadline)\n"
                      "transport errors: 3 (1 timeout: read: no answer within 2s; 1 unanswered "
                      "at drain; 1 of no recorded kind)\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("spans: 699 recorded (600 by services, 99 by the driver) = 600 exported + "
                      "50 not exported (sampled out) + 20 withheld by faults + 4 rejected by the "
                      "backend + 10 dropped (queue full) + 5 dropped (export failed) + 10 still "
                      "in the exporter, final flush timed out\n"),
            std::string::npos)
      << text;
  const auto json = ReportToJson(r);
  EXPECT_EQ(json["spans"]["recorded"], 699);
  EXPECT_EQ(json["spans"]["in_flight"], 10);
  EXPECT_EQ(json["spans"]["unaccounted"], 0);

  // A counter that disagrees with the others shows as unaccounted rather than vanishing.
  r.exporter.submitted = 627;
  r.exporter.exported = 598;
  EXPECT_NE(RenderTerminalSummary(r).find(" + 2 unaccounted,"), std::string::npos);
  EXPECT_EQ(ReportToJson(r)["spans"]["unaccounted"], 2);
}

}  // namespace
}  // namespace tracerig
