// End-to-end tests of the tracerig binary: real services, the embedded backend and the verifier
// over loopback. Every port is chosen by the OS (port 0); no test depends on timing beyond the
// load duration it asks for.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <thread>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/cli/run_tracerig.h"
#include "tests/support/fixtures.h"
#include "tests/support/scratch_dir.h"

namespace {

namespace fs = std::filesystem;
using tracerig::test_support::MakeScratchDir;
using tracerig::test_support::ReadRepoFile;
using tracerig::testing::ProcessResult;
using tracerig::testing::ReadJsonUnder;
using tracerig::testing::RunTracerig;

class CliE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeScratchDir("tracerig-e2e");
    ASSERT_FALSE(dir_.empty());
  }
  void TearDown() override { fs::remove_all(dir_); }

  // The single report.json written under dir_.
  nlohmann::json ReadReport() {
    nlohmann::json json = ReadJsonUnder(dir_, "report.json");
    if (json.is_null()) ADD_FAILURE() << "no report.json under " << dir_;
    return json;
  }
  bool HasLedger() {
    for (const auto& entry : fs::recursive_directory_iterator(dir_)) {
      if (entry.path().filename() == "ledger.jsonl") return true;
    }
    return false;
  }

  fs::path dir_;
};

TEST_F(CliE2eTest, QuickstartPassesWithEveryTraceComplete) {
  auto r = RunTracerig({"run", "scenarios/quickstart.toml", "--duration", "2s", "--rate", "50",
                        "--report-dir", dir_.string()});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("PASS: 100 of 100 traces complete"), std::string::npos) << r.output;
  auto report = ReadReport();
  EXPECT_EQ(report["schema_version"], 1);
  EXPECT_EQ(report["verdict"]["exit_code"], 0);
  EXPECT_EQ(report["load"]["sent"], 100);
  EXPECT_EQ(report["load"]["ok"], 100);
  EXPECT_EQ(report["verification"]["checked"], 100);
  EXPECT_EQ(report["verification"]["complete"], 100);
  // 8 spans per request: the driver's, and a SERVER + CLIENT pair per hop.
  EXPECT_EQ(report["export"]["exported"], 800);
  EXPECT_EQ(report["export"]["dropped_queue_full"], 0);
  EXPECT_TRUE(HasLedger());
  // Verified alongside the load: every complete trace has a time-to-queryable sample, and the
  // verification went on after the load only for the last traces.
  EXPECT_TRUE(report["verification"]["streamed"].get<bool>());
  EXPECT_EQ(report["verification"]["time_to_queryable"]["traces"], 100);
  EXPECT_LT(report["verification"]["after_load_ns"].get<uint64_t>(),
            report["verification"]["elapsed_ns"].get<uint64_t>());
}

// [expect] sampling and attributes end to end: payment samples half its requests on its own;
// declared at 0.5 the check passes, declared at 0.9 it fails (exit 1) with the observed figures.
TEST_F(CliE2eTest, SamplingExpectationsAreJudgedEndToEnd) {
  auto r = RunTracerig({"run", "scenarios/sampling-expect.toml", "--duration", "3s",
                        "--report-dir", dir_.string()});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto report = ReadReport();
  const auto& e = report["verification"]["sampling_expectations"];
  ASSERT_EQ(e.size(), 1u) << report["verification"].dump(2);
  EXPECT_EQ(e[0]["name"], "payment");
  EXPECT_EQ(e[0]["n"], 150);
  EXPECT_EQ(e[0]["verdict"], "pass") << e[0]["message"];
  EXPECT_EQ(report["verification"]["violation_counts"].size(), 0u);  // attributes hold
  EXPECT_EQ(report["verification"]["graph"]["count_mismatches"], 0);

  auto scenario = ReadRepoFile("scenarios/sampling-expect.toml");
  ASSERT_TRUE(scenario.has_value());
  std::string text = *scenario;
  const std::string declared = "sampling = [{ service = \"payment\", ratio = 0.5 }]";
  const size_t at = text.find(declared);
  ASSERT_NE(at, std::string::npos);
  text.replace(at, declared.size(), "sampling = [{ service = \"payment\", ratio = 0.9 }]");
  const fs::path off = dir_ / "sampling-off.toml";
  std::ofstream(off) << text;
  fs::remove_all(dir_ / "reports");
  r = RunTracerig({"run", off.string(), "--duration", "3s", "--report-dir",
                   (dir_ / "reports").string()});
  ASSERT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("[FAIL] sampling:expect:payment: payment: spans kept in "),
            std::string::npos)
      << r.output;
}

TEST_F(CliE2eTest, VerifyAfterLoadStartsPollingWhenTheLoadHasEnded) {
  auto r = RunTracerig({"run", "scenarios/quickstart.toml", "--duration", "1s", "--rate", "50",
                        "--verify-after-load", "--report-dir", dir_.string()});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto report = ReadReport();
  EXPECT_EQ(report["verification"]["complete"], 50);
  EXPECT_FALSE(report["verification"]["streamed"].get<bool>());
  EXPECT_EQ(report["verification"]["after_load_ns"], 0);
  EXPECT_NE(r.output.find(" backend queries in "), std::string::npos) << r.output;
}

TEST_F(CliE2eTest, EveryExportProtocolReachesTheEmbeddedBackendIntact) {
  for (const char* protocol : {"otlp-http-json", "zipkin"}) {
    auto r = RunTracerig({"run", "scenarios/quickstart.toml", "--duration", "1s", "--rate", "20",
                          "--export-protocol", protocol, "--report-dir", dir_.string()});
    ASSERT_EQ(r.exit_code, 0) << protocol << "\n" << r.output;
    EXPECT_NE(r.output.find("PASS: 20 of 20 traces complete"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("[pass] trace-structure"), std::string::npos) << r.output;
  }
}

TEST_F(CliE2eTest, DropContextFaultFailsAndNamesTheHop) {
  auto r = RunTracerig({"run", "scenarios/quickstart-drop-context.toml", "--duration", "1s",
                        "--rate", "20", "--report", "json,junit,markdown", "--report-dir",
                        dir_.string()});
  ASSERT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("propagation breaks checkout -> payment (hop 0.1.0): 20 traces"),
            std::string::npos)
      << r.output;
  auto report = ReadReport();
  EXPECT_EQ(report["verdict"]["exit_code"], 1);
  EXPECT_EQ(report["verification"]["broken"], 20);
  ASSERT_EQ(report["verification"]["break_edges"].size(), 1u);
  EXPECT_EQ(report["verification"]["break_edges"][0]["caller"], "checkout");
  EXPECT_EQ(report["verification"]["break_edges"][0]["callee"], "payment");
  EXPECT_EQ(report["verification"]["break_edges"][0]["hop"], "0.1.0");
  // The CI formats name the same edge.
  bool junit = false;
  bool markdown = false;
  for (const auto& entry : fs::recursive_directory_iterator(dir_)) {
    std::ifstream in(entry.path());
    std::stringstream text;
    text << in.rdbuf();
    if (entry.path().filename() == "report.xml") {
      junit = text.str().find("checkout -&gt; payment (hop 0.1.0)") != std::string::npos;
    }
    if (entry.path().filename() == "report.md") {
      markdown = text.str().find("checkout -> payment (hop 0.1.0)") != std::string::npos;
    }
  }
  EXPECT_TRUE(junit);
  EXPECT_TRUE(markdown);
}

TEST_F(CliE2eTest, FormatMismatchBreaksAtTheEdgeAndSendingBothFormatsFixesIt) {
  auto broken = RunTracerig({"run", "scenarios/b3-migration.toml", "--duration", "1s",
                             "--report-dir", dir_.string()});
  ASSERT_EQ(broken.exit_code, 1) << broken.output;
  EXPECT_NE(broken.output.find("propagation breaks checkout -> payment (hop 0.0.0): 20 traces"),
            std::string::npos)
      << broken.output;
  auto fixed = RunTracerig({"run", "scenarios/b3-migration-fixed.toml", "--duration", "1s",
                            "--report-dir", dir_.string()});
  ASSERT_EQ(fixed.exit_code, 0) << fixed.output;
  EXPECT_NE(fixed.output.find("PASS: 20 of 20 traces complete"), std::string::npos) << fixed.output;
}

TEST_F(CliE2eTest, BackendDownIsReportedAsUnreachableNotAsMissingTraces) {
  // A port with nothing listening: bind, note the port, close.
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  std::string port = std::to_string(ntohs(addr.sin_port));
  close(fd);
  auto r = RunTracerig({"run", "scenarios/quickstart.toml", "--duration", "500ms", "--rate", "10",
                        "--backend", "jaeger://127.0.0.1:" + port, "--export",
                        "otlp-http://127.0.0.1:" + port, "--report-dir", dir_.string()});
  ASSERT_EQ(r.exit_code, 3) << r.output;
  EXPECT_NE(r.output.find("backend unreachable"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("traces checked"), std::string::npos) << r.output;
}

// A misbehaving query backend on 127.0.0.1 (port 0), on its own thread: it reads each request's
// head, then answers 200 with a body that is not JSON (kGarbage) or never answers (kSilent).
class BadBackend {
 public:
  enum class Mode { kGarbage, kSilent };
  explicit BadBackend(Mode mode) : mode_(mode) {
    listener_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    EXPECT_EQ(listen(listener_, 64), 0);
    socklen_t len = sizeof addr;
    getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { Serve(); });
  }
  ~BadBackend() {
    stop_ = true;
    thread_.join();
    for (int fd : held_) close(fd);
    close(listener_);
  }
  std::string url() const { return "jaeger://127.0.0.1:" + std::to_string(port_); }
  int requests() const { return requests_.load(); }

 private:
  void Serve() {
    while (!stop_) {
      pollfd p{listener_, POLLIN, 0};
      if (poll(&p, 1, 20) <= 0) continue;
      const int fd = accept(listener_, nullptr, nullptr);
      if (fd < 0) continue;
      // One request per connection is enough: the client opens another after a failure.
      std::string head;
      char buf[4096];
      while (head.find("\r\n\r\n") == std::string::npos) {
        pollfd r{fd, POLLIN, 0};
        if (poll(&r, 1, 1000) <= 0) break;
        const ssize_t n = read(fd, buf, sizeof buf);
        if (n <= 0) break;
        head.append(buf, static_cast<size_t>(n));
      }
      ++requests_;
      if (mode_ == Mode::kSilent) {
        held_.push_back(fd);  // open, unanswered, until the test ends
        continue;
      }
      const std::string body = "<html>502 from a proxy, not JSON</html>";
      const std::string response = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                   "Content-Length: " + std::to_string(body.size()) +
                                   "\r\nConnection: close\r\n\r\n" + body;
      (void)!write(fd, response.data(), response.size());
      close(fd);
    }
  }

  Mode mode_;
  int listener_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> requests_{0};
  std::vector<int> held_;  // server thread only, then the destructor
  std::thread thread_;
};

// A backend that answers garbage, or does not answer at all, is "backend unreachable" with the
// reason, exit 3: never "traces missing".
TEST_F(CliE2eTest, BackendGarbageAndBackendSilenceExit3WithTheReason) {
  auto written = RunTracerig({"run", "scenarios/quickstart.toml", "--duration", "500ms", "--rate",
                              "10", "--no-verify", "--report-dir", dir_.string()});
  ASSERT_EQ(written.exit_code, 0) << written.output;
  fs::path ledger;
  for (const auto& entry : fs::recursive_directory_iterator(dir_)) {
    if (entry.path().filename() == "ledger.jsonl") ledger = entry.path();
  }
  ASSERT_FALSE(ledger.empty());
  struct Case {
    BadBackend::Mode mode;
    std::string reason;
  };
  for (const Case& c : {Case{BadBackend::Mode::kGarbage, "malformed JSON"},
                        Case{BadBackend::Mode::kSilent, "timed out"}}) {
    SCOPED_TRACE(c.reason);
    BadBackend backend(c.mode);
    auto r = RunTracerig({"verify", "scenarios/quickstart.toml", "--ledger", ledger.string(),
                          "--backend", backend.url(), "--query-timeout", "300ms", "--report-dir",
                          (dir_ / "verify").string()});
    EXPECT_EQ(r.exit_code, 3) << r.output;
    EXPECT_NE(r.output.find("backend unreachable: "), std::string::npos) << r.output;
    EXPECT_NE(r.output.find(c.reason), std::string::npos) << r.output;
    EXPECT_EQ(r.output.find("missing"), std::string::npos) << r.output;
    EXPECT_GE(backend.requests(), 3);  // tried again before giving up
  }
}

TEST_F(CliE2eTest, CtrlCStopsLoadAndStillVerifiesWhatWasSent) {
  bool sent = false;
  auto r = RunTracerig({"run", "scenarios/quickstart.toml", "--duration", "60s", "--rate", "50",
                        "--report-dir", dir_.string()},
                       [&](pid_t pid, const std::string& output) {
                         // Interrupt once load has visibly started.
                         if (!sent && output.find("  sent ") != std::string::npos) {
                           kill(pid, SIGINT);
                           sent = true;
                         }
                       });
  ASSERT_TRUE(sent) << r.output;
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto report = ReadReport();
  EXPECT_TRUE(report["load"]["interrupted"].get<bool>());
  EXPECT_LT(report["load"]["sent"].get<int>(), 3000);
  EXPECT_EQ(report["verification"]["checked"], report["load"]["sent"]);
  EXPECT_EQ(report["verification"]["complete"], report["verification"]["checked"]);
}

// Ctrl-C after the first progress line: the exit code follows the contract (0: what was sent
// verified), and the verdict says the run was interrupted and how much of its plan of 120 requests
// ran, on the terminal and in every report format.
TEST_F(CliE2eTest, CtrlCVerdictSaysInterruptedAndHowMuchOfThePlanRan) {
  bool sent = false;
  auto r = RunTracerig({"run", "scenarios/quickstart.toml", "--duration", "60s", "--rate", "2",
                        "--report", "json,junit,markdown,html", "--report-dir", dir_.string()},
                       [&](pid_t pid, const std::string& output) {
                         if (!sent && output.find("  sent ") != std::string::npos) {
                           kill(pid, SIGINT);
                           sent = true;
                         }
                       });
  ASSERT_TRUE(sent) << r.output;
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto report = ReadReport();
  ASSERT_TRUE(report["load"]["interrupted"].get<bool>());
  EXPECT_EQ(report["load"]["planned"], 120);
  const int n = report["load"]["sent"].get<int>();
  ASSERT_GT(n, 0);
  ASSERT_LT(n, 120);
  const std::string sent_count = std::to_string(n);
  const std::string verdict = "PASS (interrupted): " + sent_count + " of " + sent_count +
                              " traces complete; " + sent_count + " of 120 planned requests sent";
  EXPECT_NE(r.output.find(verdict), std::string::npos) << r.output;
  EXPECT_EQ(report["verdict"]["summary"], verdict);
  EXPECT_EQ(report["verdict"]["exit_code"], 0);
  for (const char* file : {"report.xml", "report.md", "report.html"}) {
    std::string text;
    for (const auto& entry : fs::recursive_directory_iterator(dir_)) {
      if (entry.path().filename() != file) continue;
      std::ifstream in(entry.path());
      text.assign(std::istreambuf_iterator<char>(in), {});
    }
    EXPECT_NE(text.find(verdict), std::string::npos) << file << ":\n" << text.substr(0, 2000);
  }
}

TEST_F(CliE2eTest, CountModelSendsExactlyThatManyAndLeavesWarmupOutOfLatency) {
  fs::path scenario = dir_ / "count.toml";
  std::ofstream(scenario) << R"([scenario]
name = "count"
[load]
model = "count"
requests = 40
rate = 40
warmup = "500ms"
[[services]]
name = "a"
  [[services.routes]]
  name = "GET /x"
  calls = [{ service = "b", route = "Y" }]
[[services]]
name = "b"
  [[services.routes]]
  name = "Y"
)";
  auto r = RunTracerig({"run", scenario.string(), "--report-dir", dir_.string()});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto report = ReadReport();
  EXPECT_EQ(report["load"]["model"], "count");
  EXPECT_EQ(report["load"]["sent"], 40);
  EXPECT_EQ(report["load"]["warmup"], 20);  // intended at 0..475 ms of 0..975 ms
  EXPECT_EQ(report["load"]["latency_corrected"]["count"], 20);
  EXPECT_EQ(report["verification"]["complete"], 40);  // warm-up requests are still verified
  // A duration makes no sense for a count: a usage error, not a silent override.
  EXPECT_EQ(RunTracerig({"run", scenario.string(), "--duration", "5s"}).exit_code, 2);
}

TEST_F(CliE2eTest, ScenarioErrorsExit2WithFileLineColumn) {
  fs::path bad = dir_ / "bad.toml";
  std::ofstream(bad) << "[scenario]\nname = \"x\"\n[[services]]\nname = \"a\"\nprotocl = \"http\"\n";
  auto r = RunTracerig({"validate", bad.string()});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find(bad.string() + ":5:1: "), std::string::npos) << r.output;
  auto run = RunTracerig({"run", bad.string()});
  EXPECT_EQ(run.exit_code, 2) << run.output;
}

TEST_F(CliE2eTest, ValidateSaysWhyAScenarioCannotBeRead) {
  const std::string missing = (dir_ / "missing.toml").string();
  auto r = RunTracerig({"validate", missing, dir_.string()});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find(missing + ": cannot read file: No such file or directory\n"),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find(dir_.string() + ": cannot read file: Is a directory\n"),
            std::string::npos)
      << r.output;
}

// A warning does not fail validation; run prints it too, before it starts (here it then stops
// at a bad flag).
TEST_F(CliE2eTest, ValidatePrintsWarningsAndPasses) {
  fs::path scenario = dir_ / "entry.toml";
  std::ofstream(scenario) << "[scenario]\nname = \"x\"\n[[services]]\nname = \"front\"\n"
                             "sampling = \"parent-based(0.5)\"\n"
                             "routes = [{ name = \"GET /\" }]\n";
  const std::string warning =
      scenario.string() +
      ":5:12: warning: service \"front\" is a load entry and gets requests only from the "
      "driver, which sends every one with a sampled flag; its sampling \"parent-based(0.5)\" follows that "
      "flag and never uses the ratio 0.5 (write \"ratio(0.5)\" to sample at the entry)\n";
  auto r = RunTracerig({"validate", scenario.string()});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find(warning), std::string::npos) << r.output;
  EXPECT_NE(r.output.find(scenario.string() + ": ok"), std::string::npos) << r.output;
  auto run = RunTracerig({"run", scenario.string(), "--rate", "-5"});
  EXPECT_EQ(run.exit_code, 2) << run.output;
  EXPECT_NE(run.output.find(warning), std::string::npos) << run.output;
}

TEST_F(CliE2eTest, ValidateAcceptsTheShippedScenarios) {
  auto r = RunTracerig({"validate", "scenarios/quickstart.toml",
                        "scenarios/quickstart-drop-context.toml", "scenarios/ramp.toml",
                        "scenarios/b3-migration.toml", "scenarios/b3-migration-fixed.toml"});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("scenarios/quickstart.toml: ok"), std::string::npos) << r.output;
}

TEST_F(CliE2eTest, UsageErrorsExit2) {
  EXPECT_EQ(RunTracerig({"run", "scenarios/quickstart.toml", "--durration", "1s"}).exit_code, 2);
  EXPECT_EQ(RunTracerig({"run"}).exit_code, 2);
  EXPECT_EQ(RunTracerig({"frobnicate"}).exit_code, 2);
  EXPECT_EQ(RunTracerig({"run", "scenarios/quickstart.toml", "--rate", "-5"}).exit_code, 2);
  EXPECT_EQ(RunTracerig({}).exit_code, 2);
  // Verification knobs: a bad value names the flag.
  for (const char* flag : {"--poll-interval", "--settle-time", "--query-timeout"}) {
    auto r = RunTracerig({"run", "scenarios/quickstart.toml", flag, "0"});
    EXPECT_EQ(r.exit_code, 2) << flag;
    EXPECT_NE(r.output.find(std::string(flag) + " \"0\" is not a duration of at least 1ms"),
              std::string::npos)
        << r.output;
  }
}

// --poll-interval and --settle-time reach the verifier: time to queryable's precision is the
// poll interval plus the 25 ms poll step.
TEST_F(CliE2eTest, PollIntervalSetsTheTimeToQueryablePrecision) {
  auto r = RunTracerig({"run", "scenarios/quickstart.toml", "--duration", "500ms", "--rate", "20",
                        "--poll-interval", "40ms", "--settle-time", "500ms", "--report-dir",
                        dir_.string()});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto report = ReadReport();
  EXPECT_EQ(report["verification"]["time_to_queryable"]["precision_ns"], 65'000'000u);
}

// The report.json of the one run under `dir`.
fs::path ReportJsonUnder(const fs::path& dir) {
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (entry.path().filename() == "report.json") return entry.path();
  }
  return {};
}

// report merge and diff refuse what would not add up: a run given twice, runs of different load
// (unless --force); a merge with a --no-verify run names its unverified requests; merged min/max
// are the recorded ones.
TEST_F(CliE2eTest, ReportMergeAndDiffRefuseWhatDoesNotAddUp) {
  const fs::path a_dir = dir_ / "a", b_dir = dir_ / "b", c_dir = dir_ / "c";
  auto a = RunTracerig({"run", "scenarios/quickstart.toml", "--duration", "1s", "--rate", "20",
                        "--report-dir", a_dir.string()});
  ASSERT_EQ(a.exit_code, 0) << a.output;
  auto b = RunTracerig({"run", "scenarios/quickstart.toml", "--duration", "1s", "--rate", "20",
                        "--no-verify", "--report-dir", b_dir.string()});
  ASSERT_EQ(b.exit_code, 0) << b.output;
  auto c = RunTracerig({"run", "scenarios/quickstart.toml", "--duration", "1s", "--rate", "40",
                        "--no-verify", "--report-dir", c_dir.string()});
  ASSERT_EQ(c.exit_code, 0) << c.output;
  const std::string a_json = ReportJsonUnder(a_dir).string();
  const std::string b_json = ReportJsonUnder(b_dir).string();
  const std::string c_json = ReportJsonUnder(c_dir).string();
  ASSERT_FALSE(a_json.empty() || b_json.empty() || c_json.empty());
  const auto a_report = tracerig::testing::ReadJsonUnder(a_dir, "report.json");
  const auto b_report = tracerig::testing::ReadJsonUnder(b_dir, "report.json");
  ASSERT_TRUE(a_report["run_id"].is_string());
  EXPECT_NE(a_report["run_id"], b_report["run_id"]);

  auto twice = RunTracerig({"report", "merge", a_json, a_json, "--out", (dir_ / "m1").string()});
  EXPECT_EQ(twice.exit_code, 2) << twice.output;
  EXPECT_NE(twice.output.find(a_json + " and " + a_json + " are the same run (run_id " +
                              a_report["run_id"].get<std::string>() + ")"),
            std::string::npos)
      << twice.output;

  const fs::path merged_dir = dir_ / "m2";
  auto merged = RunTracerig({"report", "merge", a_json, b_json, "--out", merged_dir.string()});
  EXPECT_EQ(merged.exit_code, 0) << merged.output;
  const uint64_t a_sent = a_report["load"]["sent"], b_sent = b_report["load"]["sent"];
  EXPECT_NE(merged.output.find(std::to_string(b_sent) + " of " + std::to_string(a_sent + b_sent) +
                               " requests not verified (from " + b_json +
                               ", run with --no-verify)"),
            std::string::npos)
      << merged.output;
  const auto m = tracerig::testing::ReadJsonUnder(merged_dir, "report.json");
  ASSERT_EQ(m["merged_from"].size(), 2u);
  EXPECT_EQ(m["merged_from"][1]["verified"], false);
  for (const char* h : {"latency_corrected", "latency_uncorrected"}) {
    EXPECT_EQ(m["load"][h]["min_ns"], std::min(a_report["load"][h]["min_ns"].get<uint64_t>(),
                                               b_report["load"][h]["min_ns"].get<uint64_t>()))
        << h;
    EXPECT_EQ(m["load"][h]["max_ns"], std::max(a_report["load"][h]["max_ns"].get<uint64_t>(),
                                               b_report["load"][h]["max_ns"].get<uint64_t>()))
        << h;
  }
  // The merged report again with one of its runs: refused.
  auto again = RunTracerig({"report", "merge", merged_dir.string(), b_json, "--out",
                            (dir_ / "m3").string()});
  EXPECT_EQ(again.exit_code, 2) << again.output;
  EXPECT_NE(again.output.find("both hold one run"), std::string::npos) << again.output;

  auto unlike = RunTracerig({"report", "diff", b_json, c_json});
  EXPECT_EQ(unlike.exit_code, 2) << unlike.output;
  EXPECT_NE(unlike.output.find(b_json + " and " + c_json +
                               " are runs of different load: target rate 20/s vs 40/s; give "
                               "--force to compare them anyway"),
            std::string::npos)
      << unlike.output;
  auto forced = RunTracerig({"report", "diff", b_json, c_json, "--force"});
  EXPECT_TRUE(forced.exit_code == 0 || forced.exit_code == 1) << forced.output;
  EXPECT_NE(forced.output.find("warning: A and B are runs of different load (target rate 20/s "
                               "vs 40/s)"),
            std::string::npos)
      << forced.output;
  auto like = RunTracerig({"report", "diff", a_json, b_json});
  EXPECT_TRUE(like.exit_code == 0 || like.exit_code == 1) << like.output;
  EXPECT_EQ(like.output.find("warning"), std::string::npos) << like.output;
}

TEST_F(CliE2eTest, EveryCommandHasHelp) {
  for (const char* command : {"run", "validate", "backend", "serve", "verify", "conformance-service"}) {
    auto r = RunTracerig({command, "--help"});
    EXPECT_EQ(r.exit_code, 0) << command;
    EXPECT_NE(r.output.find("Usage: tracerig "), std::string::npos) << command;
    EXPECT_NE(r.output.find("-h, --help"), std::string::npos) << command;
  }
  auto top = RunTracerig({"--help"});
  EXPECT_EQ(top.exit_code, 0);
  EXPECT_NE(top.output.find("Exit codes"), std::string::npos);
}

}  // namespace
